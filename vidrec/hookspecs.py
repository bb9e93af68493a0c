"""The plugin contract: registration hooks, as ``llm`` does it.

Why registration hooks rather than per-stage hooks: with per-stage hooks every
loaded plugin's ``segment``/``classify``/``render`` runs on every frame, and
``--plugin multidigit`` would have to switch the others off. Here a plugin
registers *named* objects once; the CLI picks recognisers by name, in the order
given, and the frame loop calls their stage methods directly. A plugin that is
installed but not asked for costs nothing on the frame path.

Every hook here is documented; a test checks that.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("vidrec")
hookimpl = pluggy.HookimplMarker("vidrec")


@hookspec
def register_recognizers(register):
    """Register frame recognisers this plugin provides.

    Call ``register(name, factory, description="...")`` once per recogniser.
    ``factory(**options)`` must return an object with the
    :class:`vidrec.recognizer.Recognizer` stage methods (subclass it for the
    defaults). ``options`` holds only what the user set: ``model`` (a model name
    or file), ``min_confidence`` (float), and any ``--option key=value`` pairs as
    strings (``--option NAME.key=value`` reaches only the recogniser ``NAME``).
    A factory raises :class:`vidrec.errors.VidrecError` for bad options; an
    option its signature does not accept is reported before it is called.
    The same recogniser object sees every frame of a run, and ``reset()``
    before each new input, so it may keep tracks between frames.
    Import heavy libraries (torch) inside the factory, not at module level, so
    that ``vidrec --help`` stays fast.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``vidrec`` command line.

    ``cli`` is the root Typer app; add a command with ``@cli.command()`` or a
    group with ``cli.add_typer(...)``. To add to an existing group (``vidrec
    train greek``), import it: ``from vidrec.cli.groups import train_app``.
    Called once when the CLI starts, for every command, so keep it cheap: import
    torch and friends inside the command function. An exception here is a
    warning naming the plugin; the rest of the CLI still works.
    """
