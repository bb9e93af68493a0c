"""Pipeline fps against decode-only fps on the same clip, in one process; memory over clip length.

Speed: makes (or takes) a clip of a hand-held sheet with 10+ handwritten digits,
runs ``vidrec bench``'s function on it and prints decode-only fps, pipeline fps
and their ratio, p50/p99 frame latency and ms per stage; with ``--out``, also
decode+encode-only fps as the baseline for the annotated-video case.

    .venv/bin/python benchmarks/bench_pipeline.py [--plugin multidigit] [--size 640x480]
        [--frames 300] [--repeat 3] [--clip FILE] [--out /tmp/annotated.mp4] [--json]
    .venv/bin/python benchmarks/bench_pipeline.py --save-clip /tmp/sheet300.mp4   # the clip alone,
        for `vidrec bench /tmp/sheet300.mp4`

Loop overhead: ``--overhead`` runs a recogniser that does nothing, so the ratio
shows what the frame loop itself (Frame, timing, canvas copy with ``--out``) costs.

Memory: the pipeline on a 1-minute and a 10-minute clip (the same frames looped),
each in its own process; prints both peak RSS values and their ratio.

    .venv/bin/python benchmarks/bench_pipeline.py --memory [--plugin multidigit]

First frames: what a user waits for when a run starts. N fresh processes each load
the recognisers, time the clip's first two frames as a run's first frames ("cold"),
then the same two frames again after ``reset()`` ("warm", the baseline in the same
process); prints the medians and their ratio (1.0: nothing is left to set up on the
frames themselves).

    .venv/bin/python benchmarks/bench_pipeline.py --first-frame 10 [--clip FILE]

The clip comes from the project's recordings generator (vidrec.recordings) when
it is there, else from MNIST test digits on noisy paper.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def _frames_generated(n: int, seed: int = 7) -> list[np.ndarray]:
    """A still-held sheet with 14 digits (the issue's '10+ digits per frame')."""
    try:
        from vidrec import recordings

        rng = np.random.default_rng(seed)
        frames, _ = recordings.clip_sheet_still(rng, recordings.mnist_glyphs(rng, 40),
                                                n_frames=min(n, 90), n_digits=14)
    except (ImportError, AttributeError, TypeError):
        frames = _frames_simple(min(n, 90), seed)
    return [frames[i % len(frames)] if (i // len(frames)) % 2 == 0 else frames[-1 - i % len(frames)]
            for i in range(n)]  # ping-pong so a loop has no jump


def _frames_simple(n: int, seed: int) -> list[np.ndarray]:
    from vidrec.datasets import load_arrays

    rng = np.random.default_rng(seed)
    x, _ = load_arrays("mnist", False)
    digits = [cv2.resize(255 - x[i], (48, 48)) for i in range(14)]
    out = []
    for i in range(n):
        img = np.full((480, 640), 200, np.uint8)
        for k, d in enumerate(digits):
            x0, y0 = 80 + (k % 7) * 70 + int(3 * np.sin(i / 7)), 150 + (k // 7) * 90
            img[y0:y0 + 48, x0:x0 + 48] = np.minimum(img[y0:y0 + 48, x0:x0 + 48], d)
        img = cv2.add(img, rng.normal(0, 3, img.shape).astype(np.int8), dtype=cv2.CV_8U)
        out.append(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    return out


def make_clip(path: Path, frames: int, size: tuple[int, int], fps: float = 15.0) -> Path:
    base = _frames_generated(min(frames, 180))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not w.isOpened():
        from vidrec.errors import VidrecError

        raise VidrecError(f"cannot write {path}")
    for i in range(frames):
        f = base[i % len(base)]
        if (f.shape[1], f.shape[0]) != size:
            f = cv2.resize(f, size, interpolation=cv2.INTER_LINEAR)
        w.write(f)
    w.release()
    return path


def speed(args) -> dict:
    from vidrec.bench import benchmark
    from vidrec.plugins import make_recognizers

    size = tuple(int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(args.clip) if args.clip else make_clip(Path(tmp) / "bench.mp4", args.frames, size)
        if args.overhead:  # the loop's own cost: a recogniser that does nothing
            from vidrec.recognizer import Recognizer

            recs = [("noop", Recognizer())]
        else:
            recs = make_recognizers(args.plugin, {"model": args.model} if args.model else {})
        try:
            return benchmark(str(clip), recs, out=args.out, repeat=args.repeat)
        finally:
            for _, r in recs:
                r.close()


def _child_failed(r: subprocess.CompletedProcess) -> None:
    """Stop with a measuring process's own last line (an ``error:`` line, or a crash's last line)."""
    lines = r.stderr.strip().splitlines() or [f"exit status {r.returncode}"]
    last = lines[-1]
    sys.exit(last if last.startswith("error:") else f"error: a measuring process failed: {last}")


CHILD = """
import json, sys
from vidrec.bench import peak_rss_mb
from vidrec.pipeline import Pipeline, run
from vidrec.plugins import make_recognizers
from vidrec.sources import open_source
if sys.argv[2] == "noop":
    from vidrec.recognizer import Recognizer
    recs = [("noop", Recognizer())]
else:
    recs = make_recognizers(sys.argv[2].split(","), {"model": sys.argv[3]} if sys.argv[3] else {})
with open_source(sys.argv[1]) as src, Pipeline(recs, draw=False) as p:
    s = run(src, p, [])
print(json.dumps({"frames": s.frames, "fps": s.fps,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def memory(args) -> dict:
    fps = 15.0
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 10):
            clip = make_clip(Path(tmp) / f"m{minutes}.mp4", int(minutes * 60 * fps), (640, 480), fps)
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", CHILD, str(clip),
                                "noop" if args.overhead else ",".join(args.plugin), args.model or ""],
                               capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            if r.returncode:
                _child_failed(r)
            result[f"{minutes}min"] = {**json.loads(r.stdout.strip().splitlines()[-1]),
                                       "wall_s": round(time.perf_counter() - t0, 1)}
    result["ratio_10min_to_1min"] = round(result["10min"]["peak_rss_mb"] / result["1min"]["peak_rss_mb"], 3)
    return result


FIRST = """
import json, sys, time
from vidrec.pipeline import Pipeline
from vidrec.plugins import make_recognizers
from vidrec.sources import open_source
from vidrec.errors import VidrecError
try:
    recs = make_recognizers(sys.argv[2].split(","), {"model": sys.argv[3]} if sys.argv[3] else {})
    with open_source(sys.argv[1], prefetch=False) as src:
        frames = []
        for f in src:
            frames.append(f)
            if len(frames) == 2:
                break
except VidrecError as e:
    sys.exit(f"error: {e}")
if len(frames) < 2:
    sys.exit(f"error: {sys.argv[1]} has {len(frames)} frame; the first two frames are measured")
ms = {}
with Pipeline(recs, draw=False) as p:
    for run in ("cold", "warm"):
        p.reset()
        for f in frames:
            t = time.perf_counter()
            p.process(f)
            ms.setdefault(run, []).append((time.perf_counter() - t) * 1e3)
print(json.dumps(ms))
"""


def first_frames(args) -> dict:
    """Cold (a run's first two frames) against warm (the same frames again), in fresh processes."""
    from statistics import median

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(args.clip) if args.clip else make_clip(Path(tmp) / "first.mp4", 2, (640, 480))
        runs = []
        for _ in range(args.first_frame):
            r = subprocess.run([sys.executable, "-c", FIRST, str(clip), ",".join(args.plugin), args.model or ""],
                               capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            if r.returncode:
                _child_failed(r)
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    out = {"processes": len(runs), "clip": str(args.clip or "generated 14-digit sheet")}
    for k in (0, 1):
        cold, warm = median(r["cold"][k] for r in runs), median(r["warm"][k] for r in runs)
        out[f"frame{k}"] = {"cold_ms": round(cold, 2), "warm_ms": round(warm, 2), "ratio": round(cold / warm, 2),
                            "cold_all_ms": [round(r["cold"][k], 2) for r in runs]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugin", action="append", help="recogniser (repeatable); default multidigit")
    ap.add_argument("--model", help="model name or file for the recognisers (default: theirs)")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs of each (shared machines are noisy)")
    ap.add_argument("--clip", help="measure on this clip instead of a generated one")
    ap.add_argument("--save-clip", help="write the generated clip here and stop (for `vidrec bench FILE`)")
    ap.add_argument("--out", help="also write the annotated video (adds the decode+encode baseline)")
    ap.add_argument("--overhead", action="store_true",
                    help="measure the frame loop alone (a recogniser that does nothing)")
    ap.add_argument("--memory", action="store_true", help="peak memory, 1-minute vs 10-minute clip")
    ap.add_argument("--first-frame", type=int, metavar="N",
                    help="a run's first two frames against the same frames warm, in N fresh processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.plugin = args.plugin or ["multidigit"]
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.save_clip:
        from vidrec.atomic import atomic_path
        from vidrec.errors import VidrecError
        from vidrec.sinks import check_video_suffix

        size = tuple(int(v) for v in args.size.lower().split("x"))
        try:
            check_video_suffix(args.save_clip)
            with atomic_path(args.save_clip) as tmp:  # never a half-written clip (Ctrl-C, full disk)
                make_clip(tmp, args.frames, size)
        except VidrecError as e:
            sys.exit(f"error: {e}")
        print(args.save_clip)
        return
    if args.first_frame is not None and args.first_frame < 1:
        sys.exit("error: --first-frame needs at least 1 process")
    if args.clip and not Path(args.clip).is_file():
        sys.exit(f"error: no such clip: {args.clip}")
    from vidrec.errors import VidrecError

    try:
        res = first_frames(args) if args.first_frame else memory(args) if args.memory else speed(args)
    except VidrecError as e:
        sys.exit(f"error: {e}")
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        sys.exit(130)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    if args.first_frame:
        print(f"{res['clip']}: {res['processes']} fresh processes, medians")
        for k in (0, 1):
            f = res[f"frame{k}"]
            print(f"frame {k}: first in a run {f['cold_ms']:6.2f} ms, again warm {f['warm_ms']:6.2f} ms, "
                  f"ratio {f['ratio']:.2f}")
        return
    if args.memory:
        for k in ("1min", "10min"):
            print(f"{k:>6}: {res[k]['frames']} frames, {res[k]['fps']:.1f} fps, peak RSS {res[k]['peak_rss_mb']:.0f} MB")
        print(f"peak memory 10-minute / 1-minute: {res['ratio_10min_to_1min']:.3f}  (target <= 1.10)")
        return
    print(f"{res['source']}  {res['size'][0]}x{res['size'][1]}  {res['frames']} frames  "
          f"plugins: {', '.join(res['plugins'])}")
    print(f"decode-only       {res['decode_fps']:8.1f} fps")
    print(f"pipeline          {res['pipeline_fps']:8.1f} fps")
    print(f"ratio             {res['ratio']:8.3f}   (target >= 0.4)")
    if "decode_encode_fps" in res:
        print(f"decode+encode     {res['decode_encode_fps']:8.1f} fps")
        print(f"ratio with --out  {res['out_ratio']:8.3f}   (target >= 0.3)")
    print(f"frame latency     p50 {res['frame_ms']['p50']:.2f} ms   p99 {res['frame_ms']['p99']:.2f} ms   "
          "(target p99 <= 5 ms)")
    for k, v in res["stages"].items():
        if "." in k and len(res["plugins"]) == 1:
            continue
        print(f"  {k:<22} mean {v['mean']:7.3f}  p99 {v['p99']:7.3f} ms")


if __name__ == "__main__":
    main()
