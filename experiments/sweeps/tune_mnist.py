"""A small learning-rate search on MNIST through bpdl.tune, with Optuna (two worker processes
sharing one SQLite study) or Ray Tune (a local instance, one CPU per trial).

    python experiments/sweeps/tune_mnist.py optuna --out runs/tune-optuna
    python experiments/sweeps/tune_mnist.py ray --out runs/tune-ray

Each trial trains the paper preset on the first 5,000 training images for 3 epochs and returns
GENERATE's validation Parzen score (1,000 samples, σ chosen on the first 1,000 validation
images); the test split is never read. Needs the `tune` extra and MNIST ($BPDL_DATA_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import bpdl

SETTINGS = {"data.train_limit": 5000, "train.epochs": 3, "train.heldout_examples": 0}
SAMPLES = 1000
LRS = [0.003, 0.01, 0.03, 0.1]


def base() -> bpdl.Config:
    cfg = bpdl.Config.paper()
    cfg.update(SETTINGS)
    return cfg


def space(trial):
    return {"learning.lr": trial.suggest_float("lr", 0.003, 0.1, log=True)}


def optuna_worker(out: str, trials: int) -> None:
    import optuna

    study = optuna.load_study(study_name="lr", storage=f"sqlite:///{out}/study.db")
    data = bpdl.datasets.mnist()
    study.optimize(
        bpdl.tune.objective(space, data, base=base(), samples=SAMPLES, out=out, threads=1),
        n_trials=trials,
    )


def run_optuna(out: str, workers: int, trials: int) -> dict:
    import optuna

    os.makedirs(out, exist_ok=True)
    optuna.create_study(
        study_name="lr",
        storage=f"sqlite:///{out}/study.db",
        direction=bpdl.tune.direction(),
        sampler=optuna.samplers.TPESampler(seed=1),
    )
    procs = [
        subprocess.Popen([sys.executable, __file__, "optuna-worker", "--out", out,
                          "--trials", str(trials)])
        for _ in range(workers)
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("an Optuna worker failed")
    study = optuna.load_study(study_name="lr", storage=f"sqlite:///{out}/study.db")
    rows = [
        {"trial": t.number, "lr": t.params["lr"], "state": t.state.name, "score": t.value,
         "error": t.user_attrs.get("bpdl_error"),
         "seconds": (t.datetime_complete - t.datetime_start).total_seconds()}
        for t in study.trials
    ]
    return {"engine": "optuna", "workers": workers, "trials": rows,
            "best": {"lr": study.best_params["lr"], "score": study.best_value}}


def run_ray(out: str) -> dict:
    import ray
    from ray import tune

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    data = bpdl.datasets.mnist()
    tuner = tune.Tuner(
        bpdl.tune.trainable(data, base=base(), samples=SAMPLES, out=out),
        param_space={"learning.lr": tune.grid_search(LRS)},
        tune_config=tune.TuneConfig(metric="score", mode=bpdl.tune.mode()),
        run_config=tune.RunConfig(storage_path=os.path.abspath(os.path.join(out, "ray")),
                                  verbose=0),
    )
    results = tuner.fit()
    rows = [
        {"lr": r.config["learning.lr"], "score": r.metrics["score"],
         "diverged": r.metrics["diverged"], "seconds": r.metrics.get("time_total_s")}
        for r in results
    ]
    best = results.get_best_result()
    ray.shutdown()
    return {"engine": "ray", "trials": sorted(rows, key=lambda r: r["lr"]),
            "best": {"lr": best.config["learning.lr"], "score": best.metrics["score"]}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("engine", choices=["optuna", "ray", "optuna-worker"])
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--trials", type=int, default=3, help="Optuna trials per worker")
    a = p.parse_args()
    if a.engine == "optuna-worker":
        optuna_worker(a.out, a.trials)
        return
    started = time.time()
    r = run_optuna(a.out, a.workers, a.trials) if a.engine == "optuna" else run_ray(a.out)
    r["wall_seconds"] = time.time() - started
    r["settings"] = {**SETTINGS, "samples": SAMPLES, "preset": "paper"}
    r["bpdl"] = {"version": bpdl.__version__, "commit": bpdl.__commit__}
    with open(os.path.join(a.out, "tune.json"), "w") as f:
        json.dump(r, f, indent=2)
    print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
