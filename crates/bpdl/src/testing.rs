//! Test and benchmark scaffolding (feature `testing`, and the crate's own unit tests): the
//! paper's model on one minibatch of pixel-like inputs, with buffers to run its E- and M-steps
//! repeatedly. The integration tests and the criterion benches reach it through the crate's
//! dev-dependency on itself with `testing` on.

use ndarray::Array2;
use rand::RngExt;

use crate::backend::{Device, Matrix};
use crate::config::Config;
use crate::flops::{inference_flops, m_step_flops};
use crate::inference::{self, InferenceWorkspace, Posterior};
use crate::learning::{self, LearningWorkspace, ModelOptimizer};
use crate::model::GenerativeModel;
use crate::rng::{Rng, Seed};

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
            rates: learning::learning_rates(&self.config.model, &self.config.learning, 0),
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
    rates: learning::Rates,
    rng: Rng,
}

impl WorkloadState<'_> {
    /// One E-step (feed-forward + N iterations) on the minibatch.
    pub fn e_step(&mut self, dev: &Device) {
        // A fresh random model can produce non-finite values only through a bug; benchmarks
        // ignore the result either way.
        let _ = inference::e_step(
            dev,
            &self.model,
            self.w.x.view(),
            &self.w.config.inference,
            &mut self.inf,
            &mut self.post,
            &mut self.rng,
        );
    }

    /// One training minibatch: E-step then M-step (the weights do change).
    pub fn train_step(&mut self, dev: &Device) {
        self.e_step(dev);
        let _ = learning::m_step(
            dev,
            &mut self.model,
            self.w.x.view(),
            &self.post,
            &self.w.config.model,
            &self.w.config.learning,
            &self.rates,
            &mut self.learn,
            &mut self.opt,
            &mut self.rng,
        );
    }
}
