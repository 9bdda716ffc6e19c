//! Workloads for benchmarks (`bpdl bench`, the criterion benches): the paper's model on one
//! minibatch, with the floating-point operation counts that turn times into GFLOP/s.
//!
//! FLOP are counted as 2·m·n·k per GEMM `[m, k]·[k, n]` (one multiply-add = 2 FLOP); the
//! elementwise work (non-linearities, noise, updates) is not counted, so the ratio of a step's
//! GFLOP/s to the GEMM's measures how much the rest costs.

use ndarray::Array2;
use rand::RngExt;

use crate::backend::{Device, Matrix};
use crate::config::Config;
use crate::inference::{self, Evidence, InferenceWorkspace, Posterior};
use crate::learning::{self, LearningWorkspace, ModelOptimizer};
use crate::model::GenerativeModel;
use crate::rng::{Rng, Seed};

/// FLOP of one GEMM `[m, k]·[k, n]`.
pub fn gemm_flops(m: usize, k: usize, n: usize) -> f64 {
    2.0 * m as f64 * k as f64 * n as f64
}

/// FLOP of INFERENCE on a minibatch: the feed-forward start (every f_l and g_l once) plus
/// `steps` iterations (per layer: g_l, f_l∘g_l, and f_l of the layer below above the first).
pub fn inference_flops(model: &GenerativeModel, batch: usize, steps: usize) -> f64 {
    let s = &model.sizes;
    let per_map = |l: usize| gemm_flops(batch, s[l - 1], s[l]);
    let depth = model.depth();
    let start: f64 = (1..=depth).map(|l| 2.0 * per_map(l)).sum();
    let iteration: f64 = (1..=depth)
        .map(|l| per_map(l) * if l >= 2 { 3.0 } else { 2.0 })
        .sum();
    start + steps as f64 * iteration
}

/// FLOP of the M-step on a minibatch: per map, the forward pass and the weight gradient.
pub fn m_step_flops(model: &GenerativeModel, batch: usize) -> f64 {
    let s = &model.sizes;
    (1..=model.depth())
        .map(|l| 2.0 * 2.0 * gemm_flops(batch, s[l - 1], s[l]))
        .sum()
}

/// The paper's model and a minibatch of pixel-like inputs.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The run configuration (the paper's defaults).
    pub config: Config,
    /// A freshly initialised model.
    pub model: GenerativeModel,
    /// `[batch, 784]` inputs in [0, 1].
    pub x: Matrix,
}

impl Workload {
    /// The paper's architecture with a random minibatch of `batch` inputs.
    pub fn paper(batch: usize) -> Self {
        let config = Config::default();
        let seed = Seed(config.seed);
        let model = GenerativeModel::new(784, &config.model, &mut seed.stream("init"));
        let mut r = seed.stream("bench-data");
        let x = Array2::from_shape_simple_fn((batch, 784), || {
            // MNIST-like: mostly background, some ink
            if r.random::<f32>() < 0.8 {
                0.0
            } else {
                r.random::<f32>()
            }
        });
        Self { config, model, x }
    }

    /// FLOP of one E-step.
    pub fn inference_flops(&self) -> f64 {
        inference_flops(&self.model, self.x.nrows(), self.config.inference.steps)
    }

    /// FLOP of one training minibatch (E-step + M-step).
    pub fn train_flops(&self) -> f64 {
        self.inference_flops() + m_step_flops(&self.model, self.x.nrows())
    }

    /// Buffers and state to run steps repeatedly.
    pub fn state(&self) -> WorkloadState<'_> {
        let batch = self.x.nrows();
        WorkloadState {
            w: self,
            model: self.model.clone(),
            post: Posterior::zeros(&self.model, batch),
            inf: InferenceWorkspace::new(&self.model, batch),
            learn: LearningWorkspace::new(&self.model, batch, self.config.learning.optimizer),
            opt: ModelOptimizer::new(&self.config.learning, &self.model),
            rng: Seed(7).stream("bench"),
        }
    }
}

/// Mutable state of a [`Workload`].
#[derive(Debug)]
pub struct WorkloadState<'a> {
    w: &'a Workload,
    model: GenerativeModel,
    post: Posterior,
    inf: InferenceWorkspace,
    learn: LearningWorkspace,
    opt: ModelOptimizer,
    rng: Rng,
}

impl WorkloadState<'_> {
    /// One E-step (feed-forward + N iterations) on the minibatch.
    pub fn e_step(&mut self, dev: &Device) {
        let x = self.w.x.view();
        inference::feed_forward(dev, &self.model, x, &mut self.inf, &mut self.post);
        // A fresh random model can produce non-finite values only through a bug; benchmarks
        // ignore the result either way.
        let _ = inference::iterate(
            dev,
            &self.model,
            Evidence::Full(x),
            &self.w.config.inference,
            &mut self.inf,
            &mut self.post,
            &mut self.rng,
            false,
            None,
        );
    }

    /// One training minibatch: E-step then M-step (the weights do change).
    pub fn train_step(&mut self, dev: &Device) {
        self.e_step(dev);
        let rates = learning::learning_rates(&self.w.config.model, &self.w.config.learning, 0);
        let _ = learning::m_step(
            dev,
            &mut self.model,
            self.w.x.view(),
            &self.post,
            &self.w.config.model,
            &self.w.config.learning,
            &rates,
            &mut self.learn,
            &mut self.opt,
            &mut self.rng,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimate: ≈ 0.39 GFLOP per iteration and ≈ 6.6 GFLOP per training minibatch.
    #[test]
    fn paper_minibatch_flop_counts_match_a_hand_count() {
        let w = Workload::paper(100);
        // per iteration: g1, f1∘g1 (2 × 2·100·784·1000) + g2, f2∘g2, f2(h1) (3 × 2·100·1000·100)
        let iteration = 2.0 * 156.8e6 + 3.0 * 20e6;
        let start = 2.0 * 156.8e6 + 2.0 * 20e6;
        assert!((w.inference_flops() - (start + 15.0 * iteration)).abs() < 1.0);
        let m_step = 4.0 * 156.8e6 + 4.0 * 20e6;
        assert!((w.train_flops() - w.inference_flops() - m_step).abs() < 1.0);
        assert!((w.train_flops() / 1e9 - 6.65).abs() < 0.05);
    }
}
