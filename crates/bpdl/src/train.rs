//! Variational EM (paper §3–§4, Algorithm 2 TRAIN): for every minibatch x, infer h with the
//! E-step, then let every map learn locally toward the inferred values with the M-step. After the
//! last epoch, fit the top prior p(h_L) to the inferred top codes of the training set.
//!
//! ```text
//! for epoch in 1..=E:
//!     for x in minibatches(train, B, fresh random order):
//!         h ← INFERENCE(x)                       # e_step (N iterations of targetprop)
//!         every map: Θ ← Θ − ε ∂/∂Θ (local loss)  # m_step
//! p(h_L) ← N(mean(h_L), 4·var(h_L)) over the training set
//! ```
//!
//! This module only orchestrates; the mathematics lives in [`crate::inference`] and
//! [`crate::learning`].

use std::time::Instant;

use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::config::{Config, Optimizer, PriorCovariance};
use crate::data::batches::{batches, epoch_order, gather_rows};
use crate::diagnostics::LayerStats;
use crate::error::{Error, Result};
use crate::inference::{self, Evidence, InferenceWorkspace, Posterior};
use crate::learning::{self, LearningWorkspace, ModelOptimizer};
use crate::model::prior::PriorAccumulator;
use crate::model::{GenerativeModel, TopPrior};
use crate::rng::{Rng, Seed};

/// The random streams that advance during training (saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRngs {
    /// Minibatch order.
    pub data: Rng,
    /// M-step corruption.
    pub corruption: Rng,
    /// E-step noise (when `inference.noise_std > 0`).
    pub inference: Rng,
}

/// Everything that evolves during training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// The model.
    pub model: GenerativeModel,
    /// Optimizer state of every map.
    pub optimizer: ModelOptimizer,
    /// Completed epochs.
    pub epochs_done: usize,
    /// Random streams.
    pub rngs: TrainRngs,
}

impl TrainState {
    /// A fresh model for inputs of width `n_x`, initialised from the config's seed.
    pub fn new(config: &Config, n_x: usize) -> Self {
        let seed = Seed(config.seed);
        let model = GenerativeModel::new(n_x, &config.model, &mut seed.stream("init"));
        Self {
            optimizer: ModelOptimizer::new(&config.learning, &model),
            model,
            epochs_done: 0,
            rngs: TrainRngs {
                data: seed.stream("data"),
                corruption: seed.stream("corruption"),
                inference: seed.stream("inference"),
            },
        }
    }
}

/// What one epoch measured (one line of `metrics.jsonl`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// Learning rate of maps without their own.
    pub lr: f64,
    /// Mean `‖g_l(h̃_l) − h_{l−1}‖²` per example, l = 1..L.
    pub loss_decoder: Vec<f64>,
    /// Mean `‖f_l(h̃_{l−1}) − h_l‖²` per example, l = 1..L.
    pub loss_encoder: Vec<f64>,
    /// Mean `log p(x, h) + const` at the feed-forward start of inference.
    pub log_pxh_before: f64,
    /// Mean `log p(x, h) + const` after inference.
    pub log_pxh_after: f64,
    /// Mean `‖h_{l−1} − g_l(h_l)‖²` after inference (index 0: reconstruction of x from h1).
    pub recon: Vec<f64>,
    /// Diagnostics of h_1 … h_L after inference.
    pub layers: Vec<LayerStats>,
    /// Minibatches in the epoch.
    pub minibatches: usize,
}

/// Receives progress; the CLI draws progress bars and writes checkpoints through it.
pub trait TrainObserver {
    /// After each minibatch; `running()` computes the averages of the epoch so far.
    fn minibatch_done(
        &mut self,
        _epoch: usize,
        _done: usize,
        _total: usize,
        _running: &dyn Fn() -> EpochMetrics,
    ) {
    }
    /// After each epoch (state.epochs_done already counts it).
    fn epoch_done(&mut self, metrics: &EpochMetrics, state: &TrainState) -> Result<()>;
    /// After the top prior has been fitted, at the end of training.
    fn prior_fitted(&mut self, _state: &TrainState) -> Result<()> {
        Ok(())
    }
}

/// Trains `state` on `images` (one example per row) until `config.train.epochs` epochs are done,
/// then fits the top prior. Resuming from a checkpoint continues where it stopped, bit for bit.
pub fn train(
    dev: &Device,
    images: ArrayView2<'_, f32>,
    config: &Config,
    state: &mut TrainState,
    observer: &mut (dyn TrainObserver + Send),
) -> Result<()> {
    check_compatible(images, config, state)?;
    let batch = config.train.batch_size;
    let n_batches = images.nrows() / batch;
    if n_batches == 0 {
        return Err(Error::config(
            "train.batch_size",
            format!("larger than the {} training examples", images.nrows()),
        ));
    }
    dev.install(|| {
        let mut buffers = Buffers::new(&state.model, batch, config.learning.optimizer);
        if state.epochs_done < config.train.epochs || !prior_fits(&state.model, config) {
            // the prior describes the final codes: refit it whenever training continues (or
            // another kind of prior is asked for)
            state.model.top_prior = None;
        }
        while state.epochs_done < config.train.epochs {
            let epoch = state.epochs_done;
            let started = Instant::now();
            let rates = learning::learning_rates(&config.model, &config.learning, epoch);
            let order = epoch_order(images.nrows(), &mut state.rngs.data);
            let mut running = Running::new(state.model.depth());
            for (b, rows) in order.chunks_exact(batch).enumerate() {
                let at = |e: Error| locate(e, epoch + 1, b + 1);
                gather_rows(images, rows, buffers.x.view_mut());
                let x = buffers.x.view();
                inference::feed_forward(dev, &state.model, x, &mut buffers.inf, &mut buffers.post)
                    .map_err(at)?;
                let before = buffers.inf.log_pxh().mean().unwrap_or(0.0);
                inference::iterate(
                    dev,
                    &state.model,
                    Evidence::Full(x),
                    &config.inference,
                    &mut buffers.inf,
                    &mut buffers.post,
                    &mut state.rngs.inference,
                    false,
                    None,
                )
                .map_err(at)?;
                running.observe_inference(&state.model, x, &buffers, before);
                let losses = learning::m_step(
                    dev,
                    &mut state.model,
                    x,
                    &buffers.post,
                    &config.model,
                    &config.learning,
                    &rates,
                    &mut buffers.learn,
                    &mut state.optimizer,
                    &mut state.rngs.corruption,
                )
                .map_err(at)?;
                running.observe_losses(losses);
                observer
                    .minibatch_done(epoch + 1, b + 1, n_batches, &|| running.metrics(epoch + 1));
            }
            check_weights(&state.model, epoch + 1)?;
            state.epochs_done += 1;
            let mut metrics = running.metrics(epoch + 1);
            metrics.seconds = started.elapsed().as_secs_f64();
            metrics.lr = config.learning.rate_at(epoch);
            observer.epoch_done(&metrics, state)?;
        }
        if state.model.top_prior.is_none() {
            let prior =
                fit_top_prior(dev, &state.model, images, config, &mut state.rngs.inference)?;
            state.model.top_prior = Some(prior);
            observer.prior_fitted(state)?;
        }
        Ok(())
    })
}

/// p(h_L) = N(mean, scale·var) of the inferred top codes of `images` (paper §8, spec G9).
pub fn fit_top_prior(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    config: &Config,
    rng: &mut Rng,
) -> Result<TopPrior> {
    let batch = config.train.batch_size.min(images.nrows()).max(1);
    let mut acc = PriorAccumulator::new(model.top_size(), config.train.prior_covariance);
    let mut ws = InferenceWorkspace::new(model, batch);
    let mut post = Posterior::zeros(model, batch);
    for rows in batches(images.nrows(), batch) {
        let x = images.slice(s![rows.clone(), ..]);
        ws.ensure(model, rows.len());
        post.ensure(model, rows.len());
        inference::e_step(dev, model, x, &config.inference, &mut ws, &mut post, rng)?;
        acc.add(post.h[model.depth() - 1].view());
    }
    Ok(acc.finish(f64::from(config.train.prior_variance_scale)))
}

/// True when the model has a top prior of the kind `config` asks for.
pub fn prior_fits(model: &GenerativeModel, config: &Config) -> bool {
    model.top_prior.as_ref().is_some_and(|p| {
        p.factor.is_some() == (config.train.prior_covariance == PriorCovariance::Full)
    })
}

/// Buffers of one training loop.
struct Buffers {
    x: Matrix,
    post: Posterior,
    inf: InferenceWorkspace,
    learn: LearningWorkspace,
}

impl Buffers {
    fn new(model: &GenerativeModel, batch: usize, optimizer: Optimizer) -> Self {
        Self {
            x: Matrix::zeros((batch, model.input_size())),
            post: Posterior::zeros(model, batch),
            inf: InferenceWorkspace::new(model, batch),
            learn: LearningWorkspace::new(model, batch, optimizer),
        }
    }
}

/// Running sums over the minibatches of an epoch.
struct Running {
    n: usize,
    sums: EpochMetrics,
}

impl Running {
    fn new(depth: usize) -> Self {
        Self {
            n: 0,
            sums: EpochMetrics {
                loss_decoder: vec![0.0; depth],
                loss_encoder: vec![0.0; depth],
                recon: vec![0.0; depth],
                layers: vec![LayerStats::default(); depth],
                ..EpochMetrics::default()
            },
        }
    }

    fn observe_inference(
        &mut self,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
        b: &Buffers,
        before: f64,
    ) {
        self.n += 1;
        let s = &mut self.sums;
        s.log_pxh_before += before;
        s.log_pxh_after += b.inf.log_pxh().mean().unwrap_or(0.0);
        let batch = x.nrows().max(1) as f64;
        for l in 0..model.depth() {
            let below = if l == 0 { x } else { b.post.h[l - 1].view() };
            let g = b.inf.reconstruction(l);
            let sse: f64 = below
                .iter()
                .zip(g.iter())
                .map(|(&a, &r)| f64::from(a - r).powi(2))
                .sum();
            s.recon[l] += sse / batch;
            let stats = LayerStats::of(b.post.h[l].view(), model.pairs[l].encoder.activation);
            s.layers[l].add_scaled(&stats, 1.0);
        }
    }

    fn observe_losses(&mut self, losses: &learning::MStepLosses) {
        for (s, l) in self.sums.loss_decoder.iter_mut().zip(&losses.decoder) {
            *s += l;
        }
        for (s, l) in self.sums.loss_encoder.iter_mut().zip(&losses.encoder) {
            *s += l;
        }
    }

    fn metrics(&self, epoch: usize) -> EpochMetrics {
        let k = 1.0 / self.n.max(1) as f64;
        let avg = |v: &[f64]| v.iter().map(|x| x * k).collect::<Vec<_>>();
        let s = &self.sums;
        EpochMetrics {
            epoch,
            seconds: 0.0,
            lr: 0.0,
            loss_decoder: avg(&s.loss_decoder),
            loss_encoder: avg(&s.loss_encoder),
            log_pxh_before: s.log_pxh_before * k,
            log_pxh_after: s.log_pxh_after * k,
            recon: avg(&s.recon),
            layers: s
                .layers
                .iter()
                .map(|l| {
                    let mut out = LayerStats::default();
                    out.add_scaled(l, k);
                    out
                })
                .collect(),
            minibatches: self.n,
        }
    }
}

/// The data, the config and the state must belong together (a resumed state keeps its model and
/// optimizer).
fn check_compatible(
    images: ArrayView2<'_, f32>,
    config: &Config,
    state: &TrainState,
) -> Result<()> {
    if images.ncols() != state.model.input_size() {
        return Err(Error::Shape {
            op: "train",
            expected: format!("images of {} values", state.model.input_size()),
            got: format!("images of {} values", images.ncols()),
        });
    }
    let sizes: Vec<usize> = config.model.layers.iter().map(|l| l.size).collect();
    if sizes != state.model.sizes[1..] {
        return Err(Error::config(
            "model.layers",
            format!(
                "sizes {sizes:?} differ from the model being trained ({:?}); a run's model cannot \
                 change",
                &state.model.sizes[1..]
            ),
        ));
    }
    if !state.optimizer.fits(&config.learning, &state.model) {
        return Err(Error::config(
            "learning.optimizer",
            format!(
                "`{:?}` does not match the optimizer state being resumed; keep the run's optimizer",
                config.learning.optimizer
            ),
        ));
    }
    Ok(())
}

fn locate(e: Error, epoch: usize, minibatch: usize) -> Error {
    match e {
        Error::NonFinite { layer, step } => Error::NonFinite {
            layer,
            step: format!("epoch {epoch}, minibatch {minibatch}, {step}"),
        },
        other => other,
    }
}

fn check_weights(model: &GenerativeModel, epoch: usize) -> Result<()> {
    for (i, pair) in model.pairs.iter().enumerate() {
        for (name, map) in [("f", &pair.encoder), ("g", &pair.decoder)] {
            if map
                .weight
                .iter()
                .chain(map.bias.iter())
                .any(|v| !v.is_finite())
            {
                return Err(Error::NonFinite {
                    layer: format!("{name}{} weights", i + 1),
                    step: format!("the end of epoch {epoch}"),
                });
            }
        }
    }
    Ok(())
}
