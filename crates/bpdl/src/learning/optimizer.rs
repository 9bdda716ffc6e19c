//! Applying a map's local learning signal to its own weights: plain SGD (the default, gap G1),
//! RMSprop or Adam, each map with its own learning rate and its own optimizer state.
//!
//! ```text
//! SGD:      W ← W − ε·g
//! RMSprop:  v ← ρ·v + (1 − ρ)·g²;                 W ← W − ε·g / (√v + ϵ)
//! Adam:     m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
//!           W ← W − ε·m̂ / (√v̂ + ϵ),  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
//! ```
//!
//! with `g = scale·uᵀe` ([`LocalDelta`]). For SGD the gradient is never materialised: the update
//! is one GEMM accumulating `−ε·scale·uᵀe` straight into W.

use ndarray::{Array1, ArrayView1, ArrayViewMut1, s};

use super::local_delta::LocalDelta;
use crate::backend::optimizer_steps::AdaptiveStep;
use crate::backend::{Device, Matrix};
use crate::config::{LearningConfig, Optimizer};
use crate::model::Map;

/// Scratch space for one map's gradient (not part of the optimizer's state).
#[derive(Debug, Clone)]
pub struct Gradient {
    /// Weight gradient (RMSprop and Adam only; SGD accumulates straight into W).
    pub w: Matrix,
    /// Bias gradient.
    pub b: Array1<f32>,
}

impl Gradient {
    /// Buffers for `map` under `kind`.
    pub fn new(kind: Optimizer, map: &Map) -> Self {
        let w = if kind == Optimizer::Sgd {
            Matrix::zeros((0, 0))
        } else {
            Matrix::zeros(map.weight.dim())
        };
        Self {
            w,
            b: Array1::zeros(map.n_out()),
        }
    }
}

/// Optimizer state of one map (empty moments for SGD).
#[derive(Debug, Clone, PartialEq)]
pub struct MapOptimizer {
    /// First moments (Adam).
    pub m_w: Matrix,
    /// First moments of the bias (Adam).
    pub m_b: Array1<f32>,
    /// Second moments (RMSprop, Adam).
    pub v_w: Matrix,
    /// Second moments of the bias (RMSprop, Adam).
    pub v_b: Array1<f32>,
    /// Number of updates applied.
    pub step: u64,
}

impl MapOptimizer {
    /// Fresh state for `map` under `kind`.
    pub fn new(kind: Optimizer, map: &Map) -> Self {
        let (n_in, n_out) = (map.n_in(), map.n_out());
        let full = |on: bool| {
            if on {
                Matrix::zeros((n_in, n_out))
            } else {
                Matrix::zeros((0, 0))
            }
        };
        let vec = |on: bool| Array1::zeros(if on { n_out } else { 0 });
        let (needs_m, needs_v) = kind.moments();
        Self {
            m_w: full(needs_m),
            m_b: vec(needs_m),
            v_w: full(needs_v),
            v_b: vec(needs_v),
            step: 0,
        }
    }

    /// True when this state has the moments `kind` needs for `map` (a state made for another
    /// optimizer cannot be resumed with this one).
    pub fn fits(&self, kind: Optimizer, map: &Map) -> bool {
        let w = map.weight.dim();
        let b = map.bias.len();
        let (m, v) = kind.moments();
        let ok_w = |x: &Matrix, on: bool| if on { x.dim() == w } else { x.is_empty() };
        let ok_b = |x: &Array1<f32>, on: bool| if on { x.len() == b } else { x.is_empty() };
        ok_w(&self.m_w, m) && ok_b(&self.m_b, m) && ok_w(&self.v_w, v) && ok_b(&self.v_b, v)
    }

    /// Applies one update of `map` from its learning signal with learning rate `lr`, using
    /// `grad` as scratch.
    ///
    /// # Panics
    /// If the state was made for another optimizer or map ([`MapOptimizer::fits`]; the training
    /// loop checks this once and returns an error instead).
    pub fn apply(
        &mut self,
        dev: &Device,
        cfg: &LearningConfig,
        map: &mut Map,
        delta: &LocalDelta<'_>,
        lr: f32,
        grad: &mut Gradient,
    ) {
        assert!(
            self.fits(cfg.optimizer, map) && grad.b.len() == map.n_out(),
            "optimizer state does not fit the map"
        );
        self.step += 1;
        match delta.bias {
            None => dev.column_sums(grad.b.view_mut(), delta.error, delta.scale),
            Some(b) => {
                dev.weighted_column_sums(grad.b.view_mut(), delta.error, b.activity, b.scale)
            }
        }
        match cfg.optimizer {
            Optimizer::Sgd => {
                dev.matmul(
                    -lr * delta.scale,
                    delta.input.t(),
                    delta.error,
                    1.0,
                    map.weight.view_mut(),
                );
                dev.sgd_step(map.bias.view_mut(), grad.b.view(), lr);
            }
            Optimizer::Rmsprop | Optimizer::Adam => {
                dev.matmul(
                    delta.scale,
                    delta.input.t(),
                    delta.error,
                    0.0,
                    grad.w.view_mut(),
                );
                let g = grad.w.as_slice().expect("standard layout");
                let gb = grad.b.as_slice().expect("contiguous");
                self.adaptive_step(dev, cfg, map, (g, gb), lr);
            }
        }
    }

    /// Applies one update of `map` from a gradient already summed into `acc: [n_in + 1, n_out]`
    /// (rows `0..n_in`: the weights, row `n_in`: the bias), scaled first in place to
    /// `(scales.0 · acc_W, scales.1 · acc_b)`: the spiking rule's per-step accumulation of Eq. 1
    /// ([`crate::learning::spiking`]).
    ///
    /// # Panics
    /// As [`MapOptimizer::apply`], and if `acc` is not `[n_in + 1, n_out]`.
    pub fn apply_accumulated(
        &mut self,
        dev: &Device,
        cfg: &LearningConfig,
        map: &mut Map,
        acc: &mut Matrix,
        scales: (f32, f32),
        lr: f32,
    ) {
        let n_in = map.n_in();
        assert!(
            self.fits(cfg.optimizer, map) && acc.dim() == (n_in + 1, map.n_out()),
            "optimizer state or gradient does not fit the map"
        );
        self.step += 1;
        dev.scale_matrix(acc.slice_mut(s![..n_in, ..]), scales.0);
        dev.scale_matrix(acc.slice_mut(s![n_in.., ..]), scales.1);
        let g = acc.as_slice().expect("standard layout");
        let (g, gb) = g.split_at(n_in * map.n_out());
        match cfg.optimizer {
            Optimizer::Sgd => {
                dev.sgd_step(
                    ArrayViewMut1::from(slice(&mut map.weight)),
                    ArrayView1::from(g),
                    lr,
                );
                dev.sgd_step(map.bias.view_mut(), ArrayView1::from(gb), lr);
            }
            Optimizer::Rmsprop | Optimizer::Adam => self.adaptive_step(dev, cfg, map, (g, gb), lr),
        }
    }

    /// RMSprop or Adam on the weights and the bias from their gradients `(g, gb)`, at step
    /// `self.step`.
    fn adaptive_step(
        &mut self,
        dev: &Device,
        cfg: &LearningConfig,
        map: &mut Map,
        (g, gb): (&[f32], &[f32]),
        lr: f32,
    ) {
        let k = step_constants(cfg, lr, self.step);
        let w = slice(&mut map.weight);
        let b = map.bias.as_slice_mut().expect("contiguous");
        let (m_b, v_b) = (&mut self.m_b, &mut self.v_b);
        if cfg.optimizer == Optimizer::Rmsprop {
            dev.rmsprop_step(w, g, slice(&mut self.v_w), &k);
            dev.rmsprop_step(b, gb, v_b.as_slice_mut().expect("contiguous"), &k);
        } else {
            dev.adam_step(w, g, slice(&mut self.m_w), slice(&mut self.v_w), &k);
            let (m_b, v_b) = (m_b.as_slice_mut(), v_b.as_slice_mut());
            dev.adam_step(
                b,
                gb,
                m_b.expect("contiguous"),
                v_b.expect("contiguous"),
                &k,
            );
        }
    }
}

fn slice(m: &mut Matrix) -> &mut [f32] {
    m.as_slice_mut()
        .expect("owned matrices are in standard layout")
}

/// The constants of step `step` (1-based) at learning rate `lr`.
fn step_constants(cfg: &LearningConfig, lr: f32, step: u64) -> AdaptiveStep {
    let t = step.min(i32::MAX as u64) as i32;
    AdaptiveStep {
        lr,
        rho: cfg.rmsprop_decay as f32,
        beta1: cfg.adam_beta1 as f32,
        beta2: cfg.adam_beta2 as f32,
        eps: cfg.optimizer_eps as f32,
        correction1: (1.0 - cfg.adam_beta1.powi(t)) as f32,
        correction2: (1.0 - cfg.adam_beta2.powi(t)) as f32,
    }
}
