"""Score a recogniser against labelled clips (``vidrec eval recordings``).

Every clip in ``recordings/`` carries a sidecar with the digits visible in each
frame, their boxes and the text the frame reads (see :mod:`vidrec.recordings`).
The clip is played through the real frame pipeline (the same code ``vidrec run``
uses) and each frame's predictions are matched to the truth by box:

- precision / recall: a prediction is right when it overlaps a true digit
  (IoU >= ``iou`` or each box holds the other's centre) *and* names it
  correctly; a wrong label counts against both;
- exact text: the share of frames whose ``text`` equals the expected text;
- flicker: on clips held still, label changes per second per visible digit
  (a digit that blinks out and back in counts too), what a reader sees as
  jitter; counted from a digit's first report on, since a late first report
  is slowness that recall already counts;
- false digits per empty frame: predictions on frames where no digit is
  visible (blank paper, clutter, a face, clothing, printed text);
- fps: frames per second of the pipeline itself (decoding excluded).

Frames the sidecar marks ``blurred`` (motion smear past legibility) are played
(the trackers see them) but not scored.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from vidrec.errors import VidrecError


def label_changes(seq: list) -> int:
    """Changes in one digit's per-frame label (None: not reported), from its first report on.

    A digit first reported a few frames after it appears has been slow, not
    flickering (recall counts those frames); after that every change counts,
    dropping out and coming back included.
    """
    first = next((i for i, v in enumerate(seq) if v is not None), len(seq))
    return sum(1 for a, b in zip(seq[first:], seq[first + 1:]) if a != b)


@dataclass
class Counts:
    frames: int = 0  # frames scored (not smeared past reading by motion)
    all_frames: int = 0
    truth: int = 0  # true digits over all frames
    predicted: int = 0
    correct: int = 0
    text_ok: int = 0
    still_changes: int = 0
    still_digit_seconds: float = 0.0
    empty_frames: int = 0
    empty_predictions: int = 0
    seconds: float = 0.0  # pipeline time
    frame_ms: list[float] = field(default_factory=list)

    def add(self, o: "Counts") -> None:
        for k, v in asdict(o).items():
            if k == "frame_ms":
                self.frame_ms.extend(o.frame_ms)
            else:
                setattr(self, k, getattr(self, k) + v)

    def scores(self) -> dict:
        ms = np.asarray(self.frame_ms) if self.frame_ms else np.zeros(1)
        return {
            "frames": self.frames,
            "unscored_blurred": self.all_frames - self.frames,
            "digits": self.truth,
            "predicted": self.predicted,
            "precision": self.correct / self.predicted if self.predicted else (1.0 if self.truth == 0 else 0.0),
            "recall": self.correct / self.truth if self.truth else 1.0,
            "exact_text": self.text_ok / self.frames if self.frames else 0.0,
            "flicker_per_s": (self.still_changes / self.still_digit_seconds
                              if self.still_digit_seconds else None),
            "empty_frames": self.empty_frames,
            "false_per_empty_frame": (self.empty_predictions / self.empty_frames if self.empty_frames else None),
            "fps": self.all_frames / self.seconds if self.seconds else 0.0,
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
        }


def match_boxes(truth: list[dict], preds: list[tuple[tuple, str]], iou_min: float) -> list[tuple[int, int]]:
    """Greedy one-to-one box matching: (truth index, prediction index)."""
    if not truth or not preds:
        return []
    from vidrec.tracking import iou_matrix

    t = np.array([d["box"] for d in truth], np.float64)
    p = np.array([b for b, _ in preds], np.float64)
    iou = iou_matrix(t, p)
    tc = t[:, :2] + t[:, 2:] / 2
    pc = p[:, :2] + p[:, 2:] / 2
    p_in_t = ((pc[None, :, 0] >= t[:, None, 0]) & (pc[None, :, 0] <= t[:, None, 0] + t[:, None, 2])
              & (pc[None, :, 1] >= t[:, None, 1]) & (pc[None, :, 1] <= t[:, None, 1] + t[:, None, 3]))
    t_in_p = ((tc[:, None, 0] >= p[None, :, 0]) & (tc[:, None, 0] <= p[None, :, 0] + p[None, :, 2])
              & (tc[:, None, 1] >= p[None, :, 1]) & (tc[:, None, 1] <= p[None, :, 1] + p[None, :, 3]))
    ok = (iou >= iou_min) | (p_in_t & t_in_p)
    score = np.where(ok, iou + 0.01, 0.0)
    out, used_t, used_p = [], set(), set()
    for k in np.argsort(-score, axis=None):
        i, j = divmod(int(k), score.shape[1])
        if score[i, j] <= 0:
            break
        if i in used_t or j in used_p:
            continue
        out.append((i, j))
        used_t.add(i)
        used_p.add(j)
    return out


@dataclass
class ClipResult:
    clip: str
    counts: Counts
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"clip": self.clip, **self.counts.scores(), "notes": self.notes}


def evaluate_clip(video: str | os.PathLike, recognizers: list, iou: float = 0.3,
                  record: Callable[[int, dict, list], None] | None = None) -> ClipResult:
    """Play ``video`` through a pipeline of ``recognizers`` and score it against its sidecar."""
    from vidrec.pipeline import Pipeline, run
    from vidrec.recordings import load_truth
    from vidrec.sources import open_source

    meta = load_truth(video)
    truth = {t["frame"]: t for t in meta["truth"]}
    fps = float(meta.get("fps") or 15.0)
    c = Counts()
    per_digit: dict[int, list] = {}

    def on_frame(frame, result, canvas):
        t = truth.get(frame.index, {"digits": [], "text": ""})
        preds = [(tuple(p.region.box), p.label) for p in result.predictions]
        c.frame_ms.append(result.ms.get("frame", 0.0))
        c.seconds += result.ms.get("frame", 0.0) / 1e3
        c.all_frames += 1
        if t.get("blurred"):
            return  # smeared past reading: not scored
        c.frames += 1
        c.truth += len(t["digits"])
        c.predicted += len(preds)
        c.text_ok += int(result.text == t["text"])
        if not t["digits"]:
            c.empty_frames += 1
            c.empty_predictions += len(preds)
        matched = {}
        for i, j in match_boxes(t["digits"], preds, iou):
            if preds[j][1] == t["digits"][i]["label"]:
                c.correct += 1
            matched[i] = preds[j][1]
        for i, d in enumerate(t["digits"]):
            per_digit.setdefault(d.get("id", i), []).append(matched.get(i))
        if record is not None:
            record(frame.index, t, preds)

    with Pipeline(recognizers, draw=False) as pipe:
        source = open_source(str(video))
        try:
            summary = run(source, pipe, [], on_frame=on_frame)
        finally:
            source.close()
    if summary.frames != meta["frames"]:
        notes = [f"decoded {summary.frames} of {meta['frames']} frames"]
    else:
        notes = []
    if meta.get("still"):
        for seq in per_digit.values():
            c.still_changes += label_changes(seq)
            c.still_digit_seconds += len(seq) / fps
    # what the source said (a truncated file); not the recognisers' "read nothing" hints: the
    # truth says what there was to read
    return ClipResult(Path(video).stem, c, notes + list(getattr(source, "notes", [])))


def find_clips(paths: list[str | os.PathLike]) -> list[Path]:
    """Clips (videos with a sidecar) in the folders or files given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            vids = sorted(v for v in p.iterdir() if v.suffix.lower() in (".mp4", ".avi", ".mkv", ".mov")
                          and v.with_suffix(".json").exists())
            if not vids:
                raise VidrecError(f"{p} holds no clips with a ground-truth sidecar (NAME.mp4 + NAME.json)")
            out.extend(vids)
        elif p.is_file():
            if not p.with_suffix(".json").exists():
                raise VidrecError(f"{p} has no ground-truth sidecar {p.with_suffix('.json').name}")
            out.append(p)
        else:
            raise VidrecError(f"no such file or folder: {p}")
    return out


def evaluate_recordings(paths: list[str | os.PathLike], plugin: str = "multidigit",
                        options: dict | None = None, iou: float = 0.3,
                        progress: Callable[[str], None] | None = None) -> dict:
    """Score ``plugin`` on every clip meant for it; returns per-clip and overall scores.

    A clip's sidecar lists the plugins it is meant for (a sheet of twenty digits
    is no test of the single-digit box); the others are skipped and listed.
    """
    from vidrec.plugins import make_recognizers
    from vidrec.recordings import load_truth

    clips = find_clips(paths)
    rows, skipped = [], []
    total = Counts()
    for v in clips:
        meta = load_truth(v)
        if plugin not in meta.get("plugins", [plugin]):
            skipped.append(v.stem)
            continue
        recs = make_recognizers([plugin], options or {})
        r = evaluate_clip(v, recs, iou=iou)
        rows.append(r)
        total.add(r.counts)
        if progress:
            progress(v.stem)
    if not rows:
        raise VidrecError(f"no clip in {', '.join(map(str, paths))} is meant for plugin {plugin!r}")
    return {"plugin": plugin, "options": options or {}, "clips": [r.as_json() for r in rows],
            "overall": total.scores(), "skipped": skipped}
