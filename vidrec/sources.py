"""Where frames come from: a camera, a video file, images, a folder or glob of images.

Two policies, because they answer different questions:

- recorded input (files, images): every frame, in order, none dropped; the run is
  as slow as it has to be and the results are reproducible;
- live input (``--camera N``, or a file with ``realtime=True``): a reader thread
  keeps only the newest frame, because a camera buffers several and a slow
  consumer would otherwise always look at the past. Frames overwritten before
  the loop took them are counted in ``dropped``. ``realtime`` plays a file at its
  own frame rate under this policy so the live path can be tested without a
  camera.

Every source yields :class:`vidrec.types.Frame` with a BGR uint8 3-channel image
(grayscale and 4-channel input converted: transparency over white paper, since a
transparent PNG of a drawn digit has black strokes on nothing) and its grayscale.
"""

from __future__ import annotations

import contextlib
import glob as globlib
import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from vidrec.errors import VidrecError
from vidrec.types import Frame

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm",
                            ".ppm", ".pbm", ".pnm", ".jp2", ".sr", ".ras", ".exr", ".hdr", ".avif"})
IMAGE_FPS = 10.0  # nominal rate of an image sequence (output video timing, timestamps)
CAMERA_FIRST_FRAME_S = 5.0  # an opened camera that sends nothing for this long is an error
CAMERA_RETRY_S = 3.0  # a camera that stops delivering is retried this long, then the run ends


# FFmpeg's own log lines ("moov atom not found", "overread 8") duplicate, in jargon,
# what our errors and notes say; keep only its fatal ones unless the user asks.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")


def _cv2():
    import cv2

    return cv2


@contextlib.contextmanager
def _quiet_opencv():
    """Silence OpenCV's own log lines while probing: our error message says it better."""
    cv2 = _cv2()
    try:
        logging = cv2.utils.logging
        old = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    except AttributeError:  # pragma: no cover - builds without the logging module
        yield
        return
    try:
        yield
    finally:
        logging.setLogLevel(old)


def as_bgr_gray(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Any decoded image as (BGR uint8 HxWx3, gray uint8 HxW)."""
    cv2 = _cv2()
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):  # EXR/HDR: assume 0..1
            img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
        else:
            img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        gray = img.reshape(img.shape[:2])
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) * (1.0 / 255.0)
        bgr = (img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    else:
        bgr = img
    return bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _natural_key(path: Path):
    """frame2.png before frame10.png: the order a person numbered them in."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


class Source:
    """Frames plus what is known about them; single pass; a context manager."""

    live = False

    def __init__(self, name: str):
        self.name = name
        self.fps: float | None = None
        self.size: tuple[int, int] = (0, 0)  # (width, height)
        self.frame_count: int | None = None
        self.dropped = 0
        self.notes: list[str] = []

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, fps={self.fps}, size={self.size}, "
                f"frames={self.frame_count})")


# ---------------------------------------------------------------- recorded


class VideoFileSource(Source):
    """Every frame a video file decodes to, in order."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        cv2 = _cv2()
        with _quiet_opencv():
            cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise VidrecError(f"cannot read {path}: OpenCV cannot open it as a video (a video with no "
                              "frames, a corrupt file, one truncated before its index, or an unsupported codec)")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise VidrecError(f"{path} holds no frames: the video is empty or none of it decodes")
        self._cap, self._first = cap, first
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else None
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = n if n > 0 else None
        self.size = (first.shape[1], first.shape[0])

    def __iter__(self) -> Iterator[Frame]:
        cap, img, self._first = self._cap, self._first, None
        if img is None:
            raise VidrecError(f"{self.name} was already read (a source is single-pass)")
        step = 1.0 / self.fps if self.fps else None
        i = 0
        try:
            while img is not None:
                bgr, gray = as_bgr_gray(img)
                t = i * step if step else cap.get(_cv2().CAP_PROP_POS_MSEC) / 1000.0
                yield Frame(i, t, bgr, gray, self.name)
                i += 1
                ok, img = cap.read()
                if not ok:
                    img = None
        finally:
            self.frames_read = i
            if self.frame_count and i < self.frame_count and img is None:
                self.notes.append(f"{self.name}: decoding stopped at frame {i} of the "
                                  f"{self.frame_count} its header announces (truncated or corrupt file)")

    def close(self) -> None:
        self._cap.release()


class ImageSource(Source):
    """One image, or a sorted list of images, played at a nominal IMAGE_FPS."""

    def __init__(self, name: str, paths: list[Path]):
        super().__init__(name)
        self.paths = paths
        first = self._read(paths[0])
        if first is None:
            raise VidrecError(f"cannot read {paths[0]} as an image (corrupt or unsupported format)")
        self._first = first
        self.fps = IMAGE_FPS
        self.frame_count = len(paths)
        self.size = (first.shape[1], first.shape[0])

    @staticmethod
    def _read(path: Path):
        cv2 = _cv2()
        with _quiet_opencv():
            return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for k, path in enumerate(self.paths):
            img = self._first if k == 0 else self._read(path)
            if img is None:
                self.notes.append(f"skipped {path}: not an image OpenCV can read")
                continue
            bgr, gray = as_bgr_gray(img)
            yield Frame(index, index / IMAGE_FPS, bgr, gray, str(path))
            index += 1
        self._first = None


class PrefetchSource(Source):
    """A recorded source decoded one step ahead by a thread: every frame, in order, none dropped.

    Why: decoding (FFmpeg, colour conversion) releases the GIL, so on two or more
    cores the next frame is decoded while recognisers work on this one, and the
    loop runs at the pace of the slower of the two instead of their sum. The
    queue is short (``depth`` frames), so memory stays bounded at any frame size.
    """

    _END = object()

    class _Failure:
        def __init__(self, error: BaseException):
            self.error = error

    def __init__(self, inner: Source, depth: int = 3):
        super().__init__(inner.name)
        self.inner, self.depth = inner, depth
        self.fps, self.size, self.frame_count = inner.fps, inner.size, inner.frame_count
        self.notes = inner.notes  # the same list: notes the decoder adds show up here

    def __iter__(self) -> Iterator[Frame]:
        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                for frame in self.inner:
                    if not put(frame):
                        return
            except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
                put(PrefetchSource._Failure(e))
            put(self._END)

        thread = threading.Thread(target=work, name=f"vidrec-decode-{self.name}", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is self._END:
                    break
                if isinstance(item, PrefetchSource._Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            thread.join(timeout=10.0)

    def close(self) -> None:
        self.inner.close()


# ---------------------------------------------------------------- live


class _LatestFrameSource(Source):
    """A reader thread publishes frames; the consumer always gets the newest one."""

    live = True

    def __init__(self, name: str):
        super().__init__(name)
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._seq = -1  # sequence number of _latest
        self._done = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def _publish(self, frame: Frame) -> None:
        with self._cond:
            self._latest = frame
            self._seq += 1
            self._cond.notify_all()

    def _finish(self, note: str | None = None) -> None:
        with self._cond:
            if note:
                self.notes.append(note)
            self._done = True
            self._cond.notify_all()

    def _reader(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run_reader(self) -> None:
        try:
            self._reader()
        except Exception as e:  # noqa: BLE001 - the consumer must not wait forever on a dead thread
            self._finish(f"{self.name}: reader stopped: {type(e).__name__}: {e}")
        else:
            self._finish()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_reader, name=f"vidrec-reader-{self.name}",
                                            daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[Frame]:
        self._start()
        last = -1
        try:
            while True:
                with self._cond:
                    while self._seq == last and not self._done:
                        self._cond.wait(0.5)
                    if self._seq == last:  # done, nothing new
                        break
                    seq, frame = self._seq, self._latest
                    self._latest = None  # do not keep frames alive longer than needed
                self.dropped += seq - last - 1
                last = seq
                self.delivered += 1
                yield frame
        finally:
            self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


class RealtimeFileSource(_LatestFrameSource):
    """A recorded source replayed at its own frame rate with the live policy."""

    def __init__(self, inner: Source):
        super().__init__(inner.name)
        self.inner = inner
        self.fps, self.size, self.frame_count = inner.fps, inner.size, inner.frame_count

    def _reader(self) -> None:
        step = 1.0 / (self.fps or IMAGE_FPS)
        t0 = time.perf_counter()
        for frame in self.inner:
            if self._stop.is_set():
                break
            delay = t0 + frame.index * step - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            self._publish(frame)
        self.notes.extend(self.inner.notes)

    def close(self) -> None:
        super().close()
        self.inner.close()


class CameraSource(_LatestFrameSource):
    """A camera by index, read by a thread that keeps only the newest frame."""

    def __init__(self, index: int):
        super().__init__(f"camera {index}")
        cv2 = _cv2()
        self.index = index
        cap = self._open(index)
        if not cap.isOpened():
            cap.release()
            raise VidrecError(self._help("could not be opened"))
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else None
        self._t0 = time.perf_counter()
        self._start()
        with self._cond:
            self._cond.wait_for(lambda: self._seq >= 0 or self._done, timeout=CAMERA_FIRST_FRAME_S)
            first = self._latest
        if first is None:
            self.close()
            raise VidrecError(self._help(f"opened but sent no frame within {CAMERA_FIRST_FRAME_S:g} s"))
        self.size = (first.image.shape[1], first.image.shape[0])

    def _open(self, index: int):
        """The capture device (a separate method so tests can feed a file through the camera path)."""
        with _quiet_opencv():
            return _cv2().VideoCapture(index)

    def _help(self, what: str) -> str:
        return (f"camera {self.index} {what}: check that a camera is connected at that index "
                f"(try --camera 0, 1, ...), that no other program is using it, and that you may "
                f"access it (Linux: /dev/video{self.index} and the 'video' group; macOS: camera "
                f"permission for your terminal)")

    def _reader(self) -> None:
        cap, n, failing_since, reopened = self._cap, 0, None, False
        while not self._stop.is_set():
            ok, img = cap.read()
            if ok and img is not None:
                failing_since, reopened = None, False
                bgr, gray = as_bgr_gray(img)
                self._publish(Frame(n, time.perf_counter() - self._t0, bgr, gray, self.name))
                n += 1
                continue
            now = time.perf_counter()
            if failing_since is None:
                failing_since = now
            elif now - failing_since > CAMERA_RETRY_S:
                self.notes.append(f"camera {self.index} stopped delivering frames after {n}; "
                                  f"ended after {CAMERA_RETRY_S:g} s of retries")
                return
            if now - failing_since > 1.0 and not reopened:  # a USB hiccup: try the device again once
                reopened = True
                cap.release()
                cap = self._cap = self._open(self.index)
            self._stop.wait(0.1)

    def close(self) -> None:
        super().close()
        self._cap.release()


# ---------------------------------------------------------------- opening


def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=_natural_key)


def expand_specs(specs: list[str]) -> list[str]:
    """Command-line inputs as sources: a glob of videos becomes one source per video.

    A folder or a glob of images stays one source (an image sequence).
    """
    out: list[str] = []
    for spec in specs:
        if _has_glob(spec) and not Path(spec).exists():
            matches = sorted((Path(m) for m in globlib.glob(spec)), key=_natural_key)
            files = [m for m in matches if m.is_file()]
            if files and all(m.suffix.lower() not in IMAGE_SUFFIXES for m in files):
                out.extend(str(m) for m in files)
                continue
        out.append(spec)
    return out


def open_source(spec: str | int | Path, realtime: bool = False, prefetch: bool = True) -> Source:
    """Open a camera index, a video file, an image, a folder of images or a glob of images.

    Recorded input is decoded ahead by a thread (``prefetch``, see PrefetchSource)
    unless ``prefetch=False``; ``realtime`` replays it under the live policy.

    Errors (missing path, unreadable file, zero-frame video, absent camera) are
    VidrecErrors raised here, before any output is created.
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit() and not Path(spec).exists()):
        return CameraSource(int(spec))
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        paths = _images_in(path)
        if not paths:
            raise VidrecError(f"folder {path} holds no images (looked for "
                              f"{', '.join(sorted(IMAGE_SUFFIXES))})")
        src: Source = ImageSource(str(path), paths)
    elif path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            src = ImageSource(str(path), [path])
        else:
            src = VideoFileSource(path)
    elif path.exists():
        raise VidrecError(f"{path} is neither a file nor a folder")
    elif _has_glob(text):
        matches = sorted((Path(m) for m in globlib.glob(str(path))), key=_natural_key)
        paths = [m for m in matches if m.is_file() and m.suffix.lower() in IMAGE_SUFFIXES]
        if not paths:
            raise VidrecError(f"no images match {text}")
        src = ImageSource(text, paths)
    else:
        raise VidrecError(f"no such file or folder: {text}")
    if realtime:
        return RealtimeFileSource(src)
    return PrefetchSource(src) if prefetch else src
