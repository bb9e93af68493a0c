"""The one crop normalisation: MNIST-like output whatever the picture looks like.

Inputs are real MNIST test digits turned into "photos" (enlarged, dark ink on
grey paper, uneven light, noise, JPEG) and real handwriting photos when the
shared folder is there; the expectations come from MNIST's own definition
(20x20 box, centre of mass at the centre) and from invariances (polarity, pen
width, stray marks), never from running the code.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from vidrec import crop
from vidrec.errors import VidrecError


@pytest.fixture(scope="module")
def digits(mnist_ready):
    from vidrec import datasets

    x, y = datasets.load_arrays("mnist", False)
    return x[:60], y[:60].astype(int)


@pytest.fixture(scope="module")
def model():
    from vidrec import modelstore

    return modelstore.load("mnist")


def classify(model, crops) -> np.ndarray:
    import torch

    net, info, _ = model
    with torch.no_grad():
        return net(crop.to_model_input(list(crops), info)).argmax(1).numpy()


def photo(digit: np.ndarray, size: int = 400, paper: float = 200.0, ink: float = 40.0, seed: int = 0) -> np.ndarray:
    """An MNIST digit as a photo: enlarged, dark on grey paper, a light gradient, noise, JPEG."""
    rng = np.random.default_rng(seed)
    big = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    pad = size // 4
    big = np.pad(big, pad)
    h, w = big.shape
    light = 1.0 - 0.25 * np.linspace(0, 1, w)[None, :]  # uneven light: right side darker
    img = (paper - (paper - ink) * big) * light + rng.normal(0, 3, big.shape)
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def com(c: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : c.shape[0], 0 : c.shape[1]]
    return float((ys * c).sum() / c.sum()), float((xs * c).sum() / c.sum())


def aligned_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference, allowing the one-pixel shift that rounding the centre of mass may give."""
    best = np.inf
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            best = min(best, float(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).mean()))
    return best


def test_output_is_mnist_like(digits):
    x, _ = digits
    for i in range(10):
        c = crop.normalize_crop(photo(x[i], seed=i))
        assert c.shape == (28, 28) and c.dtype == np.float32
        assert 0.0 <= c.min() and c.max() <= 1.0
        assert c.max() > 0.95  # stroke cores are full white
        assert c[0].max() == 0 and c[:, 0].max() == 0  # black background
        # fitted into the 20x20 box: the longer side is 20 px; placed to a
        # fraction of a pixel, its faint anti-aliased fringe may touch a 21st
        ys, xs = np.nonzero(c > 0.5)
        assert 18 <= max(np.ptp(ys) + 1, np.ptp(xs) + 1) <= 20
        ys, xs = np.nonzero(c > 0)
        assert max(np.ptp(ys) + 1, np.ptp(xs) + 1) <= 21
        cy, cx = com(c)
        assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0
        # grey anti-aliased edges, as MNIST has
        assert ((c > 0.05) & (c < 0.95)).sum() >= 10


def test_target_width_is_mnists(digits):
    """TARGET_WIDTH is MNIST's own stroke width, measured the way render() measures it."""
    x, _ = digits
    widths = []
    for d in x:
        m = (d > 127).astype(np.uint8)
        ys, xs = np.nonzero(m)
        m = m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        s = crop.BOX * 8 / max(m.shape)
        big = cv2.resize(m.astype(np.float32), (round(m.shape[1] * s), round(m.shape[0] * s)), interpolation=cv2.INTER_LINEAR)
        widths.append(crop.stroke_width((big > 0.5).astype(np.uint8)) / 8)
    lo, hi = np.percentile(widths, [25, 75])
    assert lo <= crop.TARGET_WIDTH <= hi


def test_photo_of_mnist_digit_is_still_recognised(digits, model):
    x, y = digits
    crops = [crop.normalize_crop(photo(d, size=200 + 37 * i % 700, seed=i)) for i, d in enumerate(x)]
    raw_right = classify(model, x / 255.0) == y
    ours_right = classify(model, crops) == y
    # no more than one digit lost against the original MNIST images
    assert ours_right.sum() >= raw_right.sum() - 1


def test_polarity_invariance(digits):
    x, _ = digits
    for i in range(5):
        img = photo(x[i], seed=i)
        a = crop.normalize_crop(img)
        b = crop.normalize_crop(255 - img)
        assert np.abs(a - b).mean() < 0.02


def test_thin_pen_on_a_big_photo_stays_readable(model):
    """A 5-px line on a 2000-px photo and a 60-px marker give about the same crop."""
    crops = {}
    for width in (5, 60):
        for d in "0123456789":
            img = np.full((2000, 1800), 215, np.uint8)
            cv2.putText(img, d, (450, 1600), cv2.FONT_HERSHEY_SIMPLEX, 40, 30, width, cv2.LINE_AA)
            crops[width, d] = crop.normalize_crop(img)
    for d in "0123456789":
        thin, thick = crops[5, d], crops[60, d]
        assert thin.max() > 0.9
        # MNIST strokes cover about 12% of the 28x28; a hairline must not vanish or thin out
        assert 0.07 < thin.mean() < 0.25
        assert np.abs(thin - thick).mean() < 0.05
    pred = classify(model, [crops[5, d] for d in "0123456789"])
    assert (pred == np.arange(10)).sum() >= 8  # printed digits differ from handwriting a little


def test_mask_path_matches_photo_path(digits):
    x, _ = digits
    for i in range(5):
        img = photo(x[i], size=300, seed=i)
        # the segmenter's mask: the true stroke pixels at the photo's resolution
        big = cv2.resize(x[i], (300, 300), interpolation=cv2.INTER_CUBIC)
        mask = np.pad(big > 128, 75)
        a = crop.normalize_crop(img)
        b = crop.normalize_crop(img, mask=mask)
        assert aligned_diff(a, b) < 0.04
        # for scale: another digit's crop is far more different than that
        assert aligned_diff(a, crop.normalize_crop(photo(x[i + 10], size=300, seed=i))) > 0.08


def test_two_stroke_symbol_stays_whole_and_specks_go():
    img = np.full((300, 300), 230, np.uint8)
    # a "4" drawn in two strokes that do not touch, and a "+"-like dot near it
    cv2.line(img, (120, 60), (80, 170), 20, 8)
    cv2.line(img, (80, 170), (170, 170), 20, 8)
    cv2.line(img, (150, 90), (150, 250), 20, 8)  # second stroke, separate from the first
    whole = crop.normalize_crop(img)
    specky = img.copy()
    for x, y in [(10, 10), (290, 20), (20, 280), (270, 285), (250, 150)]:
        cv2.circle(specky, (x, y), 2, 20, -1)
    cv2.line(specky, (0, 2), (299, 2), 60, 3)  # a paper edge along the top
    cv2.line(specky, (297, 0), (297, 299), 60, 3)  # and down the right side
    with_marks = crop.normalize_crop(specky)
    assert np.abs(whole - with_marks).mean() < 0.01
    # both strokes are there: the long vertical stroke spans most of the height
    col = whole[:, whole.sum(0).argmax()]
    assert (col > 0.5).sum() >= 14
    only_first = img.copy()
    cv2.line(only_first, (150, 90), (150, 250), 230, 12)
    assert np.abs(crop.normalize_crop(only_first) - whole).mean() > 0.05


def test_light_sheet_in_a_dark_scene(digits):
    x, _ = digits
    scene = np.full((600, 800), 40, np.uint8)
    scene[150:450, 300:560] = 215  # the sheet, small in the frame
    d = cv2.resize(x[0], (200, 200), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    scene[200:400, 330:530] = (215 - 180 * d).astype(np.uint8)
    expected = crop.normalize_crop(photo(x[0]))
    assert np.abs(crop.normalize_crop(scene) - expected).mean() < 0.05


def test_blank_pictures_give_zeros():
    assert not crop.normalize_crop(np.full((100, 120), 200, np.uint8)).any()
    rng = np.random.default_rng(0)
    noise = np.clip(200 + rng.normal(0, 2, (300, 300)), 0, 255).astype(np.uint8)
    assert not crop.normalize_crop(noise).any()
    assert not crop.normalize_crop(np.zeros((0, 0), np.uint8)).any()
    assert not crop.normalize_crop(np.zeros((50, 50), np.uint8), mask=np.zeros((50, 50), bool)).any()


def test_color_and_alpha_inputs_agree(digits):
    x, _ = digits
    gray = photo(x[3], seed=3)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    bgra = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGRA)
    ref = crop.normalize_crop(gray)
    assert np.abs(crop.normalize_crop(bgr) - ref).mean() < 1e-3
    assert np.abs(crop.normalize_crop(bgra) - ref).mean() < 1e-3


def test_to_model_input_normalises(digits):
    from vidrec.modelstore import ModelInfo

    info = ModelInfo(mean=0.1307, std=0.3081)
    crops = [np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32)]
    t = crop.to_model_input(crops, info)
    assert tuple(t.shape) == (2, 1, 28, 28)
    assert abs(float(t[0, 0, 0, 0]) - (-0.1307 / 0.3081)) < 1e-5
    assert abs(float(t[1, 0, 5, 5]) - ((1 - 0.1307) / 0.3081)) < 1e-5
    with pytest.raises(ValueError):
        crop.to_model_input([np.zeros((20, 20))], info)


# ------------------------------------------------------------- read_image


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


@pytest.fixture()
def stroke_image():
    a = np.full((120, 100), 255, np.uint8)
    cv2.line(a, (50, 15), (50, 105), 0, 9)
    cv2.line(a, (30, 35), (50, 15), 0, 9)
    return a


def test_read_image_modes(tmp_path, stroke_image):
    ref = crop.normalize_crop(stroke_image)
    g = Image.fromarray(stroke_image)
    files = [
        _save(g, tmp_path / "l.png"),
        _save(g.convert("RGB"), tmp_path / "rgb.jpg", quality=95),
        _save(g.convert("RGB").convert("P", palette=Image.ADAPTIVE, colors=8), tmp_path / "p.png"),
        _save(g.convert("RGBA"), tmp_path / "rgba.png"),
        _save(Image.fromarray(stroke_image.astype(np.uint16) * 257), tmp_path / "i16.png"),
    ]
    # strokes only in alpha, on a transparent canvas: black strokes and white strokes
    alpha = 255 - stroke_image
    for name, rgb in (("black", 0), ("white", 255)):
        rgba = np.dstack([np.full_like(alpha, rgb)] * 3 + [alpha])
        files.append(_save(Image.fromarray(rgba, "RGBA"), tmp_path / f"alpha_{name}.png"))
    for f in files:
        img = crop.read_image(f)
        assert img.dtype == np.uint8 and img.shape[:2] == (120, 100), f
        assert np.abs(crop.normalize_crop(img) - ref).mean() < 0.02, f


def test_read_image_applies_exif_orientation(tmp_path, stroke_image):
    im = Image.fromarray(stroke_image).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; viewers rotate 90 degrees clockwise
    rotated_file = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(stroke_image, 1))).convert("RGB").save(
        rotated_file, exif=exif.tobytes(), quality=95
    )
    got = crop.read_image(rotated_file)
    assert got.shape[:2] == (120, 100)


def test_read_image_errors_name_the_file(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.png"
    buf = io.BytesIO()
    Image.new("L", (50, 50), 255).save(buf, format="PNG")
    truncated.write_bytes(buf.getvalue()[:40])
    for f in (text, empty, truncated, tmp_path / "missing.png", tmp_path):
        with pytest.raises(VidrecError) as e:
            crop.read_image(f)
        assert str(f) in str(e.value)
        assert "\n" not in str(e.value)


def test_real_photos_give_centred_crops(shared_data):
    """Every real handwriting picture, whatever its kind, gives a non-empty, centred crop."""
    paths = sorted(p for p in (shared_data / "digits").rglob("*") if p.suffix.lower() in crop.IMAGE_EXTENSIONS)
    assert len(paths) >= 100
    for p in paths[::4]:
        c = crop.normalize_crop(crop.read_image(p))
        assert c.any(), p
        cy, cx = com(c)
        assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0, p
        assert 0.05 < c.mean() < 0.25, p  # MNIST's ink coverage is about 0.12


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1), np.uint8),
        np.full((1, 500), 255, np.uint8),
        np.zeros((3, 3, 3), np.uint8),
        np.zeros((2, 2, 4), np.uint8),
        np.full((50, 50), np.nan, np.float32),
        np.full((40, 40), 60000, np.uint16),
        np.random.default_rng(0).integers(0, 256, (123, 37)).astype(np.uint8),
    ],
    ids=["1x1", "1x500", "3x3 BGR", "BGRA 2x2", "NaN float", "uint16", "noise"],
)
def test_degenerate_inputs_do_not_break(image):
    c = crop.normalize_crop(image)
    assert c.shape == (28, 28) and np.isfinite(c).all() and 0 <= c.min() and c.max() <= 1


def test_all_ink_mask_and_sliver_masks():
    for m in (np.ones((5, 5), bool), np.ones((300, 2), bool)):
        c = crop.normalize_crop(np.zeros(m.shape, np.uint8), mask=m)
        assert c.shape == (28, 28) and c.max() > 0.5
    # a vertical sliver stays a vertical bar ("1"), centred
    c = crop.normalize_crop(np.zeros((300, 2), np.uint8), mask=np.ones((300, 2), bool))
    ys, xs = np.nonzero(c > 0.5)
    assert np.ptp(ys) >= 18 and np.ptp(xs) <= 4


def test_mask_of_a_tight_crop_keeps_a_stroke_along_the_border():
    """A 5's separate bar near the top edge of a crop with no margin stays, given as a mask."""
    img = np.full((200, 140), 230, np.uint8)
    cv2.line(img, (30, 6), (134, 6), 20, 12)  # the bar, touching the top edge
    cv2.line(img, (30, 20), (25, 90), 20, 12)
    cv2.ellipse(img, (70, 135), (55, 55), 0, -150, 150, 20, 12)
    padded = np.pad(img, 60, constant_values=230)
    expected = crop.normalize_crop(padded)
    assert aligned_diff(crop.normalize_crop(img, mask=img < 128), expected) < 0.03
    assert aligned_diff(crop.normalize_crop(padded, mask=padded < 128), expected) < 0.03
    without_bar = padded.copy()
    without_bar[60:80, 80:200] = 230
    assert aligned_diff(crop.normalize_crop(without_bar), expected) > 0.04


def test_erosion_without_padding_is_the_padded_erosion():
    """render() erodes its tight mask without the empty border it used to add (and large
    disks as rectangles): the same pixels as eroding the bordered mask, for every disk."""
    rng = np.random.default_rng(3)
    masks = [np.ones((40, 30), np.uint8), (rng.random((70, 90)) > 0.2).astype(np.uint8)]
    blob = np.zeros((120, 100), np.uint8)
    cv2.ellipse(blob, (50, 60), (48, 58), 0, 0, 360, 1, -1)
    cv2.line(blob, (0, 0), (99, 119), 0, 5)
    masks.append(blob)
    for r in np.arange(0.0, 24.0, 0.5):
        k = crop._disk(r)
        for m in masks:
            padded = cv2.copyMakeBorder(m, 3, 3, 3, 3, cv2.BORDER_CONSTANT, value=0)
            expected = cv2.erode(padded, k)[3:-3, 3:-3]
            assert np.array_equal(crop._erode_disk(m, r), expected), (r, m.shape)


def test_warm_up_builds_the_reductions_a_frames_crops_need(digits):
    """After warm_up(), rendering pen and marker strokes of any size builds no new reduction
    matrix: none is left for the first frame of a run to build (each was ~0.1 ms)."""
    crop._blur_reduce.cache_clear()  # (from scratch: not what earlier tests happened to build)
    crop._warmed = False
    crop.warm_up()
    before = crop._blur_reduce.cache_info().misses
    masks = []
    for img in digits[0][:30]:  # MNIST strokes, enlarged as a camera would see them
        for h in (24, 45, 90, 160):
            masks.append(cv2.resize((img > 80).astype(np.uint8), (h, h), interpolation=cv2.INTER_NEAREST))
    for height, thick in ((30, 1), (60, 2), (60, 9), (120, 3), (120, 14), (200, 6)):
        for text in ("1", "4", "7", "0", "8"):  # tall and thin to round, hairline to marker
            m = np.zeros((height + 40, height + 40), np.uint8)
            cv2.putText(m, text, (10, height + 10), cv2.FONT_HERSHEY_SIMPLEX, height / 22.0, 1, thick)
            masks.append(m)
    for m in masks:
        crop.render(m)
    assert crop._blur_reduce.cache_info().misses == before
