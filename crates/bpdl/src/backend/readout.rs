//! The few kernels of the linear readout ([`crate::eval::readout`]) that the classifier's
//! ([`super::classifier`]) do not already give, as `Device` operations; the learner never calls
//! them.
//!
//! | kernel | formula |
//! |---|---|
//! | [`Device::column_mean_sd`] | `μ_j = (1/n) Σ_i x_ij`, `σ_j = √((1/(n−1)) Σ_i (x_ij − μ_j)²)` (in f64) |
//! | [`Device::standardise_columns`] | `x_ij ← (x_ij − μ_j)·s_j` |
//! | [`Device::momentum_step`] | `u ← m·u − ε·g`, `w ← w + u` |
//! | [`Device::sum_squares`] | `Σ_ij w_ij²` (in f64) |
//! | [`Device::count_correct`] | `#{i : argmax_j z_ij = y_i}` (the first maximum) |
//!
//! Each column, entry or row is computed on its own, with its sums in row order, so no value
//! depends on the thread count.

use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut2, Zip};
use rayon::prelude::*;

use super::Device;

/// Entries per parallel work item of [`Device::momentum_step`].
const CHUNK: usize = 4096;

impl Device {
    /// The mean and sample standard deviation of every column of `x`, accumulated in f64 in
    /// row order (two passes: the mean, then the centred squares). With one row the deviation
    /// is 0.
    ///
    /// # Shapes
    /// `x: [n, d]` → `([d], [d])`.
    pub fn column_mean_sd(&self, x: ArrayView2<'_, f32>) -> (Array1<f32>, Array1<f32>) {
        let n = x.nrows();
        let stats: Vec<(f32, f32)> = self.install(|| {
            (0..x.ncols())
                .into_par_iter()
                .map(|j| {
                    let col = x.column(j);
                    let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n.max(1) as f64;
                    let ss: f64 = col
                        .iter()
                        .map(|&v| {
                            let c = f64::from(v) - mean;
                            c * c
                        })
                        .sum();
                    let sd = if n > 1 {
                        (ss / (n - 1) as f64).sqrt()
                    } else {
                        0.0
                    };
                    (mean as f32, sd as f32)
                })
                .collect()
        });
        (
            stats.iter().map(|s| s.0).collect(),
            stats.iter().map(|s| s.1).collect(),
        )
    }

    /// `x_ij ← (x_ij − μ_j)·s_j` on every row: standardises the columns with the mean `mean`
    /// and the scale `scale` (1/σ, or 0 to drop a column).
    ///
    /// # Panics
    /// If `mean` or `scale` is not as long as a row.
    pub fn standardise_columns(
        &self,
        x: ArrayViewMut2<'_, f32>,
        mean: ArrayView1<'_, f32>,
        scale: ArrayView1<'_, f32>,
    ) {
        assert!(
            mean.len() == x.ncols() && scale.len() == x.ncols(),
            "standardise_columns: mean and scale must have one entry per column"
        );
        self.for_rows(x, |_, mut row| {
            Zip::from(&mut row)
                .and(&mean)
                .and(&scale)
                .for_each(|v, &m, &s| *v = (*v - m) * s);
        });
    }

    /// One heavy-ball step of every entry: `u ← momentum·u − lr·g`, `w ← w + u`.
    ///
    /// # Panics
    /// If the three slices differ in length.
    pub fn momentum_step(
        &self,
        w: &mut [f32],
        velocity: &mut [f32],
        g: &[f32],
        lr: f32,
        momentum: f32,
    ) {
        assert!(
            w.len() == velocity.len() && w.len() == g.len(),
            "momentum_step: lengths"
        );
        self.install(|| {
            w.par_chunks_mut(CHUNK)
                .zip(velocity.par_chunks_mut(CHUNK))
                .zip(g.par_chunks(CHUNK))
                .for_each(|((w, u), g)| {
                    for ((w, u), &g) in w.iter_mut().zip(u.iter_mut()).zip(g) {
                        *u = momentum * *u - lr * g;
                        *w += *u;
                    }
                });
        });
    }

    /// `Σ_ij w_ij²`, in f64, in row-major order.
    pub fn sum_squares(&self, w: ArrayView2<'_, f32>) -> f64 {
        w.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
    }

    /// How many rows of `scores` have their largest entry (the first one on ties) in the column
    /// of their label.
    ///
    /// # Panics
    /// If `labels` does not have one entry per row.
    pub fn count_correct(&self, scores: ArrayView2<'_, f32>, labels: &[u8]) -> usize {
        assert_eq!(
            scores.nrows(),
            labels.len(),
            "count_correct: one label per row"
        );
        self.row_argmax(scores)
            .iter()
            .zip(labels)
            .filter(|(p, y)| **p == usize::from(**y))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Columns (1, 2, 3) and (5, 5, 5): means 2 and 5, sample sd 1 and 0.
    #[test]
    fn column_moments_and_standardisation_by_hand() {
        let dev = Device::cpu(2).unwrap();
        let mut x = array![[1.0f32, 5.0], [2.0, 5.0], [3.0, 5.0]];
        let (mean, sd) = dev.column_mean_sd(x.view());
        assert_eq!((mean[0], mean[1], sd[0], sd[1]), (2.0, 5.0, 1.0, 0.0));
        dev.standardise_columns(x.view_mut(), mean.view(), array![0.5f32, 0.0].view());
        assert_eq!(x, array![[-0.5f32, 0.0], [0.0, 0.0], [0.5, 0.0]]);
    }

    /// u = 0.5·1 − 0.1·2 = 0.3, w = 1 + 0.3.
    #[test]
    fn momentum_step_by_hand() {
        let dev = Device::cpu(1).unwrap();
        let (mut w, mut u) = ([1.0f32], [1.0f32]);
        dev.momentum_step(&mut w, &mut u, &[2.0], 0.1, 0.5);
        assert!((u[0] - 0.3).abs() < 1e-7 && (w[0] - 1.3).abs() < 1e-7);
        assert_eq!(dev.sum_squares(array![[3.0f32, 4.0]].view()), 25.0);
        let z = array![[0.0f32, 2.0, 2.0], [5.0, -1.0, 4.0]];
        assert_eq!(dev.count_correct(z.view(), &[1, 2]), 1);
    }
}
