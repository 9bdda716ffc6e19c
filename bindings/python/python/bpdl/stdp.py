"""STDP as stochastic gradient descent (paper §2, Eq. 1, Fig. 1): ΔW = η · S_pre · dV_post/dt.

:func:`window` runs the experiment of ``bpdl stdp``: pairs of pre- and postsynaptic spikes at
random offsets Δt, the weight change Eq. 1 gives each, binned into the STDP window and fitted by
``A₊ e^(−Δt/τ₊)`` / ``−A₋ e^(Δt/τ₋)``, compared with Bi & Poo (2001).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _bpdl
from .config import toml_value

__all__ = ["Config", "Window", "window"]


class Config:
    """The STDP experiment's configuration (``experiments/stdp-curve/config.toml``), validated.

    ``bpdl.stdp.Config().set("protocol.trials", 5000)``; a bad key raises ``bpdl.ConfigError``.
    """

    __slots__ = ("_path", "_sets")

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = None if path is None else os.fspath(path)
        self._sets: list[str] = []
        _bpdl.stdp_config(self._path, self._sets)

    def set(self, key: str, value: Any) -> Config:
        """Sets dotted ``key`` to ``value`` (validated); returns this config."""
        sets = self._sets + [f"{key}={toml_value(value)}"]
        _bpdl.stdp_config(self._path, sets)
        self._sets = sets
        return self

    def to_toml(self) -> str:
        """The resolved configuration as TOML."""
        return _bpdl.stdp_config(self._path, self._sets)


@dataclass(frozen=True)
class Window:
    """The simulated STDP window and its fit."""

    delta_t_ms: np.ndarray
    """Bin centres Δt = t_post − t_pre (ms)."""
    dw: np.ndarray
    """Mean ΔW per bin."""
    dw_se: np.ndarray
    """Its standard error."""
    counts: np.ndarray
    """Trials per bin."""
    tau_plus_ms: float | None
    tau_minus_ms: float | None
    a_plus: float | None
    a_minus: float | None
    correlation_with_bi_poo: float | None
    """Correlation of the bin means with the Bi & Poo (2001) window."""
    report: dict[str, Any] = field(repr=False, default_factory=dict)
    """Everything ``bpdl stdp`` measures (the library's JSON)."""


def window(config: Config | None = None, *, threads: int = 0) -> Window:
    """Runs the STDP experiment (seconds with the default number of trials)."""
    config = config if config is not None else Config()
    r = json.loads(_bpdl.stdp_window(config._path, config._sets, threads))
    bins = r["curve"]["bins"]
    col = lambda k: np.asarray([b[k] for b in bins], dtype=np.float64)  # noqa: E731
    fit = r["fit"]
    pot, dep = fit.get("potentiation") or {}, fit.get("depression") or {}
    return Window(
        delta_t_ms=col("delta_t_ms"),
        dw=col("mean_dw"),
        dw_se=col("sem_dw"),
        counts=np.asarray([b["n"] for b in bins], dtype=np.int64),
        tau_plus_ms=pot.get("tau_ms"),
        tau_minus_ms=dep.get("tau_ms"),
        a_plus=pot.get("amplitude"),
        a_minus=dep.get("amplitude"),
        correlation_with_bi_poo=r.get("correlation_with_bi_poo"),
        report=r,
    )
