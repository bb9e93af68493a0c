"""``vidrec run``, ``bench``, ``live`` as a user types them: outputs, summaries, bad input, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from video_helpers import BlobPlugin, read_video, sheet_frames, write_video

from vidrec import plugins

VIDREC = str(Path(sys.executable).with_name("vidrec"))


@pytest.fixture()
def blob_plugin():
    name = plugins.register(BlobPlugin(), name="test-blobs")
    BlobPlugin.made.clear()
    yield name
    plugins.unregister(name)


@pytest.fixture(scope="module")
def clips(tmp_path_factory, mnist_ready):
    d = tmp_path_factory.mktemp("cli")
    frames = sheet_frames(20, digits=6)
    return write_video(d / "one.mp4", frames, fps=20), write_video(d / "two.avi", frames[:10], fps=10)


def invoke(runner, cli, *args):
    return runner.invoke(cli, [str(a) for a in args], env={"COLUMNS": "250"})


def test_run_writes_annotated_video_jsonl_and_prints_a_summary(blob_plugin, clips, tmp_path, runner, cli):
    one, _ = clips
    out, lines = tmp_path / "o.mp4", tmp_path / "o.jsonl"
    r = invoke(runner, cli, "run", one, "--plugin", "blobs", "--out", out, "--jsonl", lines)
    assert r.exit_code == 0, r.output
    assert read_video(out)[:3] == (20, 20.0, (640, 480))
    assert len(lines.read_text().splitlines()) == 20
    for col in ("frames", "fps", "segment", "classify", "dropped", "failures"):
        assert col in r.stdout, col
    assert "one.mp4" in r.stdout and f"wrote {out}" in r.stderr


def test_run_several_inputs_each_get_their_own_outputs(blob_plugin, clips, tmp_path, runner, cli):
    one, two = clips
    r = invoke(runner, cli, "run", one, two, "--plugin", "blobs", "--out", tmp_path / "videos",
               "--jsonl", tmp_path / "rows", "--json")
    assert r.exit_code == 0, r.output
    assert read_video(tmp_path / "videos" / "one.mp4")[:2] == (20, 20.0)
    assert read_video(tmp_path / "videos" / "two.mp4")[:2] == (10, 10.0)
    assert len((tmp_path / "rows" / "two.jsonl").read_text().splitlines()) == 10
    assert [s["frames"] for s in json.loads(r.stdout)] == [20, 10]
    assert BlobPlugin.made[-1].resets == 2, "tracking state must not cross from one input to the next"
    r = invoke(runner, cli, "run", one, two, "--plugin", "blobs", "--out", tmp_path / "x.mp4")
    assert r.exit_code == 1 and "names a folder" in r.stderr


def test_run_bad_inputs_and_outputs_are_one_line_errors_before_any_work(blob_plugin, clips, tmp_path,
                                                                         runner, cli):
    one, _ = clips
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["run", tmp_path / "missing.mp4", "--plugin", "blobs"], "no such file or folder"),
        (["run", one, "--plugin", "blobs", "--out", blocker / "o.mp4"], "cannot write"),
        (["run", one, "--plugin", "blobs", "--jsonl", blocker / "o.jsonl"], "cannot write"),
        (["run", one, "--plugin", "blobs", "--out", tmp_path / "o.gif"], "file extension"),
        (["run", one, "--plugin", "blobs", "--option", "oops"], "expected key=value"),
        (["run", one, "--plugin", "nope"], "unknown plugin 'nope'"),
    ]
    for args, message in cases:
        r = invoke(runner, cli, *args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.stderr and r.stderr.count("error:") == 1, (args, r.stderr)
        assert "Traceback" not in r.output
    assert BlobPlugin.made == [], "no recogniser is built when the input or output is bad"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_run_reports_a_truncated_file_and_keeps_what_decoded(blob_plugin, clips, tmp_path, runner, cli):
    _, two = clips
    cut = tmp_path / "cut.avi"
    data = two.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    lines = tmp_path / "cut.jsonl"
    r = invoke(runner, cli, "run", cut, "--plugin", "blobs", "--jsonl", lines)
    assert r.exit_code == 0, r.output
    n = len(lines.read_text().splitlines())
    assert 0 < n < 10 and f"stopped at frame {n} of the 10" in r.stderr


def test_run_counts_failures_and_fail_fast_stops(blob_plugin, clips, tmp_path, runner, cli):
    one, _ = clips
    lines = tmp_path / "f.jsonl"
    r = invoke(runner, cli, "run", one, "--plugin", "blobs", "--option", "fail_on=4", "--jsonl", lines, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["failures"] == 1
    rows = [json.loads(s) for s in lines.read_text().splitlines()]
    assert rows[4]["errors"] == [{"plugin": "blobs", "stage": "classify",
                                  "error": "ValueError: blob trouble on frame 4"}]
    r = invoke(runner, cli, "run", one, "--plugin", "blobs", "--option", "fail_on=4", "--fail-fast",
               "--jsonl", lines)
    assert r.exit_code == 1 and "failed in classify on frame 4" in r.stderr
    assert len(lines.read_text().splitlines()) == 4, "the JSONL holds the frames before the failure"


def test_run_realtime_counts_dropped_frames(blob_plugin, clips, runner, cli):
    one, _ = clips  # 20 frames at 20 fps; 0.15 s per frame lets about 3 of every 4 go by
    r = invoke(runner, cli, "run", one, "--plugin", "blobs", "--realtime", "--option", "sleep_s=0.15", "--json")
    assert r.exit_code == 0, r.output
    (s,) = json.loads(r.stdout)
    assert s["dropped"] > 5 and s["frames"] + s["dropped"] == 20


def test_bench_measures_decode_and_pipeline_in_one_run(blob_plugin, clips, tmp_path, runner, cli):
    one, _ = clips
    r = invoke(runner, cli, "bench", one, "--plugin", "blobs", "--json")
    assert r.exit_code == 0, r.output
    b = json.loads(r.stdout)
    assert b["frames"] == 20 and b["size"] == [640, 480] and b["plugins"] == ["blobs"]
    assert b["decode_fps"] > 0 and b["pipeline_fps"] > 0
    assert b["ratio"] == pytest.approx(b["pipeline_fps"] / b["decode_fps"], rel=0.01, abs=1e-3)
    assert b["frame_ms"]["p50"] <= b["frame_ms"]["p99"]
    assert {"capture", "preprocess", "segment", "classify"} <= set(b["stages"])
    out = tmp_path / "bench.mp4"
    r = invoke(runner, cli, "bench", one, "--plugin", "blobs", "--out", out)
    assert r.exit_code == 0, r.output
    assert "decode+encode-only fps" in r.stdout and "ratio pipeline / decode-only" in r.stdout
    assert read_video(out)[0] == 20


def test_live_with_a_camera_that_does_not_exist(blob_plugin, runner, cli):
    r = invoke(runner, cli, "live", "--plugin", "blobs", "--camera", "9")
    assert r.exit_code == 1
    assert "camera 9 could not be opened" in r.stderr and "Traceback" not in r.output


SLOW_PLUGIN = '''
import time
from vidrec.hookspecs import hookimpl
from vidrec.recognizer import Recognizer
from vidrec.types import Prediction, Region


class Slow(Recognizer):
    def classify(self, frame, regions, pre):
        time.sleep(0.2)
        return [Prediction("x", 1.0, Region((10, 10, 20, 20)))]


@hookimpl
def register_recognizers(register):
    register("slow", lambda **o: Slow())
'''


@pytest.mark.slow
def test_ctrl_c_leaves_a_playable_video_and_complete_jsonl(clips, tmp_path):
    one, _ = clips
    site = tmp_path / "site"
    site.mkdir()
    (site / "vidrec_slow_plugin.py").write_text(textwrap.dedent(SLOW_PLUGIN))
    info = site / "vidrec_slow_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vidrec_slow_plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[vidrec]\nslow = vidrec_slow_plugin\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    out, lines = outdir / "c.mp4", outdir / "c.jsonl"
    env = dict(os.environ, PYTHONPATH=str(site), VIDREC_LOAD_PLUGINS="slow")
    # Ctrl-C as in a terminal: the child gets the default SIGINT disposition even when this test
    # runs in a background job, whose shell hands SIGINT down as ignored (and Python keeps it so)
    p = subprocess.Popen([VIDREC, "run", str(one), "--plugin", "slow", "--out", str(out), "--jsonl", str(lines)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until a few frames are in the (temporary) JSONL
        tmp = [f for f in outdir.iterdir() if f.name.startswith(".c.jsonl")]
        if tmp and len(tmp[0].read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    assert "interrupted after" in stderr
    rows = [json.loads(s) for s in lines.read_text().splitlines()]  # every line complete
    n_video = read_video(out)[0]
    assert 4 <= len(rows) < 20 and abs(n_video - len(rows)) <= 1
    assert [r["frame"] for r in rows] == list(range(len(rows)))
    assert sorted(f.name for f in outdir.iterdir()) == ["c.jsonl", "c.mp4"]
