"""The greek recogniser (imports torch; loaded only when the plugin is used)."""

from __future__ import annotations

import numpy as np
import torch

from vidrec import draw
from vidrec.crop import to_model_input
from vidrec.modelstore import load
from vidrec.nets import for_inference
from vidrec.recognizer import Recognizer, option_number
from vidrec.segment import Segmenter, check_options
from vidrec.tracking import Tracker
from vidrec.types import Frame, Prediction, Region

PALETTE = [(0, 200, 0), (255, 160, 0), (0, 160, 255), (200, 0, 200), (0, 220, 220), (60, 60, 255)]

SEGMENTER_DEFAULTS = {"max_aspect": 1.9, "valley_aspect": 1.9}

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "omicron": "ο", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω",
}


class GreekLetters(Recognizer):
    name = "greek"
    nothing_read_hint = ("it looks for letters handwritten on a page in view, not cut off by the picture's "
                         "edge; a photo cropped to one letter is read by `vidrec predict --model greek FILE...`")

    def __init__(self, model: str = "greek", min_confidence=None, history=8, max_missed=3, glyphs="yes",
                 **seg_options):
        from vidrec_greek import DEFAULT_MIN_CONFIDENCE

        import vidrec.transfer  # noqa: F401  (registers the greeknet architecture)

        self.model, self.info, _ = load(model)
        self.model = for_inference(self.model)
        self.classes = list(self.info.classes)
        self.min_confidence = option_number("min_confidence", DEFAULT_MIN_CONFIDENCE if min_confidence is None
                                            else min_confidence, 0, 1)
        check_options(self, seg_options)
        # Letters are wider than digits (an alpha is often 1.5-2x as wide as tall) and are
        # written apart, not touching: do not split wide marks as the digit default does.
        self.segmenter = Segmenter(**{**SEGMENTER_DEFAULTS, **seg_options})
        self.tracker = Tracker(history=option_number("history", history, 1, kind=int),
                               max_missed=option_number("max_missed", max_missed, 0, kind=int))
        self.font = _greek_font() if str(glyphs).lower() not in ("no", "false", "0") else None
        self._label_cache: dict[tuple, np.ndarray] = {}

    def segment(self, frame: Frame, pre) -> list[Region]:
        return [r for r in self.segmenter.segment(frame) if r.crop is not None and r.crop.any()]

    @torch.inference_mode()
    def probabilities(self, regions: list[Region]) -> np.ndarray:
        """ONE batched forward pass; the letters' probabilities (less the "none" mass)."""
        if not regions:
            return np.zeros((0, len(self.classes)), np.float32)
        x = to_model_input(np.stack([r.crop for r in regions]), self.info)
        return self.model(x).exp().numpy()

    def classify(self, frame: Frame, regions: list[Region], pre) -> list[Prediction]:
        probs = self.probabilities(regions)
        boxes = np.asarray([r.box for r in regions], np.float64).reshape(-1, 4)
        tracks = self.tracker.update(boxes, probs)
        preds = []
        for r, t, p in zip(regions, tracks, probs):
            if t.label < 0 or t.confidence < self.min_confidence:
                continue
            preds.append(Prediction(label=self.classes[t.label], confidence=float(t.confidence), region=r,
                                    track_id=t.id, extra={"frame_confidence": float(p.max())}))
        return preds

    def render(self, canvas: np.ndarray, frame: Frame, predictions: list[Prediction]) -> None:
        for p in predictions:
            color = PALETTE[(p.track_id or 0) % len(PALETTE)]
            glyph = GREEK.get(p.label.lower()) if self.font is not None else None
            if glyph is None:
                draw.box_label(canvas, p.region.box, f"{p.label} {p.confidence:.2f}", color=color)
                continue
            draw.box_label(canvas, p.region.box, "", color=color)
            self._paste_label(canvas, p.region.box, f"{glyph} {p.confidence:.2f}", color)

    def text(self, predictions: list[Prediction]) -> str:
        """Letter names in reading order: a space between letters, lines joined by a newline.

        Names, not glyphs, so that JSON readers and terminals without Greek fonts agree.
        """
        from vidrec import reading

        boxes = [p.region.box for p in predictions]
        return "\n".join(" ".join(predictions[i].label for i in line) for line in reading.chains(boxes))

    def _paste_label(self, canvas: np.ndarray, box, text: str, color) -> None:
        """A Greek label drawn with Pillow (cv2.putText has no Greek), cached per text and size."""
        size = max(12, round(18 * draw.scale_for(canvas)))
        key = (text, size, color)
        tile = self._label_cache.get(key)
        if tile is None:
            from PIL import Image, ImageDraw, ImageFont

            font = ImageFont.truetype(self.font, size)
            l, t, r, b = font.getbbox(text)
            img = Image.new("RGB", (r - l + 6, b - t + 6), tuple(int(c) for c in color[::-1]))
            ImageDraw.Draw(img).text((3 - l, 3 - t), text, font=font, fill=(0, 0, 0))
            tile = np.asarray(img)[:, :, ::-1].copy()
            if len(self._label_cache) > 256:
                self._label_cache.clear()
            self._label_cache[key] = tile
        H, W = canvas.shape[:2]
        th, tw = tile.shape[:2]
        x, y, w, h = (int(v) for v in box)
        ty = y - th if y - th >= 0 else y + h
        tx = min(max(0, x), max(0, W - tw))
        ty = min(max(0, ty), max(0, H - th))
        hh, ww = min(th, H - ty), min(tw, W - tx)
        if hh > 0 and ww > 0:
            canvas[ty : ty + hh, tx : tx + ww] = tile[:hh, :ww]

    def reset(self) -> None:
        self.tracker.reset()


def _greek_font() -> str | None:
    """A TrueType font with Greek glyphs: DejaVu Sans, shipped with matplotlib."""
    import os

    try:
        import matplotlib

        p = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
        return p if os.path.exists(p) else None
    except Exception:
        return None
