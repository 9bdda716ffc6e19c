//! The operations of the lateral top prior (`model::lateral`) as `Device` operations. `W` is
//! the lateral weight matrix stored `[n_in, n_out]` like every map (`W[j, i] = V_ij`, from unit
//! j to unit i, zero diagonal), `a = h·W + c` the pre-activations, `ĥ = φ(a)`:
//!
//! | operation | formula |
//! |---|---|
//! | [`Device::lateral_gradient`] | `e = ĥ − h`;  `∂W = hᵀe / B` (diagonal 0);  `∂c = 1ᵀe / B` |
//! | [`Device::lateral_momentum_step`] | `u ← μ·u − η·∂`;  `θ ← θ + u` (W's diagonal kept 0) |
//! | [`Device::lateral_residual_sums`] | `Σ_b (ĥ_bi − h_bi)²` per unit, in f64 |
//! | [`Device::lateral_log_conditionals`] | `Σ_i log p(h_i | a_i)` per row, in f64 |
//! | [`Device::lateral_gibbs_sweeps`] | sequential Gibbs sweeps over the units of every row |
//! | [`Device::clip_to_unit_interval`] | `h ← min(max(h, 0), 1)` (a Gaussian start made a Bernoulli chain's state) |
//!
//! The Gibbs sweeps draw one key from the caller's stream and give every row (chain) its own
//! generator ([`crate::rng::row_rng`]), so the draws do not depend on the thread count.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::{Device, Matrix};
use crate::rng::{Rng, fill_key, row_rng};

/// The conditional `p(h_i | h_{−i})` of one unit given its pre-activation `a_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// `N(a_i, s_i²)`.
    Linear,
    /// `Bernoulli(sigm(a_i))`.
    Sigmoid,
}

impl Device {
    /// `e = ĥ − h` (into `e`), `grad_w = hᵀe / B` with its diagonal set to 0 (the lateral
    /// weights never connect a unit to itself), `grad_c = Σ_b e_b / B`: the local delta rule
    /// `ΔV_ij ∝ −(ĥ_i − h_i)·h_j`, `Δc_i ∝ −(ĥ_i − h_i)` averaged over the minibatch.
    ///
    /// # Shapes
    /// `h, pred, e: [B, n]`, `grad_w: [n, n]`, `grad_c: [n]`.
    pub fn lateral_gradient(
        &self,
        h: ArrayView2<'_, f32>,
        pred: ArrayView2<'_, f32>,
        e: &mut Matrix,
        mut grad_w: ArrayViewMut2<'_, f32>,
        mut grad_c: ArrayViewMut1<'_, f32>,
    ) {
        assert_eq!(h.dim(), pred.dim(), "lateral_gradient shapes");
        if e.dim() != h.dim() {
            *e = Matrix::zeros(h.dim());
        }
        Zip::from(&mut *e)
            .and(&pred)
            .and(&h)
            .for_each(|e, &p, &t| *e = p - t);
        let inv = 1.0 / h.nrows().max(1) as f32;
        self.matmul(inv, h.t(), e.view(), 0.0, grad_w.view_mut());
        grad_w.diag_mut().fill(0.0);
        for (g, col) in grad_c.iter_mut().zip(e.axis_iter(Axis(1))) {
            *g = col.iter().map(|&v| f64::from(v)).sum::<f64>() as f32 * inv;
        }
    }

    /// One heavy-ball step of every entry: `u ← momentum·u − lr·g`, `θ ← θ + u`. With
    /// `zero_diagonal`, θ is square and its diagonal is set back to 0.
    pub fn lateral_momentum_step(
        &self,
        mut theta: ArrayViewMut2<'_, f32>,
        mut velocity: ArrayViewMut2<'_, f32>,
        grad: ArrayView2<'_, f32>,
        lr: f32,
        momentum: f32,
        zero_diagonal: bool,
    ) {
        Zip::from(&mut theta)
            .and(&mut velocity)
            .and(&grad)
            .for_each(|w, u, &g| {
                *u = momentum * *u - lr * g;
                *w += *u;
            });
        if zero_diagonal {
            theta.diag_mut().fill(0.0);
        }
    }

    /// `sums[i] += Σ_b (pred_bi − h_bi)²`, in f64.
    pub fn lateral_residual_sums(
        &self,
        h: ArrayView2<'_, f32>,
        pred: ArrayView2<'_, f32>,
        mut sums: ArrayViewMut1<'_, f64>,
    ) {
        assert_eq!(h.dim(), pred.dim(), "lateral_residual_sums shapes");
        for (hr, pr) in h.rows().into_iter().zip(pred.rows()) {
            Zip::from(&mut sums)
                .and(&hr)
                .and(&pr)
                .for_each(|s, &t, &p| *s += f64::from(p - t).powi(2));
        }
    }

    /// `Σ_i log p(h_i | a_i)` for every row, in f64: linear `−½(h_i − a_i)²/s_i² − ½ log 2πs_i²`;
    /// sigmoid `h_i log sigm(a_i) + (1 − h_i) log(1 − sigm(a_i))` (written with softplus, so a
    /// saturated unit gives a finite value).
    ///
    /// # Shapes
    /// `h, a: [B, n]`, `var: [n]` (read for the linear conditional only); returns `[B]`.
    pub fn lateral_log_conditionals(
        &self,
        h: ArrayView2<'_, f32>,
        a: ArrayView2<'_, f32>,
        var: ArrayView1<'_, f32>,
        conditional: Conditional,
    ) -> ndarray::Array1<f64> {
        assert_eq!(h.dim(), a.dim(), "lateral_log_conditionals shapes");
        let two_pi = 2.0 * std::f64::consts::PI;
        let log_norm: f64 = match conditional {
            Conditional::Linear => var
                .iter()
                .map(|&v| -0.5 * (two_pi * f64::from(v)).ln())
                .sum(),
            Conditional::Sigmoid => 0.0,
        };
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        h.rows()
            .into_iter()
            .zip(a.rows())
            .map(|(hr, ar)| {
                let mut s = log_norm;
                for ((&t, &a), &v) in hr.iter().zip(ar.iter()).zip(var.iter()) {
                    let (t, a) = (f64::from(t), f64::from(a));
                    s += match conditional {
                        Conditional::Linear => -0.5 * (t - a).powi(2) / f64::from(v),
                        Conditional::Sigmoid => -t * softplus(-a) - (1.0 - t) * softplus(a),
                    };
                }
                s
            })
            .collect()
    }

    /// `h ← min(max(h, 0), 1)` entrywise.
    pub fn clip_to_unit_interval(&self, h: ArrayViewMut2<'_, f32>) {
        self.for_rows(h, |_, mut row| row.mapv_inplace(|v| v.clamp(0.0, 1.0)));
    }

    /// `sweeps` systematic-scan Gibbs sweeps of every row of `h` (each row its own chain): for
    /// `i = 0, …, n − 1` in turn, `a_i = Σ_j h_j W[j, i] + c_i` from the current values of the
    /// other units, then `h_i ~ N(a_i, s_i²)` (linear) or `h_i ~ Bernoulli(sigm(a_i))`
    /// (sigmoid). The pre-activations of a row are recomputed at the start of every sweep and
    /// updated in O(n) after each change (`a ← a + (h_i' − h_i)·W[i, ·]`; `W[i, i] = 0`, so
    /// `a_i` does not see its own unit).
    ///
    /// # Shapes
    /// `h: [chains, n]`, `w: [n, n]`, `c, var: [n]`.
    pub fn lateral_gibbs_sweeps(
        &self,
        h: ArrayViewMut2<'_, f32>,
        (w, c, var): (
            ArrayView2<'_, f32>,
            ArrayView1<'_, f32>,
            ArrayView1<'_, f32>,
        ),
        conditional: Conditional,
        sweeps: usize,
        rng: &mut Rng,
    ) {
        let n = c.len();
        assert!(
            h.ncols() == n && w.dim() == (n, n) && var.len() == n,
            "lateral_gibbs_sweeps shapes"
        );
        let key = fill_key(rng);
        let std: Vec<f32> = var.iter().map(|&v| v.sqrt()).collect();
        self.for_rows(h, |row_index, mut row| {
            let mut r = row_rng(key, row_index);
            let mut a = vec![0.0f32; n];
            for _ in 0..sweeps {
                a.copy_from_slice(c.as_slice().expect("a bias vector is contiguous"));
                for (j, &hj) in row.iter().enumerate() {
                    if hj != 0.0 {
                        for (ak, &wjk) in a.iter_mut().zip(w.row(j)) {
                            *ak += hj * wjk;
                        }
                    }
                }
                for i in 0..n {
                    let new = match conditional {
                        Conditional::Linear => {
                            let e: f32 = r.sample(StandardNormal);
                            a[i] + std[i] * e
                        }
                        Conditional::Sigmoid => {
                            let p = crate::Activation::Sigmoid.apply(a[i]);
                            f32::from(u8::from(r.random::<f32>() < p))
                        }
                    };
                    let d = new - row[i];
                    row[i] = new;
                    if d != 0.0 {
                        for (ak, &wik) in a.iter_mut().zip(w.row(i)) {
                            *ak += d * wik;
                        }
                    }
                }
            }
        });
    }
}
