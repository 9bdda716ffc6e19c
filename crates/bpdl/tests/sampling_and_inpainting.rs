//! Oracles: closed forms and definitions.
//!
//! * The top prior is, by definition, the mean and 4 × the variance of the inferred top codes
//!   (computed here independently in f64 with zero inference steps, where the codes are the
//!   feed-forward values).
//! * Ancestral sampling through an identity decoder returns the prior's draws, whose moments
//!   must match N(mean, var) within their standard errors.
//! * GENERATE with zero rounds is ancestral sampling; with one round it is g1(h1) of INFERENCE
//!   on the ancestral samples.
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
use bpdl::train::{self, EpochMetrics, TrainObserver, TrainState};
use bpdl::{Activation, Device};
use ndarray::{Array1, Array2};

struct Quiet;
impl TrainObserver for Quiet {
    fn epoch_done(&mut self, _: &EpochMetrics, _: &TrainState) -> bpdl::Result<()> {
        Ok(())
    }
}

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
    c.model.layers = vec![LayerConfig {
        size: n,
        activation: Activation::Linear,
        decoder_activation: Activation::Linear,
        corruption: CorruptionConfig::None,
        encoder_lr: None,
        decoder_lr: None,
    }];
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
    config.model.layers = vec![LayerConfig {
        size: 10,
        activation: Activation::Sigmoid,
        decoder_activation: Activation::Sigmoid,
        corruption: CorruptionConfig::Spikes { samples: 3 },
        encoder_lr: None,
        decoder_lr: None,
    }];
    config.model.input_corruption = CorruptionConfig::Gaussian { std: 0.3 };
    config.train.batch_size = 20;
    config.train.epochs = 40;
    config.learning.lr = 0.05;
    let dev = Device::cpu(2).unwrap();
    let data = common::manifold_data(1000, 20, 3, 3);
    let mut state = TrainState::new(&config, 20);
    train::train(&dev, data.view(), &config, &mut state, &mut Quiet).unwrap();

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
