"""VGG16 analysis and the ``vgg16`` overlay plugin: weights or a clear message, RANDOM INIT said, real frames."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest
import torch

from vidrec import vgg
from vidrec.errors import VidrecError
from vidrec.types import Frame

from video_helpers import sheet_frames, write_video


@pytest.fixture(autouse=True)
def no_cached_weights(tmp_path, monkeypatch):
    """An empty torch cache and no network: the situation of every machine here."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("VIDREC_OFFLINE", "1")


def _frame(img, i=0):
    return Frame(i, i / 25.0, img, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))


def _state_file(tmp_path, suffix):
    """A torchvision-keyed state dict for the early layers with a recognisable conv1_1 filter 0."""
    feats = vgg.load_features("conv3_3", random_init=True, seed=7)
    state = {f"features.{k}": v.clone() for k, v in feats.model.state_dict().items()}
    state["features.0.weight"][0] = torch.arange(27, dtype=torch.float32).reshape(3, 3, 3) / 100
    state["features.0.bias"][0] = 0.25
    path = tmp_path / f"vgg_early{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


# ---------------------------------------------------------------- analyze vgg16


def test_no_weights_gives_the_clear_message_and_fails(tmp_path, runner, cli):
    r = runner.invoke(cli, ["analyze", "vgg16", "--out", str(tmp_path / "a")])
    assert r.exit_code == 1
    assert "VGG16 ImageNet weights" in r.output
    assert "--weights FILE" in r.output and "--random-init" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "a").exists()


def test_random_init_runs_and_says_so_everywhere(mnist_ready, tmp_path, runner, cli):
    out = tmp_path / "a"
    r = runner.invoke(cli, ["analyze", "vgg16", "--random-init", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.count("RANDOM INIT") >= 2  # both table captions
    assert "(64, 3, 3, 3)" in r.output and "(64, 64, 3, 3)" in r.output
    res = json.loads((out / "vgg16_analysis.json").read_text())
    assert res["random_init"] is True and "RANDOM INIT" in res["weights"]
    assert res["layers"]["conv1_1"]["weight"] == [64, 3, 3, 3]
    assert res["layers"]["conv1_2"]["weight"] == [64, 64, 3, 3]
    assert np.array(res["first_filter"]["weight"]).shape == (3, 3, 3)
    for name in ("vgg16_conv1_1_filters.png", "vgg16_conv1_1_responses.png", "vgg16_conv1_2_responses.png"):
        img = cv2.imread(str(out / name))
        assert img is not None and img.shape[0] > 400


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_weights_file_is_used(tmp_path, runner, cli, suffix):
    path = _state_file(tmp_path, suffix)
    image = tmp_path / "sheet.png"
    cv2.imwrite(str(image), sheet_frames(1)[0])
    r = runner.invoke(cli, ["analyze", "vgg16", "--weights", str(path), "--image", str(image),
                            "--out", str(tmp_path / "a"), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["weights"] == f"file {path.name}" and res["random_init"] is False
    expected = (np.arange(27).reshape(3, 3, 3) / 100).tolist()
    np.testing.assert_allclose(res["first_filter"]["weight"], expected, atol=1e-6)
    assert res["first_filter"]["bias"] == pytest.approx(0.25)
    assert res["image"] == str(image) and res["image_size"] == [320, 240]


def test_bad_weights_file_is_one_clear_line(tmp_path, runner, cli):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    r = runner.invoke(cli, ["analyze", "vgg16", "--weights", str(junk), "--out", str(tmp_path / "a")])
    assert r.exit_code == 1 and "not a readable state-dict file" in r.output
    wrong = tmp_path / "wrong.safetensors"
    from safetensors.torch import save_file

    save_file({"features.0.weight": torch.zeros(32, 3, 3, 3), "features.0.bias": torch.zeros(32)}, str(wrong))
    r = runner.invoke(cli, ["analyze", "vgg16", "--weights", str(wrong), "--out", str(tmp_path / "a")])
    assert r.exit_code == 1 and "(32, 3, 3, 3)" in r.output and "Traceback" not in r.output


def test_only_the_early_layers_are_built():
    m = vgg.build_features("conv1_2")
    assert len(m) == 4 and sum(p.numel() for p in m.parameters()) == 64 * 27 + 64 + 64 * 64 * 9 + 64
    assert vgg.LAYER_INDEX["conv2_1"][0] == 5 and vgg.LAYER_INDEX["conv3_3"][0] == 14  # torchvision's indices


# ---------------------------------------------------------------- the plugin


def _overlay(**opts):
    from vidrec.plugins import make_recognizers

    return make_recognizers(["vgg16"], opts)[0][1]


def test_plugin_without_weights_fails_at_factory_time_with_how_to():
    with pytest.raises(VidrecError) as e:
        _overlay()
    msg = str(e.value)
    assert "vgg16.weights=FILE" in msg and "vgg16.random_init=1" in msg


def test_plugin_rejects_bad_options():
    with pytest.raises(VidrecError, match="unknown VGG16 layer 'conv9_9'"):
        _overlay(random_init="1", layer="conv9_9")
    with pytest.raises(VidrecError, match="filter="):
        _overlay(random_init="1", filter="64")


def test_plugin_overlays_heat_map_and_says_random_init():
    rec = _overlay(random_init="1", filter="3")
    frames = sheet_frames(3)
    for i, img in enumerate(frames):
        f = _frame(img, i)
        heat = rec.preprocess(f)
        canvas = img.copy()
        rec.render(canvas, f, rec.classify(f, rec.segment(f, heat), heat))
    assert heat.dtype == np.uint8 and heat.max() > 100  # the map uses the colour range
    assert np.abs(canvas.astype(int) - img.astype(int)).mean() > 10  # blended, not left as is
    # the red RANDOM INIT badge in the bottom-left corner
    badge = canvas[-20:-6, 6:60]
    assert (badge[..., 2] > 150).mean() > 0.5 and (badge[..., 0] < 80).mean() > 0.5
    assert rec.text([]) == ""


def test_plugin_keys_cycle_filter_and_layer():
    rec = _overlay(random_init="1")
    img = sheet_frames(1)[0]
    assert (rec.layer, rec.filter) == ("conv1_1", 0)
    assert rec.on_key(ord("F")) and rec.filter == 63
    assert rec.on_key(ord("f")) and rec.filter == 0
    assert rec.on_key(ord("l")) and rec.layer == "conv1_2"
    a = rec.activation(img)
    assert a.ndim == 2 and (a >= 0).all()
    for _ in range(5):
        rec.on_key(ord("l"))
    assert rec.layer == "conv3_3"
    small = rec.activation(img)
    assert small.shape[0] < a.shape[0]  # after two pools
    assert rec.on_key(ord("L")) and rec.layer == "conv3_2"
    assert not rec.on_key(ord("x"))


def test_conv1_1_fast_path_matches_torch():
    rec = _overlay(random_init="1")
    small = cv2.resize(sheet_frames(1)[0], (213, 160), interpolation=cv2.INTER_AREA)
    for f in (0, 17, 63):
        rec.filter = f
        fast, ref = rec._conv1_1(small), rec._torch_activation(small)
        assert fast.shape == ref.shape
        assert np.abs(fast - ref).max() < 1e-2 * max(1.0, float(ref.max()))


def test_plugin_fps_at_640x480(tmp_path, runner, cli, capsys):
    """Frames per second of the overlay through `vidrec bench`, printed, never asserted."""
    clip = write_video(tmp_path / "sheet.mp4", sheet_frames(40))
    r = runner.invoke(cli, ["bench", str(clip), "--plugin", "vgg16", "--option", "vgg16.random_init=1",
                            "--out", str(tmp_path / "overlay.mp4"), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["frames"] == 40 and res["failures"] == 0 and res["size"] == [640, 480]
    # Own loop too: preprocess + render on 640x480 frames, as the window would run them.
    rec = _overlay(random_init="1")
    frames = [_frame(f, i) for i, f in enumerate(sheet_frames(30))]
    t0 = time.perf_counter()
    for f in frames:
        canvas = f.image.copy()
        rec.render(canvas, f, [] if rec.preprocess(f) is None else [])
    own = len(frames) / (time.perf_counter() - t0)
    with capsys.disabled():
        print(f"\nvgg16 conv1_1 overlay at 640x480: bench pipeline {res['pipeline_fps']} fps "
              f"(with encoding; decode+encode-only {res.get('decode_encode_fps', '?')}), own loop {own:.0f} fps")
