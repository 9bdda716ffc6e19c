//! Oracles: linear algebra and an independent f64 computation of the exact gradient.
//!
//! * For a linear, invertible pair `g(h) = h·M`, `f(x) = x·M⁻¹`, the targetprop step
//!   `f(x) − f(g(h)) = (x − h·M)·M⁻¹` is the Gauss–Newton step: its inner product with the exact
//!   gradient `(x − h·M)·Mᵀ` of `log N(x; g(h), I)` is `‖x − h·M‖² > 0`, and the two are
//!   parallel when M is a scaled orthogonal matrix (gap S4). Iterating it converges to the
//!   posterior mode `h* = x·M⁻¹` geometrically, with rate `1 − δ`.
//! * For a small nonlinear model trained by bpdl, the targetprop step has a clearly positive
//!   cosine with the exact gradient `((x − g) ⊙ g′)·W_gᵀ`, and inference raises log p(x, h) on
//!   held-out data (the paper's Fig. 4, on synthetic data).
//!
//! If INFERENCE had a sign or index error, or used the wrong cached reconstruction, these
//! identities would break while training would still "run".

mod common;

use bpdl::config::{Config, CorruptionConfig, InferenceConfig, LayerConfig};
use bpdl::inference::{Evidence, Inference, Posterior};
use bpdl::model::GenerativeModel;
use bpdl::rng::Seed;
use bpdl::train::{self, TrainState};
use bpdl::{Activation, Device, Matrix};
use common::reference::inverse;
use ndarray::{Array2, Axis};
use rand::RngExt;

fn linear_config(n: usize) -> Config {
    let mut c = Config::default();
    c.model.layers = vec![LayerConfig::new(
        n,
        Activation::Linear,
        Activation::Linear,
        CorruptionConfig::None,
    )];
    c
}

/// A one-layer linear model with decoder `h·M` and encoder `x·M⁻¹`.
fn linear_pair(m: &Array2<f64>) -> GenerativeModel {
    let n = m.nrows();
    let mut model = GenerativeModel::new(n, &linear_config(n).model, &mut Seed(0).stream("i"));
    model.pairs[0].decoder.weight = m.mapv(|v| v as f32);
    model.pairs[0].encoder.weight = inverse(m).mapv(|v| v as f32);
    model
}

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut r = Seed(seed).stream("r");
    Array2::from_shape_simple_fn((rows, cols), || r.random_range(-1.0..1.0))
}

/// One INFERENCE iteration from `h` (returns the new h).
fn one_step(dev: &Device, model: &GenerativeModel, x: &Matrix, h: &Matrix, delta: f32) -> Matrix {
    let mut inf = Inference::new(model, x.nrows());
    inf.post = Posterior { h: vec![h.clone()] };
    inf.refresh(dev, model, x.view()).unwrap();
    let params = InferenceConfig {
        steps: 1,
        delta,
        alpha: 0.0,
        noise_std: 0.0,
        accept: Default::default(),
        weighting: Default::default(),
        first_layer_delta: None,
        top_prior_alpha: 0.0,
        top_down: Default::default(),
        dynamics: Default::default(),
        spiking: Default::default(),
    };
    let mut rng = Seed(1).stream("unused");
    inf.iterate(
        dev,
        model,
        Evidence::Full(x.view()),
        &params,
        &mut rng,
        None,
    )
    .unwrap();
    inf.post.h.remove(0)
}

#[test]
fn linear_targetprop_step_is_the_gauss_newton_step() {
    let dev = Device::cpu(1).unwrap();
    let n = 6;
    let m = Array2::<f64>::eye(n) * 1.5 + random(n, n, 1) * 0.4;
    let model = linear_pair(&m);
    let x = random(4, n, 2);
    let h = random(4, n, 3);
    let delta = 0.1;
    let h_new = one_step(
        &dev,
        &model,
        &x.mapv(|v| v as f32),
        &h.mapv(|v| v as f32),
        delta,
    );
    let step = (h_new.mapv(f64::from) - &h) / f64::from(delta);
    let r = &x - &h.dot(&m); // residual x − g(h)
    let gauss_newton = r.dot(&inverse(&m));
    let gradient = r.dot(&m.t());
    for b in 0..4 {
        for j in 0..n {
            assert!(
                (step[[b, j]] - gauss_newton[[b, j]]).abs() < 2e-4,
                "step[{b},{j}] = {}, Gauss–Newton {}",
                step[[b, j]],
                gauss_newton[[b, j]]
            );
        }
        let inner = step.row(b).dot(&gradient.row(b));
        let r2 = r.row(b).dot(&r.row(b));
        assert!(r2 > 0.0);
        assert!(
            (inner - r2).abs() < 1e-3 * r2,
            "⟨step, gradient⟩ = {inner}, ‖x − g(h)‖² = {r2}"
        );
    }
}

#[test]
fn with_a_scaled_orthogonal_decoder_targetprop_is_parallel_to_the_gradient() {
    let dev = Device::cpu(1).unwrap();
    let n = 5;
    // Q from Gram–Schmidt of a random matrix, scaled by c = 2
    let model0 = GenerativeModel::new(
        n,
        &{
            let mut c = linear_config(n);
            c.model.init = bpdl::config::InitScheme::Orthogonal;
            c
        }
        .model,
        &mut Seed(4).stream("q"),
    );
    let q = model0.pairs[0].decoder.weight.mapv(f64::from);
    let q = &q / q.row(0).dot(&q.row(0)).sqrt();
    let m = q * 2.0;
    let model = linear_pair(&m);
    let x = random(3, n, 5);
    let h = random(3, n, 6);
    let h_new = one_step(
        &dev,
        &model,
        &x.mapv(|v| v as f32),
        &h.mapv(|v| v as f32),
        0.1,
    );
    let step = h_new.mapv(f64::from) - &h;
    let gradient = (&x - &h.dot(&m)).dot(&m.t());
    for b in 0..3 {
        let (s, g) = (step.row(b), gradient.row(b));
        let cos = s.dot(&g) / (s.dot(&s).sqrt() * g.dot(&g).sqrt());
        assert!(cos > 0.9999, "cosine {cos}");
    }
}

#[test]
fn linear_inference_converges_to_the_posterior_mode_at_rate_one_minus_delta() {
    let dev = Device::cpu(1).unwrap();
    let n = 4;
    let m = Array2::<f64>::eye(n) + random(n, n, 7) * 0.3;
    let model = linear_pair(&m);
    let x = random(3, n, 8);
    let mode = x.dot(&inverse(&m));
    let h0 = Array2::<f64>::zeros((3, n));
    let mut h = h0.mapv(|v| v as f32);
    let xf = x.mapv(|v| v as f32);
    for _ in 0..20 {
        h = one_step(&dev, &model, &xf, &h, 0.1);
    }
    // h_t − h* = (1 − δ)^t (h_0 − h*)
    let expected = &mode + &((&h0 - &mode) * 0.9f64.powi(20));
    for (a, b) in h.iter().zip(expected.iter()) {
        assert!((f64::from(*a) - b).abs() < 1e-4, "{a} vs {b}");
    }
}

/// A one-layer model x(20) → h(8, sigmoid) trained by bpdl on a 3-dimensional manifold.
fn trained_one_layer() -> (GenerativeModel, Config) {
    let mut config = Config::default();
    config.model.layers = vec![LayerConfig::new(
        8,
        Activation::Sigmoid,
        Activation::Sigmoid,
        CorruptionConfig::Spikes { samples: 3 },
    )];
    config.train.batch_size = 20;
    config.train.epochs = 40;
    config.learning.lr = 0.05;
    let data = common::manifold_data(1000, 20, 3, 11);
    let dev = Device::cpu(2).unwrap();
    let mut state = TrainState::new(&config, 20);
    train::train(&dev, data.view(), &config, &mut state, &mut ()).unwrap();
    (state.model, config)
}

#[test]
fn for_a_trained_model_targetprop_has_a_clearly_positive_cosine_with_the_exact_gradient() {
    let (model, _) = trained_one_layer();
    let dev = Device::cpu(1).unwrap();
    let x = common::manifold_data(200, 20, 3, 99); // held-out draws
    let pair = &model.pairs[0];
    let h = pair.encoder.apply(&dev, x.view());
    let g = pair.decoder.apply(&dev, h.view());
    let step = pair.encoder.apply(&dev, x.view()) - pair.encoder.apply(&dev, g.view());
    // exact gradient of log N(x; g(h), I) w.r.t. h, in f64: ((x − g) ⊙ g(1 − g)) · W_gᵀ
    let g64 = g.mapv(f64::from);
    let e = (x.mapv(f64::from) - &g64) * &g64.mapv(|v| v * (1.0 - v));
    let grad = e.dot(&pair.decoder.weight.mapv(f64::from).t());
    let step = step.mapv(f64::from);
    let cosines: Vec<f64> = step
        .axis_iter(Axis(0))
        .zip(grad.axis_iter(Axis(0)))
        .map(|(s, g)| s.dot(&g) / (s.dot(&s).sqrt() * g.dot(&g).sqrt() + 1e-30))
        .collect();
    let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
    eprintln!("mean cosine {mean}");
    assert!(mean > 0.5, "mean cosine {mean}");
}

#[test]
fn inference_raises_log_p_on_held_out_data_for_a_trained_model() {
    let (model, config) = trained_one_layer();
    let dev = Device::cpu(1).unwrap();
    let x = common::manifold_data(200, 20, 3, 123);
    let params = InferenceConfig {
        steps: 15,
        ..config.inference
    };
    let curve = bpdl::eval::inference_curve(
        &dev,
        &model,
        x.view(),
        &params,
        50,
        0,
        &mut Seed(2).stream("i"),
    )
    .unwrap();
    let (first, last) = (curve.log_pxh_mean[0], curve.log_pxh_mean[15]);
    eprintln!("log p: {first} → {last}");
    assert!(
        last > first + 3.0 * curve.log_pxh_se[0],
        "log p {first} → {last} (se {})",
        curve.log_pxh_se[0]
    );
}
