import numpy as np
import pytest

import bpdl


def numpy_parzen(samples, points, sigma):
    d = samples.shape[1]
    sq = ((points[:, None, :] - samples[None, :, :]) ** 2).sum(-1)
    a = -sq / (2 * sigma**2)
    m = a.max(1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(a - m).sum(1))
    return lse - np.log(len(samples)) - d * np.log(sigma * np.sqrt(2 * np.pi))


def test_one_sample_at_the_point_is_the_gaussian_normaliser():
    x = np.full((1, 10), 0.3, dtype=np.float32)
    s = bpdl.parzen_ll(x, x, sigma=0.5)
    # the distance is a float32 GEMM (‖x‖² + ‖s‖² − 2x·s), not exactly 0: 1e-6 nats
    assert s.mean == pytest.approx(-10 * np.log(0.5 * np.sqrt(2 * np.pi)), abs=1e-6)
    assert s.se == 0.0 and s.validation_curve == []


def test_parzen_matches_numpy_and_chooses_sigma_on_validation():
    rng = np.random.default_rng(3)
    samples = rng.uniform(size=(40, 12)).astype(np.float32)
    test = rng.uniform(size=(25, 12)).astype(np.float32)
    val = rng.uniform(size=(20, 12)).astype(np.float32)
    s = bpdl.parzen_ll(samples, test, val)
    grid = [p[0] for p in s.validation_curve]
    best = max(s.validation_curve, key=lambda p: p[1])[0]
    assert s.sigma == best and 0.2 in [round(g, 12) for g in grid] and len(grid) == 11
    ref = numpy_parzen(samples.astype(np.float64), test.astype(np.float64), s.sigma)
    assert s.mean == pytest.approx(ref.mean(), rel=1e-6)
    assert s.se == pytest.approx(ref.std(ddof=1) / np.sqrt(len(ref)), rel=1e-4)
    assert (s.n_samples, s.n_test) == (40, 25)


def test_parzen_needs_validation_or_sigma_and_one_width():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="validation"):
        bpdl.parzen_ll(x, x)
    with pytest.raises(ValueError, match=r"shape \(batch, 4\)"):
        bpdl.parzen_ll(x, np.zeros((3, 5)), sigma=0.2)
    with pytest.raises(bpdl.ConfigError, match="σ must be positive"):
        bpdl.parzen_ll(x, x, sigma=-1.0)


def test_the_stdp_window_has_the_shape_of_fig_1():
    cfg = bpdl.stdp.Config().set("protocol.trials", 4000).set("protocol.deterministic_trials", 300)
    cfg.set("delta_rule.epochs", 20)
    w = bpdl.stdp.window(cfg)
    n = len(w.delta_t_ms)
    assert n > 4 and w.dw.shape == (n,) and w.counts.sum() > 0
    # potentiation when pre precedes post (Δt > 0), depression otherwise
    assert w.dw[w.delta_t_ms > 5].mean() > 0 > w.dw[w.delta_t_ms < -5].mean()
    assert w.tau_plus_ms > 0 and w.tau_minus_ms > 0
    assert "protocol" in cfg.to_toml()
    with pytest.raises(bpdl.ConfigError, match="protocol.trialz"):
        bpdl.stdp.Config().set("protocol.trialz", 1)


def test_datasets_split_and_label(data):
    assert data.train.shape == (400, 64) and data.validation.shape == (10_000, 64)
    assert data.test.shape == (200, 64) and data.image_shape == (8, 8)
    assert data.train.dtype == np.float32 and data.train_labels.dtype == np.uint8
    assert 0 <= data.train.min() and data.train.max() == 1.0
    assert len(data.test_labels) == 200
    assert "train=(400, 64)" in repr(data)
