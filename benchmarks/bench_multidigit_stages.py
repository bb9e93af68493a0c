"""Where a multidigit frame's time goes, stage by stage, on a committed recording.

Run: .venv/bin/python benchmarks/bench_multidigit_stages.py [recordings/sheet_still.mp4]
     .venv/bin/python benchmarks/bench_multidigit_stages.py --cap [OPTIONS ...]
         (the look caps, all clips; each OPTIONS is a variant such as max_new_looks=8,max_looks=4)

Prints milliseconds per frame (median and p99 over the clip, measured in this
process, interleaved frame by frame so machine load hits every stage alike) for:
binarise+components+shape tests (the recogniser's segment, which makes no crops),
its classify (crops and one forward pass only for regions whose track's last look
does not stand, then tracking + reading), and the whole frame; and, for
comparison, cropping every region afresh (vidrec.crop.normalize_crop) and the
forward pass over all of them with one torch thread and with torch's default.
Ratios are against the whole frame, so the numbers mean something on a busy
machine too.

``--cap``: the recogniser's whole frame (segment + classify + text) with its
defaults against the same without the per-frame cap on re-looks (``max_looks=0``)
and with a tighter one, three recognisers fed the same frames in turn, over every
committed multidigit clip; p99 and max are what the cap is for.
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
import torch

from vidrec.crop import to_model_input
from vidrec.plugins import make_recognizers
from vidrec.types import Frame


def main(path: str = "recordings/sheet_still.mp4") -> None:
    ((_, rec),) = make_recognizers(["multidigit"], {})
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, im = cap.read()
        if not ok:
            break
        frames.append(Frame(len(frames), len(frames) / 15, im, cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)))
    default_threads = torch.get_num_threads()
    keys = ("segment_no_crops", "crops_all_regions", "forward_1_thread", f"forward_{default_threads}_threads",
            "classify_with_reuse", "whole_frame")
    t = {k: [] for k in keys}
    n_regions = []
    clock = time.perf_counter
    for rep in range(3):
        rec.reset()
        for f in frames:
            a = clock()
            regions = rec.segment(f, None)
            b = clock()
            # what the recogniser actually does: a look reused from the track where it still
            # stands, crops and one forward pass for the rest; then tracking and reading
            preds = rec.classify(f, regions, None)
            rec.text(preds)
            c = clock()
            # for comparison: every region cropped and named afresh (no reuse)
            regions = rec.segmenter.segment(f)
            c0 = clock()
            for r in regions:
                r.crop = rec.segmenter.crop_of(r)
            c1 = clock()
            x = to_model_input(np.stack([r.crop for r in regions]), rec.info) if regions else None
            with torch.inference_mode():
                torch.set_num_threads(1)
                d0 = clock()
                if x is not None:
                    rec.model(x)
                d1 = clock()
                torch.set_num_threads(default_threads)
                if x is not None:
                    rec.model(x)
                d2 = clock()
            t["segment_no_crops"].append(b - a)
            t["classify_with_reuse"].append(c - b)
            t["whole_frame"].append(c - a)
            t["crops_all_regions"].append(c1 - c0)
            t["forward_1_thread"].append(d1 - d0)
            t[f"forward_{default_threads}_threads"].append(d2 - d1)
            n_regions.append(len(regions))
    whole = np.median(t["whole_frame"])
    print(f"{path}: {len(frames)} frames x 3, {np.mean(n_regions):.1f} regions per frame")
    for k, v in t.items():
        v = np.asarray(v) * 1e3
        print(f"  {k:24s} median {np.median(v):7.2f} ms   p99 {np.percentile(v, 99):7.2f} ms   "
              f"share of frame {np.median(v) / (whole * 1e3):5.2f}")
    per_crop = np.median(t["crops_all_regions"]) / max(1, np.mean(n_regions))
    print(f"  one crop (Segmenter.crop -> vidrec.crop.normalize_crop) ~ {per_crop * 1e3:.2f} ms")


def cap(variants=("", "max_looks=0", "max_looks=3")) -> None:
    from pathlib import Path

    from vidrec.recordings import load_truth

    clips = [p for p in sorted(Path("recordings").glob("*.mp4"))
             if "multidigit" in load_truth(p).get("plugins", ["multidigit"])]
    recs = []
    for spec in variants:
        opts = dict(kv.split("=") for kv in spec.split(",") if kv)
        ((_, rec),) = make_recognizers(["multidigit"], opts)
        recs.append(rec)
    t = [[] for _ in recs]
    clock = time.perf_counter
    with torch.inference_mode():
        for rep in range(3):
            for clip in clips:
                cap = cv2.VideoCapture(str(clip))
                for rec in recs:
                    rec.reset()
                k = 0
                while True:
                    ok, im = cap.read()
                    if not ok:
                        break
                    f = Frame(k, k / 15, im, cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
                    k += 1
                    # interleaved, in turn order rotated every frame: load and cold caches
                    # (the decoder ran just before) hit every variant alike
                    for j in range(len(recs)):
                        i = (j + k) % len(recs)
                        rec = recs[i]
                        a = clock()
                        rec.text(rec.classify(f, rec.segment(f, None), None))
                        t[i].append(clock() - a)
    print(f"{', '.join(c.name for c in clips)}: {len(t[0])} frames (x3), whole frame per variant")
    base = np.asarray(t[0]) * 1e3
    for spec, v in zip(variants, t):
        v = np.asarray(v) * 1e3
        print(f"  {spec or 'defaults':16s} p50 {np.median(v):6.2f}  p99 {np.percentile(v, 99):6.2f}  "
              f"max {v.max():6.2f} ms   p99 / defaults' p99 {np.percentile(v, 99) / np.percentile(base, 99):5.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cap"]:
        cap(("", *sys.argv[2:]) if sys.argv[2:] else ("", "max_looks=0", "max_looks=3"))
    else:
        main(*sys.argv[1:])
