"""Digit models scored on the crops the video segmenter makes of labelled clips.

Why: ``vidrec eval recordings`` scores the whole recogniser, and a frame read
wrong may be the segmenter's doing (a digit cut in two, two digits taken as
one, a stroke lost) or the network's. Here every truth digit of every
``every``-th frame is matched to the region the segmenter finds for it (the
same box matching as the clip scores), its 28x28 crop is made the way the
recognisers make theirs (:meth:`vidrec.segment.Segmenter.crop`), and models are
scored on those very crops in a second or two each, without tracking, votes or
confidence cuts. Each crop's box is compared with the truth's, so an error is
put down to the network (the box fits) or to the segmentation (the region is
much larger or smaller than the digit). A model change can be tried here in a
minute instead of a quarter of an hour of clip scoring, and one handwritten
digit that fails in every clip it is drawn into shows up as one source (the
sidecar's ``src``), not as a trend.

Not modelled: the multidigit recogniser's ``deskew`` (a sheet turned 10 degrees
or more has its crops turned upright there, not here), its cut of a doubtful mark
into two touching digits (``cut_aspect``: such a pair counts here as one "merged"
crop) and its other options; the segmenter runs with its defaults unless
``options`` says otherwise.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from vidrec.errors import VidrecError

# a region this much larger than its digit holds more than the digit (a neighbour, a stroke
# from the row above); this much smaller, only part of it. Widths are compared in shares of the
# digit's height: a 1 is a few pixels wide, and a box two pixels wider is no merge.
MERGED = 1.3
PART = 0.75
FITS = ("ok", "merged", "part")  # what fit_of says


def fit_of(box: Sequence[float], truth_box: Sequence[float]) -> str:
    """How a region's box fits its digit's: "ok", "merged" (much larger) or "part" (much smaller)."""
    tw, th = max(truth_box[2], 1), max(truth_box[3], 1)
    extra_w, rh = (box[2] - tw) / th, box[3] / th
    if extra_w > MERGED - 1 or rh > MERGED:
        return "merged"
    if rh < PART or (tw > (1 - PART) * th and box[2] < PART * tw):
        return "part"
    return "ok"


@dataclass
class Crops:
    """The crops of the truth digits the segmenter found, and the ones it did not."""

    x: np.ndarray  # float32 [N, 28, 28] in [0, 1]
    label: np.ndarray  # str [N]
    source: np.ndarray  # str [N]: the sidecar's src, or clip#id where it has none
    fit: np.ndarray  # str [N]: fit_of(region box, truth box)
    missed: Counter  # source -> truth digits no region matched

    def __len__(self) -> int:
        return len(self.label)

    @property
    def truth(self) -> int:
        """Truth digits looked at, found or not."""
        return len(self) + sum(self.missed.values())

    def fit_counts(self) -> dict[str, int]:
        return {f: int((self.fit == f).sum()) for f in FITS}


def collect(paths: Sequence[str | os.PathLike], every: int = 3, iou: float = 0.3, options: dict | None = None,
            progress: Callable[[str], None] | None = None) -> Crops:
    """The crops of the truth digits on every ``every``-th frame of the clips under ``paths``."""
    from vidrec.evalvideo import find_clips, match_boxes
    from vidrec.recordings import load_truth
    from vidrec.segment import Segmenter
    from vidrec.sources import open_source

    if every < 1:
        raise VidrecError(f"every must be 1 or more, not {every}")
    xs, labels, sources, fits = [], [], [], []
    missed = Counter()
    for video in find_clips(list(paths)):
        meta = load_truth(video)
        truth = {t["frame"]: t for t in meta["truth"]}
        name = f"{Path(video).parent.name}/{Path(video).stem}"
        seg = Segmenter(make_crops=False, **(options or {}))  # (a bad option: an error before any work)
        src = open_source(str(video), prefetch=False)
        try:
            for frame in src:
                t = truth.get(frame.index)
                if frame.index % every or t is None or t.get("blurred") or not t["digits"]:
                    continue
                regions = seg.segment(frame)
                found = dict(match_boxes(t["digits"], [(r.box, "") for r in regions], iou))
                for i, d in enumerate(t["digits"]):
                    key = d.get("src") or f"{name}#{d.get('id', i)}"
                    j = found.get(i)
                    if j is None:
                        missed[key] += 1
                        continue
                    r = regions[j]
                    xs.append(seg.crop_of(r))
                    labels.append(str(d["label"]))
                    sources.append(key)
                    fits.append(fit_of(r.box, d["box"]))
        finally:
            src.close()
        if progress is not None:
            progress(name)
    x = np.array(xs, np.float32).reshape(-1, 28, 28)
    return Crops(x, np.array(labels, dtype=str), np.array(sources, dtype=str), np.array(fits, dtype=str), missed)


def probabilities(crops: Crops, model: str) -> tuple[np.ndarray, list[str]]:
    """``model``'s class probabilities [N, classes] on the crops, and its classes."""
    import torch

    from vidrec.crop import to_model_input
    from vidrec.modelstore import load
    from vidrec.nets import for_inference

    net, info, _ = load(model)
    classes = [str(c) for c in info.classes]
    if not set(crops.label) <= set(classes):
        raise VidrecError(f"model {model} reads {', '.join(classes)}: not the digits these clips hold")
    net = for_inference(net)
    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), 1024):
            out.append(net(to_model_input(crops.x[i:i + 1024], info)).exp().numpy())
    p = np.concatenate(out) if out else np.zeros((0, len(classes)), np.float32)
    return p, classes


@dataclass
class Scores:
    """One model's reading of the crops."""

    model: str
    pred: np.ndarray  # str [N]: the label read from each crop
    confidence: np.ndarray  # float [N]: its probability
    crops: Crops

    def as_json(self, worst: int = 10) -> dict:
        """Accuracy, errors by box fit, the commonest confusions and the most misread sources."""
        c = self.crops
        wrong = self.pred != c.label
        ok_box = c.fit == "ok"
        per_source = Counter(c.source)
        return {
            "model": self.model,
            "crops": len(c),
            "accuracy": float(1 - wrong.mean()) if len(c) else None,
            "accuracy_box_ok": float(1 - wrong[ok_box].mean()) if ok_box.any() else None,
            "errors": int(wrong.sum()),
            "errors_by_fit": {f: int((wrong & (c.fit == f)).sum()) for f in FITS},
            "confusions": dict(Counter(f"{t}->{q}" for t, q in zip(c.label[wrong], self.pred[wrong])).most_common(worst)),
            "worst_sources": [{"source": s, "wrong": n, "of": per_source[s]}
                              for s, n in Counter(c.source[wrong]).most_common(worst)],
        }


def changed_sources(base: Scores, other: Scores, least: int = 3) -> list[dict]:
    """The sources ``other`` misreads on at least ``least`` crops more or fewer than ``base``, the
    largest change first: a model that gains on one photo and loses on another shows it here,
    however close the two accuracies are."""
    c = base.crops
    was = Counter(c.source[base.pred != c.label])
    now = Counter(c.source[other.pred != c.label])
    per_source = Counter(c.source)
    out = [{"source": k, "wrong": now[k], "was": was[k], "of": per_source[k]}
           for k in set(was) | set(now) if abs(now[k] - was[k]) >= least]
    return sorted(out, key=lambda d: (-abs(d["wrong"] - d["was"]), d["source"]))


def score(crops: Crops, model: str) -> Scores:
    """``model``'s reading of every crop."""
    p, classes = probabilities(crops, model)
    if not len(crops):
        return Scores(str(model), np.array([], dtype=str), np.zeros(0), crops)
    return Scores(str(model), np.array(classes, dtype=str)[p.argmax(1)], p.max(1), crops)


def errors_png(scores: Scores, path: str | os.PathLike, most: int = 48) -> Path | None:
    """The misread crops whose box fits, one per source (its surest mistake), as a PNG grid."""
    from vidrec.plots import image_grid_png

    c, pred, conf = scores.crops, scores.pred, scores.confidence
    wrong = np.flatnonzero((pred != c.label) & (c.fit == "ok"))
    if not len(wrong):
        return None
    best: dict[str, int] = {}
    for k in wrong[np.argsort(-conf[wrong], kind="stable")]:
        best.setdefault(c.source[k], k)
    picked = sorted(best.values(), key=lambda k: -conf[k])[:most]
    titles = [f"{c.label[k]} read {pred[k]} ({conf[k]:.2f})\n{_short(c.source[k])}" for k in picked]
    return image_grid_png([c.x[k] for k in picked], path, titles, ncols=8,
                          title=f"{scores.model}: misread crops whose box fits the digit "
                                f"({len(best)} sources, the surest mistake of each)", cell=1.6)


def _short(source: str, n: int = 28) -> str:
    return source if len(source) <= n else "..." + source[-(n - 3):]
