//! A linear readout of the inferred top codes: multinomial logistic (softmax) regression
//!
//! ```text
//! p(y | h) = softmax(z·W + b),   z = (h − μ) ⊙ s            h: [n, d] top codes, W: [d, C]
//! ℓ(W, b)  = −(1/B) Σ_i log p(y_i | h_i) + (λ/2)‖W‖²         cross-entropy over a minibatch of B
//! ∂ℓ/∂W    = (1/B)·zᵀ(P − Y) + λW,   ∂ℓ/∂b = (1/B)·1ᵀ(P − Y)   (P = softmax rows, Y = one-hot)
//! ```
//!
//! **An evaluation tool, apart from the learner.** Issue 14's "representation" target asks
//! whether the codes `h_L` that the model infers for an image carry its class: a readout trained
//! on the codes of the training images must reach ≥ 95 % MNIST test accuracy (Diehl & Cook's
//! STDP network: 95.0 %). The gradient above is written by hand and, like the evaluation
//! classifier's ([`super::classifier`]), lives only in `eval`; the generative model is frozen and
//! never sees it.
//!
//! **The codes** ([`top_codes`]) come from the model's own training-time E-step: the
//! feed-forward pass, then `inference.steps` iterations of INFERENCE with the run's
//! [`InferenceConfig`], in minibatches of `train.batch_size`, as when the top prior is fitted.
//! The readout reports the final inferred `h_L` and, at no extra cost, the feed-forward codes
//! (iteration 0).
//!
//! **Training** ([`train_readout`]): the features are standardised with the mean and standard
//! deviation of the *training* codes (a column that is constant there, σ < 10⁻⁶, is dropped:
//! scale 0), W and b start at 0 (the loss is convex), then minibatch SGD with heavy-ball
//! momentum and a learning rate decaying linearly to 0 over the epochs. The learning rate,
//! λ and the number of epochs are chosen ([`select_readout`]) by accuracy on a held-out
//! validation part (10 % by default) of the training codes, from the grid of
//! [`ReadoutSettings`]; the readout is then refitted on all the training codes with the chosen
//! setting. The test codes are scored once, never tuned on.
//!
//! **Determinism.** The validation split and the minibatch order come from the streams
//! `"readout/validation"` and `"readout/order"` of the seed; every product is a [`Device`] GEMM
//! and every reduction runs in a fixed order, so one seed gives bit-identical weights whatever
//! the thread count.

use std::time::Instant;

use ndarray::{Array1, ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::backend::{Device, Matrix};
use crate::config::{Config, InferenceConfig};
use crate::data::batches::{batches, epoch_order, gather_rows};
use crate::data::{Mnist, Split};
use crate::error::{Error, Result};
use crate::inference::{Evidence, Inference};
use crate::model::GenerativeModel;
use crate::rng::{Rng, Seed};

/// Issue 14's target for the readout's MNIST test accuracy (Diehl & Cook's STDP network:
/// 95.0 %).
pub const TARGET_ACCURACY: f64 = 0.95;

/// A column whose training standard deviation is below this is constant: dropped (scale 0).
pub const SD_FLOOR: f32 = 1e-6;

/// Rows per block when scoring many codes (bounds the memory of the standardised copy).
const EVAL_BLOCK: usize = 2000;

/// One fit of the readout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadoutConfig {
    /// Passes over the training codes.
    pub epochs: usize,
    /// Minibatch size (the last minibatch of an epoch may be smaller).
    pub batch_size: usize,
    /// The initial learning rate ε; it decays linearly to 0 over training.
    pub lr: f32,
    /// The heavy-ball momentum m of `u ← m·u − ε·g`.
    pub momentum: f32,
    /// λ, the weight of `(λ/2)‖W‖²` (the bias is not penalised).
    pub l2: f32,
    /// The seed of the minibatch order.
    pub seed: u64,
}

impl Default for ReadoutConfig {
    /// 20 epochs of minibatch 100, ε = 0.1 → 0, momentum 0.9, λ = 10⁻⁴, seed 1: the middle of
    /// the default grid of [`ReadoutSettings`] (the defaults of a single fit, used by the tests;
    /// a reported readout's setting is chosen on held-out codes by [`select_readout`]). On the
    /// MNIST codes of a quick spiking run (10,000 images, 10 epochs) the search chose 20 epochs
    /// with ε = 0.3, λ = 10⁻⁴ (inferred codes) and ε = 0.1, λ = 0 (feed-forward codes); every
    /// candidate's validation accuracy lay within 0.7 points of the best.
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 100,
            lr: 0.1,
            momentum: 0.9,
            l2: 1e-4,
            seed: 1,
        }
    }
}

impl ReadoutConfig {
    /// Checks the settings once: positive epochs, batch size and learning rate, momentum in
    /// [0, 1), finite λ ≥ 0.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, message: String| Err(Error::config(format!("readout.{key}"), message));
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("must be positive, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(
                "momentum",
                format!("must lie in [0, 1), got {}", self.momentum),
            );
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", format!("must be 0 or positive, got {}", self.l2));
        }
        Ok(())
    }
}

/// The protocol of a reported readout: the grid searched on the held-out part of the training
/// codes, and how many examples are used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutSettings {
    /// Candidate initial learning rates.
    pub lr: Vec<f32>,
    /// Candidate λ.
    pub l2: Vec<f32>,
    /// Candidate numbers of epochs.
    pub epochs: Vec<usize>,
    /// Minibatch size.
    pub batch_size: usize,
    /// Heavy-ball momentum.
    pub momentum: f32,
    /// The fraction of the training codes held out to choose the setting.
    pub validation_fraction: f64,
    /// Training images whose codes train the readout (0 = the whole `train` split).
    pub train_examples: usize,
    /// Test images scored (0 = the whole `test` split).
    pub test_examples: usize,
    /// The seed of the validation split and of the minibatch order.
    pub seed: u64,
}

impl Default for ReadoutSettings {
    /// ε ∈ {0.03, 0.1, 0.3}, λ ∈ {0, 10⁻⁴, 10⁻³}, 5 or 20 epochs, minibatch 100, momentum
    /// 0.9, 10 % of the training codes held out, every image, seed 1.
    fn default() -> Self {
        Self {
            lr: vec![0.03, 0.1, 0.3],
            l2: vec![0.0, 1e-4, 1e-3],
            epochs: vec![5, 20],
            batch_size: 100,
            momentum: 0.9,
            validation_fraction: 0.1,
            train_examples: 0,
            test_examples: 0,
            seed: 1,
        }
    }
}

impl ReadoutSettings {
    /// Every candidate of the grid as a [`ReadoutConfig`], learning rate outermost, epochs
    /// innermost (the order of the search and of its ties).
    pub fn candidates(&self) -> Vec<ReadoutConfig> {
        let mut out = Vec::new();
        for &lr in &self.lr {
            for &l2 in &self.l2 {
                for &epochs in &self.epochs {
                    out.push(ReadoutConfig {
                        epochs,
                        batch_size: self.batch_size,
                        lr,
                        momentum: self.momentum,
                        l2,
                        seed: self.seed,
                    });
                }
            }
        }
        out
    }

    /// Checks the grid once: no empty list, every candidate valid, a validation fraction in
    /// (0, 1).
    pub fn validate(&self) -> Result<()> {
        for (key, empty) in [
            ("lr", self.lr.is_empty()),
            ("l2", self.l2.is_empty()),
            ("epochs", self.epochs.is_empty()),
        ] {
            if empty {
                return Err(Error::config(
                    format!("readout.{key}"),
                    "needs at least one candidate value",
                ));
            }
        }
        for c in self.candidates() {
            c.validate()?;
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return Err(Error::config(
                "readout.validation_fraction",
                format!("must lie in (0, 1), got {}", self.validation_fraction),
            ));
        }
        Ok(())
    }
}

/// A trained readout: standardisation, then `z·W + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    mean: Array1<f32>,
    scale: Array1<f32>,
    weight: Matrix,
    bias: Array1<f32>,
}

impl Readout {
    /// A readout from its parts: `mean` and `scale` (`[d]`, the features are `(h − μ) ⊙ s`),
    /// `weight: [d, classes]`, `bias: [classes]`; fails when the shapes disagree.
    pub fn new(
        mean: Array1<f32>,
        scale: Array1<f32>,
        weight: Matrix,
        bias: Array1<f32>,
    ) -> Result<Self> {
        let (d, c) = weight.dim();
        if mean.len() != d || scale.len() != d || bias.len() != c || c == 0 {
            return Err(Error::Shape {
                op: "readout",
                expected: format!(
                    "mean and scale of length {d} and a bias of length {c} (≥ 1) for a [{d}, {c}] \
                     weight"
                ),
                got: format!(
                    "mean {}, scale {}, bias {}",
                    mean.len(),
                    scale.len(),
                    bias.len()
                ),
            });
        }
        Ok(Self {
            mean,
            scale,
            weight,
            bias,
        })
    }

    /// `W: [d, classes]`.
    pub fn weight(&self) -> &Matrix {
        &self.weight
    }

    /// `b: [classes]`.
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// The training codes' column means μ.
    pub fn mean(&self) -> &Array1<f32> {
        &self.mean
    }

    /// The standardisation scales s (1/σ, or 0 for a dropped column).
    pub fn scale(&self) -> &Array1<f32> {
        &self.scale
    }

    /// The width d of the codes it reads.
    pub fn code_width(&self) -> usize {
        self.weight.nrows()
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.weight.ncols()
    }

    fn check_width(&self, codes: ArrayView2<'_, f32>) -> Result<()> {
        if codes.ncols() != self.code_width() {
            return Err(Error::Shape {
                op: "readout",
                expected: format!("codes of {} values", self.code_width()),
                got: format!("{} values per row", codes.ncols()),
            });
        }
        Ok(())
    }

    /// The standardised features `z = (h − μ) ⊙ s` of `codes`.
    fn features(&self, dev: &Device, codes: ArrayView2<'_, f32>) -> Matrix {
        let mut z = codes.to_owned();
        dev.standardise_columns(z.view_mut(), self.mean.view(), self.scale.view());
        z
    }

    /// The logits `z·W + b`.
    ///
    /// # Shapes
    /// `codes: [n, d]` → `[n, classes]`.
    pub fn logits(&self, dev: &Device, codes: ArrayView2<'_, f32>) -> Result<Matrix> {
        self.check_width(codes)?;
        let mut out = Matrix::zeros((codes.nrows(), self.classes()));
        for rows in batches(codes.nrows(), EVAL_BLOCK) {
            let z = self.features(dev, codes.slice(s![rows.clone(), ..]));
            dev.affine(
                z.view(),
                self.weight.view(),
                self.bias.view(),
                Activation::Linear,
                out.slice_mut(s![rows, ..]),
            );
        }
        Ok(out)
    }

    /// The class probabilities `p(y | h)`.
    pub fn probabilities(&self, dev: &Device, codes: ArrayView2<'_, f32>) -> Result<Matrix> {
        let mut z = self.logits(dev, codes)?;
        dev.softmax_rows(z.view_mut());
        Ok(z)
    }

    /// The predicted class of every row (the largest logit, the first on ties).
    pub fn predict(&self, dev: &Device, codes: ArrayView2<'_, f32>) -> Result<Vec<usize>> {
        Ok(dev.row_argmax(self.logits(dev, codes)?.view()))
    }

    /// The fraction of rows of `codes` whose predicted class is their label.
    pub fn accuracy(&self, dev: &Device, codes: ArrayView2<'_, f32>, labels: &[u8]) -> Result<f64> {
        check_codes(dev, codes, labels, "scored")?;
        let z = self.logits(dev, codes)?;
        Ok(dev.count_correct(z.view(), labels) as f64 / labels.len() as f64)
    }

    /// The loss `ℓ = −(1/n) Σ_i log p(y_i | h_i) + (λ/2)‖W‖²` over all rows of `codes` (one
    /// minibatch) and its gradient `(∂ℓ/∂W, ∂ℓ/∂b)`, written by hand (module doc).
    pub fn loss_and_gradient(
        &self,
        dev: &Device,
        codes: ArrayView2<'_, f32>,
        labels: &[u8],
        l2: f32,
    ) -> Result<(f64, Matrix, Array1<f32>)> {
        check_codes(dev, codes, labels, "scored")?;
        self.check_width(codes)?;
        check_label_range(labels, self.classes())?;
        let z = self.features(dev, codes);
        let mut g = Gradient::new(self.code_width(), self.classes(), codes.nrows());
        let loss = g.compute(dev, self, z.view(), labels, l2);
        Ok((loss, g.weight, g.bias))
    }
}

/// The buffers of one minibatch's gradient.
struct Gradient {
    logits: Matrix,
    delta: Matrix,
    weight: Matrix,
    bias: Array1<f32>,
}

impl Gradient {
    fn new(d: usize, classes: usize, batch: usize) -> Self {
        Self {
            logits: Matrix::zeros((batch, classes)),
            delta: Matrix::zeros((batch, classes)),
            weight: Matrix::zeros((d, classes)),
            bias: Array1::zeros(classes),
        }
    }

    /// Fills the gradient of the loss on the standardised minibatch `z` (at most `batch` rows)
    /// and returns that loss.
    fn compute(
        &mut self,
        dev: &Device,
        r: &Readout,
        z: ArrayView2<'_, f32>,
        labels: &[u8],
        l2: f32,
    ) -> f64 {
        let b = z.nrows();
        let mut logits = self.logits.slice_mut(s![..b, ..]);
        dev.affine(
            z,
            r.weight.view(),
            r.bias.view(),
            Activation::Linear,
            logits.view_mut(),
        );
        let inv_b = 1.0 / b as f32;
        let mut delta = self.delta.slice_mut(s![..b, ..]);
        let ce = dev.softmax_cross_entropy(logits.view(), labels, delta.view_mut(), inv_b);
        // ∂ℓ/∂W = λW + zᵀδ, δ = (P − Y)/B
        self.weight.assign(&r.weight);
        dev.scale_matrix(self.weight.view_mut(), l2);
        dev.matmul(1.0, z.t(), delta.view(), 1.0, self.weight.view_mut());
        dev.column_sums(self.bias.view_mut(), delta.view(), 1.0);
        ce / b as f64 + 0.5 * f64::from(l2) * dev.sum_squares(r.weight.view())
    }
}

/// Fails on an empty set, a label count that is not the row count, or a NaN/infinite code.
fn check_codes(dev: &Device, codes: ArrayView2<'_, f32>, labels: &[u8], what: &str) -> Result<()> {
    if codes.nrows() == 0 {
        return Err(Error::Usage(format!(
            "the readout needs at least one example to be {what}, got none"
        )));
    }
    if labels.len() != codes.nrows() {
        return Err(Error::Usage(format!(
            "the readout needs one label per code: {} codes but {} labels (labels missing?)",
            codes.nrows(),
            labels.len()
        )));
    }
    if !dev.all_finite(codes) {
        return Err(Error::Usage(format!(
            "the codes the readout is {what} hold a NaN or an infinity; the model that inferred \
             them has diverged"
        )));
    }
    Ok(())
}

fn check_label_range(labels: &[u8], classes: usize) -> Result<()> {
    match labels.iter().find(|&&y| usize::from(y) >= classes) {
        Some(y) => Err(Error::Usage(format!(
            "this readout knows {classes} classes, got the label {y}"
        ))),
        None => Ok(()),
    }
}

/// Trains a readout on `codes` (`[n, d]`) and their `labels` with one setting `cfg` (module
/// doc); the classes are `0 ..= max(labels)` (at least 2).
///
/// Fails ([`Error::Usage`], [`Error::Config`]) on an empty set, a label count that differs from
/// the row count, a non-finite code, an invalid `cfg`, or a loss that becomes NaN or infinite
/// (a learning rate too large).
pub fn train_readout(
    dev: &Device,
    codes: ArrayView2<'_, f32>,
    labels: &[u8],
    cfg: &ReadoutConfig,
) -> Result<Readout> {
    fit(dev, codes, labels, cfg)?.map_err(|d| {
        Error::Usage(format!(
            "the readout's loss became NaN or infinite at epoch {}, minibatch {} with learning \
             rate {}; choose a smaller readout learning rate",
            d.epoch, d.minibatch, cfg.lr
        ))
    })
}

/// Where a fit's loss stopped being finite.
struct Diverged {
    epoch: usize,
    minibatch: usize,
}

/// [`train_readout`], with a diverging loss as an inner `Err` (a search skips that candidate).
fn fit(
    dev: &Device,
    codes: ArrayView2<'_, f32>,
    labels: &[u8],
    cfg: &ReadoutConfig,
) -> Result<std::result::Result<Readout, Diverged>> {
    cfg.validate()?;
    check_codes(dev, codes, labels, "trained on")?;
    let (n, d) = codes.dim();
    let classes = labels
        .iter()
        .map(|&y| usize::from(y) + 1)
        .max()
        .unwrap_or(0)
        .max(2);
    let (mean, sd) = dev.column_mean_sd(codes);
    let scale = sd.mapv(|s| if s >= SD_FLOOR { 1.0 / s } else { 0.0 });
    let mut r = Readout::new(
        mean,
        scale,
        Matrix::zeros((d, classes)),
        Array1::zeros(classes),
    )?;
    let z = r.features(dev, codes);
    let b = cfg.batch_size.min(n);
    let steps_per_epoch = n.div_ceil(b);
    let total_steps = (cfg.epochs * steps_per_epoch) as f32;
    let mut grad = Gradient::new(d, classes, b);
    let (mut vw, mut vb) = (Matrix::zeros((d, classes)), Array1::<f32>::zeros(classes));
    let (mut xb, mut yb) = (Matrix::zeros((b, d)), vec![0u8; b]);
    let mut order_rng = Seed(cfg.seed).stream("readout/order");
    let mut t = 0usize;
    let trained = dev.install(|| {
        for epoch in 0..cfg.epochs {
            let order = epoch_order(n, &mut order_rng);
            for (step, rows) in batches(n, b).enumerate() {
                let rows = &order[rows];
                let m = rows.len();
                gather_rows(z.view(), rows, xb.slice_mut(s![..m, ..]));
                for (y, &i) in yb.iter_mut().zip(rows) {
                    *y = labels[i];
                }
                let loss = grad.compute(dev, &r, xb.slice(s![..m, ..]), &yb[..m], cfg.l2);
                if !loss.is_finite() {
                    return Err(Diverged {
                        epoch: epoch + 1,
                        minibatch: step + 1,
                    });
                }
                let lr = cfg.lr * (1.0 - t as f32 / total_steps);
                t += 1;
                dev.momentum_step(
                    contiguous(&mut r.weight),
                    contiguous(&mut vw),
                    grad.weight
                        .as_slice()
                        .expect("fresh matrices are contiguous"),
                    lr,
                    cfg.momentum,
                );
                dev.momentum_step(
                    r.bias.as_slice_mut().expect("fresh vectors are contiguous"),
                    vb.as_slice_mut().expect("fresh vectors are contiguous"),
                    grad.bias.as_slice().expect("fresh vectors are contiguous"),
                    lr,
                    cfg.momentum,
                );
            }
        }
        Ok(())
    });
    Ok(trained.map(|()| r))
}

fn contiguous(m: &mut Matrix) -> &mut [f32] {
    m.as_slice_mut()
        .expect("the readout's matrices are contiguous")
}

/// One candidate of the search and its accuracy on the held-out codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The setting.
    pub config: ReadoutConfig,
    /// Its validation accuracy; `None` when its loss diverged.
    pub validation_accuracy: Option<f64>,
}

/// What [`select_readout`] chose and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutSelection {
    /// The setting with the best validation accuracy (the first in the grid's order on ties),
    /// refitted on all the training codes.
    pub chosen: ReadoutConfig,
    /// Its accuracy on the held-out codes (fitted without them).
    pub validation_accuracy: f64,
    /// Training codes held out.
    pub validation_examples: usize,
    /// Every candidate tried.
    pub candidates: Vec<Candidate>,
}

/// Chooses the readout's setting among `settings.candidates()` by accuracy on a held-out
/// `validation_fraction` of `codes` (a random subset drawn from the stream
/// `"readout/validation"`), each candidate fitted on the rest; then refits the chosen setting
/// on all of `codes`. A candidate whose loss diverges scores nothing; fails when all do.
pub fn select_readout(
    dev: &Device,
    codes: ArrayView2<'_, f32>,
    labels: &[u8],
    settings: &ReadoutSettings,
) -> Result<(Readout, ReadoutSelection)> {
    settings.validate()?;
    check_codes(dev, codes, labels, "trained on")?;
    let n = codes.nrows();
    if n < 2 {
        return Err(Error::Usage(format!(
            "choosing the readout's setting needs at least 2 training codes (one held out), got \
             {n}"
        )));
    }
    let held = ((n as f64 * settings.validation_fraction).round() as usize).clamp(1, n - 1);
    let perm = epoch_order(n, &mut Seed(settings.seed).stream("readout/validation"));
    let (val_rows, fit_rows) = perm.split_at(held);
    let subset = |rows: &[usize]| {
        let mut m = Matrix::zeros((rows.len(), codes.ncols()));
        gather_rows(codes, rows, m.view_mut());
        let y: Vec<u8> = rows.iter().map(|&i| labels[i]).collect();
        (m, y)
    };
    let (val_codes, val_labels) = subset(val_rows);
    let (fit_codes, fit_labels) = subset(fit_rows);
    let mut candidates = Vec::new();
    let mut best: Option<(ReadoutConfig, f64)> = None;
    for config in settings.candidates() {
        let accuracy = match fit(dev, fit_codes.view(), &fit_labels, &config)? {
            Ok(r) => Some(r.accuracy(dev, val_codes.view(), &val_labels)?),
            Err(Diverged { .. }) => None,
        };
        if let Some(a) = accuracy
            && best.as_ref().is_none_or(|(_, b)| a > *b)
        {
            best = Some((config, a));
        }
        candidates.push(Candidate {
            config,
            validation_accuracy: accuracy,
        });
    }
    let Some((chosen, validation_accuracy)) = best else {
        return Err(Error::Usage(
            "every setting of the readout's search diverged (its loss became NaN or infinite); \
             try smaller readout learning rates"
                .into(),
        ));
    };
    let readout = train_readout(dev, codes, labels, &chosen)?;
    Ok((
        readout,
        ReadoutSelection {
            chosen,
            validation_accuracy,
            validation_examples: held,
            candidates,
        },
    ))
}

/// The top codes of a set of images: at the feed-forward start and after INFERENCE; and every
/// inferred layer side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct TopCodes {
    /// `h_L = f_L(… f_1(x))`, `[n, top_size]` (iteration 0).
    pub feed_forward: Matrix,
    /// `[h_1 … h_L]` after `inference.steps` iterations, `[n, Σ_l n_l]`.
    pub all_layers: Matrix,
}

impl TopCodes {
    /// `h_L` after `inference.steps` iterations, `[n, top_size]`: the last `top_size` columns
    /// of `all_layers`.
    pub fn inferred(&self) -> ArrayView2<'_, f32> {
        let from = self.all_layers.ncols() - self.feed_forward.ncols();
        self.all_layers.slice(s![.., from..])
    }
}

/// The model's own E-step on every row of `images`, in minibatches of `batch` (the feed-forward
/// pass, then `params.steps` iterations of INFERENCE, drawing any noise from `rng`): the top
/// layer at the start and at the end.
pub fn top_codes(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    params: &InferenceConfig,
    batch: usize,
    rng: &mut Rng,
) -> Result<TopCodes> {
    if images.ncols() != model.input_size() {
        return Err(Error::Shape {
            op: "readout codes",
            expected: format!("images of {} values", model.input_size()),
            got: format!("{} values per row", images.ncols()),
        });
    }
    let n = images.nrows();
    let batch = batch.clamp(1, n.max(1));
    let top = model.depth() - 1;
    let width = model.top_size();
    let all_width: usize = model.sizes.iter().skip(1).sum();
    let mut out = TopCodes {
        feed_forward: Matrix::zeros((n, width)),
        all_layers: Matrix::zeros((n, all_width)),
    };
    dev.install(|| {
        let mut inf = Inference::new(model, batch);
        for rows in batches(n, batch) {
            let x = images.slice(s![rows.clone(), ..]);
            inf.ensure(model, rows.len());
            inf.feed_forward(dev, model, x)?;
            out.feed_forward
                .slice_mut(s![rows.clone(), ..])
                .assign(&inf.post.h[top]);
            inf.iterate(dev, model, Evidence::Full(x), params, rng, None)?;
            let mut at = 0;
            for h in &inf.post.h {
                let w = h.ncols();
                out.all_layers
                    .slice_mut(s![rows.clone(), at..at + w])
                    .assign(h);
                at += w;
            }
        }
        Ok(out)
    })
}

/// What [`readout_accuracy`] measured (`readout.json`, and `readout` in `results.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutReport {
    /// The layer read (`"h2"` for the paper's model).
    pub layer: String,
    /// Its width.
    pub code_width: usize,
    /// INFERENCE iterations behind the inferred codes.
    pub inference_steps: usize,
    /// Training images whose codes trained the readout.
    pub train_examples: usize,
    /// Test images scored.
    pub test_examples: usize,
    /// Test accuracy of the readout of the inferred codes (a fraction).
    pub test_accuracy: f64,
    /// Its accuracy on the training codes it was fitted to.
    pub train_accuracy: f64,
    /// Test accuracy of the readout of the feed-forward codes (iteration 0).
    pub feed_forward_test_accuracy: f64,
    /// Its accuracy on the training codes.
    pub feed_forward_train_accuracy: f64,
    /// The setting chosen for the inferred codes.
    pub selection: ReadoutSelection,
    /// The setting chosen for the feed-forward codes.
    pub feed_forward_selection: ReadoutSelection,
    /// The same readout of every inferred layer side by side (`h1+h2`: 1,100 units for the
    /// paper's model); absent from files written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_layers: Option<LayersReadout>,
    /// Seconds of inferring the codes of both splits.
    pub inference_seconds: f64,
    /// Seconds of the two searches and fits.
    pub readout_seconds: f64,
}

/// The readout of every inferred layer side by side (the part of [`ReadoutReport`] that is not
/// about the top layer alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayersReadout {
    /// The layers read, e.g. `"h1+h2"`.
    pub layers: String,
    /// Their total width.
    pub code_width: usize,
    /// Test accuracy (a fraction).
    pub test_accuracy: f64,
    /// Accuracy on the training codes it was fitted to.
    pub train_accuracy: f64,
    /// The setting chosen on held-out training codes.
    pub selection: ReadoutSelection,
}

/// Infers the top codes of the `train` and `test` images of `data` with the model's own
/// training-time E-step (`config.inference`, minibatches of `config.train.batch_size`, noise
/// from the stream `"readout/inference"` of `config.seed`), trains a readout on the training
/// codes with the setting chosen on held-out training codes ([`select_readout`]), and scores it
/// on both splits; the same for the feed-forward codes and for every inferred layer side by side.
pub fn readout_accuracy(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    data: &Mnist,
    settings: &ReadoutSettings,
) -> Result<ReadoutReport> {
    settings.validate()?;
    let train = data.train.head(settings.train_examples);
    let test = data.test.head(settings.test_examples);
    for (name, split) in [("train", &train), ("test", &test)] {
        check_split(split, name)?;
    }
    let started = Instant::now();
    let mut rng = Seed(config.seed).stream("readout/inference");
    let batch = config.train.batch_size;
    let train_codes = top_codes(
        dev,
        model,
        train.images.view(),
        &config.inference,
        batch,
        &mut rng,
    )?;
    let test_codes = top_codes(
        dev,
        model,
        test.images.view(),
        &config.inference,
        batch,
        &mut rng,
    )?;
    let inference_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let fit = |train_codes: ArrayView2<'_, f32>, test_codes: ArrayView2<'_, f32>| -> Result<_> {
        // the readout reads contiguous rows: the columns of h_L are copied once
        let (train_codes, test_codes) = (
            train_codes.as_standard_layout(),
            test_codes.as_standard_layout(),
        );
        let (r, selection) = select_readout(dev, train_codes.view(), &train.labels, settings)?;
        let train_accuracy = r.accuracy(dev, train_codes.view(), &train.labels)?;
        let test_accuracy = r.accuracy(dev, test_codes.view(), &test.labels)?;
        Ok((train_accuracy, test_accuracy, selection))
    };
    let (train_accuracy, test_accuracy, selection) =
        fit(train_codes.inferred(), test_codes.inferred())?;
    let (ff_train, ff_test, ff_selection) = fit(
        train_codes.feed_forward.view(),
        test_codes.feed_forward.view(),
    )?;
    let all_layers = if model.depth() > 1 {
        let (train_accuracy, test_accuracy, selection) =
            fit(train_codes.all_layers.view(), test_codes.all_layers.view())?;
        Some(LayersReadout {
            layers: (1..=model.depth())
                .map(|l| format!("h{l}"))
                .collect::<Vec<_>>()
                .join("+"),
            code_width: train_codes.all_layers.ncols(),
            test_accuracy,
            train_accuracy,
            selection,
        })
    } else {
        None
    };
    Ok(ReadoutReport {
        layer: format!("h{}", model.depth()),
        code_width: model.top_size(),
        inference_steps: config.inference.steps,
        train_examples: train.len(),
        test_examples: test.len(),
        test_accuracy,
        train_accuracy,
        feed_forward_test_accuracy: ff_test,
        feed_forward_train_accuracy: ff_train,
        selection,
        feed_forward_selection: ff_selection,
        all_layers,
        inference_seconds,
        readout_seconds: started.elapsed().as_secs_f64(),
    })
}

fn check_split(split: &Split, name: &str) -> Result<()> {
    if split.images.nrows() == 0 {
        return Err(Error::Usage(format!(
            "the readout needs {name} images, but the {name} split is empty"
        )));
    }
    if split.labels.len() != split.images.nrows() {
        return Err(Error::Usage(format!(
            "the readout needs a label for every {name} image: {} images but {} labels",
            split.images.nrows(),
            split.labels.len()
        )));
    }
    Ok(())
}

/// "readout of h2 (100 units) after 15 inference steps: test 95.12 %, train 96.03 % | …".
impl std::fmt::Display for ReadoutReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.selection.chosen;
        write!(
            f,
            "linear readout of {} ({} units) after {} inference steps: test accuracy {:.2} %, \
             train {:.2} % (lr {}, l2 {}, {} epochs, chosen on {} held-out training codes: \
             {:.2} %) | feed-forward codes: test {:.2} %, train {:.2} % | {} train / {} test \
             images, inference {:.1} s, readout {:.1} s",
            self.layer,
            self.code_width,
            self.inference_steps,
            100.0 * self.test_accuracy,
            100.0 * self.train_accuracy,
            c.lr,
            c.l2,
            c.epochs,
            self.selection.validation_examples,
            100.0 * self.selection.validation_accuracy,
            100.0 * self.feed_forward_test_accuracy,
            100.0 * self.feed_forward_train_accuracy,
            self.train_examples,
            self.test_examples,
            self.inference_seconds,
            self.readout_seconds,
        )?;
        if let Some(a) = &self.all_layers {
            write!(
                f,
                " | all layers ({}, {} units): test {:.2} %, train {:.2} %",
                a.layers,
                a.code_width,
                100.0 * a.test_accuracy,
                100.0 * a.train_accuracy
            )?;
        }
        Ok(())
    }
}
