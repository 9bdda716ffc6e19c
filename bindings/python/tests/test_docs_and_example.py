import inspect
import pathlib
import subprocess
import sys

import bpdl

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_every_public_callable_has_a_real_docstring_and_signature():
    for name in ["train", "sample", "parzen_ll", "Config", "Model", "Model.infer",
                 "Model.inference_curve", "Model.sample", "Model.state_dict", "Model.load",
                 "Config.set", "Config.from_toml", "datasets.mnist", "stdp.window"]:
        obj = bpdl
        for part in name.split("."):
            obj = getattr(obj, part)
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 40, name
        if callable(obj) and not inspect.isclass(obj):
            inspect.signature(obj)  # a real Python signature
    assert "KeyboardInterrupt" in inspect.getdoc(bpdl.train)
    assert "resume" in str(inspect.signature(bpdl.train))


def test_the_quickstart_example_runs(tmp_path, data_dir):
    out = tmp_path / "qs"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--data-dir", str(data_dir), "--out", str(out),
         "--epochs", "1", "--train-limit", "300", "--h1", "24", "--samples", "100"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "generate: Parzen" in done.stdout and "ancestral: Parzen" in done.stdout
    assert (out / "samples_generate.npy").is_file()
    assert bpdl.Model.load(out).has_prior
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in done.stdout
    else:
        png = (out / "quickstart.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
