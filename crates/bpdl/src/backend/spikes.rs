//! The kernels of the spiking M-step ([`crate::learning::spiking`]): presynaptic spike trains
//! drawn for a whole minibatch, the kernel-weighted spike counts that Eq. 1 reduces to for a
//! voltage relaxing exponentially, and the voltage step of the per-step simulation.
//!
//! ```text
//! spike:   S_bi(n) ~ Bernoulli(p_bi),  p_bi = p_max · u_bi / s   (u_bi ∈ [0, s]),  i < n_in
//!          S_b,n_in(n) ~ Bernoulli(p_max)                          (the bias's neuron)
//! kernel:  K_bi = Σ_n S_bi(n) · k(n)
//! step:    x ← d + (x − d)·q,  dv ← x_new − x_old                  (exact for τ dx/dt = d − x)
//! ```
//!
//! Every row (example) has its own generator ([`crate::rng::row_rng`], keyed once per layer
//! from the caller's stream), and within a row the draws come in one fixed order: step n, then
//! neuron i = 0 … n_in (the bias's last). [`spike_kernel_sums`] and [`spike_step`] repeated over
//! the steps with generators from [`seed_rows`] therefore draw exactly the same spikes, whatever
//! the thread count. A neuron whose rate is 0 draws nothing. A spike is `U < p` with U uniform on
//! the multiples of 2⁻²⁴ in [0, 1) (24 random bits, an f32's resolution), so
//! `P(S = 1) = ⌈p·2²⁴⌉/2²⁴`: p to within 6·10⁻⁸.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use rand::Rng as _;

use super::Device;
use crate::rng::{Rng, fill_key, row_rng};

/// One Bernoulli draw: `U < p` with U the next 24 random bits scaled to [0, 1).
#[inline]
pub(super) fn fires(r: &mut Rng, p: f32) -> bool {
    ((r.next_u32() >> 8) as f32) * (1.0 / 16_777_216.0) < p
}

/// The spikes of one row in one step, in the fixed order (inputs, then the bias's neuron):
/// calls `spike(i)` for each neuron i that fires and returns how many fired.
#[inline]
fn draw_step(
    r: &mut Rng,
    u: ArrayView1<'_, f32>,
    inv_scale: f32,
    p_max: f32,
    mut spike: impl FnMut(usize),
) -> u32 {
    let mut count = 0;
    for (i, &v) in u.iter().enumerate() {
        let p = v * inv_scale * p_max;
        if p > 0.0 && fires(r, p) {
            spike(i);
            count += 1;
        }
    }
    if fires(r, p_max) {
        spike(u.len());
        count += 1;
    }
    count
}

/// `K_bi = Σ_n S_bi(n)·k(n)` for a whole presentation of `kernel.len()` steps, drawing every
/// spike with one row generator per example keyed from `rng`; `row_spikes[b]` = the number of
/// spikes of row b (bias's neuron included).
///
/// `u` must lie in `[0, s]` (`inv_scale = 1/s`) and `p_max ≤ 1`.
///
/// # Shapes
/// `u: [B, n]`, `out: [B, n + 1]` (column n: the bias's neuron), `row_spikes: [B]`.
pub fn spike_kernel_sums(
    dev: &Device,
    rng: &mut Rng,
    (u, inv_scale, p_max): (ArrayView2<'_, f32>, f32, f32),
    kernel: &[f32],
    mut out: ArrayViewMut2<'_, f32>,
    mut row_spikes: ArrayViewMut1<'_, f64>,
) {
    assert_eq!(
        (out.nrows(), out.ncols(), row_spikes.len()),
        (u.nrows(), u.ncols() + 1, u.nrows()),
        "spike_kernel_sums shapes"
    );
    let key = fill_key(rng);
    dev.install(|| {
        Zip::indexed(out.axis_iter_mut(Axis(0)))
            .and(u.axis_iter(Axis(0)))
            .and(&mut row_spikes)
            .par_for_each(|b, mut k_row, u_row, spikes| {
                let mut r = row_rng(key, b);
                k_row.fill(0.0);
                let k_row = k_row.as_slice_mut().expect("owned rows are contiguous");
                let mut count = 0u64;
                for &k in kernel {
                    count += u64::from(draw_step(&mut r, u_row, inv_scale, p_max, |i| {
                        k_row[i] += k;
                    }));
                }
                *spikes = count as f64;
            });
    });
}

/// Replays the spikes that row `row` of a presentation keyed by `key` drew ([`spike_kernel_sums`]
/// and [`spike_step`] from a key drawn with [`fill_key`]): its generator `row_rng(key, row)`,
/// `steps` steps in the fixed order, calling `spike(n, i)` for every spike of neuron i in step n
/// (i = `u.len()`: the bias's neuron). Returns the row's spike count. The in-network STDP
/// window ([`crate::learning::stdp_window`]) reads one example's spike trains this way without
/// touching the training's streams.
pub fn replay_row(
    key: u64,
    row: usize,
    (u, inv_scale, p_max): (ArrayView1<'_, f32>, f32, f32),
    steps: usize,
    mut spike: impl FnMut(usize, usize),
) -> u64 {
    let mut r = row_rng(key, row);
    let mut count = 0u64;
    for n in 0..steps {
        count += u64::from(draw_step(&mut r, u, inv_scale, p_max, |i| spike(n, i)));
    }
    count
}

/// One Bernoulli draw as the spike trains make them: `U < p`, U the next 24 random bits of `r`
/// scaled to [0, 1).
#[inline]
pub fn bernoulli(r: &mut Rng, p: f32) -> bool {
    fires(r, p)
}

/// Gives every row its generator for a presentation simulated step by step ([`spike_step`]):
/// one key from `rng`, then `gens[b] = row_rng(key, b)`, the generators [`spike_kernel_sums`]
/// uses.
pub fn seed_rows(rng: &mut Rng, gens: &mut [Rng]) {
    let key = fill_key(rng);
    for (b, g) in gens.iter_mut().enumerate() {
        *g = row_rng(key, b);
    }
}

/// One time step of the presynaptic spike trains: `out[b, i] = S_bi(n) ∈ {0, 1}`, advancing
/// each row's generator; adds each row's spike count to `row_spikes`.
///
/// # Shapes
/// `gens: [B]`, `u: [B, n]`, `out: [B, n + 1]`, `row_spikes: [B]`.
pub fn spike_step(
    dev: &Device,
    gens: &mut [Rng],
    (u, inv_scale, p_max): (ArrayView2<'_, f32>, f32, f32),
    mut out: ArrayViewMut2<'_, f32>,
    mut row_spikes: ArrayViewMut1<'_, f64>,
) {
    assert_eq!(
        (out.nrows(), out.ncols(), row_spikes.len(), gens.len()),
        (u.nrows(), u.ncols() + 1, u.nrows(), u.nrows()),
        "spike_step shapes"
    );
    let gens = ndarray::ArrayViewMut1::from(gens);
    dev.install(|| {
        Zip::from(out.axis_iter_mut(Axis(0)))
            .and(u.axis_iter(Axis(0)))
            .and(&mut row_spikes)
            .and(gens)
            .par_for_each(|mut s_row, u_row, spikes, r| {
                s_row.fill(0.0);
                let s_row = s_row.as_slice_mut().expect("owned rows are contiguous");
                let count = draw_step(r, u_row, inv_scale, p_max, |i| s_row[i] = 1.0);
                *spikes += f64::from(count);
            });
    });
}

impl Device {
    /// `m ← clip(m, 0, hi)`, entry by entry: the values a rate in `[0, ρ_max]` can carry.
    pub fn clip_to_range(&self, mut m: ArrayViewMut2<'_, f32>, hi: f32) {
        self.install(|| {
            Zip::from(&mut m).par_for_each(|v| *v = v.clamp(0.0, hi));
        });
    }

    /// `m ← α·m`, entry by entry.
    pub fn scale_matrix(&self, mut m: ArrayViewMut2<'_, f32>, alpha: f32) {
        self.install(|| {
            Zip::from(&mut m).par_for_each(|v| *v *= alpha);
        });
    }

    /// `s_j = scale · Σ_b w_b·e_bj` (rows added in order, so the result does not depend on the
    /// thread count): the bias's learning signal when its presynaptic activity `w` varies by
    /// example.
    ///
    /// # Shapes
    /// `s: [n]`, `e: [B, n]`, `w: [B]`.
    pub fn weighted_column_sums(
        &self,
        mut s: ArrayViewMut1<'_, f32>,
        e: ArrayView2<'_, f32>,
        w: ArrayView1<'_, f32>,
        scale: f32,
    ) {
        assert_eq!(
            e.nrows(),
            w.len(),
            "weighted_column_sums: one weight per row"
        );
        s.fill(0.0);
        for (row, &wb) in e.axis_iter(Axis(0)).zip(&w) {
            Zip::from(&mut s).and(&row).for_each(|s, &v| *s += wb * v);
        }
        s.mapv_inplace(|v| v * scale);
    }

    /// One exact step of `τ dx/dt = d − x` over `dt` with `q = e^(−dt/τ)`:
    /// `x ← d + (x − d)·q` and `dv ←` the change of x, entry by entry.
    ///
    /// # Shapes
    /// `x`, `dv`, `d`: the same `[B, n]`.
    pub fn relax_toward(
        &self,
        mut x: ArrayViewMut2<'_, f32>,
        mut dv: ArrayViewMut2<'_, f32>,
        d: ArrayView2<'_, f32>,
        q: f32,
    ) {
        self.install(|| {
            Zip::from(&mut x)
                .and(&mut dv)
                .and(&d)
                .par_for_each(|x, dv, &d| {
                    let next = d + (*x - d) * q;
                    *dv = next - *x;
                    *x = next;
                });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;
    use ndarray::{Array1, Array2, array};

    /// The spike count of one neuron over many steps is binomial(n, p) with p = p_max·u/s: its
    /// mean must lie within 5 standard deviations (a wrong rate, e.g. the scale forgotten,
    /// is off by hundreds of them).
    #[test]
    fn spike_counts_are_binomial_at_the_scaled_rate() {
        let dev = Device::cpu(2).unwrap();
        let (rows, steps) = (400, 250);
        // values in [0, s] with s = 4: rates 0, 1/4, 1/2, 1 of p_max = 0.2
        let u = Array2::from_shape_fn((rows, 4), |(_, i)| [0.0, 1.0, 2.0, 4.0][i]);
        let kernel = vec![1.0f32; steps];
        let mut k = Array2::zeros((rows, 5));
        let mut counts = Array1::zeros(rows);
        let mut rng = Seed(1).stream("t");
        spike_kernel_sums(
            &dev,
            &mut rng,
            (u.view(), 0.25, 0.2),
            &kernel,
            k.view_mut(),
            counts.view_mut(),
        );
        let n = (rows * steps) as f64;
        for (i, p) in [0.0, 0.05, 0.1, 0.2, 0.2].into_iter().enumerate() {
            let total: f64 = k.column(i).iter().map(|&v| f64::from(v)).sum();
            let sd = (n * p * (1.0 - p)).sqrt();
            assert!(
                (total - n * p).abs() <= 5.0 * sd,
                "neuron {i}: {total} vs {}",
                n * p
            );
        }
        assert_eq!(k.column(0).sum(), 0.0, "a silent neuron never fires");
        let all: f64 = k.iter().map(|&v| f64::from(v)).sum();
        assert_eq!(counts.sum(), all, "row counts add up to the spikes");
    }

    /// The kernel path and the step-by-step path must draw the same spikes: Σ_n k(n)·S(n) over
    /// the steps of `spike_step` equals `spike_kernel_sums` exactly (same additions, same order).
    #[test]
    fn stepping_draws_the_same_spikes_as_the_kernel_sums() {
        let dev = Device::cpu(2).unwrap();
        let u = Array2::from_shape_fn((7, 5), |(b, i)| ((b * 5 + i) % 6) as f32 / 5.0);
        let kernel: Vec<f32> = (0..20).map(|n| 0.9f32.powi(n)).collect();
        let mut k = Array2::zeros((7, 6));
        let mut counts = Array1::zeros(7);
        spike_kernel_sums(
            &dev,
            &mut Seed(4).stream("t"),
            (u.view(), 1.0, 0.6),
            &kernel,
            k.view_mut(),
            counts.view_mut(),
        );
        let mut gens = vec![Seed(0).stream("x"); 7];
        seed_rows(&mut Seed(4).stream("t"), &mut gens);
        let mut s = Array2::zeros((7, 6));
        let mut step_counts = Array1::zeros(7);
        let mut k2 = Array2::<f32>::zeros((7, 6));
        for &kn in &kernel {
            spike_step(
                &dev,
                &mut gens,
                (u.view(), 1.0, 0.6),
                s.view_mut(),
                step_counts.view_mut(),
            );
            Zip::from(&mut k2).and(&s).for_each(|k, &s| {
                if s == 1.0 {
                    *k += kn;
                }
            });
        }
        assert_eq!(k, k2);
        assert_eq!(counts, step_counts);
        assert!(counts.sum() > 0.0);
    }

    /// A row replayed from the presentation's key has exactly the spikes the step-by-step
    /// draw gave it (same generator, same order), and the same count.
    #[test]
    fn replaying_a_row_gives_the_spikes_it_drew() {
        let dev = Device::cpu(2).unwrap();
        let u = Array2::from_shape_fn((6, 5), |(b, i)| ((b * 5 + i) % 7) as f32 / 6.0);
        let key = fill_key(&mut Seed(9).stream("t"));
        let mut gens = vec![Seed(0).stream("x"); 6];
        seed_rows(&mut Seed(9).stream("t"), &mut gens);
        let (steps, row) = (25, 4);
        let mut s = Array2::zeros((6, 6));
        let mut counts = Array1::zeros(6);
        let mut stepped = Array2::<f32>::zeros((steps, 6));
        for n in 0..steps {
            spike_step(
                &dev,
                &mut gens,
                (u.view(), 1.0, 0.5),
                s.view_mut(),
                counts.view_mut(),
            );
            stepped.row_mut(n).assign(&s.row(row));
        }
        let mut replayed = Array2::<f32>::zeros((steps, 6));
        let count = replay_row(key, row, (u.row(row), 1.0, 0.5), steps, |n, i| {
            replayed[[n, i]] = 1.0;
        });
        assert_eq!(replayed, stepped);
        assert_eq!(count as f64, counts[row]);
        assert!(count > 0);
    }

    #[test]
    fn spikes_do_not_depend_on_the_thread_count() {
        let u = Array2::from_elem((33, 9), 0.5f32);
        let run = |threads| {
            let dev = Device::cpu(threads).unwrap();
            let mut k = Array2::zeros((33, 10));
            let mut c = Array1::zeros(33);
            spike_kernel_sums(
                &dev,
                &mut Seed(2).stream("t"),
                (u.view(), 1.0, 0.3),
                &[1.0, 0.5, 0.25],
                k.view_mut(),
                c.view_mut(),
            );
            k
        };
        assert_eq!(run(1), run(2));
    }

    /// Stepping `τ dx/dt = d − x` from 0 lands on the closed form `d (1 − qⁿ)`, and the steps'
    /// changes add up to it.
    #[test]
    fn relaxation_steps_follow_the_closed_form() {
        let dev = Device::cpu(1).unwrap();
        let d = array![[1.0f32, -2.0]];
        let (mut x, mut dv, mut total) = (Array2::zeros((1, 2)), Array2::zeros((1, 2)), 0.0f32);
        let q = 0.8f32;
        for _ in 0..10 {
            dev.relax_toward(x.view_mut(), dv.view_mut(), d.view(), q);
            total += dv[[0, 1]];
        }
        let expected = 1.0 - q.powi(10);
        assert!((x[[0, 0]] - expected).abs() < 1e-6);
        assert!((x[[0, 1]] + 2.0 * expected).abs() < 1e-6);
        assert!((total - x[[0, 1]]).abs() < 1e-6);
    }

    #[test]
    fn weighted_column_sums_weight_each_row() {
        let dev = Device::cpu(1).unwrap();
        let e = array![[1.0f32, 2.0], [3.0, 4.0]];
        let w = array![0.5f32, 2.0];
        let mut s = Array1::zeros(2);
        dev.weighted_column_sums(s.view_mut(), e.view(), w.view(), 2.0);
        // 2·(0.5·1 + 2·3), 2·(0.5·2 + 2·4)
        assert_eq!(s, array![13.0f32, 18.0]);
    }
}
