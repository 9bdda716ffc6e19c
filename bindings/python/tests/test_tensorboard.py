"""The TensorBoard event files of `bpdl train` read back by TensorBoard's own reader.

Oracle: `metrics.jsonl`, the canonical record of a run. Every scalar TensorBoard reads from
`RUN/tb/` must equal the matching `metrics.jsonl` value (as float32), at step = the epoch; the
tags are worked out here from the table in the documentation of `bpdl::run::tensorboard`, not
from the writer. The GENERATE grid, the code histograms and the config text must be there, and
a resumed run must add a second file whose steps go on. If the writer's framing, CRCs or
protobuf fields were wrong, TensorBoard would skip or misread the records and these fail.

The run is tiny and made here: IDX files under the official MNIST names holding 8x8 images of
blobs (the loader holds out the last 10,000 training images, so 10,300 are written), trained
for 2 epochs on 300 of them through the real binary (`$BPDL_BIN`, else
`$CARGO_TARGET_DIR/debug/bpdl`, else `<repo>/target/debug/bpdl`).
"""

import json
import math
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

pytest.importorskip(
    "tensorboard", reason="reading event files needs the tensorboard package (pip install tensorboard)"
)
np = pytest.importorskip("numpy", reason="making the test images needs numpy")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
SIDE = 8
HELDOUT = 50
LAYERS = (16, 6)


def bpdl_binary() -> Path:
    if os.environ.get("BPDL_BIN"):
        return Path(os.environ["BPDL_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "bpdl"


def write_idx(path: Path, magic: int, dims, data: bytes) -> None:
    """An IDX file: big-endian magic, one big-endian u32 per dimension, then the bytes."""
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + data)


def blob_images(n: int, rng) -> bytes:
    """`n` 8x8 images of a Gaussian blob at a random place, as uint8."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    cy, cx = rng.uniform(1, SIDE - 1, size=(2, n, 1, 1))
    img = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 4.0)
    return (img * 255).round().astype(np.uint8).tobytes()


def make_data(folder: Path) -> None:
    rng = np.random.default_rng(7)
    for prefix, n in [("train", 10_300), ("t10k", 100)]:
        write_idx(folder / f"{prefix}-images-idx3-ubyte", 0x803, (n, SIDE, SIDE), blob_images(n, rng))
        labels = rng.integers(0, 10, size=n).astype(np.uint8).tobytes()
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", 0x801, (n,), labels)


def bpdl(data: Path, *args: str) -> None:
    binary = bpdl_binary()
    if not binary.is_file():
        pytest.fail(f"{binary} not found: build it (cargo build -p bpdl-cli) or set BPDL_BIN")
    done = subprocess.run(
        [str(binary), "--data-dir", str(data), "--threads", "1", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"bpdl {' '.join(args)} failed:\n{done.stderr}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data folder, run folder) of a 2-epoch run."""
    root = tmp_path_factory.mktemp("tensorboard")
    data = root / "data"
    data.mkdir()
    make_data(data)
    run = root / "run"
    bpdl(
        data,
        "train",
        "--offline",
        "--out",
        str(run),
        "--set",
        "data.train_limit=300",
        "--set",
        "train.epochs=2",
        "--set",
        f"train.heldout_examples={HELDOUT}",
        "--set",
        "inference.steps=5",
        "--set",
        f"model.layers[0].size={LAYERS[0]}",
        "--set",
        f"model.layers[1].size={LAYERS[1]}",
    )
    return data, run


def accumulator(run: Path) -> EventAccumulator:
    acc = EventAccumulator(
        str(run / "tb"),
        size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0},
    )
    acc.Reload()
    return acc


def metrics(run: Path):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def expected_scalars(m: dict) -> dict:
    """The tags of one `metrics.jsonl` record, after the documented table."""
    out = {
        "train/seconds": m["seconds"],
        "train/lr": m["lr"],
        "train/minibatches": m["minibatches"],
        "log_pxh/before": m["log_pxh_before"],
        "log_pxh/after": m["log_pxh_after"],
    }
    for l, v in enumerate(m["loss_decoder"], 1):
        out[f"loss/decoder{l}"] = v
    for l, v in enumerate(m["loss_encoder"], 1):
        out[f"loss/encoder{l}"] = v
    for l, v in enumerate(m["recon"]):
        out["recon/x" if l == 0 else f"recon/h{l}"] = v
    for l, s in enumerate(m["layers"], 1):
        out[f"h{l}/mean_abs"] = s["mean_abs"]
        out[f"h{l}/spread"] = s["spread"]
        if "saturation" in s:
            out[f"h{l}/saturation"] = s["saturation"]
    h = m.get("heldout")
    if h:
        out["heldout/examples"] = h["examples"]
        curves = [("log_pxh", h["log_pxh"]), ("log_pxh_se", h["log_pxh_se"])]
        curves += [(t["name"].replace(" ", "_"), t["mean"]) for t in h["terms"]]
        curves += [("cosine_" + a["name"].replace(" ", "_"), a["mean"]) for a in h["alignment"]]
        for name, curve in curves:
            if curve:
                out[f"heldout/{name}/start"] = curve[0]
                out[f"heldout/{name}/end"] = curve[-1]
    return out


def same_as_float32(read: float, want) -> bool:
    if want is None:  # a NaN is written as null in JSON
        return math.isnan(read)
    return read == float(np.float32(want))


def test_every_scalar_equals_metrics_jsonl_at_its_epoch(trained):
    _, run = trained
    acc = accumulator(run)
    records = metrics(run)
    assert [m["epoch"] for m in records] == [1, 2]
    want = [expected_scalars(m) for m in records]
    assert "heldout/log_pxh/start" in want[0] and "h2/saturation" in want[0]
    assert sorted(acc.Tags()["scalars"]) == sorted(want[0])
    for tag in want[0]:
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2], tag
        for e, w in zip(events, want):
            assert same_as_float32(e.value, w[tag]), f"{tag} at epoch {e.step}: {e.value} != {w[tag]}"


def test_the_grid_and_histograms_are_written_every_epoch(trained):
    _, run = trained
    acc = accumulator(run)
    images = acc.Images("generate/samples")
    assert [i.step for i in images] == [1, 2]
    for i in images:
        # 8 columns and rows of 8x8 pixels magnified 7x with 2-pixel gaps: 8 * 58 + 2
        assert (i.width, i.height) == (466, 466)
        assert i.encoded_image_string.startswith(b"\x89PNG\r\n\x1a\n")
    for l, units in enumerate(LAYERS, 1):
        hists = acc.Histograms(f"codes/h{l}")
        assert [h.step for h in hists] == [1, 2]
        for h in hists:
            v = h.histogram_value
            assert v.num == HELDOUT * units
            assert sum(v.bucket) == v.num
            assert v.min <= v.max == v.bucket_limit[-1]


def test_the_config_is_a_text_summary(trained):
    _, run = trained
    acc = accumulator(run)
    assert acc.Tags()["tensors"] == ["config"]
    (event,) = acc.Tensors("config")
    text = event.tensor_proto.string_val[0].decode()
    assert text == "```toml\n" + (run / "config.toml").read_text() + "```\n"
    assert acc.SummaryMetadata("config").plugin_data.plugin_name == "text"


def test_a_resumed_run_adds_a_file_and_its_steps_go_on(trained, tmp_path):
    data, run = trained
    resumed = tmp_path / "run"
    shutil.copytree(run, resumed)
    bpdl(data, "train", "--offline", "--resume", str(resumed), "--set", "train.epochs=3")
    files = sorted((resumed / "tb").iterdir())
    assert len(files) == 2 and all(".tfevents." in f.name for f in files)
    acc = accumulator(resumed)
    records = metrics(resumed)
    assert [m["epoch"] for m in records] == [1, 2, 3]
    events = acc.Scalars("loss/decoder1")
    assert [e.step for e in events] == [1, 2, 3]
    for e, m in zip(events, records):
        assert same_as_float32(e.value, m["loss_decoder"][0])
