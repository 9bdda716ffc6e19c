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
//! This module only orchestrates ([`Learner::e_step`], [`Learner::m_step`]); the mathematics
//! lives in [`crate::inference`] and [`crate::learning`], the running averages of an epoch in
//! [`crate::diagnostics`].

use std::time::Instant;

use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::config::{ConditionalVariance, Config, LearningRule, PriorCovariance, ValidConfig};
use crate::data::batches::{batches, epoch_order, gather_rows};
pub use crate::diagnostics::EpochMetrics;
use crate::diagnostics::EpochRunning;
use crate::error::{Error, Result};
use crate::inference::{EStepSummary, Evidence, Inference, LabelEvidence};
use crate::learning::{self, LearningWorkspace, MStep, MStepLosses, ModelOptimizer, Rates};
use crate::model::lateral::LateralPrior;
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
    /// The presynaptic spikes of the spiking M-step (`learning.rule = "spiking"`): the stream
    /// `"spikes"` of the seed, started by the first spiking run ([`Learner::new`]); absent from
    /// rate runs and from checkpoints written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spikes: Option<Rng>,
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
    /// The in-network STDP window recorded so far (`learning.spiking.window_synapses > 0`,
    /// [`learning::stdp_window`]); saved in checkpoints so that a resumed run continues it.
    pub stdp_window: Option<learning::stdp_window::WindowSums>,
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
                spikes: None,
            },
            stdp_window: None,
        }
    }
}

/// Receives progress of [`train`]; [`crate::run::train_in_dir`] writes metrics and checkpoints
/// through it (and hands the events on to a [`crate::run::RunObserver`]).
pub trait TrainObserver {
    /// After each minibatch; `running()` computes the averages of the epoch so far. An error
    /// (typically [`Error::Interrupted`]) stops training there; the state is left where it
    /// stopped and nothing of the unfinished epoch is saved.
    fn minibatch_done(
        &mut self,
        _epoch: usize,
        _done: usize,
        _total: usize,
        _running: &dyn Fn() -> EpochMetrics,
    ) -> Result<()> {
        Ok(())
    }
    /// After each epoch (state.epochs_done already counts it).
    fn epoch_done(&mut self, _metrics: &EpochMetrics, _state: &TrainState) -> Result<()> {
        Ok(())
    }
    /// After the top prior has been fitted, at the end of training.
    fn prior_fitted(&mut self, _state: &TrainState) -> Result<()> {
        Ok(())
    }
}

/// Training without an observer: `train(dev, images, &config, &mut state, &mut ())`.
impl TrainObserver for () {}

/// Trains `state` on `images` (one example per row) until `config.train.epochs` epochs are done,
/// then fits the top prior. Resuming from a checkpoint continues where it stopped, bit for bit.
pub fn train(
    dev: &Device,
    images: ArrayView2<'_, f32>,
    config: &Config,
    state: &mut TrainState,
    observer: &mut (dyn TrainObserver + Send),
) -> Result<()> {
    train_with_heldout(dev, images, None, config, state, observer)
}

/// [`train`], and after every epoch INFERENCE with the training settings on `heldout` images,
/// recorded in [`EpochMetrics::heldout`].
pub fn train_with_heldout(
    dev: &Device,
    images: ArrayView2<'_, f32>,
    heldout: Option<ArrayView2<'_, f32>>,
    config: &Config,
    state: &mut TrainState,
    observer: &mut (dyn TrainObserver + Send),
) -> Result<()> {
    train_examples(dev, images, heldout, None, config, state, observer)
}

/// The labels of supervised and semi-supervised training (`supervised.enabled`): one per
/// training image and, optionally, one per held-out image (for the per-epoch validation error).
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// The class (0–9) of every training image; with `supervised.labels = N` only N of them,
    /// balanced across classes, are used ([`crate::data::labelled`]).
    pub train: &'a [u8],
    /// The class of every held-out image.
    pub heldout: Option<&'a [u8]>,
}

/// [`train_with_heldout`] with labels: required when `supervised.enabled` (the top layer is then
/// the label, clamped in the E-step), ignored otherwise.
pub fn train_examples(
    dev: &Device,
    images: ArrayView2<'_, f32>,
    heldout: Option<ArrayView2<'_, f32>>,
    labels: Option<Labels<'_>>,
    config: &Config,
    state: &mut TrainState,
    observer: &mut (dyn TrainObserver + Send),
) -> Result<()> {
    let config = config.clone().validated()?;
    let labels = match (config.supervised.enabled, labels) {
        (false, _) => None,
        (true, None) => {
            return Err(Error::Usage(
                "supervised.enabled = true needs the labels of the training images; train from a \
                 labelled dataset"
                    .into(),
            ));
        }
        (true, Some(l)) => {
            crate::data::labelled::check_labels("training labels", l.train, images.nrows())?;
            if let (Some(h), Some(hl)) = (heldout, l.heldout) {
                crate::data::labelled::check_labels("held-out labels", hl, h.nrows())?;
            }
            Some(l)
        }
    };
    let batch = config.train.batch_size;
    let n_batches = images.nrows() / batch;
    if n_batches == 0 {
        return Err(Error::config(
            "train.batch_size",
            format!("larger than the {} training examples", images.nrows()),
        ));
    }
    check_input_width(images, state)?;
    if state.epochs_done < config.train.epochs || !prior_fits(&state.model, &config) {
        // the prior describes the final codes: refit it whenever training continues (or another
        // kind of prior is asked for)
        state.model.top_prior = None;
    }
    let mut learner = Learner::new(config, state.clone(), batch)?;
    let plan = match labels {
        Some(l) => Some(SupervisedPlan::new(&learner.config, l)?),
        None => None,
    };
    let result = dev.install(|| learner.train_epochs(dev, images, heldout, plan, observer));
    // whatever happened, the caller's state is where training stopped
    *state = learner.into_state();
    result
}

/// The learner of Algorithm 2 TRAIN for minibatches of one size: the state being trained (model,
/// optimizer, random streams), the validated settings, and every buffer the E- and M-steps reuse
/// (so that a minibatch allocates nothing).
#[derive(Debug, Clone)]
pub struct Learner {
    state: TrainState,
    config: ValidConfig,
    x: Matrix,
    inference: Inference,
    learning: LearningWorkspace,
    /// Supervised learning: the one-hot labels of the minibatch, `[batch, 10]` …
    y: Matrix,
    /// … and which rows have theirs clamped (1) or free (0).
    clamped: ndarray::Array1<f32>,
    /// The minibatch's rows (semi-supervised: labelled first).
    rows: Vec<usize>,
    /// The in-network STDP window's recorder (`learning.spiking.window_synapses > 0`).
    window: Option<learning::stdp_window::WindowRecorder>,
}

/// How supervised training draws its minibatches.
#[derive(Debug, Clone)]
struct SupervisedPlan<'a> {
    labels: Labels<'a>,
    /// Semi-supervised: the labelled subset and the labelled examples per minibatch.
    subset: Option<(Vec<usize>, usize)>,
}

impl<'a> SupervisedPlan<'a> {
    fn new(config: &Config, labels: Labels<'a>) -> Result<Self> {
        let sup = &config.supervised;
        let subset = if sup.semi_supervised() {
            let subset =
                crate::data::labelled::labelled_subset(labels.train, sup.labels, config.seed)?;
            Some((subset, sup.labelled_per_batch))
        } else {
            None
        };
        Ok(Self { labels, subset })
    }
}

impl Learner {
    /// A learner of `state` under `config` for minibatches of `batch` examples. Fails when the
    /// config does not describe the model or optimizer being trained (a resumed run keeps both).
    pub fn new(config: ValidConfig, mut state: TrainState, batch: usize) -> Result<Self> {
        check_compatible(&config, &state)?;
        if config.learning.rule == LearningRule::Spiking && state.rngs.spikes.is_none() {
            state.rngs.spikes = Some(Seed(config.seed).stream("spikes"));
        }
        let spiking = &config.learning.spiking;
        let window = (config.learning.rule == LearningRule::Spiking && spiking.window_synapses > 0)
            .then(|| {
                learning::stdp_window::WindowRecorder::new(&state.model, spiking, config.seed)
            });
        if let Some(recorder) = &window
            && !state
                .stdp_window
                .as_ref()
                .is_some_and(|s| recorder.continues(s))
        {
            // a new recording (or one with other settings: it starts again)
            state.stdp_window = Some(recorder.sums());
        }
        let model = &state.model;
        Ok(Self {
            x: Matrix::zeros((batch, model.input_size())),
            inference: Inference::new(model, batch),
            learning: LearningWorkspace::new(model, batch, config.learning.optimizer),
            y: Matrix::zeros((batch, model.top_size())),
            clamped: ndarray::Array1::zeros(batch),
            rows: Vec::with_capacity(batch),
            window,
            config,
            state,
        })
    }

    /// The state being trained.
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// The trained state.
    pub fn into_state(self) -> TrainState {
        self.state
    }

    /// The validated settings.
    pub fn config(&self) -> &ValidConfig {
        &self.config
    }

    /// Algorithm 2 TRAIN on `images` until `train.epochs` epochs are done, then the top-prior
    /// fit when the model has none.
    fn train_epochs(
        &mut self,
        dev: &Device,
        images: ArrayView2<'_, f32>,
        heldout: Option<ArrayView2<'_, f32>>,
        plan: Option<SupervisedPlan<'_>>,
        observer: &mut (dyn TrainObserver + Send),
    ) -> Result<()> {
        let (cfg, batch) = (self.config.clone(), self.x.nrows());
        // semi-supervised minibatches: k labelled rows, then B − k of the pass over all images
        let k = plan
            .as_ref()
            .and_then(|p| p.subset.as_ref())
            .map_or(0, |s| s.1);
        let n_batches = images.nrows() / (batch - k);
        while self.state.epochs_done < cfg.train.epochs {
            let epoch = self.state.epochs_done;
            let started = Instant::now();
            let rates = learning::learning_rates(&cfg.model, &cfg.learning, epoch);
            let order = epoch_order(images.nrows(), &mut self.state.rngs.data);
            let labelled = match plan.as_ref().and_then(|p| p.subset.as_ref()) {
                Some((subset, k)) => {
                    crate::data::labelled::labelled_order(subset, n_batches, *k, cfg.seed, epoch)
                }
                None => Vec::new(),
            };
            let mut running = EpochRunning::new(self.state.model.depth());
            for (b, unlabelled) in order.chunks_exact(batch - k).enumerate() {
                let at = |e: Error| locate(e, epoch + 1, b + 1);
                let mut rows = std::mem::take(&mut self.rows);
                rows.clear();
                rows.extend_from_slice(&labelled[b * k..(b + 1) * k]);
                rows.extend_from_slice(unlabelled);
                self.load_minibatch(images, &rows);
                let inferred = match &plan {
                    Some(p) => {
                        self.load_labels(p.labels.train, &rows, k, p.subset.is_some());
                        self.e_step_labelled(dev).map_err(at)?
                    }
                    None => self.e_step(dev).map_err(at)?, // h ← INFERENCE(x)
                };
                self.rows = rows;
                let layers = match cfg.model.conditional_variance {
                    ConditionalVariance::Unit => 0,
                    ConditionalVariance::Learned => 1,
                    ConditionalVariance::LearnedAll => self.state.model.depth(),
                };
                if layers > 0 {
                    let (inf, model) = (&self.inference, &mut self.state.model);
                    let recon = &inf.ws.reconstructions()[..layers];
                    model.noise.observe(dev, self.x.view(), &inf.post.h, recon);
                }
                running.observe_inference(
                    dev,
                    &self.state.model,
                    self.x(),
                    &self.inference,
                    inferred,
                );
                let semi = plan.as_ref().is_some_and(|p| p.subset.is_some());
                let losses = self.m_step_rows(dev, &rates, semi).map_err(at)?; // each map toward its target
                running.observe_losses(losses);
                observer
                    .minibatch_done(epoch + 1, b + 1, n_batches, &|| running.metrics(epoch + 1))?;
            }
            check_weights(dev, &self.state.model, epoch + 1)?;
            self.state.epochs_done += 1;
            let mut metrics = running.metrics(epoch + 1);
            metrics.seconds = started.elapsed().as_secs_f64();
            metrics.lr = cfg.learning.rate_at(epoch);
            if let Some(images) = heldout.filter(|h| h.nrows() > 0) {
                let model = &self.state.model;
                match plan.as_ref().and_then(|p| p.labels.heldout) {
                    Some(labels) => {
                        let mut rng = Seed(cfg.seed).stream("heldout-inference");
                        metrics.validation = Some(crate::eval::classify::validation_errors(
                            dev,
                            model,
                            (images, labels),
                            &cfg.inference,
                            &cfg.supervised,
                            cfg.train.batch_size,
                            &mut rng,
                        )?);
                    }
                    None if plan.is_none() => {
                        metrics.heldout = Some(heldout_inference(dev, model, images, &cfg)?);
                    }
                    None => {}
                }
            }
            observer.epoch_done(&metrics, &self.state)?;
        }
        if self.state.model.top_prior.is_none() {
            let (model, rng) = (&self.state.model, &mut self.state.rngs.inference);
            let prior = fit_top_prior(dev, model, images, &cfg, rng)?;
            self.state.model.top_prior = Some(prior);
            observer.prior_fitted(&self.state)?;
        }
        Ok(())
    }

    /// Sets the minibatch's one-hot labels from `labels[rows]`; with `semi`, only the first `k`
    /// rows keep theirs clamped (the others are unlabelled), otherwise every row does.
    fn load_labels(&mut self, labels: &[u8], rows: &[usize], k: usize, semi: bool) {
        crate::data::labelled::one_hot_rows(labels, rows, self.y.view_mut());
        for (i, c) in self.clamped.iter_mut().enumerate() {
            *c = if !semi || i < k { 1.0 } else { 0.0 };
        }
    }

    /// The E-step with the label layer: the clamped rows' top layer held at their label.
    fn e_step_labelled(&mut self, dev: &Device) -> Result<EStepSummary> {
        let (model, rng) = (&self.state.model, &mut self.state.rngs.inference);
        let label = LabelEvidence {
            y: self.y.view(),
            clamped: self.clamped.view(),
            alpha: self.config.supervised.label_alpha,
            free_rows_pull: false,
            term: self.config.supervised.label_term,
        };
        self.inference.e_step_labelled(
            dev,
            model,
            self.x.view(),
            &label,
            &self.config.inference,
            rng,
        )
    }

    /// The spikes of the last spiking M-step (`None` before one, and with the rate rule).
    pub fn spike_counts(&self) -> Option<learning::spiking::SpikeCounts> {
        self.learning.spike_counts()
    }

    /// The current minibatch `[batch, n_x]`.
    pub fn x(&self) -> ArrayView2<'_, f32> {
        self.x.view()
    }

    /// The E-step's buffers and inferred layers of the current minibatch.
    pub fn inference(&self) -> &Inference {
        &self.inference
    }

    /// Copies rows `rows` of `images` into the minibatch.
    ///
    /// # Panics
    /// If `rows.len()` differs from the learner's batch size or a row is out of range.
    pub fn load_minibatch(&mut self, images: ArrayView2<'_, f32>, rows: &[usize]) {
        gather_rows(images, rows, self.x.view_mut());
    }

    /// The E-step on the current minibatch: `h ← INFERENCE(x)` (N iterations of targetprop from
    /// the feed-forward start), drawing its noise from the inference stream.
    pub fn e_step(&mut self, dev: &Device) -> Result<EStepSummary> {
        let (model, rng) = (&self.state.model, &mut self.state.rngs.inference);
        let evidence = Evidence::Full(self.x.view());
        self.inference
            .e_step(dev, model, evidence, &self.config.inference, rng, None)
    }

    /// The M-step on the current minibatch and its inferred h: every map learns toward its local
    /// target at this epoch's `rates`, corruption drawn from the corruption stream, by the rate
    /// rule or (`learning.rule = "spiking"`) by Eq. 1 with spikes from the spike stream.
    pub fn m_step(&mut self, dev: &Device, rates: &Rates) -> Result<&MStepLosses> {
        self.m_step_rows(dev, rates, false)
    }

    /// [`Learner::m_step`]; with `semi`, the label layer's maps learn from the clamped rows only.
    fn m_step_rows(&mut self, dev: &Device, rates: &Rates, semi: bool) -> Result<&MStepLosses> {
        let step = MStep {
            x: self.x.view(),
            post: &self.inference.post,
            model: &self.config.model,
            learning: &self.config.learning,
            rates,
            top_rows: semi.then(|| self.clamped.view()),
        };
        let state = &mut self.state;
        let rngs = &mut state.rngs;
        match (self.config.learning.rule, rngs.spikes.as_mut()) {
            (LearningRule::Spiking, Some(spikes)) => learning::stdp_window::m_step(
                dev,
                &mut state.model,
                step,
                &mut self.learning,
                &mut state.optimizer,
                (&mut rngs.corruption, spikes),
                self.window.as_mut().zip(state.stdp_window.as_mut()),
            ),
            _ => learning::m_step(
                dev,
                &mut state.model,
                step,
                &mut self.learning,
                &mut state.optimizer,
                &mut rngs.corruption,
            ),
        }
    }
}

/// INFERENCE with the training settings on held-out images (their own noise stream, so the
/// training streams are untouched).
fn heldout_inference(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    config: &Config,
) -> Result<crate::diagnostics::HeldOutInference> {
    let mut rng = Seed(config.seed).stream("heldout-inference");
    let curve = crate::eval::inference_curve(
        dev,
        model,
        images,
        &config.inference,
        config.train.batch_size.max(1),
        0,
        &mut rng,
    )?;
    Ok(crate::diagnostics::HeldOutInference {
        examples: curve.examples,
        log_pxh: curve.log_pxh_mean,
        log_pxh_se: curve.log_pxh_se,
        terms: curve.terms,
        alignment: curve.alignment,
    })
}

/// p(h_L) = N(mean, scale·var) of the inferred top codes of `images` (paper §8, gap G9), and,
/// with `train.lateral_prior.kind` linear or sigmoid, its lateral connections fitted to the same
/// codes by their local rule ([`LateralPrior::fit`], drawing its minibatch order from `rng`
/// after the inference).
pub fn fit_top_prior(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    config: &Config,
    rng: &mut Rng,
) -> Result<TopPrior> {
    // on this device's own thread pool
    dev.install(|| {
        let batch = config.train.batch_size.min(images.nrows()).max(1);
        let mut acc = PriorAccumulator::new(model.top_size(), config.train.prior_covariance);
        let lateral = config.train.lateral_prior.kind.conditional();
        // the lateral fit makes several passes over the codes: keep them
        let mut codes = Matrix::zeros((
            if lateral.is_some() { images.nrows() } else { 0 },
            model.top_size(),
        ));
        let mut inf = Inference::new(model, batch);
        for rows in batches(images.nrows(), batch) {
            let x = images.slice(s![rows.clone(), ..]);
            inf.ensure(model, rows.len());
            inf.e_step(dev, model, Evidence::Full(x), &config.inference, rng, None)?;
            let h_top = inf.post.h[model.depth() - 1].view();
            acc.add(dev, h_top);
            if lateral.is_some() {
                codes.slice_mut(s![rows, ..]).assign(&h_top);
            }
        }
        let scale = f64::from(config.train.prior_variance_scale);
        let mut prior = acc.finish(scale)?;
        if let Some(conditional) = lateral {
            let settings = &config.train.lateral_prior;
            let fitted = LateralPrior::fit(dev, conditional, codes.view(), settings, scale, rng)?;
            prior.lateral = Some(fitted);
        }
        Ok(prior)
    })
}

/// True when the model has a top prior of the kind `config` asks for (covariance and lateral
/// conditionals).
pub fn prior_fits(model: &GenerativeModel, config: &Config) -> bool {
    model.top_prior.as_ref().is_some_and(|p| {
        p.factor.is_some() == (config.train.prior_covariance == PriorCovariance::Full)
            && p.lateral.as_ref().map(|l| l.conditional)
                == config.train.lateral_prior.kind.conditional()
    })
}

/// The data must fit the model being trained.
fn check_input_width(images: ArrayView2<'_, f32>, state: &TrainState) -> Result<()> {
    if images.ncols() != state.model.input_size() {
        return Err(Error::Shape {
            op: "train",
            expected: format!("images of {} values", state.model.input_size()),
            got: format!("images of {} values", images.ncols()),
        });
    }
    Ok(())
}

/// The config and the state must belong together (a resumed state keeps its model and
/// optimizer).
fn check_compatible(config: &Config, state: &TrainState) -> Result<()> {
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

fn check_weights(dev: &Device, model: &GenerativeModel, epoch: usize) -> Result<()> {
    for (i, pair) in model.pairs.iter().enumerate() {
        for (name, map) in [("f", &pair.encoder), ("g", &pair.decoder)] {
            let bias = map.bias.view().insert_axis(ndarray::Axis(0));
            if !(dev.all_finite(map.weight.view()) && dev.all_finite(bias)) {
                return Err(Error::NonFinite {
                    layer: format!("{name}{} weights", i + 1),
                    step: format!("the end of epoch {epoch}"),
                });
            }
        }
    }
    Ok(())
}
