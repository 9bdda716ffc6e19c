use ndarray::Array2;
use rand::RngExt;
use rand_distr::StandardNormal;

use super::*;
use crate::config::Optimizer;

/// φ in f64, from the definitions (independent of the Device's f32 kernels).
fn phi64(act: Activation, a: f64) -> f64 {
    match act {
        Activation::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        Activation::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
        Activation::Tanh => a.tanh(),
        Activation::Relu => a.max(0.0),
        Activation::Linear => a,
    }
}

/// One layer in f64: `w[i][j]` (n_in × n_out), `b[j]`, φ.
type Layer64 = (Vec<Vec<f64>>, Vec<f64>, Activation);

/// The pre-activations of every layer for every example, in f64 with plain loops.
fn pre_activations64(layers: &[Layer64], x: &[Vec<f64>]) -> Vec<Vec<Vec<f64>>> {
    let mut h: Vec<Vec<f64>> = x.to_vec();
    let mut all = Vec::new();
    for (w, b, act) in layers {
        let a: Vec<Vec<f64>> = h
            .iter()
            .map(|row| {
                (0..b.len())
                    .map(|j| b[j] + (0..row.len()).map(|i| row[i] * w[i][j]).sum::<f64>())
                    .collect()
            })
            .collect();
        h = a
            .iter()
            .map(|r| r.iter().map(|&v| phi64(*act, v)).collect())
            .collect();
        all.push(a);
    }
    all
}

/// `L = (1/B) Σ_b Σ_j (y_bj − t_bj)²` in f64, from the definition.
fn loss64(layers: &[Layer64], x: &[Vec<f64>], t: &[Vec<f64>]) -> f64 {
    let pre = pre_activations64(layers, x);
    let act = layers[layers.len() - 1].2;
    let y = &pre[pre.len() - 1];
    let sse: f64 = y
        .iter()
        .zip(t)
        .map(|(yr, tr)| {
            yr.iter()
                .zip(tr)
                .map(|(&a, &t)| (phi64(act, a) - t).powi(2))
                .sum::<f64>()
        })
        .sum();
    sse / x.len() as f64
}

fn rows64(m: &Matrix) -> Vec<Vec<f64>> {
    m.rows()
        .into_iter()
        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

fn one_hot_matrix(labels: &[u8]) -> Matrix {
    Matrix::from_shape_fn((labels.len(), CLASSES), |(i, j)| {
        if j == usize::from(labels[i]) {
            1.0
        } else {
            0.0
        }
    })
}

fn settings(sizes: &[usize], activations: &[Activation]) -> BackpropSettings {
    BackpropSettings {
        sizes: sizes.to_vec(),
        activations: activations.to_vec(),
        init: InitScheme::GlorotUniform,
        learning: LearningConfig::default(),
        epochs: 2,
        batch_size: 10,
        seed: 1,
    }
}

/// If a slope, a transpose, the factor 2 or the 1/B were wrong the baseline would still learn
/// something, just not by back-propagation of this loss, and its error rate would price nothing.
///
/// Reference: f64 central differences (h = 10⁻⁶) of the loss written from its definition, with
/// the network's own f32 weights widened to f64. Their own error is ~h²·L''' + 10⁻¹⁶·L/h, below
/// 10⁻⁹. The hand-written gradient is computed in f32 (unit roundoff 6·10⁻⁸, and φ within a few
/// ulp): through 5 layers of at most 6 terms each its error is a few 10⁻⁶ of the O(1) terms it
/// adds (measured: at most 8·10⁻⁸). The tolerance 10⁻⁶ + 10⁻⁴·|g| leaves a margin of 10× or
/// more, while any of the mistakes above makes a relative error of 10⁻¹ or more.
#[test]
fn the_hand_written_gradients_match_f64_central_differences() {
    let dev = Device::cpu(1).unwrap();
    // every non-linearity in some layer
    let acts = [
        Activation::Softplus,
        Activation::Tanh,
        Activation::Relu,
        Activation::Linear,
        Activation::Sigmoid,
    ];
    let mut net = BackpropNet::new(&settings(&[5, 4, 4, 6, 3, 10], &acts));
    let mut rng = Seed(5).stream("gradient-test");
    for layer in &mut net.layers {
        layer.bias.mapv_inplace(|_| rng.random_range(-0.5f32..0.5));
    }
    let b = 6;
    let x = Matrix::from_shape_simple_fn((b, 5), || rng.random_range(-1.0f32..1.0));
    let labels = [0u8, 3, 9, 3, 5, 1];
    let t = one_hot_matrix(&labels);
    let (loss, grads) = net.loss_and_gradients(&dev, x.view(), t.view());

    let (x64, t64) = (rows64(&x), rows64(&t));
    let params: Vec<Layer64> = net
        .layers
        .iter()
        .map(|m| {
            let w = rows64(&m.weight);
            (
                w,
                m.bias.iter().map(|&v| f64::from(v)).collect(),
                m.activation,
            )
        })
        .collect();
    // the ReLU layer (index 2) must have active and inactive units, none near its kink
    let relu_pre = &pre_activations64(&params, &x64)[2];
    let flat: Vec<f64> = relu_pre.iter().flatten().copied().collect();
    assert!(flat.iter().any(|&a| a > 0.0) && flat.iter().any(|&a| a < 0.0));
    assert!(flat.iter().all(|&a| a.abs() > 1e-3), "{flat:?}");

    let reference = loss64(&params, &x64, &t64);
    assert!(
        (loss - reference).abs() < 1e-6 * reference,
        "loss {loss} vs f64 {reference}"
    );

    let h = 1e-6;
    let numeric = |p: &mut Vec<Layer64>, get: &dyn Fn(&mut Vec<Layer64>) -> &mut f64| {
        *get(p) += h;
        let up = loss64(p, &x64, &t64);
        *get(p) -= 2.0 * h;
        let down = loss64(p, &x64, &t64);
        *get(p) += h;
        (up - down) / (2.0 * h)
    };
    let close = |analytic: f32, numeric: f64| {
        (f64::from(analytic) - numeric).abs() <= 1e-6 + 1e-4 * numeric.abs()
    };
    let mut p = params.clone();
    let mut checked = 0;
    for l in 0..params.len() {
        let (rows, cols) = net.layers[l].weight.dim();
        let mut largest = 0.0f64;
        for i in 0..rows {
            for j in 0..cols {
                let n = numeric(&mut p, &|p| &mut p[l].0[i][j]);
                let a = grads[l].0[[i, j]];
                assert!(
                    close(a, n),
                    "∂L/∂W{}[{i},{j}]: back-propagation {a}, finite differences {n}",
                    l + 1
                );
                largest = largest.max(n.abs());
                checked += 1;
            }
        }
        for j in 0..cols {
            let n = numeric(&mut p, &|p| &mut p[l].1[j]);
            let a = grads[l].1[j];
            assert!(
                close(a, n),
                "∂L/∂b{}[{j}]: back-propagation {a}, finite differences {n}",
                l + 1
            );
            checked += 1;
        }
        // the comparison is not vacuous: every layer has gradients well above the tolerance
        assert!(largest > 1e-3, "layer {}: largest |∂L/∂W| {largest}", l + 1);
    }
    let expected: usize = [5, 4, 4, 6, 3, 10]
        .windows(2)
        .map(|w| (w[0] + 1) * w[1])
        .sum();
    assert_eq!(checked, expected);
}

/// Two Gaussian blobs in 4-D, class 3 around +1.5·(1, 1, 1, 1) and class 7 around its opposite,
/// σ = 0.5; the test asserts that the plane Σx = 0 separates them.
fn blobs(n: usize, seed: u64) -> (Matrix, Vec<u8>) {
    let mut rng = Seed(seed).stream("blobs");
    let labels: Vec<u8> = (0..n).map(|i| if i % 2 == 0 { 3 } else { 7 }).collect();
    let x = Matrix::from_shape_fn((n, 4), |(i, _)| {
        let centre = if labels[i] == 3 { 1.5 } else { -1.5 };
        centre + 0.5 * rng.sample::<f32, _>(StandardNormal)
    });
    for (row, &y) in x.rows().into_iter().zip(&labels) {
        assert_eq!(
            row.sum() > 0.0,
            y == 3,
            "the blobs must be linearly separable"
        );
    }
    (x, labels)
}

/// A linearly separable problem must be learnt exactly: 0 % error on the training set (and, the
/// blobs being far apart, on fresh points from the same blobs).
#[test]
fn a_linearly_separable_problem_is_learnt_to_zero_training_error() {
    let dev = Device::cpu(2).unwrap();
    let (x, y) = blobs(300, 1);
    let (vx, vy) = blobs(100, 2);
    let s = BackpropSettings {
        learning: LearningConfig {
            lr: 0.1,
            ..LearningConfig::default()
        },
        epochs: 20,
        ..settings(&[4, 8, 10], &[Activation::Tanh, Activation::Sigmoid])
    };
    let mut seen = Vec::new();
    let (net, history) = train(&dev, &s, x.view(), &y, Some((vx.view(), &vy)), &mut |e| {
        seen.push(e.epoch);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, (1..=20).collect::<Vec<_>>());
    assert_eq!(history.len(), 20);
    let last = &history[19];
    assert_eq!(last.train_error, 0.0, "{history:?}");
    assert_eq!(last.validation_error, Some(0.0), "{history:?}");
    assert_eq!(error_rate(&net.predict(&dev, x.view()), &y), 0.0);
    assert!(last.train_loss < 0.5 * history[0].train_loss, "{history:?}");
}

/// Random images `[n, d]` in [0, 1) with labels `i mod 10`.
fn noise_data(n: usize, d: usize, seed: u64) -> (Matrix, Vec<u8>) {
    let mut rng = Seed(seed).stream("noise-data");
    let x = Matrix::from_shape_simple_fn((n, d), || rng.random::<f32>());
    (x, (0..n).map(|i| (i % CLASSES) as u8).collect())
}

fn without_seconds(h: &[BaselineEpoch]) -> Vec<BaselineEpoch> {
    h.iter()
        .map(|e| BaselineEpoch {
            seconds: 0.0,
            ..e.clone()
        })
        .collect()
}

/// A baseline is only comparable across machines if one seed gives one network. The widths
/// (200 inputs, minibatches of 200) make the GEMMs large enough for the `gemm` crate to split
/// them over both threads.
#[test]
fn training_is_bit_identical_on_one_and_two_threads() {
    let (x, y) = noise_data(600, 200, 3);
    let (vx, vy) = noise_data(300, 200, 4);
    let (one, two) = (Device::cpu(1).unwrap(), Device::cpu(2).unwrap());
    for optimizer in [Optimizer::Sgd, Optimizer::Rmsprop, Optimizer::Adam] {
        let s = BackpropSettings {
            learning: LearningConfig {
                optimizer,
                lr: 1e-3,
                lr_decay: 0.9,
                ..LearningConfig::default()
            },
            batch_size: 200,
            ..settings(
                &[200, 64, 32, 10],
                &[
                    Activation::Softplus,
                    Activation::Sigmoid,
                    Activation::Sigmoid,
                ],
            )
        };
        let run = |dev: &Device, s: &BackpropSettings| {
            train(
                dev,
                s,
                x.view(),
                &y,
                Some((vx.view(), &vy)),
                &mut |_| Ok(()),
            )
            .unwrap()
        };
        let (net1, h1) = run(&one, &s);
        let (net2, h2) = run(&two, &s);
        assert_eq!(net1, net2, "{optimizer:?}");
        assert_eq!(without_seconds(&h1), without_seconds(&h2), "{optimizer:?}");
        let (other, _) = run(&two, &BackpropSettings { seed: 2, ..s });
        assert_ne!(net1, other, "{optimizer:?}: the seed must matter");
    }
}

/// With SGD and one minibatch holding the whole set, epoch e moves every parameter by exactly
/// −lr·decayᵉ·∂L/∂θ (e = 0, 1): the gradient checked above, the learner's schedule.
#[test]
fn sgd_descends_the_gradient_at_the_learners_decayed_rate() {
    let dev = Device::cpu(1).unwrap();
    let (x, y) = noise_data(20, 6, 5);
    let t = one_hot_matrix(&y);
    let s = BackpropSettings {
        learning: LearningConfig {
            lr: 0.5,
            lr_decay: 0.5,
            ..LearningConfig::default()
        },
        batch_size: 20,
        ..settings(&[6, 5, 10], &[Activation::Tanh, Activation::Sigmoid])
    };
    let (trained, _) = train(&dev, &s, x.view(), &y, None, &mut |_| Ok(())).unwrap();
    let mut expected = BackpropNet::new(&s);
    for rate in [0.5f32, 0.25] {
        let (_, grads) = expected.loss_and_gradients(&dev, x.view(), t.view());
        for (map, (gw, gb)) in expected.layers.iter_mut().zip(grads) {
            map.weight.zip_mut_with(&gw, |w, &g| *w -= rate * g);
            map.bias.zip_mut_with(&gb, |b, &g| *b -= rate * g);
        }
    }
    for (a, b) in trained.layers.iter().zip(&expected.layers) {
        // the order of the rows within the minibatch differs, so the sums round differently
        for (&u, &v) in a
            .weight
            .iter()
            .zip(&b.weight)
            .chain(a.bias.iter().zip(&b.bias))
        {
            assert!((u - v).abs() <= 1e-6 + 1e-5 * v.abs(), "{u} vs {v}");
        }
    }
}

/// The network is the learner's: one `Map::new` per layer, input first, from "baseline/init".
#[test]
fn the_layers_are_the_learners_maps_from_the_init_stream() {
    let s = BackpropSettings {
        init: InitScheme::Orthogonal,
        ..settings(&[7, 5, 10], &[Activation::Relu, Activation::Linear])
    };
    let net = BackpropNet::new(&s);
    let mut rng = Seed(1).stream("baseline/init");
    let first = Map::new(7, 5, Activation::Relu, InitScheme::Orthogonal, &mut rng);
    let second = Map::new(5, 10, Activation::Linear, InitScheme::Orthogonal, &mut rng);
    assert_eq!(net.layers, vec![first, second]);
    assert_eq!((net.input_width(), net.output_width()), (7, 10));
}

/// The forward pass in blocks gives the rows it would give one at a time, and predictions are
/// the largest output (the lowest index on ties).
#[test]
fn forward_in_blocks_and_predictions_follow_the_outputs() {
    let dev = Device::cpu(2).unwrap();
    let net = BackpropNet::new(&settings(
        &[3, 4, 10],
        &[Activation::Tanh, Activation::Sigmoid],
    ));
    let (x, _) = noise_data(BLOCK + 5, 3, 6);
    let y = net.forward(&dev, x.view());
    assert_eq!(y.dim(), (BLOCK + 5, 10));
    for r in [0, BLOCK - 1, BLOCK, BLOCK + 4] {
        let alone = net.forward(&dev, x.slice(s![r..r + 1, ..]));
        assert_eq!(alone.row(0), y.row(r), "row {r}");
    }
    let tie = BackpropNet {
        layers: vec![Map {
            weight: Matrix::zeros((2, 10)),
            bias: Array1::from_iter((0..10).map(|j| if j == 4 || j == 6 { 1.0 } else { 0.0 })),
            activation: Activation::Linear,
        }],
    };
    assert_eq!(tie.predict(&dev, Array2::zeros((2, 2)).view()), vec![4, 4]);
}

#[test]
fn error_rate_is_the_fraction_wrong() {
    assert_eq!(error_rate(&[1, 2, 3, 4], &[1, 0, 3, 0]), 0.5);
    assert_eq!(error_rate(&[5], &[5]), 0.0);
    assert_eq!(error_rate(&[], &[]), 0.0);
    // a label without a prediction is wrong
    assert_eq!(error_rate(&[1], &[1, 2]), 0.5);
}

/// Every bad input is an error that names the problem, not a panic.
#[test]
fn bad_input_is_an_error_naming_the_problem() {
    let dev = Device::cpu(1).unwrap();
    let good = settings(&[4, 3, 10], &[Activation::Tanh, Activation::Sigmoid]);
    let (x, y) = noise_data(30, 4, 7);
    let fail = |s: &BackpropSettings, x: &Matrix, y: &[u8], v: Option<(&Matrix, &[u8])>| {
        let v = v.map(|(vx, vy)| (vx.view(), vy));
        match train(&dev, s, x.view(), y, v, &mut |_| Ok(())) {
            Ok(_) => panic!("training should have failed"),
            Err(e) => e,
        }
    };
    let message = |s: &BackpropSettings, x: &Matrix, y: &[u8]| fail(s, x, y, None).to_string();
    let contains = |m: String, words: &[&str]| {
        assert!(
            words.iter().all(|w| m.contains(w)),
            "{m:?} should say {words:?}"
        );
    };

    contains(
        message(&good, &x, &y[..29]),
        &["30 training labels", "29 labels"],
    );
    let mut bad_label = y.clone();
    bad_label[11] = 10;
    contains(message(&good, &x, &bad_label), &["label 10", "example 11"]);
    contains(
        message(
            &BackpropSettings {
                batch_size: 31,
                ..good.clone()
            },
            &x,
            &y,
        ),
        &["baseline.batch_size", "31", "30 training examples"],
    );
    contains(
        message(
            &BackpropSettings {
                batch_size: 0,
                ..good.clone()
            },
            &x,
            &y,
        ),
        &["baseline.batch_size"],
    );
    contains(
        message(
            &BackpropSettings {
                epochs: 0,
                ..good.clone()
            },
            &x,
            &y,
        ),
        &["baseline.epochs"],
    );
    let one_act = BackpropSettings {
        activations: vec![Activation::Sigmoid],
        ..good.clone()
    };
    contains(
        message(&one_act, &x, &y),
        &["baseline.activations", "2", "got 1"],
    );
    let nine = settings(&[4, 3, 9], &[Activation::Tanh, Activation::Sigmoid]);
    contains(message(&nine, &x, &y), &["baseline.sizes", "10", "got 9"]);
    let short = settings(&[10], &[]);
    contains(message(&short, &x, &y), &["baseline.sizes"]);
    let zero = settings(&[4, 0, 10], &[Activation::Tanh, Activation::Sigmoid]);
    contains(message(&zero, &x, &y), &["baseline.sizes", "positive"]);
    let wide = settings(&[5, 3, 10], &[Activation::Tanh, Activation::Sigmoid]);
    contains(message(&wide, &x, &y), &["5 values", "4 values per row"]);
    let bad_lr = BackpropSettings {
        learning: LearningConfig {
            lr: -1.0,
            ..LearningConfig::default()
        },
        ..good.clone()
    };
    contains(message(&bad_lr, &x, &y), &["baseline.learning.lr"]);

    let (vx, vy) = noise_data(5, 4, 8);
    let v_msg = |vx: &Matrix, vy: &[u8]| fail(&good, &x, &y, Some((vx, vy))).to_string();
    contains(v_msg(&vx, &vy[..4]), &["5 validation labels", "4 labels"]);
    let mut v_bad = vy.clone();
    v_bad[2] = 200;
    contains(v_msg(&vx, &v_bad), &["label 200", "validation example 2"]);
    contains(
        v_msg(&Matrix::zeros((0, 4)), &[]),
        &["validation set is empty"],
    );
    contains(
        v_msg(&Matrix::zeros((5, 3)), &vy),
        &["validation images of 4 values"],
    );

    // a diverging run: linear layers and a huge rate
    let diverging = BackpropSettings {
        activations: vec![Activation::Linear, Activation::Linear],
        learning: LearningConfig {
            lr: 1e6,
            ..LearningConfig::default()
        },
        epochs: 50,
        ..good.clone()
    };
    let e = fail(&diverging, &x, &y, None);
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    contains(e.to_string(), &["back-propagation baseline", "epoch"]);

    // the callback's error stops training after that epoch
    let mut calls = 0;
    let stop = train(&dev, &good, x.view(), &y, None, &mut |_| {
        calls += 1;
        Err(Error::Interrupted("stop".into()))
    });
    assert!(matches!(stop, Err(Error::Interrupted(_))));
    assert_eq!(calls, 1);
}
