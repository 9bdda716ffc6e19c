#!/usr/bin/env python3
"""kill -9 at random moments, then --resume: the final tensors must equal an uninterrupted run's.

    python3 .ci/kill9.py BPDL_BINARY MNIST_DIR [--trials 24] [--seed 1]

Trains a small run (2,000 MNIST images, 4 epochs) once without interruption; then, per trial,
starts the same run, kills it with SIGKILL at a moment of one of three kinds, checks that the
checkpoint left behind (if any) loads (`bpdl train --resume` succeeds), and that the resumed
run's final checkpoint has the uninterrupted run's tensors and metadata:
  - "any": a uniformly random time within the run's duration (mostly during minibatches);
  - "checkpoint": the moment a temporary checkpoint file appears (during the checkpoint write);
  - "prior": just after the last epoch's metrics line, while the top prior is being fitted.
A kill that lands after the run finished does not count. Exit status 1 on any mismatch.
Standard library only (CI runs it from .ci/smoke).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SETTINGS = [
    "--set", "data.train_limit=2000", "--set", "train.epochs=4", "--set", "train.batch_size=100",
    "--set", "model.layers[0].size=200", "--set", "model.layers[1].size=50",
    "--set", "inference.steps=5", "--set", "train.heldout_examples=200",
]


def parts(ckpt: pathlib.Path):
    b = ckpt.read_bytes()
    (n,) = struct.unpack("<Q", b[:8])
    return json.loads(b[8 : 8 + n]), b[8 + n :]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("data")
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = [args.binary, "--offline", "--threads", "2", "--data-dir", args.data]
    work = pathlib.Path(tempfile.mkdtemp(prefix="bpdl-kill9-"))
    try:
        ref = work / "reference"
        t = time.monotonic()
        subprocess.run(base + ["train", "--out", str(ref)] + SETTINGS, check=True,
                       capture_output=True)
        duration = time.monotonic() - t
        want = parts(ref / "checkpoint.safetensors")
        kinds = ["any", "checkpoint", "prior"]
        counted = {k: 0 for k in kinds}
        identical = {k: 0 for k in kinds}
        late = 0
        before_config = 0
        failures = []
        for i in range(args.trials):
            kind = kinds[i % 3]
            run = work / f"trial{i}"
            p = subprocess.Popen(base + ["train", "--out", str(run)] + SETTINGS,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            start = time.monotonic()
            if kind == "any":
                time.sleep(rng.uniform(0.02, duration))
            else:
                epochs_wanted = 4 if kind == "prior" else rng.randint(1, 4)
                while p.poll() is None and time.monotonic() - start < 10 * duration + 30:
                    if kind == "checkpoint":
                        tmp = list(run.glob(".checkpoint.safetensors.tmp*")) if run.is_dir() else []
                        done = (run / "metrics.jsonl").read_text().count("\n") if (run / "metrics.jsonl").exists() else 0
                        if tmp and done >= epochs_wanted - 1:
                            break
                    else:
                        m = run / "metrics.jsonl"
                        if m.exists() and m.read_text().count("\n") >= epochs_wanted:
                            time.sleep(rng.uniform(0.0, 0.05))
                            break
                    time.sleep(0.0005)
            if p.poll() is not None:
                late += 1
                p.wait()
                shutil.rmtree(run, ignore_errors=True)
                continue
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            counted[kind] += 1
            at = time.monotonic() - start
            if not (run / "config.toml").exists():
                # killed before it saved anything (while reading the data): nothing to resume,
                # the run is started again, as a user would
                before_config += 1
                r = subprocess.run(base + ["train", "--out", str(run)] + SETTINGS,
                                   capture_output=True, text=True)
            else:
                r = subprocess.run(base + ["train", "--resume", str(run)],
                                   capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"trial {i} ({kind}, killed at {at:.3f}s): resume failed: {r.stderr.strip()}")
            elif parts(run / "checkpoint.safetensors") != want:
                failures.append(f"trial {i} ({kind}, killed at {at:.3f}s): final checkpoint differs")
            else:
                identical[kind] += 1
            shutil.rmtree(run, ignore_errors=True)
        total = sum(counted.values())
        print(f"kill -9: uninterrupted run {duration:.2f}s; {total} kills "
              + ", ".join(f"{k} {counted[k]} ({identical[k]} resumed bit-identical)" for k in kinds)
              + f"; {before_config} before anything was saved (started again);"
              f" {late} landed after the run had finished")
        for f in failures:
            print("FAIL:", f)
        if failures or total < min(20, args.trials):
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
