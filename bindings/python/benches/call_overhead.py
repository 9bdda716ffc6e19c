"""What a Python call costs against the CLI on the same work (a benchmark, not a test).

    python bindings/python/benches/call_overhead.py [--images 5000] [--epochs 1] [--repeats 3]

Times `bpdl train` (the CLI process, wall clock, including its start and data loading) against
`bpdl.datasets.mnist()` + `bpdl.train(...)` in this process on the same config, alternating the
two so that both see the same machine; then `bpdl sample` against `Model.sample`; and the fixed
cost of a tiny call (`Model.infer` on one image, no iteration). Prints the ratios. Needs MNIST
($BPDL_DATA_DIR) and the CLI (target/debug/bpdl, or $BPDL_BIN) built with the same profile as
the wheel.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import tempfile
import time

import bpdl

REPO = pathlib.Path(__file__).resolve().parents[3]


def cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    binary = os.environ.get("BPDL_BIN", str(REPO / "target" / "debug" / "bpdl"))
    cfg = bpdl.Config.default().update(
        {"train.epochs": args.epochs, "data.train_limit": args.images}
    )
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bpdl-overhead-"))
    (tmp / "config.toml").write_text(cfg.to_toml())
    cli_t, py_t = [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        subprocess.run(
            [binary, "--threads", str(args.threads), "train", "--offline", "--config",
             str(tmp / "config.toml"), "--out", str(tmp / f"cli{r}")],
            check=True, capture_output=True,
        )
        cli_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        data = bpdl.datasets.mnist()
        model = bpdl.train(cfg, data, out=tmp / f"py{r}", threads=args.threads)
        py_t.append(time.perf_counter() - t)
    s_cli, s_py = [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        subprocess.run(
            [binary, "--threads", str(args.threads), "--out", str(tmp / f"s{r}"), "sample",
             "--run", str(tmp / "cli0"), "--n", str(args.samples)],
            check=True, capture_output=True,
        )
        s_cli.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.sample(args.samples, seed=1, threads=args.threads)
        s_py.append(time.perf_counter() - t)
    x1 = data.test[:1]
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        model.infer(x1, steps=0, threads=1)
    tiny_us = (time.perf_counter() - t) / n * 1e6
    med = statistics.median
    print(f"machine: {cpu()}, {os.cpu_count()} CPUs, --threads {args.threads}, bpdl {bpdl.__version__} ({bpdl.__commit__})")
    print(f"train {args.images} images x {args.epochs} epoch(s): CLI {med(cli_t):.2f} s, Python {med(py_t):.2f} s,"
          f" Python/CLI {med(py_t) / med(cli_t):.3f} (medians of {args.repeats})")
    print(f"sample {args.samples} GENERATE: CLI {med(s_cli):.2f} s, Python {med(s_py):.2f} s,"
          f" Python/CLI {med(s_py) / med(s_cli):.3f}")
    print(f"a tiny call (Model.infer, 1 image, 0 iterations, 1 thread): {tiny_us:.0f} µs")


if __name__ == "__main__":
    main()
