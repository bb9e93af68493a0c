"""How much --prune saves, and whether it still finds the exhaustive sweep's best configurations.

Compares two studies of the same configurations (one without and one with
--prune) on the configurations finished in both: compute (epochs and CPU
seconds) spent by the pruned study against what the exhaustive one spent on
the same configurations, and how many of the exhaustive top 5 the pruned study
trained to the end (and ranks in its own top 5).

    python benchmarks/sweep_prune_compare.py RUN_DIR_EXHAUSTIVE RUN_DIR_PRUNED [--storage-a URL --study-a NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vidrec.sweep import engine, report


def load(run_dir: str, storage: str | None, study: str | None):
    return report.load_study(engine.open_storage(storage or str(Path(run_dir) / "study.journal")), study)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("exhaustive")
    ap.add_argument("pruned")
    ap.add_argument("--storage-a")
    ap.add_argument("--study-a")
    ap.add_argument("--storage-b")
    ap.add_argument("--study-b")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    a = {report.describe(r): r for r in report.rows(load(args.exhaustive, args.storage_a, args.study_a)) if r["state"] == "COMPLETE"}
    b = {report.describe(r): r for r in report.rows(load(args.pruned, args.storage_b, args.study_b)) if r["state"] != "PENDING"}
    both = [k for k in a if k in b]
    if not both:
        raise SystemExit("no configuration is finished in both studies yet")
    ep_a = sum(a[k]["epochs_run"] for k in both)
    ep_b = sum(b[k]["epochs_run"] for k in both)
    cpu_a = sum(a[k]["cpu_seconds"] for k in both)
    cpu_b = sum(b[k]["cpu_seconds"] for k in both)
    pruned = sum(b[k]["state"] == "PRUNED" for k in both)
    print(f"configurations finished in both studies: {len(both)} ({pruned} pruned)")
    print(f"epochs: exhaustive {ep_a}, pruned {ep_b}: {100 * (1 - ep_b / ep_a):.0f}% saved")
    print(f"CPU seconds: exhaustive {cpu_a:.0f}, pruned {cpu_b:.0f}: {100 * (1 - cpu_b / cpu_a):.0f}% saved "
          "(the pruned run also pays a test pass after every epoch)")
    top_a = sorted(both, key=lambda k: -a[k]["test_accuracy"])[: args.top]
    top_b = sorted([k for k in both if b[k]["state"] == "COMPLETE"], key=lambda k: -b[k]["test_accuracy"])[: args.top]
    kept = [k for k in top_a if b[k]["state"] == "COMPLETE"]
    print(f"exhaustive top {len(top_a)} trained to the end by the pruned study: {len(kept)}; "
          f"in its own top {args.top}: {len(set(top_a) & set(top_b))}")
    for i, k in enumerate(top_a, 1):
        r = b[k]
        print(f"  #{i} {a[k]['test_accuracy']:.4f}  {k}  -> pruned study: {r['state']}"
              + (f" after epoch {r['epochs_run']}" if r["state"] == "PRUNED" else f" {r['test_accuracy']:.4f}"))


if __name__ == "__main__":
    main()
