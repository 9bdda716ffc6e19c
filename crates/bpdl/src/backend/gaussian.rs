//! The Gaussian operations of the top prior p(h_L) (`model::prior`, `model::objective`) as
//! `Device` operations, in f64 where they accumulate:
//!
//! | operation | formula |
//! |---|---|
//! | [`Device::accumulate_moments`] | `Σ h`, `Σ h²` per unit and (full covariance) `Σ hᵀh`, over the rows |
//! | [`Device::correlate_rows`] | `z ← z·Lᵀ + μ` (a standard normal draw made `N(μ, L·Lᵀ)`) |
//! | [`Device::log_gaussian_rows`] | `log N(h; μ, diag(v))` or `log N(h; μ, L·Lᵀ)` per row |

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Zip};

use super::{Device, Matrix};

impl Device {
    /// Adds the rows of `h: [batch, n]` to the running sums `sum`, `sum_sq` (`[n]`) and, when
    /// given, `outer += hᵀh` (`[n, n]`), all in f64.
    ///
    /// # Panics
    /// If the widths disagree.
    pub fn accumulate_moments(
        &self,
        h: ArrayView2<'_, f32>,
        mut sum: ArrayViewMut1<'_, f64>,
        mut sum_sq: ArrayViewMut1<'_, f64>,
        outer: Option<&mut Array2<f64>>,
    ) {
        assert!(
            sum.len() == h.ncols() && sum_sq.len() == h.ncols(),
            "moment sums of the wrong width"
        );
        for row in h.rows() {
            for (j, &v) in row.iter().enumerate() {
                let v = f64::from(v);
                sum[j] += v;
                sum_sq[j] += v * v;
            }
        }
        if let Some(outer) = outer {
            // in place, row by row in f64 (no temporary: training allocates nothing per
            // minibatch, the prior fit included)
            let k = h.ncols();
            for row in h.rows() {
                for i in 0..k {
                    let vi = f64::from(row[i]);
                    let mut out = outer.row_mut(i);
                    for (o, &vj) in out.iter_mut().zip(row.iter()) {
                        *o += vi * f64::from(vj);
                    }
                }
            }
        }
    }

    /// `z ← z·Lᵀ + μ` row by row: standard normal draws `z: [n, k]` become draws of
    /// `N(μ, L·Lᵀ)` for the lower-triangular factor `L: [k, k]`.
    pub fn correlate_rows(&self, z: &mut Matrix, factor: &Matrix, mean: ArrayView1<'_, f32>) {
        let correlated = z.dot(&factor.t());
        *z = correlated + mean;
    }

    /// `log N(h_i; μ, Σ)` for every row `h_i` of `h: [n, k]`, constants included: `Σ = diag(var)`,
    /// or `Σ = L·Lᵀ` when `factor` holds the lower-triangular `L` (forward substitution
    /// `L·u = h − μ`, then `−½‖u‖² − log det L − (k/2) log 2π`).
    pub fn log_gaussian_rows(
        &self,
        h: ArrayView2<'_, f32>,
        mean: ArrayView1<'_, f32>,
        var: ArrayView1<'_, f32>,
        factor: Option<&Matrix>,
    ) -> Array1<f64> {
        if let Some(l) = factor {
            return log_full_gaussian(h, mean, l);
        }
        let log_norm: f64 = var
            .iter()
            .map(|&v| -0.5 * (2.0 * std::f64::consts::PI * f64::from(v)).ln())
            .sum();
        let mut out = Array1::from_elem(h.nrows(), log_norm);
        for (o, row) in out.iter_mut().zip(h.rows()) {
            Zip::from(&row).and(&mean).and(&var).for_each(|&h, &m, &v| {
                let d = f64::from(h - m);
                *o -= 0.5 * d * d / f64::from(v);
            });
        }
        out
    }
}

/// Full-covariance density by forward substitution `L·u = h − μ`.
fn log_full_gaussian(h: ArrayView2<'_, f32>, mean: ArrayView1<'_, f32>, l: &Matrix) -> Array1<f64> {
    let k = mean.len();
    let log_det: f64 = (0..k).map(|i| f64::from(l[[i, i]]).ln()).sum();
    let log_norm = -0.5 * k as f64 * (2.0 * std::f64::consts::PI).ln() - log_det;
    let mut out = Array1::from_elem(h.nrows(), log_norm);
    let mut u = vec![0.0f64; k];
    for (o, row) in out.iter_mut().zip(h.rows()) {
        for i in 0..k {
            let s: f64 = (0..i).map(|j| f64::from(l[[i, j]]) * u[j]).sum();
            u[i] = (f64::from(row[i] - mean[i]) - s) / f64::from(l[[i, i]]);
        }
        *o -= 0.5 * u.iter().map(|v| v * v).sum::<f64>();
    }
    out
}
