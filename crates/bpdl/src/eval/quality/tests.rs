use ndarray::{Array2, array};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::*;
use crate::rng::Seed;

fn dev() -> Device {
    Device::cpu(2).unwrap()
}

fn gaussian_points(n: usize, d: usize, shift: f32, seed: u64) -> Array2<f32> {
    let mut rng = Seed(seed).stream("quality-test");
    Array2::from_shape_simple_fn((n, d), || {
        let z: f32 = StandardNormal.sample(&mut rng);
        z + shift
    })
}

/// A feature set compared with itself must score a perfect 0, whatever its covariance.
#[test]
fn the_fid_of_a_feature_set_with_itself_is_zero() {
    let dev = dev();
    let mut x = gaussian_points(500, 16, 0.0, 1);
    // correlated, anisotropic features
    for mut row in x.rows_mut() {
        row[1] += 2.0 * row[0];
        row[2] *= 5.0;
    }
    let s = feature_statistics(&dev, x.view()).unwrap();
    let d = frechet_distance_of(&dev, &s, &s).unwrap();
    let scale = s.covariance.diag().sum();
    assert!(d <= 1e-6 * scale, "FID {d} (trace {scale})");
}

/// With diagonal (commuting) covariances the Fréchet distance is
/// `‖μ₁ − μ₂‖² + Σ_i (√a_i − √b_i)²`.
#[test]
fn the_fid_of_diagonal_gaussians_is_the_closed_form() {
    let dev = dev();
    let d = 7;
    let mu1: Array1<f64> = (0..d).map(|i| i as f64 * 0.3).collect();
    let mu2: Array1<f64> = (0..d).map(|i| 1.0 - i as f64 * 0.1).collect();
    let a: Vec<f64> = (0..d).map(|i| 0.5 + i as f64).collect();
    let b: Vec<f64> = (0..d).map(|i| 4.0 / (1.0 + i as f64)).collect();
    let s1 = Array2::from_diag(&Array1::from(a.clone()));
    let s2 = Array2::from_diag(&Array1::from(b.clone()));
    let expected: f64 = mu1
        .iter()
        .zip(&mu2)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        + a.iter()
            .zip(&b)
            .map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2))
            .sum::<f64>();
    let got = frechet_distance(&dev, mu1.view(), s1.view(), mu2.view(), s2.view()).unwrap();
    assert!(
        (got - expected).abs() < 1e-10 * expected,
        "{got} vs {expected}"
    );
}

/// Non-commuting 2×2 covariances. For 2×2 positive definite M, tr √M = √(tr M + 2√det M)
/// (the eigenvalues of √M are √λ₁, √λ₂, and (√λ₁ + √λ₂)² = λ₁ + λ₂ + 2√(λ₁λ₂)); with
/// M = Σ₁^{1/2}Σ₂Σ₁^{1/2}, tr M = tr Σ₁Σ₂ and det M = det Σ₁·det Σ₂. Here Σ₁ = diag(4, 1),
/// Σ₂ = [[2, 1], [1, 2]]: tr Σ₁Σ₂ = 10, det = 4·3 = 12, so the cross term is √(10 + 4√3) and
/// FID = ‖μ₁ − μ₂‖² + 5 + 4 − 2√(10 + 4√3).
#[test]
fn the_fid_of_non_commuting_gaussians_matches_the_two_by_two_formula() {
    let dev = dev();
    let s1 = array![[4.0, 0.0], [0.0, 1.0]];
    let s2 = array![[2.0, 1.0], [1.0, 2.0]];
    let (m1, m2) = (array![1.0, -1.0], array![0.0, 1.0]);
    let expected = 5.0 + 9.0 - 2.0 * (10.0 + 4.0 * 3f64.sqrt()).sqrt();
    let got = frechet_distance(&dev, m1.view(), s1.view(), m2.view(), s2.view()).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    // and it is symmetric, although Σ₁ and Σ₂ do not commute
    let back = frechet_distance(&dev, m2.view(), s2.view(), m1.view(), s1.view()).unwrap();
    assert!((back - expected).abs() < 1e-12, "{back} vs {expected}");
}

#[test]
fn mismatched_shapes_are_errors_not_panics() {
    let dev = dev();
    let s = Array2::<f64>::eye(2);
    assert!(
        frechet_distance(
            &dev,
            array![0.0, 0.0].view(),
            s.view(),
            array![0.0].view(),
            s.view()
        )
        .is_err()
    );
    let x = gaussian_points(10, 3, 0.0, 1);
    let y = gaussian_points(10, 4, 0.0, 2);
    assert!(precision_recall(&dev, x.view(), y.view(), 3).is_err());
    assert!(precision_recall(&dev, x.view(), x.view(), 10).is_err());
}

/// Every point lies in its own ball (distance 0), so a set against itself scores 1 and 1.
#[test]
fn precision_and_recall_of_a_set_against_itself_are_one() {
    let dev = dev();
    let x = gaussian_points(1500, 8, 0.0, 3);
    assert_eq!(
        precision_recall(&dev, x.view(), x.view(), 3).unwrap(),
        (1.0, 1.0)
    );
}

/// Two clouds of unit spread 1,000 apart: no ball of one reaches the other.
#[test]
fn a_far_away_set_has_zero_precision_and_recall() {
    let dev = dev();
    let real = gaussian_points(1200, 8, 0.0, 4);
    let far = gaussian_points(1300, 8, 1000.0, 5);
    assert_eq!(
        precision_recall(&dev, real.view(), far.view(), 3).unwrap(),
        (0.0, 0.0)
    );
}

/// Samples that cover only half of the data (one of two far-apart clusters) keep full precision
/// but recall ≈ ½.
#[test]
fn samples_from_half_of_the_data_have_full_precision_and_half_recall() {
    let dev = dev();
    let mut real = gaussian_points(2000, 4, 0.0, 6);
    for mut row in real.rows_mut().into_iter().skip(1000) {
        row += 100.0;
    }
    let samples = real.slice(ndarray::s![..1000, ..]).to_owned();
    let (p, r) = precision_recall(&dev, real.view(), samples.view(), 3).unwrap();
    assert_eq!(p, 1.0);
    assert!((r - 0.5).abs() < 0.02, "recall {r}");
}

/// One-hot predictions spread evenly over 10 classes: p(y) uniform, KL = ln 10 for each row.
#[test]
fn the_inception_score_of_confident_uniformly_spread_predictions_is_the_class_count() {
    let dev = dev();
    let p = Array2::from_shape_fn((1000, 10), |(i, j)| if i % 10 == j { 1.0f32 } else { 0.0 });
    let is = inception_score(&dev, p.view()).unwrap();
    assert!((is - 10.0).abs() < 1e-9, "{is}");
    assert_eq!(class_histogram(&dev, p.view()), vec![0.1; 10]);
}

#[test]
fn the_inception_score_of_identical_predictions_is_one() {
    let dev = dev();
    let row = [0.05f32, 0.1, 0.15, 0.2, 0.5];
    let p = Array2::from_shape_fn((300, 5), |(_, j)| row[j]);
    let is = inception_score(&dev, p.view()).unwrap();
    assert!((is - 1.0).abs() < 1e-9, "{is}");
    assert_eq!(
        class_histogram(&dev, p.view()),
        vec![0.0, 0.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn random_halves_partition_the_indices_and_depend_on_the_seed() {
    let (a, b) = random_halves(10_001, &mut Seed(1).stream("halves"));
    assert_eq!((a.len(), b.len()), (5000, 5001));
    let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10_001).collect::<Vec<_>>());
    // not the first and last halves: both hold early and late indices
    assert!(a.iter().any(|&i| i < 5000) && a.iter().any(|&i| i >= 5000));
    let (c, _) = random_halves(10_001, &mut Seed(2).stream("halves"));
    assert_ne!(a, c);
}

/// The whole score on a tiny untrained network: values inside their mathematical ranges, and a
/// set scored against itself gets FID 0 and precision = recall = 1.
#[test]
fn the_score_of_a_set_against_itself() {
    let dev = dev();
    let clf = EvalClassifier::init(&[12, 16, 8, 10], &mut Seed(1).stream("clf")).unwrap();
    let mut rng = Seed(2).stream("images");
    let x = Array2::from_shape_simple_fn((400, 12), || rng.random_range(0.0f32..1.0));
    let s = score(&dev, &clf, x.view(), x.view()).unwrap();
    assert!(s.fid.abs() < 1e-6, "{s:?}");
    assert_eq!((s.precision, s.recall), (1.0, 1.0));
    assert!((1.0..=10.0).contains(&s.inception_score));
    assert!((s.class_histogram.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    assert!((s.mean_pixel - mean).abs() < 1e-9);
    assert_eq!((s.n_samples, s.n_real), (400, 400));
    assert!(score(&dev, &clf, x.view(), Array2::zeros((400, 11)).view()).is_err());
}
