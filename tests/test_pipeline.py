"""The frame loop: stage timings, several recognisers in order, failures recorded, --fail-fast."""

from __future__ import annotations

import pytest

from video_helpers import BlobRecognizer, sheet_frames, write_video

from vidrec.errors import VidrecError
from vidrec.pipeline import Pipeline, RecognizerFailed, StopRun, run
from vidrec.sources import open_source


@pytest.fixture(scope="module")
def clip(tmp_path_factory, mnist_ready):
    return write_video(tmp_path_factory.mktemp("pipe") / "sheet.avi", sheet_frames(12, digits=6))


def test_frame_result_has_predictions_text_and_stage_timings(clip):
    with open_source(clip) as src:
        frame = next(iter(src))
    result, canvas = Pipeline([("blobs", BlobRecognizer())]).process(frame)
    assert len(result.predictions) == 6  # six digits on the sheet, one blob each
    assert all(p.plugin == "blobs" for p in result.predictions)
    assert result.text == "bbbbbb"
    for key in ("preprocess", "segment", "classify", "render", "frame",
                "blobs.preprocess", "blobs.segment", "blobs.classify", "blobs.render"):
        assert key in result.ms and result.ms[key] >= 0.0, key
    assert result.ms["frame"] >= result.ms["segment"]
    assert canvas is not None and canvas.shape == frame.image.shape
    assert (canvas != frame.image).any(), "render drew nothing on the canvas"
    assert (frame.image[:, :, 2] == frame.image[:, :, 0]).all(), "the frame itself was drawn on"


def test_no_canvas_without_draw(clip):
    with open_source(clip) as src:
        frame = next(iter(src))
    result, canvas = Pipeline([("blobs", BlobRecognizer())], draw=False).process(frame)
    assert canvas is None and len(result.predictions) == 6


def test_several_recognisers_run_in_order_and_texts_join(clip):
    with open_source(clip) as src:
        frame = next(iter(src))
    big, small = BlobRecognizer(min_area=10**9), BlobRecognizer()
    result, _ = Pipeline([("none", big), ("blobs", small)]).process(frame)
    assert [p.plugin for p in result.predictions] == ["blobs"] * 6
    assert result.text == "bbbbbb"  # the empty text of "none" is not joined in
    result, _ = Pipeline([("a", BlobRecognizer()), ("b", BlobRecognizer())]).process(frame)
    assert [p.plugin for p in result.predictions] == ["a"] * 6 + ["b"] * 6
    assert result.text == "bbbbbb | bbbbbb"
    assert "a.segment" in result.ms and "b.segment" in result.ms


@pytest.mark.parametrize("stage", ["preprocess", "segment", "classify"])
def test_a_raising_recogniser_does_not_end_the_run(clip, stage):
    failing, fine = BlobRecognizer(fail_on=3, fail_stage=stage), BlobRecognizer()
    rows = []
    with open_source(clip) as src:
        summary = run(src, Pipeline([("flaky", failing), ("blobs", fine)]), [],
                      on_frame=lambda f, r, c: rows.append(r))
    assert summary.frames == 12 and len(rows) == 12
    assert summary.failures == 1 and summary.failed_frames == 1
    bad = rows[3]
    assert bad.errors == [{"plugin": "flaky", "stage": stage, "error": "ValueError: blob trouble on frame 3"}]
    assert bad.as_json()["errors"][0]["plugin"] == "flaky"
    assert [p.plugin for p in bad.predictions] == ["blobs"] * 6, "the other recogniser still ran"
    assert all(not r.errors for i, r in enumerate(rows) if i != 3)
    assert "errors" not in rows[0].as_json()


def test_fail_fast_stops_with_a_clear_error(clip):
    with open_source(clip) as src:
        with pytest.raises(RecognizerFailed) as e:
            run(src, Pipeline([("flaky", BlobRecognizer(fail_on=3))], fail_fast=True), [])
    assert isinstance(e.value, VidrecError)
    msg = str(e.value)
    assert "'flaky'" in msg and "classify" in msg and "frame 3" in msg and "blob trouble" in msg


def test_summary_counts_and_statistics(clip):
    with open_source(clip) as src:
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [])
    assert summary.frames == 12 and summary.failures == 0 and summary.dropped == 0
    assert summary.fps > 0 and summary.seconds > 0
    assert not summary.interrupted and not summary.stopped
    for stage in ("capture", "preprocess", "segment", "classify", "render", "sinks", "blobs.segment"):
        st = summary.stages[stage]
        assert st["p50"] <= st["p99"] <= st["max"], stage
    assert 0 < summary.frame_ms["p50"] <= summary.frame_ms["p99"]
    assert summary.as_json()["frames"] == 12


def test_stoprun_from_on_frame_ends_cleanly(clip):
    def stop(frame, result, canvas):
        if frame.index == 4:
            raise StopRun()

    with open_source(clip) as src:
        summary = run(src, Pipeline([("blobs", BlobRecognizer())]), [], on_frame=stop)
    assert summary.stopped and summary.frames == 5


def test_keyboard_interrupt_ends_the_run_with_a_summary(clip):
    with open_source(clip) as src:
        summary = run(src, Pipeline([("blobs", BlobRecognizer(interrupt_on=5))]), [])
    assert summary.interrupted and summary.frames == 5


def test_recognisers_reset_per_source_and_close_once(clip):
    rec = BlobRecognizer()
    with Pipeline([("blobs", rec)]) as pipeline:
        for _ in range(2):
            with open_source(clip) as src:
                run(src, pipeline, [])
    assert rec.resets == 2 and rec.closed


def test_a_recogniser_that_named_nothing_in_an_input_says_so_with_its_hint(clip):
    nothing, blobs, silent = BlobRecognizer(min_area=10**9), BlobRecognizer(), BlobRecognizer(min_area=10**9)
    nothing.nothing_read_hint = "it wants blobs the size of a house"
    blobs.nothing_read_hint = "never said: it names every frame's blobs"
    pipe = Pipeline([("nothing", nothing), ("blobs", blobs), ("silent", silent)])  # silent: no hint
    for _ in range(2):  # counted per input: the second run says 12 frames, not 24
        with open_source(clip) as src:
            summary = run(src, pipe, [])
        assert summary.notes == ["nothing read nothing in 12 frames: it wants blobs the size of a house"]
