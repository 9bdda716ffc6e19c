"""Each error kind becomes its exception, subclassing the built-in that fits, and pickles."""

import os
import pickle

import pytest

import bpdl
from conftest import make_mnist


def roundtrip(e):
    r = pickle.loads(pickle.dumps(e))
    assert type(r) is type(e) and str(r) == str(e)
    return r


def test_config_error(tmp_path):
    with pytest.raises(bpdl.ConfigError) as e:
        bpdl.Config.default().set("inference.alpah", 0.1)
    assert isinstance(e.value, ValueError) and isinstance(e.value, bpdl.Error)
    assert roundtrip(e.value).key == e.value.key == "inference.alpah"
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nepochs = 2")
    with pytest.raises(bpdl.DataError, match="bad.toml"):
        bpdl.Config.from_toml(bad)


def test_data_error_names_the_file(tmp_path):
    d = make_mnist(tmp_path / "mnist")
    f = d / "t10k-images-idx3-ubyte"
    raw = bytearray(f.read_bytes())
    raw[3] = 0x99  # a wrong magic number
    f.write_bytes(bytes(raw))
    with pytest.raises(bpdl.DataError) as e:
        bpdl.datasets.mnist(d)
    assert isinstance(e.value, ValueError)
    assert roundtrip(e.value).path == e.value.path == str(f)
    with pytest.raises(bpdl.DataError, match="missing"):
        bpdl.datasets.mnist(tmp_path)
    with pytest.raises(bpdl.ConfigError, match="unknown dataset"):
        bpdl.datasets.load("cifar")


def test_diverged_error_pickles(tmp_path, data):
    from conftest import tiny_config

    with pytest.raises(bpdl.DivergedError) as e:
        bpdl.train(tiny_config(**{"learning.lr": 1e30, "learning.optimizer": "sgd"}), data.train, out=tmp_path / "d")
    assert isinstance(roundtrip(e.value), FloatingPointError)


def test_checkpoint_error_and_file_errors(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(bpdl.CheckpointError) as e:
        bpdl.Model.load(run)
    assert isinstance(e.value, OSError)
    assert roundtrip(e.value).filename == e.value.filename == str(run / "checkpoint.safetensors")
    with pytest.raises(FileNotFoundError) as nf:
        bpdl.Model.load(tmp_path / "nowhere")
    roundtrip(nf.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError):
        bpdl.Model.load(blocker / "run")


def test_permission_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions are not enforced")
    run = tmp_path / "locked"
    run.mkdir()
    (run / "checkpoint.safetensors").write_bytes(b"")
    os.chmod(run / "checkpoint.safetensors", 0)
    with pytest.raises(PermissionError):
        bpdl.Model.load(run)


def test_a_second_training_in_one_folder_is_refused_naming_the_first(tmp_path, data):
    import threading

    from conftest import tiny_config

    out = tmp_path / "run"
    first_started, release = threading.Event(), threading.Event()
    result = {}

    def first():
        def wait(m):
            first_started.set()
            if not release.wait(60):
                raise TimeoutError
            raise StopIteration("done")

        try:
            bpdl.train(tiny_config(**{"train.epochs": 100}), data.train, out=out, on_epoch=wait)
        except StopIteration as e:
            result["first"] = e

    t = threading.Thread(target=first)
    t.start()
    assert first_started.wait(60)
    try:
        with pytest.raises(bpdl.RunLockedError) as e:
            bpdl.train(tiny_config(), data.train, out=out, resume=True)
        assert f"PID {os.getpid()}" in str(e.value) and "python: bpdl.train" in str(e.value)
        assert isinstance(e.value, OSError)
        assert roundtrip(e.value).filename == str(out)
    finally:
        release.set()
        t.join()
    assert "first" in result
    # the first has exited: the folder is free again
    bpdl.train(tiny_config(), data.train, out=out, resume=True)
