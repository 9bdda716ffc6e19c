//! **The back-propagation baseline of the supervised network; the learner never uses it.** It
//! exists to price the cost of biological plausibility: the supervised mode trains the network
//! `x → h1 → … → h_L → y` (y = 10 one-hot label units) with local delta rules only
//! ([`crate::learning`]); this module trains the *same* network — same layer sizes, same
//! non-linearities, same initialisation, same loss, same optimizer and learning-rate schedule,
//! same epochs and minibatch size, same data — by ordinary back-propagation, so the difference
//! in error rates is what giving up the backward pass costs. The gradients are written out by
//! hand, as in the rest of bpdl: no autodiff.
//!
//! The network has K = L + 1 layers, each a [`Map`] `y = φ(x·W + b)` (`W: [n_in, n_out]`), of
//! widths `sizes = [n_x, n_1, …, n_L, 10]` and non-linearities `activations = [φ_1, …, φ_K]`:
//!
//! ```text
//! h₀ = x,   h_l = φ_l(h_{l−1}·W_l + b_l)   l = 1..K,   y = h_K       x: [B, n_x] → y: [B, 10]
//! L  = (1/B) Σ_b Σ_j (y_bj − t_bj)²        t = onehot(label), summed over units, mean over B
//! ```
//!
//! the learner's own loss ([`crate::learning::local_delta()`]: the factor 2 is kept, no ½), here
//! on the output of the whole network. Its gradients, with φ' written from the outputs as the
//! learner writes it ([`Activation::slope_from_output`], [`Device::output_error`]):
//!
//! ```text
//! e_K     = (y − t) ⊙ φ'_K(y)
//! e_{l−1} = (e_l·W_lᵀ) ⊙ φ'_{l−1}(h_{l−1})                     l = K..2   (the backward pass)
//! ∂L/∂W_l = (2/B)·h_{l−1}ᵀ·e_l,   ∂L/∂b_l = (2/B)·Σ_b e_l,b     l = 1..K
//! ```
//!
//! Every error is computed from the weights before the minibatch's update. The top layer's rule
//! is exactly the learner's delta rule with target t; the hidden layers' errors are what the
//! learner cannot have (they travel down through `W_lᵀ`). Each layer is then updated by the
//! learner's own optimizer ([`MapOptimizer::apply`] on a [`LocalDelta`] `(h_{l−1}, e_l, 2/B)`)
//! under the same [`LearningConfig`] (SGD, RMSprop or Adam) at the learner's rate
//! `lr · lr_decay^epoch` ([`LearningConfig::rate_at`], 0-based epochs), so "the same optimizer"
//! is literal.
//!
//! Each epoch visits the training examples in a fresh random order cut into minibatches of
//! `batch_size`; an incomplete last minibatch is dropped, as in [`crate::train`].
//!
//! **Determinism.** Initialisation and minibatch order come from the streams `"baseline/init"`
//! and `"baseline/order"` of the seed; every product is a [`Device`] GEMM, every elementwise
//! step a [`Device`] kernel and every reduction runs in a fixed order, so one seed gives
//! bit-identical weights whatever the thread count.

use std::time::Instant;

use ndarray::{Array1, ArrayView2, ArrayViewMut2, s};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::backend::{Device, Matrix};
use crate::config::{InitScheme, LearningConfig, Validate};
use crate::data::batches::{batches, epoch_order, gather_rows};
use crate::error::{Error, Result};
use crate::eval::classifier::CLASSES;
use crate::learning::{Gradient, LocalDelta, MapOptimizer};
use crate::model::Map;
use crate::rng::Seed;

/// Rows per forward block when scoring many examples (bounds the activation memory).
const BLOCK: usize = 2000;

/// The name of this network in error messages.
const WHAT: &str = "the back-propagation baseline";

/// How the baseline network is built and trained: the supervised learner's settings, copied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackpropSettings {
    /// Layer widths `[n_x, n_1, …, n_L, 10]`: the input, the hidden layers, the 10 label units.
    pub sizes: Vec<usize>,
    /// The non-linearity of every layer, `[φ_1, …, φ_K]` (one fewer than `sizes`).
    pub activations: Vec<Activation>,
    /// Weight initialisation of every layer ([`Map::new`]; zero biases).
    pub init: InitScheme,
    /// The optimizer, its learning rate and its decay per epoch.
    pub learning: LearningConfig,
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per minibatch (an incomplete last minibatch of an epoch is dropped).
    pub batch_size: usize,
    /// Seed of the streams `"baseline/init"` and `"baseline/order"`.
    pub seed: u64,
}

impl BackpropSettings {
    /// Checks the settings once: two or more positive widths ending with the 10 label units, one
    /// non-linearity per layer, at least one epoch and one example per minibatch, and a valid
    /// [`LearningConfig`]. The error names the key (`baseline.sizes`, `baseline.learning.lr`, …).
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, message: String| Err(Error::config(format!("baseline.{key}"), message));
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return bad(
                "sizes",
                format!(
                    "needs two or more positive widths [input, hidden…, {CLASSES}], got {:?}",
                    self.sizes
                ),
            );
        }
        let last = self.sizes[self.sizes.len() - 1];
        if last != CLASSES {
            return bad(
                "sizes",
                format!(
                    "the last width is the {CLASSES} one-hot label units, got {last} (sizes {:?})",
                    self.sizes
                ),
            );
        }
        if self.activations.len() + 1 != self.sizes.len() {
            return bad(
                "activations",
                format!(
                    "needs one non-linearity per layer: {} for sizes {:?}, got {}",
                    self.sizes.len() - 1,
                    self.sizes,
                    self.activations.len()
                ),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        self.learning.validate().map_err(|e| match e {
            Error::Config { key, message } => Error::config(format!("baseline.{key}"), message),
            other => other,
        })
    }
}

/// The baseline network: one [`Map`] per layer, input first.
#[derive(Debug, Clone, PartialEq)]
pub struct BackpropNet {
    /// `[f_1, …, f_K]`; layer l maps `n_{l−1}` units to `n_l`.
    pub layers: Vec<Map>,
}

impl BackpropNet {
    /// A fresh network of `settings`: layer after layer, input first, [`Map::new`] with
    /// `settings.init` drawing from the stream `"baseline/init"` of `settings.seed`.
    ///
    /// # Panics
    /// If `sizes` has fewer than two widths or `activations` does not hold one per layer
    /// ([`BackpropSettings::validate`] reports it as an error; [`train`] calls it first).
    pub fn new(settings: &BackpropSettings) -> Self {
        assert!(
            settings.sizes.len() >= 2 && settings.activations.len() + 1 == settings.sizes.len(),
            "back-propagation baseline: one non-linearity per layer of sizes {:?}, got {}",
            settings.sizes,
            settings.activations.len()
        );
        let mut rng = Seed(settings.seed).stream("baseline/init");
        let layers = settings
            .sizes
            .windows(2)
            .zip(&settings.activations)
            .map(|(w, &act)| Map::new(w[0], w[1], act, settings.init, &mut rng))
            .collect();
        Self { layers }
    }

    /// Input width `n_x` (0 for a network without layers).
    pub fn input_width(&self) -> usize {
        self.layers.first().map_or(0, Map::n_in)
    }

    /// Output width (10 for a trained baseline).
    pub fn output_width(&self) -> usize {
        self.layers.last().map_or(0, Map::n_out)
    }

    /// The output activations y of every row of `x`, computed in blocks of rows so that the
    /// hidden activations of a large set never sit in memory at once. A network without layers
    /// returns `x`.
    ///
    /// # Shapes
    /// `x: [n, n_x]` → `[n, 10]`.
    ///
    /// # Panics
    /// If `x` is not `n_x` wide.
    pub fn forward(&self, dev: &Device, x: ArrayView2<'_, f32>) -> Matrix {
        let Some((last, hidden)) = self.layers.split_last() else {
            return x.to_owned();
        };
        let n = x.nrows();
        let mut out = Matrix::zeros((n, last.n_out()));
        for rows in batches(n, BLOCK) {
            let block = x.slice(s![rows.clone(), ..]);
            let mut h: Option<Matrix> = None;
            for layer in hidden {
                let input = h.as_ref().map_or(block, |m| m.view());
                h = Some(layer.apply(dev, input));
            }
            let input = h.as_ref().map_or(block, |m| m.view());
            last.forward(dev, input, out.slice_mut(s![rows, ..]));
        }
        out
    }

    /// The predicted class of every row of `x`: the output unit with the largest activation (the
    /// lowest index on ties).
    ///
    /// # Panics
    /// If `x` is not `n_x` wide.
    pub fn predict(&self, dev: &Device, x: ArrayView2<'_, f32>) -> Vec<u8> {
        dev.row_argmax(self.forward(dev, x).view())
            .into_iter()
            .map(|j| u8::try_from(j).unwrap_or(u8::MAX))
            .collect()
    }

    /// The loss `L = (1/B) Σ_b Σ_j (y_bj − t_bj)²` of the minibatch `(x, targets)` and its
    /// gradient `(∂L/∂W_l, ∂L/∂b_l)` for every layer, input first, by the backward pass of the
    /// module documentation (the gradients that [`train`] descends; exposed for tests).
    ///
    /// # Shapes
    /// `x: [B, n_x]`, `targets: [B, 10]`; each gradient has the shape of its weight and bias.
    ///
    /// # Panics
    /// If the shapes disagree with the network.
    pub fn loss_and_gradients(
        &self,
        dev: &Device,
        x: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
    ) -> (f64, Vec<(Matrix, Array1<f32>)>) {
        let mut pass = Pass::new(self, x.nrows());
        let loss = pass.run(dev, self, x, targets);
        let grads = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, map)| {
                let delta = pass.delta(l, x, loss);
                let mut w = Matrix::zeros(map.weight.dim());
                dev.matmul(delta.scale, delta.input.t(), delta.error, 0.0, w.view_mut());
                let mut b = Array1::zeros(map.n_out());
                dev.column_sums(b.view_mut(), delta.error, delta.scale);
                (w, b)
            })
            .collect();
        (loss, grads)
    }
}

/// The fraction of `labels` that `predicted` gets wrong. A label without a prediction (or a
/// prediction without a label) counts as wrong; two empty slices give 0.
pub fn error_rate(predicted: &[u8], labels: &[u8]) -> f64 {
    let n = predicted.len().max(labels.len());
    if n == 0 {
        return 0.0;
    }
    let right = predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
    (n - right) as f64 / n as f64
}

/// What one epoch of [`train`] measured.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct BaselineEpoch {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// The mean over the epoch's minibatches of their loss `L`, each measured before its update.
    pub train_loss: f64,
    /// The fraction of the epoch's training examples (those in complete minibatches)
    /// misclassified, measured *during* the epoch: each minibatch by the network as it was
    /// before that minibatch's update, not by a separate pass after the epoch.
    pub train_error: f64,
    /// The error rate on the validation examples after the epoch (`None` without them).
    pub validation_error: Option<f64>,
    /// Wall-clock seconds of the epoch, its validation pass included.
    pub seconds: f64,
}

/// Trains a fresh [`BackpropNet::new`] of `settings` on `images` (one example per row) and their
/// `labels` (0–9) by back-propagation, the learner's optimizer updating every layer after each
/// minibatch. After every epoch it measures `validation` (images and labels) when given and
/// calls `on_epoch` with the epoch's record; an error from `on_epoch` (e.g.
/// [`Error::Interrupted`]) stops training and is returned. Returns the trained network and the
/// record of every epoch.
///
/// Fails, before any training, with an error naming the problem when the settings are invalid
/// ([`BackpropSettings::validate`]), the images are not `sizes[0]` wide, there is not one label
/// per image, a label is 10 or more, the minibatch is larger than the training set, or the
/// validation set is empty or malformed in the same ways. Fails with [`Error::NonFinite`] when
/// the loss or the weights stop being finite (the training diverged: try a smaller
/// `learning.lr`).
pub fn train(
    dev: &Device,
    settings: &BackpropSettings,
    images: ArrayView2<'_, f32>,
    labels: &[u8],
    validation: Option<(ArrayView2<'_, f32>, &[u8])>,
    on_epoch: &mut dyn FnMut(&BaselineEpoch) -> Result<()>,
) -> Result<(BackpropNet, Vec<BaselineEpoch>)> {
    settings.validate()?;
    check_examples(settings.sizes[0], images, labels, "training")?;
    if let Some((v_images, v_labels)) = validation {
        if v_images.nrows() == 0 {
            return Err(Error::Usage(format!(
                "{WHAT}: the validation set is empty; pass no validation set instead"
            )));
        }
        check_examples(settings.sizes[0], v_images, v_labels, "validation")?;
    }
    let (n, b) = (images.nrows(), settings.batch_size);
    if b > n {
        return Err(Error::config(
            "baseline.batch_size",
            format!("{b} is larger than the {n} training examples"),
        ));
    }
    let cfg = &settings.learning;
    let mut net = BackpropNet::new(settings);
    let mut order_rng = Seed(settings.seed).stream("baseline/order");
    let mut opts: Vec<MapOptimizer> = net
        .layers
        .iter()
        .map(|m| MapOptimizer::new(cfg.optimizer, m))
        .collect();
    let mut grads: Vec<Gradient> = net
        .layers
        .iter()
        .map(|m| Gradient::new(cfg.optimizer, m))
        .collect();
    let mut pass = Pass::new(&net, b);
    let mut x = Matrix::zeros((b, settings.sizes[0]));
    let mut t = Matrix::zeros((b, CLASSES));
    let steps = n / b;
    let mut history = Vec::with_capacity(settings.epochs);
    for epoch in 0..settings.epochs {
        let started = Instant::now();
        let lr = cfg.rate_at(epoch) as f32;
        let order = epoch_order(n, &mut order_rng);
        let (loss_sum, wrong) = dev.install(|| {
            let (mut loss_sum, mut wrong) = (0.0f64, 0usize);
            for (step, rows) in order.chunks_exact(b).enumerate() {
                gather_rows(images, rows, x.view_mut());
                one_hot(labels, rows, t.view_mut());
                let loss = pass.run(dev, &net, x.view(), t.view());
                if !loss.is_finite() {
                    return Err(Error::NonFinite {
                        layer: format!("{WHAT}'s loss"),
                        step: format!("epoch {}, minibatch {}", epoch + 1, step + 1),
                    });
                }
                loss_sum += loss;
                let predicted = dev.row_argmax(pass.output());
                wrong += predicted
                    .iter()
                    .zip(rows)
                    .filter(|&(&p, &r)| p != usize::from(labels[r]))
                    .count();
                for (l, map) in net.layers.iter_mut().enumerate() {
                    let delta = pass.delta(l, x.view(), loss);
                    opts[l].apply(dev, cfg, map, &delta, lr, &mut grads[l]);
                }
            }
            Ok((loss_sum, wrong))
        })?;
        check_weights(dev, &net, epoch + 1)?;
        let validation_error = validation
            .map(|(v_images, v_labels)| error_rate(&net.predict(dev, v_images), v_labels));
        let record = BaselineEpoch {
            epoch: epoch + 1,
            train_loss: loss_sum / steps as f64,
            train_error: wrong as f64 / (steps * b) as f64,
            validation_error,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_epoch(&record)?;
        history.push(record);
    }
    Ok((net, history))
}

/// The examples must fit the network: `width` values per image, one label per image, each
/// below 10. `which` is "training" or "validation".
fn check_examples(
    width: usize,
    images: ArrayView2<'_, f32>,
    labels: &[u8],
    which: &str,
) -> Result<()> {
    if images.ncols() != width {
        return Err(Error::Shape {
            op: "back-propagation baseline",
            expected: format!("{which} images of {width} values (sizes[0])"),
            got: format!("{} values per row", images.ncols()),
        });
    }
    if labels.len() != images.nrows() {
        return Err(Error::Shape {
            op: "back-propagation baseline",
            expected: format!("{} {which} labels, one per image", images.nrows()),
            got: format!("{} labels", labels.len()),
        });
    }
    if let Some((i, &y)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &y)| usize::from(y) >= CLASSES)
    {
        return Err(Error::Usage(format!(
            "{WHAT} knows {CLASSES} classes (labels 0–{}), got the label {y} for {which} \
             example {i}",
            CLASSES - 1
        )));
    }
    Ok(())
}

/// `t_i = onehot(labels[rows[i]])`.
fn one_hot(labels: &[u8], rows: &[usize], mut t: ArrayViewMut2<'_, f32>) {
    t.fill(0.0);
    for (i, &r) in rows.iter().enumerate() {
        t[[i, usize::from(labels[r])]] = 1.0;
    }
}

/// Every weight and bias must still be finite after an epoch.
fn check_weights(dev: &Device, net: &BackpropNet, epoch: usize) -> Result<()> {
    for (l, map) in net.layers.iter().enumerate() {
        let bias = map.bias.view().insert_axis(ndarray::Axis(0));
        if !(dev.all_finite(map.weight.view()) && dev.all_finite(bias)) {
            return Err(Error::NonFinite {
                layer: format!("{WHAT}'s layer {} weights", l + 1),
                step: format!("the end of epoch {epoch}"),
            });
        }
    }
    Ok(())
}

/// The activations and errors of one minibatch.
struct Pass {
    /// `acts[l]` = h_{l+1}, the output of layer l + 1 (the last one is y).
    acts: Vec<Matrix>,
    /// `errors[l]` = e_{l+1}.
    errors: Vec<Matrix>,
    /// Each example's `Σ_j (y_bj − t_bj)²`.
    row_sse: Array1<f64>,
    /// `2 / B`.
    scale: f32,
}

impl Pass {
    fn new(net: &BackpropNet, batch: usize) -> Self {
        let widths = || net.layers.iter().map(|m| Matrix::zeros((batch, m.n_out())));
        Self {
            acts: widths().collect(),
            errors: widths().collect(),
            row_sse: Array1::zeros(batch),
            scale: 2.0 / batch.max(1) as f32,
        }
    }

    /// The forward and backward pass on `(x, t)`: fills every layer's output and error and
    /// returns the loss `(1/B) Σ (y − t)²`.
    fn run(
        &mut self,
        dev: &Device,
        net: &BackpropNet,
        x: ArrayView2<'_, f32>,
        t: ArrayView2<'_, f32>,
    ) -> f64 {
        let k = net.layers.len();
        for (l, map) in net.layers.iter().enumerate() {
            let (done, rest) = self.acts.split_at_mut(l);
            let input = if l == 0 { x } else { done[l - 1].view() };
            map.forward(dev, input, rest[0].view_mut());
        }
        // e_K = (y − t) ⊙ φ'_K(y): the learner's output error
        let sse = dev.output_error(
            self.errors[k - 1].view_mut(),
            self.acts[k - 1].view(),
            t,
            net.layers[k - 1].activation,
            self.row_sse.view_mut(),
        );
        // e_{l−1} = (e_l·W_lᵀ) ⊙ φ'_{l−1}(h_{l−1})
        for l in (1..k).rev() {
            let (below, here) = self.errors.split_at_mut(l);
            dev.matmul(
                1.0,
                here[0].view(),
                net.layers[l].weight.t(),
                0.0,
                below[l - 1].view_mut(),
            );
            dev.slope_backward(
                below[l - 1].view_mut(),
                self.acts[l - 1].view(),
                net.layers[l - 1].activation,
            );
        }
        sse / x.nrows().max(1) as f64
    }

    /// The output y of the last [`Pass::run`].
    fn output(&self) -> ArrayView2<'_, f32> {
        self.acts[self.acts.len() - 1].view()
    }

    /// Layer `l`'s learning signal `(h_{l−1}, e_l, 2/B)` (0-based `l`; `h₀ = x`), carrying the
    /// network's loss.
    fn delta<'a>(&'a self, l: usize, x: ArrayView2<'a, f32>, loss: f64) -> LocalDelta<'a> {
        LocalDelta {
            input: if l == 0 { x } else { self.acts[l - 1].view() },
            error: self.errors[l].view(),
            scale: self.scale,
            loss,
            bias: None,
        }
    }
}

#[cfg(test)]
mod tests;
