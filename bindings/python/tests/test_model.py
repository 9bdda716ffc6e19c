"""Model: INFERENCE, the Fig. 4 curve, sampling, state_dict; checked against numpy from the weights."""

import numpy as np
import pytest

import bpdl

ACT = {
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "softplus": lambda a: np.logaddexp(0, a),
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
}


def numpy_maps(model):
    """f_l and g_l in float64 from state_dict and the config's non-linearities."""
    sd = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    layers = model.config["model.layers"]

    def f(l, below):
        return ACT[layers[l - 1]["activation"]](below @ sd[f"f{l}.weight"] + sd[f"f{l}.bias"])

    def g(l, h):
        return ACT[layers[l - 1]["decoder_activation"]](h @ sd[f"g{l}.weight"] + sd[f"g{l}.bias"])

    return f, g


def test_state_dict_has_the_checkpoint_names_and_shapes(trained):
    sd = trained.state_dict()
    assert sd["f1.weight"].shape == (64, 32) and sd["g1.weight"].shape == (32, 64)
    assert sd["f2.weight"].shape == (32, 8) and sd["g2.bias"].shape == (32,)
    assert {"prior.mean", "prior.var"} <= sd.keys()
    assert all(v.dtype == np.float32 for v in sd.values())
    sd["f1.weight"][:] = 0  # a copy: the model is unchanged
    assert trained.state_dict()["f1.weight"].any()


def test_infer_with_no_iteration_is_the_encoders_feed_forward_pass(trained, data):
    x = data.test[:50]
    h1, h2 = trained.infer(x, steps=0)
    f, _ = numpy_maps(trained)
    e1 = f(1, x.astype(np.float64))
    np.testing.assert_allclose(h1, e1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h2, f(2, e1), rtol=1e-4, atol=1e-5)
    assert h1.dtype == np.float32 and h1.flags.c_contiguous


def test_inference_moves_h_and_is_deterministic_and_independent_of_the_batch(trained, data):
    x = data.test[:60]
    a = trained.infer(x, steps=5, batch=60)
    b = trained.infer(x, steps=5, batch=17)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    start = trained.infer(x, steps=0)
    assert not np.allclose(a[0], start[0])


def test_the_inference_curve_starts_at_log_p_x_h_of_the_feed_forward_codes(trained, data):
    x = data.test[:80].astype(np.float64)
    curve = trained.inference_curve(x, steps=6, batch=40)
    f, g = numpy_maps(trained)
    h1 = f(1, x)
    h2 = f(2, h1)
    # bpdl's default learns σ1² of p(x|h1) (a per-pixel mean squared residual); σ2² stays 1
    v1, v2 = curve.noise_var
    assert 0.0 < v1 < 0.5 and v2 == 1.0

    def gauss(below, pred, var):
        return -0.5 * ((below - pred) ** 2).sum(1) / var - 0.5 * below.shape[1] * np.log(var)

    t1 = gauss(x, g(1, h1), v1)
    t2 = gauss(h1, g(2, h2), v2)
    assert curve.examples == 80 and curve.steps == 6
    assert curve.log_pxh_mean.shape == (7,) and curve.log_pxh_se.shape == (7,)
    np.testing.assert_allclose(curve.log_pxh_mean[0], (t1 + t2).mean(), rtol=1e-4)
    np.testing.assert_allclose(curve.terms["log p(x|h1)"][0], t1.mean(), rtol=1e-4)
    np.testing.assert_allclose(curve.terms["log p(h1|h2)"][0], t2.mean(), rtol=1e-4)
    se = (t1 + t2).std(ddof=1) / np.sqrt(80)
    np.testing.assert_allclose(curve.log_pxh_se[0], se, rtol=1e-3)
    assert set(curve.alignment) == {"h1", "h2"} and curve.alignment["h1"].shape == (6,)
    # the last point is log p(x, h) of what infer returns after 6 iterations
    h1n, h2n = (h.astype(np.float64) for h in trained.infer(x, steps=6, batch=40))
    last = gauss(x, g(1, h1n), v1) + gauss(h1n, g(2, h2n), v2)
    np.testing.assert_allclose(curve.log_pxh_mean[-1], last.mean(), rtol=1e-4)


@pytest.mark.parametrize("method", ["generate", "ancestral", "joint_dae"])
def test_sampling_is_seeded_and_in_range(trained, method):
    a = bpdl.sample(trained, 30, method=method, seed=4)
    b = trained.sample(30, method, seed=4)
    c = trained.sample(30, method, seed=5)
    assert a.shape == (30, 64) and a.dtype == np.float32
    assert np.isfinite(a).all() and (a >= 0).all() and (a <= 1).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sampling_overrides_and_bad_method(trained):
    a = trained.sample(10, "generate", seed=1, overrides={"generate.rounds": 1})
    b = trained.sample(10, "generate", seed=1, overrides={"generate.rounds": 3})
    assert not np.array_equal(a, b)
    with pytest.raises(bpdl.ConfigError, match="unknown sampler"):
        trained.sample(10, "gibbs")
    with pytest.raises(bpdl.ConfigError, match="generate.roundz"):
        trained.sample(10, overrides={"generate.roundz": 1})


def test_wrong_input_shapes_say_the_expected_shape(trained, data):
    with pytest.raises(ValueError, match=r"shape \(batch, 64\)"):
        trained.infer(data.test[:, :63])
    with pytest.raises(ValueError, match=r"2-D"):
        trained.infer(data.test[0])
    with pytest.raises(ValueError, match=r"2-D.*reshape"):
        trained.inference_curve(data.test[:10].reshape(10, 8, 8))


def test_outputs_share_memory_with_torch_and_dlpack(trained, data):
    h1, _ = trained.infer(data.test[:5], steps=0)
    view = np.from_dlpack(h1)
    assert np.shares_memory(view, h1)
    torch = pytest.importorskip("torch", reason="torch is not installed (optional extra)")
    t = torch.from_numpy(h1)
    t[0, 0] = 123.0
    assert h1[0, 0] == 123.0
