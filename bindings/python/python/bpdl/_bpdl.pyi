"""Type stubs of the private native module (the public API is the ``bpdl`` package)."""

from os import PathLike
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

__version__: str
GIT_COMMIT: str

_F32 = npt.NDArray[np.float32]
_Path = str | PathLike[str]

class Config:
    @staticmethod
    def preset(name: str) -> Config: ...
    @staticmethod
    def from_toml(path: _Path, preset_name: str = "default", overrides: list[str] = ...) -> Config: ...
    @staticmethod
    def from_toml_str(text: str) -> Config: ...
    def with_overrides(self, overrides: list[str]) -> Config: ...
    def check_score(self, score: str) -> None: ...
    def to_toml(self) -> str: ...
    def to_json(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...

class Model:
    @staticmethod
    def load(path: _Path) -> Model: ...
    @property
    def config(self) -> Config: ...
    @property
    def sizes(self) -> list[int]: ...
    @property
    def has_prior(self) -> bool: ...
    @property
    def run_dir(self) -> str | None: ...
    def infer(
        self,
        x: _F32,
        steps: int | None = None,
        alpha: float | None = None,
        delta: float | None = None,
        batch: int = 500,
        seed: int | None = None,
        threads: int = 0,
    ) -> list[_F32]: ...
    def predict(
        self,
        x: _F32,
        steps: int | None = None,
        batch: int = 500,
        seed: int | None = None,
        threads: int = 0,
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]: ...
    def inference_curve(
        self,
        x: _F32,
        steps: int = 20,
        alpha: float | None = None,
        delta: float | None = None,
        batch: int = 500,
        keep: int = 5,
        seed: int | None = None,
        threads: int = 0,
    ) -> str: ...
    def sample(
        self,
        n: int,
        method: str = "generate",
        seed: int | None = None,
        overrides: list[str] = ...,
        threads: int = 0,
    ) -> _F32: ...
    def validation_score(
        self,
        validation: _F32,
        labels: npt.NDArray[np.uint8] | None = None,
        score: str = "validation-parzen",
        samples: int = 1000,
        threads: int = 0,
    ) -> float: ...
    @staticmethod
    def score_direction(score: str) -> str: ...
    @staticmethod
    def score_names() -> list[str]: ...
    def state_dict(self) -> dict[str, _F32]: ...

def train(
    config: Config,
    x: _F32,
    out: _Path,
    validation: _F32 | None = None,
    threads: int = 0,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = False,
    command: str = "",
    labels: npt.NDArray[np.uint8] | None = None,
    validation_labels: npt.NDArray[np.uint8] | None = None,
) -> Model: ...
def load_dataset(
    name: str, data_dir: _Path | None = None, validation: int = 10000
) -> tuple[
    tuple[_F32, npt.NDArray[np.uint8]],
    tuple[_F32, npt.NDArray[np.uint8]],
    tuple[_F32, npt.NDArray[np.uint8]],
    str,
    tuple[int, int],
]: ...
def parzen_ll(
    samples: _F32,
    test: _F32,
    validation: _F32 | None = None,
    sigma: float | None = None,
    threads: int = 0,
) -> str: ...
def stdp_config(path: _Path | None = None, overrides: list[str] = ...) -> str: ...
def stdp_window(path: _Path | None = None, overrides: list[str] = ..., threads: int = 0) -> str: ...
