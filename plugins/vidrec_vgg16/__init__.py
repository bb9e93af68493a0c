"""The ``vgg16`` plugin: what one early VGG16 filter sees, as a heat map over the video.

It recognises nothing; it shows. The chosen filter's activation (after ReLU)
is coloured with ``cv2.applyColorMap`` and blended with the frame, and the
frame says which layer, which filter and which weights (ImageNet, a file, or
RANDOM INIT: an untrained filter's map looks just as convincing, so it is never
left unsaid).

Why it is fast enough for live video: only the layers before the chosen one
run, and of the chosen layer only the one filter shown (a 1-output
convolution), on a reduced copy of the frame; the map is brought back to frame
size once, as one channel, before colouring. ``conv1_1`` costs one 3x3x3
convolution on a 224-pixel-wide image.

Keys (in the window): ``f`` / ``F`` next / previous filter, ``l`` / ``L`` next /
previous layer (conv1_1 ... conv3_3).

Options (``--option vgg16.KEY=VALUE``): ``layer`` (default conv1_1), ``filter``
(default 0), ``weights`` (a VGG16 state-dict file), ``random_init`` (1 to run on
untrained weights), ``width`` (processing width in pixels; default 224 for
conv1_1 and 128 for deeper layers), ``alpha`` (heat-map opacity, default 0.5),
``threads`` (torch threads for the deeper layers, default 1).
"""

from __future__ import annotations

from vidrec.hookspecs import hookimpl
from vidrec.recognizer import Recognizer, option_number

__version__ = "0.1.0"

KEYS_FILTER = {ord("f"): 1, ord("F"): -1}
KEYS_LAYER = {ord("l"): 1, ord("L"): -1}


def _truthy(v) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    from vidrec.errors import VidrecError

    raise VidrecError(f"vgg16: random_init={v!r}: expected 1/0, true/false or yes/no")


class VGG16Overlay(Recognizer):
    name = "vgg16"

    def __init__(self, layer: str = "conv1_1", filter=0, weights=None, random_init=False,
                 width=None, alpha=0.5, threads=1, model=None, min_confidence=None):
        # model / min_confidence are the CLI's digit-model options, sent to every
        # recogniser; there is no digit model here, so they are accepted and unused.
        import torch

        from vidrec import vgg

        self._torch = torch
        self.layers = list(vgg.CONV_LAYERS)
        self.layer = vgg.check_layer(str(layer))
        self.width_opt = None if width is None else option_number("width", width, 16, 4096, kind=int)
        self.alpha = option_number("alpha", alpha, 0.0, 1.0, kind=float)
        self.threads = option_number("threads", threads, 1, 256, kind=int)
        # Every early layer is loaded once, so that l/L never waits on a disk read.
        self.feats = vgg.load_features(self.layers[-1], weights=weights, random_init=_truthy(random_init),
                                       how=vgg.HOW_PLUGIN)
        n = self._n_filters()
        self.filter = option_number("filter", filter, 0, n - 1, kind=int)
        self.weights_label = {"imagenet": "ImageNet", "file": self.feats.label,
                              "random": "RANDOM INIT (untrained)"}[self.feats.kind]
        self._scale = None  # running activation scale, so the colours do not flicker
        self._map = None

    # ------------------------------------------------------------ state

    def _n_filters(self) -> int:
        return self.feats.conv(self.layer).out_channels

    def width(self) -> int:
        if self.width_opt is not None:
            return self.width_opt
        return 224 if self.layer == "conv1_1" else 128

    def on_key(self, key: int) -> bool:
        if key in KEYS_FILTER:
            self.filter = (self.filter + KEYS_FILTER[key]) % self._n_filters()
        elif key in KEYS_LAYER:
            i = (self.layers.index(self.layer) + KEYS_LAYER[key]) % len(self.layers)
            self.layer = self.layers[i]
            self.filter = min(self.filter, self._n_filters() - 1)
        else:
            return False
        self._scale = None
        return True

    def reset(self) -> None:
        self._scale = None
        self._map = None

    # ------------------------------------------------------------ stages

    def activation(self, image):
        """The chosen filter's ReLU map on a reduced copy of ``image`` (float32, reduced size)."""
        import cv2

        # Shrink by a whole factor: OpenCV's area resize has a fast path for
        # integer ratios (0.3-1.7 ms at 640x480, against 5 ms for 640 -> 224).
        k = max(1, round(image.shape[1] / self.width()))
        small = image if k == 1 else cv2.resize(image, None, fx=1.0 / k, fy=1.0 / k, interpolation=cv2.INTER_AREA)
        if self.layer == "conv1_1":
            return self._conv1_1(small)
        return self._torch_activation(small)

    def _conv1_1(self, small):
        """conv1_1's one filter with OpenCV: three 3x3 correlations on the uint8 channels.

        ImageNet normalisation and the filter are both linear, so they fold into
        one kernel per channel and a constant; the frame is padded with the
        ImageNet mean colour, which is what zero padding of the normalised input
        means. Same numbers as the torch path (a test checks), without torch's
        thread start-up, which on a busy machine costs more than the arithmetic.
        """
        import cv2
        import numpy as np

        from vidrec import vgg

        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        elif small.shape[2] == 4:
            small = cv2.cvtColor(small, cv2.COLOR_BGRA2BGR)
        k, const = self._folded(self.filter)
        mean_bgr = [255.0 * m for m in reversed(vgg.IMAGENET_MEAN)]
        padded = cv2.copyMakeBorder(small, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=mean_bgr).astype(np.float32)
        out = None
        for c in range(3):  # B, G, R planes of the frame
            r = cv2.filter2D(padded[:, :, c], cv2.CV_32F, k[c], borderType=cv2.BORDER_CONSTANT)
            out = r if out is None else cv2.add(out, r)
        out = out[1:-1, 1:-1]
        out += const
        return np.maximum(out, 0.0, out=out)

    def _folded(self, f: int):
        cache = self.__dict__.setdefault("_fold_cache", {})
        if f not in cache:
            import numpy as np

            from vidrec import vgg

            conv = self.feats.model[0]
            w = conv.weight[f].detach().numpy().astype(np.float64)  # [3 RGB, 3, 3]
            mean, std = np.array(vgg.IMAGENET_MEAN), np.array(vgg.IMAGENET_STD)
            k = [(w[2 - c] / (255.0 * std[2 - c])).astype(np.float32) for c in range(3)]  # BGR order
            const = float(conv.bias[f]) - float(sum(w[c].sum() * mean[c] / std[c] for c in range(3)))
            cache[f] = (k, const)
        return cache[f]

    def _torch_activation(self, small):
        import torch.nn.functional as F

        from vidrec import vgg

        torch = self._torch
        x = vgg.to_input(small)
        idx = vgg.LAYER_INDEX[self.layer][0]
        conv = self.feats.model[idx]
        f = self.filter
        # torch's own thread count only while these small convolutions run: on
        # a machine whose cores are busy with decoding, encoding and other
        # recognisers, intra-op threads mostly wait for each other (measured
        # here: 7 ms with one thread against 59 ms with two for one conv1_2
        # filter), and the setting is restored for everyone else.
        from vidrec.threads import torch_threads

        with torch_threads(self.threads), torch.inference_mode():
            if idx:
                x = self.feats.model[:idx](x)
            a = F.relu(F.conv2d(x, conv.weight[f : f + 1], conv.bias[f : f + 1], padding=1))
        return a[0, 0].numpy()

    def preprocess(self, frame):
        import numpy as np

        a = self.activation(frame.image)
        peak = float(a.max())
        # Fast attack, slow release: a bright scene is not clipped for long, a
        # dark one is not blown up into noise at once.
        self._scale = peak if self._scale is None else max(peak, 0.95 * self._scale + 0.05 * peak)
        s = self._scale if self._scale > 1e-6 else 1.0
        self._map = np.clip(a * (255.0 / s), 0, 255).astype(np.uint8)
        return self._map

    def render(self, canvas, frame, predictions) -> None:
        import cv2

        m = self._map
        if m is None:
            return
        h, w = canvas.shape[:2]
        heat = cv2.applyColorMap(cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLORMAP_JET)
        cv2.addWeighted(canvas, 1.0 - self.alpha, heat, self.alpha, 0.0, dst=canvas)
        # A dark strip at the bottom keeps the caption readable on any scene
        # (and through video compression); RANDOM INIT gets a red badge.
        font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.5
        strip = canvas[h - 44 : h]
        strip //= 3
        text = f"VGG16 {self.layer}  filter {self.filter}/{self._n_filters() - 1}   keys: f/F filter, l/L layer"
        cv2.putText(canvas, text, (8, h - 27), font, fs, (255, 255, 255), 1, cv2.LINE_AA)
        label = f"weights: {self.weights_label}"
        if self.feats.kind == "random":
            (tw, th), _ = cv2.getTextSize(label, font, fs, 1)
            cv2.rectangle(canvas, (4, h - 22), (12 + tw, h - 4), (0, 0, 200), -1)
        cv2.putText(canvas, label, (8, h - 9), font, fs, (255, 255, 255), 1, cv2.LINE_AA)

    def text(self, predictions) -> str:
        return ""


def _factory(**options):
    return VGG16Overlay(**options)


@hookimpl
def register_recognizers(register):
    register("vgg16", _factory,
             description="Heat map of one early VGG16 filter's activation over the video (keys f/F filter, l/L layer); "
                         "options layer=, filter=, weights=, random_init=1")
