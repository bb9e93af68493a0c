"""The plugin machinery: documented hooks, plugins registered in code, misspelt hooks, unknown
names, broken plugin modules, allow/block lists, and a real third-party package installed with pip."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from video_helpers import BlobPlugin, sheet_frames, write_video

from vidrec import hookspecs, plugins
from vidrec.errors import VidrecError
from vidrec.hookspecs import hookimpl

VIDREC = str(Path(sys.executable).with_name("vidrec"))


@pytest.fixture()
def blob_plugin():
    name = plugins.register(BlobPlugin(), name="test-blobs")
    BlobPlugin.made.clear()
    yield name
    plugins.unregister(name)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, mnist_ready):
    return write_video(tmp_path_factory.mktemp("plug") / "sheet.avi", sheet_frames(8, digits=6))


def fake_distribution(site: Path, module: str, entry_name: str, source: str, version: str = "0.1") -> None:
    """A real installed distribution as importlib.metadata sees one: module + dist-info on a path."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[vidrec]\n{entry_name} = {module}\n")


def vidrec_cli(*args, site: Path | None = None, env: dict | None = None, cwd=None):
    e = dict(os.environ)
    if site is not None:
        e["PYTHONPATH"] = str(site) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    return subprocess.run([VIDREC, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=120)


# ---------------------------------------------------------------- the contract


def test_every_hookspec_is_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(f, "vidrec_spec")]
    assert {f.__name__ for f in specs} == set(plugins.hook_names()) >= {"register_recognizers",
                                                                          "register_commands"}
    for f in specs:
        doc = inspect.getdoc(f) or ""
        assert len(doc.split()) >= 15, f"hook {f.__name__} needs a docstring that says how to use it"
        for arg in inspect.signature(f).parameters:
            assert arg in doc, f"hook {f.__name__}'s docstring does not mention its argument {arg!r}"


def test_a_plugin_registered_in_the_test_is_found_and_listed(blob_plugin):
    factories = plugins.recognizer_factories()
    factory, description, plugin_name = factories["blobs"]
    assert plugin_name == "test-blobs" and "blobs" in description
    (info,) = [i for i in plugins.plugin_infos() if i.name == "test-blobs"]
    assert info.hooks == ["register_recognizers"] and info.recognizers == ["blobs"]
    assert info.source == "registered in code" and info.file.endswith("video_helpers.py")


def test_make_recognizers_passes_options_and_routes_prefixed_ones(blob_plugin):
    (name, rec), = plugins.make_recognizers(["blobs"], {"min_area": "500", "model": "x"})
    assert name == "blobs" and rec.min_area == 500
    assert plugins.split_options(["a", "b"], {"k": 1, "b.k": 2, "c.z": 3}) == {
        "a": {"k": 1, "c.z": 3}, "b": {"k": 2, "c.z": 3}}


def test_option_a_factory_does_not_take_is_a_clear_error():
    class Strict:
        @hookimpl
        def register_recognizers(self, register):
            register("strict", lambda min_confidence=0.5: object())

    name = plugins.register(Strict(), name="test-strict")
    try:
        with pytest.raises(VidrecError, match="'strict' does not take the option.*colour"):
            plugins.make_recognizers(["strict"], {"colour": "red"})
    finally:
        plugins.unregister(name)


def test_unknown_plugin_name_lists_the_installed_ones(blob_plugin):
    with pytest.raises(VidrecError) as e:
        plugins.make_recognizers(["multidigitt"], {})
    assert "unknown plugin 'multidigitt'" in str(e.value) and "blobs" in str(e.value)


def test_a_misspelt_hook_fails_loudly():
    class Misspelt:
        @hookimpl
        def register_recogniser(self, register):  # British spelling: not a vidrec hook
            register("never", object)

    with pytest.raises(VidrecError) as e:
        plugins.register(Misspelt(), name="test-misspelt")
    msg = str(e.value)
    assert "'test-misspelt'" in msg and "register_recogniser" in msg and "register_recognizers" in msg
    assert plugins.pm.get_plugin("test-misspelt") is None, "a rejected plugin must not stay registered"


# ---------------------------------------------------------------- through the CLI


def test_a_plugin_registered_in_the_test_runs_through_the_cli(blob_plugin, clip, tmp_path, runner, cli):
    lines = tmp_path / "out.jsonl"
    r = runner.invoke(cli, ["run", str(clip), "--plugin", "blobs", "--jsonl", str(lines),
                            "--option", "min_area=100", "--json"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(s) for s in lines.read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["text"] == "bbbbbb"
    assert {p["plugin"] for p in rows[0]["predictions"]} == {"blobs"}
    assert BlobPlugin.made[-1].min_area == 100 and BlobPlugin.made[-1].closed
    summary = json.loads(r.stdout)
    assert summary[0]["frames"] == 8 and summary[0]["failures"] == 0


def test_unknown_plugin_through_the_cli(blob_plugin, clip, runner, cli):
    r = runner.invoke(cli, ["run", str(clip), "--plugin", "nope"])
    assert r.exit_code == 1
    assert "unknown plugin 'nope'" in r.stderr and "blobs" in r.stderr and "Traceback" not in r.output


def test_plugins_command_lists_code_registered_plugin(blob_plugin, runner, cli):
    r = runner.invoke(cli, ["plugins", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["test-blobs"]["recognizers"] == ["blobs"]
    assert rows["test-blobs"]["recognizer_descriptions"]["blobs"].startswith("dark blobs")
    r = runner.invoke(cli, ["plugins"], env={"COLUMNS": "250"})
    assert r.exit_code == 0 and "test-blobs" in r.stdout and "registered in code" in r.stdout


def test_misspelt_hook_in_an_installed_plugin_stops_the_cli_with_one_line(tmp_path):
    fake_distribution(tmp_path / "site", "vidrec_typo_plugin", "typo", """
        from vidrec.hookspecs import hookimpl

        @hookimpl
        def register_recogniser(register):
            pass
    """)
    r = vidrec_cli("plugins", site=tmp_path / "site")
    assert r.returncode == 1
    err = [s for s in r.stderr.splitlines() if s.startswith("error:")]
    assert len(err) == 1 and "'typo'" in err[0] and "register_recogniser" in err[0]
    assert "Traceback" not in r.stderr
    r = vidrec_cli("plugins", site=tmp_path / "site", env={"VIDREC_BLOCK_PLUGINS": "typo"})
    assert r.returncode == 0, r.stderr


def test_a_broken_plugin_module_is_a_warning_not_a_crash(tmp_path):
    fake_distribution(tmp_path / "site", "vidrec_broken_plugin", "broken", """
        raise ImportError("needs libfoo")
    """)
    r = vidrec_cli("plugins", "--json", site=tmp_path / "site")
    assert r.returncode == 0, r.stderr
    assert "warning: plugin 'broken' could not be loaded (ImportError: needs libfoo)" in r.stderr
    (row,) = [x for x in json.loads(r.stdout) if x["name"] == "broken"]
    assert row["error"] == "ImportError: needs libfoo" and row["distribution"] == "vidrec_broken_plugin"
    r = vidrec_cli("plugins", "--json", site=tmp_path / "site", env={"VIDREC_LOAD_PLUGINS": ""})
    assert r.returncode == 0 and json.loads(r.stdout) == [] and "warning" not in r.stderr


THIRD_PARTY = '''
"""A third-party vidrec plugin: counts ink blobs, and adds a command."""
from vidrec.hookspecs import hookimpl
from vidrec.recognizer import Recognizer
from vidrec.types import Prediction, Region


class InkCount(Recognizer):
    def __init__(self, min_area=60):
        self.min_area = int(min_area)

    def preprocess(self, frame):
        import cv2
        return cv2.threshold(frame.gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]

    def segment(self, frame, pre):
        import cv2
        n, _, stats, _ = cv2.connectedComponentsWithStats(pre)
        return [Region(tuple(int(v) for v in stats[i, :4])) for i in range(1, n)
                if stats[i, 4] >= self.min_area]

    def classify(self, frame, regions, pre):
        return [Prediction("ink", 0.5, r) for r in regions]

    def text(self, predictions):
        return f"{len(predictions)} blobs"


@hookimpl
def register_recognizers(register):
    register("NAME", lambda min_area=60, **ignored: InkCount(min_area), description="ink blob counter")


@hookimpl
def register_commands(cli):
    @cli.command("NAME-hello")
    def hello():
        """Say hello from a third-party plugin."""
        print("hello from NAME")
'''


@pytest.fixture()
def third_party(tmp_path):
    """A plugin package with its own pyproject and entry point, pip-installed (editable, offline)."""
    tag = uuid.uuid4().hex[:8]
    name, module, dist = f"tp{tag}", f"vidrec_tp{tag}", f"vidrec-tp{tag}"
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / f"{module}.py").write_text(THIRD_PARTY.replace("NAME", name))
    (pkg / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.3.1"

        [project.entry-points.vidrec]
        {name} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
    """))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    r = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", "-e", str(pkg)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        yield name, module, dist
    finally:
        subprocess.run([*pip, "uninstall", "-y", dist], capture_output=True, timeout=300)


@pytest.mark.slow
def test_a_third_party_package_installed_with_pip_runs_through_the_cli(third_party, clip, tmp_path):
    name, module, dist = third_party
    r = vidrec_cli("plugins", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = [x for x in json.loads(r.stdout) if x["name"] == name]
    assert row["version"] == "0.3.1" and row["distribution"] == dist
    assert row["entry_point"] == f"{name} = {module}" and row["recognizers"] == [name]
    assert row["hooks"] == ["register_commands", "register_recognizers"]
    lines = tmp_path / "tp.jsonl"
    r = vidrec_cli("run", str(clip), "--plugin", name, "--jsonl", str(lines))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(s) for s in lines.read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["text"] == "6 blobs"
    assert {p["plugin"] for p in rows[0]["predictions"]} == {name}
    r = vidrec_cli(f"{name}-hello")
    assert r.returncode == 0 and r.stdout.strip() == f"hello from {name}"
    r = vidrec_cli("plugins", "--json", env={"VIDREC_BLOCK_PLUGINS": name})
    assert name not in {x["name"] for x in json.loads(r.stdout)}
