//! Test and benchmark scaffolding (feature `testing`, and the crate's own unit tests): the
//! paper's model on one minibatch of pixel-like inputs, with buffers to run its E- and M-steps
//! repeatedly. The integration tests and the criterion benches reach it through the crate's
//! dev-dependency on itself with `testing` on.

use ndarray::Array2;
use rand::RngExt;

use crate::backend::{Device, Matrix};
use crate::config::Config;
use crate::flops::{inference_flops, m_step_flops};
use crate::learning;
use crate::model::GenerativeModel;
use crate::rng::Seed;
use crate::train::{Learner, TrainState};

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
    /// The paper's architecture with a random minibatch of `batch` inputs (set
    /// `config.learning.rule` before [`Workload::state`] for the spiking M-step).
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

    /// Buffers and state to run steps repeatedly: a [`Learner`] of the model on the minibatch.
    pub fn state(&self) -> WorkloadState<'_> {
        let batch = self.x.nrows();
        let config = self
            .config
            .clone()
            .validated()
            .expect("the default config is valid");
        let mut state = TrainState::new(&config, self.model.input_size());
        state.model = self.model.clone();
        let mut learner = Learner::new(config, state, batch).expect("built for this model");
        let rows: Vec<usize> = (0..batch).collect();
        learner.load_minibatch(self.x.view(), &rows);
        WorkloadState {
            w: self,
            rates: learning::learning_rates(&self.config.model, &self.config.learning, 0),
            learner,
        }
    }
}

/// Mutable state of a [`Workload`].
#[derive(Debug)]
pub struct WorkloadState<'a> {
    w: &'a Workload,
    learner: Learner,
    rates: learning::Rates,
}

impl WorkloadState<'_> {
    /// One E-step (feed-forward + N iterations) on the minibatch, as training runs it.
    pub fn e_step(&mut self, dev: &Device) {
        // A fresh random model can produce non-finite values only through a bug; benchmarks
        // ignore the result either way.
        let _ = dev.install(|| self.learner.e_step(dev));
    }

    /// One training minibatch: E-step then M-step (the weights do change).
    pub fn train_step(&mut self, dev: &Device) {
        dev.install(|| {
            self.e_step(dev);
            let _ = self.learner.m_step(dev, &self.rates);
        });
    }

    /// One M-step on the minibatch and the h of the last E-step (by `learning.rule`).
    pub fn m_step(&mut self, dev: &Device) {
        dev.install(|| {
            let _ = self.learner.m_step(dev, &self.rates);
        });
    }

    /// The spikes of the last spiking M-step (`None` with the rate rule).
    pub fn spike_counts(&self) -> Option<crate::learning::spiking::SpikeCounts> {
        self.learner.spike_counts()
    }

    /// The spikes, synaptic events and neuron-steps of the last E-step (zero unless
    /// `inference.dynamics = "spiking"`).
    pub fn e_step_spike_tally(&self) -> crate::inference::spiking::SpikeTally {
        self.learner.inference().ws.spike_tally()
    }

    /// The workload this state runs.
    pub fn workload(&self) -> &Workload {
        self.w
    }
}
