"""StillGate on a real recorded frame: what it calls the same scene, and what it calls news."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidrec.gate import StillGate

CLIP = Path(__file__).resolve().parents[1] / "recordings" / "sheet_still.mp4"


@pytest.fixture(scope="module")
def gray() -> np.ndarray:
    if not CLIP.exists():
        pytest.skip(f"no committed recording {CLIP}")
    cap = cv2.VideoCapture(str(CLIP))
    for _ in range(10):
        ok, img = cap.read()
    cap.release()
    assert ok
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _keyed(gray: np.ndarray) -> StillGate:
    g = StillGate()
    assert g.compare(gray) is None  # no key yet: nothing to compare with
    g.key()
    return g


def _shifted(gray: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(gray, m, (gray.shape[1], gray.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def _paper_spot(gray: np.ndarray) -> tuple[int, int]:
    """The centre of the brightest 60x60 window: blank paper on the sheet."""
    mean = cv2.blur(gray.astype(np.float32), (61, 61))
    mean[:40], mean[-40:], mean[:, :40], mean[:, -40:] = 0, 0, 0, 0
    y, x = np.unravel_index(int(np.argmax(mean)), mean.shape)
    return int(x), int(y)


def test_the_same_frame_is_still_with_no_shift(gray):
    g = _keyed(gray)
    dx, dy = g.compare(gray.copy())
    assert abs(dx) < 0.3 and abs(dy) < 0.3


@pytest.mark.parametrize("dx,dy", [(3.0, -2.0), (-5.0, 1.5), (0.5, 4.0)])
def test_a_small_shift_is_still_and_measured(gray, dx, dy):
    g = _keyed(gray)
    got = g.compare(_shifted(gray, dx, dy))
    assert got is not None
    assert abs(got[0] - dx) < 1.0 and abs(got[1] - dy) < 1.0, got


def test_light_and_sensor_noise_are_no_change(gray):
    g = _keyed(gray)
    darker = cv2.convertScaleAbs(gray, alpha=0.85, beta=8)
    assert g.compare(darker) is not None
    rng = np.random.default_rng(0)
    noisy = np.clip(gray + rng.normal(0, 4, gray.shape), 0, 255).astype(np.uint8)
    assert g.compare(noisy) is not None


def test_a_digit_written_on_the_paper_is_news(gray):
    g = _keyed(gray)
    x, y = _paper_spot(gray)
    written = gray.copy()
    cv2.putText(written, "7", (x - 12, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 40, 3, cv2.LINE_AA)
    assert g.compare(written) is None
    # and the other way round: a digit that goes (covered, wiped) is news too
    g = _keyed(written)
    assert g.compare(gray) is None


def test_a_jump_beyond_max_shift_is_a_new_view(gray):
    g = _keyed(gray)
    assert g.compare(_shifted(gray, 0.02 * gray.shape[1], 0)) is None  # default max_shift 1% of the width


def test_key_moves_the_reference(gray):
    g = _keyed(gray)
    moved = _shifted(gray, 4.0, 0.0)
    assert g.compare(moved) is not None
    g.key()
    dx, dy = g.compare(moved)
    assert abs(dx) < 0.5 and abs(dy) < 0.5
    g.reset()
    assert g.compare(moved) is None


def test_another_size_or_a_tiny_picture_is_never_still(gray):
    """A folder of photos of different sizes, or a thumbnail-sized image: always analysed."""
    g = _keyed(gray)
    assert g.compare(cv2.resize(gray, (320, 240))) is None
    tiny = np.full((12, 12), 200, np.uint8)
    g = _keyed(tiny)
    assert g.compare(tiny.copy()) is None
