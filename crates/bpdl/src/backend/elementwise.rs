//! The fused elementwise kernels of the learner, one parallel pass each.
//!
//! | kernel | formula |
//! |---|---|
//! | [`Device::inference_step`] | `h ← h + δ·(a − b) + α·(c − h)` (c optional) |
//! | [`Device::inference_step_rows`] | `h_i ← h_i + δ_i·(a_i − b_i) + α_i·(c_i − h_i)` per row i |
//! | [`Device::jacobian_scale`] | `s²_i = Σ_j φ'(y_ij)² c_j / r` |
//! | [`Device::gauss_newton_steps`] | `δ_i = k_i·δ·s²_i/(1 + s²_i)`, `α_i = k_i·δ/(1 + s²_i)`, `s²_i` times a gain |
//! | [`Device::scaled_steps`] | `δ_i = k_i·δ`, `α_i = k_i·α` |
//! | [`Device::undo_worse_rows`] | per row: keep the update if `new_i ≥ old_i`, else restore it and halve `s_i` |
//! | [`Device::fill_missing`] | `x̂ = m ⊙ x + (1 − m) ⊙ r` |
//! | [`Device::axpy_diff`] | `o ← o + (a − b)` |
//! | [`Device::axpy_scaled_diff`] | `o ← o + k·(a − b)` |
//! | [`Device::output_error`] | `e = (y − t) ⊙ φ'(y)`, returns `Σ (y − t)²` |
//! | [`Device::half_sq_dist_rows`] | `out_i −= w·½ ‖a_i − b_i‖² + c` |
//! | [`Device::column_sums`] | `s_j = Σ_i e_ij` |
//!
//! They are named (not closures) so that another backend can provide each as one kernel.
//! Reductions accumulate each row in f32 (in a fixed order) and store the row sums in f64, which
//! are then added in row order, so their values do not depend on the thread count.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::Device;
use super::fastmath::dispatch;
use crate::activation::Activation;

impl Device {
    /// `h ← h + δ·(a − b) + α·(c − h)`; without `c` the last term is dropped.
    ///
    /// This is one INFERENCE update of a layer (Algorithm 2): `a = f(h_below)`,
    /// `b = f(g(h))`, `c = g_above(h_above)`.
    pub fn inference_step(
        &self,
        mut h: ArrayViewMut2<'_, f32>,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
        c: Option<ArrayView2<'_, f32>>,
        delta: f32,
        alpha: f32,
    ) {
        self.install(|| match c {
            Some(c) => Zip::from(h.rows_mut())
                .and(a.rows())
                .and(b.rows())
                .and(c.rows())
                .par_for_each(|mut h, a, b, c| {
                    Zip::from(&mut h)
                        .and(&a)
                        .and(&b)
                        .and(&c)
                        .for_each(|h, &a, &b, &c| *h += delta * (a - b) + alpha * (c - *h));
                }),
            None => Zip::from(h.rows_mut())
                .and(a.rows())
                .and(b.rows())
                .par_for_each(|mut h, a, b| {
                    Zip::from(&mut h)
                        .and(&a)
                        .and(&b)
                        .for_each(|h, &a, &b| *h += delta * (a - b));
                }),
        });
    }

    /// `h_i ← h_i + δ_i·(a_i − b_i) + α_i·(c_i − h_i)` for every row i: [`Device::inference_step`]
    /// with step sizes of their own per example (the Gauss–Newton weighting and the
    /// backtracking of INFERENCE).
    pub fn inference_step_rows(
        &self,
        mut h: ArrayViewMut2<'_, f32>,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
        c: Option<ArrayView2<'_, f32>>,
        delta: ArrayView1<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) {
        self.install(|| match c {
            Some(c) => Zip::from(h.rows_mut())
                .and(a.rows())
                .and(b.rows())
                .and(c.rows())
                .and(&delta)
                .and(&alpha)
                .par_for_each(|mut h, a, b, c, &d, &al| {
                    Zip::from(&mut h)
                        .and(&a)
                        .and(&b)
                        .and(&c)
                        .for_each(|h, &a, &b, &c| *h += d * (a - b) + al * (c - *h));
                }),
            None => Zip::from(h.rows_mut())
                .and(a.rows())
                .and(b.rows())
                .and(&delta)
                .par_for_each(|mut h, a, b, &d| {
                    Zip::from(&mut h)
                        .and(&a)
                        .and(&b)
                        .for_each(|h, &a, &b| *h += d * (a - b));
                }),
        });
    }

    /// `s²_i = Σ_j φ'(y_ij)²·c_j / r` for every row i: for a decoder `y = φ(h·W + b)` with
    /// output `y: [batch, n_out]`, `c_j = ‖W[:, j]‖²` and `r = min(n_in, n_out)`, the mean squared
    /// singular value of its Jacobian at example i (the Gauss–Newton weighting of INFERENCE).
    pub fn jacobian_scale(
        &self,
        y: ArrayView2<'_, f32>,
        act: Activation,
        col_sq: ArrayView1<'_, f32>,
        rank: usize,
        mut s2: ArrayViewMut1<'_, f32>,
    ) {
        let r = rank.max(1) as f32;
        self.install(|| {
            Zip::from(y.rows()).and(&mut s2).par_for_each(|y, s2| {
                let mut acc = 0.0f32;
                Zip::from(&y).and(&col_sq).for_each(|&y, &c| {
                    let slope = act.slope_from_output(y);
                    acc += slope * slope * c;
                });
                *s2 = acc / r;
            });
        });
    }

    /// The Gauss–Newton step sizes from [`Device::jacobian_scale`]'s `s²` (held in `delta_out` on
    /// entry) times `gain` (the variance ratio `σ_{l+1}²/σ_l²`, 1 for unit variances):
    /// `δ_i = k_i·δ·s²_i/(1 + s²_i)`, `α_i = k_i·δ/(1 + s²_i)`, with `k_i = scale_i`.
    pub fn gauss_newton_steps(
        &self,
        (delta, gain): (f32, f32),
        scale: ArrayView1<'_, f32>,
        mut delta_out: ArrayViewMut1<'_, f32>,
        mut alpha_out: ArrayViewMut1<'_, f32>,
    ) {
        Zip::from(&scale)
            .and(&mut delta_out)
            .and(&mut alpha_out)
            .for_each(|&k, d, a| {
                let s2 = *d * gain;
                *d = k * delta * s2 / (1.0 + s2);
                *a = k * delta / (1.0 + s2);
            });
    }

    /// `δ_i = k_i·δ`, `α_i = k_i·α` with `k_i = scale_i` (per-example steps without the
    /// Gauss–Newton weighting).
    pub fn scaled_steps(
        &self,
        (delta, alpha): (f32, f32),
        scale: ArrayView1<'_, f32>,
        mut delta_out: ArrayViewMut1<'_, f32>,
        mut alpha_out: ArrayViewMut1<'_, f32>,
    ) {
        Zip::from(&scale)
            .and(&mut delta_out)
            .and(&mut alpha_out)
            .for_each(|&k, d, a| {
                *d = k * delta;
                *a = k * alpha;
            });
    }

    /// `c_j = Σ_i W_ij²`, the squared norm of each column of `w: [n_in, n_out]`.
    pub fn column_sq_norms(&self, w: ArrayView2<'_, f32>, mut out: ArrayViewMut1<'_, f32>) {
        out.fill(0.0);
        for row in w.rows() {
            Zip::from(&mut out).and(&row).for_each(|o, &v| *o += v * v);
        }
    }

    /// The acceptance test of a backtracking step, per row i: where the objective fell
    /// (`new_i < old_i`) the step is rejected: `new_i ← old_i`, `s_i ← s_i / 2` and
    /// `rejected_i ← 1`; elsewhere `rejected_i ← 0`. Returns the number of rejected rows. Then
    /// [`Device::restore_rows`] puts the rejected rows of every updated matrix back.
    pub fn undo_worse_rows(
        &self,
        mut new: ArrayViewMut1<'_, f64>,
        old: ArrayView1<'_, f64>,
        mut scale: ArrayViewMut1<'_, f32>,
        mut rejected: ArrayViewMut1<'_, f32>,
    ) -> usize {
        let mut count = 0;
        Zip::from(&mut new)
            .and(&old)
            .and(&mut scale)
            .and(&mut rejected)
            .for_each(|n, &o, s, r| {
                if *n < o {
                    *n = o;
                    *s *= 0.5;
                    *r = 1.0;
                    count += 1;
                } else {
                    *r = 0.0;
                }
            });
        count
    }

    /// `t ← h + (a − t)`, entry by entry: the difference target `h + g(y) − g(f(h))` from
    /// `t = g(f(h))` and `a = g(y)` (targetprop of an observed label, [`crate::inference`]).
    pub fn difference_target(
        &self,
        mut t: ArrayViewMut2<'_, f32>,
        h: ArrayView2<'_, f32>,
        a: ArrayView2<'_, f32>,
    ) {
        self.install(|| {
            Zip::from(&mut t)
                .and(&h)
                .and(&a)
                .par_for_each(|t, &h, &a| *t = h + (a - *t));
        });
    }

    /// `v_i ← v_i · w_i`, entry by entry.
    pub fn scale_by(&self, mut v: ArrayViewMut1<'_, f32>, w: ArrayView1<'_, f32>) {
        Zip::from(&mut v).and(&w).for_each(|v, &w| *v *= w);
    }

    /// `m_i ← w_i · m_i` for every row i (a per-example weight, e.g. a 0/1 mask).
    pub fn scale_rows(&self, mut m: ArrayViewMut2<'_, f32>, w: ArrayView1<'_, f32>) {
        self.install(|| {
            Zip::from(m.rows_mut())
                .and(&w)
                .par_for_each(|mut m, &w| m.mapv_inplace(|v| v * w));
        });
    }

    /// `m_i ← saved_i` for every row i with `rejected_i = 1`.
    pub fn restore_rows(
        &self,
        mut m: ArrayViewMut2<'_, f32>,
        saved: ArrayView2<'_, f32>,
        rejected: ArrayView1<'_, f32>,
    ) {
        self.install(|| {
            Zip::from(m.rows_mut())
                .and(saved.rows())
                .and(&rejected)
                .par_for_each(|mut m, saved, &r| {
                    if r != 0.0 {
                        m.assign(&saved);
                    }
                });
        });
    }

    /// `o ← o + (a − b)`, entry by entry ([`Device::axpy_scaled_diff`] with `k = 1`, which
    /// is exact).
    pub fn axpy_diff(
        &self,
        o: ArrayViewMut2<'_, f32>,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
    ) {
        self.axpy_scaled_diff(o, 1.0, a, b);
    }

    /// `o ← o + k·(a − b)`, entry by entry.
    pub fn axpy_scaled_diff(
        &self,
        mut o: ArrayViewMut2<'_, f32>,
        k: f32,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
    ) {
        self.install(|| {
            Zip::from(&mut o)
                .and(&a)
                .and(&b)
                .par_for_each(|o, &a, &b| *o += k * (a - b));
        });
    }

    /// `x̂ = m ⊙ x + (1 − m) ⊙ r`: visible entries (`m = 1`) from `x`, missing ones from `r`.
    pub fn fill_missing(
        &self,
        mut out: ArrayViewMut2<'_, f32>,
        x: ArrayView2<'_, f32>,
        visible: ArrayView2<'_, f32>,
        r: ArrayView2<'_, f32>,
    ) {
        self.install(|| {
            Zip::from(out.rows_mut())
                .and(x.rows())
                .and(visible.rows())
                .and(r.rows())
                .par_for_each(|mut o, x, m, r| {
                    Zip::from(&mut o)
                        .and(&x)
                        .and(&m)
                        .and(&r)
                        .for_each(|o, &x, &m, &r| *o = m * x + (1.0 - m) * r);
                });
        });
    }

    /// `e = (y − t) ⊙ φ'(y)` for a prediction `y = φ(a)` and a target `t`; writes each row's
    /// squared error `Σ_j (y_ij − t_ij)²` into `row_sse` and returns their sum.
    pub fn output_error(
        &self,
        mut e: ArrayViewMut2<'_, f32>,
        y: ArrayView2<'_, f32>,
        t: ArrayView2<'_, f32>,
        act: Activation,
        mut row_sse: ArrayViewMut1<'_, f64>,
    ) -> f64 {
        self.install(|| {
            Zip::from(e.rows_mut())
                .and(y.rows())
                .and(t.rows())
                .and(&mut row_sse)
                .par_for_each(|mut e, y, t, s| {
                    let mut acc = [0.0f32];
                    match (e.as_slice_mut(), y.as_slice(), t.as_slice()) {
                        (Some(e), Some(y), Some(t)) => {
                            residual_times_slope(e, y, t, act, &mut acc);
                        }
                        _ => Zip::from(&mut e).and(&y).and(&t).for_each(|e, &y, &t| {
                            let d = y - t;
                            acc[0] += d * d;
                            *e = d * act.slope_from_output(y);
                        }),
                    }
                    *s = f64::from(acc[0]);
                });
        });
        row_sse.sum()
    }

    /// `out_i −= w·½‖a_i − b_i‖² + c` for every row i: adds a Gaussian log-density term of
    /// precision `w = 1/σ²` per example, `c` its normaliser `(n/2)·ln σ²` (without the `2π`
    /// constant); `(1, 0)` for unit variance.
    pub fn half_sq_dist_rows(
        &self,
        mut out: ArrayViewMut1<'_, f64>,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
        (w, c): (f64, f64),
    ) {
        self.install(|| {
            Zip::from(&mut out)
                .and(a.rows())
                .and(b.rows())
                .par_for_each(|o, a, b| {
                    let mut acc = 0.0f32;
                    Zip::from(&a).and(&b).for_each(|&a, &b| {
                        let d = a - b;
                        acc += d * d;
                    });
                    *o -= w * 0.5 * f64::from(acc) + c;
                });
        });
    }

    /// `s_j = scale · Σ_i e_ij`: the bias gradient of a layer.
    pub fn column_sums(&self, mut s: ArrayViewMut1<'_, f32>, e: ArrayView2<'_, f32>, scale: f32) {
        s.fill(0.0);
        for row in e.axis_iter(Axis(0)) {
            Zip::from(&mut s).and(&row).for_each(|s, &v| *s += v);
        }
        s.mapv_inplace(|v| v * scale);
    }

    /// `w ← w − lr·g` elementwise (plain SGD on an explicit gradient).
    pub fn sgd_step(&self, mut w: ArrayViewMut1<'_, f32>, g: ArrayView1<'_, f32>, lr: f32) {
        Zip::from(&mut w).and(&g).for_each(|w, &g| *w -= lr * g);
    }
}

// The slice kernels index plain slices (no iterator adapters): an adapter's `fold` is a separate
// generic function that the compiler may not inline into the feature-enabled copies, which then
// run unvectorised. φ and φ' are inlined from `Activation`.

dispatch! {
    /// `row[j] = φ(row[j] + bias[j])`.
    pub fn bias_activation(row: &mut [f32], bias: &[f32], act: Activation) {
        let n = row.len().min(bias.len());
        let (row, bias) = (&mut row[..n], &bias[..n]);
        match act {
            Activation::Sigmoid => for j in 0..n { row[j] = Activation::Sigmoid.apply(row[j] + bias[j]); },
            Activation::Softplus => for j in 0..n { row[j] = Activation::Softplus.apply(row[j] + bias[j]); },
            Activation::Tanh => for j in 0..n { row[j] = Activation::Tanh.apply(row[j] + bias[j]); },
            Activation::Relu => for j in 0..n { row[j] = (row[j] + bias[j]).max(0.0); },
            Activation::Linear => for j in 0..n { row[j] += bias[j]; },
        }
    }
}

dispatch! {
    /// `e[j] = (y[j] − t[j])·φ'(y[j])` and `sse[0] = Σ (y[j] − t[j])²`.
    pub fn residual_times_slope(e: &mut [f32], y: &[f32], t: &[f32], act: Activation, sse: &mut [f32]) {
        let n = e.len().min(y.len()).min(t.len());
        let (e, y, t) = (&mut e[..n], &y[..n], &t[..n]);
        let mut acc = 0.0f32;
        match act {
            Activation::Sigmoid => for j in 0..n {
                let d = y[j] - t[j]; acc += d * d; e[j] = d * Activation::Sigmoid.slope_from_output(y[j]);
            },
            Activation::Softplus => for j in 0..n {
                let d = y[j] - t[j]; acc += d * d; e[j] = d * Activation::Softplus.slope_from_output(y[j]);
            },
            _ => for j in 0..n {
                let d = y[j] - t[j]; acc += d * d; e[j] = d * act.slope_from_output(y[j]);
            },
        }
        sse[0] = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    #[test]
    fn inference_step_matches_the_formula_entry_by_entry() {
        let dev = Device::cpu(2).unwrap();
        let mut h = array![[1.0f32, 2.0], [3.0, 4.0]];
        let a = array![[0.5f32, 0.5], [1.0, 1.0]];
        let b = array![[0.25f32, 1.0], [0.0, 2.0]];
        let c = array![[2.0f32, 2.0], [2.0, 2.0]];
        dev.inference_step(h.view_mut(), a.view(), b.view(), Some(c.view()), 0.1, 0.5);
        // h00 = 1 + 0.1·0.25 + 0.5·(2 − 1) = 1.525
        assert!((h[[0, 0]] - 1.525).abs() < 1e-6);
        // h11 = 4 + 0.1·(−1) + 0.5·(2 − 4) = 2.9
        assert!((h[[1, 1]] - 2.9).abs() < 1e-6);
    }

    #[test]
    fn output_error_is_the_residual_times_the_slope() {
        let dev = Device::cpu(1).unwrap();
        let y = array![[0.5f32, 0.25]];
        let t = array![[1.0f32, 0.0]];
        let mut e = array![[0.0f32, 0.0]];
        let mut rows = Array1::<f64>::zeros(1);
        let sse = dev.output_error(
            e.view_mut(),
            y.view(),
            t.view(),
            Activation::Sigmoid,
            rows.view_mut(),
        );
        // (0.5−1)·0.25 = −0.125 ; (0.25−0)·0.1875 = 0.046875 ; SSE = 0.25 + 0.0625
        assert_eq!(e, array![[-0.125f32, 0.046875]]);
        assert!((sse - 0.3125).abs() < 1e-12);
    }

    #[test]
    fn half_squared_distances_accumulate_per_row() {
        let dev = Device::cpu(2).unwrap();
        let a = array![[1.0f32, 1.0], [0.0, 3.0]];
        let b = array![[0.0f32, 1.0], [0.0, 1.0]];
        let mut out = Array1::<f64>::from_elem(2, 1.0);
        dev.half_sq_dist_rows(out.view_mut(), a.view(), b.view(), (1.0, 0.0));
        assert_eq!(out, ndarray::arr1(&[0.5, -1.0]));
        // σ² = 4: −½‖d‖²/4 − (2/2)·ln 4 per row
        dev.half_sq_dist_rows(out.view_mut(), a.view(), b.view(), (0.25, 4f64.ln()));
        assert!((out[0] - (0.5 - 0.125 - 4f64.ln())).abs() < 1e-12);
        assert!((out[1] - (-1.0 - 0.5 - 4f64.ln())).abs() < 1e-12);
    }
}
