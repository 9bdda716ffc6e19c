//! The feature-space reductions of the sample-quality measures ([`crate::eval::quality`]), as
//! `Device` operations:
//!
//! | kernel | formula |
//! |---|---|
//! | [`Device::feature_moments`] | `μ = (1/n) Σ_i x_i`, `Σ = (1/(n−1)) Σ_i (x_i − μ)(x_i − μ)ᵀ`, in f64 |
//! | [`Device::kth_neighbour_sq_distances`] | `r_i² = k-th smallest ‖x_i − x_j‖²` over `j ≠ i` |
//! | [`Device::ball_coverage`] | `covered_i = ∃ j: ‖p_i − c_j‖² ≤ r_j²` |
//! | [`Device::mean_kl_to_marginal`] | `(1/n) Σ_i KL(p_i ‖ p̄)`, `p̄ = (1/n) Σ_i p_i`, in f64 |
//! | [`Device::mean_value`] | `(1/(n·d)) Σ_ij x_ij`, in f64 |
//!
//! The pairwise distances come from single-threaded GEMMs on fixed blocks,
//! `‖a‖² + ‖b‖² − 2·a·bᵀ` (f32, clamped at 0 against rounding): each thread takes [`ROW_BLOCK`]
//! rows and scans the other set in blocks of [`COLUMN_BLOCK`], so no `n × m` matrix is ever held
//! and every row's result is the same whatever the thread count.

use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use super::{Device, Matrix};

/// Rows per work item of the pairwise-distance kernels.
pub const ROW_BLOCK: usize = 256;
/// Columns per GEMM block of the pairwise-distance kernels.
pub const COLUMN_BLOCK: usize = 1024;

impl Device {
    /// The mean and the unbiased covariance (divided by `n − 1`) of the rows of `x`, in f64.
    ///
    /// # Shapes
    /// `x: [n, d]` with n ≥ 2; returns `[d]` and `[d, d]`.
    ///
    /// # Panics
    /// If `x` has fewer than two rows (the caller checks).
    pub fn feature_moments(&self, x: ArrayView2<'_, f32>) -> (Array1<f64>, Array2<f64>) {
        let (n, d) = x.dim();
        assert!(n >= 2, "feature_moments needs at least two rows");
        let mut mean = Array1::<f64>::zeros(d);
        for row in x.axis_iter(Axis(0)) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean /= n as f64;
        // centred features, one contiguous column per feature, so each covariance entry is a
        // dot product of two contiguous vectors in a fixed order
        let columns: Vec<Vec<f64>> = (0..d)
            .map(|j| {
                x.column(j)
                    .iter()
                    .map(|&v| f64::from(v) - mean[j])
                    .collect()
            })
            .collect();
        let rows: Vec<Vec<f64>> = self.install(|| {
            (0..d)
                .into_par_iter()
                .map(|a| {
                    (a..d)
                        .map(|b| {
                            let dot: f64 =
                                columns[a].iter().zip(&columns[b]).map(|(p, q)| p * q).sum();
                            dot / (n - 1) as f64
                        })
                        .collect()
                })
                .collect()
        });
        let mut cov = Array2::<f64>::zeros((d, d));
        for (a, row) in rows.iter().enumerate() {
            for (off, &v) in row.iter().enumerate() {
                cov[[a, a + off]] = v;
                cov[[a + off, a]] = v;
            }
        }
        (mean, cov)
    }

    /// For every row `x_i`, the squared distance to its `k`-th nearest neighbour among the other
    /// rows (`j ≠ i`; a duplicate of `x_i` counts as a neighbour at distance 0).
    ///
    /// # Shapes
    /// `x: [n, d]` with `1 ≤ k < n`; returns `[n]`.
    ///
    /// # Panics
    /// If `k` is 0 or not below `n` (the caller checks).
    pub fn kth_neighbour_sq_distances(&self, x: ArrayView2<'_, f32>, k: usize) -> Vec<f32> {
        let n = x.nrows();
        assert!(k >= 1 && k < n, "k-th neighbour needs 1 ≤ k < n");
        let norms = row_norms(x);
        let solo = self.single_thread();
        let blocks: Vec<Vec<f32>> = self.install(|| {
            (0..n.div_ceil(ROW_BLOCK))
                .into_par_iter()
                .map_init(
                    || Matrix::zeros((ROW_BLOCK.min(n), COLUMN_BLOCK.min(n))),
                    |dist, b| {
                        let r0 = b * ROW_BLOCK;
                        let r1 = (r0 + ROW_BLOCK).min(n);
                        let mut best = vec![vec![f32::INFINITY; k]; r1 - r0];
                        for c0 in (0..n).step_by(COLUMN_BLOCK) {
                            let c1 = (c0 + COLUMN_BLOCK).min(n);
                            let mut block = dist.slice_mut(s![..r1 - r0, ..c1 - c0]);
                            sq_distances(
                                &solo,
                                x.slice(s![r0..r1, ..]),
                                &norms[r0..r1],
                                x.slice(s![c0..c1, ..]),
                                &norms[c0..c1],
                                block.view_mut(),
                            );
                            for (i, (row, best)) in
                                block.rows().into_iter().zip(&mut best).enumerate()
                            {
                                for (j, &d) in row.iter().enumerate() {
                                    if c0 + j != r0 + i && d < best[k - 1] {
                                        insert_sorted(best, d);
                                    }
                                }
                            }
                        }
                        best.into_iter().map(|b| b[k - 1]).collect()
                    },
                )
                .collect()
        });
        blocks.into_iter().flatten().collect()
    }

    /// For every row `p_i` of `points`, whether it lies in some ball around a row `c_j` of
    /// `centers` of squared radius `sq_radii[j]` (boundary included).
    ///
    /// # Shapes
    /// `points: [n, d]`, `centers: [m, d]`, `sq_radii: [m]`; returns `[n]`.
    ///
    /// # Panics
    /// If the shapes disagree (the caller checks).
    pub fn ball_coverage(
        &self,
        points: ArrayView2<'_, f32>,
        centers: ArrayView2<'_, f32>,
        sq_radii: &[f32],
    ) -> Vec<bool> {
        let (n, m) = (points.nrows(), centers.nrows());
        assert!(
            points.ncols() == centers.ncols() && sq_radii.len() == m,
            "ball_coverage shapes"
        );
        if m == 0 {
            return vec![false; n];
        }
        let (pn, cn) = (row_norms(points), row_norms(centers));
        let solo = self.single_thread();
        let blocks: Vec<Vec<bool>> = self.install(|| {
            (0..n.div_ceil(ROW_BLOCK))
                .into_par_iter()
                .map_init(
                    || Matrix::zeros((ROW_BLOCK.min(n), COLUMN_BLOCK.min(m))),
                    |dist, b| {
                        let r0 = b * ROW_BLOCK;
                        let r1 = (r0 + ROW_BLOCK).min(n);
                        let mut covered = vec![false; r1 - r0];
                        for c0 in (0..m).step_by(COLUMN_BLOCK) {
                            if covered.iter().all(|&c| c) {
                                break;
                            }
                            let c1 = (c0 + COLUMN_BLOCK).min(m);
                            let mut block = dist.slice_mut(s![..r1 - r0, ..c1 - c0]);
                            sq_distances(
                                &solo,
                                points.slice(s![r0..r1, ..]),
                                &pn[r0..r1],
                                centers.slice(s![c0..c1, ..]),
                                &cn[c0..c1],
                                block.view_mut(),
                            );
                            let radii = &sq_radii[c0..c1];
                            for (row, covered) in block.rows().into_iter().zip(&mut covered) {
                                if !*covered {
                                    *covered = row.iter().zip(radii).any(|(&d, &r)| d <= r);
                                }
                            }
                        }
                        covered
                    },
                )
                .collect()
        });
        blocks.into_iter().flatten().collect()
    }

    /// `(1/n) Σ_i KL(p_i ‖ p̄)` with `p̄ = (1/n) Σ_i p_i`, for rows `p_i` of class probabilities
    /// (`0·log 0 = 0`), in f64: the log of the Inception score.
    ///
    /// # Shapes
    /// `p: [n, classes]` with n ≥ 1.
    pub fn mean_kl_to_marginal(&self, p: ArrayView2<'_, f32>) -> f64 {
        let n = p.nrows().max(1) as f64;
        let mut marginal = vec![0.0f64; p.ncols()];
        for row in p.axis_iter(Axis(0)) {
            for (m, &v) in marginal.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        let log_marginal: Vec<f64> = marginal.iter().map(|m| (m / n).ln()).collect();
        let kls: Vec<f64> = self.install(|| {
            p.axis_iter(Axis(0))
                .into_par_iter()
                .map(|row| {
                    row.iter()
                        .zip(&log_marginal)
                        .filter(|(v, _)| **v > 0.0)
                        .map(|(&v, lm)| {
                            let v = f64::from(v);
                            v * (v.ln() - lm)
                        })
                        .sum::<f64>()
                })
                .collect()
        });
        kls.iter().sum::<f64>() / n
    }

    /// The mean of all entries of `x`, in f64 (row-major order; 0 for an empty matrix).
    pub fn mean_value(&self, x: ArrayView2<'_, f32>) -> f64 {
        let n = x.len().max(1) as f64;
        x.iter().map(|&v| f64::from(v)).sum::<f64>() / n
    }
}

/// `dist_ij = max(‖a_i‖² + ‖b_j‖² − 2·a_i·b_j, 0)` on one thread.
fn sq_distances(
    dev: &Device,
    a: ArrayView2<'_, f32>,
    a_norms: &[f32],
    b: ArrayView2<'_, f32>,
    b_norms: &[f32],
    mut dist: ndarray::ArrayViewMut2<'_, f32>,
) {
    dev.matmul(-2.0, a, b.t(), 0.0, dist.view_mut());
    for (mut row, &an) in dist.rows_mut().into_iter().zip(a_norms) {
        for (d, &bn) in row.iter_mut().zip(b_norms) {
            *d = (*d + an + bn).max(0.0);
        }
    }
}

/// Inserts `d` into the ascending list `best`, dropping its largest entry.
fn insert_sorted(best: &mut [f32], d: f32) {
    let mut i = best.len() - 1;
    best[i] = d;
    while i > 0 && best[i - 1] > best[i] {
        best.swap(i - 1, i);
        i -= 1;
    }
}

fn row_norms(m: ArrayView2<'_, f32>) -> Vec<f32> {
    m.axis_iter(Axis(0)).map(|r| r.dot(&r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Points 0, 1, 3, 7 on a line: the 2nd nearest neighbours are at 3, 2, 3, 6.
    #[test]
    fn kth_neighbours_of_points_on_a_line() {
        let dev = Device::cpu(2).unwrap();
        let x = array![[0.0f32], [1.0], [3.0], [7.0]];
        let r = dev.kth_neighbour_sq_distances(x.view(), 2);
        assert_eq!(r, vec![9.0, 4.0, 9.0, 36.0]);
    }

    #[test]
    fn coverage_includes_the_boundary() {
        let dev = Device::cpu(1).unwrap();
        let c = array![[0.0f32, 0.0]];
        let p = array![[3.0f32, 4.0], [3.0, 4.1]];
        assert_eq!(
            dev.ball_coverage(p.view(), c.view(), &[25.0]),
            vec![true, false]
        );
    }

    /// Rows (1, 0) and (0, 1): mean (½, ½), covariance [[½, −½], [−½, ½]].
    #[test]
    fn moments_of_two_points() {
        let dev = Device::cpu(1).unwrap();
        let (m, c) = dev.feature_moments(array![[1.0f32, 0.0], [0.0, 1.0]].view());
        assert_eq!(m, array![0.5, 0.5]);
        assert_eq!(c, array![[0.5, -0.5], [-0.5, 0.5]]);
    }
}
