//! The label as an observed layer (supervised and semi-supervised learning). Oracles: the
//! closed-form posterior mean of a linear-Gaussian model given x and y; a separable problem that
//! any working learner must solve; and the structural locality of the label layer's rules.

mod common;

use bpdl::config::{CorruptionConfig, InferenceConfig, LayerConfig, Optimizer};
use bpdl::eval::classify::{error_rate, predict};
use bpdl::inference::{Inference, LabelEvidence, Posterior};
use bpdl::learning::{self, LearningWorkspace, MStep, ModelOptimizer};
use bpdl::model::{GenerativeModel, LayerPair, Map};
use bpdl::rng::Seed;
use bpdl::train::{Labels, TrainState, train_examples};
use bpdl::{Activation, Config, Device, Matrix};
use ndarray::{Array1, Array2};
use rand::RngExt;

fn random(rows: usize, cols: usize, scale: f32, seed: u64) -> Matrix {
    let mut r = Seed(seed).stream("m");
    Array2::from_shape_simple_fn((rows, cols), || r.random_range(-scale..scale))
}

fn linear(weight: Matrix, bias: Array1<f32>) -> Map {
    Map {
        weight,
        bias,
        activation: Activation::Linear,
    }
}

/// A linear-Gaussian model x ← h ← y with f1 = g1ᵀ: p(x|h) = N(h·G + b, I/δ) and
/// p(h|y) = N(y·M + c, I/α_y). With the label clamped, INFERENCE is gradient ascent on
/// log p(x, h | y) and must converge to the posterior mean
/// `h* = (δ(x − b)Gᵀ + α_y m)(δ·G·Gᵀ + α_y·I)⁻¹`, `m = y·M + c`, computed here in f64.
#[test]
fn with_the_label_clamped_inference_converges_to_the_closed_form_posterior_mean() {
    let dev = Device::cpu(2).unwrap();
    let (n_x, n_h, n_y, batch) = (6, 4, 10, 5);
    let g = random(n_h, n_x, 0.5, 1);
    let b = Array1::from(vec![0.1f32, -0.2, 0.05, 0.3, 0.0, -0.1]);
    let m_w = random(n_y, n_h, 1.0, 2);
    let c = Array1::from(vec![0.2f32, -0.1, 0.0, 0.4]);
    let model = GenerativeModel {
        sizes: vec![n_x, n_h, n_y],
        pairs: vec![
            LayerPair {
                encoder: linear(g.t().to_owned(), Array1::from(vec![0.3f32; n_h])),
                decoder: linear(g.clone(), b.clone()),
            },
            LayerPair {
                encoder: linear(random(n_h, n_y, 1.0, 3), Array1::zeros(n_y)),
                decoder: linear(m_w.clone(), c.clone()),
            },
        ],
        top_prior: None,
        noise: bpdl::model::NoiseVariances::unit(2),
    };
    let x = random(batch, n_x, 1.0, 4);
    let mut y = Matrix::zeros((batch, n_y));
    for i in 0..batch {
        y[[i, (3 * i + 1) % n_y]] = 1.0;
    }
    let clamped = Array1::ones(batch);
    let (delta, alpha_y) = (0.1f32, 0.05f32);
    let params = InferenceConfig {
        steps: 3000,
        delta,
        alpha: 0.7, // unused: the only top-down term is the label's
        ..InferenceConfig::default()
    };
    let label = LabelEvidence {
        y: y.view(),
        clamped: clamped.view(),
        alpha: alpha_y,
        free_rows_pull: false,
        term: bpdl::config::supervised::LabelTerm::Prior,
    };
    let mut inf = Inference::new(&model, batch);
    let mut rng = Seed(5).stream("inference");
    inf.e_step_labelled(&dev, &model, x.view(), &label, &params, &mut rng)
        .unwrap();
    assert_eq!(inf.post.h[1], y, "the label must stay clamped");

    let g64 = g.mapv(f64::from);
    let (d, a) = (f64::from(delta), f64::from(alpha_y));
    let mut lhs = g64.dot(&g64.t()) * d;
    for i in 0..n_h {
        lhs[[i, i]] += a;
    }
    let mut worst = 0.0f64;
    for i in 0..batch {
        let xi = x.row(i).mapv(f64::from) - b.mapv(f64::from);
        let mi = y.row(i).mapv(f64::from).dot(&m_w.mapv(f64::from)) + c.mapv(f64::from);
        let rhs = g64.dot(&xi) * d + mi * a;
        // the system is symmetric: h*·lhs = rhs ⇔ lhs·h* = rhs
        let h_star = common::reference::inverse(&lhs).dot(&rhs);
        for j in 0..n_h {
            worst = worst.max((f64::from(inf.post.h[0][[i, j]]) - h_star[j]).abs());
        }
    }
    assert!(
        worst < 1e-4,
        "largest deviation from the posterior mean {worst}"
    );
}

/// Ten classes, each a corner of [0.1, 0.9]^20 with a little noise: linearly separable with a
/// wide margin. Trained with labels, the learner's feed-forward prediction must classify every
/// held-out point correctly.
#[test]
fn a_separable_problem_is_learned_to_zero_error() {
    let dev = Device::cpu(2).unwrap();
    let d = 20;
    let mut r = Seed(11).stream("corners");
    let corners: Vec<Vec<f32>> = (0..10)
        .map(|_| {
            (0..d)
                .map(|_| if r.random_bool(0.5) { 0.9 } else { 0.1 })
                .collect()
        })
        .collect();
    let sample = |n: usize, seed: u64| {
        let mut r = Seed(seed).stream("points");
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            (corners[usize::from(labels[i])][j] + r.random_range(-0.08f32..0.08)).clamp(0.0, 1.0)
        });
        (x, labels)
    };
    let (x, labels) = sample(500, 1);
    let (x_test, labels_test) = sample(200, 2);
    let mut config = Config::default();
    let layer = |size, act| LayerConfig {
        size,
        activation: act,
        decoder_activation: Activation::Sigmoid,
        corruption: CorruptionConfig::Gaussian { std: 0.1 },
        encoder_lr: None,
        decoder_lr: None,
    };
    config.model.layers = vec![
        layer(32, Activation::Sigmoid),
        layer(10, Activation::Sigmoid),
    ];
    config.model.input_corruption = CorruptionConfig::Gaussian { std: 0.1 };
    config.learning.optimizer = Optimizer::Adam;
    config.learning.lr = 0.01;
    config.train.epochs = 15;
    config.train.batch_size = 20;
    config.train.heldout_examples = 0;
    config.supervised.enabled = true;
    config.supervised.predict_steps = 5;
    let mut state = TrainState::new(&config, d);
    let labels_in = Labels {
        train: &labels,
        heldout: None,
    };
    train_examples(
        &dev,
        x.view(),
        None,
        Some(labels_in),
        &config,
        &mut state,
        &mut (),
    )
    .unwrap();
    let mut rng = Seed(3).stream("predict");
    let p = predict(
        &dev,
        &state.model,
        x_test.view(),
        &config.inference,
        &config.supervised,
        50,
        &mut rng,
    )
    .unwrap();
    assert_eq!(error_rate(&p.feedforward, &labels_test), 0.0);
    assert_eq!(error_rate(&p.after_inference, &labels_test), 0.0);
}

/// One M-step on fixed targets with `top_rows`, fresh optimizer state.
fn m_step(
    dev: &Device,
    config: &Config,
    mut m: GenerativeModel,
    x: &Matrix,
    post: &Posterior,
    top_rows: &Array1<f32>,
) -> GenerativeModel {
    let mut ws = LearningWorkspace::new(&m, x.nrows(), config.learning.optimizer);
    let mut opt = ModelOptimizer::new(&config.learning, &m);
    let rates = learning::learning_rates(&config.model, &config.learning, 0);
    let step = MStep {
        x: x.view(),
        post,
        model: &config.model,
        learning: &config.learning,
        rates: &rates,
        top_rows: Some(top_rows.view()),
    };
    let mut rng = Seed(9).stream("corruption");
    learning::m_step(dev, &mut m, step, &mut ws, &mut opt, &mut rng).unwrap();
    m
}

/// The label layer's maps (f3: h2 → y, g3: y → h2) learn from their own layer only: perturbing
/// every other map leaves their update unchanged and perturbing them leaves every other map's
/// unchanged; and in semi-supervised learning an unlabelled row teaches them nothing.
#[test]
fn the_label_layers_rules_see_only_their_own_layer_and_labelled_rows() {
    let dev = Device::cpu(2).unwrap();
    let mut config = common::small_config(16, 6);
    config.model.layers.push(LayerConfig {
        size: 10,
        activation: Activation::Sigmoid,
        decoder_activation: Activation::Sigmoid,
        corruption: CorruptionConfig::None,
        encoder_lr: None,
        decoder_lr: None,
    });
    let n = 20;
    let x = common::manifold_data(n, 12, 3, 7);
    let model = GenerativeModel::new(12, &config.model, &mut Seed(1).stream("init"));
    let mut post = Posterior::zeros(&model, n);
    post.h[0] = random(n, 16, 1.0, 5).mapv(f32::abs);
    post.h[1] = random(n, 6, 0.5, 6).mapv(|v| v + 0.5);
    for i in 0..n {
        post.h[2][[i, i % 10]] = 1.0;
    }
    let rows = Array1::from_shape_fn(n, |i| if i < 8 { 1.0f32 } else { 0.0 });
    let step = |m: GenerativeModel, p: &Posterior| m_step(&dev, &config, m, &x, p, &rows);
    let reference = step(model.clone(), &post);

    let mut others = model.clone();
    for pair in &mut others.pairs[..2] {
        pair.encoder.weight.mapv_inplace(|w| w * 2.0 + 0.1);
        pair.decoder.weight.mapv_inplace(|w| w * 2.0 - 0.1);
    }
    let moved = step(others, &post);
    assert_eq!(reference.pairs[2], moved.pairs[2], "the label maps changed");

    let mut label_maps = model.clone();
    label_maps.pairs[2].encoder.weight.mapv_inplace(|w| w * 3.0);
    label_maps.pairs[2].decoder.weight.mapv_inplace(|w| w * 3.0);
    let moved = step(label_maps, &post);
    assert_eq!(
        reference.pairs[..2],
        moved.pairs[..2],
        "another map changed"
    );

    // an unlabelled row's label and code change nothing; a labelled row's do
    let mut unlabelled = post.clone();
    unlabelled.h[2].row_mut(15).fill(0.3);
    assert_eq!(
        reference.pairs[2],
        step(model.clone(), &unlabelled).pairs[2]
    );
    let mut labelled = post.clone();
    labelled.h[2].row_mut(3).fill(0.3);
    assert_ne!(reference.pairs[2], step(model.clone(), &labelled).pairs[2]);
    // and the label maps did learn
    assert_ne!(reference.pairs[2], model.pairs[2]);
}

/// A config whose top layer is not 10 wide cannot be supervised; labels are required.
#[test]
fn supervised_settings_are_checked_and_named() {
    let mut config = Config::default();
    config.supervised.enabled = true;
    let err = config.clone().validated().unwrap_err().to_string();
    assert!(err.contains("model.layers") && err.contains("10"), "{err}");
    config.model.layers[1].size = 10;
    config.supervised.labels = 15;
    let err = config.clone().validated().unwrap_err().to_string();
    assert!(err.contains("supervised.labels"), "{err}");
    config.supervised.labels = 100;
    config.supervised.labelled_per_batch = 100;
    let err = config.clone().validated().unwrap_err().to_string();
    assert!(err.contains("supervised.labelled_per_batch"), "{err}");
    config.supervised.labelled_per_batch = 20;
    config.train.batch_size = 100;
    let x = Matrix::zeros((200, 4));
    let mut state = TrainState::new(&config, 4);
    let err = train_examples(
        &Device::cpu(1).unwrap(),
        x.view(),
        None,
        None,
        &config,
        &mut state,
        &mut (),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("labels"), "{err}");
}
