//! Sample-quality measures beyond Parzen, in the feature space of the evaluation classifier
//! ([`crate::eval::classifier`]):
//!
//! ```text
//! FID       = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})     (Heusel et al. 2017)
//! IS        = exp( E_x KL(p(y|x) ‖ p(y)) ),  p(y) = E_x p(y|x)          (Salimans et al. 2016)
//! precision = (1/M) Σ_j 1[∃ i: ‖s_j − r_i‖ ≤ ρ_k(r_i)]                  (Kynkäänniemi et al. 2019)
//! recall    = (1/N) Σ_i 1[∃ j: ‖r_i − s_j‖ ≤ ρ_k(s_j)]
//! ```
//!
//! with `(μ, Σ)` the mean and covariance of the 128 penultimate features of each set, `r_i` the
//! N real and `s_j` the M sample features, and `ρ_k(a)` the distance from `a` to its k-th nearest
//! neighbour (k = [`NEAREST_NEIGHBOURS`] = 3) within its own set, itself excluded.
//!
//! What each rewards:
//!
//! * **FID** rewards samples whose feature distribution matches the data's in mean and
//!   covariance (lower is better; 0 for identical statistics).
//! * **IS** rewards samples that the classifier labels confidently and that spread over all
//!   classes; it never looks at the data (higher is better, at most the number of classes).
//! * **Precision** rewards samples that lie on the data manifold: fidelity.
//! * **Recall** rewards samples that cover the data manifold: diversity.
//!
//! The statistics and the Fréchet distance are in f64 (symmetric eigendecompositions, tiny
//! negative eigenvalues clamped to 0); the pairwise distances of precision and recall are f32
//! GEMMs taken blockwise ([`crate::backend::features`]). The IS here is computed over all samples
//! at once (no splits).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::classifier::EvalClassifier;
use crate::backend::Device;
use crate::data::batches::epoch_order;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// k of the k-nearest-neighbour balls of precision and recall (Kynkäänniemi et al. use 3).
pub const NEAREST_NEIGHBOURS: usize = 3;

/// The quality of a set of samples against a set of real images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityScore {
    /// Fréchet distance of the penultimate features: rewards matching the feature distribution's
    /// mean and covariance (lower is better).
    pub fid: f64,
    /// Classifier-based Inception score: rewards confident and class-diverse samples, blind to
    /// the data (between 1 and the number of classes; higher is better).
    pub inception_score: f64,
    /// Fraction of samples inside the k-NN ball of some real image: rewards samples on the data
    /// manifold (fidelity).
    pub precision: f64,
    /// Fraction of real images inside the k-NN ball of some sample: rewards covering the data
    /// (diversity).
    pub recall: f64,
    /// Fraction of samples the classifier assigns to each class (argmax).
    pub class_histogram: Vec<f64>,
    /// Mean pixel value of the samples.
    pub mean_pixel: f64,
    /// Number of samples scored.
    pub n_samples: usize,
    /// Number of real images compared against.
    pub n_real: usize,
}

/// The mean and covariance of a feature set.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStatistics {
    /// μ: `[d]`.
    pub mean: Array1<f64>,
    /// Σ (unbiased, divided by n − 1): `[d, d]`.
    pub covariance: Array2<f64>,
}

/// All measures of `samples` against `real`, in the features of `clf`.
///
/// # Shapes
/// `samples: [M, pixels]`, `real: [N, pixels]`, both with more than [`NEAREST_NEIGHBOURS`] rows
/// and `pixels = clf.input_width()`.
pub fn score(
    dev: &Device,
    clf: &EvalClassifier,
    samples: ArrayView2<'_, f32>,
    real: ArrayView2<'_, f32>,
) -> Result<QualityScore> {
    for (what, x) in [("samples", samples), ("real images", real)] {
        if x.ncols() != clf.input_width() || x.nrows() <= NEAREST_NEIGHBOURS {
            return Err(Error::Shape {
                op: "sample-quality score",
                expected: format!(
                    "more than {NEAREST_NEIGHBOURS} {what} of {} values",
                    clf.input_width()
                ),
                got: format!("{} rows of {} values", x.nrows(), x.ncols()),
            });
        }
        if !dev.all_finite(x) {
            return Err(Error::NonFinite {
                layer: format!("the {what}"),
                step: "the sample-quality score".into(),
            });
        }
    }
    let sample_features = clf.features(dev, samples)?;
    let real_features = clf.features(dev, real)?;
    let fid = frechet_distance_of(
        dev,
        &feature_statistics(dev, sample_features.view())?,
        &feature_statistics(dev, real_features.view())?,
    )?;
    let probabilities = clf.probabilities(dev, samples)?;
    let (precision, recall) = precision_recall(
        dev,
        real_features.view(),
        sample_features.view(),
        NEAREST_NEIGHBOURS,
    )?;
    Ok(QualityScore {
        fid,
        inception_score: inception_score(dev, probabilities.view())?,
        precision,
        recall,
        class_histogram: class_histogram(dev, probabilities.view()),
        mean_pixel: dev.mean_value(samples),
        n_samples: samples.nrows(),
        n_real: real.nrows(),
    })
}

/// The mean and unbiased covariance of the rows of `features` (f64).
///
/// # Shapes
/// `features: [n, d]` with n ≥ 2.
pub fn feature_statistics(
    dev: &Device,
    features: ArrayView2<'_, f32>,
) -> Result<FeatureStatistics> {
    if features.nrows() < 2 {
        return Err(Error::Shape {
            op: "feature statistics",
            expected: "at least two feature vectors".into(),
            got: format!("{}", features.nrows()),
        });
    }
    let (mean, covariance) = dev.feature_moments(features);
    Ok(FeatureStatistics { mean, covariance })
}

/// [`frechet_distance`] of two [`FeatureStatistics`].
pub fn frechet_distance_of(
    dev: &Device,
    a: &FeatureStatistics,
    b: &FeatureStatistics,
) -> Result<f64> {
    frechet_distance(
        dev,
        a.mean.view(),
        a.covariance.view(),
        b.mean.view(),
        b.covariance.view(),
    )
}

/// The Fréchet (2-Wasserstein) distance between the Gaussians `N(μ₁, Σ₁)` and `N(μ₂, Σ₂)`:
/// `‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})`, in f64. Rewards matching the
/// mean and the covariance. Rounding can make it a tiny negative number; it is clamped at 0.
///
/// ```
/// use ndarray::array;
/// let dev = bpdl::Device::cpu(1).unwrap();
/// let (m1, m2) = (array![0.0, 0.0], array![3.0, 4.0]);
/// let (s1, s2) = (array![[1.0, 0.0], [0.0, 4.0]], array![[4.0, 0.0], [0.0, 1.0]]);
/// // 25 + (1 − 2)² + (2 − 1)²
/// let d = bpdl::eval::quality::frechet_distance(&dev, m1.view(), s1.view(), m2.view(), s2.view()).unwrap();
/// assert!((d - 27.0).abs() < 1e-9);
/// ```
pub fn frechet_distance(
    dev: &Device,
    mu1: ArrayView1<'_, f64>,
    sigma1: ArrayView2<'_, f64>,
    mu2: ArrayView1<'_, f64>,
    sigma2: ArrayView2<'_, f64>,
) -> Result<f64> {
    let d = mu1.len();
    if mu2.len() != d || sigma1.dim() != (d, d) || sigma2.dim() != (d, d) {
        return Err(Error::Shape {
            op: "Fréchet distance",
            expected: format!("two means of length {d} and two {d}×{d} covariances"),
            got: format!(
                "means {} and {}, covariances {:?} and {:?}",
                d,
                mu2.len(),
                sigma1.dim(),
                sigma2.dim()
            ),
        });
    }
    let mean_term: f64 = mu1.iter().zip(&mu2).map(|(a, b)| (a - b).powi(2)).sum();
    let trace = |s: ArrayView2<'_, f64>| s.diag().sum();
    let cross = dev.trace_sqrt_product(sigma1, sigma2)?;
    Ok((mean_term + trace(sigma1) + trace(sigma2) - 2.0 * cross).max(0.0))
}

/// The classifier-based Inception score `exp(E_x KL(p(y|x) ‖ p(y)))` of rows of class
/// probabilities: rewards confident, class-diverse predictions and is blind to the data.
/// It is 1 when every row is the same and the number of classes for one-hot rows spread evenly.
///
/// # Shapes
/// `probabilities: [n, classes]`, n ≥ 1, rows summing to 1.
pub fn inception_score(dev: &Device, probabilities: ArrayView2<'_, f32>) -> Result<f64> {
    if probabilities.nrows() == 0 {
        return Err(Error::Shape {
            op: "Inception score",
            expected: "at least one row of probabilities".into(),
            got: "none".into(),
        });
    }
    if probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::Usage(
            "the Inception score needs probabilities in [0, 1]".into(),
        ));
    }
    Ok(dev.mean_kl_to_marginal(probabilities).exp())
}

/// The fraction of rows assigned to each class (their largest probability).
pub fn class_histogram(dev: &Device, probabilities: ArrayView2<'_, f32>) -> Vec<f64> {
    let classes = probabilities.ncols();
    let mut counts = vec![0usize; classes];
    for c in dev.row_argmax(probabilities) {
        counts[c] += 1;
    }
    let n = probabilities.nrows().max(1) as f64;
    counts.iter().map(|&c| c as f64 / n).collect()
}

/// Improved precision and recall (Kynkäänniemi et al. 2019) of `samples` against `real`
/// features with k-nearest-neighbour balls: precision (fidelity) = fraction of samples inside
/// some real point's ball, recall (diversity) = fraction of real points inside some sample's
/// ball; a ball's radius is the distance to the k-th nearest neighbour in its own set, itself
/// excluded. Returns `(precision, recall)`.
///
/// # Shapes
/// `real: [N, d]`, `samples: [M, d]`, both with more than `k` rows.
pub fn precision_recall(
    dev: &Device,
    real: ArrayView2<'_, f32>,
    samples: ArrayView2<'_, f32>,
    k: usize,
) -> Result<(f64, f64)> {
    if k == 0 || real.nrows() <= k || samples.nrows() <= k || real.ncols() != samples.ncols() {
        return Err(Error::Shape {
            op: "precision and recall",
            expected: format!(
                "two feature sets of the same width with more than k = {k} rows (k ≥ 1)"
            ),
            got: format!("real {:?}, samples {:?}", real.dim(), samples.dim()),
        });
    }
    let real_radii = dev.kth_neighbour_sq_distances(real, k);
    let sample_radii = dev.kth_neighbour_sq_distances(samples, k);
    let fraction = |v: Vec<bool>| v.iter().filter(|&&b| b).count() as f64 / v.len() as f64;
    let precision = fraction(dev.ball_coverage(samples, real, &real_radii));
    let recall = fraction(dev.ball_coverage(real, samples, &sample_radii));
    Ok((precision, recall))
}

/// A random split of `0..n` into two halves (sizes ⌊n/2⌋ and ⌈n/2⌉, each sorted) drawn from
/// `rng`: the "two halves of the test set" reference. Random, not the first and last 5,000 test
/// images, which come from different writers.
pub fn random_halves(n: usize, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let order = epoch_order(n, rng);
    let (a, b) = order.split_at(n / 2);
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    (a, b)
}

/// The rows `rows` of `x`, in that order.
pub fn select_rows(x: ArrayView2<'_, f32>, rows: &[usize]) -> Array2<f32> {
    x.select(Axis(0), rows)
}

#[cfg(test)]
mod tests;
