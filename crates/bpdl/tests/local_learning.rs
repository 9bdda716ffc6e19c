//! Oracles: central finite differences in f64 of each layer's own loss, computed by an
//! independent f64 implementation of the map; closed forms of the first optimizer steps; and the
//! structural fact that, with the inferred targets fixed, a map's update cannot depend on any
//! other map's weights. If the hand-written gradient were wrong, learning would still move —
//! just not downhill — and nothing else would flag it.

mod common;

use bpdl::config::{LearningConfig, Optimizer};
use bpdl::inference::Posterior;
use bpdl::learning::{
    self, Gradient, LearningWorkspace, MStep, MapOptimizer, ModelOptimizer, local_delta,
};
use bpdl::model::{GenerativeModel, Map};
use bpdl::rng::Seed;
use bpdl::{Activation, Device, Matrix};
use ndarray::{Array1, Array2};
use rand::RngExt;

use common::reference::phi64;

/// L(W, b) = (1/B) Σ_b Σ_j (φ(u_b·W + b)_j − t_bj)², entirely in f64.
fn loss64(
    act: Activation,
    u: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    t: &Array2<f64>,
) -> f64 {
    let a = u.dot(w) + b;
    let mut total = 0.0;
    for (av, tv) in a.iter().zip(t.iter()) {
        total += (phi64(act, *av) - tv).powi(2);
    }
    total / u.nrows() as f64
}

fn random_matrix(rows: usize, cols: usize, scale: f32, seed: u64) -> Matrix {
    let mut r = Seed(seed).stream("m");
    Array2::from_shape_simple_fn((rows, cols), || r.random_range(-scale..scale))
}

#[test]
fn each_local_gradient_equals_a_central_difference_of_its_own_loss() {
    let dev = Device::cpu(1).unwrap();
    let acts = [
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Tanh,
        Activation::Relu,
        Activation::Linear,
    ];
    for (k, act) in acts.into_iter().enumerate() {
        let (batch, n_in, n_out) = (5, 4, 3);
        let map = Map {
            weight: random_matrix(n_in, n_out, 0.8, 10 + k as u64),
            bias: Array1::from(vec![0.1f32, -0.2, 0.3]),
            activation: act,
        };
        let u = random_matrix(batch, n_in, 1.0, 20 + k as u64);
        let t = random_matrix(batch, n_out, 1.0, 30 + k as u64);
        let y = map.apply(&dev, u.view());
        let mut err = Matrix::zeros((batch, n_out));
        let mut rows = Array1::<f64>::zeros(batch);
        let d = local_delta(
            &dev,
            u.view(),
            t.view(),
            y.view(),
            act,
            &mut err,
            rows.view_mut(),
        );
        let e64 = d.error.mapv(f64::from);
        let u64_ = u.mapv(f64::from);
        let grad_w = u64_.t().dot(&e64) * f64::from(d.scale);
        let grad_b = e64.sum_axis(ndarray::Axis(0)) * f64::from(d.scale);

        let (w64, b64, t64) = (
            map.weight.mapv(f64::from),
            map.bias.mapv(f64::from),
            t.mapv(f64::from),
        );
        let loss = loss64(act, &u64_, &w64, &b64, &t64);
        assert!(
            (d.loss - loss).abs() < 1e-5 * (1.0 + loss),
            "{act:?}: loss {} vs {loss}",
            d.loss
        );
        let h = 1e-6;
        for i in 0..n_in {
            for j in 0..n_out {
                let (mut wp, mut wm) = (w64.clone(), w64.clone());
                wp[[i, j]] += h;
                wm[[i, j]] -= h;
                let fd = (loss64(act, &u64_, &wp, &b64, &t64)
                    - loss64(act, &u64_, &wm, &b64, &t64))
                    / (2.0 * h);
                assert!(
                    (fd - grad_w[[i, j]]).abs() < 1e-4 * (1.0 + fd.abs()),
                    "{act:?} dL/dW[{i},{j}]: finite difference {fd}, local rule {}",
                    grad_w[[i, j]]
                );
            }
        }
        for j in 0..n_out {
            let (mut bp, mut bm) = (b64.clone(), b64.clone());
            bp[j] += h;
            bm[j] -= h;
            let fd = (loss64(act, &u64_, &w64, &bp, &t64) - loss64(act, &u64_, &w64, &bm, &t64))
                / (2.0 * h);
            assert!(
                (fd - grad_b[j]).abs() < 1e-4 * (1.0 + fd.abs()),
                "{act:?} dL/db[{j}]: finite difference {fd}, local rule {}",
                grad_b[j]
            );
        }
    }
}

/// The first step of each optimizer has a closed form in terms of the gradient g:
/// SGD −ε·g, RMSprop −ε·g/(√(1−ρ)|g|), Adam −ε·g/|g| (bias correction makes m̂ = g, v̂ = g²).
#[test]
fn first_optimizer_steps_follow_their_closed_forms() {
    let dev = Device::cpu(1).unwrap();
    let act = Activation::Sigmoid;
    let u = random_matrix(6, 4, 1.0, 1);
    let t = random_matrix(6, 3, 1.0, 2);
    let base = Map {
        weight: random_matrix(4, 3, 0.5, 3),
        bias: Array1::zeros(3),
        activation: act,
    };
    let y = base.apply(&dev, u.view());
    let mut err = Matrix::zeros((6, 3));
    let mut rows = Array1::<f64>::zeros(6);
    let d = local_delta(
        &dev,
        u.view(),
        t.view(),
        y.view(),
        act,
        &mut err,
        rows.view_mut(),
    );
    let g = u.t().dot(&d.error) * d.scale;
    let lr = 0.01f32;
    for kind in [Optimizer::Sgd, Optimizer::Rmsprop, Optimizer::Adam] {
        let cfg = LearningConfig {
            optimizer: kind,
            optimizer_eps: 1e-12,
            ..LearningConfig::default()
        };
        let mut map = base.clone();
        let mut opt = MapOptimizer::new(kind, &map);
        let mut grad = Gradient::new(kind, &map);
        opt.apply(&dev, &cfg, &mut map, &d, lr, &mut grad);
        let step = &map.weight - &base.weight;
        for ((i, j), &s) in step.indexed_iter() {
            let gij = g[[i, j]];
            let expected = match kind {
                Optimizer::Sgd => -lr * gij,
                Optimizer::Rmsprop => -lr * gij / ((1.0 - 0.9f32).sqrt() * gij.abs()),
                Optimizer::Adam => -lr * gij.signum(),
            };
            assert!(
                (s - expected).abs() < 1e-4 * lr + 1e-6 * expected.abs(),
                "{kind:?} step[{i},{j}] = {s}, expected {expected}"
            );
        }
    }
}

/// One M-step of `m` on `x` with the inferred `post`, fresh optimizer state, epoch 0.
fn one_m_step(
    dev: &Device,
    config: &bpdl::Config,
    m: GenerativeModel,
    x: &Matrix,
    post: &Posterior,
) -> GenerativeModel {
    m_step_in_epoch(dev, config, m, x, post, 0)
}

/// [`one_m_step`] at the learning rates of epoch `epoch` (0-based).
fn m_step_in_epoch(
    dev: &Device,
    config: &bpdl::Config,
    mut m: GenerativeModel,
    x: &Matrix,
    post: &Posterior,
    epoch: usize,
) -> GenerativeModel {
    let batch = x.nrows();
    let mut ws = LearningWorkspace::new(&m, batch, config.learning.optimizer);
    let mut opt = ModelOptimizer::new(&config.learning, &m);
    let rates = learning::learning_rates(&config.model, &config.learning, epoch);
    let step = MStep {
        x: x.view(),
        post,
        model: &config.model,
        learning: &config.learning,
        rates: &rates,
        top_rows: None,
    };
    let mut rng = Seed(9).stream("corruption");
    learning::m_step(dev, &mut m, step, &mut ws, &mut opt, &mut rng).unwrap();
    m
}

/// With the targets (the inferred h) held fixed, perturbing g2 must leave the updates of f1, g1
/// and f2 unchanged: the rules are local, nothing travels between layers.
#[test]
fn perturbing_another_layers_weights_leaves_a_layers_update_unchanged() {
    let dev = Device::cpu(2).unwrap();
    let config = common::small_config(16, 6);
    let x = common::manifold_data(20, 12, 3, 7);
    let model = GenerativeModel::new(12, &config.model, &mut Seed(1).stream("init"));
    let mut post = Posterior::zeros(&model, 20);
    post.h[0] = random_matrix(20, 16, 1.0, 5).mapv(f32::abs);
    post.h[1] = random_matrix(20, 6, 0.5, 6).mapv(|v| v + 0.5);

    let step = |m: GenerativeModel| one_m_step(&dev, &config, m, &x, &post);
    let reference = step(model.clone());
    let mut perturbed = model.clone();
    perturbed.pairs[1]
        .decoder
        .weight
        .mapv_inplace(|w| w * 3.0 + 0.1);
    let other = step(perturbed);
    assert_eq!(
        reference.pairs[0].encoder, other.pairs[0].encoder,
        "f1 changed"
    );
    assert_eq!(
        reference.pairs[0].decoder, other.pairs[0].decoder,
        "g1 changed"
    );
    assert_eq!(
        reference.pairs[1].encoder, other.pairs[1].encoder,
        "f2 changed"
    );
    assert_ne!(reference.pairs[1].decoder, other.pairs[1].decoder);
    // and every map did learn something
    assert_ne!(reference.pairs[0].encoder, model.pairs[0].encoder);
}

/// φ'(a) in f64, for the reference M-step below.
fn dphi64(act: Activation, a: f64) -> f64 {
    match act {
        Activation::Sigmoid => {
            let s = phi64(Activation::Sigmoid, a);
            s * (1.0 - s)
        }
        Activation::Softplus => phi64(Activation::Sigmoid, a),
        Activation::Tanh => 1.0 - a.tanh().powi(2),
        Activation::Relu => f64::from(u8::from(a > 0.0)),
        Activation::Linear => 1.0,
    }
}

/// One plain-SGD step of a map on its own loss, in f64: W ← W − ε·(2/B)·uᵀe, b ← b − ε·(2/B)·Σe,
/// e = (φ(uW + b) − t) ⊙ φ'(uW + b).
fn sgd_step64(map: &Map, u: &Matrix, t: &Matrix, lr: f64) -> (Array2<f64>, Array1<f64>) {
    let (u, t) = (u.mapv(f64::from), t.mapv(f64::from));
    let w = map.weight.mapv(f64::from);
    let b = map.bias.mapv(f64::from);
    let a = u.dot(&w) + &b;
    let e = Array2::from_shape_fn(a.dim(), |(i, j)| {
        let v = a[[i, j]];
        (phi64(map.activation, v) - t[[i, j]]) * dphi64(map.activation, v)
    });
    let scale = 2.0 / u.nrows() as f64;
    (
        &w - &(u.t().dot(&e) * (lr * scale)),
        &b - &(e.sum_axis(ndarray::Axis(0)) * (lr * scale)),
    )
}

/// The M-step lets g_l and f_l learn concurrently on two threads: every map must still get its
/// own input and target (g_l: h_l → h_{l−1}, f_l: h_{l−1} → h_l), as a one-map-at-a-time f64
/// reference computes them, and the result must not depend on the thread count.
#[test]
fn the_m_step_updates_every_map_toward_its_own_target_whatever_the_thread_count() {
    let mut config = common::small_config(16, 6);
    config.model.input_corruption = bpdl::config::CorruptionConfig::None;
    for layer in &mut config.model.layers {
        layer.corruption = bpdl::config::CorruptionConfig::None;
    }
    config.learning.lr = 0.05;
    let x = common::manifold_data(20, 12, 3, 17);
    let model = GenerativeModel::new(12, &config.model, &mut Seed(4).stream("init"));
    let mut post = Posterior::zeros(&model, 20);
    post.h[0] = random_matrix(20, 16, 1.0, 15).mapv(f32::abs);
    post.h[1] = random_matrix(20, 6, 0.5, 16).mapv(|v| v + 0.5);

    let step = |threads: usize| {
        let dev = Device::cpu(threads).unwrap();
        one_m_step(&dev, &config, model.clone(), &x, &post)
    };
    let two = step(2);
    assert_eq!(two, step(1), "the M-step depends on the thread count");

    let layers = [&x, &post.h[0], &post.h[1]];
    for l in 1..=2 {
        let pair = &model.pairs[l - 1];
        let learned = &two.pairs[l - 1];
        let cases = [
            (
                "decoder",
                &pair.decoder,
                &learned.decoder,
                layers[l],
                layers[l - 1],
            ),
            (
                "encoder",
                &pair.encoder,
                &learned.encoder,
                layers[l - 1],
                layers[l],
            ),
        ];
        for (name, before, after, input, target) in cases {
            let (w, b) = sgd_step64(before, input, target, 0.05);
            let dw = (&after.weight.mapv(f64::from) - &w).mapv(f64::abs);
            let db = (&after.bias.mapv(f64::from) - &b).mapv(f64::abs);
            let worst = dw.iter().chain(db.iter()).fold(0.0f64, |m, &v| m.max(v));
            assert!(worst < 1e-5, "layer {l} {name}: max |Δ| {worst}");
        }
    }
}

/// The rate of every map at epoch e is `own_lr · lr_decay^e`, `own_lr` defaulting to
/// `learning.lr` (closed form).
#[test]
fn learning_rates_follow_per_layer_overrides_and_decay() {
    let mut config = common::small_config(16, 6);
    config.learning.lr = 0.1;
    config.learning.lr_decay = 0.5;
    config.model.layers[0].encoder_lr = Some(0.3);
    config.model.layers[1].decoder_lr = Some(0.02);
    let r = learning::learning_rates(&config.model, &config.learning, 2);
    let close = |a: &[f32], b: [f64; 2]| {
        a.iter()
            .zip(b)
            .all(|(&x, y)| (f64::from(x) - y).abs() < 1e-7)
    };
    assert!(
        close(&r.encoder, [0.3 * 0.25, 0.1 * 0.25]),
        "{:?}",
        r.encoder
    );
    assert!(
        close(&r.decoder, [0.1 * 0.25, 0.02 * 0.25]),
        "{:?}",
        r.decoder
    );
}

/// Under SGD a map's update is ε times its gradient, so it scales with that map's rate alone:
/// doubling f1's own rate doubles f1's update and leaves the other maps' updates bit for bit,
/// and one epoch of decay 0.5 halves every update. A rate applied to the wrong map, or decay
/// applied twice, breaks the ratios.
#[test]
fn a_maps_update_scales_with_its_own_rate_and_the_decay() {
    let dev = Device::cpu(2).unwrap();
    let mut config = common::small_config(16, 6);
    config.learning.lr = 0.05;
    config.learning.lr_decay = 0.5;
    let x = common::manifold_data(20, 12, 3, 7);
    let model = GenerativeModel::new(12, &config.model, &mut Seed(1).stream("init"));
    let mut post = Posterior::zeros(&model, 20);
    post.h[0] = random_matrix(20, 16, 1.0, 5).mapv(f32::abs);
    post.h[1] = random_matrix(20, 6, 0.5, 6).mapv(|v| v + 0.5);
    let updates = |cfg: &bpdl::Config, epoch: usize| {
        let after = m_step_in_epoch(&dev, cfg, model.clone(), &x, &post, epoch);
        let delta =
            |new: &Map, old: &Map| &new.weight.mapv(f64::from) - &old.weight.mapv(f64::from);
        let mut out = Vec::new();
        for (p_new, p_old) in after.pairs.iter().zip(&model.pairs) {
            out.push(delta(&p_new.encoder, &p_old.encoder));
            out.push(delta(&p_new.decoder, &p_old.decoder));
        }
        out // [f1, g1, f2, g2]
    };
    let base = updates(&config, 0);
    let ratio = |a: &Array2<f64>, b: &Array2<f64>| {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        dot / b.iter().map(|y| y * y).sum::<f64>()
    };
    let mut doubled = config.clone();
    doubled.model.layers[0].encoder_lr = Some(0.1);
    let d = updates(&doubled, 0);
    assert!(
        (ratio(&d[0], &base[0]) - 2.0).abs() < 1e-3,
        "f1 ratio {}",
        ratio(&d[0], &base[0])
    );
    for k in 1..4 {
        assert_eq!(d[k], base[k], "map {k} changed when only f1's rate did");
    }
    let decayed = updates(&config, 1);
    for k in 0..4 {
        let r = ratio(&decayed[k], &base[k]);
        assert!((r - 0.5).abs() < 1e-3, "map {k}: decayed update ratio {r}");
    }
}
