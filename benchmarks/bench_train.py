"""Classic vs fast MNIST training, in one process: wall time to the same test accuracy.

The classic way is the seed's (and pytorch/examples'): torchvision's MNIST
Dataset with per-sample ToTensor+Normalize through a DataLoader, SGD lr 0.01
momentum 0.5, batch 64. The fast way is `vidrec train mnist`'s: the whole set as
one tensor in memory, AdamW with a one-cycle schedule. Both are evaluated after
every epoch (evaluation time excluded); the script prints, for a target accuracy,
each method's training time to reach it and their ratio.

    .venv/bin/python benchmarks/bench_train.py [--target 0.99] [--classic-epochs 20]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F


def classic(target: float, max_epochs: int, seed: int):
    from torch.utils.data import DataLoader
    from torchvision import datasets as tvd
    from torchvision import transforms

    from vidrec import datasets, nets, training

    datasets.fetch("mnist", say=lambda s: None)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    root = str(datasets.data_root())
    train = tvd.MNIST(root, train=True, download=False, transform=tf)
    xt, yt = datasets.load_tensors("mnist", False)
    training.seed_everything(seed)
    model = nets.SeedNet()
    loader = DataLoader(train, batch_size=64, shuffle=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    spent, curve = 0.0, []
    for epoch in range(1, max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        for x, y in loader:
            opt.zero_grad()
            F.nll_loss(model(x), y).backward()
            opt.step()
        spent += time.perf_counter() - t0
        _, acc, _ = training.evaluate(model, xt, yt)
        curve.append((epoch, round(spent, 1), acc))
        print(f"  classic epoch {epoch}: {spent:.1f} s, test accuracy {acc:.4f}", flush=True)
        if acc >= target:
            return spent, curve
    return None, curve


def fast(target: float, seed: int):
    from vidrec import datasets, nets, training
    from vidrec.trainconfig import MNIST_DEFAULT

    tr = datasets.load_tensors("mnist", True)
    te = datasets.load_tensors("mnist", False)
    import dataclasses

    cfg = dataclasses.replace(MNIST_DEFAULT, seed=seed)
    training.seed_everything(seed)  # before building the net, as `vidrec train mnist` does
    model = nets.SeedNet()
    reached = {}
    eval_time = [0.0]

    def on_epoch(epoch, h):
        # fit() evaluates inside its timed loop; subtract that time below.
        if h.test_accuracy[-1] >= target and "t" not in reached:
            reached["t"] = h.seconds[-1]
            reached["epoch"] = epoch
        print(f"  fast epoch {epoch}: {h.seconds[-1]:.1f} s, test accuracy {h.test_accuracy[-1]:.4f}", flush=True)

    t0 = time.perf_counter()
    hist = training.fit(model, tr, te, cfg, on_epoch=on_epoch)
    total = time.perf_counter() - t0
    # measure the evaluation cost once and take it out of the times, as for classic
    e0 = time.perf_counter()
    training.evaluate(model, *te)
    eval_time[0] = time.perf_counter() - e0
    t = reached.get("t")
    if t is not None:
        t -= eval_time[0] * reached["epoch"]
    return t, hist, total - eval_time[0] * cfg.epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", type=float, default=0.99, help="test accuracy both must reach")
    ap.add_argument("--classic-epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2502)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; target accuracy {a.target}")
    print("fast (vidrec train mnist defaults):")
    t_fast, hist, fast_total = fast(a.target, a.seed)
    print(f"classic (DataLoader, SGD lr 0.01 momentum 0.5, batch 64, up to {a.classic_epochs} epochs):")
    t_classic, curve = classic(a.target, a.classic_epochs, a.seed)
    res = {"target": a.target, "fast_seconds": t_fast, "fast_final_accuracy": hist.test_accuracy[-1],
           "fast_total_seconds": fast_total, "classic_seconds": t_classic, "classic_curve": curve}
    if t_fast and t_classic:
        res["ratio"] = t_classic / t_fast
        print(f"time to {a.target:.2%}: classic {t_classic:.1f} s, fast {t_fast:.1f} s -> ratio {res['ratio']:.1f}x")
    elif t_fast:
        lower = curve[-1][1] / t_fast
        res["ratio_at_least"] = lower
        print(f"classic did not reach {a.target:.2%} in {a.classic_epochs} epochs ({curve[-1][1]:.1f} s, "
              f"best {max(c[2] for c in curve):.4f}); fast reached it in {t_fast:.1f} s -> ratio > {lower:.1f}x")
    else:
        print(f"fast did not reach {a.target:.2%} (final {hist.test_accuracy[-1]:.4f})")
    if a.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
