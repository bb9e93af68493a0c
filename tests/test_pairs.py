"""The reader of two touching digits: its drawing, its training marks, a real (small) training."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from vidrec.crop import _bbox, render, render_wide


def _digit_like(h: int, w: int, seed: int) -> np.ndarray:
    """A binary mask h x w of a few thick strokes: something shaped like a handwritten digit."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(3):
        p = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
        cv2.line(m, p[0], p[1], 1, max(2, h // 12))
    cv2.line(m, (w // 2, 0), (w // 2, h - 1), 1, max(2, h // 12))  # spans the height
    return m


def _ink(img: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = _bbox(img > 0)
    return img[y0:y1, x0:x1]


def test_a_mark_no_wider_than_tall_is_drawn_as_the_digit_network_draws_it():
    """render_wide scales by the height (MNIST's 20 px) where render scales by the long side:
    for a tall mark the two are the same picture, placed in a wider frame."""
    for seed in range(20):
        m = _digit_like(90, 50 + seed, seed)
        narrow, wide = render(m), render_wide(m)
        assert wide.shape == (28, 56)
        assert np.array_equal(_ink(narrow), _ink(wide))


def test_two_digits_side_by_side_keep_one_digits_height_and_stroke():
    """Two digits side by side are drawn at one digit's height (render would shrink them to
    fit 20 px across) and their ink is centred by its mass, as MNIST centres a digit."""
    m = _digit_like(90, 60, 1)
    pair = np.hstack([m, np.zeros((90, 6), np.uint8), _digit_like(90, 60, 2)])
    w = render_wide(pair)
    rows = np.flatnonzero(w.max(axis=1) > 0.1)
    cols = np.flatnonzero(w.max(axis=0) > 0.1)
    assert 19 <= rows[-1] - rows[0] + 1 <= 22
    assert cols[-1] - cols[0] + 1 >= 25  # over twice a digit's width (126 / 90 * 20 = 28 px)
    cy, cx = np.argwhere(w > 0).mean(axis=0)
    assert abs(cx - 28) < 4 and abs(cy - 14) < 4
    assert render_wide(np.zeros((30, 40), np.uint8)).max() == 0  # nothing there: an empty picture


def test_composed_marks_are_labelled_by_what_they_hold(mnist_ready):
    """Pairs are classes 10-109 ("ab" at 10 + 10a + b), single digits 0-9; pairs are drawn
    wider than single digits; a seed remakes the same marks."""
    from vidrec import datasets
    from vidrec.pairs import CLASSES, compose

    x, y = datasets.load_arrays("mnist", False)
    a, ya = compose(x, y, 400, np.random.default_rng(5))
    b, yb = compose(x, y, 400, np.random.default_rng(5))
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert len(CLASSES) == 110 and CLASSES[10] == "00" and CLASSES[10 + 10 * 4 + 7] == "47"
    pair = ya >= 10
    assert 0.5 <= pair.mean() <= 0.7  # single_share 0.4
    width = np.array([np.ptp(np.flatnonzero(img.max(axis=0) > 0.1)) + 1 for img in a])
    assert np.median(width[pair]) >= np.median(width[~pair]) + 5  # (most singles are stretched too)
    # the digits a pair holds come from MNIST's labels: the first digit of every pair drawn
    # from a 1 and a 0 (the narrowest and a round one) is at the left
    ones, zeros = np.flatnonzero(y == 1)[:1], np.flatnonzero(y == 0)[:1]
    xx, yy = np.concatenate([x[ones], x[zeros]]), np.array([1, 0])
    m, c = compose(xx, yy, 60, np.random.default_rng(0), single_share=0.0)
    for img, k in zip(m, c):
        cols = np.flatnonzero(img.max(axis=0) > 0.1)
        left = img[:, cols[0]:cols[0] + (cols[-1] - cols[0]) // 3].sum()
        right = img[:, cols[-1] - (cols[-1] - cols[0]) // 3:cols[-1] + 1].sum()
        if CLASSES[k] == "10":
            assert left < right  # the 1's thin stroke at the left, the 0's loop at the right
        elif CLASSES[k] == "01":
            assert left > right


def test_marginals_give_each_place_its_digit():
    from vidrec.pairs import marginals

    p = np.zeros(110)
    p[10 + 10 * 4 + 7] = 0.6  # "47"
    p[10 + 10 * 4 + 1] = 0.2  # "41"
    p[7] = 0.2  # a single 7: not a pair, left out
    first, second = marginals(p)
    assert first.argmax() == 4 and first[4] == pytest.approx(1.0)
    assert second[7] == pytest.approx(0.75) and second[1] == pytest.approx(0.25)


@pytest.mark.slow
def test_train_pairs_learns_to_read_pairs_and_writes_a_loadable_model(mnist_ready, runner, cli, tmp_path):
    """A real (small) training through the command line: 6,000 marks, 3 epochs. It reads
    marks composed from MNIST's test digits far above chance (1 in 110), and the model file
    loads as a pair reader that multidigit takes."""
    from vidrec import modelstore
    from vidrec.pairs import CLASSES
    from vidrec.plugins import make_recognizers

    out = tmp_path / "p.safetensors"
    r = runner.invoke(cli, ["train", "pairs", "--samples", "6000", "--epochs", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["test_accuracy"] >= 0.3, card["test_accuracy"]
    assert card["test_accuracy_pairs"] > 0.1 and card["test_accuracy_singles"] > 0.5, card
    assert card["reproduce"] == "vidrec train pairs --samples 6000 --epochs 3 --seed 2502"
    model, info, _ = modelstore.load(out)
    assert info.arch == "pairnet" and info.classes == CLASSES
    shown = runner.invoke(cli, ["models", "show", str(out)])
    assert shown.exit_code == 0 and "[1, 110]" in shown.output, shown.output
    ((_, rec),) = make_recognizers(["multidigit"], {"pair_model": str(out)})
    assert rec.pairs is not None


def test_multidigit_refuses_a_model_that_reads_no_pairs():
    from vidrec.errors import VidrecError
    from vidrec.plugins import make_recognizers

    with pytest.raises(VidrecError, match="not a reader of digit pairs"):
        make_recognizers(["multidigit"], {"pair_model": "mnist"})
    ((_, off),) = make_recognizers(["multidigit"], {"pair_model": "none"})
    assert off.pairs is None
    # a model of other symbols than digits (the Greek letters) runs without the pair reader
    ((_, greek),) = make_recognizers(["multidigit"], {"model": "greek"})
    assert greek.pairs is None and greek.classes == ["alpha", "beta", "gamma"]
