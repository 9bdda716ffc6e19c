"""Training: variational EM with targetprop inference (Algorithm 2 TRAIN) into a run folder."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

from . import _bpdl
from ._arrays import as_matrix
from .config import Config
from .datasets import Dataset
from .model import Model

__all__ = ["train"]


def train(
    config: Config,
    x: Any,
    out: str | os.PathLike[str],
    *,
    validation: Any = None,
    threads: int = 0,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = False,
    labels: Any = None,
    validation_labels: Any = None,
) -> Model:
    """Trains ``config`` on the rows of ``x`` (values in [0, 1]) into the run folder ``out``.

    The folder gets what ``bpdl train`` writes: ``config.toml``, ``run.json``,
    ``metrics.jsonl`` (one line per epoch) and ``checkpoint.safetensors`` (saved after every
    epoch, atomically), so the CLI's ``infer``, ``sample`` and ``eval`` work on it. The same
    config, seed and data give bit-identical weights to ``bpdl train``, whatever ``threads``.

    Args:
        config: the learner's configuration (``data.train_limit`` applies to ``x``).
        x: training examples, shape ``(n, n_x)``, or a :class:`bpdl.datasets.Dataset`, whose
            ``train`` and ``validation`` splits are then used (as ``bpdl train`` does).
        out: the run folder.
        validation: held-out examples for the per-epoch inference diagnostic (the first
            ``train.heldout_examples`` are used); the CLI uses MNIST's validation split.
        threads: worker threads (0 = one per core).
        on_epoch: called with the epoch's metrics (the ``metrics.jsonl`` record) after each
            epoch is saved; an exception raised there stops training and propagates.
        resume: continue the checkpoint in ``out`` (its model, data and seed must be the
            config's; more epochs may be asked for). Without it an ``out`` that holds a
            checkpoint raises ``FileExistsError``.
        labels: the class (0–9) of every row of ``x``, for a config with
            ``supervised.enabled`` (the top layer is then the label; taken from a
            :class:`bpdl.datasets.Dataset` when ``x`` is one).
        validation_labels: the class of every ``validation`` row (the per-epoch
            validation error).

    Returns:
        The trained :class:`Model` (with its fitted top prior).

    Raises:
        KeyboardInterrupt: Ctrl-C stops training at the next minibatch; the checkpoint of the
            last finished epoch is kept and ``resume=True`` continues it.
        bpdl.ConfigError, bpdl.DivergedError, ValueError, OSError: see :mod:`bpdl.errors`.

    The GIL is released while training runs, so other Python threads keep running.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a bpdl.Config, got {type(config).__name__}")
    if isinstance(x, Dataset):
        if labels is None and validation is None:
            labels, validation_labels = x.train_labels, x.validation_labels
        x, validation = x.train, (x.validation if validation is None else validation)
    x = as_matrix(x, "x")
    if validation is not None:
        validation = as_matrix(validation, "validation", x.shape[1])
    labels = _labels(labels, "labels", len(x))
    if validation_labels is not None and validation is not None:
        validation_labels = _labels(validation_labels, "validation_labels", len(validation))
    else:
        validation_labels = None
    command = "python: bpdl.train from " + " ".join(sys.argv or ["<interactive>"])
    native = _bpdl.train(
        config._native,
        x,
        os.fspath(out),
        validation,
        threads,
        on_epoch,
        resume,
        command,
        labels,
        validation_labels,
    )
    return Model(native)


def _labels(labels: Any, name: str, n: int) -> np.ndarray | None:
    """``labels`` as a contiguous uint8 vector of ``n`` classes 0–9 (``None`` stays ``None``)."""
    if labels is None:
        return None
    a = np.asarray(labels)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(f"{name}: expected {n} labels in a 1-D array, got shape {a.shape}")
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > 9):
        raise ValueError(f"{name}: labels must be integers 0–9")
    return np.ascontiguousarray(a, dtype=np.uint8)
