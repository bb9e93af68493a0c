"""The one plugin manager, and how recognisers are found by name.

Built-in and third-party plugins load the same way: through entry points of the
group ``vidrec`` (``[project.entry-points.vidrec]`` in a plugin's pyproject).
The core never imports a plugin by name, so removing a built-in is a packaging
change, not a code change.

Which plugins load can be narrowed with environment variables, as ``llm`` and
``datasette`` do, so a broken plugin can be switched off without uninstalling it
and tests can run with a known set:

- ``VIDREC_LOAD_PLUGINS=a,b``: load only these entry points (empty: none);
- ``VIDREC_BLOCK_PLUGINS=a,b``: never load these.

A plugin whose module fails to import is a warning (one line on stderr, and a row
in ``vidrec plugins``), not a crash: one broken plugin must not take the whole
tool down. A plugin that implements a hook vidrec does not know (a misspelt
``register_recogniser``) is an error: it would otherwise be silently ignored.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from vidrec import hookspecs
from vidrec.errors import VidrecError

GROUP = "vidrec"
ENV_LOAD = "VIDREC_LOAD_PLUGINS"
ENV_BLOCK = "VIDREC_BLOCK_PLUGINS"

pm = pluggy.PluginManager(GROUP)
pm.add_hookspecs(hookspecs)


@dataclass
class PluginOrigin:
    """Where a registered or failed plugin came from, for ``vidrec plugins``."""

    name: str
    entry_point: str | None = None  # "name = module"
    distribution: str | None = None
    version: str | None = None
    file: str | None = None
    error: str | None = None


_origins: dict[str, PluginOrigin] = {}
_loaded = False
_warn: Callable[[str], None] | None = None


def _env_set(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {s.strip() for s in raw.split(",") if s.strip()}


def _warning(msg: str) -> None:
    if _warn is not None:
        _warn(msg)
    else:
        print(f"warning: {msg}", file=sys.stderr)


def _module_file(plugin: Any) -> str | None:
    mod = inspect.getmodule(plugin) if not inspect.ismodule(plugin) else plugin
    return getattr(mod, "__file__", None)


def _entry_points():
    """Entry points of our group, one per name (an editable install can list a distribution twice)."""
    seen: dict[str, tuple[importlib.metadata.EntryPoint, Any]] = {}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == GROUP and ep.name not in seen:
                seen[ep.name] = (ep, dist)
    return list(seen.values())


def load_plugins(warn: Callable[[str], None] | None = None) -> pluggy.PluginManager:
    """Load every allowed entry point once, then validate all hook implementations.

    Why not ``pm.load_setuptools_entrypoints``: it stops at the first plugin that
    fails to import; here each failure is recorded and the rest still load.
    """
    global _loaded, _warn
    if warn is not None:
        _warn = warn
    if _loaded:
        return pm
    _loaded = True
    allow, block = _env_set(ENV_LOAD), _env_set(ENV_BLOCK) or set()
    for ep, dist in _entry_points():
        if allow is not None and ep.name not in allow:
            continue
        if ep.name in block:
            pm.set_blocked(ep.name)
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        origin = PluginOrigin(
            ep.name, entry_point=f"{ep.name} = {ep.value}",
            distribution=dist.metadata["Name"], version=dist.version,
        )
        _origins[ep.name] = origin
        try:
            plugin = ep.load()
        except Exception as e:  # noqa: BLE001 - any import failure of a plugin is reported, not fatal
            origin.error = f"{type(e).__name__}: {e}"
            _warning(f"plugin {ep.name!r} could not be loaded ({origin.error}); "
                     f"set {ENV_BLOCK}={ep.name} to silence this")
            continue
        origin.file = _module_file(plugin)
        pm.register(plugin, name=ep.name)
    check()
    return pm


def check() -> None:
    """``pm.check_pending()`` as a one-line VidrecError naming the plugin and the hook."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        known = ", ".join(hook_names())
        name = pm.get_name(e.plugin) or repr(e.plugin)
        bad = sorted(hc.name for hc in (pm.get_hookcallers(e.plugin) or []) if hc.spec is None)
        what = f"implements unknown hook(s) {', '.join(bad)}" if bad else str(e)
        raise VidrecError(
            f"plugin {name!r} {what}; vidrec's hooks are: {known}. "
            f"Fix the plugin, or set {ENV_BLOCK}={name} to skip it"
        ) from None


def hook_names() -> list[str]:
    """The hooks vidrec declares (those with a spec in :mod:`vidrec.hookspecs`)."""
    return sorted(n for n in dir(pm.hook) if not n.startswith("_")
                  and getattr(getattr(pm.hook, n), "spec", None) is not None)


def register(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object in code (tests, notebooks) and validate its hooks at once."""
    load_plugins()
    registered = pm.register(plugin, name=name)
    if registered is None:
        raise VidrecError(f"plugin {name!r} is blocked or already registered")
    try:
        check()
    except VidrecError:
        pm.unregister(name=registered)
        raise
    _origins[registered] = PluginOrigin(registered, file=_module_file(plugin))
    return registered


def unregister(name: str) -> None:
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    _origins.pop(name, None)


# ---------------------------------------------------------------- recognisers


@dataclass
class RecognizerEntry:
    name: str
    factory: Callable[..., Any]
    description: str
    plugin: str


def _call_impl(impl, **kwargs):
    """Call one hook implementation with the arguments it asks for (pluggy allows a subset)."""
    return impl.function(*[kwargs[a] for a in impl.argnames])


def recognizer_entries() -> dict[str, RecognizerEntry]:
    """Every registered recogniser, keyed by name, remembering which plugin gave it.

    The hook is called per implementation (not through ``pm.hook``) so that each
    registration can be credited to its plugin. On a name clash the first plugin
    in pluggy's call order keeps it and a warning says so.
    """
    load_plugins()
    entries: dict[str, RecognizerEntry] = {}
    for impl in reversed(pm.hook.register_recognizers.get_hookimpls()):  # pluggy calls LIFO
        def reg(name, factory, description="", _plugin=impl.plugin_name):
            if not isinstance(name, str) or not name or not callable(factory):
                raise VidrecError(f"plugin {_plugin!r} registered a recogniser without a name "
                                  "or with a factory that is not callable")
            if name in entries:
                _warning(f"recogniser {name!r} from plugin {_plugin!r} ignored: plugin "
                         f"{entries[name].plugin!r} registered that name first")
                return
            entries[name] = RecognizerEntry(name, factory, description or "", _plugin)

        try:
            _call_impl(impl, register=reg)
        except VidrecError:
            raise
        except Exception as e:  # noqa: BLE001 - one plugin's bug must not hide the others' recognisers
            _warning(f"plugin {impl.plugin_name!r} failed to register its recognisers: "
                     f"{type(e).__name__}: {e}")
    return entries


def recognizer_factories() -> dict[str, tuple[Callable[..., Any], str, str]]:
    """``{name: (factory, description, plugin_name)}`` for every registered recogniser."""
    return {n: (e.factory, e.description, e.plugin) for n, e in recognizer_entries().items()}


def split_options(names: list[str], options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Options per recogniser: ``key`` goes to all, ``name.key`` only to recogniser ``name``."""
    per = {n: {} for n in names}
    for key, value in options.items():
        head, dot, rest = key.partition(".")
        if dot and head in per:
            per[head][rest] = value
        else:
            for n in names:
                per[n].setdefault(key, value)
    return per


def make_recognizers(names: list[str], options: dict[str, Any] | None = None) -> list[tuple[str, Any]]:
    """Build the recognisers asked for, in the order given.

    An unknown name is a VidrecError listing what is installed (and which plugins
    failed to load, since that is the usual reason a built-in is missing).
    """
    entries = recognizer_entries()
    unknown = [n for n in names if n not in entries]
    if unknown:
        installed = ", ".join(sorted(entries)) or "none"
        msg = f"unknown plugin {unknown[0]!r}; installed recognisers: {installed}"
        broken = [o.name for o in _origins.values() if o.error]
        if broken:
            msg += f" (failed to load: {', '.join(broken)}; see `vidrec plugins`)"
        raise VidrecError(msg)
    if len(set(names)) != len(names):
        raise VidrecError(f"--plugin names a recogniser twice: {', '.join(names)}")
    per = split_options(names, dict(options or {}))
    built: list[tuple[str, Any]] = []
    for name in names:
        factory = entries[name].factory
        opts = per[name]
        try:
            inspect.signature(factory).bind(**opts)
        except TypeError:
            raise VidrecError(f"recogniser {name!r} does not take the option(s) "
                              f"{', '.join(sorted(opts))}") from None
        except ValueError:  # no signature (a builtin): let the call decide
            pass
        rec = factory(**opts)
        if not getattr(rec, "name", ""):
            try:
                rec.name = name
            except AttributeError:
                pass
        built.append((name, rec))
    return built


# ---------------------------------------------------------------- listing


@dataclass
class PluginInfo:
    name: str
    version: str | None
    hooks: list[str]
    recognizers: list[str]
    source: str  # "entry point" or "registered in code"
    entry_point: str | None = None
    distribution: str | None = None
    file: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return d


def plugin_infos() -> list[PluginInfo]:
    """What ``vidrec plugins`` shows: every loaded plugin, and every one that failed to load."""
    load_plugins()
    try:
        by_plugin: dict[str, list[str]] = {}
        for e in recognizer_entries().values():
            by_plugin.setdefault(e.plugin, []).append(e.name)
    except Exception as e:  # noqa: BLE001 - a broken registration must not hide the listing
        by_plugin = {}
        _warning(f"could not list recognisers: {type(e).__name__}: {e}")
    infos = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda t: t[0]):
        if plugin is None:
            continue
        o = _origins.get(name) or PluginOrigin(name, file=_module_file(plugin))
        hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        infos.append(PluginInfo(
            name=name, version=o.version, hooks=hooks, recognizers=sorted(by_plugin.get(name, [])),
            source="entry point" if o.entry_point else "registered in code",
            entry_point=o.entry_point, distribution=o.distribution, file=o.file,
        ))
    for o in sorted(_origins.values(), key=lambda o: o.name):
        if o.error:
            infos.append(PluginInfo(
                name=o.name, version=o.version, hooks=[], recognizers=[], source="entry point",
                entry_point=o.entry_point, distribution=o.distribution, error=o.error,
            ))
    return infos


def register_commands(cli) -> None:
    """Let every plugin add its commands to the root Typer app (called once by the CLI)."""
    load_plugins()
    for impl in reversed(pm.hook.register_commands.get_hookimpls()):
        try:
            _call_impl(impl, cli=cli)
        except Exception as e:  # noqa: BLE001 - one plugin's broken command must not break the CLI
            _warning(f"plugin {impl.plugin_name!r} could not add its commands: {type(e).__name__}: {e}")
