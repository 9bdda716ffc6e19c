//! Oracles: closed forms and definitions.
//!
//! * The top prior is, by definition, the mean and 4 × the variance of the inferred top codes
//!   (computed here independently in f64 with zero inference steps, where the codes are the
//!   feed-forward values).
//! * Ancestral sampling through an identity decoder returns the prior's draws, whose moments
//!   must match N(mean, var) within their standard errors.
//! * GENERATE with zero rounds is ancestral sampling; with one round it is g1(h1) of INFERENCE
//!   on the ancestral samples.
//! * The joint-DAE chain (§5.1) with identity maps and no corruption is a fixed point of its
//!   ancestral start; with maps whose reconstructions of the middle layer from below and from
//!   above differ, it takes the one from above for half of the examples (binomial count).
//! * In-painting keeps every visible pixel exactly, masks exactly half of them, and on a trained
//!   model the error on the missing pixels falls.
//!
//! A prior fitted to the wrong layer, or a sampler that skipped its rounds, would still produce
//! images; only these checks notice.

mod common;

use bpdl::config::{Config, CorruptionConfig, InferenceConfig, LayerConfig};
use bpdl::eval::inpainting::{InpaintingSettings, inpaint, random_mask};
use bpdl::inference::{Evidence, Inference};
use bpdl::model::{GenerativeModel, TopPrior};
use bpdl::rng::Seed;
use bpdl::sampling;
use bpdl::train::{self, TrainState};
use bpdl::{Activation, Device};
use ndarray::{Array1, Array2};

#[test]
fn the_top_prior_is_the_mean_and_four_times_the_variance_of_the_top_codes() {
    let dev = Device::cpu(2).unwrap();
    let mut config = common::small_config(20, 6);
    config.inference.steps = 0; // codes = feed-forward values
    let model = GenerativeModel::new(16, &config.model, &mut Seed(2).stream("init"));
    let x = common::manifold_data(130, 16, 3, 1); // 130 = 6 minibatches of 20 + 10
    let prior =
        train::fit_top_prior(&dev, &model, x.view(), &config, &mut Seed(0).stream("i")).unwrap();
    let h1 = model.pairs[0].encoder.apply(&dev, x.view());
    let h2 = model.pairs[1]
        .encoder
        .apply(&dev, h1.view())
        .mapv(f64::from);
    let mean = h2.mean_axis(ndarray::Axis(0)).unwrap();
    let var = h2.var_axis(ndarray::Axis(0), 0.0);
    for j in 0..6 {
        assert!(
            (f64::from(prior.mean[j]) - mean[j]).abs() < 1e-5,
            "mean {j}"
        );
        assert!(
            (f64::from(prior.var[j]) - 4.0 * var[j]).abs() < 1e-5 * (1.0 + var[j]),
            "var {j}"
        );
    }
}

/// One latent layer whose decoder is the identity: x = h.
fn identity_decoder_model(n: usize) -> GenerativeModel {
    let mut c = Config::default();
    c.model.layers = vec![LayerConfig::new(
        n,
        Activation::Linear,
        Activation::Linear,
        CorruptionConfig::None,
    )];
    let mut m = GenerativeModel::new(n, &c.model, &mut Seed(0).stream("i"));
    m.pairs[0].decoder.weight = Array2::eye(n);
    m.pairs[0].encoder.weight = Array2::eye(n);
    m
}

#[test]
fn ancestral_draws_follow_the_fitted_gaussian_prior() {
    let dev = Device::cpu(2).unwrap();
    let mut model = identity_decoder_model(3);
    model.top_prior = Some(TopPrior {
        mean: Array1::from(vec![0.5f32, -1.0, 2.0]),
        var: Array1::from(vec![0.25f32, 1.0, 4.0]),
        factor: None,
        lateral: None,
    });
    let n = 40_000;
    let x = sampling::ancestral(&dev, &model, n, &mut Seed(5).stream("s")).unwrap();
    for (j, (m, v)) in [(0.5, 0.25), (-1.0, 1.0), (2.0, 4.0)]
        .into_iter()
        .enumerate()
    {
        let col = x.column(j).mapv(f64::from);
        let mean = col.mean().unwrap();
        let var = col.var(1.0);
        // s.e. of the mean √(v/n); of the variance v·√(2/n)
        assert!(
            (mean - m).abs() < 4.0 * (v / n as f64).sqrt(),
            "mean {j}: {mean}"
        );
        assert!(
            (var - v).abs() < 4.0 * v * (2.0 / n as f64).sqrt(),
            "var {j}: {var}"
        );
    }
}

#[test]
fn generate_with_zero_rounds_is_ancestral_and_with_one_round_decodes_inference() {
    let dev = Device::cpu(2).unwrap();
    let config = common::small_config(20, 6);
    let mut model = GenerativeModel::new(16, &config.model, &mut Seed(2).stream("init"));
    model.top_prior = Some(TopPrior {
        mean: Array1::from_elem(6, 0.5),
        var: Array1::from_elem(6, 0.1),
        factor: None,
        lateral: None,
    });
    let params = InferenceConfig {
        alpha: 0.3,
        ..config.inference
    };
    let anc = sampling::ancestral(&dev, &model, 30, &mut Seed(9).stream("s")).unwrap();
    let g0 = sampling::generate(&dev, &model, 30, 0, &params, 7, &mut Seed(9).stream("s")).unwrap();
    assert_eq!(g0, anc);
    let g1 =
        sampling::generate(&dev, &model, 30, 1, &params, 30, &mut Seed(9).stream("s")).unwrap();
    let mut inf = Inference::new(&model, 30);
    let mut rng = Seed(0).stream("u");
    inf.e_step(
        &dev,
        &model,
        Evidence::Full(anc.view()),
        &params,
        &mut rng,
        None,
    )
    .unwrap();
    let decoded = model.pairs[0].decoder.apply(&dev, inf.post.h[0].view());
    assert!(common::max_abs_diff(&g1, &decoded) < 1e-6);
    assert_ne!(g1, anc);
}

#[test]
fn a_mask_hides_exactly_the_requested_fraction_of_each_image() {
    let m = random_mask(50, 784, 0.5, &mut Seed(1).stream("m"));
    for row in m.rows() {
        assert_eq!(row.iter().filter(|&&v| v == 0.0).count(), 392);
        assert!(row.iter().all(|&v| v == 0.0 || v == 1.0));
    }
    assert_ne!(m.row(0), m.row(1));
}

#[test]
fn inpainting_keeps_visible_pixels_and_reduces_the_error_on_missing_ones() {
    // a one-layer model trained on a 3-dimensional manifold in [0, 1]^20
    let mut config = Config::default();
    config.model.layers = vec![LayerConfig::new(
        10,
        Activation::Sigmoid,
        Activation::Sigmoid,
        CorruptionConfig::Spikes { samples: 3 },
    )];
    config.model.input_corruption = CorruptionConfig::Gaussian { std: 0.3 };
    config.train.batch_size = 20;
    config.train.epochs = 40;
    config.learning.lr = 0.05;
    let dev = Device::cpu(2).unwrap();
    let data = common::manifold_data(1000, 20, 3, 3);
    let mut state = TrainState::new(&config, 20);
    train::train(&dev, data.view(), &config, &mut state, &mut ()).unwrap();

    let test = common::manifold_data(100, 20, 3, 77);
    let params = InferenceConfig {
        alpha: 0.3,
        ..config.inference
    };
    let settings = InpaintingSettings {
        missing: 0.5,
        outer: 5,
        inference: params,
        batch: 40,
    };
    let r = inpaint(
        &dev,
        &state.model,
        test.view(),
        &settings,
        &mut Seed(4).stream("p"),
    )
    .unwrap();
    for ((&t, &f), &v) in test.iter().zip(r.filled.iter()).zip(r.visible.iter()) {
        if v == 1.0 {
            assert_eq!(f, t, "a visible pixel changed");
        }
    }
    let mse = &r.summary.mse_missing;
    assert_eq!(mse.len(), 6);
    eprintln!("missing-pixel MSE {mse:?}");
    assert!(mse[5] < 0.5 * mse[0], "{mse:?}");
}

#[test]
fn full_covariance_draws_have_the_factors_covariance() {
    let dev = Device::cpu(2).unwrap();
    let mut model = identity_decoder_model(2);
    // L = [[1, 0], [0.8, 0.6]]: Σ = L·Lᵀ = [[1, 0.8], [0.8, 1]]
    model.top_prior = Some(TopPrior {
        mean: Array1::from(vec![1.0f32, -1.0]),
        var: Array1::from(vec![1.0f32, 1.0]),
        factor: Some(ndarray::array![[1.0f32, 0.0], [0.8, 0.6]]),
        lateral: None,
    });
    let n = 40_000;
    let x = sampling::ancestral(&dev, &model, n, &mut Seed(6).stream("s")).unwrap();
    let a = x.column(0).mapv(f64::from);
    let b = x.column(1).mapv(f64::from);
    let (ma, mb) = (a.mean().unwrap(), b.mean().unwrap());
    let cov = (&a - ma).dot(&(&b - mb)) / (n as f64 - 1.0);
    assert!(
        (ma - 1.0).abs() < 0.03 && (mb + 1.0).abs() < 0.03,
        "{ma} {mb}"
    );
    // s.e. of a sample covariance ≈ √((1 + ρ²)/n) ≈ 0.0064
    assert!((cov - 0.8).abs() < 0.03, "covariance {cov}");
}

/// A two-layer linear model of width `n`: `f1 = a·I`, `g1 = I`, `f2 = I`, `g2 = b·I`, no
/// corruption, and a top prior N(μ, tiny variance).
fn linear_chain_model(n: usize, a: f32, b: f32, mu: f32) -> (GenerativeModel, Config) {
    let mut config = Config::default();
    let linear = |n| {
        LayerConfig::new(
            n,
            Activation::Linear,
            Activation::Linear,
            CorruptionConfig::None,
        )
    };
    config.model.layers = vec![linear(n), linear(n)];
    config.model.input_corruption = CorruptionConfig::None;
    let mut model = GenerativeModel::new(n, &config.model, &mut Seed(0).stream("i"));
    let eye = Array2::<f32>::eye(n);
    model.pairs[0].encoder.weight = &eye * a;
    model.pairs[0].decoder.weight = eye.clone();
    model.pairs[1].encoder.weight = eye.clone();
    model.pairs[1].decoder.weight = &eye * b;
    for pair in &mut model.pairs {
        pair.encoder.bias.fill(0.0);
        pair.decoder.bias.fill(0.0);
    }
    model.top_prior = Some(TopPrior {
        mean: Array1::from_elem(n, mu),
        var: Array1::from_elem(n, 1e-12),
        factor: None,
        lateral: None,
    });
    (model, config)
}

/// With identity maps and no corruption every reconstruction returns its input, so the chain
/// never moves from its ancestral start, whichever direction it picks.
#[test]
fn the_joint_dae_chain_with_identity_maps_is_a_fixed_point() {
    let dev = Device::cpu(2).unwrap();
    let (mut model, config) = linear_chain_model(6, 1.0, 1.0, 0.0);
    model.top_prior.as_mut().unwrap().var.fill(1.0);
    let start = sampling::ancestral(&dev, &model, 50, &mut Seed(3).stream("s")).unwrap();
    let chain =
        sampling::joint_dae(&dev, &model, 50, 7, &config, &mut Seed(3).stream("s")).unwrap();
    assert_eq!(chain, start);
}

/// The middle layer is resampled from below (`f1(x)`) or from above (`g2(h2)`) with
/// probability ½ each. With h2 ≈ 1, g2 = 1·I and f1 = 3·I, after two steps x = g1(h1) is 3 where
/// the first step took h1 from below and 1 where it took it from above. Over 4,000 examples the
/// fraction from above is ½ ± 0.0079 (binomial sd); the test allows 4 sd, so a chain that always
/// picked one side, or picked with probability ¼, fails.
#[test]
fn the_joint_dae_chain_picks_each_direction_half_the_time() {
    let dev = Device::cpu(2).unwrap();
    let (model, config) = linear_chain_model(3, 3.0, 1.0, 1.0);
    let n = 4000;
    let x = sampling::joint_dae(&dev, &model, n, 2, &config, &mut Seed(8).stream("s")).unwrap();
    let mut from_above = 0usize;
    for row in x.rows() {
        let v = row[0];
        assert!(
            row.iter().all(|&u| (u - v).abs() < 1e-3),
            "a row mixes directions: {row}"
        );
        if (v - 1.0).abs() < 1e-3 {
            from_above += 1;
        } else {
            assert!((v - 3.0).abs() < 1e-3, "neither direction: {v}");
        }
    }
    let fraction = from_above as f64 / n as f64;
    assert!(
        (fraction - 0.5).abs() < 4.0 * 0.0079,
        "fraction from above {fraction}"
    );
}
