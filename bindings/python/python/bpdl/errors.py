"""The exceptions bpdl raises.

Each subclasses the built-in exception that fits, so ``except ValueError`` keeps working, and
all of them derive from :class:`bpdl.Error`. They pickle (Ray, submitit and multiprocessing send
exceptions between processes) with their extra attributes.

=====================  ====================  ==============================================
exception              built-in base         raised for
=====================  ====================  ==============================================
``ConfigError``        ``ValueError``        an unknown config key or a bad value (``.key``)
``DataError``          ``ValueError``        a corrupt, truncated or missing dataset file
                                             (``.path``)
``DivergedError``      ``FloatingPointError`` a NaN or infinity during training or inference
``CheckpointError``    ``OSError``           a checkpoint or samples file that cannot be
                                             decoded (``.filename``)
``RunLockedError``     ``OSError``           another process is training in the run folder
                                             (``.filename``: the folder)
=====================  ====================  ==============================================

A fresh run into a folder that already holds one raises ``FileExistsError``. A file that does
not exist or cannot be opened raises ``FileNotFoundError``,
``PermissionError`` or another ``OSError``; an array of the wrong shape a ``ValueError`` that
says the expected shape.
"""

from __future__ import annotations

__all__ = [
    "Error",
    "ConfigError",
    "DataError",
    "DivergedError",
    "CheckpointError",
    "RunLockedError",
]


class Error(Exception):
    """Base class of bpdl's own exceptions."""


class ConfigError(Error, ValueError):
    """A configuration key is unknown, has the wrong type, or its value is out of range.

    ``key`` is the dotted key (``"train.epochs"``), or ``None`` for a malformed override.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class DataError(Error, ValueError):
    """A dataset file is corrupt, truncated, missing, or disagrees with its partner file.

    ``path`` is the file concerned, when there is one.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class DivergedError(Error, FloatingPointError):
    """A NaN or infinity appeared; the last good checkpoint is kept."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)


class CheckpointError(Error, OSError):
    """A checkpoint or samples file cannot be decoded (``filename`` names it)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.filename = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # OSError's own reduce would rebuild it from (errno, strerror)
        return (type(self), (str(self), self.filename))


class RunLockedError(Error, OSError):
    """Another process is training in the run folder (``filename``); the message names it."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.filename = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        return (type(self), (str(self), self.filename))
