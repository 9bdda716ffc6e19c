//! Oracle: a second, independent implementation of Algorithm 2's INFERENCE for L = 2, written
//! here in f64 straight from the paper's pseudo-code,
//!
//! ```text
//! h1 ← f1(x); h2 ← f2(h1)
//! repeat N: h2 ← h2 + δ(f2(h1) − f2(g2(h2)))
//!           h1 ← h1 + δ(f1(x) − f1(g1(h1))) + α(g2(h2) − h1)
//! ```
//!
//! with plain loops and no caching. The library caches g(h) across updates, runs the two small
//! products concurrently and vectorises the non-linearities; swapping the update order, using a
//! stale g2(h2), scaling α by δ or reusing the wrong cached product would all make the two
//! disagree.

mod common;

use bpdl::Device;
use bpdl::config::InferenceConfig;
use bpdl::inference::{Evidence, Inference};
use bpdl::model::GenerativeModel;
use bpdl::rng::Seed;
use ndarray::Array2;

use common::reference::apply64 as apply;

fn algorithm2(
    model: &GenerativeModel,
    x: &Array2<f64>,
    steps: usize,
    delta: f64,
    alpha: f64,
) -> (Array2<f64>, Array2<f64>) {
    algorithm2_with_mask(model, x, None, steps, delta, alpha)
}

/// Algorithm 2 with only the entries of x where `visible` is 1 observed (paper §8, Fig. 5):
/// before each update of h1 the missing entries are filled from the reconstruction of the
/// current h1, `x̂ = m⊙x + (1 − m)⊙g1(h1)`, and the bottom-up term becomes `f1(x̂) − f1(g1(h1))`.
fn algorithm2_with_mask(
    model: &GenerativeModel,
    x: &Array2<f64>,
    visible: Option<&Array2<f64>>,
    steps: usize,
    delta: f64,
    alpha: f64,
) -> (Array2<f64>, Array2<f64>) {
    let (p1, p2) = (&model.pairs[0], &model.pairs[1]);
    let mut h1 = apply(&p1.encoder, x);
    let mut h2 = apply(&p2.encoder, &h1);
    for _ in 0..steps {
        let step2 = apply(&p2.encoder, &h1) - apply(&p2.encoder, &apply(&p2.decoder, &h2));
        h2 = &h2 + &(step2 * delta);
        let top_down = apply(&p2.decoder, &h2) - &h1;
        let recon = apply(&p1.decoder, &h1);
        let observed = match visible {
            None => x.clone(),
            Some(m) => m * x + &((1.0 - m) * &recon),
        };
        let step1 = apply(&p1.encoder, &observed) - apply(&p1.encoder, &recon);
        h1 = &h1 + &(step1 * delta) + &(top_down * alpha);
    }
    (h1, h2)
}

/// In-painting's inference (partial evidence) against the masked f64 Algorithm 2: the fill of
/// the missing entries must use the reconstruction of the *current* h1 and leave the visible
/// ones clamped; filling from a stale h1, filling the visible entries too or skipping the fill
/// would each make the two disagree.
#[test]
fn partial_evidence_inference_matches_a_masked_f64_algorithm_2() {
    let config = common::small_config(24, 7);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(5).stream("init"));
    let x = common::manifold_data(9, 16, 3, 6);
    let mut r = Seed(7).stream("mask");
    let visible = Array2::from_shape_simple_fn((9, 16), || {
        if rand::RngExt::random::<f32>(&mut r) < 0.5 {
            1.0f32
        } else {
            0.0
        }
    });
    for threads in [1, 2] {
        let dev = Device::cpu(threads).unwrap();
        let params = InferenceConfig {
            steps: 6,
            delta: 0.1,
            alpha: 0.3,
            noise_std: 0.0,
            accept: Default::default(),
            weighting: Default::default(),
            first_layer_delta: None,
            top_prior_alpha: 0.0,
            top_down: Default::default(),
            dynamics: Default::default(),
            spiking: Default::default(),
        };
        let mut inf = Inference::new(&model, 9);
        let evidence = Evidence::Partial {
            x: x.view(),
            visible: visible.view(),
        };
        let mut rng = Seed(0).stream("unused");
        inf.e_step(&dev, &model, evidence, &params, &mut rng, None)
            .unwrap();
        let (h1, h2) = algorithm2_with_mask(
            &model,
            &x.mapv(f64::from),
            Some(&visible.mapv(f64::from)),
            6,
            0.1,
            0.3,
        );
        for (got, want, name) in [(&inf.post.h[0], &h1, "h1"), (&inf.post.h[1], &h2, "h2")] {
            let worst = got
                .iter()
                .zip(want.iter())
                .map(|(a, b)| (f64::from(*a) - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "{threads} threads: {name} differs by {worst}");
        }
        // and the answer differs from full evidence (the mask matters)
        let (full_h1, _) = algorithm2(&model, &x.mapv(f64::from), 6, 0.1, 0.3);
        let moved = full_h1
            .iter()
            .zip(h1.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(moved > 1e-3, "the mask changed nothing ({moved})");
    }
}

#[test]
fn two_layer_inference_matches_a_plain_f64_algorithm_2() {
    let config = common::small_config(24, 7);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(3).stream("init"));
    let x = common::manifold_data(9, 16, 3, 4);
    for (alpha, threads) in [(0.001f32, 1), (0.3, 2), (1.0, 2)] {
        let dev = Device::cpu(threads).unwrap();
        let params = InferenceConfig {
            steps: 6,
            delta: 0.1,
            alpha,
            noise_std: 0.0,
            accept: Default::default(),
            weighting: Default::default(),
            first_layer_delta: None,
            top_prior_alpha: 0.0,
            top_down: Default::default(),
            dynamics: Default::default(),
            spiking: Default::default(),
        };
        let mut inf = Inference::new(&model, 9);
        let mut rng = Seed(0).stream("unused");
        inf.e_step(
            &dev,
            &model,
            Evidence::Full(x.view()),
            &params,
            &mut rng,
            None,
        )
        .unwrap();
        let (post, ws) = (&inf.post, &inf.ws);
        let (h1, h2) = algorithm2(&model, &x.mapv(f64::from), 6, 0.1, f64::from(alpha));
        for (got, want, name) in [(&post.h[0], &h1, "h1"), (&post.h[1], &h2, "h2")] {
            let worst = got
                .iter()
                .zip(want.iter())
                .map(|(a, b)| (f64::from(*a) - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "α = {alpha}: {name} differs by {worst}");
        }
        // and log p(x, h) is the formula on those values
        let lp = bpdl::model::objective::log_joint(&dev, &model, x.view(), &post.h);
        for (i, &v) in ws.log_pxh().iter().enumerate() {
            assert!((v - lp[i]).abs() < 1e-3 * (1.0 + v.abs()), "log p row {i}");
        }
    }
}

/// The Langevin-like variant only adds noise: with `noise_std` = 0 it is the deterministic
/// algorithm, and with noise the result moves by about noise_std·√N per unit.
#[test]
fn inference_noise_perturbs_by_the_expected_amount() {
    let config = common::small_config(24, 7);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(3).stream("init"));
    let x = common::manifold_data(50, 16, 3, 5);
    let dev = Device::cpu(2).unwrap();
    let run = |noise_std: f32| {
        let params = InferenceConfig {
            steps: 1,
            delta: 0.1,
            alpha: 0.0,
            noise_std,
            accept: Default::default(),
            weighting: Default::default(),
            first_layer_delta: None,
            top_prior_alpha: 0.0,
            top_down: Default::default(),
            dynamics: Default::default(),
            spiking: Default::default(),
        };
        let mut inf = Inference::new(&model, 50);
        let mut rng = Seed(1).stream("n");
        inf.e_step(
            &dev,
            &model,
            Evidence::Full(x.view()),
            &params,
            &mut rng,
            None,
        )
        .unwrap();
        inf.post.clone()
    };
    let (clean, noisy) = (run(0.0), run(0.05));
    // after one step the top layer differs by exactly the noise added to it: N(0, 0.05²)
    let d: Vec<f64> = noisy.h[1]
        .iter()
        .zip(clean.h[1].iter())
        .map(|(a, b)| f64::from(a - b))
        .collect();
    let var = d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64;
    // 350 draws: the sample variance has relative s.e. √(2/350) ≈ 0.076
    assert!((var.sqrt() - 0.05).abs() < 0.05 * 0.25, "sd {}", var.sqrt());
}

/// Algorithm 2 with the difference top-down term (`inference.top_down = "difference"`) and,
/// optionally, h2 clamped to `y` (a label layer): `h1 ← h1 + δ(f1(x) − f1(g1(h1))) +
/// α(g2(h2) − g2(f2(h1)))`, f2(h1) from the h1 before its update; plain f64 loops.
fn difference_reference(
    model: &GenerativeModel,
    x: &Array2<f64>,
    clamp: Option<&Array2<f64>>,
    steps: usize,
    delta: f64,
    alpha: f64,
) -> (Array2<f64>, Array2<f64>) {
    let (p1, p2) = (&model.pairs[0], &model.pairs[1]);
    let mut h1 = apply(&p1.encoder, x);
    let mut h2 = clamp.cloned().unwrap_or_else(|| apply(&p2.encoder, &h1));
    for _ in 0..steps {
        if clamp.is_none() {
            let step2 = apply(&p2.encoder, &h1) - apply(&p2.encoder, &apply(&p2.decoder, &h2));
            h2 = &h2 + &(step2 * delta);
        }
        let top_down = apply(&p2.decoder, &h2) - apply(&p2.decoder, &apply(&p2.encoder, &h1));
        let recon = apply(&p1.decoder, &h1);
        let step1 = apply(&p1.encoder, x) - apply(&p1.encoder, &recon);
        h1 = &h1 + &(step1 * delta) + &(top_down * alpha);
    }
    (h1, h2)
}

/// The difference target (`top_down = "difference"`, and a clamped label with
/// `label_term = "targetprop"`) against the f64 reference above: using `g(f(h))` of a stale h,
/// or the prior's `h` in place of `g(f(h))`, would make them disagree.
#[test]
fn difference_top_down_and_a_clamped_label_match_a_plain_f64_reference() {
    use bpdl::config::TopDown;
    use bpdl::config::supervised::LabelTerm;
    use bpdl::inference::LabelEvidence;
    let config = common::small_config(24, 7);
    let model = GenerativeModel::new(16, &config.model, &mut Seed(3).stream("init"));
    let x = common::manifold_data(9, 16, 3, 4);
    let x64 = x.mapv(f64::from);
    let dev = Device::cpu(2).unwrap();
    let params = InferenceConfig {
        steps: 6,
        delta: 0.1,
        alpha: 0.4,
        top_down: TopDown::Difference,
        ..InferenceConfig::default()
    };
    let worst = |got: &bpdl::Matrix, want: &Array2<f64>| {
        got.iter()
            .zip(want.iter())
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max)
    };
    let mut rng = Seed(0).stream("unused");
    let mut inf = Inference::new(&model, 9);
    inf.e_step(
        &dev,
        &model,
        Evidence::Full(x.view()),
        &params,
        &mut rng,
        None,
    )
    .unwrap();
    let (h1, h2) = difference_reference(&model, &x64, None, 6, 0.1, 0.4);
    assert!(worst(&inf.post.h[0], &h1) < 1e-4, "h1");
    assert!(worst(&inf.post.h[1], &h2) < 1e-4, "h2");

    // h2 as a clamped label layer (7 units here), its term in the targetprop form with α_y
    let y = Array2::from_shape_fn((9, 7), |(i, j)| if j == i % 7 { 1.0f32 } else { 0.0 });
    let clamped = ndarray::Array1::ones(9);
    let label = LabelEvidence {
        y: y.view(),
        clamped: clamped.view(),
        alpha: 0.25,
        free_rows_pull: false,
        term: LabelTerm::Targetprop,
    };
    let prior = InferenceConfig {
        top_down: TopDown::Prior,
        ..params
    };
    inf.e_step_labelled(&dev, &model, x.view(), &label, &prior, &mut rng)
        .unwrap();
    let (h1, _) = difference_reference(&model, &x64, Some(&y.mapv(f64::from)), 6, 0.1, 0.25);
    assert!(worst(&inf.post.h[0], &h1) < 1e-4, "h1 below the label");
    assert_eq!(inf.post.h[1], y);
}
