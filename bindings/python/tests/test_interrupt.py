"""Ctrl-C during `train` raises KeyboardInterrupt at the next minibatch and keeps the checkpoint."""

import _thread
import os
import signal
import threading
import time

import pytest

import bpdl
from conftest import tiny_config


def interrupt_after_first_epoch(run_dir, how):
    metrics = run_dir / "metrics.jsonl"

    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if metrics.is_file() and metrics.read_text().count("\n") >= 1:
                how()
                return
            time.sleep(0.005)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@pytest.fixture
def ctrl_c():
    """Ctrl-C raising KeyboardInterrupt, as in an interactive session. A process started in the
    background by a non-interactive shell inherits SIGINT ignored, and Python then installs no
    handler: Ctrl-C would be lost before bpdl could see it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    "how",
    [_thread.interrupt_main, lambda: os.kill(os.getpid(), signal.SIGINT)],
    ids=["interrupt_main", "SIGINT"],
)
def test_ctrl_c_stops_at_the_next_minibatch_and_the_run_resumes(tmp_path, data, how, ctrl_c):
    # far more epochs than can pass before the interrupt lands: a 50-epoch run of this tiny
    # model can finish (in a fraction of a second) before Ctrl-C is seen, and then nothing
    # raises; if Ctrl-C were ignored, this run would end by itself and the test would fail
    epochs = 2_000
    cfg = tiny_config(**{"train.epochs": epochs, "data.train_limit": 400})
    out = tmp_path / "run"
    watcher = interrupt_after_first_epoch(out, how)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        bpdl.train(cfg, data.train, out=out)
    watcher.join()
    done = len((out / "metrics.jsonl").read_text().splitlines())
    assert 1 <= done < epochs, done
    model = bpdl.Model.load(out)  # the last checkpoint is intact
    assert not model.has_prior  # training did not finish
    # and resuming finishes the run, bit-identical to an uninterrupted one
    short = cfg.copy().set("train.epochs", done + 1)
    resumed = bpdl.train(short, data.train, out=out, resume=True)
    straight = bpdl.train(short, data.train, out=tmp_path / "straight")
    a, b = resumed.state_dict(), straight.state_dict()
    assert all((a[k] == b[k]).all() for k in a)
    assert time.monotonic() - started < 120
