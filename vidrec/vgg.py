"""VGG16's early layers: load them (only them), run them on an image, show what they see.

Only the convolutions up to the one asked for are built, with torchvision's
layer indices (``features.N``), so ImageNet weights, a state-dict file and
torchvision's own checkpoint all load into them by name. The full network is
138 M parameters (most in the classifier); ``conv1_1`` and ``conv1_2`` are 39 k,
which is what makes the live overlay cheap.

Where the weights come from is always said, because an analysis of untrained
filters looks plausible and means nothing: :attr:`VGGFeatures.label` is
``ImageNet (torchvision IMAGENET1K_V1)``, ``file NAME`` or ``RANDOM INIT
(untrained)``, and every PNG title, table caption and JSON file carries it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidrec.errors import VidrecError
from vidrec.plots import pyplot, save_figure

# torchvision's configuration "D" (VGG16) up to the third block: channels per
# conv, "M" a 2x2 max-pool. Deeper layers are not "early" and are not built.
_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
CONV_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_LABEL = "RANDOM INIT (untrained)"
IMAGENET_LABEL = "ImageNet (torchvision IMAGENET1K_V1)"


def _index_map() -> dict[str, tuple[int, int, int]]:
    """layer name -> (index in ``features``, in channels, out channels)."""
    out, idx, block, conv, cin = {}, 0, 1, 1, 3
    for v in _CFG:
        if v == "M":
            idx += 1
            block += 1
            conv = 1
            continue
        out[f"conv{block}_{conv}"] = (idx, cin, v)
        idx += 2  # conv, relu
        conv += 1
        cin = v
    return out


LAYER_INDEX = _index_map()


def check_layer(layer: str) -> str:
    if layer not in LAYER_INDEX:
        raise VidrecError(f"unknown VGG16 layer {layer!r}; choose one of: {', '.join(CONV_LAYERS)}")
    return layer


def build_features(upto: str = "conv1_2"):
    """``features[:k]`` of torchvision's VGG16, ending with ``upto``'s ReLU; indices as torchvision's."""
    from torch import nn

    check_layer(upto)
    end = LAYER_INDEX[upto][0] + 2
    layers, cin = [], 3
    for v in _CFG:
        if len(layers) >= end:
            break
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers[:end])


def weights_cache_path() -> Path:
    """Where torchvision keeps the ImageNet VGG16 checkpoint once downloaded."""
    import torch
    from torchvision.models import VGG16_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(VGG16_Weights.IMAGENET1K_V1.url)


# How the user names a weights file and random init: CLI flags or plugin options.
HOW_CLI = ("--weights FILE", "--random-init")
HOW_PLUGIN = ("--option vgg16.weights=FILE", "--option vgg16.random_init=1")


def how_to_get_weights(how: tuple[str, str] = HOW_CLI) -> str:
    return (f"put torchvision's file in {weights_cache_path()} (on a machine with internet, "
            "python -c \"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\" downloads it there), "
            f"or give a VGG16 state-dict file with {how[0]} (.pth or .safetensors), "
            f"or use {how[1]} to look at untrained filters")


def _imagenet_state(how: tuple[str, str] = HOW_CLI) -> dict:
    """ImageNet weights through torchvision's own loader and cache; VidrecError when unavailable."""
    import torch

    path = weights_cache_path()
    if path.exists():
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as e:  # noqa: BLE001 - a damaged cache file is the user's to fix
            raise VidrecError(f"{path} is not a readable VGG16 checkpoint ({type(e).__name__}: {str(e)[:100]}); "
                              f"delete it and {how_to_get_weights(how)}") from None
    if os.environ.get("VIDREC_OFFLINE"):
        raise VidrecError(f"VGG16 ImageNet weights are not in torchvision's cache and VIDREC_OFFLINE is set, "
                          f"so they were not downloaded; {how_to_get_weights(how)}")
    from torchvision.models import VGG16_Weights

    try:
        return VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True)
    except Exception as e:  # noqa: BLE001 - no network, proxy, hash mismatch: all mean "no weights"
        raise VidrecError(f"VGG16 ImageNet weights could not be downloaded ({type(e).__name__}: "
                          f"{str(e)[:100]}); {how_to_get_weights(how)}") from None


def _file_state(path: str | os.PathLike) -> dict:
    """A state dict from ``.safetensors`` or a torch file, never unpickling arbitrary objects."""
    import torch

    p = Path(path).expanduser()
    if not p.is_file():
        raise VidrecError(f"VGG16 weights file not found: {p}")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - hostile or broken input gets one line
        raise VidrecError(f"{p} is not a readable state-dict file ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(state, dict):
        raise VidrecError(f"{p} does not hold a state dict (found {type(state).__name__})")
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return state


def _pick(state: dict, idx: int, what: str):
    for key in (f"features.{idx}.{what}", f"{idx}.{what}", f"module.features.{idx}.{what}"):
        if key in state:
            return state[key]
    return None


@dataclass
class VGGFeatures:
    """The early VGG16 layers, in eval mode, and where their weights came from."""

    model: object  # nn.Sequential
    upto: str
    kind: str  # imagenet | file | random
    label: str  # what every output says about the weights

    def conv(self, layer: str):
        return self.model[LAYER_INDEX[check_layer(layer)][0]]


def load_features(upto: str = "conv1_2", weights: str | os.PathLike | None = None,
                  random_init: bool = False, seed: int = 0, how: tuple[str, str] = HOW_CLI) -> VGGFeatures:
    """Build ``features`` up to ``upto`` and fill them: a file, ImageNet, or random init (seeded).

    Random init is torchvision's own (Kaiming normal, fan-out; zero bias), so
    the untrained filters look like those of a fresh ``vgg16()``.
    """
    import torch
    from torch import nn

    model = build_features(upto)
    if weights is not None and random_init:
        raise VidrecError("a weights file and random init exclude each other; give one of them")
    if random_init:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for m in model:
                if isinstance(m, nn.Conv2d):
                    fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=g)
                    m.bias.zero_()
        kind, label = "random", RANDOM_LABEL
    else:
        if weights is not None:
            state, kind, label = _file_state(weights), "file", f"file {Path(weights).name}"
        else:
            state, kind, label = _imagenet_state(how), "imagenet", IMAGENET_LABEL
        with torch.no_grad():
            for i, m in enumerate(model):
                if not isinstance(m, nn.Conv2d):
                    continue
                for what in ("weight", "bias"):
                    t = _pick(state, i, what)
                    target = getattr(m, what)
                    if t is None:
                        raise VidrecError(f"{label}: no tensor features.{i}.{what} (VGG16's {_name_of(i)}); "
                                          "is this a torchvision VGG16 state dict?")
                    if tuple(t.shape) != tuple(target.shape):
                        raise VidrecError(f"{label}: features.{i}.{what} has shape {tuple(t.shape)}, "
                                          f"VGG16 needs {tuple(target.shape)}")
                    target.copy_(t.to(target.dtype))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return VGGFeatures(model, upto, kind, label)


def _name_of(index: int) -> str:
    return next((n for n, (i, _, _) in LAYER_INDEX.items() if i == index), f"features.{index}")


def to_input(bgr: np.ndarray):
    """A BGR uint8 image (gray and BGRA too) as VGG's input: RGB, ImageNet mean/std, [1,3,H,W]."""
    import cv2
    import torch

    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    elif bgr.shape[2] == 4:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_BGRA2BGR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    rgb = (rgb - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).unsqueeze(0)


# ---------------------------------------------------------------- the analysis


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def default_image() -> tuple[np.ndarray, str]:
    """A frame of a recording in recordings/, else an MNIST test digit upscaled, else a synthetic scene."""
    import cv2

    rec = _repo_root() / "recordings"
    clips = [p for p in rec.glob("*") if p.suffix.lower() in VIDEO_SUFFIXES] if rec.is_dir() else []
    clips.sort(key=lambda p: ("sheet" not in p.stem, p.name))  # a sheet of digits shows the most
    for clip in clips:
        cap = cv2.VideoCapture(str(clip))
        try:
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if n > 1:
                cap.set(cv2.CAP_PROP_POS_FRAMES, n // 2)
            ok, frame = cap.read()
        finally:
            cap.release()
        if ok and frame is not None:
            return frame, f"{clip.relative_to(_repo_root())} frame {n // 2 if n > 1 else 0}"
    try:
        from vidrec import datasets

        x, y = datasets.load_arrays("mnist", False)
        img = cv2.resize(255 - x[0], (224, 224), interpolation=cv2.INTER_CUBIC)  # dark ink on white
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), f"MNIST test digit 0 (a {int(y[0])}), upscaled to 224x224"
    except VidrecError:
        pass
    return synthetic_image(), "synthetic image (stripes, a disc, an edge, text)"


def synthetic_image(size: int = 224) -> np.ndarray:
    """Oriented stripes, a coloured disc, a hard edge and a word: something for every early filter."""
    import cv2

    img = np.full((size, size, 3), 235, np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = (np.sin((xx + yy) / 4.0) > 0)[: size // 2, : size // 2]
    img[: size // 2, : size // 2][stripes] = (40, 40, 40)
    cv2.circle(img, (3 * size // 4, size // 4), size // 7, (30, 60, 200), -1)
    img[size // 2 :, size // 2 :] = (180, 120, 40)
    cv2.putText(img, "vidrec", (8, 3 * size // 4), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return img


def read_image(path: str | os.PathLike) -> np.ndarray:
    import cv2

    p = Path(path).expanduser()
    if not p.is_file():
        raise VidrecError(f"image not found: {p}")
    if p.suffix.lower() in VIDEO_SUFFIXES:
        cap = cv2.VideoCapture(str(p))
        ok, frame = cap.read()
        cap.release()
        if not ok:
            raise VidrecError(f"could not read a frame from {p}")
        return frame
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise VidrecError(f"{p} is not an image OpenCV can read")
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return img


def _fit(img: np.ndarray, longest: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = longest / max(h, w)
    if s >= 1:
        return img
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _mosaic(tiles: list[np.ndarray], ncols: int, gap: int = 2) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Equal-sized RGB tiles (float in [0,1]) on a white sheet; returns it and each tile's top-left corner.

    One image with one ``imshow`` instead of 64 matplotlib axes: the same
    picture, drawn in a fraction of the time.
    """
    th, tw = tiles[0].shape[:2]
    nrows = -(-len(tiles) // ncols)
    sheet = np.ones((nrows * (th + gap) + gap, ncols * (tw + gap) + gap, 3), np.float32)
    corners = []
    for i, t in enumerate(tiles):
        y, x = gap + (i // ncols) * (th + gap), gap + (i % ncols) * (tw + gap)
        sheet[y : y + th, x : x + tw] = t
        corners.append((y, x))
    return sheet, corners


def filters_rgb_png(weight: np.ndarray, path, title: str, ncols: int = 8, cell: int = 12) -> Path:
    """First-layer filters [64,3,3,3] as small RGB pictures, each stretched to [0,1] on its own."""
    plt = pyplot()
    tiles = []
    for k in weight:
        k = k.transpose(1, 2, 0)  # HxWx3, RGB order as VGG reads it
        lo, hi = k.min(), k.max()
        k = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        tiles.append(np.kron(k, np.ones((cell // k.shape[0], cell // k.shape[1], 1))))
    sheet, corners = _mosaic(tiles, ncols, gap=3)
    fig, ax = plt.subplots(figsize=(7, 7 * sheet.shape[0] / sheet.shape[1] + 0.7))
    ax.imshow(sheet, interpolation="nearest")
    for i, (y, x) in enumerate(corners):
        ax.text(x, y - 0.5, str(i), fontsize=6, va="bottom", ha="left")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path, dpi=100)


def responses_png(maps: np.ndarray, image_rgb: np.ndarray, path, title: str, ncols: int = 8) -> Path:
    """The input beside every filter's activation map (after ReLU), each map on its own colour scale."""
    import matplotlib

    plt = pyplot()
    cmap = matplotlib.colormaps["inferno"]
    tiles = []
    for m in maps:
        hi = float(m.max())
        tiles.append(cmap(m / hi if hi > 0 else m)[..., :3].astype(np.float32))
    sheet, corners = _mosaic(tiles, ncols, gap=4)
    h, w = sheet.shape[:2]
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(14, 10.5 * h / w + 0.9), width_ratios=[1, 3], layout="constrained")
    a0.imshow(image_rgb)
    a0.set_title("input", fontsize=9)
    a0.axis("off")
    a1.imshow(sheet, interpolation="nearest")
    for i, (y, x) in enumerate(corners):
        a1.text(x + 2, y + 2, f"{i}: {maps[i].max():.1f}", fontsize=5.5, va="top", ha="left", color="white")
    a1.axis("off")
    a1.set_title("filter: peak activation (each map scaled to its own peak; black = 0)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=100)


def analyze(out_dir: str | os.PathLike, image: str | os.PathLike | None = None,
            weights: str | os.PathLike | None = None, random_init: bool = False,
            max_side: int = 320) -> dict:
    """The seed's extension A: conv1_1/conv1_2 shapes, filter 0's values, the 64 filters, two response grids.

    Returns (and writes as ``vgg16_analysis.json``) a dict naming the weights,
    the image, the shapes, filter 0 and the files.
    """
    import cv2
    import torch

    from vidrec.atomic import write_json

    feats = load_features("conv1_2", weights=weights, random_init=random_init)
    if image is not None:
        img, img_label = read_image(image), str(image)
    else:
        img, img_label = default_image()
    img = _fit(img, max_side)
    x = to_input(img)
    c1, c2 = feats.conv("conv1_1"), feats.conv("conv1_2")
    with torch.inference_mode():
        a1 = feats.model[:2](x)
        a2 = feats.model[2:4](a1.clone())
    a1, a2 = a1[0].numpy(), a2[0].numpy()
    rgb = cv2.cvtColor(to_bgr(img), cv2.COLOR_BGR2RGB)
    out = Path(out_dir)
    tag = f"weights: {feats.label}"
    w1 = c1.weight.detach().numpy()
    files = [
        filters_rgb_png(w1, out / "vgg16_conv1_1_filters.png", f"VGG16 conv1_1: the 64 first-layer 3x3 RGB filters\n{tag}"),
        responses_png(a1, rgb, out / "vgg16_conv1_1_responses.png",
                      f"VGG16 conv1_1 responses (after ReLU) on {img_label}\n{tag}"),
        responses_png(a2, rgb, out / "vgg16_conv1_2_responses.png",
                      f"VGG16 conv1_2 responses (after ReLU) on {img_label}\n{tag}"),
    ]
    result = {
        "weights": feats.label,
        "weights_kind": feats.kind,
        "random_init": feats.kind == "random",
        "image": img_label,
        "image_size": [int(img.shape[1]), int(img.shape[0])],
        "layers": {
            "conv1_1": {"weight": list(c1.weight.shape), "bias": list(c1.bias.shape)},
            "conv1_2": {"weight": list(c2.weight.shape), "bias": list(c2.bias.shape)},
        },
        "first_filter": {"layer": "conv1_1", "index": 0, "channels": ["R", "G", "B"],
                         "weight": np.round(w1[0], 6).tolist(), "bias": round(float(c1.bias[0]), 6)},
        "mean_activation": {"conv1_1": round(float(a1.mean()), 4), "conv1_2": round(float(a2.mean()), 4)},
    }
    json_path = out / "vgg16_analysis.json"
    result["files"] = [str(f) for f in files] + [str(json_path)]
    write_json(json_path, result)
    return result


def to_bgr(img: np.ndarray) -> np.ndarray:
    import cv2

    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img
