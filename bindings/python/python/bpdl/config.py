"""Learner configurations: the TOML of ``bpdl train --config``, held and validated by the Rust core.

A :class:`Config` is always valid: every change goes through the same resolution and validation
as ``--set key=value`` on the command line, so a bad key or value raises
:class:`bpdl.ConfigError` naming it at once, not later in training.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from . import _bpdl

__all__ = ["Config", "toml_value"]


def toml_value(value: Any) -> str:
    """``value`` written as a TOML value (the right-hand side of ``--set key=value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "item"):  # a numpy scalar
        return toml_value(value.item())
    raise TypeError(f"cannot write a {type(value).__name__} as a config value")


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class Config:
    """A validated learner configuration (the ``config.toml`` of a run).

    Build one with :meth:`default` (bpdl's defaults), :meth:`paper` (the paper's Algorithm 2
    literally) or :meth:`from_toml`; change it with :meth:`set`::

        cfg = bpdl.Config.paper().set("train.epochs", 5).set("learning.lr", 0.01)
        cfg["train.epochs"]        # 5
    """

    __slots__ = ("_native",)

    def __init__(self, _native: _bpdl.Config | None = None) -> None:
        self._native = _native if _native is not None else _bpdl.Config.preset("default")

    @classmethod
    def default(cls) -> Config:
        """bpdl's default configuration (the paper's, plus input corruption 0.5 and a full-covariance top prior)."""
        return cls(_bpdl.Config.preset("default"))

    @classmethod
    def paper(cls) -> Config:
        """The paper's experiment, Algorithm 2 literally (``--preset paper``)."""
        return cls(_bpdl.Config.preset("paper"))

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str], preset: str = "default", **overrides: Any
    ) -> Config:
        """A TOML file (such as ``experiments/*/config.toml``) merged over ``preset``.

        Keyword arguments are overrides with ``__`` for dots:
        ``Config.from_toml("c.toml", train__epochs=3)``.
        """
        sets = [f"{k.replace('__', '.')}={toml_value(v)}" for k, v in overrides.items()]
        return cls(_bpdl.Config.from_toml(os.fspath(path), preset, sets))

    @classmethod
    def from_toml_str(cls, text: str) -> Config:
        """A complete configuration from TOML text, as :meth:`to_toml` writes it."""
        return cls(_bpdl.Config.from_toml_str(text))

    def set(self, key: str, value: Any) -> Config:
        """Sets ``key`` (dotted, with ``[i]`` for list items: ``"model.layers[0].size"``) to
        ``value``, validated, and returns this config (so calls chain).

        Raises :class:`bpdl.ConfigError` naming the key for an unknown key or a bad value; the
        config is then unchanged.
        """
        self._native = self._native.with_overrides([f"{key}={toml_value(value)}"])
        return self

    def update(self, values: dict[str, Any]) -> Config:
        """Sets every ``key: value`` of ``values`` at once (validated together); returns self."""
        sets = [f"{k}={toml_value(v)}" for k, v in values.items()]
        self._native = self._native.with_overrides(sets)
        return self

    def copy(self) -> Config:
        """An independent copy."""
        return Config(self._native.with_overrides([]))

    def to_dict(self) -> dict[str, Any]:
        """The whole configuration as nested dicts and lists."""
        return json.loads(self._native.to_json())

    def to_toml(self) -> str:
        """The configuration as TOML (what ``bpdl train --config`` reads)."""
        return self._native.to_toml()

    def get(self, key: str, default: Any = None) -> Any:
        """The value at dotted ``key``, or ``default`` when there is none."""
        try:
            return self[key]
        except KeyError:
            return default

    def __getitem__(self, key: str) -> Any:
        node: Any = self.to_dict()
        for name, index in _SEGMENT.findall(key):
            try:
                node = node[int(index)] if index else node[name]
            except (KeyError, IndexError, TypeError):
                raise KeyError(key) from None
        return node

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._native == other._native

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        d = self.to_dict()
        sizes = [layer.get("size") for layer in d.get("model", {}).get("layers", [])]
        return (
            f"Config(seed={d.get('seed')}, layers={sizes}, "
            f"epochs={d.get('train', {}).get('epochs')}, lr={d.get('learning', {}).get('lr')})"
        )

    def __reduce__(self):
        return (Config.from_toml_str, (self.to_toml(),))
