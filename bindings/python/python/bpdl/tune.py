"""Hyperparameter search from Python: an objective for Optuna and a trainable for Ray Tune.

Each trial trains a model through :func:`bpdl.train` with a few config keys changed and
returns its **validation** score (:meth:`bpdl.Model.validation_score`); the test split is never
touched, so the search cannot choose on the data that reports the result. The engines are an
optional extra (``pip install ./bindings/python[tune]``) imported only when used, so
``import bpdl`` never needs them. For sweeps on a cluster (Slurm job arrays, one trial per
process) the CLI has ``bpdl sweep plan/run/collect``.

Optuna, several worker processes sharing one SQLite study::

    study = optuna.create_study(storage="sqlite:///s.db", study_name="lr",
                                direction=bpdl.tune.direction())
    space = lambda t: {"learning.lr": t.suggest_float("lr", 1e-3, 1e-1, log=True)}
    study.optimize(bpdl.tune.objective(space, data, out="runs/lr"), n_trials=20)

Ray Tune, the param dict's keys being bpdl config keys::

    tuner = tune.Tuner(bpdl.tune.trainable(data),
                       param_space={"learning.lr": tune.grid_search([0.001, 0.01])},
                       tune_config=tune.TuneConfig(metric="score", mode=bpdl.tune.mode()))
    best = tuner.fit().get_best_result().config
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import _bpdl
from .config import Config
from .datasets import Dataset
from .errors import DivergedError
from .training import train

if TYPE_CHECKING:
    import optuna

__all__ = ["direction", "mode", "evaluate", "objective", "trainable"]

SCORES: tuple[str, ...] = tuple(_bpdl.Model.score_names())
"""The scores a search can rank by (the names of ``bpdl sweep plan --score``)."""


def direction(score: str = "validation-parzen") -> str:
    """``"maximize"`` or ``"minimize"``: which way ``score`` is better (Optuna's
    ``direction``). Raises :class:`bpdl.ConfigError` naming the valid scores for an unknown
    one."""
    return _bpdl.Model.score_direction(score)


def mode(score: str = "validation-parzen") -> str:
    """``"max"`` or ``"min"``: :func:`direction` in the words of Ray Tune's ``mode``."""
    return {"maximize": "max", "minimize": "min"}[direction(score)]


def evaluate(
    overrides: dict[str, Any],
    data: Dataset,
    *,
    base: Config | None = None,
    score: str = "validation-parzen",
    samples: int = 1000,
    out: str | os.PathLike[str] | None = None,
    threads: int = 1,
    seed: int | None = None,
) -> float:
    """Trains ``base`` (default :meth:`bpdl.Config.default`) with ``overrides`` set
    (``{"learning.lr": 0.01}``: dotted config keys, validated together) on ``data.train``
    and returns its validation score (:meth:`bpdl.Model.validation_score` on
    ``data.validation``, with its labels when the config is supervised). ``data.test`` is
    never read.

    ``out`` is the run folder (it must not hold a run); without it the run goes to a temporary
    folder removed afterwards. ``seed`` replaces the config's seed. The same overrides, data
    and seed give the same score in any process, whatever ``threads``. Raises
    :class:`bpdl.ConfigError` for a bad key or value or an unknown score.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a bpdl.datasets.Dataset, got {type(data).__name__}")
    cfg = Config.default() if base is None else base.copy()
    cfg.update({k: _plain(v) for k, v in overrides.items()})
    if seed is not None:
        cfg.set("seed", seed)
    cfg._native.check_score(score)  # an unusable score fails before training, not after
    if out is None:
        with tempfile.TemporaryDirectory(prefix="bpdl-tune-") as tmp:
            return _train_and_score(cfg, data, os.path.join(tmp, "run"), score, samples, threads)
    return _train_and_score(cfg, data, out, score, samples, threads)


def _train_and_score(
    cfg: Config,
    data: Dataset,
    out: str | os.PathLike[str],
    score: str,
    samples: int,
    threads: int,
) -> float:
    supervised = bool(cfg["supervised.enabled"])
    model = train(
        cfg,
        data.train,
        out,
        validation=data.validation,
        labels=data.train_labels if supervised else None,
        validation_labels=data.validation_labels if supervised else None,
        threads=threads,
    )
    return model.validation_score(
        data.validation,
        labels=data.validation_labels if supervised else None,
        score=score,
        samples=samples,
        threads=threads,
    )


def objective(
    space: Callable[[optuna.Trial], dict[str, Any]],
    data: Dataset,
    **evaluate_kwargs: Any,
) -> Callable[[optuna.Trial], float]:
    """An objective for ``study.optimize``: ``space(trial)`` suggests the bpdl overrides
    (``{"learning.lr": trial.suggest_float("lr", 1e-3, 1e-1, log=True)}``), the trial trains
    and returns :func:`evaluate`'s validation score. The overrides are recorded as the trial's
    user attribute ``"bpdl_overrides"``; with ``out`` each trial's run folder is
    ``out/trial-<number>``. Create the study with ``direction=bpdl.tune.direction(score)``.
    A setting whose training diverges returns NaN (Optuna marks the trial failed and the study
    goes on) with the error in the user attribute ``"bpdl_error"``.

    Works with several worker processes sharing a study through a storage
    (``optuna.load_study(study_name=..., storage="sqlite:///...")`` in each).
    """
    out = evaluate_kwargs.pop("out", None)
    _check_kwargs(evaluate_kwargs)

    def run(trial: optuna.Trial) -> float:
        overrides = {k: _plain(v) for k, v in space(trial).items()}
        trial.set_user_attr("bpdl_overrides", overrides)
        folder = None if out is None else os.path.join(os.fspath(out), f"trial-{trial.number}")
        try:
            return evaluate(overrides, data, out=folder, **evaluate_kwargs)
        except DivergedError as e:
            # a setting that diverges is a result, not a crash of the worker: Optuna marks a
            # NaN trial as failed and the study goes on
            trial.set_user_attr("bpdl_error", str(e))
            return float("nan")

    return run


def trainable(data: Dataset, **evaluate_kwargs: Any) -> Callable[..., None]:
    """A function trainable for ``ray.tune.Tuner``: each trial's param dict (whose keys are
    bpdl config keys, ``{"learning.lr": tune.grid_search([0.001, 0.01])}``) is trained by
    :func:`evaluate`, which reports ``{"score": value}`` (``TuneConfig(metric="score",
    mode=bpdl.tune.mode(score))``; a diverged training reports ``score`` NaN and
    ``diverged`` true, which ``get_best_result`` never picks). ``data`` goes through Ray's object store
    (``tune.with_parameters``); each trial uses ``threads=1`` unless told otherwise, so give
    it one CPU. With ``out`` each trial's run folder is ``out/<trial name>`` (a relative
    ``out`` is taken from the current folder here, not from the trial's).
    """
    from ray import tune

    _check_kwargs(evaluate_kwargs)
    evaluate_kwargs.setdefault("threads", 1)
    if evaluate_kwargs.get("out") is not None:  # Ray runs each trial in its own folder
        evaluate_kwargs["out"] = os.path.abspath(evaluate_kwargs["out"])
    return tune.with_parameters(bpdl_trial, data=data, options=evaluate_kwargs)


def bpdl_trial(config: dict[str, Any], data: Dataset, options: dict[str, Any]) -> None:
    """One Ray Tune trial (module level, so workers import it rather than unpickle code)."""
    from ray import tune

    options = dict(options)
    out = options.pop("out", None)
    if out is not None:
        options["out"] = os.path.join(os.fspath(out), tune.get_context().get_trial_name())
    try:
        value = evaluate(dict(config), data, **options)
    except DivergedError as e:  # a result, not a crash: NaN is never the best result
        tune.report({"score": float("nan"), "diverged": True, "error": str(e)})
        return
    tune.report({"score": value, "diverged": False})


_EVALUATE_KEYWORDS = {"base", "score", "samples", "out", "threads", "seed"}


def _check_kwargs(kwargs: dict[str, Any]) -> None:
    """Unknown keywords fail when the objective is built, not in every trial."""
    unknown = sorted(set(kwargs) - _EVALUATE_KEYWORDS)
    if unknown:
        raise TypeError(
            f"unknown argument(s) {', '.join(unknown)}: evaluate takes "
            f"{', '.join(sorted(_EVALUATE_KEYWORDS))}"
        )
    if "score" in kwargs:
        direction(kwargs["score"])


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (Optuna's user attributes must be JSON)."""
    return value.item() if isinstance(value, np.generic) else value
