"""Labelled test clips: handwritten digits on a hand-held sheet, filmed by a simulated camera.

Why generate them: the video pipeline must be tested against frames with known
answers, and real footage with per-frame ground truth is expensive. The
generator is deliberately hard rather than friendly, because the product is
judged on real hand-held footage: the sheet is held inside a darker, cluttered
scene (so a global threshold fails), in perspective, rotated, wobbling, moving
and leaving the frame; ink is blue, black or red ballpoint of varying pressure;
the light is uneven with a soft hand shadow; frames are blurred, noisy and
JPEG-compressed before the MP4 encoder compresses them again; a thumb holds the
sheet; and "empty" frames carry the things that trip recognisers: blank paper,
clutter, a face-sized blob, clothing folds and a line of printed text.

Digits come from the MNIST *test* set or, with ``source=DIR``, from photos of
real handwriting (``<DIR>/<writer>/<digit>_<n>.<ext>``), cut out of the photo by
:func:`glyph_from_image` (the ink found against its own paper, either polarity)
and redrawn as pen strokes. Generated clips from such a folder are for tests;
they are not committed.

Each clip ``NAME.mp4`` has a sidecar ``NAME.json``: the digits visible in every
frame with their boxes (and ``src``, the MNIST test index or the photo each was drawn
from, so an error can be traced to one handwritten digit across clips), the text the frame reads (lines top to bottom, numbers
left to right, a space between numbers), the frame ranges each digit is
visible in, whether the camera is held still, which plugins the clip is meant
for, and the exact command that made it. Frames where motion smears the digits
by more than a fifth of their height are marked ``"blurred": true`` and not
scored (nobody can read them; a recogniser may say nothing or the right thing). Everything is seeded: the same command
makes the same frames. A :class:`Stationery` with ``ruling="ruled"`` or ``"squared"`` writes on
a notebook's ruling (light blue-grey lines through and under the digits, and on the empty clip's
blank sheets), with ``inks`` in other pens than the four ballpoints (pencil, green), and with
``spacing="tight"`` numbers whose digits touch or nearly touch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from vidrec.errors import VidrecError

W, H = 640, 480
FPS = 15
BLUR_UNREADABLE = 0.2  # motion smear, as a share of a digit's height, that makes it unreadable
INKS = {  # BGR ballpoint colours: a sheet's numbers are written in these, mixed
    "black": (38, 34, 30),
    "blue": (150, 62, 28),
    "red": (42, 40, 175),
    "darkblue": (105, 40, 20),
}
FAINT_INKS = {  # fainter pens, for ``--ink``: their lines are 30-45% less dark than black ballpoint's
    "pencil": (125, 122, 120),
    "green": (70, 130, 40),
}
ALL_INKS = {**INKS, **FAINT_INKS}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Glyph:
    """One handwritten symbol as ink coverage (float32 HxW in [0,1], tight box)."""

    label: str
    alpha: np.ndarray
    origin: str = ""


# ---------------------------------------------------------------------------------
# Where digits come from
# ---------------------------------------------------------------------------------
def legible_mnist(reader: str | None, min_p: float = 0.99) -> np.ndarray:
    """Indices of the MNIST test digits that ``reader`` (a model) reads surely from the clean 28x28.

    MNIST's test set holds digits that people cannot read either (a 2 drawn as an
    L, a 4 closed like a 9). A clip is a test of the *camera path* (segmentation,
    crops, tracking, light and motion), so its digits are ones that are legible
    when nothing stands in the way. ``reader=None`` keeps them all.
    """
    from vidrec.datasets import load_arrays

    x, y = load_arrays("mnist", False)
    if not reader:
        return np.arange(len(x))
    import torch

    from vidrec.crop import to_model_input
    from vidrec.modelstore import load

    model, info, _ = load(reader)
    with torch.inference_mode():
        out = model(to_model_input(x.astype(np.float32) / 255.0, info))
        p = out.exp() if out.max() <= 0 else torch.softmax(out, 1)
    conf, pred = p.max(1)
    ok = (pred.numpy() == y) & (conf.numpy() >= min_p)
    return np.flatnonzero(ok)


def mnist_glyphs(rng: np.random.Generator, n: int, allowed: np.ndarray | None = None) -> list[Glyph]:
    """``n`` random MNIST *test* digits (never the training set the models saw)."""
    from vidrec.datasets import load_arrays

    x, y = load_arrays("mnist", False)
    pool = np.arange(len(x)) if allowed is None else allowed
    idx = pool[rng.choice(len(pool), size=n, replace=False)]
    out = []
    for i in idx:
        a = x[i].astype(np.float32) / 255.0
        out.append(Glyph(str(int(y[i])), _tight(a), f"mnist-test:{int(i)}"))
    return out


def _tight(alpha: np.ndarray, level: float = 0.08) -> np.ndarray:
    ys, xs = np.nonzero(alpha > level)
    if len(ys) == 0:
        return alpha
    return alpha[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _read_any(path: Path) -> np.ndarray:
    """Any PNG/JPEG mode as 8-bit grey; transparency is flattened onto white."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise VidrecError(f"cannot read image {path}")
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        a = img[..., 3:4].astype(np.float32) / 255.0
        if a.min() < 0.99:
            img = (img[..., :3] * a + 255.0 * (1 - a)).astype(np.uint8)
        else:
            img = img[..., :3]
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return img


def glyph_from_image(gray: np.ndarray) -> np.ndarray:
    """Cut the symbol out of a photo or scan: ink coverage in [0,1], tight box.

    Polarity is taken from the border (paper surrounds the symbol); the paper is
    estimated by a grey closing so uneven light does not become ink; coverage is
    the ink's darkness relative to the paper, ramped so that faint paper texture
    is 0 and the stroke core is 1; only the components of the symbol are kept
    (not specks, not the frame of a scan).
    """
    g = gray
    h, w = g.shape
    s = 256.0 / max(h, w)
    if s < 1:
        g = cv2.resize(g, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        h, w = g.shape
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if np.median(border) < 128:
        g = 255 - g
    k = max(3, int(0.25 * max(h, w)) | 1)
    paper = cv2.morphologyEx(g, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    ink = cv2.subtract(paper, g).astype(np.float32)
    lo, hi = 0.2 * ink.max(), 0.7 * ink.max()
    a = np.clip((ink - lo) / max(1.0, hi - lo), 0, 1)
    n, lab, st, _ = cv2.connectedComponentsWithStats((a > 0.3).astype(np.uint8), connectivity=8)
    if n > 1:
        big = st[1:, 4].max()
        keep = np.zeros(n, bool)
        keep[1:] = st[1:, 4] >= 0.08 * big
        near = cv2.dilate(keep[lab].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        a = a * near
    # A pen line is full-strength ink however thin the photo made it: bring the
    # stroke core (90th percentile of the inked pixels) to 1.
    inked = a[a > 0.1]
    if inked.size:
        a = np.clip(a / max(0.2, float(np.percentile(inked, 90))), 0, 1)
    return _tight(a.astype(np.float32), 0.15)


def folder_glyphs(folder: Path) -> list[Glyph]:
    """Every digit image in ``folder/<writer>/<label>_<n>.<ext>`` (label before '_')."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VidrecError(f"digit folder not found: {folder}")
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in IMAGE_EXTS or "_" not in p.name:
            continue
        label = p.name.split("_", 1)[0]
        if not (len(label) == 1 and label.isdigit()):
            continue
        a = glyph_from_image(_read_any(p))
        if a.size and a.max() > 0:
            out.append(Glyph(label, a, str(p.relative_to(folder))))
    if not out:
        raise VidrecError(f"no digit images named <digit>_<n>.<ext> under {folder}")
    return out


# ---------------------------------------------------------------------------------
# Paper, ink and scene
# ---------------------------------------------------------------------------------
def _smooth_field(rng, w, h, lo, hi, cells=4):
    f = rng.uniform(lo, hi, size=(cells, cells)).astype(np.float32)
    return cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC)


def paper(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A sheet: white, cream or grey, with fibre noise and a gentle shading (float32 BGR)."""
    base = np.array(rng.choice([(236, 238, 240), (214, 228, 236), (205, 207, 210), (246, 246, 244)]), np.float32)
    base *= rng.uniform(0.92, 1.04)
    img = np.ones((h, w, 3), np.float32) * base
    img *= _smooth_field(rng, w, h, 0.93, 1.03)[..., None]
    fibre = cv2.GaussianBlur(rng.normal(0, 5, (h, w)).astype(np.float32), (0, 0), 0.8)
    img += fibre[..., None]
    return np.clip(img, 0, 255)


RULINGS = ("plain", "ruled", "squared")
# the gap between the digits of one number, in shares of their height: "normal" as the committed
# clips were made; "tight": the digits touch or nearly touch, as many people write numbers
SPACINGS = {"normal": (0.12, 0.35), "tight": (-0.06, 0.04)}


@dataclass(frozen=True)
class Stationery:
    """What the digits are written on and with: the paper's ruling (:data:`RULINGS`, see
    :func:`rule_paper`) and the inks each number picks one of (names in :data:`ALL_INKS`;
    None: the ballpoints of :data:`INKS`, as the committed clips were made)."""

    ruling: str = "plain"
    inks: tuple[str, ...] | None = None
    spacing: str = "normal"  # the gap between the digits of a number (:data:`SPACINGS`)

    def check(self) -> "Stationery":
        if self.ruling not in RULINGS:
            raise VidrecError(f"unknown paper {self.ruling!r}; known: {', '.join(RULINGS)}")
        if self.spacing not in SPACINGS:
            raise VidrecError(f"unknown spacing {self.spacing!r}; known: {', '.join(SPACINGS)}")
        for name in self.inks or ():
            if name not in ALL_INKS:
                raise VidrecError(f"unknown ink {name!r}; known: {', '.join(ALL_INKS)}")
        if self.inks is not None and not self.inks:
            raise VidrecError("no inks given")
        return self


def rule_paper(img: np.ndarray, rng: np.random.Generator, ruling: str, digit_h: float = 40.0) -> np.ndarray:
    """A notebook's ruling on paper ``img`` (float32 BGR): ``"ruled"`` lines 1.4-1.7 digit
    heights apart, or a ``"squared"`` grid 0.55-0.7 apart (5-mm squares under 8-mm digits);
    1-px anti-aliased lines of a light blue-grey that darkens the paper by about a fifth.
    ``"plain"`` draws nothing and takes nothing from ``rng`` (the committed clips stay as made).
    """
    if ruling == "plain":
        return img
    if ruling not in RULINGS:
        raise VidrecError(f"unknown paper {ruling!r}; known: {', '.join(RULINGS)}")
    h, w = img.shape[:2]
    step = digit_h * (rng.uniform(1.4, 1.7) if ruling == "ruled" else rng.uniform(0.55, 0.7))
    tint = np.float32([0.95, 0.82, 0.70]) * np.float32(rng.uniform(0.97, 1.03))
    lines = np.zeros((h, w), np.float32)
    q = 16  # cv2.line's fixed point (shift=4): lines at sub-pixel positions

    def at(v: float) -> int:
        return int(round(v * q))

    y = rng.uniform(0, step)
    while y < h:
        cv2.line(lines, (0, at(y)), (at(w - 1), at(y)), 1.0, 1, cv2.LINE_AA, shift=4)
        y += step
    if ruling == "squared":
        x = rng.uniform(0, step)
        while x < w:
            cv2.line(lines, (at(x), 0), (at(x), at(h - 1)), 1.0, 1, cv2.LINE_AA, shift=4)
            x += step
    lines = np.clip(lines, 0, 1)[..., None]
    return img * (1 - lines) + img * tint * lines


def draw_glyph(sheet: np.ndarray, g: Glyph, x: float, y: float, height: float, ink: tuple,
               rng: np.random.Generator, slant: float = 0.0) -> np.ndarray:
    """Draw ``g`` with its ink box's top-left at (x, y); return the ink points (N,2) on the sheet.

    Pen pressure varies: strokes are thinned by a random ramp on the coverage, so
    some digits look like a fine ballpoint and some like a felt pen.
    """
    a = g.alpha
    s = height / a.shape[0]
    nw, nh = max(2, int(round(a.shape[1] * s))), max(2, int(round(height)))
    big = cv2.resize(a, (nw, nh), interpolation=cv2.INTER_CUBIC)
    if slant:
        m = np.float32([[1, -slant, slant * nh / 2], [0, 1, 0]])
        pad = int(abs(slant) * nh / 2) + 1
        big = cv2.warpAffine(np.pad(big, ((0, 0), (pad, pad))), m, (nw + 2 * pad, nh))
        x -= pad
    # pressure: higher t = thinner stroke; a thin pen line (little coverage) is not thinned further
    t = rng.uniform(0.05, 0.45) * min(1.0, float(big.mean()) / 0.12)
    big = np.clip((big - t) / (1.0 - t) * 1.6, 0, 1).astype(np.float32)
    opacity = rng.uniform(0.75, 0.95)
    xi, yi = int(round(x)), int(round(y))
    hh, ww = big.shape
    if xi < 0 or yi < 0 or yi + hh > sheet.shape[0] or xi + ww > sheet.shape[1]:
        raise ValueError("glyph outside the sheet")
    roi = sheet[yi:yi + hh, xi:xi + ww]
    al = (big * opacity)[..., None]
    roi[:] = roi * (1 - al) + np.array(ink, np.float32) * al
    ys, xs = np.nonzero(big > 0.35)
    pts = np.stack([xs + xi, ys + yi], 1).astype(np.float32)
    if len(pts) > 400:
        pts = pts[np.linspace(0, len(pts) - 1, 400).astype(int)]
    return pts


def clutter(rng: np.random.Generator, w: int = W, h: int = H, dark: float = 1.0) -> np.ndarray:
    """A darker room behind the sheet: gradients, furniture-like blocks, a shelf, soft edges."""
    top, bottom = rng.uniform(50, 110) * dark, rng.uniform(25, 80) * dark
    img = np.linspace(top, bottom, h, dtype=np.float32)[:, None, None] * np.ones((1, w, 3), np.float32)
    tint = rng.uniform(0.8, 1.2, 3).astype(np.float32)
    img *= tint
    for _ in range(rng.integers(5, 10)):
        x0, y0 = int(rng.uniform(-50, w)), int(rng.uniform(-50, h))
        x1, y1 = x0 + int(rng.uniform(40, 300)), y0 + int(rng.uniform(30, 250))
        col = rng.uniform(15, 150, 3) * dark
        cv2.rectangle(img, (x0, y0), (x1, y1), col.tolist(), -1)
    for _ in range(rng.integers(2, 5)):  # round things: lamp, mug, plant pot
        c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.ellipse(img, c, (int(rng.uniform(20, 80)), int(rng.uniform(20, 80))), 0, 0, 360,
                    (rng.uniform(20, 160, 3) * dark).tolist(), -1)
    for _ in range(rng.integers(2, 6)):  # cables, shelf edges, door frames
        p0 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.line(img, p0, p1, (rng.uniform(0, 60, 3)).tolist(), int(rng.integers(2, 6)))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 2.5))
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


def clothing(rng: np.random.Generator, w: int = W, h: int = H) -> np.ndarray:
    """A shirt filling the view: a fabric colour, soft folds, dark crease lines and weave."""
    col = np.array(rng.choice([(140, 90, 60), (60, 60, 70), (170, 170, 175), (70, 110, 150),
                               (200, 200, 205), (50, 80, 40)]), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = np.ones((h, w), np.float32)
    for _ in range(4):
        ang = rng.uniform(0, math.pi)
        freq = rng.uniform(0.008, 0.03)
        ph = rng.uniform(0, 6.3)
        shade += 0.12 * np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * freq * 2 * math.pi + ph)
    img = col[None, None, :] * shade[..., None]
    creases = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(5, 12)):  # folds: curved dark lines of varying width
        pts = []
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        ang = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(4, 9))):
            pts.append((int(x), int(y)))
            ang += rng.normal(0, 0.5)
            step = rng.uniform(15, 45)
            x, y = x + step * math.cos(ang), y + step * math.sin(ang)
        cv2.polylines(creases, [np.array(pts, np.int32)], False, float(rng.uniform(0.25, 0.55)),
                      int(rng.integers(2, 7)))
    creases = cv2.GaussianBlur(creases, (0, 0), rng.uniform(1.0, 2.5))
    img *= (1 - creases)[..., None]
    weave = ((xx.astype(int) // 2 + yy.astype(int) // 2) % 2).astype(np.float32) * rng.uniform(4, 10)
    img += weave[..., None]
    # buttons / seams
    for _ in range(rng.integers(1, 4)):
        c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(img, c, int(rng.integers(5, 9)), (col * 0.5).tolist(), -1)
    return np.clip(img, 0, 255)


def face(img: np.ndarray, rng: np.random.Generator, cx: int, cy: int, scale: float = 1.0) -> None:
    """A face-sized blob with eyes, brows, nostrils and a mouth (the features look like strokes)."""
    skin = np.array(rng.choice([(120, 150, 200), (80, 110, 160), (60, 80, 110), (150, 180, 225)]), np.float32)
    ax, ay = int(75 * scale), int(100 * scale)
    cv2.ellipse(img, (cx, cy - int(70 * scale)), (int(85 * scale), int(60 * scale)), 0, 180, 360,
                (25, 25, 30), -1)  # hair
    cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, skin.tolist(), -1)
    dark = (skin * 0.35).tolist()
    for sx in (-1, 1):
        ex = cx + sx * int(30 * scale)
        cv2.ellipse(img, (ex, cy - int(20 * scale)), (int(13 * scale), int(6 * scale)), 0, 0, 360, dark, -1)
        cv2.ellipse(img, (ex, cy - int(38 * scale)), (int(18 * scale), int(5 * scale)), 0, 190, 350,
                    dark, max(2, int(4 * scale)))
        cv2.circle(img, (cx + sx * int(8 * scale), cy + int(22 * scale)), max(2, int(4 * scale)), dark, -1)
    cv2.ellipse(img, (cx, cy + int(50 * scale)), (int(28 * scale), int(10 * scale)), 0, 10, 170,
                (skin * 0.45).tolist(), max(2, int(5 * scale)))
    nose = np.zeros(img.shape[:2], np.float32)  # a nose is shading, not a drawn line
    cv2.line(nose, (cx, cy - int(10 * scale)), (cx - int(6 * scale), cy + int(15 * scale)), 1.0, 4)
    nose = cv2.GaussianBlur(nose, (0, 0), 3.0 * scale)[..., None]
    img[:] = img * (1 - 0.25 * nose / max(1e-6, float(nose.max())))


def printed_text(sheet: np.ndarray, rng: np.random.Generator, x: int, y: int, size: float) -> None:
    """A line of printed text (a heading, a window title): letters that look like digits."""
    words = ["Total lSO", "Room 2l8 Box", "OIL and SALT", "Hello world", "Invoice No.", "Lab report"]
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX]))
    layer = np.zeros(sheet.shape[:2], np.uint8)
    cv2.putText(layer, str(rng.choice(words)), (x, y), font, size, 255, max(1, int(size * 2)), cv2.LINE_AA)
    a = (layer.astype(np.float32) / 255.0)[..., None]
    sheet[:] = sheet * (1 - a) + np.float32([40, 40, 40]) * a


def thumb(img: np.ndarray, rng: np.random.Generator, at: tuple[float, float], angle: float) -> None:
    """A thumb holding the sheet's edge."""
    skin = rng.choice([(110, 140, 190), (80, 105, 150), (140, 170, 215)])
    cv2.ellipse(img, (int(at[0]), int(at[1])), (22, 42), angle, 0, 360, tuple(float(c) for c in skin), -1)


# ---------------------------------------------------------------------------------
# The camera
# ---------------------------------------------------------------------------------
def sheet_homography(sw: int, sh: int, cx: float, cy: float, scale: float, angle_deg: float,
                     tilt: tuple[float, float]) -> np.ndarray:
    """Sheet pixels -> frame pixels: a similarity plus a perspective tilt (keystone)."""
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    tx, ty = tilt
    dst = []
    for (px, py) in src:
        u, v = (px - sw / 2) * scale, (py - sh / 2) * scale
        # keystone: one side nearer the camera than the other
        k = 1 + tx * (u / (sw * scale)) + ty * (v / (sh * scale))
        u, v = u * k, v * k
        dst.append([cx + c * u - s * v, cy + s * u + c * v])
    return cv2.getPerspectiveTransform(src, np.float32(dst))


def camera(img: np.ndarray, rng: np.random.Generator, light: np.ndarray, blur: float,
           motion: tuple[float, float], noise: float, jpeg: int) -> np.ndarray:
    """Uneven light, lens blur, motion blur, sensor noise, JPEG; returns uint8 BGR."""
    out = img * light[..., None]
    if blur > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    mx, my = motion
    n = int(round(math.hypot(mx, my)))
    if n >= 2:
        k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
        cv2.line(k, (n - int(mx / 2), n - int(my / 2)), (n + int(mx / 2), n + int(my / 2)), 1.0, 1)
        out = cv2.filter2D(out, -1, k / k.sum())
    out = out + rng.normal(0, noise, out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)


def light_field(rng: np.random.Generator, w: int = W, h: int = H, shadow: bool = True) -> np.ndarray:
    """A light gradient, vignette and (sometimes) the soft shadow of a hand."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = 1 + rng.uniform(0.1, 0.3) * ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang))
    vig = 1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    f = grad * vig
    if shadow:
        sh = np.zeros((h, w), np.float32)
        c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.ellipse(sh, c, (int(rng.uniform(80, 200)), int(rng.uniform(60, 150))), rng.uniform(0, 180),
                    0, 360, 1.0, -1)
        sh = cv2.GaussianBlur(sh, (0, 0), 25)
        f = f * (1 - rng.uniform(0.2, 0.4) * sh)
    return f.astype(np.float32)


# ---------------------------------------------------------------------------------
# Sheets and clips
# ---------------------------------------------------------------------------------
@dataclass
class Placed:
    label: str
    row: int
    group: int
    points: np.ndarray  # ink points on the sheet
    origin: str = ""  # the glyph's origin (the sidecar's "src")


@dataclass
class Sheet:
    image: np.ndarray  # float32 BGR
    digits: list[Placed] = field(default_factory=list)
    holds: list[tuple[float, float]] = field(default_factory=list)  # where thumbs may grip


ROW_CLEAR = 0.3  # digit heights: the least room between a row's digits and the next row's (see make_sheet)


def make_sheet(rng: np.random.Generator, glyphs: list[Glyph], rows: list[list[int]],
               digit_h: float, ink_mix: bool = True, text_line: bool = False,
               margin: float = 1.0, style: Stationery = Stationery()) -> Sheet:
    """Rows of numbers: ``rows`` lists each row's number lengths, e.g. [[3, 1], [2, 2]].

    Digits of one number sit close (a gap of 0.12-0.35 of their height; touching or nearly,
    -0.06-0.04, with ``style.spacing="tight"``: the same random draws either way), numbers
    are at least 1.2 heights apart, rows 1.7-2 heights apart; each row has its own
    small baseline drift, each digit its own size and slant, as handwriting does.
    """
    gi = 0
    widths = []
    for r in rows:
        widths.append(sum(n * digit_h * 0.85 for n in r) + digit_h * 1.7 * (len(r) - 1))
    sw = int(max(widths) + 2 * margin * digit_h + digit_h)
    sh = int(len(rows) * digit_h * 1.9 + 2 * margin * digit_h)
    img = rule_paper(paper(rng, sw, sh), rng, style.ruling, digit_h)
    if style.inks is None:
        ink_names = list(INKS)
        sheet_ink = INKS[str(rng.choice(["black", "blue"]))]
    else:
        ink_names = list(style.inks)
        sheet_ink = ALL_INKS[str(rng.choice(ink_names))]
    placed = []
    above: list[tuple[float, float, float]] = []  # (left, right, bottom) of the last row's digits
    y = margin * digit_h + 0.1 * digit_h
    for ri, r in enumerate(rows):
        x = margin * digit_h + rng.uniform(0, 0.5) * digit_h
        drift = rng.uniform(-0.08, 0.08)
        # Rows drift apart or together; where they would come within ROW_CLEAR digit heights
        # of the row above (its digits' bottoms against this row's tops, jitter included),
        # this row starts lower: people keep their lines apart, and a row written into the
        # one above is no layout a reader has to read. (Only then: other layouts, and so
        # the committed clips, are unchanged.)
        planned = y
        for left, right, bottom in above:
            for xx in (left - 1.2 * digit_h, right):
                y = max(y, bottom + (ROW_CLEAR + 0.06) * digit_h - (xx - margin * digit_h) * drift)
        foot = int(y + 1.2 * digit_h + max(0.0, drift * widths[ri]) + 0.5 * margin * digit_h)
        if y > planned and foot > img.shape[0]:  # pushed past the sheet's foot: more paper (its mirror image)
            img = cv2.copyMakeBorder(img, 0, foot - img.shape[0], 0, 0, cv2.BORDER_REFLECT)
        above = []
        for gi_row, n in enumerate(r):
            ink = ALL_INKS[str(rng.choice(ink_names))] if ink_mix else sheet_ink
            for _ in range(n):
                g = glyphs[gi % len(glyphs)]
                gi += 1
                hgt = digit_h * rng.uniform(0.85, 1.1)
                yy = y + (x - margin * digit_h) * drift + rng.uniform(-0.06, 0.06) * digit_h
                pts = draw_glyph(img, g, x, yy, hgt, ink, rng, slant=rng.uniform(-0.15, 0.2))
                placed.append(Placed(g.label, ri, gi_row, pts, g.origin))
                above.append((float(pts[:, 0].min()), float(pts[:, 0].max()), float(pts[:, 1].max())))
                x = pts[:, 0].max() + rng.uniform(*SPACINGS[style.spacing]) * digit_h
            x += rng.uniform(1.2, 1.6) * digit_h
        y += digit_h * rng.uniform(1.75, 1.95)
    sh = img.shape[0]
    if text_line:
        printed_text(img, rng, int(margin * digit_h), int(sh - 0.3 * margin * digit_h), 0.6)
    holds = [(sw * 0.1, sh), (sw * 0.9, sh), (0, sh * 0.5), (sw, sh * 0.5)]
    return Sheet(img, placed, holds)


def reading_text(digits: list[Placed], visible: list[bool]) -> str:
    """The expected ``text``: rows top to bottom, numbers left to right, a space between numbers."""
    rows: dict[int, dict[int, str]] = {}
    for d, v in zip(digits, visible):
        if v:
            rows.setdefault(d.row, {}).setdefault(d.group, "")
            rows[d.row][d.group] += d.label
    return "\n".join(" ".join(g for _, g in sorted(rows[r].items())) for r in sorted(rows))


def _composite(scene: np.ndarray, sheet: Sheet, Hm: np.ndarray, rng_thumb, thumbs: list[int]) -> np.ndarray:
    sh, sw = sheet.image.shape[:2]
    warped = cv2.warpPerspective(sheet.image, Hm, (W, H), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
    m = cv2.warpPerspective(np.ones((sh, sw), np.float32), Hm, (W, H), flags=cv2.INTER_LINEAR)
    out = scene * (1 - m[..., None]) + warped * m[..., None]
    for ti in thumbs:
        hx, hy = sheet.holds[ti]
        p = cv2.perspectiveTransform(np.float32([[[hx, hy]]]), Hm)[0, 0]
        thumb(out, rng_thumb, (p[0], p[1]), 90 if ti < 2 else 0)
    return out


def _boxes(sheet: Sheet, Hm: np.ndarray, cover: list[tuple[float, float, float]]):
    """Per digit: frame box (x, y, w, h) and whether it is wholly in view and not covered."""
    out = []
    for d in sheet.digits:
        p = cv2.perspectiveTransform(d.points[None], Hm)[0]
        x0, y0 = p.min(0)
        x1, y1 = p.max(0)
        vis = x0 >= 4 and y0 >= 4 and x1 <= W - 5 and y1 <= H - 5
        for (cx, cy, r) in cover:
            if np.any(np.hypot(p[:, 0] - cx, p[:, 1] - cy) < r):
                vis = False
        out.append(([int(round(x0)), int(round(y0)), int(round(x1 - x0 + 1)), int(round(y1 - y0 + 1))], vis))
    return out


@dataclass
class Pose:
    cx: float
    cy: float
    scale: float
    angle: float
    tilt: tuple[float, float]


def _wobble(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    """Hand tremor: smooth random motion (n x 3: dx, dy, dangle)."""
    k = rng.normal(0, 1, (n + 20, 3)).astype(np.float32)
    k = cv2.GaussianBlur(k, (1, 0), sigmaX=0.1, sigmaY=3.0)[10:10 + n]
    k /= max(1e-6, float(np.abs(k).max()))
    return k * np.float32([amp, amp, amp * 0.3])


def render_clip(rng: np.random.Generator, sheet: Sheet | None, poses: list[Pose | None],
                scene_fn, thumbs: list[int], camera_kw: dict, extra_fn=None, turn: float = 0.0):
    """Frames and per-frame ground truth for a sheet moving through ``poses`` (each turned a
    further ``turn`` degrees: a sheet held at a slant)."""
    scene = scene_fn(rng)
    light = light_field(rng)
    frames, truth = [], []
    prev = None
    for i, pose in enumerate(poses):
        img = scene.copy()
        digits = []
        text = ""
        if sheet is not None and pose is not None:
            if turn:
                pose = replace(pose, angle=pose.angle + turn)
            Hm = sheet_homography(sheet.image.shape[1], sheet.image.shape[0], pose.cx, pose.cy,
                                  pose.scale, pose.angle, pose.tilt)
            trng = np.random.default_rng(1234)  # the same thumb in every frame
            img = _composite(img, sheet, Hm, trng, thumbs)
            cover = []
            for ti in thumbs:
                hx, hy = sheet.holds[ti]
                p = cv2.perspectiveTransform(np.float32([[[hx, hy]]]), Hm)[0, 0]
                cover.append((float(p[0]), float(p[1]), 45.0))
            boxes = _boxes(sheet, Hm, cover)
            vis = [v for _, v in boxes]
            digits = [{"id": k, "label": d.label, "box": b, **({"src": d.origin} if d.origin else {})}
                      for k, (d, (b, v)) in enumerate(zip(sheet.digits, boxes)) if v]
            text = reading_text(sheet.digits, vis)
        if extra_fn is not None:
            extra_fn(img, i)
        motion = (0.0, 0.0)
        if prev is not None and pose is not None:
            # exposure about 0.3 of the frame interval
            motion = ((pose.cx - prev.cx) * 0.3, (pose.cy - prev.cy) * 0.3)
        prev = pose
        frames.append(camera(img, rng, light, motion=motion, **camera_kw))
        row = {"frame": i, "text": text, "digits": digits}
        smear = math.hypot(*motion)
        if digits and smear > BLUR_UNREADABLE * min(d["box"][3] for d in digits):
            # smeared over a fifth of its height a pen digit is not legible (to people
            # either): the frame is not scored, and nothing said about it counts
            row["blurred"] = True
        truth.append(row)
    return frames, truth


def _write_clip(out_dir: Path, name: str, frames: list[np.ndarray], truth: list[dict], meta: dict) -> Path:
    from vidrec.atomic import atomic_path, write_json

    path = out_dir / f"{name}.mp4"
    with atomic_path(path) as tmp:
        vw = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
        if not vw.isOpened():
            raise VidrecError(f"this OpenCV cannot write MP4 (mp4v) to {path}")
        for f in frames:
            vw.write(f)
        vw.release()
        cap = cv2.VideoCapture(str(tmp))
        n = 0
        while cap.read()[0]:
            n += 1
        cap.release()
        if n != len(frames):
            raise VidrecError(f"{path}: wrote {len(frames)} frames but {n} read back")
    sidecar = dict(meta)
    sidecar.update({"video": path.name, "fps": FPS, "size": [W, H], "frames": len(frames),
                    "ranges": _ranges(truth), "truth": truth})
    write_json(out_dir / f"{name}.json", sidecar, indent=None)
    return path


def _ranges(truth: list[dict]) -> list[dict]:
    """Frame ranges with the same expected text, for people reading the sidecar."""
    out: list[dict] = []
    for t in truth:
        if out and out[-1]["text"] == t["text"] and out[-1]["end"] == t["frame"] - 1:
            out[-1]["end"] = t["frame"]
        else:
            out.append({"start": t["frame"], "end": t["frame"], "text": t["text"]})
    return out


def _camera_kw(rng):
    return {"blur": float(rng.uniform(0.4, 1.0)), "noise": float(rng.uniform(1.5, 3.0)),
            "jpeg": int(rng.integers(55, 85))}


# --- the clips ----------------------------------------------------------------------
def clip_single(rng, glyphs: list[Glyph], n_frames: int = 40, turn: float = 0.0, style: Stationery = Stationery()):
    """One digit on a small card held in the central box, with hand wobble; then a second card."""
    frames_all, truth_all = [], []
    half = n_frames // 2
    for k in range(2):
        g = glyphs[k]
        dh = rng.uniform(60, 95)
        sheet = make_sheet(rng, [g], [[1]], dh, margin=0.9, style=style)
        wob = _wobble(rng, half, 3.0)
        base = Pose(W / 2 + rng.uniform(-15, 15), H / 2 + rng.uniform(-10, 10), rng.uniform(0.95, 1.15),
                    rng.uniform(-8, 8), (rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15)))
        poses = [Pose(base.cx + w[0], base.cy + w[1], base.scale, base.angle + w[2], base.tilt) for w in wob]
        fr, tr = render_clip(rng, sheet, poses, clutter, [0], _camera_kw(rng), turn=turn)
        for t in tr:
            t["frame"] += len(frames_all)
            for d in t["digits"]:
                d["id"] += 100 * k  # each card is a different digit
        frames_all += fr
        truth_all += tr
    return frames_all, truth_all


def _sheet_rows(rng, n_digits: int) -> list[list[int]]:
    rows = []
    left = n_digits
    while left > 0:
        row = []
        for _ in range(int(rng.integers(2, 4))):
            k = int(min(left, rng.integers(1, 4)))
            if k <= 0:
                break
            row.append(k)
            left -= k
        rows.append(row)
        if len(rows) >= 4 and left > 0:
            rows[-1].append(left)
            left = 0
    return rows


def clip_sheet_still(rng, glyphs: list[Glyph], n_frames: int = 45, n_digits: int = 14, turn: float = 0.0,
                     style: Stationery = Stationery()):
    sheet = make_sheet(rng, glyphs, _sheet_rows(rng, n_digits), rng.uniform(36, 46), style=style)
    sw, sh = sheet.image.shape[1], sheet.image.shape[0]
    scale = min(0.85 * W / sw, 0.8 * H / sh, 1.15)
    base = Pose(W / 2 + rng.uniform(-20, 20), H / 2 + rng.uniform(-15, 15), scale, rng.uniform(-6, 6),
                (rng.uniform(-0.2, 0.2), rng.uniform(-0.15, 0.15)))
    wob = _wobble(rng, n_frames, 2.0)
    poses = [Pose(base.cx + w[0], base.cy + w[1], base.scale, base.angle + w[2], base.tilt) for w in wob]
    return render_clip(rng, sheet, poses, clutter, [0, 1], _camera_kw(rng), turn=turn)


def clip_sheet_moving(rng, glyphs: list[Glyph], n_frames: int = 54, n_digits: int = 12, turn: float = 0.0,
                      style: Stationery = Stationery()):
    """The sheet comes in from the left, turns and tilts, then leaves to the right."""
    sheet = make_sheet(rng, glyphs, _sheet_rows(rng, n_digits), rng.uniform(34, 44), style=style)
    sw, sh = sheet.image.shape[1], sheet.image.shape[0]
    scale = min(0.8 * W / sw, 0.75 * H / sh, 1.1)
    wob = _wobble(rng, n_frames, 2.5)
    poses = []
    for i in range(n_frames):
        t = i / (n_frames - 1)
        # ease in/out: enter (0-0.3), hold near the centre (0.3-0.7), leave (0.7-1.0)
        if t < 0.33:  # comes in from the left, partly out of view at first
            x = 0.12 * W + (t / 0.33) * (0.38 * W)
        elif t < 0.67:  # held, drifting
            x = 0.5 * W + (t - 0.5) * 60
        else:  # leaves to the right, speeding up
            x = 0.5 * W + 10 + ((t - 0.67) / 0.33) ** 1.5 * (1.0 * W)
        y = H / 2 + 20 * math.sin(t * 2 * math.pi)
        ang = 8 * math.sin(t * math.pi * 1.5)
        s = scale * (0.9 + 0.15 * math.sin(t * math.pi))
        poses.append(Pose(x + wob[i, 0], y + wob[i, 1], s, ang + wob[i, 2], (0.15 * math.sin(t * 3), 0.1)))
    return render_clip(rng, sheet, poses, clutter, [0], _camera_kw(rng), turn=turn)


def clip_empty(rng, glyphs: list[Glyph], n_frames: int = 60, turn: float = 0.0, style: Stationery = Stationery()):
    """No digits anywhere: blank paper, clutter, a face, clothing folds, printed text."""
    per = n_frames // 5
    frames, truth = [], []

    def add(fr, tr):
        for t in tr:
            t["frame"] += len(frames)
        frames.extend(fr)
        truth.extend(tr)

    wob = _wobble(rng, per, 2.5)
    blank = Sheet(rule_paper(paper(rng, 420, 300), rng, style.ruling), [], [(42, 300), (378, 300)])
    poses = [Pose(W / 2 + w[0], H / 2 + w[1], 1.1, 4 + w[2], (0.1, 0.1)) for w in wob]
    add(*render_clip(rng, blank, poses, clutter, [0, 1], _camera_kw(rng), turn=turn))
    add(*render_clip(rng, None, [None] * per, clutter, [], _camera_kw(rng), turn=turn))

    def face_scene(r):
        img = clutter(r)
        face(img, r, int(W / 2 + r.uniform(-60, 60)), int(H / 2 + 20), r.uniform(0.9, 1.3))
        return img

    add(*render_clip(rng, None, [None] * per, face_scene, [], _camera_kw(rng), turn=turn))
    add(*render_clip(rng, None, [None] * per, clothing, [], _camera_kw(rng), turn=turn))
    textsheet = Sheet(rule_paper(paper(rng, 460, 200), rng, style.ruling), [], [(46, 200), (414, 200)])
    printed_text(textsheet.image, rng, 20, 80, 1.1)
    printed_text(textsheet.image, rng, 20, 150, 0.8)
    poses = [Pose(W / 2 + w[0], H / 2 + w[1], 1.0, -3 + w[2], (0.05, 0.1)) for w in wob]
    add(*render_clip(rng, textsheet, poses, clutter, [0], _camera_kw(rng), turn=turn))
    return frames, truth


CLIPS = {
    # name: (maker, plugins it is meant for, the camera is held still)
    "single_digit": (clip_single, ["singledigit", "multidigit"], True),
    "sheet_still": (clip_sheet_still, ["multidigit"], True),
    "sheet_moving": (clip_sheet_moving, ["multidigit"], False),
    "empty": (clip_empty, ["multidigit", "singledigit"], True),
}


def generator_version() -> str:
    """A fingerprint of this generator (the first 12 hex digits of this file's SHA-256): a
    clip's sidecar records it, so a folder of clips made by an older generator is known as
    such (a benchmark that reuses clips remakes them; see ``benchmarks/heldout.py``)."""
    import hashlib

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def made_with() -> dict:
    """What makes a clip's pixels besides its command: the OpenCV build (its putText font
    changed in 5.0, its video encoder between 5.0 and 5.1), numpy and this generator."""
    return {"opencv": cv2.__version__, "numpy": np.__version__, "generator": generator_version()}


def remake_command(out_dir: str | os.PathLike, source: str = "mnist", seed: int = 2502,
                   names: list[str] | None = None, reader: str | None = "mnist", turn: float = 0.0,
                   style: Stationery = Stationery()) -> str:
    """The ``vidrec recordings make`` command line that makes these clips (a sidecar's "command")."""
    import shlex

    cmd = f"vidrec recordings make --out {shlex.quote(str(out_dir))} --source {shlex.quote(str(source))} --seed {seed}"
    cmd += "".join(f" --clip {c}" for c in names or ())
    if reader != "mnist":
        cmd += f" --reader {shlex.quote(str(reader or 'none'))}"
    cmd += f" --turn {turn:g}" if turn else ""
    cmd += f" --paper {style.ruling}" if style.ruling != "plain" else ""
    cmd += f" --spacing {style.spacing}" if style.spacing != "normal" else ""
    return cmd + "".join(f" --ink {name}" for name in style.inks or ())


def make_recordings(out_dir: str | os.PathLike, source: str = "mnist", seed: int = 2502,
                    names: list[str] | None = None, command: str = "", progress=None,
                    reader: str | None = "mnist", turn: float = 0.0, style: Stationery = Stationery()) -> list[Path]:
    """Write every clip (or ``names``) and its sidecar into ``out_dir``; return the video paths.

    ``reader``: the model that picks legible MNIST digits (see :func:`legible_mnist`).
    ``turn``: degrees every sheet and card is turned by, on top of its own few (0: the clips
    as committed; the same seed makes the same clips otherwise).
    ``style``: the paper's ruling and the inks (see :class:`Stationery`).
    """
    style.check()
    command = command or remake_command(out_dir, source, seed, names, reader, turn, style)
    out_dir = Path(out_dir)
    names = names or list(CLIPS)
    unknown = [n for n in names if n not in CLIPS]
    if unknown:
        raise VidrecError(f"unknown clip {unknown[0]!r}; known: {', '.join(CLIPS)}")
    pool: list[Glyph] | None = None
    allowed = None
    if source != "mnist":
        pool = folder_glyphs(Path(source))
    else:
        allowed = legible_mnist(reader)
    out = []
    for k, name in enumerate(names):
        maker, plugins, still = CLIPS[name]
        rng = np.random.default_rng([seed, k])
        if pool is None:
            glyphs = mnist_glyphs(rng, 40, allowed)
        else:
            glyphs = [pool[i] for i in rng.permutation(len(pool))]
        frames, truth = maker(rng, glyphs, turn=turn, style=style)
        meta = {"clip": name, "plugins": plugins, "still": still, **({"turn": turn} if turn else {}),
                **({"paper": style.ruling} if style.ruling != "plain" else {}),
                **({"inks": list(style.inks)} if style.inks is not None else {}),
                **({"spacing": style.spacing} if style.spacing != "normal" else {}),
                "source": "mnist-test" if pool is None else "folder",
                "seed": seed, "legible_by": reader if pool is None else None,
                "command": command,
                # the same command makes other pixels with another OpenCV, numpy or generator
                "made_with": made_with()}
        out.append(_write_clip(out_dir, name, frames, truth, meta))
        if progress:
            progress(name)
    return out


def load_truth(video: str | os.PathLike) -> dict:
    """The sidecar of a clip; a clear error if it is missing or not ours."""
    import json

    p = Path(video).with_suffix(".json")
    if not p.exists():
        raise VidrecError(f"no ground-truth sidecar {p.name} beside {Path(video).name}")
    try:
        d = json.loads(p.read_text())
    except ValueError as e:
        raise VidrecError(f"{p}: not valid JSON ({e})") from None
    if "truth" not in d:
        raise VidrecError(f"{p}: not a vidrec recording sidecar (no 'truth')")
    return d
