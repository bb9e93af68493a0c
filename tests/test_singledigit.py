"""singledigit: one digit held in the central box, on frames drawn from MNIST test digits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidrec.types import Frame

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rec(mnist_ready):
    from vidrec.modelstore import models_dir
    from vidrec.plugins import make_recognizers

    if not (models_dir() / "mnist.safetensors").exists():
        pytest.skip("the committed digit model is missing")
    ((_, r),) = make_recognizers(["singledigit"], {})
    return r


def _card(digits: str, centre=(320, 240), height=90, seed=0):
    """A white card with MNIST test digits in a dark room; returns the frame."""
    from vidrec.datasets import load_arrays
    from vidrec.recordings import Glyph, _tight, draw_glyph

    x, y = load_arrays("mnist", False)
    first = {str(int(lab)): i for i, lab in reversed(list(enumerate(y[:300])))}
    sheet = np.full((220, 120 + 110 * len(digits), 3), 232, np.float32)
    rng = np.random.default_rng(seed)
    left = 60.0
    for d in digits:
        g = Glyph(d, _tight(x[first[d]].astype(np.float32) / 255))
        left = draw_glyph(sheet, g, left, 60, height, (30, 30, 30), rng)[:, 0].max() + 0.5 * height
    img = np.full((480, 640, 3), 50, np.uint8)
    h, w = sheet.shape[:2]
    x0, y0 = centre[0] - w // 2, centre[1] - h // 2
    img[y0:y0 + h, x0:x0 + w] = sheet.astype(np.uint8)
    return img


def _run(rec, img, frames=3):
    rec.reset()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    for k in range(frames):
        f = Frame(k, k / 15, img, gray)
        preds = rec.classify(f, rec.segment(f, None), None)
    canvas = img.copy()
    rec.render(canvas, f, preds)
    return preds, canvas


@pytest.mark.parametrize("digit", ["3", "7", "0"])
def test_digit_in_the_box_is_named_and_the_model_input_shown(rec, digit):
    img = _card(digit)
    preds, canvas = _run(rec, img)
    assert [p.label for p in preds] == [digit] and preds[0].confidence >= rec.min_confidence
    assert rec.text(preds) == digit
    # the 28x28 input is drawn, enlarged, in the top-right corner
    corner = canvas[5:120, 520:635]
    assert np.abs(corner.astype(int) - img[5:120, 520:635].astype(int)).sum() > 0
    assert rec.last_crop.shape == (28, 28)


def test_several_digits_in_the_box_say_so(rec):
    img = _card("41", height=70)
    preds, canvas = _run(rec, img)
    assert preds == [] and rec.state == "several"


def test_outside_the_box_is_ignored_unless_largest(rec):
    from vidrec.plugins import make_recognizers

    img = _card("5", centre=(150, 240), height=70)
    preds, _ = _run(rec, img)
    assert preds == []
    ((_, largest),) = make_recognizers(["singledigit"], {"largest": "1"})
    preds, _ = _run(largest, img)
    assert [p.label for p in preds] == ["5"]


def test_empty_view_reports_nothing(rec):
    img = np.full((480, 640, 3), 50, np.uint8)
    img[120:360, 200:440] = 230  # a blank card in the box
    preds, _ = _run(rec, img)
    assert preds == [] and rec.state == ""


@pytest.mark.slow
def test_bar_on_recordings(rec, shared_data, tmp_path):
    """The committed single-digit and empty clips, and the same clips made from real handwriting."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import make_recordings

    paths = []
    if any((ROOT / "recordings").glob("*.json")):
        paths.append(ROOT / "recordings")
    make_recordings(tmp_path, source=str(shared_data / "digits"), names=["single_digit", "empty"])
    paths.append(tmp_path)
    res = evaluate_recordings(paths, plugin="singledigit")
    o = res["overall"]
    assert o["precision"] >= 0.98 and o["recall"] >= 0.98 and o["exact_text"] >= 0.95, res
    assert o["false_per_empty_frame"] == 0.0 and (o["flicker_per_s"] or 0) < 0.2, res
