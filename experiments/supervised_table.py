"""Collects the classify.json of several seeds of a supervised experiment into a Markdown table.

    python3 experiments/supervised_table.py runs/mnist-supervised/seed1 runs/mnist-supervised/seed2 ...

Each folder must hold classify.json (`bpdl eval classify --run DIR`) and metrics.jsonl.
Prints the per-seed rows and the mean ± sd over seeds.
"""

import json
import statistics
import sys
from pathlib import Path


def pct(v):
    return f"{100 * v:.2f}"


def mean_sd(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{100 * statistics.mean(xs):.2f} ± {100 * sd:.2f}"


rows = []
for d in map(Path, sys.argv[1:]):
    r = json.loads((d / "classify.json").read_text())
    b = r.get("baseline") or {}
    rows.append(
        {
            "run": d.name,
            "test": r["test_error"],
            "val": r["validation_error"],
            "rule": r["rule"],
            "ff": r["error_feedforward"],
            "inf": r["error_after_inference"],
            "base": b.get("split_error"),
            "base_val": b.get("validation_error"),
            "labels": r["labels"],
            "spe": r["seconds_per_epoch"],
            "base_s": b.get("seconds"),
            "base_epochs": b.get("epochs"),
        }
    )
print("| run | labels | bpdl test error % (rule) | feed-forward % | after inference % | validation % | back-prop test % | back-prop validation % | s/epoch (bpdl) | back-prop s (epochs) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    base = "–" if r["base"] is None else pct(r["base"])
    base_val = "–" if r["base_val"] is None else pct(r["base_val"])
    base_s = "–" if r["base_s"] is None else f"{r['base_s']:.0f} ({r['base_epochs']})"
    print(
        f"| {r['run']} | {r['labels']} | {pct(r['test'])} ({r['rule']}) | {pct(r['ff'])} | {pct(r['inf'])} "
        f"| {pct(r['val'])} | {base} | {base_val} | {r['spe']:.1f} | {base_s} |"
    )
print(
    f"| **mean ± sd** | | **{mean_sd([r['test'] for r in rows])}** | {mean_sd([r['ff'] for r in rows])} "
    f"| {mean_sd([r['inf'] for r in rows])} | {mean_sd([r['val'] for r in rows])} "
    f"| **{mean_sd([r['base'] for r in rows])}** | {mean_sd([r['base_val'] for r in rows])} | | |"
)
