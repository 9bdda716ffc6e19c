//! The top prior p(h_L) fitted after training (paper §8): a Gaussian with the empirical mean and
//! covariance of the inferred top codes of the training set, the covariance multiplied by 4.
//!
//! ```text
//! μ = E[h_L],   Σ = 4·Cov[h_L]   (diagonal: the paper;  full: Σ = L·Lᵀ, an extension)
//! h_L = μ + L·z,  z ~ N(0, I)
//! ```

use ndarray::{Array1, Array2, ArrayView2};

use super::TopPrior;
use crate::backend::{Device, Matrix};
use crate::config::PriorCovariance;
use crate::error::{Error, Result};

/// Running sums of the top codes, in f64.
#[derive(Debug, Clone)]
pub struct PriorAccumulator {
    count: usize,
    sum: Array1<f64>,
    sum_sq: Array1<f64>,
    outer: Option<Array2<f64>>,
}

impl PriorAccumulator {
    /// Sums for codes of width `n` (`full`: also the outer products).
    pub fn new(n: usize, covariance: PriorCovariance) -> Self {
        Self {
            count: 0,
            sum: Array1::zeros(n),
            sum_sq: Array1::zeros(n),
            outer: (covariance == PriorCovariance::Full).then(|| Array2::zeros((n, n))),
        }
    }

    /// Adds a minibatch of codes `[batch, n]`.
    pub fn add(&mut self, dev: &Device, h: ArrayView2<'_, f32>) {
        let (sum, sum_sq) = (self.sum.view_mut(), self.sum_sq.view_mut());
        dev.accumulate_moments(h, sum, sum_sq, self.outer.as_mut());
        self.count += h.nrows();
    }

    /// The prior: mean, variances (and full factor) scaled by `scale`. Variances are floored at
    /// 1e-8 so that a unit that never moves keeps a proper density.
    ///
    /// Fails when the full covariance cannot be factorised even with a large jitter (codes
    /// that are not finite).
    pub fn finish(&self, scale: f64) -> Result<TopPrior> {
        let n = self.count.max(1) as f64;
        let mean = &self.sum / n;
        let var = Array1::from_iter(
            self.sum_sq
                .iter()
                .zip(&mean)
                .map(|(&q, &m)| (q / n - m * m).max(1e-8) * scale),
        );
        let factor = self.outer.as_ref().map(|outer| {
            let k = mean.len();
            let mut cov = Array2::from_shape_fn((k, k), |(i, j)| {
                (outer[[i, j]] / n - mean[i] * mean[j]) * scale
            });
            for i in 0..k {
                cov[[i, i]] = var[i];
            }
            cholesky_with_jitter(&cov).map(|l| l.mapv(|v| v as f32))
        });
        Ok(TopPrior {
            mean: mean.mapv(|v| v as f32),
            var: var.mapv(|v| v as f32),
            factor: factor.transpose()?,
            lateral: None,
        })
    }
}

/// The lower-triangular `L` with `L·Lᵀ = a` for a symmetric positive-definite `a`, or `None`.
pub fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let d = a[[j, j]] - (0..j).map(|k| l[[j, k]] * l[[j, k]]).sum::<f64>();
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let ljj = d.sqrt();
        l[[j, j]] = ljj;
        for i in j + 1..n {
            let s = a[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
            l[[i, j]] = s / ljj;
        }
    }
    Some(l)
}

/// How many times [`cholesky_with_jitter`] multiplies its jitter by 10 before it gives up: from
/// 1e-10 to 1e10 times the mean diagonal, far beyond any covariance of finite codes.
pub const JITTER_TRIES: usize = 21;

/// [`cholesky`] of `a + εI`, with ε growing tenfold from 1e-10·mean diagonal until it succeeds
/// (an empirical covariance can be singular when codes saturate), at most [`JITTER_TRIES`]
/// times.
pub fn cholesky_with_jitter(a: &Array2<f64>) -> Result<Array2<f64>> {
    let n = a.nrows();
    let scale = (0..n).map(|i| a[[i, i]]).sum::<f64>() / n.max(1) as f64;
    let mut eps = 1e-10 * scale.max(1e-12);
    for _ in 0..JITTER_TRIES {
        let mut b = a.clone();
        for i in 0..n {
            b[[i, i]] += eps;
        }
        if let Some(l) = cholesky(&b) {
            return Ok(l);
        }
        eps *= 10.0;
    }
    Err(Error::NonFinite {
        layer: "the top prior's covariance".into(),
        step: format!(
            "its Cholesky factorisation (not positive-definite even with a jitter of {eps:.1e})"
        ),
    })
}

/// `h = μ + z·Lᵀ` (rows) for standard normal draws `z` (the full-covariance sampler).
pub fn correlate(dev: &Device, prior: &TopPrior, factor: &Matrix, z: &mut Matrix) {
    dev.correlate_rows(z, factor, prior.mean.view());
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// `L·Lᵀ` by its definition.
    fn times_own_transpose(l: &Array2<f64>) -> Array2<f64> {
        let n = l.nrows();
        Array2::from_shape_fn((n, n), |(i, j)| {
            (0..l.ncols()).map(|k| l[[i, k]] * l[[j, k]]).sum()
        })
    }

    #[test]
    fn cholesky_reproduces_its_matrix() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 3.0, 0.1], [0.4, 0.1, 1.0]];
        let l = cholesky(&a).unwrap();
        let back = times_own_transpose(&l);
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!(l[[0, 1]] == 0.0 && l[[0, 2]] == 0.0 && l[[1, 2]] == 0.0);
        assert!(cholesky(&array![[1.0, 2.0], [2.0, 1.0]]).is_none());
    }

    #[test]
    fn the_full_prior_has_the_scaled_sample_covariance() {
        // codes (1, 2), (3, 2), (2, 5): mean (2, 3); covariance [[2/3, 0], [0, 2]]
        let h = array![[1.0f32, 2.0], [3.0, 2.0], [2.0, 5.0]];
        let mut acc = PriorAccumulator::new(2, PriorCovariance::Full);
        acc.add(&Device::cpu(1).unwrap(), h.view());
        let p = acc.finish(4.0).unwrap();
        assert_eq!(p.mean, array![2.0f32, 3.0]);
        let l = p.factor.unwrap().mapv(f64::from);
        let cov = times_own_transpose(&l);
        assert!((cov[[0, 0]] - 8.0 / 3.0).abs() < 1e-5);
        assert!((cov[[1, 1]] - 8.0).abs() < 1e-5);
        assert!(cov[[0, 1]].abs() < 1e-5);
        assert!((f64::from(p.var[1]) - 8.0).abs() < 1e-5);
    }

    /// A matrix that no jitter makes positive-definite (a NaN on the diagonal) is an error after
    /// exactly the stated number of tries, not an endless loop.
    #[test]
    fn a_covariance_that_cannot_be_factorised_is_an_error() {
        let a = array![[f64::NAN, 0.0], [0.0, 1.0]];
        let err = cholesky_with_jitter(&a).unwrap_err().to_string();
        assert!(err.contains("Cholesky"), "{err}");
        // the jitter is bounded: a matrix with a large negative eigenvalue is not rescued either
        let b = array![[1.0, 0.0], [0.0, -1e30]];
        assert!(cholesky_with_jitter(&b).is_err());
        // while a singular covariance (saturated codes) is factorised
        let c = array![[1.0, 1.0], [1.0, 1.0]];
        let l = cholesky_with_jitter(&c).unwrap();
        let back = times_own_transpose(&l);
        assert!((back[[0, 1]] - 1.0).abs() < 1e-6);
    }
}
