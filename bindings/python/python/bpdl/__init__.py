"""bpdl — Towards Biologically Plausible Deep Learning (Bengio, Lee, Bornschein, Mesnard & Lin,
arXiv:1502.04156), over a Rust core.

A deep directed generative model p(x, h1, …, hL) trained by variational EM: an encoder gives the
initial h, iterative inference by target propagation climbs log p(x, h) (the E-step), then every
layer learns locally toward the inferred values (the M-step) — no back-propagation anywhere.

>>> import bpdl
>>> data = bpdl.datasets.mnist()
>>> cfg = bpdl.Config.default().set("train.epochs", 2)
>>> model = bpdl.train(cfg, data.train, out="runs/a", validation=data.validation)
>>> xs = bpdl.sample(model, 1000, method="generate", seed=1)
>>> bpdl.parzen_ll(xs, data.test, validation=data.validation[:1000])

Arrays are numpy float32 of shape ``(batch, features)``; every long call releases the GIL.
The run folders are the CLI's: ``bpdl sample --run runs/a`` works on them. Hyperparameter
searches with Optuna or Ray Tune: :mod:`bpdl.tune` (the ``tune`` extra).
"""

from . import _bpdl, datasets, errors, stdp, tune  # tune imports optuna/ray only when used
from .config import Config
from .errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DivergedError,
    Error,
    RunLockedError,
)
from .evaluation import ParzenScore, parzen_ll
from .model import InferenceCurve, Model, sample
from .training import train

__version__: str = _bpdl.__version__
__commit__: str = _bpdl.GIT_COMMIT

__all__ = [
    "CheckpointError",
    "Config",
    "ConfigError",
    "DataError",
    "DivergedError",
    "Error",
    "InferenceCurve",
    "Model",
    "ParzenScore",
    "RunLockedError",
    "datasets",
    "errors",
    "parzen_ll",
    "sample",
    "stdp",
    "train",
    "tune",
]
