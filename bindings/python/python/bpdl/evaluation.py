"""The Parzen-window log-likelihood (Breuleux et al. 2011; the protocol of the GSN and GAN papers).

``log p̂(x) = log((1/n) Σ_i exp(−‖x − s_i‖² / 2σ²)) − d·log(σ√(2π))``, σ chosen on validation
images over logspace(−1, 0, 10) ∪ {0.2}, the score the mean over the test images ± its standard
error. Parzen estimates are unreliable in high dimension (Theis, van den Oord & Bethge 2016):
copying the training set scores well; bpdl's reports add FID, precision and recall.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import _bpdl
from ._arrays import as_matrix

__all__ = ["ParzenScore", "parzen_ll"]


@dataclass(frozen=True)
class ParzenScore:
    """A Parzen estimate in nats."""

    mean: float
    """Mean log-likelihood of the test images."""
    se: float
    """Its standard error (sd/√n)."""
    sigma: float
    """The kernel width used."""
    validation_curve: list[tuple[float, float]]
    """(σ, mean validation log-likelihood) for every σ tried (empty when σ was given)."""
    n_samples: int
    n_test: int


def parzen_ll(
    samples: Any,
    test: Any,
    validation: Any = None,
    *,
    sigma: float | None = None,
    threads: int = 0,
) -> ParzenScore:
    """The Parzen log-likelihood of ``test`` under a Gaussian kernel on each of ``samples``.

    σ is chosen on ``validation`` (the protocol: 1,000 validation images) unless ``sigma`` is
    given. Arrays are ``(n, d)`` with one width.
    """
    samples = as_matrix(samples, "samples")
    width = samples.shape[1]
    test = as_matrix(test, "test", width)
    if validation is not None:
        validation = as_matrix(validation, "validation", width)
    d = json.loads(_bpdl.parzen_ll(samples, test, validation, sigma, threads))
    d["validation_curve"] = [tuple(p) for p in d["validation_curve"]]
    return ParzenScore(**d)
