"""Training: variational EM with targetprop inference (Algorithm 2 TRAIN) into a run folder."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

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
        x, validation = x.train, (x.validation if validation is None else validation)
    x = as_matrix(x, "x")
    if validation is not None:
        validation = as_matrix(validation, "validation", x.shape[1])
    command = "python: bpdl.train from " + " ".join(sys.argv or ["<interactive>"])
    native = _bpdl.train(
        config._native, x, os.fspath(out), validation, threads, on_epoch, resume, command
    )
    return Model(native)
