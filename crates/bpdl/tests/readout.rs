//! The linear readout of the top codes (issue 14's representation target,
//! [`bpdl::eval::readout`]). Oracles: an f64 finite difference of the loss written from scratch;
//! a separable problem that softmax regression must solve exactly; two Gaussian classes with
//! equal covariance, whose Bayes accuracy Φ(Δ/2) (Δ the Mahalanobis distance of the means) is
//! the best any classifier can do and the one logistic regression converges to; bit-identical
//! weights on one and two threads; and the model's own E-step behind the codes.

mod common;

use std::path::PathBuf;

use bpdl::data::{Dataset, Mnist, Split};
use bpdl::eval::readout::{
    Readout, ReadoutConfig, ReadoutSettings, readout_accuracy, select_readout, top_codes,
    train_readout,
};
use bpdl::model::GenerativeModel;
use bpdl::rng::Seed;
use bpdl::{Device, Error, Matrix};
use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::StandardNormal;

fn uniform(rows: usize, cols: usize, lo: f32, hi: f32, seed: u64) -> Matrix {
    let mut r = Seed(seed).stream("uniform");
    Array2::from_shape_simple_fn((rows, cols), || r.random_range(lo..hi))
}

/// `n` points per class, class k centred at `spread·e_k` (k < d) plus noise `U(−1, 1)^d`.
fn clusters(n: usize, classes: usize, d: usize, spread: f32, seed: u64) -> (Matrix, Vec<u8>) {
    let mut x = uniform(n * classes, d, -1.0, 1.0, seed);
    let mut y = Vec::with_capacity(n * classes);
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        let k = i % classes;
        row[k % d] += spread;
        y.push(k as u8);
    }
    (x, y)
}

/// The loss `−(1/n) Σ log softmax((h − μ)s·W + b)_y + (λ/2)‖W‖²` in f64, from scratch.
fn loss_f64(
    h: &Matrix,
    y: &[u8],
    (mean, scale): (&Array1<f32>, &Array1<f32>),
    w: &Array2<f64>,
    b: &Array1<f64>,
    l2: f64,
) -> f64 {
    let (d, c) = w.dim();
    let mut total = 0.0;
    for (row, &label) in h.rows().into_iter().zip(y) {
        let z: Vec<f64> = (0..d)
            .map(|j| (f64::from(row[j]) - f64::from(mean[j])) * f64::from(scale[j]))
            .collect();
        let logits: Vec<f64> = (0..c)
            .map(|k| b[k] + (0..d).map(|j| z[j] * w[[j, k]]).sum::<f64>())
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + logits.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += lse - logits[usize::from(label)];
    }
    total / h.nrows() as f64 + 0.5 * l2 * w.iter().map(|v| v * v).sum::<f64>()
}

/// ∂ℓ/∂W = (1/B)zᵀ(P − Y) + λW and ∂ℓ/∂b = (1/B)1ᵀ(P − Y), against central differences
/// (ε = 10⁻⁵) of the f64 loss at the same point: agreement to 2·10⁻⁴ (f32 arithmetic).
#[test]
fn the_gradient_matches_a_finite_difference_of_the_loss() {
    let dev = Device::cpu(2).unwrap();
    let (n, d, c, l2) = (12, 5, 4, 0.05f32);
    let h = uniform(n, d, -1.0, 2.0, 1);
    let y: Vec<u8> = (0..n).map(|i| (i * 7 % c) as u8).collect();
    let mean = Array1::from(vec![0.5f32, -0.2, 0.1, 0.0, 0.3]);
    let scale = Array1::from(vec![1.5f32, 0.7, 1.0, 0.0, 2.0]);
    let w = uniform(d, c, -0.8, 0.8, 2);
    let b = Array1::from(vec![0.1f32, -0.3, 0.2, 0.0]);
    let r = Readout::new(mean.clone(), scale.clone(), w.clone(), b.clone()).unwrap();
    let (loss, gw, gb) = r.loss_and_gradient(&dev, h.view(), &y, l2).unwrap();
    let w64 = w.mapv(f64::from);
    let b64 = b.mapv(f64::from);
    let at = |w: &Array2<f64>, b: &Array1<f64>| loss_f64(&h, &y, (&mean, &scale), w, b, l2.into());
    assert!((loss - at(&w64, &b64)).abs() < 1e-5, "loss {loss}");
    let eps = 1e-5;
    let close = |analytic: f32, numeric: f64, what: String| {
        assert!(
            (f64::from(analytic) - numeric).abs() < 2e-4,
            "{what}: hand-written {analytic}, finite difference {numeric}"
        );
    };
    for j in 0..d {
        for k in 0..c {
            let (mut plus, mut minus) = (w64.clone(), w64.clone());
            plus[[j, k]] += eps;
            minus[[j, k]] -= eps;
            let numeric = (at(&plus, &b64) - at(&minus, &b64)) / (2.0 * eps);
            close(gw[[j, k]], numeric, format!("dW[{j},{k}]"));
        }
    }
    for k in 0..c {
        let (mut plus, mut minus) = (b64.clone(), b64.clone());
        plus[k] += eps;
        minus[k] -= eps;
        let numeric = (at(&w64, &plus) - at(&w64, &minus)) / (2.0 * eps);
        close(gb[k], numeric, format!("db[{k}]"));
    }
    // the dropped column (scale 0) gets only the decay term λW
    for k in 0..c {
        assert!((gw[[3, k]] - l2 * w[[3, k]]).abs() < 1e-6);
    }
}

/// Clusters 4√2 apart whose noise stays within √5 of the centre are separated by the bisecting
/// hyperplanes, so softmax regression must classify every training and test point.
#[test]
fn linearly_separable_classes_are_all_classified() {
    let dev = Device::cpu(2).unwrap();
    let (x, y) = clusters(100, 3, 5, 4.0, 3);
    let (xt, yt) = clusters(100, 3, 5, 4.0, 4);
    let r = train_readout(&dev, x.view(), &y, &ReadoutConfig::default()).unwrap();
    assert_eq!(r.classes(), 3);
    assert_eq!(r.accuracy(&dev, x.view(), &y).unwrap(), 1.0);
    assert_eq!(r.accuracy(&dev, xt.view(), &yt).unwrap(), 1.0);
}

/// Φ(x) through erfc (Abramowitz & Stegun 7.1.26, error below 1.5·10⁻⁷).
fn phi(x: f64) -> f64 {
    let erfc = |u: f64| {
        let t = 1.0 / (1.0 + 0.327_591_1 * u.abs());
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        let e = poly * (-u * u).exp();
        if u >= 0.0 { e } else { 2.0 - e }
    };
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// `n` draws of each class: `x = μ_k + A·ε`, ε ~ N(0, I), Σ = A·Aᵀ shared.
fn two_gaussians(n: usize, mu: [[f64; 2]; 2], a: [[f64; 2]; 2], seed: u64) -> (Matrix, Vec<u8>) {
    let mut r = Seed(seed).stream("gaussians");
    let mut x = Matrix::zeros((2 * n, 2));
    let mut y = Vec::with_capacity(2 * n);
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        let k = i % 2;
        let e: [f64; 2] = [r.sample(StandardNormal), r.sample(StandardNormal)];
        for p in 0..2 {
            row[p] = (mu[k][p] + a[p][0] * e[0] + a[p][1] * e[1]) as f32;
        }
        y.push(k as u8);
    }
    (x, y)
}

/// Two classes of equal prior, N(μ₀, Σ) and N(μ₁, Σ): the Bayes rule is linear and its accuracy
/// is Φ(Δ/2), Δ² = (μ₁ − μ₀)ᵀΣ⁻¹(μ₁ − μ₀). Here Σ = [[1, 0.8], [0.8, 1]], μ₁ − μ₀ = (1, 0):
/// Δ² = 1/0.36, Bayes accuracy Φ(0.8333) = 0.7977. Logistic regression fitted to 2 × 10,000
/// draws must come within 0.012 of it on 2 × 10,000 fresh draws (the test sample's own s.e. is
/// 0.003; a wrong boundary direction costs several points).
#[test]
fn two_gaussian_classes_reach_the_bayes_accuracy() {
    let dev = Device::cpu(2).unwrap();
    let mu = [[-0.5, 0.3], [0.5, 0.3]];
    let a = [[1.0, 0.0], [0.8, 0.6]];
    let (sxx, sxy, syy) = (1.0, 0.8, 1.0);
    let det: f64 = sxx * syy - sxy * sxy;
    let (dx, dy) = (mu[1][0] - mu[0][0], mu[1][1] - mu[0][1]);
    let delta2 = (syy * dx * dx - 2.0 * sxy * dx * dy + sxx * dy * dy) / det;
    let bayes = phi(delta2.sqrt() / 2.0);
    assert!((bayes - 0.7977).abs() < 1e-3, "{bayes}");
    let (x, y) = two_gaussians(10_000, mu, a, 5);
    let (xt, yt) = two_gaussians(10_000, mu, a, 6);
    let r = train_readout(&dev, x.view(), &y, &ReadoutConfig::default()).unwrap();
    let acc = r.accuracy(&dev, xt.view(), &yt).unwrap();
    assert!(
        (acc - bayes).abs() < 0.012,
        "test accuracy {acc}, Bayes accuracy {bayes}"
    );
    // the fitted boundary is normal to Σ⁻¹(μ₁ − μ₀) ∝ (1, −0.8) in the raw features
    let w = r.weight();
    let s = r.scale();
    let normal = [
        (w[[0, 1]] - w[[0, 0]]) * s[0],
        (w[[1, 1]] - w[[1, 0]]) * s[1],
    ];
    let ratio = normal[1] / normal[0];
    assert!((ratio + 0.8).abs() < 0.1, "boundary normal ratio {ratio}");
}

/// Ten noisy clusters in 30 dimensions.
fn ten_classes(seed: u64) -> (Matrix, Vec<u8>) {
    clusters(150, 10, 30, 1.5, seed)
}

/// One seed, one readout, whatever the thread count: fits, searches and scores agree bit for
/// bit; another seed (another minibatch order) gives other weights.
#[test]
fn training_and_selection_are_bit_identical_on_one_and_two_threads() {
    let (x, y) = ten_classes(7);
    let cfg = ReadoutConfig {
        epochs: 3,
        batch_size: 64,
        ..ReadoutConfig::default()
    };
    let one = train_readout(&Device::cpu(1).unwrap(), x.view(), &y, &cfg).unwrap();
    let two = train_readout(&Device::cpu(2).unwrap(), x.view(), &y, &cfg).unwrap();
    assert_eq!(one, two);
    let other = ReadoutConfig { seed: 2, ..cfg };
    let three = train_readout(&Device::cpu(2).unwrap(), x.view(), &y, &other).unwrap();
    assert_ne!(one, three);
    let settings = ReadoutSettings {
        lr: vec![0.03, 0.3],
        l2: vec![0.0, 1e-3],
        epochs: vec![2, 4],
        ..ReadoutSettings::default()
    };
    let s1 = select_readout(&Device::cpu(1).unwrap(), x.view(), &y, &settings).unwrap();
    let s2 = select_readout(&Device::cpu(2).unwrap(), x.view(), &y, &settings).unwrap();
    assert_eq!(s1, s2);
    assert_eq!(s1.1.candidates.len(), 8);
    assert_eq!(s1.1.validation_examples, 150);
    let best =
        s1.1.candidates
            .iter()
            .filter_map(|c| c.validation_accuracy)
            .fold(0.0, f64::max);
    assert_eq!(s1.1.validation_accuracy, best);
}

/// A diverging candidate is skipped by the search, and is an error of its own fit.
#[test]
fn a_diverging_learning_rate_is_skipped_by_the_search_and_an_error_alone() {
    let dev = Device::cpu(2).unwrap();
    let (x, y) = ten_classes(8);
    let huge = ReadoutConfig {
        lr: 3e37,
        ..ReadoutConfig::default()
    };
    let err = train_readout(&dev, x.view(), &y, &huge).unwrap_err();
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("smaller readout learning rate")),
        "{err}"
    );
    let settings = ReadoutSettings {
        lr: vec![3e37, 0.1],
        l2: vec![0.0],
        epochs: vec![3],
        ..ReadoutSettings::default()
    };
    let (_, sel) = select_readout(&dev, x.view(), &y, &settings).unwrap();
    assert_eq!(sel.candidates[0].validation_accuracy, None);
    assert_eq!(sel.chosen.lr, 0.1);
    let only_huge = ReadoutSettings {
        lr: vec![3e37],
        ..settings
    };
    assert!(select_readout(&dev, x.view(), &y, &only_huge).is_err());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dev = Device::cpu(1).unwrap();
    let cfg = ReadoutConfig::default();
    let (x, y) = clusters(5, 2, 3, 2.0, 9);
    let empty = Matrix::zeros((0, 3));
    let usage = |r: Result<_, Error>, needle: &str| match r {
        Err(Error::Usage(m)) => assert!(m.contains(needle), "{m}"),
        Err(e) => panic!("expected a usage error about `{needle}`, got {e}"),
        Ok(_) => panic!("expected a usage error about `{needle}`"),
    };
    usage(
        train_readout(&dev, empty.view(), &[], &cfg).map(|_| ()),
        "at least one example",
    );
    usage(
        train_readout(&dev, x.view(), &y[..4], &cfg).map(|_| ()),
        "labels missing",
    );
    let mut nan = x.clone();
    nan[[2, 1]] = f32::NAN;
    usage(train_readout(&dev, nan.view(), &y, &cfg).map(|_| ()), "NaN");
    let zero_lr = ReadoutConfig { lr: 0.0, ..cfg };
    assert!(matches!(
        train_readout(&dev, x.view(), &y, &zero_lr),
        Err(Error::Config { key, .. }) if key == "readout.lr"
    ));
    let no_epochs = ReadoutSettings {
        epochs: vec![],
        ..ReadoutSettings::default()
    };
    assert!(matches!(
        select_readout(&dev, x.view(), &y, &no_epochs),
        Err(Error::Config { key, .. }) if key == "readout.epochs"
    ));
    usage(
        select_readout(
            &dev,
            x.slice(ndarray::s![..1, ..]),
            &y[..1],
            &ReadoutSettings::default(),
        )
        .map(|_| ()),
        "at least 2 training codes",
    );
    let r = train_readout(&dev, x.view(), &y, &cfg).unwrap();
    assert!(matches!(
        r.accuracy(&dev, Matrix::zeros((2, 4)).view(), &[0, 1]),
        Err(Error::Shape { .. })
    ));
    usage(
        r.loss_and_gradient(&dev, x.view(), &vec![7; x.nrows()], 0.0)
            .map(|_| ()),
        "label 7",
    );
    assert!(
        Readout::new(
            Array1::zeros(3),
            Array1::zeros(2),
            Matrix::zeros((3, 2)),
            Array1::zeros(2)
        )
        .is_err()
    );
}

/// A small random model and data on a 3-dimensional manifold in [0, 1]^16, labelled by the sign
/// pattern of two of its coordinates.
fn tiny_run() -> (GenerativeModel, bpdl::Config, Mnist) {
    let mut config = common::small_config(12, 6);
    config.inference.steps = 4;
    let model = GenerativeModel::new(16, &config.model, &mut Seed(3).stream("init"));
    let split = |n: usize, seed: u64| {
        let images = common::manifold_data(n, 16, 3, seed);
        let labels = images
            .rows()
            .into_iter()
            .map(|r| u8::from(r[0] > 0.5) + 2 * u8::from(r[1] > 0.5))
            .collect();
        Split { images, labels }
    };
    let data = Mnist {
        dataset: Dataset::Mnist,
        dir: PathBuf::from("(synthetic)"),
        train: split(300, 1),
        validation: split(50, 2),
        test: split(100, 3),
        image_shape: (4, 4),
    };
    (model, config, data)
}

/// The inferred codes are the model's own E-step (`bpdl::inference::infer` with the run's
/// settings), the feed-forward codes its first step; with 0 iterations they coincide.
#[test]
fn the_codes_come_from_the_models_own_e_step() {
    let dev = Device::cpu(2).unwrap();
    let (model, config, data) = tiny_run();
    let x = data.train.images.view();
    let codes = top_codes(
        &dev,
        &model,
        x,
        &config.inference,
        20,
        &mut Seed(1).stream("r"),
    )
    .unwrap();
    let post = bpdl::inference::infer(
        &dev,
        &model,
        x,
        &config.inference,
        20,
        &mut Seed(1).stream("r"),
    )
    .unwrap();
    assert_eq!(codes.inferred(), post.h[1].view());
    let all =
        ndarray::concatenate(ndarray::Axis(1), &[post.h[0].view(), post.h[1].view()]).unwrap();
    assert_eq!(codes.all_layers, all);
    let no_steps = bpdl::config::InferenceConfig {
        steps: 0,
        ..config.inference
    };
    let ff =
        bpdl::inference::infer(&dev, &model, x, &no_steps, 20, &mut Seed(1).stream("r")).unwrap();
    assert_eq!(codes.feed_forward, ff.h[1]);
    assert_ne!(codes.feed_forward.view(), codes.inferred());
    assert!(
        top_codes(
            &dev,
            &model,
            Matrix::zeros((2, 5)).view(),
            &config.inference,
            20,
            &mut Seed(1).stream("r")
        )
        .is_err()
    );
}

#[test]
fn readout_accuracy_reports_both_codes_and_is_the_same_on_two_threads() {
    let (model, config, data) = tiny_run();
    let settings = ReadoutSettings {
        lr: vec![0.1],
        l2: vec![0.0, 1e-3],
        epochs: vec![3],
        ..ReadoutSettings::default()
    };
    let one =
        readout_accuracy(&Device::cpu(1).unwrap(), &model, &config, &data, &settings).unwrap();
    let two =
        readout_accuracy(&Device::cpu(2).unwrap(), &model, &config, &data, &settings).unwrap();
    assert_eq!(
        (
            one.test_accuracy,
            one.feed_forward_test_accuracy,
            one.train_accuracy
        ),
        (
            two.test_accuracy,
            two.feed_forward_test_accuracy,
            two.train_accuracy
        )
    );
    assert_eq!((one.layer.as_str(), one.code_width), ("h2", 6));
    // every inferred layer side by side: h1 then h2, the same on both thread counts
    let (a1, a2) = (
        one.all_layers.as_ref().unwrap(),
        two.all_layers.as_ref().unwrap(),
    );
    assert_eq!(
        (a1.layers.as_str(), a1.code_width),
        ("h1+h2", model.sizes[1] + 6)
    );
    assert_eq!(a1, a2);
    assert!((0.0..=1.0).contains(&a1.test_accuracy));
    assert_eq!(
        (one.train_examples, one.test_examples, one.inference_steps),
        (300, 100, 4)
    );
    for a in [
        one.test_accuracy,
        one.train_accuracy,
        one.feed_forward_test_accuracy,
    ] {
        assert!((0.0..=1.0).contains(&a));
    }
    // four classes: a readout that learnt nothing would score about 1/4
    assert!(one.train_accuracy > 0.4, "{one}");
    let mut empty = data.clone();
    empty.test = Split {
        images: Matrix::zeros((0, 16)),
        labels: vec![],
    };
    assert!(matches!(
        readout_accuracy(&Device::cpu(1).unwrap(), &model, &config, &empty, &settings),
        Err(Error::Usage(m)) if m.contains("test split is empty")
    ));
}
