"""Sources and sinks on real files made at test time: every frame in order, bad input as one
clear error, outputs that are complete and playable whatever ended the run."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from video_helpers import BlobRecognizer, mnist_digits, read_video, sheet_frames, write_video

from vidrec.errors import VidrecError
from vidrec.pipeline import Pipeline, run
from vidrec.sinks import JsonlSink, RawVideoSink, VideoSink, WindowSink, prepare_target
from vidrec.sources import as_bgr_gray, expand_specs, open_source


@pytest.fixture(scope="module")
def frames(mnist_ready):
    return sheet_frames(25, digits=6)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, frames):
    return write_video(tmp_path_factory.mktemp("src") / "sheet.mp4", frames, fps=25)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- sources


def test_video_file_yields_every_frame_in_order(clip, frames):
    with open_source(clip) as src:
        assert src.fps == 25 and src.size == (640, 480) and src.frame_count == 25
        got = list(src)
    assert [f.index for f in got] == list(range(25))
    assert [f.timestamp for f in got[:3]] == [0.0, 0.04, 0.08]
    for f in got:
        assert f.image.dtype == np.uint8 and f.image.shape == (480, 640, 3)
        assert f.gray.shape == (480, 640)
    # frames come back in order: each decoded frame is closest to its own original
    for i in (0, 7, 24):
        errs = [np.abs(got[i].image.astype(int) - fr.astype(int)).mean() for fr in frames]
        assert int(np.argmin(errs)) == i or errs[i] < 3.0
    assert src.dropped == 0 and src.notes == []


def test_truncated_video_processes_what_decodes_and_says_where_it_stopped(tmp_path, frames):
    full = write_video(tmp_path / "full.avi", frames)
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with open_source(cut) as src:
        n = sum(1 for _ in src)
    assert 0 < n < 25
    assert len(src.notes) == 1 and f"stopped at frame {n}" in src.notes[0] and "25" in src.notes[0]


def test_zero_frame_video_is_a_clear_error(tmp_path):
    for suffix, code in ((".avi", "MJPG"), (".mp4", "mp4v")):
        p = tmp_path / f"zero{suffix}"
        w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*code), 25, (64, 48))
        w.release()
        with pytest.raises(VidrecError, match="no frames") as e:
            open_source(p)
        assert str(p) in str(e.value)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VidrecError, match="cannot read"):
        open_source(empty)


def test_missing_inputs_are_clear_errors(tmp_path):
    with pytest.raises(VidrecError, match="no such file or folder: .*nope.mp4"):
        open_source(tmp_path / "nope.mp4")
    with pytest.raises(VidrecError, match="no images match"):
        open_source(str(tmp_path / "*.png"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(VidrecError, match="holds no images"):
        open_source(tmp_path)
    with pytest.raises(VidrecError, match="cannot read"):
        open_source(tmp_path / "notes.txt")


def test_camera_that_does_not_exist_names_the_index_and_what_to_check():
    t0 = time.perf_counter()
    with pytest.raises(VidrecError) as e:
        open_source(7)
    msg = str(e.value)
    assert "camera 7" in msg and "connected" in msg and "/dev/video7" in msg
    assert time.perf_counter() - t0 < 10


def test_realtime_drops_frames_when_the_consumer_is_slow(clip):
    with open_source(clip, realtime=True) as src:
        assert src.live and src.fps == 25
        seen = []
        for f in src:
            seen.append(f.index)
            time.sleep(0.12)  # 3 frame periods per frame: most frames arrive while we sleep
    assert seen == sorted(seen) and seen[-1] == 24, "newest frame last, in order"
    assert src.dropped > 0 and len(seen) + src.dropped == 25
    assert len(seen) < 15


def test_realtime_with_a_fast_consumer_drops_nothing_and_takes_the_files_time(clip):
    t0 = time.perf_counter()
    with open_source(clip, realtime=True) as src:
        n = sum(1 for _ in src)
    # a consumer that only counts keeps up (a loaded machine may still lose one or two)
    assert n + src.dropped == 25 and src.dropped <= 3
    assert time.perf_counter() - t0 >= 24 / 25 * 0.9, "played at the file's own rate"


def test_images_folder_and_glob_in_natural_order(tmp_path, mnist_ready):
    digits, _ = mnist_digits(11)
    for i, d in enumerate(digits):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), 255 - d)
    with open_source(tmp_path) as src:
        got = list(src)
    assert [f.source.rsplit("/", 1)[1] for f in got] == [f"frame{i}.png" for i in range(11)]
    assert (got[10].gray == 255 - digits[10]).all()
    with open_source(str(tmp_path / "frame1*.png")) as src:
        assert [f.source.rsplit("/", 1)[1] for f in src] == ["frame1.png", "frame10.png"]


def test_grayscale_and_four_channel_input_become_bgr(tmp_path, mnist_ready):
    d = cv2.resize(mnist_digits(1)[0][0], (112, 112))
    gray_png = tmp_path / "gray.png"
    cv2.imwrite(str(gray_png), 255 - d)
    # A transparent PNG of a drawn digit: black strokes, alpha = ink, nothing else.
    rgba = np.zeros((112, 112, 4), np.uint8)
    rgba[:, :, 3] = d
    rgba_png = tmp_path / "ink.png"
    cv2.imwrite(str(rgba_png), rgba)
    for p in (gray_png, rgba_png):
        with open_source(p) as src:
            (frame,) = list(src)
        assert frame.image.shape == (112, 112, 3) and frame.gray.shape == (112, 112)
        result, _ = Pipeline([("blobs", BlobRecognizer())], draw=False).process(frame)
        assert len(result.predictions) >= 1, f"the digit in {p.name} was not found"
    # transparency lands on white paper, ink stays dark
    assert frame.gray[0, 0] == 255 and frame.gray[d > 200].max() < 60
    gvid = write_video(tmp_path / "gray.avi", [255 - cv2.resize(d, (640, 480))] * 3)
    with open_source(gvid) as src:
        got = list(src)
    assert len(got) == 3 and got[0].image.shape == (480, 640, 3)
    bgr16, g16 = as_bgr_gray((np.full((4, 4), 65535, np.uint16)))
    assert bgr16.dtype == np.uint8 and bgr16.shape == (4, 4, 3) and g16.max() == 255


@pytest.mark.slow
def test_4k_frames_run_through_pipeline_and_video_sink(tmp_path, mnist_ready):
    frames = sheet_frames(3, size=(3840, 2160), digits=6)
    clip = write_video(tmp_path / "uhd.avi", frames, fps=30)
    out = tmp_path / "uhd_out.mp4"
    with open_source(clip) as src, VideoSink(out, src.fps, src.size) as sink:
        assert src.size == (3840, 2160)
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [sink])
    assert summary.frames == 3 and summary.failures == 0
    n, fps, size, _ = read_video(out)
    assert (n, fps, size) == (3, 30.0, (3840, 2160))


# ---------------------------------------------------------------- sinks


def test_output_video_has_the_inputs_size_fps_and_frame_count(tmp_path, clip):
    out, lines = tmp_path / "annotated.mp4", tmp_path / "frames.jsonl"
    with open_source(clip) as src, VideoSink(out, src.fps, src.size) as v, JsonlSink(lines) as j:
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [v, j])
    n, fps, size, decoded = read_video(out)
    assert (n, fps, size) == (25, 25.0, (640, 480)) == (summary.frames, src.fps, src.size)
    # annotations are in the video: red boxes, where the input has only gray
    assert (decoded[0][:, :, 2].astype(int) - decoded[0][:, :, 1].astype(int) > 100).sum() > 50
    rows = [json.loads(s) for s in lines.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(25))
    assert rows[0]["text"] == "bbbbbb" and rows[0]["predictions"][0]["plugin"] == "blobs"
    assert set(rows[0]["predictions"][0]) == {"label", "confidence", "box", "plugin"}
    assert _leftovers(tmp_path) == []


def test_raw_recording_holds_the_frames_not_the_annotations(tmp_path, clip):
    raw = tmp_path / "raw.avi"
    with open_source(clip) as src, RawVideoSink(raw, src.fps, src.size) as r:
        run(src, Pipeline([("blobs", BlobRecognizer())]), [r])
    n, _, _, decoded = read_video(raw)
    assert n == 25
    assert np.abs(decoded[0][:, :, 2].astype(int) - decoded[0][:, :, 1].astype(int)).max() < 40


def test_keyboard_interrupt_mid_run_leaves_a_playable_video_and_complete_jsonl(tmp_path, clip):
    out, lines = tmp_path / "cut.mp4", tmp_path / "cut.jsonl"
    with open_source(clip) as src, VideoSink(out, src.fps, src.size) as v, JsonlSink(lines) as j:
        summary = run(src, Pipeline([("blobs", BlobRecognizer(interrupt_on=5))]), [v, j])
        assert not out.exists(), "target appears only when the file is finished"
    assert summary.interrupted and summary.frames == 5
    n, fps, size, _ = read_video(out)
    assert (n, fps, size) == (5, 25.0, (640, 480))
    rows = [json.loads(s) for s in lines.read_text().splitlines()]
    assert [r["frame"] for r in rows] == [0, 1, 2, 3, 4]
    assert _leftovers(tmp_path) == []


def test_a_crash_mid_run_still_leaves_a_playable_video(tmp_path, clip):
    out = tmp_path / "crash.mp4"
    with pytest.raises(VidrecError, match="frame 7"):
        with open_source(clip) as src, VideoSink(out, src.fps, src.size) as v:
            run(src, Pipeline([("blobs", BlobRecognizer(fail_on=7))], fail_fast=True), [v])
    assert read_video(out)[0] == 7
    assert _leftovers(tmp_path) == []


def test_unwritable_output_paths_fail_before_processing(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(VidrecError, match="cannot write .*file.txt/out.mp4"):
        VideoSink(blocker / "out.mp4", 25, (64, 48))
    with pytest.raises(VidrecError, match="cannot write"):
        JsonlSink(blocker / "out.jsonl")
    with pytest.raises(VidrecError, match="it is a folder"):
        prepare_target(tmp_path)
    with pytest.raises(VidrecError, match="file extension"):
        VideoSink(tmp_path / "out.xyz", 25, (64, 48))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_video_sink_with_no_frames_leaves_nothing(tmp_path):
    with VideoSink(tmp_path / "none.mp4", 25, (64, 48)):
        pass
    assert list(tmp_path.iterdir()) == []


def test_window_without_display_runs_headless(monkeypatch, clip, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with open_source(clip) as src, WindowSink("t", source=src) as w:
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [w])
    assert w.headless and summary.frames == 25
    err = capsys.readouterr().err
    assert err.count("running headless") == 1 and "DISPLAY" in err


def test_expand_specs_splits_globs_of_videos_only(tmp_path, clip):
    for name in ("b.mp4", "a.mp4"):
        (tmp_path / name).write_bytes(clip.read_bytes())
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((4, 4), np.uint8))
    assert expand_specs([str(tmp_path / "*.mp4")]) == [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")]
    assert expand_specs([str(tmp_path / "*.png")]) == [str(tmp_path / "*.png")]


def test_window_keys_snapshot_record_pause_quit(monkeypatch, tmp_path, clip):
    """The key handling itself, driven without a display (there is none here)."""
    from vidrec.pipeline import StopRun

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    seen = []

    class KeyRec(BlobRecognizer):
        def on_key(self, key):
            seen.append(key)
            return True

    pipeline = Pipeline([("blobs", KeyRec())])
    with open_source(clip) as src, WindowSink("t", pipeline, src, recordings_dir=tmp_path / "rec",
                                              snapshots_dir=tmp_path / "snap") as w:
        frames = iter(src)
        f0 = next(frames)
        result, canvas = pipeline.process(f0)
        w._key(ord("s"), f0, canvas)
        (snap,) = (tmp_path / "snap").iterdir()
        assert snap.suffix == ".png" and cv2.imread(str(snap)).shape == (480, 640, 3)
        w._key(ord("r"), f0, canvas)  # start recording the raw frames
        for f in [next(frames) for _ in range(6)]:
            w.write(f, result, None)
        w._key(ord("r"), f0, canvas)  # stop: the file is finished and in place
        (rec,) = (tmp_path / "rec").glob("rec-*.mp4")
        assert read_video(rec)[:3] == (6, 25.0, (640, 480))
        w._key(ord(" "), f0, canvas)
        assert w.paused
        w._key(ord(" "), f0, canvas)
        assert not w.paused
        w._key(ord("d"), f0, canvas)
        assert seen == [ord("d")], "other keys go to the recognisers"
        with pytest.raises(StopRun):
            w._key(ord("q"), f0, canvas)


class FileCamera:
    """The real camera code path (reader thread, newest frame, retries), fed by a video file
    through a real cv2.VideoCapture, since there is no camera here. Re-opening finds nothing,
    as with an unplugged camera."""

    @staticmethod
    def make(path, retry_s, monkeypatch):
        from vidrec import sources

        monkeypatch.setattr(sources, "CAMERA_RETRY_S", retry_s)
        monkeypatch.setattr(sources, "CAMERA_FIRST_FRAME_S", 2 * retry_s + 1)
        opened = []

        class _Cam(sources.CameraSource):
            def _open(self, index):
                opened.append(index)
                return cv2.VideoCapture(str(path) if len(opened) == 1 else str(path) + ".gone")

        return _Cam(0), opened


def test_camera_that_stops_delivering_ends_cleanly_after_retries(monkeypatch, clip):
    src, opened = FileCamera.make(clip, 1.5, monkeypatch)
    t0 = time.perf_counter()
    with src:
        assert src.live and src.size == (640, 480)
        got = [f.index for f in src]
    elapsed = time.perf_counter() - t0
    assert got and got == sorted(got) and got[-1] == 24, "the newest frame is the last one"
    assert len(got) + src.dropped == 25
    assert 1.5 <= elapsed < 10, "retries for CAMERA_RETRY_S, then ends"
    assert opened == [0, 0], "re-opened once after a second of failures"
    assert src.notes == ["camera 0 stopped delivering frames after 25; ended after 1.5 s of retries"]


def test_camera_that_opens_but_sends_nothing_is_a_clear_error(monkeypatch, tmp_path):
    zero = tmp_path / "zero.avi"
    cv2.VideoWriter(str(zero), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48)).release()
    with pytest.raises(VidrecError, match="camera 0 opened but sent no frame"):
        FileCamera.make(zero, 0.3, monkeypatch)


def test_camera_run_with_sinks_closes_everything_when_the_camera_stops(monkeypatch, tmp_path, clip):
    src, _ = FileCamera.make(clip, 0.5, monkeypatch)
    out, lines = tmp_path / "cam.mp4", tmp_path / "cam.jsonl"
    with src, VideoSink(out, src.fps, src.size) as v, JsonlSink(lines) as j:
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [v, j])
    assert summary.frames + summary.dropped == 25 and summary.notes
    assert read_video(out)[0] == summary.frames == len(lines.read_text().splitlines())


def test_prefetch_keeps_every_frame_in_order_and_stops_its_thread(clip):
    import threading

    from vidrec.sources import PrefetchSource

    with open_source(clip) as src:
        assert isinstance(src, PrefetchSource)
        got = []
        for f in src:
            got.append(f.index)
            time.sleep(0.005)  # slower than decoding: the decoder waits, nothing is dropped
    assert got == list(range(25)) and src.dropped == 0
    with open_source(clip) as src:
        it = iter(src)
        assert [next(it).index for _ in range(3)] == [0, 1, 2]
        it.close()  # what run() does when it stops early
    assert not [t for t in threading.enumerate() if t.name.startswith("vidrec-decode")]
    with open_source(clip, prefetch=False) as src:
        assert not isinstance(src, PrefetchSource) and sum(1 for _ in src) == 25


def test_video_sink_encodes_in_background_every_frame_in_order(tmp_path):
    """The encode thread writes what a synchronous writer writes: every frame, in order."""
    from vidrec.sinks import ENCODE_QUEUE
    from vidrec.types import Frame

    n = 3 * ENCODE_QUEUE + 5  # more than the queue holds, so write() has to wait for the encoder
    outs = {}
    for background in (True, False):
        path = tmp_path / f"bg{int(background)}.avi"
        with VideoSink(path, 15, (160, 120), background=background) as sink:
            for i in range(n):
                img = np.full((120, 160, 3), 5 * i, np.uint8)
                sink.write(Frame(i, i / 15, img, img[..., 0]), None, img)
        cap = cv2.VideoCapture(str(path))
        means = []
        while True:
            ok, im = cap.read()
            if not ok:
                break
            means.append(float(im.mean()))
        outs[background] = means
    assert len(outs[True]) == n
    assert outs[True] == outs[False]
    assert all(b > a for a, b in zip(outs[True], outs[True][1:]))


def test_outputs_get_the_usual_permissions_not_mkstemps_0600(tmp_path):
    """A video or JSON Lines file a user shares is readable as any file they create (0666 less the umask)."""
    import os

    from vidrec.types import Frame, FrameResult

    mask = os.umask(0o022)
    try:
        img = np.zeros((120, 160, 3), np.uint8)
        with VideoSink(tmp_path / "a.mp4", 15, (160, 120)) as v, JsonlSink(tmp_path / "a.jsonl") as j:
            f = Frame(0, 0.0, img, img[..., 0])
            v.write(f, None, img)
            j.write(f, FrameResult(frame=0, t=0.0), None)
    finally:
        os.umask(mask)
    for name in ("a.mp4", "a.jsonl"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
