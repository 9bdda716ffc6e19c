"""Python and the CLI are two fronts of one library: the same config, seed and data give the
same weights, samples and inference curve."""

import json

import numpy as np

import bpdl
from conftest import read_safetensors, run_cli, tiny_config


def test_python_and_cli_train_identical_weights_and_draw_identical_samples(tmp_path, data_dir, data):
    cfg = tiny_config()
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(cfg.to_toml())
    cli_run = tmp_path / "cli"
    run_cli("--threads", "2", "train", "--offline", "--config", str(cfg_file), "--out", str(cli_run),
            data_dir=data_dir)
    py = bpdl.train(cfg, data, out=tmp_path / "py", threads=1)  # a Dataset: train + validation
    cli = bpdl.Model.load(cli_run)
    a, b = py.state_dict(), cli.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the checkpoint file holds those tensors under those names
    on_disk = read_safetensors(cli_run / "checkpoint.safetensors")
    for k in a:
        np.testing.assert_array_equal(on_disk[k], a[k], err_msg=k)
    # the per-epoch records agree too (all but the wall-clock seconds)
    strip = lambda p: [{k: v for k, v in json.loads(s).items() if k != "seconds"}
                       for s in p.read_text().splitlines()]  # noqa: E731
    assert strip(cli_run / "metrics.jsonl") == strip(tmp_path / "py" / "metrics.jsonl")

    run_cli("--seed", "7", "--out", str(tmp_path / "s"), "sample", "--run", str(cli_run),
            "--method", "ancestral", "--n", "40")
    cli_samples = read_safetensors(tmp_path / "s" / "samples_ancestral.safetensors")["samples"]
    np.testing.assert_array_equal(cli_samples, py.sample(40, "ancestral", seed=7))

    run_cli("--out", str(tmp_path / "i"), "infer", "--run", str(cli_run), "--split", "test",
            "--steps", "4", "--limit", "50", data_dir=data_dir)
    report = json.loads((tmp_path / "i" / "inference_test.json").read_text())
    curve = py.inference_curve(data.test[:50], steps=4)
    np.testing.assert_array_equal(curve.log_pxh_mean, report["log_pxh_mean"])
