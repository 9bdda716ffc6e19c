"""A trained model p(x, h1, …, hL) and what it does: INFERENCE, the Fig. 4 curve, sampling,
the validation score of a sweep."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _bpdl
from ._arrays import as_matrix
from .config import Config, toml_value

__all__ = ["Model", "InferenceCurve", "sample"]


@dataclass(frozen=True)
class InferenceCurve:
    """``log p(x, h)`` over the iterations of INFERENCE (the data of the paper's Fig. 4).

    Every curve has ``steps + 1`` points; index 0 is the feed-forward start ``h = q(x)``.
    """

    examples: int
    """Examples evaluated."""
    steps: int
    """Inference iterations."""
    log_pxh_mean: np.ndarray
    """Mean ``log p(x, h)`` per iteration: the Gaussian terms
    ``−‖h_{l−1} − g_l(h_l)‖²/(2σ_l²) − (n/2)·ln σ_l²`` without their 2π constants."""
    noise_var: np.ndarray
    """σ_l² of each conditional ``p(h_{l−1} | h_l)`` used (index ``l − 1``; all 1 under
    ``model.conditional_variance = "unit"``, σ_1² learned under ``"learned"``)."""
    log_pxh_se: np.ndarray
    """Its standard error over the examples."""
    terms: dict[str, np.ndarray]
    """Each term (``"log p(x|h1)"``, ``"log p(h1|h2)"``, and ``"log p(h2)"`` with a prior)."""
    alignment: dict[str, np.ndarray]
    """Per layer (``"h1"``, …), the mean cosine between INFERENCE's update and the exact
    gradient of ``log p(x, h)`` (``steps`` points)."""
    example_curves: list[np.ndarray]
    """The curves of the first few examples."""
    recon_mse: float
    """Mean squared error per pixel of ``g1(h1)`` after the last iteration."""
    recon_mse_start: float
    """The same at the feed-forward start."""
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    """The library's JSON, as ``bpdl infer`` writes it."""

    @classmethod
    def _from_json(cls, text: str) -> InferenceCurve:
        d = json.loads(text)
        arr = lambda v: np.asarray(v, dtype=np.float64)  # noqa: E731
        return cls(
            examples=d["examples"],
            steps=d["steps"],
            log_pxh_mean=arr(d["log_pxh_mean"]),
            log_pxh_se=arr(d["log_pxh_se"]),
            noise_var=arr(d["noise_var"]),
            terms={t["name"]: arr(t["mean"]) for t in d.get("terms", [])},
            alignment={t["name"]: arr(t["mean"]) for t in d.get("alignment", [])},
            example_curves=[arr(c) for c in d["example_curves"]],
            recon_mse=d["recon_mse"],
            recon_mse_start=d["recon_mse_start"],
            raw=d,
        )


class Model:
    """A trained generative model with the configuration that trained it.

    Get one from :func:`bpdl.train` or :meth:`Model.load`. Inputs are float32 arrays of shape
    ``(batch, n_x)`` (anything array-like is converted once); outputs are new numpy arrays that
    own their memory (``torch.from_numpy`` shares it).
    """

    __slots__ = ("_native",)

    def __init__(self, native: _bpdl.Model) -> None:
        self._native = native

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Loads a run folder written by ``bpdl train`` / :func:`bpdl.train`, or a
        ``checkpoint.safetensors`` file.

        Raises ``FileNotFoundError`` when there is no checkpoint and
        :class:`bpdl.CheckpointError` when it cannot be decoded.
        """
        return cls(_bpdl.Model.load(os.fspath(path)))

    @property
    def config(self) -> Config:
        """The configuration that trained the model (a copy)."""
        return Config(self._native.config)

    @property
    def sizes(self) -> list[int]:
        """Layer widths ``[n_x, n_1, …, n_L]``."""
        return list(self._native.sizes)

    @property
    def has_prior(self) -> bool:
        """Whether the top prior p(h_L) is fitted (needed for sampling)."""
        return self._native.has_prior

    @property
    def run_dir(self) -> str | None:
        """The run folder the model came from."""
        d = self._native.run_dir
        return None if d is None else os.fspath(d)

    def infer(
        self,
        x: Any,
        steps: int | None = None,
        *,
        alpha: float | None = None,
        delta: float | None = None,
        batch: int = 500,
        seed: int | None = None,
        threads: int = 0,
    ) -> list[np.ndarray]:
        """INFERENCE (Algorithm 2) on every row of ``x``: the feed-forward start ``h = q(x)``,
        then ``steps`` iterations of target propagation (default: the run's
        ``inference.steps``; 0 gives the encoder's codes).

        Returns ``[h1, …, hL]``, each of shape ``(len(x), n_l)``. ``alpha`` and ``delta``
        override the run's ``inference.alpha`` / ``inference.delta``; ``threads=0`` uses
        every core. The GIL is released while it runs.
        """
        x = as_matrix(x, "x", self.sizes[0])
        return self._native.infer(x, steps, alpha, delta, batch, seed, threads)

    def predict(
        self,
        x: Any,
        steps: int | None = None,
        *,
        batch: int = 500,
        seed: int | None = None,
        threads: int = 0,
    ) -> np.ndarray:
        """The class (0–9, ``uint8``) of every row of ``x`` for a model trained with a label
        layer (``supervised.enabled``): the feed-forward pass of the encoders, then ``steps``
        iterations of INFERENCE with the label free (default: the run's
        ``supervised.predict_steps``; 0 gives the feed-forward prediction).
        """
        x = as_matrix(x, "x", self.sizes[0])
        feedforward, inferred = self._native.predict(x, steps, batch, seed, threads)
        return feedforward if steps == 0 else inferred

    def inference_curve(
        self,
        x: Any,
        steps: int = 20,
        *,
        alpha: float | None = None,
        delta: float | None = None,
        batch: int = 500,
        keep: int = 5,
        seed: int | None = None,
        threads: int = 0,
    ) -> InferenceCurve:
        """``log p(x, h)`` after each of ``steps`` INFERENCE iterations on the rows of ``x``
        (the paper's Fig. 4; ``bpdl infer`` on the command line), with each term and the
        alignment of the updates with the exact gradient."""
        x = as_matrix(x, "x", self.sizes[0])
        text = self._native.inference_curve(x, steps, alpha, delta, batch, keep, seed, threads)
        return InferenceCurve._from_json(text)

    def sample(
        self,
        n: int,
        method: str = "generate",
        *,
        seed: int | None = None,
        overrides: dict[str, Any] | None = None,
        threads: int = 0,
    ) -> np.ndarray:
        """``n`` samples of shape ``(n, n_x)``.

        ``method``: ``"generate"`` (Algorithm 2's GENERATE), ``"ancestral"`` or
        ``"joint_dae"`` (the §5.1 chain). ``seed`` defaults to the run's seed; the same seed
        gives the same samples as ``bpdl sample --seed``. ``overrides`` change the run's
        settings for sampling, e.g. ``{"generate.rounds": 5}``.
        """
        sets = [f"{k}={toml_value(v)}" for k, v in (overrides or {}).items()]
        return self._native.sample(n, method.replace("_", "-"), seed, sets, threads)

    def validation_score(
        self,
        validation: Any,
        *,
        labels: Any = None,
        score: str = "validation-parzen",
        samples: int = 1000,
        threads: int = 0,
    ) -> float:
        """The score that ranks the settings of a sweep (``bpdl sweep``), measured on
        **validation** data: pass the validation split (``data.validation``), never the test
        split, which would choose settings on the data that reports them.

        ``score``:

        - ``"validation-parzen"`` (higher is better): ``samples`` GENERATE samples drawn from
          the run's seed (the samples :meth:`sample` gives with ``seed=None``), and the best
          mean Parzen log-likelihood of the first 1,000 rows of ``validation`` over the σ grid
          logspace(−1, 0, 10) ∪ {0.2};
        - ``"validation-ancestral-parzen"``: the same on ancestral samples;
        - ``"validation-error"`` (lower is better): the classification error on ``validation``
          (``labels``: its classes) of a model trained with ``supervised.enabled``, with the
          prediction rule (feed-forward, or after INFERENCE) that is better on it.

        :func:`bpdl.tune.direction` says which way each score is better. Raises
        :class:`bpdl.ConfigError` for an unknown score, ``validation-error`` without labels
        or on an unsupervised model, or ``samples=0``. The GIL is released while it runs.
        """
        from .training import _labels  # training imports this module

        validation = as_matrix(validation, "validation", self.sizes[0])
        labels = _labels(labels, "labels", len(validation))
        return self._native.validation_score(validation, labels, score, samples, threads)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The model's tensors (copies) under the names of ``checkpoint.safetensors``:
        ``f1.weight`` (``[inputs, outputs]``), ``f1.bias``, ``g1.weight``, …, ``prior.mean``,
        ``prior.var`` (and ``prior.factor`` for a full covariance)."""
        return dict(self._native.state_dict())

    def __repr__(self) -> str:
        return f"Model(sizes={self.sizes}, has_prior={self.has_prior}, run_dir={self.run_dir!r})"


def sample(
    model: Model,
    n: int,
    method: str = "generate",
    *,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    threads: int = 0,
) -> np.ndarray:
    """``model.sample(n, method, seed=seed)``: see :meth:`Model.sample`."""
    return model.sample(n, method, seed=seed, overrides=overrides, threads=threads)
