"""Supervised learning from Python: labels in, the label layer learnt, predictions out, and the
CLI's `eval classify` agreeing with `Model.predict` on the same run folder."""

import json

import numpy as np
import pytest

import bpdl
from conftest import run_cli, supervised_config


@pytest.fixture(scope="module")
def supervised_run(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("sup") / "run"
    model = bpdl.train(supervised_config(), data, out=out, threads=2)
    return model, out


def test_the_label_layer_learns_the_bars(supervised_run, data):
    model, out = supervised_run
    pred = model.predict(data.test)
    assert pred.dtype == np.uint8 and pred.shape == (len(data.test),)
    error = float(np.mean(pred != data.test_labels))
    assert error < 0.5, f"test error {error:.2%} (chance is 90%)"
    feedforward = model.predict(data.test, steps=0)
    assert feedforward.shape == pred.shape
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all("train_error" in m and "validation" in m for m in lines)
    assert (out / "baseline.json").is_file() and (out / "baseline.safetensors").is_file()


def test_eval_classify_agrees_with_predict(supervised_run, data, data_dir, tmp_path):
    model, out = supervised_run
    run_cli("eval", "classify", "--run", str(out), "--out", str(tmp_path), data_dir=data_dir)
    report = json.loads((tmp_path / "classify.json").read_text())
    ff = model.predict(data.test, steps=0)
    inferred = model.predict(data.test)
    # the same model and rules (no noise: noise_std = 0); other minibatch sizes may round a
    # near-tie differently, so one example of the 200 may differ
    one = 1.01 / len(data.test)
    assert report["error_feedforward"] == pytest.approx(
        float(np.mean(ff != data.test_labels)), abs=one
    )
    assert report["error_after_inference"] == pytest.approx(
        float(np.mean(inferred != data.test_labels)), abs=one
    )
    assert np.array(report["confusion"]).sum() == len(data.test)
    assert report["labels"] == 400 and report["baseline"] is not None
    for key in ["test_error", "validation_error", "rule"]:
        assert key in report


def test_labels_are_checked(data, tmp_path):
    with pytest.raises(ValueError, match="labels"):
        bpdl.train(supervised_config(), data.train, out=tmp_path / "a", labels=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="0–9"):
        bad = np.full(len(data.train), 12, np.uint8)
        bpdl.train(supervised_config(), data.train, out=tmp_path / "b", labels=bad)
    with pytest.raises(bpdl.Error, match="labels"):
        bpdl.train(supervised_config(), data.train, out=tmp_path / "c")
