//! The `[supervised]` section: the label y as an observed layer of the directed model (paper
//! abstract, §2 and §9: the error signal target propagation carries comes from whichever layer is
//! observed — the sensors x or a layer holding the target y).
//!
//! With `enabled = true` the **top** layer of `[[model.layers]]` is the label layer y (10 units,
//! one-hot): the chain is `x → h_1 → … → h_{L−1} → y` and
//!
//! ```text
//! p(x, h, y) = p(x | h_1) · Π p(h_l | h_{l+1}) · p(h_{L−1} | y) · p(y)
//! ```
//!
//! Training clamps y to the label, so INFERENCE carries the label's pressure down through the
//! hidden layers (the top-down term `α_y·(g_L(y) − h_{L−1})` of the layer below the label, then
//! layer after layer); the M-step is the unsupervised one, unchanged. Prediction leaves y free
//! (see [`crate::eval::classify`]).
//!
//! With `labels = N > 0` only N training examples (N/10 of each class, drawn from the seed) keep
//! their label: semi-supervised learning ([`crate::data::labelled`]).

use serde::{Deserialize, Serialize};

use super::{Validate, check};
use crate::error::Result;

/// Number of classes of MNIST and Fashion-MNIST: the width of the label layer.
pub const CLASSES: usize = 10;

/// Supervised and semi-supervised learning with the label as the top layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisedConfig {
    /// The top layer of `model.layers` is the label y, clamped during training [default: false,
    /// the paper's unsupervised experiment].
    pub enabled: bool,
    /// Labelled training examples: 0 = every one (supervised); N = N examples, N/10 per class,
    /// drawn from the seed, the rest unlabelled (semi-supervised). Must be a multiple of 10.
    pub labels: usize,
    /// Semi-supervised: labelled examples in every minibatch of `train.batch_size`, drawn in turn
    /// from fresh permutations of the labelled set, so that they are not drowned by the
    /// unlabelled ones; the other `batch_size − labelled_per_batch` come from a pass over every
    /// training example with its label hidden [default: 20].
    pub labelled_per_batch: usize,
    /// `α_y`: the weight of the label's top-down term `α_y·(g_L(y) − h_{L−1})` on the layer below
    /// it (the other layers keep `inference.alpha`) [measured: experiments/mnist-supervised].
    pub label_alpha: f32,
    /// The form of the label's pressure on `h_{L−1}` [measured: experiments/mnist-supervised].
    pub label_term: LabelTerm,
    /// INFERENCE iterations at prediction time, with y free (0 = the feed-forward pass alone)
    /// [default: 15, Algorithm 2's N].
    pub predict_steps: usize,
    /// Also train the back-propagation baseline of the same network ([`crate::baselines`]) into
    /// the run folder (`baseline.safetensors`, `baseline.json`) [default: true].
    pub baseline: bool,
    /// The baseline's learning rate (`learning.lr` when unset): the same optimizer at a rate
    /// chosen for back-propagation on the validation split, so that the baseline is not handicapped
    /// by a rate tuned for the local rules.
    pub baseline_lr: Option<f64>,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            labels: 0,
            labelled_per_batch: 20,
            label_alpha: 0.1,
            label_term: LabelTerm::Prior,
            predict_steps: 15,
            baseline: true,
            baseline_lr: None,
        }
    }
}

/// How the clamped label y pulls the layer below it, `h ← h + … + α_y·(target − h)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelTerm {
    /// y as the parent of `h_{L−1}` in the directed model, `p(h_{L−1} | y) = N(g_L(y), I)`: the
    /// exact gradient, target `g_L(y)` (the same for every example of a class).
    Prior,
    /// y as an observed child of `h_{L−1}`, `p(y | h_{L−1}) = N(f_L(h_{L−1}), I)`, with the
    /// paper's targetprop estimate of its gradient (Eq. 12, the roles of f and g exchanged):
    /// target `h_{L−1} + g_L(y) − g_L(f_L(h_{L−1}))`, the difference target of Lee et al.
    /// (2015), zero when the example is already classified as its label.
    Targetprop,
}

impl SupervisedConfig {
    /// True when only part of the training set is labelled.
    pub fn semi_supervised(&self) -> bool {
        self.enabled && self.labels > 0
    }
}

impl Validate for SupervisedConfig {
    fn validate(&self) -> Result<()> {
        check(
            self.labels.is_multiple_of(CLASSES),
            "supervised.labels",
            "must be 0 (all) or a multiple of 10 (the labelled set is balanced across classes)",
        )?;
        check(
            self.label_alpha.is_finite() && (0.0..=10.0).contains(&self.label_alpha),
            "supervised.label_alpha",
            "must be in [0, 10]",
        )?;
        if let Some(lr) = self.baseline_lr {
            check(
                lr.is_finite() && lr > 0.0 && lr <= 10.0,
                "supervised.baseline_lr",
                "must be in (0, 10]",
            )?;
        }
        check(
            self.predict_steps <= 100_000,
            "supervised.predict_steps",
            "must be at most 100000",
        )
    }
}
