"""Where results go: an annotated video, a JSON Lines file, raw recordings, a window.

Every file sink writes to a temporary file beside its target and renames it at
close, whatever ended the run (end of input, q, Ctrl-C, an exception): an MP4
whose writer was never released has no index and does not play, so the target
only ever holds a finished file. Every sink checks its target can be written
when it is created, so a bad ``--out`` fails before any frame is processed.

Sinks are context managers with ``write(frame, result, canvas)``; ``canvas`` is
the annotated copy of the frame, or None when the pipeline does not draw.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

from vidrec.atomic import temporary_beside, usual_permissions
from vidrec.errors import VidrecError
from vidrec.pipeline import StopRun
from vidrec.sources import IMAGE_SUFFIXES  # noqa: F401 - also quiets FFmpeg's log (see sources)
from vidrec.types import Frame, FrameResult

# FourCCs this OpenCV build writes and reads back, by container (checked on the
# pip opencv-python 5.0 wheel: H.264 encoders are absent, mp4v/MJPG/VP90 work).
FOURCCS = {
    ".mp4": ("mp4v", "avc1"),
    ".m4v": ("mp4v",),
    ".mov": ("mp4v",),
    ".avi": ("MJPG", "XVID", "mp4v"),
    ".mkv": ("mp4v", "MJPG", "VP90"),
    ".webm": ("VP90",),
}


def _say(msg: str) -> None:
    from vidrec.cli.ui import say

    say(msg)


def prepare_target(path: str | os.PathLike) -> Path:
    """Check a target file can be created; returns a fresh temporary path beside it."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise VidrecError(f"cannot write {target}: it is a folder; give a file name")
    tmp = temporary_beside(target, target.suffix)
    usual_permissions(tmp)  # the writers keep the file's mode: not 0600 for a video a user shares
    return tmp


def check_video_suffix(path: str | os.PathLike) -> None:
    """An extension this OpenCV build can write, or a VidrecError naming the ones it can."""
    if Path(path).suffix.lower() not in FOURCCS:
        raise VidrecError(f"cannot write video {path}: use one of "
                          f"{', '.join(sorted(FOURCCS))} as the file extension")


class Sink:
    def write(self, frame: Frame, result: FrameResult, canvas: np.ndarray | None) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


ENCODE_QUEUE = 8  # frames waiting to be encoded, at most


class VideoSink(Sink):
    """An MP4/AVI/MKV of the annotated canvas (or, with ``raw``, of the frames as captured).

    Same size and frame rate as the input; a frame of another size (an image
    sequence of mixed sizes) is resized to fit.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None, size: tuple[int, int], raw: bool = False,
                 background: bool = True):
        import cv2

        self.path = Path(path).expanduser()
        suffix = self.path.suffix.lower()
        check_video_suffix(self.path)
        self.fps = float(fps) if fps else 30.0
        self.size = (int(size[0]), int(size[1]))
        self.raw = raw
        self.frames = 0
        self._tmp = prepare_target(self.path)
        self._writer = None
        for code in FOURCCS[suffix]:
            writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*code), self.fps, self.size)
            if writer.isOpened():
                self._writer, self.fourcc = writer, code
                break
            writer.release()
        if self._writer is None:
            self._tmp.unlink(missing_ok=True)
            raise VidrecError(f"cannot write video {self.path}: this OpenCV build has no encoder for "
                              f"{suffix} (tried {', '.join(FOURCCS[suffix])}); try .mp4 or .avi")
        # Encoding runs on its own thread (OpenCV releases the GIL while it encodes), so
        # the next frame is recognised while this one is compressed. The queue is short:
        # memory stays bounded, and a slow disk slows the run instead of growing a backlog.
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=ENCODE_QUEUE)
            self._thread = threading.Thread(target=self._encode, name=f"vidrec-encode-{self.path.name}", daemon=True)
            self._thread.start()

    def _encode(self) -> None:
        while True:
            img = self._queue.get()
            if img is None:
                return
            if self._error is None:
                try:
                    self._writer.write(img)
                except BaseException as e:  # reported by the next write() or close()
                    self._error = e

    def _check(self) -> None:
        if self._error is not None:
            raise VidrecError(f"cannot write video {self.path}: {self._error}")

    def write(self, frame: Frame, result: FrameResult | None = None, canvas: np.ndarray | None = None) -> None:
        self._check()
        img = frame.image if (self.raw or canvas is None) else canvas
        if (img.shape[1], img.shape[0]) != self.size:
            import cv2

            img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
        if self._queue is not None:
            self._queue.put(img)  # frames and canvases are never changed after they are written
        else:
            self._writer.write(img)
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it into place; with no frame written, leave nothing."""
        if self._writer is None:
            return
        if self._thread is not None:
            self._queue.put(None)  # every frame queued before this is encoded first
            self._thread.join()
            self._thread = None
        self._writer.release()
        self._writer = None
        if self._error is not None:
            self._tmp.unlink(missing_ok=True)
            self._check()
        if self.frames:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def RawVideoSink(path: str | os.PathLike, fps: float | None, size: tuple[int, int]) -> VideoSink:
    """The frames as captured, no annotations (``--record``, the window's r key)."""
    return VideoSink(path, fps, size, raw=True)


class JsonlSink(Sink):
    """One FrameResult.as_json() per line, flushed as it goes, renamed into place at close."""

    def __init__(self, path: str | os.PathLike, extra: dict | None = None):
        self.path = Path(path).expanduser()
        self._tmp = prepare_target(self.path)
        self._f = open(self._tmp, "w", encoding="utf-8")
        self.extra = extra or {}
        self.lines = 0

    def write(self, frame: Frame, result: FrameResult, canvas: np.ndarray | None = None) -> None:
        row = result.as_json()
        if self.extra:
            row.update(self.extra)
        self._f.write(json.dumps(row, separators=(", ", ": ")) + "\n")
        self._f.flush()
        self.lines += 1

    def close(self) -> None:
        if self._f is None:
            return
        self._f.close()
        self._f = None
        os.replace(self._tmp, self.path)


# ---------------------------------------------------------------- window


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    import cv2

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "neither DISPLAY nor WAYLAND_DISPLAY is set"
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:") and line.split(":", 1)[1].strip().upper() in ("NONE", "NO", ""):
            return "this OpenCV build has no GUI backend (opencv-python-headless?)"
    return None


class WindowSink(Sink):
    """Shows the annotated frames with FPS and per-stage milliseconds.

    Keys: q or Esc quit, space pause, s snapshot PNG (into ``snapshots/``),
    r start/stop recording the raw frames (into ``recordings/``); any other key
    is offered to the recognisers. Without a display it prints one notice and
    does nothing, so the same command runs on a headless machine.
    """

    def __init__(self, title: str = "vidrec", pipeline=None, source=None,
                 recordings_dir: str | os.PathLike = "recordings", snapshots_dir: str | os.PathLike = "snapshots"):
        self.title, self.pipeline, self.source = title, pipeline, source
        self.recordings_dir, self.snapshots_dir = Path(recordings_dir), Path(snapshots_dir)
        self.headless = False
        self.paused = False
        self._rec: VideoSink | None = None
        self._last = None
        self._fps = None
        problem = display_problem()
        if problem is None:
            import cv2

            try:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
            except cv2.error as e:
                problem = f"OpenCV could not open a window ({str(e).strip().splitlines()[-1]})"
        if problem:
            self.headless = True
            _say(f"no display: {problem}; running headless")

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            inst = 1.0 / max(1e-6, now - self._last)
            self._fps = inst if self._fps is None else 0.9 * self._fps + 0.1 * inst
        self._last = now

    def write(self, frame: Frame, result: FrameResult, canvas: np.ndarray | None = None) -> None:
        if self._rec is not None:
            self._rec.write(frame)
        if self.headless:
            return
        import cv2

        from vidrec.draw import stats_overlay

        self._tick()
        # a copy: the canvas may still be waiting in the video sink's encode queue
        img = canvas.copy() if canvas is not None else frame.image.copy()
        extra = []
        if self._rec is not None:
            extra.append(f"REC {self._rec.path.name}")
        if result.errors:
            extra.append("error: " + "; ".join(f"{e['plugin']}.{e['stage']}" for e in result.errors))
        stats_overlay(img, self._fps, result.ms, int(getattr(self.source, "dropped", 0)), extra)
        cv2.imshow(self.title, img)
        key = cv2.waitKey(1)
        while True:
            if key != -1:
                self._key(key & 0xFF, frame, img)
            if not self.paused:
                break
            key = cv2.waitKey(50)
        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                raise StopRun()
        except cv2.error:
            raise StopRun() from None

    def _key(self, key: int, frame: Frame, img: np.ndarray) -> None:
        import cv2

        if key in (ord("q"), 27):
            raise StopRun()
        if key == ord(" "):
            self.paused = not self.paused
        elif key == ord("s"):
            from vidrec.atomic import atomic_path

            stamp = time.strftime("%Y%m%d-%H%M%S")
            target = self.snapshots_dir / f"snapshot-{stamp}-f{frame.index}.png"
            with atomic_path(target) as tmp:
                cv2.imwrite(str(tmp), img)
            _say(f"snapshot: {target}")
        elif key == ord("r"):
            if self._rec is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                fps = getattr(self.source, "fps", None) or self._fps or 30.0
                size = (frame.image.shape[1], frame.image.shape[0])
                self._rec = RawVideoSink(self.recordings_dir / f"rec-{stamp}.mp4", fps, size)
                _say(f"recording raw frames to {self._rec.path}")
            else:
                self._rec.close()
                _say(f"recorded {self._rec.frames} frames to {self._rec.path}")
                self._rec = None
        elif self.pipeline is not None:
            self.pipeline.on_key(key)

    def close(self) -> None:
        if self._rec is not None:
            self._rec.close()
            self._rec = None
        if not self.headless:
            import cv2

            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
