"""The singledigit recogniser (imports torch; loaded only when the plugin is used)."""

from __future__ import annotations


import numpy as np
import torch

from vidrec import draw
from vidrec.crop import to_model_input
from vidrec.errors import VidrecError
from vidrec.modelstore import load
from vidrec.nets import for_inference
from vidrec.recognizer import Recognizer, option_number
from vidrec.threads import torch_threads
from vidrec.segment import Segmenter
from vidrec.tracking import Tracker
from vidrec.types import Frame, Prediction, Region


class SingleDigit(Recognizer):
    name = "singledigit"
    nothing_read_hint = ("it reads the digit held inside the central box (--option singledigit.largest=1: "
                         "the largest symbol in view); a photo cropped to one digit is read by "
                         "`vidrec predict FILE...`")

    def __init__(self, model: str = "digits", min_confidence=None, largest=0, box=0.5, history=6,
                 several=0.55):
        from vidrec_singledigit import DEFAULT_MIN_CONFIDENCE

        self.model, self.info, _ = load(model)
        self.model = for_inference(self.model)
        self.classes = list(self.info.classes)
        self.min_confidence = option_number("min_confidence", DEFAULT_MIN_CONFIDENCE if min_confidence is None
                                   else min_confidence, 0, 1)
        self.largest = str(largest).lower() in ("1", "true", "yes", "on")
        self.box_frac = option_number("box", box, 0.1, 1.0)
        self.several = option_number("several", several, 0.1, 1.0)  # a second mark this tall (share) is a symbol
        # Inside the box a digit is big and near: the closing kernel must exceed a marker's
        # stroke, and specks below a sixth of the box are not the symbol.
        self.box_segmenter = Segmenter(work_width=192, kernel_frac=0.12, max_height_frac=0.95,
                                       max_aspect=1.6, max_touching=6)
        self.view_segmenter = Segmenter()
        self.tracker = Tracker(history=int(option_number("history", history, 1, 100)), max_missed=2, max_shift=1.5,
                               swap_iou=0.7)
        self.state = ""  # what the box holds: "", "digit", "several", "unsure"
        self.last_crop: np.ndarray | None = None

    def reset(self) -> None:
        self.tracker.reset()
        self.state = ""
        self.last_crop = None

    def box(self, frame: Frame) -> tuple[int, int, int, int]:
        H, W = frame.gray.shape[:2]
        side = int(self.box_frac * min(H, W))
        return ((W - side) // 2, (H - side) // 2, side, side)

    def segment(self, frame: Frame, pre) -> list[Region]:
        if self.largest:
            regions = self.view_segmenter.segment(frame)
        else:
            x, y, w, h = self.box(frame)
            self.box_segmenter.cfg.min_height = max(8, int(0.15 * h))
            regions = self.box_segmenter.segment(frame.gray[y:y + h, x:x + w])
            for r in regions:
                bx, by, bw, bh = r.box
                r.box = (bx + x, by + y, bw, bh)
        return [r for r in regions if r.crop is not None and r.crop.any()]

    @torch.inference_mode()
    def classify(self, frame: Frame, regions: list[Region], pre) -> list[Prediction]:
        if not regions:
            self.state = ""
            self.tracker.update(np.zeros((0, 4)), np.zeros((0, len(self.classes))))
            return []
        heights = np.array([r.box[3] for r in regions], float)
        main = int(np.argmax(heights * np.array([r.box[2] for r in regions], float) ** 0.5))
        others = [i for i in range(len(regions)) if i != main and heights[i] >= self.several * heights[main]]
        if others and not self.largest:
            self.state = "several"
            self.tracker.update(np.zeros((0, 4)), np.zeros((0, len(self.classes))))
            return []
        r = regions[main]
        self.last_crop = r.crop
        x = to_model_input(r.crop[None], self.info)
        with torch_threads(1):
            out = self.model(x)
        p = (out.exp() if out.max() <= 0 else torch.softmax(out, 1)).numpy()
        (t,) = self.tracker.update(np.asarray([r.box], float), p)
        if t.confidence < self.min_confidence:
            self.state = "unsure"
            return []
        self.state = "digit"
        return [Prediction(label=self.classes[t.label], confidence=t.confidence, region=r, track_id=t.id,
                           extra={"frame_confidence": float(p.max())})]

    def render(self, canvas: np.ndarray, frame: Frame, predictions: list[Prediction]) -> None:
        import cv2

        if not self.largest:
            x, y, w, h = self.box(frame)
            color = {"digit": (0, 200, 0), "several": (0, 140, 255), "unsure": (0, 200, 255)}.get(
                self.state, (255, 255, 255))
            cv2.rectangle(canvas, (x, y), (x + w, y + h), color, max(1, round(2 * draw.scale_for(canvas))))
            msg = {"several": "several symbols: show one", "": "hold a digit in the box",
                   "unsure": "not sure"}.get(self.state)
            if msg:
                draw.box_label(canvas, (x, y, w, h), msg, color=color)
        for p in predictions:
            draw.box_label(canvas, p.region.box, f"{p.label}  {p.confidence:.2f}", color=(0, 200, 0))
        if self.last_crop is not None and self.state in ("digit", "unsure"):
            draw.inset(canvas, self.last_crop, corner="tr")

    def text(self, predictions: list[Prediction]) -> str:
        return predictions[0].label if predictions else ""
