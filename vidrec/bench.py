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


def _peak_rss_mb() -> float:
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


def benchmark(path: str, recognizers: list, out: str | Path | None = None, fail_fast: bool = False) -> dict:
    """Decode-only fps, pipeline fps and their ratio, in one process, on one file.

    Decode-only runs before and after the pipeline and the faster of the two
    counts, so a cold disk cache or a busy neighbour cannot flatter the ratio.
    ``recognizers`` as from :func:`vidrec.plugins.make_recognizers`.
    """
    from vidrec.sinks import VideoSink

    first = decode_only(path)
    with open_source(path) as src:
        info = {"source": str(path), "size": list(src.size), "fps_file": src.fps}
        pipeline = Pipeline(recognizers, fail_fast=fail_fast, draw=out is not None)
        if out is not None:
            with VideoSink(out, src.fps, src.size) as sink:
                summary = run(src, pipeline, [sink])
        else:
            summary = run(src, pipeline, [])
    second = decode_only(path)
    decode = max(first, second, key=lambda d: d["fps"])
    result = {
        **info,
        "plugins": [n for n, _ in recognizers],
        "frames": summary.frames,
        "decode_fps": decode["fps"],
        "pipeline_fps": summary.fps,
        "ratio": round(summary.fps / decode["fps"], 3) if decode["fps"] else None,
        "frame_ms": summary.frame_ms,
        "stages": summary.stages,
        "failures": summary.failures,
    }
    if out is not None:
        with tempfile.TemporaryDirectory() as tmp:
            enc = [decode_only(path, Path(tmp) / f"baseline{Path(out).suffix}") for _ in range(2)]
        best = max(enc, key=lambda d: d["fps"])
        result["out"] = str(out)
        result["decode_encode_fps"] = best["fps"]
        result["out_ratio"] = round(summary.fps / best["fps"], 3) if best["fps"] else None
    result["peak_rss_mb"] = _peak_rss_mb()
    return result
