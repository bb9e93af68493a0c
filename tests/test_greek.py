"""Greek letters: loaders, transfer learning, the CLI and the video plugin, on real handwriting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidrec.cli import app
from vidrec.errors import VidrecError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAIN = DATA / "greek_train"
GREEK = DATA / "greek"
ABG = ["alpha", "beta", "gamma"]

need_train = pytest.mark.skipif(not TRAIN.is_dir(), reason=f"{TRAIN} (the course's 27 examples) is absent")
need_greek = pytest.mark.skipif(not GREEK.is_dir(), reason=f"{GREEK} (letters from 10 writers) is absent")


def _mnist_base():
    from vidrec import modelstore

    try:
        modelstore.resolve("mnist")
    except VidrecError:
        pytest.skip("models/mnist.safetensors (the committed digit model) is absent")
    return "mnist"


# ---------------------------------------------------------------- loaders and layout errors


def _copy_some(dst: Path, letters: dict[str, int]) -> Path:
    for letter, n in letters.items():
        (dst / letter).mkdir(parents=True, exist_ok=True)
        for p in sorted((TRAIN / letter).iterdir())[:n]:
            shutil.copy(p, dst / letter / p.name)
    return dst


@need_train
def test_folder_layout_classes_are_the_sorted_folder_names(tmp_path):
    from vidrec import letters

    ds = letters.load(_copy_some(tmp_path / "d", {"gamma": 2, "alpha": 3}))
    assert ds.classes == ["alpha", "gamma"]
    assert ds.layout == "folders"
    assert list(ds.labels) == [0, 0, 0, 1, 1]
    assert ds.images.shape == (5, 28, 28) and ds.images.dtype == np.float32
    # MNIST-like: white strokes on black, the symbol in the middle
    assert ds.images[:, :4, :].max() < 0.2 and ds.images.max() > 0.9


@need_greek
def test_writer_layout_takes_labels_from_file_names():
    from vidrec import letters

    assert letters.detect_layout(GREEK) == "files"
    assert letters.detect_layout(TRAIN) == "folders"
    ds = letters.load(GREEK)
    assert len(set(ds.writers)) == 10
    assert {"alpha", "beta", "gamma", "delta", "theta"} <= set(ds.classes)
    assert len(ds.only(ABG)) == 109


@pytest.mark.parametrize("case", ["missing", "one_class", "empty_class", "file"])
def test_bad_layout_is_one_clear_line_and_exit_1(tmp_path, case):
    d = tmp_path / "data"
    if case == "one_class":
        (d / "alpha").mkdir(parents=True)
        (d / "alpha" / "a.png").write_bytes(b"")
    elif case == "empty_class":
        (d / "alpha").mkdir(parents=True)
        (d / "beta").mkdir(parents=True)
        import cv2

        cv2.imwrite(str(d / "alpha" / "a.png"), np.full((20, 20), 255, np.uint8))
    elif case == "file":
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_text("x")
    res = CliRunner().invoke(app, ["train", "greek", "--data", str(d), "--out", str(tmp_path / "m.safetensors")])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert "one sub-folder per letter" in res.output
    assert not (tmp_path / "m.safetensors").exists()


def test_no_data_option_says_what_layout_is_expected():
    res = CliRunner().invoke(app, ["train", "greek"])
    assert res.exit_code == 1
    assert "--data DIR is required" in res.output and "alpha" in res.output


# ---------------------------------------------------------------- training


@need_train
@pytest.mark.slow
def test_seed_transfer_identifies_all_27_examples():
    """The seed's question: frozen network, new last layer; all 27 right within a few epochs."""
    import torch

    from vidrec import letters, transfer

    base, info = transfer.load_base(_mnist_base())
    ds = letters.load(TRAIN)
    assert ds.classes == ABG and len(ds) == 27
    x, y = ds.tensors(info.mean, info.std)
    frozen = {k: v.clone() for k, v in base.state_dict().items()}
    res = transfer.seed_transfer(base, x, y, 3, epochs=30)
    assert res.epoch_to_perfect is not None and res.epoch_to_perfect <= 30
    assert res.epoch_train_accuracy[-1] == 1.0
    assert res.epoch_losses[-1] < res.epoch_losses[0]
    # frozen means frozen: the transferred layers are the MNIST network's, untouched
    for name in ("conv1.weight", "conv2.weight", "fc1.weight"):
        assert torch.equal(res.model.state_dict()[name], frozen[name])


@need_train
@pytest.mark.slow
def test_train_greek_cli_writes_model_card_and_plot_and_is_perfect_on_its_examples(tmp_path):
    from vidrec import modelstore
    from vidrec import transfer  # noqa: F401  (the greeknet architecture)

    base = _mnist_base()
    out = tmp_path / "g.safetensors"
    res = CliRunner().invoke(app, ["train", "greek", "--data", str(TRAIN), "--out", str(out), "--epochs", "15",
                                   "--base", base])
    assert res.exit_code == 0, res.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["classes"] == ABG
    assert card["train_accuracy"] == 1.0
    assert isinstance(card["epoch_to_perfect"], int) and 1 <= card["epoch_to_perfect"] <= 15
    assert len(card["seed_transfer"]["train_loss_per_epoch"]) == 15
    assert isinstance(card["command"], str) and card["command"]  # sys.argv: pytest's under CliRunner
    assert len(card["data"]["sha256"]) == 64
    png = out.with_suffix(".loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model, info, _ = modelstore.load(out)
    assert info.classes == ABG and info.arch in ("greeknet", "greekensemble")
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


@need_greek
@pytest.mark.slow
def test_committed_model_on_ten_other_writers():
    """models/greek (trained only on the 27) on alpha/beta/gamma by 10 writers it never saw: >= 90%."""
    from vidrec import letters, modelstore, transfer

    try:
        model, info, card = modelstore.load("greek")
    except VidrecError:
        pytest.skip("models/greek.safetensors is absent")
    assert info.classes == ABG
    ds = letters.load(GREEK)
    res = transfer.evaluate_letters(model, info, ds)
    assert res["n"] == 109
    assert res["accuracy"] >= 0.90, res["per_class"]
    assert min(r["accuracy"] for r in res["per_class"]) >= 0.8
    # the other letters (delta, theta, ...) are mostly turned down
    assert res["other_letters_rejected"] >= 0.6


@need_greek
@pytest.mark.slow
def test_eval_greek_cli_table_and_figures(tmp_path):
    from vidrec import modelstore

    try:
        modelstore.resolve("greek")
    except VidrecError:
        pytest.skip("models/greek.safetensors is absent")
    res = CliRunner().invoke(app, ["eval", "greek", "--data", str(GREEK), "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    assert d["n"] == 109 and d["accuracy"] >= 0.9
    for name in ("confusion_matrix.png", "predictions.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- the video plugin


def _greek_clip(out_dir: Path, seed: int = 7, n_frames: int = 24) -> Path:
    """A hand-held sheet of six real handwritten letters (alpha/beta/gamma, several writers)."""
    from vidrec import recordings as R
    from vidrec.crop import read_image, to_gray

    pool = []
    for p in sorted(GREEK.rglob("*")):
        lab = p.name.split("_")[0]
        if p.is_file() and lab in ABG:
            a = R.glyph_from_image(to_gray(read_image(p)).astype(np.uint8))
            if a.size and a.max() > 0:
                pool.append(R.Glyph(lab, a, str(p)))
    rng = np.random.default_rng(seed)
    glyphs = [pool[i] for i in rng.permutation(len(pool))[:6]]
    sheet = R.make_sheet(rng, glyphs, [[1, 1, 1], [1, 1, 1]], 48.0)
    sw, sh = sheet.image.shape[1], sheet.image.shape[0]
    scale = min(0.85 * R.W / sw, 0.8 * R.H / sh, 1.15)
    wob = R._wobble(rng, n_frames, 2.0)
    poses = [R.Pose(R.W / 2 + w[0], R.H / 2 + w[1], scale, 3 + w[2], (0.1, 0.05)) for w in wob]
    frames, truth = R.render_clip(rng, sheet, poses, R.clutter, [0], R._camera_kw(rng))
    return R._write_clip(out_dir, "greek_sheet", frames, truth, {"clip": "greek_sheet", "plugins": ["greek"]})


@need_greek
@pytest.mark.slow
def test_plugin_reads_greek_letters_in_a_recording(tmp_path):
    from vidrec import modelstore

    try:
        modelstore.resolve("greek")
    except VidrecError:
        pytest.skip("models/greek.safetensors is absent")
    clip = _greek_clip(tmp_path)
    truth = json.loads(clip.with_suffix(".json").read_text())["truth"]
    jsonl = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["run", str(clip), "--plugin", "greek", "--jsonl", str(jsonl),
                                   "--out", str(tmp_path / "out.mp4")])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == len(truth)
    hits = total = false = 0
    for row, t in zip(rows, truth):
        want = t["digits"]
        total += len(want)
        for p in row["predictions"]:
            assert p["plugin"] == "greek"
            x, y, w, h = p["box"]
            cx, cy = x + w / 2, y + h / 2
            match = [d for d in want if d["box"][0] <= cx <= d["box"][0] + d["box"][2]
                     and d["box"][1] <= cy <= d["box"][1] + d["box"][3]]
            if match and match[0]["label"] == p["label"]:
                hits += 1
            else:
                false += 1
    recall, wrong = hits / total, false / max(1, hits + false)
    assert recall >= 0.6, (recall, wrong)
    assert wrong <= 0.2, (recall, wrong)
    # stable: a still sheet's labels do not flicker
    by_track: dict[int, list[str]] = {}
    for row in rows:
        for p in row["predictions"]:
            by_track.setdefault(p["track"], []).append(p["label"])
    changes = sum(sum(a != b for a, b in zip(v, v[1:])) for v in by_track.values())
    assert changes <= 2
    # the text names the letters (not digits)
    assert any(set(r["text"].split()) & set(ABG) for r in rows)


@pytest.mark.slow
def test_plugin_reports_next_to_nothing_on_frames_without_letters(tmp_path):
    """recordings/empty.mp4: blank paper, clutter, a face, clothing, printed text."""
    from vidrec import modelstore

    clip = Path(__file__).resolve().parents[1] / "recordings" / "empty.mp4"
    if not clip.exists():
        pytest.skip(f"{clip} is absent")
    try:
        modelstore.resolve("greek")
    except VidrecError:
        pytest.skip("models/greek.safetensors is absent")
    jsonl = tmp_path / "empty.jsonl"
    res = CliRunner().invoke(app, ["run", str(clip), "--plugin", "greek", "--jsonl", str(jsonl)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sum(1 for r in rows if r["predictions"]) <= 0.05 * len(rows)


def test_plugin_is_registered_and_labels_letters_with_greek_glyphs():
    from vidrec import plugins

    assert "greek" in plugins.recognizer_factories()
    from vidrec_greek.recognizer import GREEK, _greek_font

    assert GREEK["alpha"] == "α" and GREEK["gamma"] == "γ"
    assert _greek_font() is not None
