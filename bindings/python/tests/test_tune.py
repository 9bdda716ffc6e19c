"""Hyperparameter search: `Model.validation_score` against numpy, `bpdl.tune.evaluate`, an Optuna
study shared by two worker processes through SQLite, and a Ray Tune grid on a local Ray instance.

The engines are the `tune` extra: without them those tests skip (CI installs them)."""

import dataclasses
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bpdl
from conftest import supervised_config, tiny_config

SAMPLES = 200  # samples per Parzen score (the protocol's default is 1,000)


def search_config(**extra) -> bpdl.Config:
    """The tiny model trained with Adam: in a few epochs its samples vary (with the tiny
    config's plain SGD, GENERATE's samples still all fall on one image), so scores differ."""
    cfg = tiny_config(**{"learning.optimizer": "adam", "learning.lr": 0.01, "train.epochs": 3})
    return cfg.update(extra) if extra else cfg


@pytest.fixture(scope="module")
def learnt(tmp_path_factory, data) -> bpdl.Model:
    out = tmp_path_factory.mktemp("tune") / "learnt"
    cfg = search_config(**{"train.epochs": 5})
    return bpdl.train(cfg, data.train, out=out, validation=data.validation, threads=2)


def parzen_validation_score(samples: np.ndarray, validation: np.ndarray) -> float:
    """The best mean Parzen log-likelihood of the first 1,000 validation rows over the σ grid
    logspace(-1, 0, 10) ∪ {0.2}, in float64 with the log-sum-exp written out."""
    s = samples.astype(np.float64)
    x = validation[:1000].astype(np.float64)
    n, d = s.shape
    sq = ((x[:, None, :] - s[None, :, :]) ** 2).sum(axis=-1)  # (validation, samples)
    best = -math.inf
    for sigma in sorted(set(np.logspace(-1, 0, 10).tolist()) | {0.2}):
        a = -sq / (2 * sigma * sigma)
        top = a.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(a - top).sum(axis=1))
        ll = lse - math.log(n) - d * math.log(sigma * math.sqrt(2 * math.pi))
        best = max(best, float(ll.mean()))
    return best


# The samples are the same float32 values on both sides; the library sums the squared distances
# of 64 pixels in float32 (relative rounding ~64 · 2^-24 ≈ 4e-6 of a distance at worst), so the
# log-densities agree to well within 1e-5 of their size.
REL = 1e-5


@pytest.mark.parametrize(
    "score, method", [("validation-parzen", "generate"), ("validation-ancestral-parzen", "ancestral")]
)
def test_validation_score_is_the_parzen_protocol_on_the_runs_sample_stream(
    learnt, data, score, method
):
    trained = learnt
    value = trained.validation_score(data.validation, score=score, samples=SAMPLES, threads=2)
    # seed=None: the run's seed and the stream `bpdl sample` and the sweep's scorer draw from
    expected = parzen_validation_score(trained.sample(SAMPLES, method), data.validation)
    assert value == pytest.approx(expected, rel=REL)
    # another seed's samples score differently: the comparison above can tell streams apart
    seed = trained.config["seed"] + 1
    other = parzen_validation_score(trained.sample(SAMPLES, method, seed=seed), data.validation)
    assert abs(other - expected) > 10 * REL * abs(expected)
    # only the first 1,000 validation rows count
    tail_changed = data.validation.copy()
    tail_changed[1000:] = 0
    assert trained.validation_score(tail_changed, score=score, samples=SAMPLES) == value


def test_validation_score_rejects_what_it_cannot_score(trained, data):
    with pytest.raises(bpdl.ConfigError, match="supervised.enabled"):
        trained.validation_score(data.validation, score="validation-error")
    with pytest.raises(bpdl.ConfigError, match="at least one sample"):
        trained.validation_score(data.validation, samples=0)
    with pytest.raises(bpdl.ConfigError, match="validation-parzen"):
        trained.validation_score(data.validation, score="test-parzen")
    with pytest.raises(ValueError, match=r"\(batch, 64\)"):
        trained.validation_score(data.validation[:, :10])


def test_validation_error_is_the_better_rules_error(tmp_path, data):
    # test_supervised.py's label layer, 3 epochs: an error well below chance (90 %) on which
    # the two rules still differ
    cfg = supervised_config(**{"train.epochs": 3})
    model = bpdl.train(cfg, data, out=tmp_path / "sup", threads=2)
    x, y = data.validation[:2000], data.validation_labels[:2000]
    value = model.validation_score(x, labels=y, score="validation-error")
    batch = cfg["train.batch_size"]
    feedforward = float(np.mean(model.predict(x, steps=0, batch=batch) != y))
    inferred = float(np.mean(model.predict(x, batch=batch) != y))
    assert value == min(feedforward, inferred) < 0.5
    # evaluate trains a supervised config with the labels and scores it on the validation split
    whole = model.validation_score(
        data.validation, labels=data.validation_labels, score="validation-error"
    )
    assert bpdl.tune.evaluate({}, data, base=cfg, score="validation-error") == whole
    with pytest.raises(bpdl.ConfigError, match="labels"):
        model.validation_score(x, score="validation-error")
    with pytest.raises(ValueError, match="2000 labels"):
        model.validation_score(x, labels=y[:10], score="validation-error")


def test_direction_and_mode():
    assert bpdl.tune.direction() == "maximize"
    assert bpdl.tune.direction("validation-parzen") == "maximize"
    assert bpdl.tune.direction("validation-ancestral-parzen") == "maximize"
    assert bpdl.tune.direction("validation-error") == "minimize"
    assert (bpdl.tune.mode(), bpdl.tune.mode("validation-error")) == ("max", "min")
    with pytest.raises(bpdl.ConfigError) as e:
        bpdl.tune.direction("test-error")
    for name in ["validation-parzen", "validation-ancestral-parzen", "validation-error"]:
        assert name in str(e.value)
    assert isinstance(e.value, ValueError)


def test_import_bpdl_needs_neither_engine():
    code = "import sys, bpdl; print('optuna' in sys.modules, 'ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_evaluate_trains_the_overrides_and_never_reads_the_test_split(tmp_path, data):
    base = search_config()
    value = bpdl.tune.evaluate(
        {"learning.lr": 0.02}, data, base=base, samples=SAMPLES, out=tmp_path / "a"
    )
    model = bpdl.Model.load(tmp_path / "a")
    assert model.config["learning.lr"] == pytest.approx(0.02)
    assert base["learning.lr"] == pytest.approx(0.01)  # base is left as it was
    assert value == model.validation_score(data.validation, samples=SAMPLES)
    # a test split that cannot be scored changes nothing
    no_test = dataclasses.replace(
        data, test=np.full((3, 5), np.nan, np.float32), test_labels=np.zeros(0, np.uint8)
    )
    assert bpdl.tune.evaluate({"learning.lr": 0.02}, no_test, base=base, samples=SAMPLES) == value
    # the seed replaces the config's: another model, another score
    other = bpdl.tune.evaluate({"learning.lr": 0.02}, data, base=base, samples=SAMPLES, seed=7)
    assert other != value
    with pytest.raises(bpdl.ConfigError, match="learning.lr"):
        bpdl.tune.evaluate({"learning.lr": -1.0}, data, base=base)
    with pytest.raises(bpdl.ConfigError, match="validation-error"):
        bpdl.tune.evaluate({}, data, base=base, score="validation-errors")
    # an unsupervised config cannot be scored by its error: refused before training
    with pytest.raises(bpdl.ConfigError, match="supervised.enabled"):
        bpdl.tune.evaluate({}, data, base=base, score="validation-error", out=tmp_path / "b")
    assert not (tmp_path / "b").exists()
    with pytest.raises(TypeError, match="sample"):
        bpdl.tune.objective(lambda t: {}, data, sample=10)


WORKER = textwrap.dedent(
    """
    import os, sys
    import optuna
    import bpdl

    storage, name, data_dir, base_toml, out = sys.argv[1:]
    data = bpdl.datasets.mnist(data_dir)
    base = bpdl.Config.from_toml_str(open(base_toml).read())

    def space(trial):
        return {"learning.lr": trial.suggest_float("lr", 1e-3, 5e-2, log=True)}

    objective = bpdl.tune.objective(space, data, base=base, samples=%d, out=out)

    def run(trial):
        trial.set_user_attr("pid", os.getpid())
        return objective(trial)

    optuna.load_study(study_name=name, storage=storage).optimize(run, n_trials=2)
    """
    % SAMPLES
)


def test_optuna_study_shared_by_two_worker_processes(tmp_path, data_dir, data):
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    base = search_config()
    (tmp_path / "base.toml").write_text(base.to_toml())
    (tmp_path / "worker.py").write_text(WORKER)
    study = optuna.create_study(
        storage=storage, study_name="lr", direction=bpdl.tune.direction()
    )
    args = [storage, "lr", str(data_dir), str(tmp_path / "base.toml"), str(tmp_path / "runs")]
    workers = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "worker.py"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err

    study = optuna.load_study(study_name="lr", storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    pids = [t.user_attrs["pid"] for t in trials]
    assert len(set(pids)) == 2 and all(pids.count(p) == 2 for p in pids)  # both workers ran
    values = [t.value for t in trials]
    assert all(math.isfinite(v) for v in values)
    assert study.best_value == max(values)  # validation-parzen: higher is better
    assert sorted(os.listdir(tmp_path / "runs")) == [f"trial-{n}" for n in range(4)]

    best = study.best_trial
    overrides = {"learning.lr": best.params["lr"]}
    assert best.user_attrs["bpdl_overrides"] == overrides
    # the best trial's settings, trained again in this process, score exactly the same
    assert bpdl.tune.evaluate(overrides, data, base=base, samples=SAMPLES) == best.value


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_tune_grid_reports_the_validation_score(local_ray, tmp_path, data, monkeypatch):
    from ray import tune

    base = search_config()
    grid = [0.003, 0.03]
    monkeypatch.chdir(tmp_path)  # a relative `out` is this folder's, not the trial's
    tuner = tune.Tuner(
        bpdl.tune.trainable(data, base=base, samples=SAMPLES, out="runs"),
        param_space={"learning.lr": tune.grid_search(grid)},
        tune_config=tune.TuneConfig(metric="score", mode=bpdl.tune.mode()),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="grid", verbose=0),
    )
    results = tuner.fit()
    assert results.num_errors == 0, [r.error for r in results]
    scores = {r.config["learning.lr"]: r.metrics["score"] for r in results}
    assert sorted(scores) == grid
    assert all(math.isfinite(v) for v in scores.values())
    runs = sorted(os.listdir(tmp_path / "runs"))
    assert len(runs) == 2 and all(bpdl.Model.load(tmp_path / "runs" / r).has_prior for r in runs)
    # trained in a Ray worker or here, the same settings give the same score
    here = bpdl.tune.evaluate({"learning.lr": 0.03}, data, base=base, samples=SAMPLES)
    assert scores[0.03] == here
    best = results.get_best_result()
    assert best.metrics["score"] == max(scores.values())


DIVERGING = {"learning.optimizer": "sgd", "learning.lr": 1.0e4}


def test_a_diverging_setting_fails_its_trial_not_the_search(tmp_path, data):
    optuna = pytest.importorskip("optuna")
    base = search_config()
    with pytest.raises(bpdl.DivergedError):  # evaluate itself raises
        bpdl.tune.evaluate(DIVERGING, data, base=base, samples=SAMPLES)
    study = optuna.create_study(direction=bpdl.tune.direction())
    space = lambda t: DIVERGING if t.number == 0 else {"learning.lr": 0.01}  # noqa: E731
    study.optimize(bpdl.tune.objective(space, data, base=base, samples=SAMPLES), n_trials=2)
    first, second = study.trials
    assert first.state == optuna.trial.TrialState.FAIL
    assert "non-finite" in first.user_attrs["bpdl_error"]
    assert second.state == optuna.trial.TrialState.COMPLETE and math.isfinite(second.value)


def test_ray_reports_a_diverged_trial_and_never_picks_it(local_ray, tmp_path, data):
    from ray import tune

    base = search_config(**{"learning.optimizer": "sgd"})
    tuner = tune.Tuner(
        bpdl.tune.trainable(data, base=base, samples=SAMPLES),
        param_space={"learning.lr": tune.grid_search([0.01, DIVERGING["learning.lr"]])},
        tune_config=tune.TuneConfig(metric="score", mode=bpdl.tune.mode()),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="nan", verbose=0),
    )
    results = tuner.fit()
    assert results.num_errors == 0, [r.error for r in results]
    by_lr = {r.config["learning.lr"]: r.metrics for r in results}
    assert by_lr[DIVERGING["learning.lr"]]["diverged"] is True
    assert math.isnan(by_lr[DIVERGING["learning.lr"]]["score"])
    assert by_lr[0.01]["diverged"] is False
    assert results.get_best_result().config["learning.lr"] == 0.01
