//! The kernels of the spiking E-step ([`crate::inference::spiking`]): every example's network
//! of spiking populations simulated step by step, its synaptic currents accumulated event by
//! event (one presynaptic spike adds one row of W to the currents of the neurons it reaches).
//!
//! ```text
//! populations:  x (or x completed by R_1 when in-painting), h_1 … h_L, R_l = g_l(h_l)
//! spike:        S_i(n) ~ Bernoulli(p_max · clip(v_i / s, 0, 1))
//! currents:     I ← q·I + (1 − q)·(b + (s / p_max)·Σ_{i fired} W_i)        E[I] = clip(v)·W + b
//! rates:        R_l = φ_g(I_g,l),  A_l = φ_f(I_bottom-up,l),  B_l = φ_f(I_refeed,l)
//! membranes:    h_l ← h_l + δ'·(A_l − B_l) + α'·(R_{l+1} − h_l)      (δ' = δ/M, α' = α/M)
//! ```
//!
//! The examples of a minibatch are independent networks: every row runs all its steps on one
//! thread with its own generator, drawing in a fixed order (the populations x, h_1 … h_L, R_1 …
//! R_L, each neuron in order), so the result does not depend on the thread count. A neuron
//! whose rate is 0 draws nothing. Each row's state lives in one contiguous buffer laid out by
//! [`SpikingLayout`].

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};

use super::Device;
use super::spikes::fires;
use crate::activation::Activation;
use crate::model::LayerPair;
use crate::rng::Rng;

/// Where each map's currents and each layer's values sit in a row of the state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpikingLayout {
    /// Per layer pair l (`f_l: v_l → h_{l+1}`, `g_l: h_{l+1} → v_l`).
    pub parts: Vec<PairOffsets>,
    /// Offset of x as the network sees it (x, or x completed by R_1).
    pub x: usize,
    /// Width of a row.
    pub width: usize,
}

/// The offsets of one layer pair's entries in a state row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairOffsets {
    /// `I_f`, the current of f_l from the layer below (`n_{l+1}`).
    pub bottom_up: usize,
    /// `I_f`, the current of f_l from the reconstruction neurons R_l (`n_{l+1}`).
    pub refeed: usize,
    /// `I_g`, the current of g_l from h_{l+1} (`n_l`).
    pub decoder: usize,
    /// `R_l = φ_g(I_g)`, the reconstruction neurons' values (`n_l`).
    pub recon: usize,
    /// `h_{l+1}` (`n_{l+1}`).
    pub h: usize,
}

impl SpikingLayout {
    /// The width of a row for layer sizes `sizes` (without building the layout).
    pub fn width_for(sizes: &[usize]) -> usize {
        let pairs: usize = sizes.windows(2).map(|w| 3 * w[1] + 2 * w[0]).sum();
        pairs + sizes.first().copied().unwrap_or(0)
    }

    /// The layout for a model of layer sizes `sizes` (`n_0 … n_L`).
    pub fn new(sizes: &[usize]) -> Self {
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            at - n
        };
        let parts = sizes
            .windows(2)
            .map(|w| PairOffsets {
                bottom_up: take(w[1]),
                refeed: take(w[1]),
                decoder: take(w[0]),
                recon: take(w[0]),
                h: take(w[1]),
            })
            .collect();
        let x = take(sizes.first().copied().unwrap_or(0));
        Self {
            parts,
            x,
            width: at,
        }
    }
}

/// The constants of the simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikingConstants {
    /// `p_max = ρ_max·dt`.
    pub p_max: f32,
    /// `q = e^(−dt/τ_s)`.
    pub decay: f32,
    /// δ/M for h_1 and for the layers above.
    pub delta_step: (f32, f32),
    /// α/M.
    pub alpha_step: f32,
    /// s of the layers not bounded to [0, 1].
    pub unbounded_scale: f32,
    /// M, the time steps of one call of [`Device::spiking_inference_steps`] (one iteration).
    pub steps: usize,
}

/// Every example's network: its currents and values, its generator, and its tally of spikes
/// fired and synaptic events delivered.
#[derive(Debug)]
pub struct SpikingRows<'a> {
    /// `[B, layout.width]`, laid out by [`SpikingLayout`].
    pub state: ArrayViewMut2<'a, f32>,
    /// One generator per example, `[B]`.
    pub gens: &'a mut [Rng],
    /// Per example `(spikes, events)`, added to, `[B, 2]`.
    pub counts: ArrayViewMut2<'a, f64>,
}

/// The value firing at the full rate in layer k (0 = x): 1 for x and sigmoid layers, else s.
fn layer_scale(pairs: &[LayerPair], k: usize, unbounded: f32) -> f32 {
    match k.checked_sub(1).map(|l| pairs[l].encoder.activation) {
        None | Some(Activation::Sigmoid) => 1.0,
        Some(_) => unbounded,
    }
}

/// The per-row loops, each compiled for AVX-512, AVX2 and the baseline and chosen at run time
/// (`dispatch!`). The arithmetic is the same in every copy (no fused multiply-adds), so the
/// results are bit-identical whichever runs. Plain indexing, as in `elementwise`: an iterator
/// adapter may not be inlined into the feature-enabled copies.
mod kernels {
    use crate::activation::Activation;
    use crate::backend::fastmath::dispatch;

    dispatch! {
        /// `y ← y + c·w`.
        pub fn axpy(y: &mut [f32], w: &[f32], c: f32) {
            let n = y.len().min(w.len());
            let (y, w) = (&mut y[..n], &w[..n]);
            for j in 0..n {
                y[j] += c * w[j];
            }
        }
    }

    dispatch! {
        /// `v ← q·v + (1 − q)·b`.
        pub fn decay(v: &mut [f32], b: &[f32], q: f32) {
            let n = v.len().min(b.len());
            let (v, b) = (&mut v[..n], &b[..n]);
            for j in 0..n {
                v[j] = q * v[j] + (1.0 - q) * b[j];
            }
        }
    }

    dispatch! {
        /// `y[j] = φ(x[j])`.
        pub fn activation(y: &mut [f32], x: &[f32], act: Activation) {
            let n = y.len().min(x.len());
            let (y, x) = (&mut y[..n], &x[..n]);
            match act {
                Activation::Sigmoid => for j in 0..n { y[j] = Activation::Sigmoid.apply(x[j]); },
                Activation::Softplus => for j in 0..n { y[j] = Activation::Softplus.apply(x[j]); },
                _ => for j in 0..n { y[j] = act.apply(x[j]); },
            }
        }
    }

    dispatch! {
        /// The membranes of one layer: `h ← h + δ·(φ(a) − φ(b)) + α·(r − h)`, or without the
        /// top-down term (`+ 0`) when `r` is empty (the top layer).
        pub fn membranes(h: &mut [f32], a: &[f32], b: &[f32], r: &[f32], delta: f32, alpha: f32, act: Activation) {
            let n = h.len().min(a.len()).min(b.len());
            let (h, a, b) = (&mut h[..n], &a[..n], &b[..n]);
            macro_rules! each {
                ($phi:expr) => {
                    if r.len() >= n {
                        let r = &r[..n];
                        for j in 0..n {
                            let hj = h[j];
                            h[j] = hj + delta * ($phi(a[j]) - $phi(b[j])) + alpha * (r[j] - hj);
                        }
                    } else {
                        for j in 0..n {
                            h[j] = h[j] + delta * ($phi(a[j]) - $phi(b[j])) + 0.0;
                        }
                    }
                };
            }
            match act {
                Activation::Sigmoid => each!(|v| Activation::Sigmoid.apply(v)),
                Activation::Softplus => each!(|v| Activation::Softplus.apply(v)),
                _ => each!(|v| act.apply(v)),
            }
        }
    }
}

use kernels::axpy;

/// `I ← b + Σ_i clip(v_i, 0, s)·W_i` (the current's steady state for constant values v).
fn steady_current(
    row: &mut [f32],
    (src, n_in): (usize, usize),
    dst: usize,
    w: &[f32],
    b: &[f32],
    s: f32,
) {
    let n_out = b.len();
    row[dst..dst + n_out].copy_from_slice(b);
    for i in 0..n_in {
        let v = row[src + i].clamp(0.0, s);
        if v != 0.0 {
            axpy(
                &mut row[dst..dst + n_out],
                &w[i * n_out..(i + 1) * n_out],
                v,
            );
        }
    }
}

/// `y_i ← φ(I_i)` from `src` into `dst` (n entries; the two ranges do not overlap).
fn rates(row: &mut [f32], src: usize, dst: usize, n: usize, act: Activation) {
    if src < dst {
        let (a, b) = row.split_at_mut(dst);
        kernels::activation(&mut b[..n], &a[src..src + n], act);
    } else {
        let (a, b) = row.split_at_mut(src);
        kernels::activation(&mut a[dst..dst + n], &b[..n], act);
    }
}

/// The weights of a map as one row-major slice (`[n_in, n_out]`).
fn weights(w: &crate::backend::Matrix) -> &[f32] {
    w.as_slice()
        .expect("a map's weights are owned, row-major matrices")
}

/// x as the network sees it: x where visible, else R_1's value (in-painting, paper §8).
fn fill_x(row: &mut [f32], layout: &SpikingLayout, x: &[f32], visible: Option<&[f32]>) {
    let n = x.len();
    match visible {
        None => row[layout.x..layout.x + n].copy_from_slice(x),
        Some(vis) => {
            let r = layout.parts[0].recon;
            for i in 0..n {
                row[layout.x + i] = if vis[i] != 0.0 { x[i] } else { row[r + i] };
            }
        }
    }
}

/// One population's spikes in one step: each neuron i of values `row[src..src + n]` fires with
/// probability `p_max·clip(v_i/s, 0, 1)`; a spike adds `c·W_i` to the current at each target
/// (`(weights, offset)`). Returns (spikes, delivered events).
fn deliver(
    r: &mut Rng,
    row: &mut [f32],
    (src, n, s): (usize, usize, f32),
    p_max: f32,
    c: f32,
    targets: [Option<(&[f32], usize)>; 2],
) -> (f64, f64) {
    let (mut spikes, mut events) = (0.0, 0.0);
    let inv = p_max / s;
    for i in 0..n {
        let p = (row[src + i] * inv).min(p_max);
        if p > 0.0 && fires(r, p) {
            spikes += 1.0;
            for (w, dst) in targets.iter().flatten() {
                let n_out = w.len() / n;
                axpy(
                    &mut row[*dst..*dst + n_out],
                    &w[i * n_out..(i + 1) * n_out],
                    c,
                );
                events += n_out as f64;
            }
        }
    }
    (spikes, events)
}

/// `I ← q·I + (1 − q)·b`.
fn decay(row: &mut [f32], dst: usize, b: &[f32], q: f32) {
    kernels::decay(&mut row[dst..dst + b.len()], b, q);
}

impl Device {
    /// Sets every current of every row to its steady state for the row's present values (h as
    /// stored in the state, x, and the reconstruction values they imply): the network as if x
    /// had been shown, and h held, for a long time. Then x as the network sees it is filled.
    ///
    /// # Shapes
    /// `state: [B, layout.width]`, `x` and `visible`: `[B, n_0]`.
    pub fn spiking_inference_start(
        &self,
        pairs: &[LayerPair],
        layout: &SpikingLayout,
        unbounded_scale: f32,
        mut state: ArrayViewMut2<'_, f32>,
        (x, visible): (ArrayView2<'_, f32>, Option<ArrayView2<'_, f32>>),
    ) {
        let vis = visible.unwrap_or(x);
        self.install(|| {
            Zip::from(state.axis_iter_mut(Axis(0)))
                .and(x.axis_iter(Axis(0)))
                .and(vis.axis_iter(Axis(0)))
                .par_for_each(|mut row, x, v| {
                    let row = row.as_slice_mut().expect("owned rows are contiguous");
                    let x = x.to_slice().expect("x rows are contiguous");
                    let v = visible.map(|_| v.to_slice().expect("mask rows are contiguous"));
                    for (l, (pair, o)) in pairs.iter().zip(&layout.parts).enumerate() {
                        let (g, n_in) = (&pair.decoder, pair.decoder.n_in());
                        let s = layer_scale(pairs, l + 1, unbounded_scale);
                        steady_current(
                            row,
                            (o.h, n_in),
                            o.decoder,
                            weights(&g.weight),
                            g.bias.as_slice().expect("contiguous bias"),
                            s,
                        );
                        rates(row, o.decoder, o.recon, g.n_out(), g.activation);
                    }
                    fill_x(row, layout, x, v);
                    for (l, (pair, o)) in pairs.iter().zip(&layout.parts).enumerate() {
                        let f = &pair.encoder;
                        let (w, b) = (
                            weights(&f.weight),
                            f.bias.as_slice().expect("contiguous bias"),
                        );
                        let s = layer_scale(pairs, l, unbounded_scale);
                        let below = if l == 0 {
                            layout.x
                        } else {
                            layout.parts[l - 1].h
                        };
                        steady_current(row, (below, f.n_in()), o.bottom_up, w, b, s);
                        steady_current(row, (o.recon, f.n_in()), o.refeed, w, b, s);
                    }
                });
        });
    }

    /// `k.steps` time steps of every row's network (module doc): decay the currents, deliver
    /// the spikes of every population, update the reconstruction neurons and x as seen, then
    /// every h membrane. Adds each row's spikes and delivered events to `rows.counts[b] =
    /// (spikes, events)`.
    ///
    /// # Shapes
    /// `x` and `visible`: `[B, n_0]`; `rows` as documented in [`SpikingRows`].
    pub fn spiking_inference_steps(
        &self,
        (pairs, layout): (&[LayerPair], &SpikingLayout),
        k: &SpikingConstants,
        rows: SpikingRows<'_>,
        (x, visible): (ArrayView2<'_, f32>, Option<ArrayView2<'_, f32>>),
    ) {
        let SpikingRows {
            mut state,
            gens,
            mut counts,
        } = rows;
        let steps = k.steps;
        assert_eq!(
            (state.nrows(), state.ncols(), gens.len(), counts.dim()),
            (x.nrows(), layout.width, x.nrows(), (x.nrows(), 2)),
            "spiking_inference_steps shapes"
        );
        let vis = visible.unwrap_or(x);
        let depth = pairs.len();
        let gens = ndarray::ArrayViewMut1::from(gens);
        self.install(|| {
            Zip::from(state.axis_iter_mut(Axis(0)))
                .and(x.axis_iter(Axis(0)))
                .and(vis.axis_iter(Axis(0)))
                .and(counts.axis_iter_mut(Axis(0)))
                .and(gens)
                .par_for_each(|mut row, x, v, mut count, r| {
                    let row = row.as_slice_mut().expect("owned rows are contiguous");
                    let x = x.to_slice().expect("x rows are contiguous");
                    let v = visible.map(|_| v.to_slice().expect("mask rows are contiguous"));
                    let c1 = 1.0 - k.decay;
                    let (mut spikes, mut events) = (0.0, 0.0);
                    for _ in 0..steps {
                        for (pair, o) in pairs.iter().zip(&layout.parts) {
                            let fb = pair.encoder.bias.as_slice().expect("contiguous bias");
                            decay(row, o.bottom_up, fb, k.decay);
                            decay(row, o.refeed, fb, k.decay);
                            let gb = pair.decoder.bias.as_slice().expect("contiguous bias");
                            decay(row, o.decoder, gb, k.decay);
                        }
                        let mut add = |(s, e): (f64, f64)| {
                            spikes += s;
                            events += e;
                        };
                        // x → f_1
                        let f0 = weights(&pairs[0].encoder.weight);
                        let n0 = pairs[0].encoder.n_in();
                        let c = c1 / k.p_max;
                        add(deliver(
                            r,
                            row,
                            (layout.x, n0, 1.0),
                            k.p_max,
                            c,
                            [Some((f0, layout.parts[0].bottom_up)), None],
                        ));
                        // h_{l+1} → g_l and f_{l+1}
                        for l in 0..depth {
                            let s = layer_scale(pairs, l + 1, k.unbounded_scale);
                            let o = layout.parts[l];
                            let g = (weights(&pairs[l].decoder.weight), o.decoder);
                            let up = (l + 1 < depth).then(|| {
                                (
                                    weights(&pairs[l + 1].encoder.weight),
                                    layout.parts[l + 1].bottom_up,
                                )
                            });
                            add(deliver(
                                r,
                                row,
                                (o.h, pairs[l].decoder.n_in(), s),
                                k.p_max,
                                c1 * s / k.p_max,
                                [Some(g), up],
                            ));
                        }
                        // R_l → f_l
                        for l in 0..depth {
                            let s = layer_scale(pairs, l, k.unbounded_scale);
                            let o = layout.parts[l];
                            let f = (weights(&pairs[l].encoder.weight), o.refeed);
                            add(deliver(
                                r,
                                row,
                                (o.recon, pairs[l].encoder.n_in(), s),
                                k.p_max,
                                c1 * s / k.p_max,
                                [Some(f), None],
                            ));
                        }
                        for (pair, o) in pairs.iter().zip(&layout.parts) {
                            rates(
                                row,
                                o.decoder,
                                o.recon,
                                pair.decoder.n_out(),
                                pair.decoder.activation,
                            );
                        }
                        if v.is_some() {
                            fill_x(row, layout, x, v);
                        }
                        // the membranes, all layers at once
                        for (l, (pair, o)) in pairs.iter().zip(&layout.parts).enumerate() {
                            let f = pair.encoder.activation;
                            let delta = if l == 0 {
                                k.delta_step.0
                            } else {
                                k.delta_step.1
                            };
                            let n = pair.encoder.n_out();
                            // the layout puts f_l's currents before h_l, and R_{l+1} after it
                            let (below, rest) = row.split_at_mut(o.h);
                            let (h, after) = rest.split_at_mut(n);
                            let r: &[f32] = match (l + 1 < depth).then(|| layout.parts[l + 1].recon)
                            {
                                Some(a) => &after[a - o.h - n..a - o.h],
                                None => &[],
                            };
                            kernels::membranes(
                                h,
                                &below[o.bottom_up..o.bottom_up + n],
                                &below[o.refeed..o.refeed + n],
                                r,
                                delta,
                                k.alpha_step,
                                f,
                            );
                        }
                    }
                    count[0] += spikes;
                    count[1] += events;
                });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_tiles_a_row_without_overlap() {
        let sizes = [784, 1000, 100];
        let l = SpikingLayout::new(&sizes);
        assert_eq!(l.width, SpikingLayout::width_for(&sizes));
        let mut spans: Vec<(usize, usize)> = l
            .parts
            .iter()
            .zip(sizes.windows(2))
            .flat_map(|(o, w)| {
                [
                    (o.bottom_up, w[1]),
                    (o.refeed, w[1]),
                    (o.decoder, w[0]),
                    (o.recon, w[0]),
                    (o.h, w[1]),
                ]
            })
            .chain([(l.x, sizes[0])])
            .collect();
        spans.sort();
        let mut at = 0;
        for (start, n) in spans {
            assert_eq!(start, at);
            at += n;
        }
        assert_eq!(at, l.width);
    }
}
