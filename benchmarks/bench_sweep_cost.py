"""What the Fashion-MNIST grid costs: CPU seconds per training step of every network, extrapolated.

Measures, with one torch thread and ``time.process_time`` (CPU time of this
process, so other jobs on a shared machine inflate it far less than wall time),
one AdamW training step at each batch size for each of the grid's 32 distinct
network shapes, and one forward pass per test image. From these it predicts the
CPU cost of every configuration on the full 60,000/10,000 images (epochs x
steps x step cost + the final train/test evaluation), and so of the whole grid,
on one core and on N. Pass ``--measured RESULTS.csv`` (a sweep's results) to
print the ratio of measured to predicted CPU seconds for the trials it holds,
scaled to their data size, as a check of the model.

    OMP_NUM_THREADS=1 python benchmarks/bench_sweep_cost.py [--measured runs/.../results.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time

import torch
import torch.nn.functional as F

from vidrec.sweep import family, grid as gridmod


def step_cost(config: dict, batch: int, steps: int) -> float:
    model = family.build(config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    for _ in range(1):  # warm-up
        opt.zero_grad(); F.nll_loss(model(x), y).backward(); opt.step()
    t = time.process_time()
    for _ in range(steps):
        opt.zero_grad(); F.nll_loss(model(x), y).backward(); opt.step()
    return (time.process_time() - t) / steps


@torch.inference_mode()
def eval_cost(config: dict, n: int = 2000) -> float:
    model = family.build(config).eval()
    x = torch.randn(n, 1, 28, 28)
    model(x)
    t = time.process_time()
    model(x)
    return (time.process_time() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--measured", help="a sweep's results.csv to compare with")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 8, 16, 64])
    ap.add_argument("--out", help="write the per-shape costs as JSON here")
    ap.add_argument("--costs", help="reuse the per-shape costs an earlier run wrote with --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    g = gridmod.SEED_GRID
    arch = ("conv_channels", "conv_kernel_size", "pool_kernel_size", "pool_stride", "hidden_layers")
    shapes = {}
    if args.costs:
        shapes = json.load(open(args.costs))["shapes"]
        for s in shapes.values():
            s["step"] = {int(b): v for b, v in s["step"].items()}
    for combo in [] if args.costs else __import__("itertools").product(*(g[a] for a in arch)):
        cfg = dict(zip(arch, combo), dropout_rate=0.1, activation="ReLU")
        key = json.dumps(combo)
        shapes[key] = {
            "step": {b: step_cost(cfg, b, 4 if b <= 100 else 2) for b in g["batch_size"]},
            "eval_per_image": eval_cost(cfg),
            "parameters": family.parameter_count(family.build(cfg)),
        }
        print(f"{key:48s} params {shapes[key]['parameters']:>8d}  "
              + "  ".join(f"bs{b}: {1000 * s:7.1f} ms/step" for b, s in shapes[key]["step"].items()), flush=True)

    def predict(c: dict, n_train: int = 60000, n_test: int = 10000, per_epoch_test: bool = False) -> float:
        s = shapes[json.dumps([c[a] for a in arch])]
        steps = math.ceil(n_train / c["batch_size"]) * c["epochs"]
        evals = min(10000, n_train) + n_test + (n_test * c["epochs"] if per_epoch_test else 0)
        return steps * s["step"][c["batch_size"]] + evals * s["eval_per_image"]

    configs = gridmod.configurations(g)
    total = sum(predict(c) for c in configs)
    per = [predict(c) for c in configs]
    print(f"\nfull grid, 1024 configurations on 60,000 training images, 1 core: {total / 3600:.1f} CPU hours "
          f"(per configuration: mean {sum(per) / len(per):.0f} s, min {min(per):.0f} s, max {max(per):.0f} s)")
    for n in args.workers:
        print(f"  on {n:>3d} single-core workers: ~{total / n / 3600:.2f} h (longest single configuration {max(per) / 3600:.2f} h)")
    design = gridmod.fractional_design(g, 64)
    d = sum(predict(c) for c in design)
    d10 = sum(predict(c, n_train=10000) for c in design)
    print(f"64-run fractional design: {d / 3600:.2f} CPU hours on 60,000 images, {d10 / 3600:.2f} on 10,000")
    if args.measured:
        rows = [r for r in csv.DictReader(open(args.measured)) if r["state"] == "COMPLETE" and r["cpu_seconds"]]
        ratios = []
        for r in rows:
            c = {k: json.loads(r[k]) if r[k].startswith("[") else r[k] for k in g}
            c = {**c, "batch_size": int(c["batch_size"]), "epochs": int(c["epochs"]),
                 "conv_kernel_size": int(c["conv_kernel_size"]), "pool_kernel_size": int(c["pool_kernel_size"]),
                 "pool_stride": int(c["pool_stride"])}
            ratios.append(float(r["cpu_seconds"]) / predict(c, int(r["train_size"]), int(r["test_size"])))
        if ratios:
            ratios.sort()
            print(f"measured / predicted CPU seconds over {len(ratios)} trials: median {ratios[len(ratios) // 2]:.2f} "
                  f"(range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    if args.out:
        from vidrec.atomic import write_json

        write_json(args.out, {"shapes": shapes, "full_grid_cpu_seconds": total})


if __name__ == "__main__":
    main()
