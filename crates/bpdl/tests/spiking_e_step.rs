//! Oracles for the spiking E-step (`inference.dynamics = "spiking"`, `bpdl::inference::spiking`):
//!
//! * **its expectation, in closed form.** With linear maps and values inside the ranges rates
//!   can carry, every quantity of the network is linear in the spikes and every spike
//!   probability is linear in the values, so the mean over independent networks follows the
//!   deterministic recurrence of the module doc exactly: currents `I ← qI + (1 − q)(b + vW)`,
//!   reconstruction neurons `R = φ_g(I_g)`, membranes `h ← h + δ/M·(A − B) + α/M·(R_above − h)`.
//!   That recurrence is computed here in f64 from the definitions and held against the mean of
//!   4,000 simulated networks by a z-test per unit (threshold from the Gaussian tail); the same
//!   test must reject two wrong dynamics (no re-encoding term, a top-down term with the wrong
//!   sign), else it could not tell wrong dynamics from right ones;
//! * determinism across thread counts;
//! * that spikes make it noisy but not wrong: on a small trained model, the spiking E-step at
//!   a high rate lands near the rate E-step, and closer than at a low rate;
//! * that a tiny training with spiking inference and spiking learning (stage b) learns.

mod common;

use bpdl::config::{
    Config, CorruptionConfig, Dynamics, InferenceConfig, LayerConfig, LearningRule,
};
use bpdl::inference::{Evidence, Inference};
use bpdl::model::GenerativeModel;
use bpdl::rng::Seed;
use bpdl::train::{self, TrainState};
use bpdl::{Activation, Device, Matrix};
use ndarray::{Array2, Axis};
use rand::RngExt;

/// x (3) → h1 (4) → h2 (2), every map linear with small positive weights and biases that keep
/// every value well inside [0, s] (s = 8 for linear layers, 1 for x): nothing is clipped.
fn linear_model() -> (GenerativeModel, InferenceConfig) {
    let mut config = Config::default();
    config.model.layers = vec![
        LayerConfig::new(
            4,
            Activation::Linear,
            Activation::Linear,
            CorruptionConfig::None,
        ),
        LayerConfig::new(
            2,
            Activation::Linear,
            Activation::Linear,
            CorruptionConfig::None,
        ),
    ];
    let mut model = GenerativeModel::new(3, &config.model, &mut Seed(1).stream("init"));
    let mut r = Seed(3).stream("weights");
    for (l, pair) in model.pairs.iter_mut().enumerate() {
        pair.encoder
            .weight
            .mapv_inplace(|_| r.random_range(0.0f32..0.6));
        pair.encoder
            .bias
            .mapv_inplace(|_| r.random_range(0.5f32..1.5));
        let (lo, hi) = if l == 0 { (0.0, 0.08) } else { (0.0, 0.5) };
        pair.decoder.weight.mapv_inplace(|_| r.random_range(lo..hi));
        let b = if l == 0 { 0.3 } else { 1.0 };
        pair.decoder.bias.fill(b);
    }
    let params = InferenceConfig {
        steps: 2,
        delta: 0.5,
        alpha: 0.3,
        dynamics: Dynamics::Spiking,
        spiking: bpdl::config::SpikingInferenceConfig {
            unbounded_scale: 8.0,
            ..Default::default()
        },
        ..Default::default()
    };
    (model, params)
}

/// How the reference dynamics may be wrong.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Dyn {
    Right,
    NoRefeed,
    TopDownFlipped,
}

/// `y = b + vW` in f64 (`w: [n_in, n_out]`).
fn affine(v: &[f64], w: &Matrix, b: &ndarray::Array1<f32>) -> Vec<f64> {
    (0..w.ncols())
        .map(|j| {
            f64::from(b[j])
                + v.iter()
                    .enumerate()
                    .map(|(i, &vi)| vi * f64::from(w[[i, j]]))
                    .sum::<f64>()
        })
        .collect()
}

/// The mean-field recurrence in f64 from x and the start h, `params.steps` iterations of M steps;
/// returns h after them (h1 then h2, flattened).
fn expected_h(
    model: &GenerativeModel,
    params: &InferenceConfig,
    x: &[f64],
    h0: &[Vec<f64>],
    d: Dyn,
) -> Vec<f64> {
    let sp = &params.spiking;
    let m = sp.steps_per_iteration();
    let q = (-sp.dt_ms / sp.synapse_tau_ms).exp();
    let (dm, am) = (
        f64::from(params.delta) / m as f64,
        f64::from(params.alpha) / m as f64,
    );
    let depth = model.depth();
    let mut h = h0.to_vec();
    let below = |h: &[Vec<f64>], l: usize| if l == 0 { x.to_vec() } else { h[l - 1].clone() };
    // the steady state of every current for the start values (linear maps: R = I_g)
    let mut i_g: Vec<Vec<f64>> = (0..depth)
        .map(|l| {
            affine(
                &h[l],
                &model.pairs[l].decoder.weight,
                &model.pairs[l].decoder.bias,
            )
        })
        .collect();
    let mut r = i_g.clone();
    let mut j: Vec<Vec<f64>> = (0..depth)
        .map(|l| {
            affine(
                &below(&h, l),
                &model.pairs[l].encoder.weight,
                &model.pairs[l].encoder.bias,
            )
        })
        .collect();
    let mut k: Vec<Vec<f64>> = (0..depth)
        .map(|l| {
            affine(
                &r[l],
                &model.pairs[l].encoder.weight,
                &model.pairs[l].encoder.bias,
            )
        })
        .collect();
    let relax = |c: &mut Vec<f64>, target: Vec<f64>| {
        for (c, t) in c.iter_mut().zip(target) {
            *c = q * *c + (1.0 - q) * t;
        }
    };
    for _ in 0..params.steps * m {
        let (h_old, r_old) = (h.clone(), r.clone());
        for l in 0..depth {
            let p = &model.pairs[l];
            relax(
                &mut j[l],
                affine(&below(&h_old, l), &p.encoder.weight, &p.encoder.bias),
            );
            relax(
                &mut k[l],
                affine(&r_old[l], &p.encoder.weight, &p.encoder.bias),
            );
            relax(
                &mut i_g[l],
                affine(&h_old[l], &p.decoder.weight, &p.decoder.bias),
            );
        }
        r = i_g.clone();
        for l in 0..depth {
            for u in 0..h[l].len() {
                let refeed = if d == Dyn::NoRefeed { 0.0 } else { k[l][u] };
                let mut step = dm * (j[l][u] - refeed);
                if l + 1 < depth {
                    let pull = am * (r[l + 1][u] - h[l][u]);
                    step += if d == Dyn::TopDownFlipped {
                        -pull
                    } else {
                        pull
                    };
                }
                h[l][u] += step;
            }
        }
    }
    h.concat()
}

#[test]
fn the_mean_spiking_network_follows_the_closed_form_and_wrong_dynamics_are_rejected() {
    let (model, params) = linear_model();
    let dev = Device::cpu(2).unwrap();
    let replicas = 4000;
    let x1 = [0.2f32, 0.55, 0.8];
    let x = Array2::from_shape_fn((replicas, 3), |(_, i)| x1[i]);
    let mut inf = Inference::new(&model, replicas);
    let mut rng = Seed(5).stream("spikes");
    inf.feed_forward(&dev, &model, x.view()).unwrap();
    let h0: Vec<Vec<f64>> = inf
        .post
        .h
        .iter()
        .map(|h| h.row(0).iter().map(|&v| f64::from(v)).collect())
        .collect();
    inf.iterate(
        &dev,
        &model,
        Evidence::Full(x.view()),
        &params,
        &mut rng,
        None,
    )
    .unwrap();
    let tally = inf.ws.spike_tally();
    assert!(
        tally.spikes > 0.0 && tally.events > tally.spikes,
        "{tally:?}"
    );
    // x (3), h1 (4), h2 (2), R_1 = g1(h1) (3), R_2 = g2(h2) (4): 16 neurons, every step
    let steps = params.steps * params.spiking.steps_per_iteration();
    assert_eq!(tally.neuron_steps, (replicas * steps * 16) as f64);
    // the mean and standard error of every unit over the replicas
    let h = ndarray::concatenate(Axis(1), &[inf.post.h[0].view(), inf.post.h[1].view()]).unwrap();
    let h = h.mapv(f64::from);
    let mean = h.mean_axis(Axis(0)).unwrap();
    let se = h.std_axis(Axis(0), 1.0) / (replicas as f64).sqrt();
    assert!(se.iter().all(|&s| s > 0.0), "the spikes add noise: {se}");
    let x64: Vec<f64> = x1.iter().map(|&v| f64::from(v)).collect();
    let max_z = |d: Dyn| {
        let e = expected_h(&model, &params, &x64, &h0, d);
        e.iter()
            .zip(mean.iter().zip(&se))
            .map(|(e, (m, s))| ((m - e) / s).abs())
            .fold(0.0f64, f64::max)
    };
    // 6 units: P(max |z| > 4.5) < 6·6.8e−6 for the right dynamics
    let right = max_z(Dyn::Right);
    eprintln!(
        "max |z|: right {right:.2}, no refeed {:.1}, flipped top-down {:.1}",
        max_z(Dyn::NoRefeed),
        max_z(Dyn::TopDownFlipped)
    );
    assert!(right < 4.5, "right dynamics rejected: max |z| = {right}");
    for wrong in [Dyn::NoRefeed, Dyn::TopDownFlipped] {
        let z = max_z(wrong);
        assert!(z > 10.0, "{wrong:?} not rejected: max |z| = {z}");
    }
}

/// Same seed, one thread or two: the same h, bit for bit (every example is its own network with
/// its own generator).
#[test]
fn spiking_inference_is_identical_with_one_and_two_threads() {
    let config = common::small_config(24, 6);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(1).stream("init"));
    let x = common::manifold_data(37, 16, 3, 1);
    let params = InferenceConfig {
        dynamics: Dynamics::Spiking,
        ..config.inference
    };
    let run = |threads| {
        let dev = Device::cpu(threads).unwrap();
        let mut inf = Inference::new(&model, x.nrows());
        inf.e_step(
            &dev,
            &model,
            Evidence::Full(x.view()),
            &params,
            &mut Seed(9).stream("s"),
            None,
        )
        .unwrap();
        inf.post
    };
    assert_eq!(run(1), run(2));
}

/// `inference.dynamics = "spiking"` on a small model trained by the rate rule: the h it infers
/// differ from the rate E-step's by spike noise that shrinks as the rates grow (at 1000 Hz, 5×
/// the default, the mean squared difference must be at most half of that at 100 Hz).
#[test]
fn faster_spikes_bring_the_spiking_e_step_closer_to_the_rate_e_step() {
    let dev = Device::cpu(2).unwrap();
    let mut config = common::small_config(24, 6);
    config.train.batch_size = 20;
    config.train.epochs = 4;
    let data = common::manifold_data(200, 16, 3, 1);
    let mut state = TrainState::new(&config, 16);
    train::train(&dev, data.view(), &config, &mut state, &mut ()).unwrap();
    let model = &state.model;
    let x = data.slice(ndarray::s![..100, ..]);
    let infer = |params: &InferenceConfig| {
        let mut inf = Inference::new(model, x.nrows());
        inf.e_step(
            &dev,
            model,
            Evidence::Full(x),
            params,
            &mut Seed(4).stream("s"),
            None,
        )
        .unwrap();
        inf.post.h[0].clone()
    };
    let rate = infer(&config.inference);
    let msd = |hz: f64| {
        let mut p = config.inference;
        p.dynamics = Dynamics::Spiking;
        p.spiking.rate_max_hz = hz;
        let h = infer(&p);
        (&h - &rate).mapv(|d| f64::from(d * d)).mean().unwrap()
    };
    let (slow, fast) = (msd(100.0), msd(1000.0));
    eprintln!(
        "mean squared difference from the rate E-step: 100 Hz {slow:.3e}, 1000 Hz {fast:.3e}"
    );
    assert!(fast < 0.5 * slow, "100 Hz: {slow}, 1000 Hz: {fast}");
    // and the spiking E-step did move h from the feed-forward start in the same direction
    let mut ff = Inference::new(model, x.nrows());
    ff.feed_forward(&dev, model, x).unwrap();
    let start = &ff.post.h[0];
    let mut p = config.inference;
    p.dynamics = Dynamics::Spiking;
    p.spiking.rate_max_hz = 1000.0;
    let spiking = infer(&p);
    let rate_move = &rate - start;
    let spike_move = &spiking - start;
    let dot: f64 = rate_move
        .iter()
        .zip(&spike_move)
        .map(|(a, b)| f64::from(a * b))
        .sum();
    assert!(
        dot > 0.0,
        "the spiking E-step moves h against the rate E-step"
    );
}

/// Stage b in miniature: spiking inference and spiking learning on 16-pixel manifold data; the
/// reconstruction of x (g1's loss) must fall by at least a quarter over 8 epochs, and the run
/// must be the same with one and two threads.
#[test]
fn a_tiny_training_with_spiking_inference_and_spiking_learning_learns() {
    let data = common::manifold_data(200, 16, 3, 1);
    let mut config = common::small_config(24, 8);
    config.learning.rule = LearningRule::Spiking;
    config.inference.dynamics = Dynamics::Spiking;
    config.learning.lr = 0.05;
    config.train.batch_size = 20;
    config.train.epochs = 8;
    let run = |threads| {
        let dev = Device::cpu(threads).unwrap();
        let mut state = TrainState::new(&config, 16);
        let mut seen = common::Losses(Vec::new());
        train::train(&dev, data.view(), &config, &mut state, &mut seen).unwrap();
        (state.model, seen.0)
    };
    let (model, losses) = run(2);
    let (first, last) = (&losses[0], &losses[losses.len() - 1]);
    assert!(
        last.loss_decoder[0] < 0.75 * first.loss_decoder[0],
        "g1: {} → {}",
        first.loss_decoder[0],
        last.loss_decoder[0]
    );
    assert_eq!(run(1).0, model);
}

/// The settings the spiking dynamics do not implement are refused with the key to change, at
/// run time too (an `InferenceConfig` built in code skips validation).
#[test]
fn unsupported_settings_are_refused() {
    let config = common::small_config(8, 4);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(1).stream("init"));
    let x = common::manifold_data(4, 16, 3, 1);
    let dev = Device::cpu(1).unwrap();
    let params = InferenceConfig {
        dynamics: Dynamics::Spiking,
        accept: bpdl::config::Acceptance::IfBetter,
        ..config.inference
    };
    let mut inf = Inference::new(&model, 4);
    let err = inf
        .e_step(
            &dev,
            &model,
            Evidence::Full(x.view()),
            &params,
            &mut Seed(1).stream("s"),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("inference.dynamics"), "{err}");
}
