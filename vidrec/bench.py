"""How fast the pipeline runs against how fast the input can merely be decoded.

A frame rate alone says little (it depends on the machine and the codec); the
ratio to decode-only speed measured in the same process on the same file says
what the recognisers cost. With an output video, decode+encode-only is the
baseline instead, since encoding is a cost the recognisers do not add.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from vidrec.pipeline import Pipeline, run
from vidrec.sources import open_source


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux's VmHWM belongs to the process image (fresh after exec); ru_maxrss
    is carried over from the parent through fork+exec and would report a big
    parent's peak for a small child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0 if sys.platform != "darwin" else kb / 2**20, 1)


def decode_only(path: str, encode_to: str | Path | None = None) -> dict:
    """Frames per second reading (and converting) every frame; optionally also encoding it."""
    from vidrec.sinks import RawVideoSink

    with open_source(path) as src:
        sink = RawVideoSink(encode_to, src.fps, src.size) if encode_to else None
        n = 0
        t0 = time.perf_counter()
        try:
            for frame in src:
                if sink is not None:
                    sink.write(frame)
                n += 1
        finally:
            if sink is not None:
                sink.close()
        dt = time.perf_counter() - t0
    return {"frames": n, "seconds": round(dt, 4), "fps": round(n / dt, 2) if dt > 0 else 0.0}


def benchmark(path: str, recognizers: list, out: str | Path | None = None, fail_fast: bool = False,
              repeat: int = 1) -> dict:
    """Decode-only fps, pipeline fps and their ratio, in one process, on one file.

    Decode-only runs before and after each pipeline run and the fastest counts,
    so a cold disk cache or a busy neighbour cannot flatter the ratio; with
    ``repeat`` > 1 the pipeline also gets its best of ``repeat`` runs (on a shared
    machine single runs vary by 2x). ``recognizers`` as from
    :func:`vidrec.plugins.make_recognizers`.
    """
    from vidrec.sinks import VideoSink

    decodes = [decode_only(path)]
    best = None
    for _ in range(max(1, repeat)):
        with open_source(path) as src:
            info = {"source": str(path), "size": list(src.size), "fps_file": src.fps}
            pipeline = Pipeline(recognizers, fail_fast=fail_fast, draw=out is not None)
            if out is not None:
                with VideoSink(out, src.fps, src.size) as sink:
                    summary = run(src, pipeline, [sink])
            else:
                summary = run(src, pipeline, [])
        if best is None or summary.fps > best.fps:
            best = summary
        decodes.append(decode_only(path))
    summary = best
    decode = max(decodes, key=lambda d: d["fps"])
    result = {
        **info,
        "plugins": [n for n, _ in recognizers],
        "frames": summary.frames,
        "repeat": max(1, repeat),
        "decode_fps": decode["fps"],
        "pipeline_fps": summary.fps,
        "ratio": round(summary.fps / decode["fps"], 4) if decode["fps"] else None,
        "frame_ms": summary.frame_ms,
        "stages": summary.stages,
        "failures": summary.failures,
    }
    if out is not None:
        with tempfile.TemporaryDirectory() as tmp:
            enc = [decode_only(path, Path(tmp) / f"baseline{Path(out).suffix}") for _ in range(max(2, repeat + 1))]
        best_enc = max(enc, key=lambda d: d["fps"])
        result["out"] = str(out)
        result["decode_encode_fps"] = best_enc["fps"]
        result["out_ratio"] = round(summary.fps / best_enc["fps"], 4) if best_enc["fps"] else None
    result["peak_rss_mb"] = peak_rss_mb()
    return result
