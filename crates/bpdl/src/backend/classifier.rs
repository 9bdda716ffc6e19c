//! The kernels of hand-written back-propagation, as `Device` operations: the evaluation
//! classifier's ([`crate::eval::classifier`]) and the back-propagation baseline's
//! ([`crate::baselines::backprop`]); the learner never calls them.
//!
//! | kernel | formula |
//! |---|---|
//! | [`Device::softmax_rows`] | `p_ij = exp(z_ij − max_j z_ij) / Σ_j exp(z_ij − max_j z_ij)` |
//! | [`Device::softmax_cross_entropy`] | `ℓ = −Σ_i log p_{i,y_i}`, `∂ℓ/∂z = scale·(p − onehot(y))` |
//! | [`Device::relu_backward`] | `δ ← δ ⊙ 1[h > 0]` |
//! | [`Device::slope_backward`] | `δ ← δ ⊙ φ'(h)`, φ' written from the output h |
//! | [`Device::row_argmax`] | `ŷ_i = argmax_j m_ij` (the first maximum) |
//!
//! Every row is processed independently with the same arithmetic, and the row losses are added in
//! row order in f64, so no value depends on the thread count.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};
use rayon::prelude::*;

use super::Device;
use crate::activation::Activation;

impl Device {
    /// Replaces every row of logits `z` by its softmax (shifted by the row maximum, so large
    /// logits do not overflow).
    pub fn softmax_rows(&self, z: ArrayViewMut2<'_, f32>) {
        self.for_rows(z, |_, mut row| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            row.mapv_inplace(|v| {
                let e = (v - max).exp();
                sum += e;
                e
            });
            let inv = 1.0 / sum;
            row.mapv_inplace(|v| v * inv);
        });
    }

    /// The summed softmax cross-entropy `Σ_i −log p_{i,y_i}` of logits `z` against `labels` (in
    /// f64), and its gradient with respect to the logits times `scale` written to `grad`:
    /// `grad_ij = scale·(p_ij − 1[j = y_i])`.
    ///
    /// # Shapes
    /// `z: [n, classes]`, `labels: [n]` (each below `classes`), `grad: [n, classes]`.
    ///
    /// # Panics
    /// If the shapes disagree or a label is out of range (the caller checks its labels).
    pub fn softmax_cross_entropy(
        &self,
        z: ArrayView2<'_, f32>,
        labels: &[u8],
        mut grad: ArrayViewMut2<'_, f32>,
        scale: f32,
    ) -> f64 {
        assert!(
            z.dim() == grad.dim() && labels.len() == z.nrows(),
            "softmax_cross_entropy shapes"
        );
        let classes = z.ncols();
        assert!(
            labels.iter().all(|&y| usize::from(y) < classes),
            "softmax_cross_entropy: label out of range"
        );
        let losses: Vec<f64> = self.install(|| {
            let mut losses = vec![0.0f64; labels.len()];
            Zip::from(grad.axis_iter_mut(Axis(0)))
                .and(z.axis_iter(Axis(0)))
                .and(labels)
                .and(&mut losses)
                .par_for_each(|mut g, z, &y, loss| {
                    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
                    let log_sum = sum.ln();
                    let y = usize::from(y);
                    *loss = f64::from(log_sum - (z[y] - max));
                    Zip::indexed(&mut g).and(&z).for_each(|j, g, &v| {
                        let p = (v - max - log_sum).exp();
                        *g = scale * (p - if j == y { 1.0 } else { 0.0 });
                    });
                });
            losses
        });
        losses.iter().sum()
    }

    /// `δ ← δ ⊙ 1[h > 0]`: back-propagation through a ReLU whose outputs are `h`.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn relu_backward(&self, delta: ArrayViewMut2<'_, f32>, h: ArrayView2<'_, f32>) {
        self.for_rows2(delta, h, |_, mut d, h| {
            Zip::from(&mut d).and(&h).for_each(|d, &h| {
                if h <= 0.0 {
                    *d = 0.0;
                }
            });
        });
    }

    /// How many rows with `mask_i ≠ 0` have their largest entry of `scores` (the first one on
    /// ties) in another column than the largest entry of `targets` (one-hot labels): the
    /// classification errors of the masked rows, counted without allocating.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn argmax_mismatches(
        &self,
        scores: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        mask: ndarray::ArrayView1<'_, f32>,
    ) -> usize {
        let first_max = |row: ndarray::ArrayView1<'_, f32>| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        };
        assert_eq!(scores.dim(), targets.dim(), "argmax_mismatches: shapes");
        scores
            .rows()
            .into_iter()
            .zip(targets.rows())
            .zip(mask.iter())
            .filter(|((s, t), m)| **m != 0.0 && first_max(*s) != first_max(*t))
            .count()
    }

    /// `δ ← δ ⊙ φ'(h)`: back-propagation through the non-linearity `act` whose outputs are `h`,
    /// with the slope written from the output ([`Activation::slope_from_output`], the same φ' as
    /// [`Device::output_error`]). For ReLU it equals [`Device::relu_backward`].
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn slope_backward(
        &self,
        delta: ArrayViewMut2<'_, f32>,
        h: ArrayView2<'_, f32>,
        act: Activation,
    ) {
        self.for_rows2(delta, h, |_, mut d, h| {
            Zip::from(&mut d)
                .and(&h)
                .for_each(|d, &h| *d *= act.slope_from_output(h));
        });
    }

    /// The column of the largest entry of every row (the first one on ties).
    pub fn row_argmax(&self, m: ArrayView2<'_, f32>) -> Vec<usize> {
        self.install(|| {
            m.axis_iter(Axis(0))
                .into_par_iter()
                .map(|row| {
                    let mut best = 0;
                    for (j, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = j;
                        }
                    }
                    best
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_of_equal_logits_is_uniform_and_survives_huge_logits() {
        let dev = Device::cpu(1).unwrap();
        let mut z = array![[1.0f32, 1.0, 1.0, 1.0], [1000.0, 0.0, 0.0, 0.0]];
        dev.softmax_rows(z.view_mut());
        for &v in z.row(0) {
            assert!((v - 0.25).abs() < 1e-7);
        }
        assert!((z[[1, 0]] - 1.0).abs() < 1e-7 && z[[1, 1]] == 0.0);
    }

    /// For logits (0, ln 3) the softmax is (1/4, 3/4): loss −ln(1/4) for label 0, gradient
    /// (1/4 − 1, 3/4).
    #[test]
    fn cross_entropy_and_its_gradient_match_the_two_class_closed_form() {
        let dev = Device::cpu(2).unwrap();
        let z = array![[0.0f32, 3.0f32.ln()]];
        let mut g = array![[0.0f32, 0.0]];
        let loss = dev.softmax_cross_entropy(z.view(), &[0], g.view_mut(), 1.0);
        assert!((loss - 4.0f64.ln()).abs() < 1e-6, "{loss}");
        assert!((g[[0, 0]] + 0.75).abs() < 1e-6 && (g[[0, 1]] - 0.75).abs() < 1e-6);
    }

    /// φ'(a) from y = φ(a): sigmoid y(1 − y), tanh 1 − y², softplus 1 − e^(−y), ReLU 1[y > 0],
    /// linear 1.
    #[test]
    fn slope_backward_multiplies_by_the_slope_written_from_the_output() {
        let dev = Device::cpu(2).unwrap();
        let h = array![[0.5f32, 0.25], [0.0, 2.0]];
        let cases = [
            (Activation::Sigmoid, [[0.25f32, 0.1875], [0.0, -2.0]]),
            (Activation::Tanh, [[0.75, 0.9375], [1.0, -3.0]]),
            (Activation::Relu, [[1.0, 1.0], [0.0, 1.0]]),
            (Activation::Linear, [[1.0, 1.0], [1.0, 1.0]]),
        ];
        for (act, expected) in cases {
            let mut d = ndarray::Array2::<f32>::from_elem((2, 2), 1.0);
            dev.slope_backward(d.view_mut(), h.view(), act);
            assert_eq!(d, ndarray::arr2(&expected), "{act:?}");
        }
        let mut d = ndarray::Array2::<f32>::from_elem((1, 1), 1.0);
        dev.slope_backward(d.view_mut(), array![[2.0f32]].view(), Activation::Softplus);
        assert!((d[[0, 0]] - (1.0 - (-2.0f32).exp())).abs() < 1e-6);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let dev = Device::cpu(1).unwrap();
        let m = array![[0.0f32, 2.0, 2.0], [5.0, -1.0, 4.0]];
        assert_eq!(dev.row_argmax(m.view()), vec![1, 0]);
    }
}
