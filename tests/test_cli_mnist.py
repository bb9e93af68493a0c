"""`vidrec train|eval mnist`, `vidrec models`, `--help` and `--version` through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from vidrec import modelstore


def test_cli_import_does_not_pull_torch_or_opencv():
    code = "import sys, vidrec.cli; print(sorted(m for m in ('torch', 'cv2', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version_and_help(runner, cli):
    from vidrec import __version__

    r = runner.invoke(cli, ["--version"])
    assert r.exit_code == 0 and __version__ in r.stdout
    r = runner.invoke(cli, ["--help"])
    assert r.exit_code == 0
    for group in ("data", "train", "eval", "models"):
        assert group in r.stdout


def test_train_mnist_writes_weights_card_and_plot(runner, cli, tmp_path, mnist_ready):
    out = tmp_path / "tiny.safetensors"
    r = runner.invoke(cli, ["train", "mnist", "--epochs", "1", "--limit", "3000", "--out", str(out)])
    assert r.exit_code == 0, r.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["train_examples"] == 3000 and card["seed"] == 2502
    assert 0.5 < card["test_accuracy"] <= 1.0
    assert set(card["per_class_accuracy"]) == {str(i) for i in range(10)}
    assert card["data"]["sha256"]["train-images-idx3-ubyte"].startswith("ba8910")
    assert out.with_suffix(".loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model, info, _ = modelstore.load(out)
    assert info.classes == [str(i) for i in range(10)]
    # no temporary files left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_train_mnist_rejects_bad_out(runner, cli, tmp_path):
    r = runner.invoke(cli, ["train", "mnist", "--out", str(tmp_path / "m.pt")])
    assert r.exit_code == 1
    assert "safetensors" in r.output


def test_models_show_prints_the_layers(runner, cli):
    r = runner.invoke(cli, ["models", "show", "mnist"])
    assert r.exit_code == 0, r.output
    assert "conv1" in r.stdout and "[1, 10, 24, 24]" in r.stdout and "fc2" in r.stdout
    r = runner.invoke(cli, ["models", "show", "digits"])
    assert r.exit_code == 0, r.output
    assert "members.2.fc2" in r.stdout and "member mnist" in r.stdout and "european 0.3" in r.stdout
    r = runner.invoke(cli, ["models", "show", "nope"])
    assert r.exit_code == 1 and "no model named" in r.output


def test_committed_model_meets_its_card(mnist_ready):
    from vidrec import datasets, training

    model, info, card = modelstore.load("mnist")
    x, y = datasets.load_tensors("mnist", False)
    _, acc, _ = training.evaluate(model, x, y)
    assert acc >= 0.99
    assert abs(acc - card["test_accuracy"]) < 1e-3


def test_eval_mnist_writes_figures(runner, cli, tmp_path, mnist_ready):
    r = runner.invoke(cli, ["eval", "mnist", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["test_accuracy"] >= 0.99
    assert len(res["per_class"]) == 10
    for name in ("confusion_matrix.png", "first9.png"):
        assert (tmp_path / name).stat().st_size > 1000
    cm = res["confusion_matrix"]
    assert sum(map(sum, cm)) == 10000


def test_train_mnist_unwritable_out_fails_before_training(runner, cli, tmp_path):
    """A folder that cannot be made (a file stands in its way): one error line, before any training."""
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    r = runner.invoke(cli, ["train", "mnist", "--epochs", "1", "--out", str(blocker / "m.safetensors")])
    assert r.exit_code == 1
    assert "cannot write" in r.stderr and "Traceback" not in r.output
    assert "epoch 1/1" not in r.output


def test_models_ensemble_from_two_trained_members(runner, cli, tmp_path, mnist_ready):
    """Two real (short) trainings, one with European 1s and 7s and hooked 9s, bundled into one
    model whose card lists both, scores it on MNIST's test set and says how to remake it all."""
    import shlex

    members = []
    for name, extra in (("plain", []), ("eu", ["--european", "0.3", "--hooked-nines", "0.25"])):
        out = tmp_path / f"{name}.safetensors"
        r = runner.invoke(cli, ["train", "mnist", "--epochs", "1", "--limit", "2000", "--out", str(out)] + extra)
        assert r.exit_code == 0, r.output
        members.append(str(out))
    eu_card = json.loads((tmp_path / "eu.json").read_text())
    assert eu_card["european"] == 0.3 and "--european 0.3" in eu_card["reproduce"]
    assert eu_card["hooked_nines"] == 0.25 and "--hooked-nines 0.25" in eu_card["reproduce"]
    ens = tmp_path / "ens.safetensors"
    r = runner.invoke(cli, ["models", "ensemble", str(ens)] + members)
    assert r.exit_code == 0, r.output
    card = json.loads(ens.with_suffix(".json").read_text())
    assert card["arch"] == "seedensemble" and [m["european"] for m in card["members"]] == [0.0, 0.3]
    assert [m["hooked_nines"] for m in card["members"]] == [0.0, 0.25]
    accs = [m["test_accuracy"] for m in card["members"]]
    assert 0.5 < card["test_accuracy"] <= 1.0 and card["test_accuracy"] >= min(accs) - 0.02
    steps = [shlex.split(s) for s in card["reproduce"].split(" && ")]
    assert steps[-1][:3] == ["vidrec", "models", "ensemble"] and steps[-1][-2:] == ["plain.safetensors", "eu.safetensors"]
    assert steps[1][-2:] == ["--out", "eu.safetensors"] and "--european" in steps[1] and "--hooked-nines" in steps[1]
    model, info, _ = modelstore.load(ens)
    assert info.arch == "seedensemble" and len(model.members) == 2
    for bad, says in ((members[:1], "two or more"), (members + ["greek"], "seed networks")):
        r = runner.invoke(cli, ["models", "ensemble", str(tmp_path / "bad.safetensors")] + bad)
        assert r.exit_code == 1 and says in r.output, r.output


def test_committed_digits_ensemble_meets_its_card(mnist_ready):
    """models/digits (the video recognisers' default): the members' mean, at the accuracy its
    card gives, no worse than its plain member on MNIST's test set."""
    from vidrec import datasets, training

    model, info, card = modelstore.load("digits")
    assert info.arch == "seedensemble" and card["members"][0]["model"] == "mnist"
    x, y = datasets.load_tensors("mnist", False)
    _, acc, _ = training.evaluate(model, x, y)
    assert abs(acc - card["test_accuracy"]) < 1e-3
    assert acc >= card["members"][0]["test_accuracy"] >= 0.99


def test_a_card_names_files_inside_the_folder_it_was_made_in_relative_to_it(tmp_path, monkeypatch):
    from vidrec.digits import command_line

    monkeypatch.chdir(tmp_path)
    inside, outside = tmp_path / "models" / "d.safetensors", tmp_path.parent / "elsewhere.safetensors"
    got = command_line(["/usr/bin/vidrec", "models", "ensemble", str(inside), "mnist", f"--out={inside}", str(outside)])
    assert got == f"vidrec models ensemble models/d.safetensors mnist --out=models/d.safetensors {outside}"
    assert command_line(["/usr/bin/python", "-m", "pytest"]) is None
