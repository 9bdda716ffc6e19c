import json
import threading

import numpy as np
import pytest

import bpdl
from conftest import tiny_config


def same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), f"{k} differs"


def test_train_writes_a_run_folder_and_returns_the_model(tmp_path, data, config):
    seen = []
    model = bpdl.train(
        config, data.train, out=tmp_path / "r", validation=data.validation, on_epoch=seen.append
    )
    lines = [json.loads(s) for s in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert [m["epoch"] for m in seen] == [1, 2]
    assert seen[0]["log_pxh_after"] == lines[0]["log_pxh_after"]
    assert seen[0]["heldout"]["examples"] == 100
    for f in ["config.toml", "run.json", "checkpoint.safetensors"]:
        assert (tmp_path / "r" / f).is_file(), f
    assert list((tmp_path / "r" / "tb").glob("events.out.tfevents.*")), "TensorBoard files" 
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["command"].startswith("python: bpdl.train")
    assert info["git_commit"] == bpdl.__commit__
    assert model.sizes == [64, 32, 8] and model.has_prior
    same_tensors(model.state_dict(), bpdl.Model.load(tmp_path / "r").state_dict())
    assert bpdl.Model.load(tmp_path / "r").config == config


def test_results_are_identical_across_thread_counts(tmp_path, data, config):
    a = bpdl.train(config, data.train, out=tmp_path / "t1", threads=1)
    b = bpdl.train(config, data.train, out=tmp_path / "t3", threads=3)
    same_tensors(a.state_dict(), b.state_dict())


def test_an_existing_run_needs_resume_and_resuming_continues_bit_for_bit(tmp_path, data, config):
    bpdl.train(config, data.train, out=tmp_path / "a", validation=data.validation)
    with pytest.raises(FileExistsError, match="resume=True"):
        bpdl.train(config, data.train, out=tmp_path / "a")
    longer = config.copy().set("train.epochs", 3)
    resumed = bpdl.train(longer, data.train, out=tmp_path / "a", validation=data.validation, resume=True)
    straight = bpdl.train(longer, data.train, out=tmp_path / "b", validation=data.validation)
    same_tensors(resumed.state_dict(), straight.state_dict())
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == 3


def test_a_changed_seed_cannot_resume(tmp_path, data, config):
    bpdl.train(config, data.train, out=tmp_path / "a")
    with pytest.raises(bpdl.ConfigError) as e:
        bpdl.train(config.copy().set("seed", 9), data.train, out=tmp_path / "a", resume=True)
    assert e.value.key == "seed"


def test_float64_and_uint8_scaled_inputs_give_the_float32_result(tmp_path, data, config):
    a = bpdl.train(config, data.train, out=tmp_path / "f32")
    b = bpdl.train(config, data.train.astype(np.float64), out=tmp_path / "f64")
    same_tensors(a.state_dict(), b.state_dict())


def test_bad_training_arrays_are_value_errors_saying_the_expected_shape(tmp_path, data, config):
    with pytest.raises(ValueError, match=r"2-D array of shape \(batch, features\)"):
        bpdl.train(config, data.train.reshape(-1, 8, 8), out=tmp_path / "x")
    with pytest.raises(ValueError, match=r"shape \(batch, 64\)"):
        bpdl.train(config, data.train, out=tmp_path / "x", validation=data.validation[:, :10])
    with pytest.raises(ValueError, match="numeric"):
        bpdl.train(config, np.array([["a"] * 64] * 200), out=tmp_path / "x")
    with pytest.raises(bpdl.ConfigError, match=r"\[0, 1\]"):
        bpdl.train(config, data.train * 255, out=tmp_path / "x")
    with pytest.raises(TypeError, match="bpdl.Config"):
        bpdl.train({"train": {}}, data.train, out=tmp_path / "x")


def test_a_diverging_run_raises_diverged_error(tmp_path, data):
    cfg = tiny_config(**{"learning.lr": 1e30, "learning.optimizer": "sgd"})
    with pytest.raises(bpdl.DivergedError) as e:
        bpdl.train(cfg, data.train, out=tmp_path / "d")
    assert isinstance(e.value, FloatingPointError)
    assert "learning.lr" in str(e.value)


def test_the_gil_is_released_during_training(tmp_path, data):
    cfg = tiny_config(**{"train.epochs": 3})
    ticks = []
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    t = threading.Thread(target=counter)
    t.start()
    before = len(ticks)
    seen_during = []
    bpdl.train(cfg, data.train, out=tmp_path / "g", on_epoch=lambda m: seen_during.append(len(ticks)))
    stop.set()
    t.join()
    # the Python thread kept counting between the epochs, while Rust trained
    assert seen_during[-1] - seen_during[0] > 10, (before, seen_during)


def test_an_exception_in_on_epoch_stops_training_and_keeps_that_epoch(tmp_path, data, config):
    def boom(m):
        raise RuntimeError(f"stop after {m['epoch']}")

    with pytest.raises(RuntimeError, match="stop after 1"):
        bpdl.train(config.copy().set("train.epochs", 5), data.train, out=tmp_path / "e", on_epoch=boom)
    assert len((tmp_path / "e" / "metrics.jsonl").read_text().splitlines()) == 1
    bpdl.Model.load(tmp_path / "e")  # the checkpoint of epoch 1 loads
