"""Input conversion at the boundary: once, to C-contiguous float32 (no copy when it already is)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_matrix"]


def as_matrix(x: Any, name: str, width: int | None = None) -> np.ndarray:
    """``x`` as a C-contiguous float32 array of shape ``(batch, width)``.

    Raises ``ValueError`` naming ``name`` and the expected shape when ``x`` is not 2-D, has
    another width, or is not numeric.
    """
    expected = f"(batch, {width})" if width is not None else "(batch, features)"
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: expected a numeric array of shape {expected}, got dtype {arr.dtype}"
        )
    if arr.ndim != 2:
        hint = " (use x.reshape(len(x), -1) for images)" if arr.ndim > 2 else ""
        raise ValueError(
            f"{name}: expected a 2-D array of shape {expected}, got shape {arr.shape}{hint}"
        )
    if width is not None and arr.shape[1] != width:
        raise ValueError(f"{name}: expected shape {expected}, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)
