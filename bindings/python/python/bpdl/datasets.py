"""MNIST and Fashion-MNIST as float32 arrays in [0, 1], split as bpdl splits them.

The loader reads the four IDX files (raw or ``.gz``) from ``data_dir``, else
``$BPDL_DATA_DIR``, else ``./data/<name>`` and the system folders (Debian's
``dataset-fashion-mnist`` package). It never downloads: ``bpdl data fetch`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import _bpdl

__all__ = ["Dataset", "mnist", "fashion_mnist", "load"]


@dataclass(frozen=True, repr=False)
class Dataset:
    """A dataset's three splits: images ``(n, pixels)`` float32 in [0, 1], labels uint8."""

    name: str
    train: np.ndarray
    train_labels: np.ndarray
    validation: np.ndarray
    """The last ``validation`` training images (model selection happens here, never on test)."""
    validation_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    dir: str
    """The folder the files were read from."""
    image_shape: tuple[int, int]
    """(rows, columns) of one image."""

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={self.train.shape}, "
            f"validation={self.validation.shape}, test={self.test.shape}, dir={self.dir!r})"
        )


def load(
    name: str, data_dir: str | os.PathLike[str] | None = None, validation: int = 10_000
) -> Dataset:
    """Loads ``"mnist"`` or ``"fashion-mnist"``, holding out the last ``validation`` training
    images. Raises ``bpdl.DataError`` naming the file for missing or corrupt files."""
    d = None if data_dir is None else os.fspath(data_dir)
    tr, va, te, folder, shape = _bpdl.load_dataset(name, d, validation)
    return Dataset(name, tr[0], tr[1], va[0], va[1], te[0], te[1], os.fspath(folder), tuple(shape))


def mnist(data_dir: str | os.PathLike[str] | None = None, validation: int = 10_000) -> Dataset:
    """MNIST: 50,000 training, 10,000 validation and 10,000 test images by default."""
    return load("mnist", data_dir, validation)


def fashion_mnist(
    data_dir: str | os.PathLike[str] | None = None, validation: int = 10_000
) -> Dataset:
    """Fashion-MNIST, split like :func:`mnist`."""
    return load("fashion-mnist", data_dir, validation)
