//! The top prior p(h_L) fitted after training (paper §8): a Gaussian with the empirical mean and
//! covariance of the inferred top codes of the training set, the covariance multiplied by 4.
//!
//! ```text
//! μ = E[h_L],   Σ = 4·Cov[h_L]   (diagonal: the paper;  full: Σ = L·Lᵀ, an extension)
//! h_L = μ + L·z,  z ~ N(0, I)
//! ```

use ndarray::{Array1, Array2, ArrayView2};

use super::TopPrior;
use crate::backend::Matrix;
use crate::config::PriorCovariance;

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
    pub fn add(&mut self, h: ArrayView2<'_, f32>) {
        for row in h.rows() {
            for (j, &v) in row.iter().enumerate() {
                let v = f64::from(v);
                self.sum[j] += v;
                self.sum_sq[j] += v * v;
            }
        }
        if let Some(outer) = &mut self.outer {
            let h64 = h.mapv(f64::from);
            *outer += &h64.t().dot(&h64);
        }
        self.count += h.nrows();
    }

    /// The prior: mean, variances (and full factor) scaled by `scale`. Variances are floored at
    /// 1e-8 so that a unit that never moves keeps a proper density.
    pub fn finish(&self, scale: f64) -> TopPrior {
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
            cholesky_with_jitter(&cov).mapv(|v| v as f32)
        });
        TopPrior {
            mean: mean.mapv(|v| v as f32),
            var: var.mapv(|v| v as f32),
            factor,
        }
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

/// [`cholesky`] of `a + εI`, with ε growing from 1e-10·mean diagonal until it succeeds (an
/// empirical covariance can be singular when codes saturate).
fn cholesky_with_jitter(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let scale = (0..n).map(|i| a[[i, i]]).sum::<f64>() / n.max(1) as f64;
    let mut eps = 1e-10 * scale.max(1e-12);
    loop {
        let mut b = a.clone();
        for i in 0..n {
            b[[i, i]] += eps;
        }
        if let Some(l) = cholesky(&b) {
            return l;
        }
        eps *= 10.0;
    }
}

/// `h = μ + z·Lᵀ` (rows) for standard normal draws `z` (the full-covariance sampler).
pub fn correlate(prior: &TopPrior, factor: &Matrix, z: &mut Matrix) {
    let correlated = z.dot(&factor.t());
    *z = correlated + &prior.mean;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_reproduces_its_matrix() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 3.0, 0.1], [0.4, 0.1, 1.0]];
        let l = cholesky(&a).unwrap();
        let back = l.dot(&l.t());
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
        acc.add(h.view());
        let p = acc.finish(4.0);
        assert_eq!(p.mean, array![2.0f32, 3.0]);
        let l = p.factor.unwrap().mapv(f64::from);
        let cov = l.dot(&l.t());
        assert!((cov[[0, 0]] - 8.0 / 3.0).abs() < 1e-5);
        assert!((cov[[1, 1]] - 8.0).abs() < 1e-5);
        assert!(cov[[0, 1]].abs() < 1e-5);
        assert!((f64::from(p.var[1]) - 8.0).abs() < 1e-5);
    }
}
