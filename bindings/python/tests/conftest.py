"""Shared fixtures: small MNIST-like data made here (no download), small configs, the CLI binary."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import struct
import subprocess

import numpy as np
import pytest

import bpdl

REPO = pathlib.Path(__file__).resolve().parents[3]
SIDE = 8  # 8×8 images: 64 pixels
N_TRAIN, N_TEST = 10_400, 200  # the loader holds out the last 10,000 training images


def write_idx(path: pathlib.Path, magic: int, dims: list[int], payload: bytes) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
    path.write_bytes(header + payload)


def bars(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images with one bright horizontal or vertical bar (its position is the label) and noise."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    img = rng.uniform(0, 40, (n, SIDE, SIDE))
    for i, y in enumerate(labels):
        pos = int(y) % SIDE
        if y < SIDE:
            img[i, pos, :] = 255
        else:
            img[i, :, pos] = 255
    return img.astype(np.uint8), labels


def make_mnist(folder: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """The four MNIST files (official names, uncompressed) with bar images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in [("train", N_TRAIN), ("t10k", N_TEST)]:
        images, labels = bars(n, rng)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", 0x803, [n, SIDE, SIDE], images.tobytes())
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", 0x801, [n], labels.tobytes())
    return folder


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> pathlib.Path:
    return make_mnist(tmp_path_factory.mktemp("tiny-mnist"))


@pytest.fixture(scope="session")
def data(data_dir) -> bpdl.datasets.Dataset:
    return bpdl.datasets.mnist(data_dir)


def tiny_config(**extra) -> bpdl.Config:
    """A model and schedule small enough for a test (seconds), otherwise bpdl's defaults."""
    cfg = bpdl.Config.default().update(
        {
            "model.layers[0].size": 32,
            "model.layers[1].size": 8,
            "data.train_limit": 400,
            "train.epochs": 2,
            "train.heldout_examples": 100,
            "train.batch_size": 50,
        }
    )
    return cfg.update(extra) if extra else cfg


@pytest.fixture
def config() -> bpdl.Config:
    return tiny_config()


@pytest.fixture(scope="session")
def trained(tmp_path_factory, data) -> bpdl.Model:
    """One tiny trained run shared by the read-only tests."""
    out = tmp_path_factory.mktemp("runs") / "shared"
    return bpdl.train(tiny_config(), data.train, out=out, validation=data.validation, threads=2)


def bpdl_binary() -> pathlib.Path:
    """The CLI built by `cargo test`/`cargo build` (or $BPDL_BIN)."""
    env = os.environ.get("BPDL_BIN")
    if env:
        return pathlib.Path(env)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ["debug", "release"]:
        p = target / profile / "bpdl"
        if p.is_file():
            return p
    found = shutil.which("bpdl")
    if found:
        return pathlib.Path(found)
    pytest.skip("the bpdl CLI is not built (cargo build -p bpdl-cli, or set BPDL_BIN)")


def run_cli(*args: str, data_dir: pathlib.Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(bpdl_binary())]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    cmd += list(args)
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stderr}"
    return done


def read_safetensors(path: pathlib.Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F64": np.float64, "U8": np.uint8}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=dtypes[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"])
    return out


def supervised_config(**extra) -> bpdl.Config:
    """The tiny model with its top layer as the label (10 units)."""
    cfg = tiny_config(
        **{
            "model.layers[0].size": 32,
            "model.layers[0].activation": "tanh",
            "model.layers[1].size": 10,
            "model.layers[1].activation": "sigmoid",
            "model.layers[1].decoder_activation": "tanh",
            "inference.alpha": 0.1,
            "learning.optimizer": "adam",
            "learning.lr": 0.01,
            "train.epochs": 20,
            "supervised.enabled": True,
            "supervised.label_alpha": 0.5,
        }
    )
    return cfg.update(extra) if extra else cfg
