//! The configuration of a training run of the paper's learner (Algorithm 2). Two presets:
//!
//! * [`Config::paper`] (`--preset paper`): the paper's experiment, Algorithm 2 literally, with
//!   our gap-filling choices where the paper is silent;
//! * [`Config::default`]: bpdl's default, the best configuration measured on validation data
//!   (`experiments/parzen-search`): the paper's with three changes, x corrupted by Gaussian noise
//!   of standard deviation 0.5 (not 0.3) in the M-step, a full-covariance top prior and a learned
//!   variance of `p(x | h_1)` (`experiments/inference-fidelity`). Both are reported side by side
//!   by `bpdl reproduce`.
//!
//! The section types' own `Default`s (e.g. [`ModelConfig::default`]) are the paper's.
//!
//! Every default cites where it comes from: **[paper §8]** for what the paper states, **[gap Gn]**
//! for our gap-filling choice (`docs/paper-gaps.md`), **[measured]** for a value we
//! established by experiment (see `experiments/README.md`).

use serde::{Deserialize, Serialize};

use super::spiking::{LearningRule, SpikingLearningConfig};
use super::spiking_inference::{Dynamics, SpikingInferenceConfig};
use super::supervised::{CLASSES, SupervisedConfig};
use super::{Validate, check, positive_finite};
use crate::activation::Activation;
use crate::data::Dataset;
use crate::error::Result;

/// A whole training run: data, model, E-step, M-step, schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Master seed; every random stream of the run derives from it.
    pub seed: u64,
    /// Which data, how much of it.
    pub data: DataConfig,
    /// Layer sizes, non-linearities, corruption, initialisation.
    pub model: ModelConfig,
    /// The E-step (INFERENCE of Algorithm 2).
    pub inference: InferenceConfig,
    /// The M-step (local learning rules and the optimizer).
    pub learning: LearningConfig,
    /// Epochs, minibatches, top prior.
    pub train: TrainConfig,
    /// GENERATE (Algorithm 2) and the other samplers.
    pub generate: GenerateConfig,
    /// The label as the observed top layer (supervised and semi-supervised learning; off in the
    /// paper's experiment).
    pub supervised: SupervisedConfig,
}

/// bpdl's default: [`Config::paper`] with x corrupted by σ = 0.5 (not 0.3), a
/// full-covariance top prior, the best configuration measured on validation data
/// [measured: experiments/parzen-search, GENERATE 246.8 and 248.3 on validation (seeds 1, 2)
/// against 231.3 for the paper's corruption with the same prior], and the variance of
/// `p(x | h_1)` learned (it changes no learning step, only the model's density `log p(x, h)`;
/// under it Algorithm 2's E-step climbs, experiments/inference-fidelity).
impl Default for Config {
    fn default() -> Self {
        let mut c = Self::paper();
        c.model.input_corruption = CorruptionConfig::Gaussian { std: 0.5 };
        c.train.prior_covariance = PriorCovariance::Full;
        c.model.conditional_variance = ConditionalVariance::Learned;
        c
    }
}

/// A named starting configuration (`--preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// bpdl's default ([`Config::default`]).
    Default,
    /// The paper's experiment, Algorithm 2 literally ([`Config::paper`]).
    Paper,
}

impl Preset {
    /// The configuration it names.
    pub fn config(self) -> Config {
        match self {
            Self::Default => Config::default(),
            Self::Paper => Config::paper(),
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "default" => Ok(Self::Default),
            "paper" => Ok(Self::Paper),
            other => Err(crate::error::Error::config(
                "--preset",
                format!("`{other}` is not a preset; use `default` or `paper`"),
            )),
        }
    }
}

impl Config {
    /// The paper's experiment (§8, Algorithm 2) as written: 784 → 1000 softplus → 100 sigmoid,
    /// N = 15, δ = 0.1, α = 0.001, 20 epochs of minibatches of 100, the diagonal top prior with
    /// 4 × the variances; where the paper is silent, the choices of `docs/paper-gaps.md` (SGD
    /// lr 0.01, Glorot initialisation, Gaussian corruption 0.3 of x and h1, …). This is
    /// `experiments/mnist-reproduction/config.toml`.
    pub fn paper() -> Self {
        Self {
            seed: 1,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            inference: InferenceConfig::default(),
            learning: LearningConfig::default(),
            train: TrainConfig::default(),
            generate: GenerateConfig::default(),
            supervised: SupervisedConfig::default(),
        }
    }
}

/// Which data, how much of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `mnist` [paper §8] or `fashion-mnist`.
    pub dataset: Dataset,
    /// Use only the first N training images (0 = all 50,000).
    pub train_limit: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: Dataset::Mnist,
            train_limit: 0,
        }
    }
}

/// How a layer's value is corrupted before it is fed to the maps that read it in the M-step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum CorruptionConfig {
    /// No corruption.
    None,
    /// `x̃ = x + std·ε`, ε ~ N(0, 1) [paper §8: "Gaussian-corrupted"].
    Gaussian {
        /// The noise standard deviation.
        std: f32,
    },
    /// `h̃ = mean of `samples` Bernoulli(h)` [paper §8: 3 samples, for the sigmoid top layer].
    Spikes {
        /// How many Bernoulli samples are averaged.
        samples: u32,
    },
}

/// One latent layer h_l with its pair of maps: the encoder f_l (layer l−1 → l) and the decoder
/// g_l (layer l → l−1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    /// Number of units of h_l.
    pub size: usize,
    /// Non-linearity of h_l's units, i.e. of the encoder f_l.
    pub activation: Activation,
    /// Output non-linearity of the decoder g_l (which reconstructs layer l−1).
    pub decoder_activation: Activation,
    /// Corruption of h_l when it is the input of g_l and f_{l+1} in the M-step.
    pub corruption: CorruptionConfig,
    /// Learning rate of f_l (default: `learning.lr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_lr: Option<f64>,
    /// Learning rate of g_l (default: `learning.lr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_lr: Option<f64>,
}

impl LayerConfig {
    /// A layer of `size` units with encoder non-linearity `activation`, decoder output
    /// non-linearity `decoder_activation` and M-step corruption `corruption`, learning at the
    /// global rate.
    pub fn new(
        size: usize,
        activation: Activation,
        decoder_activation: Activation,
        corruption: CorruptionConfig,
    ) -> Self {
        Self {
            size,
            activation,
            decoder_activation,
            corruption,
            encoder_lr: None,
            decoder_lr: None,
        }
    }
}

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitScheme {
    /// U(±√(6/(fan_in + fan_out))) (Glorot & Bengio 2010), zero biases.
    GlorotUniform,
    /// Glorot-scaled random orthogonal matrix (DTP code's `rand_ortho`), zero biases.
    Orthogonal,
}

/// The generative model's architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Corruption of x when it is the input of f_1 in the M-step [gap G5: Gaussian 0.3].
    pub input_corruption: CorruptionConfig,
    /// The latent layers h_1 … h_L, bottom first.
    pub layers: Vec<LayerConfig>,
    /// Weight initialisation [gap G3: Glorot uniform, zero biases].
    pub init: InitScheme,
    /// The variances σ_l² of the Gaussian conditionals `p(h_{l−1} | h_l)`: `"unit"` (1, as in
    /// Algorithm 2), `"learned"` (σ_1² of `p(x | h_1)` alone, its running maximum-likelihood
    /// estimate at the inferred values, [`crate::model::noise_variance`]) or `"learned-all"`
    /// (every layer's; degenerate) [gap G12: unit].
    pub conditional_variance: ConditionalVariance,
}

/// How σ_l² of `p(h_{l−1} | h_l) = N(g_l(h_l), σ_l² I)` is set ([`ModelConfig::conditional_variance`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionalVariance {
    /// σ_l² = 1 (Algorithm 2; gap G12).
    #[default]
    Unit,
    /// σ_1² of the observed layer, `p(x | h_1)`, learned during training from g_1's residuals
    /// at the inferred values; the latent conditionals keep σ_l² = 1.
    Learned,
    /// Every σ_l² learned. With point-estimate inference this is degenerate (h_l can sit on
    /// g_{l+1}(h_{l+1}) and drive σ_{l+1}² to 0, so `log p(x, h)` grows without bound); kept to
    /// measure that.
    LearnedAll,
}

impl ModelConfig {
    /// The corruption of layer `l` in the M-step (l = 0 is x).
    ///
    /// # Panics
    /// If `l` exceeds the number of latent layers.
    pub fn corruption(&self, l: usize) -> CorruptionConfig {
        if l == 0 {
            self.input_corruption
        } else {
            self.layers[l - 1].corruption
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            input_corruption: CorruptionConfig::Gaussian { std: 0.3 },
            layers: vec![
                // [paper §8] 1000 softplus units; g1 sigmoid because pixels lie in [0,1] [gap G4];
                // Gaussian corruption 0.3 [gap G5].
                LayerConfig::new(
                    1000,
                    Activation::Softplus,
                    Activation::Sigmoid,
                    CorruptionConfig::Gaussian { std: 0.3 },
                ),
                // [paper §8] 100 sigmoid units with "spike-like" corruption: mean of 3 Bernoulli
                // samples; g2 softplus to live in h1's range [gap G4].
                LayerConfig::new(
                    100,
                    Activation::Sigmoid,
                    Activation::Softplus,
                    CorruptionConfig::Spikes { samples: 3 },
                ),
            ],
            init: InitScheme::GlorotUniform,
            conditional_variance: ConditionalVariance::Unit,
        }
    }
}

/// INFERENCE (the E-step): N iterations of
/// `h_l ← h_l + δ·(f_l(h_{l−1}) − f_l(g_l(h_l))) + α·(g_{l+1}(h_{l+1}) − h_l)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InferenceConfig {
    /// N, the number of iterations [paper §8, Algorithm 2: 15].
    pub steps: usize,
    /// δ, the targetprop step size [paper Algorithm 2: 0.1].
    pub delta: f32,
    /// α, the weight of the top-down term [paper Algorithm 2: 0.001 in training].
    pub alpha: f32,
    /// Standard deviation of Gaussian noise added to every h update (Langevin-like, no rejection;
    /// paper §3 Algorithm 1 "optional: add noise"); 0 = off, as in Algorithm 2 [gap G10].
    pub noise_std: f32,
    /// Whether an iteration's update is kept whatever it does to `log p(x, h)` (`"always"`,
    /// Algorithm 2) or only where it raises it (`"if-better"`: per example, a step that lowers
    /// the objective is undone and that example's step size halved, a backtracking line search)
    /// [gap G18].
    pub accept: Acceptance,
    /// How the bottom-up targetprop term and the top-down term of a layer are weighted:
    /// `"fixed"` (δ and α as given, Algorithm 2) or `"gauss-newton"` (per example, from the
    /// measured scale of the decoder's Jacobian; α is then unused) [gap G18].
    pub weighting: Weighting,
    /// δ of the first latent layer h_1 alone (the one with both a bottom-up and a top-down
    /// term in the paper's two-layer model); unset = δ [gap G18].
    pub first_layer_delta: Option<f32>,
    /// β of the top layer's prior term `β·(ĥ(h_L) − h_L)`, with ĥ the lateral prior's
    /// prediction of each unit from the others (paper §9); used only when the model's top prior
    /// has a lateral part, so never during training (the prior is fitted after it); 0 = off.
    pub top_prior_alpha: f32,
    /// The form of the top-down term of a hidden layer: `"prior"`, `α·(g_{l+1}(h_{l+1}) − h_l)`
    /// (Algorithm 2), or `"difference"`, `α·(g_{l+1}(h_{l+1}) − g_{l+1}(f_{l+1}(h_l)))`, the
    /// difference target of difference target propagation (Lee et al. 2015): the layer above
    /// pulls only by as much as it was moved away from the prediction of this layer.
    pub top_down: TopDown,
    /// `"rate"` (Algorithm 2's updates) or `"spiking"` (the same terms delivered by Poisson
    /// spikes and integrated by membranes in continuous time, [`crate::inference::spiking`];
    /// issue 14 stage b). The spiking dynamics implement the Algorithm 2 form only: `accept =
    /// "always"`, `weighting = "fixed"`, `top_down = "prior"`, no noise, no lateral prior term.
    pub dynamics: Dynamics,
    /// The simulation of the spiking dynamics (`[inference.spiking]`).
    pub spiking: SpikingInferenceConfig,
}

/// The top-down term of INFERENCE ([`InferenceConfig::top_down`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopDown {
    /// `α·(g_{l+1}(h_{l+1}) − h_l)`, the exact gradient of `α log N(h_l; g_{l+1}(h_{l+1}), I)`
    /// (Algorithm 2).
    #[default]
    Prior,
    /// `α·(g_{l+1}(h_{l+1}) − g_{l+1}(f_{l+1}(h_l)))` (difference target propagation).
    Difference,
}

/// The weighting of INFERENCE's two terms ([`InferenceConfig::weighting`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// `δ·(f(h_below) − f(g(h))) + α·(g_above(h_above) − h)` (Algorithm 2).
    #[default]
    Fixed,
    /// The two terms weighted as one Gauss–Newton step on `log p(h_below | h) + log p(h |
    /// h_above)`: with `s²` the mean squared singular value of the decoder's Jacobian `J`
    /// (`JᵀJ ≈ s²I`), the step `δ·(JᵀJ + I)⁻¹(Jᵀr + (g_above − h))` becomes
    /// `δ·s²/(1 + s²)·(f(h_below) − f(g(h))) + δ/(1 + s²)·(g_above − h)`, the targetprop term
    /// standing for `J⁺r`. Layers without a top-down term keep δ. With learned variances
    /// (`model.conditional_variance = "learned"`) the step is `(JᵀJ/σ_l² + I/σ_{l+1}²)⁻¹(…)`:
    /// `s²` is multiplied by `σ_{l+1}²/σ_l²`.
    GaussNewton,
}

/// Which INFERENCE updates are kept ([`InferenceConfig::accept`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acceptance {
    /// Every update (Algorithm 2 as written).
    #[default]
    Always,
    /// Per example, only updates that do not lower `log p(x, h)`; a rejected step is undone and
    /// the example's step size (δ and α together) halved.
    IfBetter,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            steps: 15,
            delta: 0.1,
            alpha: 0.001,
            noise_std: 0.0,
            accept: Acceptance::Always,
            weighting: Weighting::Fixed,
            first_layer_delta: None,
            top_prior_alpha: 0.0,
            top_down: TopDown::Prior,
            dynamics: Dynamics::Rate,
            spiking: SpikingInferenceConfig::default(),
        }
    }
}

/// The optimizer applied to each map's local gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain SGD, no momentum [gap G1, measured: the only one that trains stably].
    Sgd,
    /// RMSprop (Tieleman & Hinton 2012).
    Rmsprop,
    /// Adam (Kingma & Ba 2015).
    Adam,
}

impl Optimizer {
    /// Which moments its state keeps: (first, second).
    pub fn moments(self) -> (bool, bool) {
        match self {
            Self::Sgd => (false, false),
            Self::Rmsprop => (false, true),
            Self::Adam => (true, true),
        }
    }
}

/// The M-step: local squared-error rules and the optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearningConfig {
    /// [gap G1] plain SGD.
    pub optimizer: Optimizer,
    /// ε, the learning rate of every map without its own [gap G1: 0.01 on per-example summed
    /// squared errors, mean over the minibatch].
    pub lr: f64,
    /// Learning rate multiplied by this after every epoch (1 = constant).
    pub lr_decay: f64,
    /// RMSprop's decay of the squared-gradient average.
    pub rmsprop_decay: f64,
    /// Adam's β₁.
    pub adam_beta1: f64,
    /// Adam's β₂.
    pub adam_beta2: f64,
    /// ε of RMSprop and Adam's denominators.
    pub optimizer_eps: f64,
    /// The local rule that turns each map's error into a weight change: `"rate"`, its
    /// closed-form gradient (Algorithm 2, the default), or `"spiking"`, Eq. 1 in a network of
    /// spiking neurons, the same step in expectation ([`crate::learning::spiking`]).
    pub rule: LearningRule,
    /// The simulation of the spiking rule (read only with `rule = "spiking"`).
    pub spiking: SpikingLearningConfig,
    /// The rate rule with every map's corrupted input clipped to `[0, s]` first, as the spiking
    /// rule's must be (s of `[learning.spiking]`: 1 for x and sigmoid layers, `unbounded_scale`
    /// otherwise): the control that differs from a spiking run by the spike noise alone
    /// [default: false, Algorithm 2's unclipped inputs; the spiking rule always clips].
    pub clip_inputs: bool,
}

impl LearningConfig {
    /// The learning rate of maps without their own in epoch `epoch` (0-based):
    /// `lr · lr_decay^epoch`.
    pub fn rate_at(&self, epoch: usize) -> f64 {
        self.lr * self.lr_decay.powi(epoch.min(i32::MAX as usize) as i32)
    }
}

impl Default for LearningConfig {
    fn default() -> Self {
        Self {
            optimizer: Optimizer::Sgd,
            lr: 0.01,
            lr_decay: 1.0,
            rmsprop_decay: 0.9,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            optimizer_eps: 1e-8,
            rule: LearningRule::Rate,
            spiking: SpikingLearningConfig::default(),
            clip_inputs: false,
        }
    }
}

/// The covariance of the top prior p(h_L) fitted after training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorCovariance {
    /// Per-unit variances [paper §8: "the empirical mean and variance"].
    Diagonal,
    /// The full empirical covariance (an extension: the inferred top units are correlated).
    Full,
}

/// The training schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training set [paper §8: 20].
    pub epochs: usize,
    /// Examples per minibatch [paper §8: 100].
    pub batch_size: usize,
    /// The top prior p(h_L) is N(mean, scale·var) of the inferred training codes [paper §8: 4].
    pub prior_variance_scale: f32,
    /// Diagonal [paper §8] or full covariance of the top prior.
    pub prior_covariance: PriorCovariance,
    /// Lateral connections within the top layer (an extension, paper §9), fitted after the
    /// Gaussian; `kind = "none"` (the default) keeps the Gaussian alone.
    pub lateral_prior: LateralPriorConfig,
    /// Validation images on which INFERENCE (the training settings) is run after every epoch and
    /// recorded with each term of `log p(x, h)` in `metrics.jsonl` (0 = none) [default: 1000].
    pub heldout_examples: usize,
    /// Write TensorBoard event files into the run folder's `tb/` (every number of
    /// `metrics.jsonl` per epoch and, from the held-out images, a GENERATE grid and histograms
    /// of the inferred codes; [`crate::run::tensorboard`]); training is the same either way
    /// [default: true].
    pub tensorboard: bool,
}

/// Which conditionals the lateral top prior uses ([`crate::model::lateral`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LateralKind {
    /// No lateral part: the top prior is the Gaussian alone [paper §8].
    None,
    /// `h_i | h_{−i} ~ N(Σ_j V_ij h_j + c_i, s_i²)`: at its optimum, the full-covariance
    /// Gaussian's conditionals.
    Linear,
    /// `h_i | h_{−i} ~ Bernoulli(sigm(Σ_j V_ij h_j + c_i))`: a dependency network for near-binary
    /// codes (sigmoid top units).
    Sigmoid,
}

impl LateralKind {
    /// The conditionals of the lateral prior, `None` for no lateral part.
    pub fn conditional(self) -> Option<crate::model::lateral::Conditional> {
        use crate::model::lateral::Conditional;
        match self {
            Self::None => None,
            Self::Linear => Some(Conditional::Linear),
            Self::Sigmoid => Some(Conditional::Sigmoid),
        }
    }
}

/// The lateral top prior (paper §9, "lateral connections to implement priors among neurons of a
/// layer"): each top unit predicts itself from the others, learnt by the local delta rule on the
/// inferred top codes of the training set, sampled by Gibbs sweeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LateralPriorConfig {
    /// `none` (default), `linear` or `sigmoid`.
    pub kind: LateralKind,
    /// Passes of the delta rule over the inferred top codes [default: 20, a choice].
    pub epochs: usize,
    /// η of `ΔV_ij = −η (ĥ_i − h_i) h_j` (mean over the minibatch) [default: 0.01, below the
    /// stability bound 2(1 + momentum)/λ_max(E(h̄h̄ᵀ)) with h̄ = (h, 1), which is at least
    /// 2(1 + momentum)/(n + 1) = 0.038 for n = 100 codes in the unit interval].
    pub lr: f64,
    /// Heavy-ball momentum of the updates [default: 0.9].
    pub momentum: f64,
    /// Codes per minibatch of the fit [default: 100, as in training].
    pub batch_size: usize,
    /// Gibbs sweeps (every unit once, in order) of the sampling chain started from the Gaussian
    /// draw [default: 20].
    pub sweeps: usize,
}

impl Default for LateralPriorConfig {
    fn default() -> Self {
        Self {
            kind: LateralKind::None,
            epochs: 20,
            lr: 0.01,
            momentum: 0.9,
            batch_size: 100,
            sweeps: 20,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 100,
            prior_variance_scale: 4.0,
            prior_covariance: PriorCovariance::Diagonal,
            lateral_prior: LateralPriorConfig::default(),
            heldout_examples: 1000,
            tensorboard: true,
        }
    }
}

/// GENERATE (Algorithm 2): ancestral start, then `rounds` × (INFERENCE with `alpha`, x ← g1(h1)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateConfig {
    /// Rounds of inference and decoding [paper Algorithm 2: 3].
    pub rounds: usize,
    /// α of the inference inside GENERATE [paper Algorithm 2: 0.3].
    pub alpha: f32,
    /// Steps of the §5.1 joint-DAE chain [not in the paper; an independent implementation's
    /// Parzen score peaked near 10 steps].
    pub joint_dae_steps: usize,
    /// Samples drawn for the Parzen evaluation [GAN/GSN protocol: 10,000].
    pub samples: usize,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            rounds: 3,
            alpha: 0.3,
            joint_dae_steps: 10,
            samples: 10_000,
        }
    }
}

/// The whole run: each section checks its own keys (in this order, so the first key out of range
/// is the one reported), then the one rule that spans two sections.
impl Validate for Config {
    fn validate(&self) -> Result<()> {
        self.train.validate()?;
        check(
            self.data.train_limit == 0 || self.data.train_limit >= self.train.batch_size,
            "data.train_limit",
            "must be 0 (all) or at least train.batch_size",
        )?;
        self.inference.validate()?;
        self.learning.validate()?;
        self.model.validate()?;
        self.generate.validate()?;
        self.supervised.validate()?;
        if self.supervised.enabled {
            let layers = &self.model.layers;
            check(
                layers.len() >= 2 && layers.last().is_some_and(|l| l.size == CLASSES),
                "model.layers",
                "with supervised.enabled the top layer is the label: it must have size 10, above \
                 at least one hidden layer",
            )?;
        }
        if self.supervised.semi_supervised() {
            check(
                (1..self.train.batch_size).contains(&self.supervised.labelled_per_batch),
                "supervised.labelled_per_batch",
                "must be at least 1 and below train.batch_size",
            )?;
        }
        Ok(())
    }
}

impl Validate for TrainConfig {
    fn validate(&self) -> Result<()> {
        check(
            (1..=100_000).contains(&self.epochs),
            "train.epochs",
            "must be between 1 and 100000",
        )?;
        check(
            (1..=100_000).contains(&self.batch_size),
            "train.batch_size",
            "must be between 1 and 100000",
        )?;
        check(
            positive_finite(f64::from(self.prior_variance_scale)),
            "train.prior_variance_scale",
            "must be a positive number (the paper uses 4)",
        )?;
        self.lateral_prior.validate()
    }
}

impl Validate for LateralPriorConfig {
    fn validate(&self) -> Result<()> {
        check(
            (1..=100_000).contains(&self.epochs),
            "train.lateral_prior.epochs",
            "must be between 1 and 100000",
        )?;
        check(
            positive_finite(self.lr) && self.lr <= 10.0,
            "train.lateral_prior.lr",
            "must be in (0, 10] (default 0.01)",
        )?;
        check(
            self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum),
            "train.lateral_prior.momentum",
            "must be in [0, 1)",
        )?;
        check(
            (1..=100_000).contains(&self.batch_size),
            "train.lateral_prior.batch_size",
            "must be between 1 and 100000",
        )?;
        check(
            self.sweeps <= 100_000,
            "train.lateral_prior.sweeps",
            "must be at most 100000 (0 returns the Gaussian start)",
        )
    }
}

impl InferenceConfig {
    /// Whether the spiking dynamics implement these settings (Algorithm 2's form: every update
    /// kept, fixed weighting, the prior top-down term, no noise, no lateral prior term).
    pub fn spiking_supported(&self) -> bool {
        self.accept == Acceptance::Always
            && self.weighting == Weighting::Fixed
            && self.top_down == TopDown::Prior
            && self.noise_std == 0.0
            && self.top_prior_alpha == 0.0
    }
}

impl Validate for InferenceConfig {
    fn validate(&self) -> Result<()> {
        check(
            self.steps <= 100_000,
            "inference.steps",
            "must be at most 100000",
        )?;
        check(
            self.delta.is_finite() && self.delta > 0.0 && self.delta <= 10.0,
            "inference.delta",
            "must be in (0, 10] (the paper uses 0.1)",
        )?;
        check(
            self.alpha.is_finite() && (0.0..=10.0).contains(&self.alpha),
            "inference.alpha",
            "must be in [0, 10] (the paper uses 0.001)",
        )?;
        check(
            self.noise_std.is_finite() && self.noise_std >= 0.0,
            "inference.noise_std",
            "must be ≥ 0",
        )?;
        check(
            self.first_layer_delta
                .is_none_or(|d| d.is_finite() && d > 0.0 && d <= 10.0),
            "inference.first_layer_delta",
            "must be in (0, 10] (or left out: δ)",
        )?;
        check(
            self.top_prior_alpha.is_finite() && (0.0..=10.0).contains(&self.top_prior_alpha),
            "inference.top_prior_alpha",
            "must be in [0, 10]",
        )?;
        if self.dynamics == Dynamics::Spiking {
            check(
                self.spiking_supported(),
                "inference.dynamics",
                "= \"spiking\" implements Algorithm 2's form only: set inference.accept = \
                 \"always\", inference.weighting = \"fixed\", inference.top_down = \"prior\", \
                 inference.noise_std = 0 and inference.top_prior_alpha = 0 (or use \
                 inference.dynamics = \"rate\")",
            )?;
        }
        self.spiking.validate()
    }
}

impl Validate for LearningConfig {
    fn validate(&self) -> Result<()> {
        check(
            positive_finite(self.lr),
            "learning.lr",
            "must be a positive number",
        )?;
        check(
            positive_finite(self.lr_decay) && self.lr_decay <= 1.0,
            "learning.lr_decay",
            "must be in (0, 1]",
        )?;
        for (key, v) in [
            ("learning.rmsprop_decay", self.rmsprop_decay),
            ("learning.adam_beta1", self.adam_beta1),
            ("learning.adam_beta2", self.adam_beta2),
        ] {
            check((0.0..1.0).contains(&v), key, "must be in [0, 1)")?;
        }
        check(
            positive_finite(self.optimizer_eps),
            "learning.optimizer_eps",
            "must be a positive number",
        )?;
        self.spiking.validate()
    }
}

impl Validate for ModelConfig {
    fn validate(&self) -> Result<()> {
        check(
            !self.layers.is_empty(),
            "model.layers",
            "needs at least one latent layer",
        )?;
        check_corruption(&self.input_corruption, "model.input_corruption")?;
        for (i, layer) in self.layers.iter().enumerate() {
            layer.check(&format!("model.layers[{i}]"))?;
        }
        Ok(())
    }
}

impl LayerConfig {
    /// The ranges of one layer, its keys under `prefix` (`model.layers[i]`).
    fn check(&self, prefix: &str) -> Result<()> {
        let key = |k: &str| format!("{prefix}.{k}");
        check(
            (1..=1_000_000).contains(&self.size),
            key("size"),
            "must be between 1 and 1000000",
        )?;
        check_corruption(&self.corruption, &key("corruption"))?;
        for (name, lr) in [
            ("encoder_lr", self.encoder_lr),
            ("decoder_lr", self.decoder_lr),
        ] {
            if let Some(lr) = lr {
                check(positive_finite(lr), key(name), "must be a positive number")?;
            }
        }
        Ok(())
    }
}

impl Validate for GenerateConfig {
    fn validate(&self) -> Result<()> {
        check(
            self.rounds <= 10_000,
            "generate.rounds",
            "must be at most 10000",
        )?;
        check(
            self.alpha.is_finite() && (0.0..=10.0).contains(&self.alpha),
            "generate.alpha",
            "must be in [0, 10] (the paper uses 0.3)",
        )?;
        check(
            self.joint_dae_steps <= 100_000,
            "generate.joint_dae_steps",
            "must be at most 100000",
        )?;
        check(
            (1..=1_000_000).contains(&self.samples),
            "generate.samples",
            "must be between 1 and 1000000",
        )
    }
}

fn check_corruption(c: &CorruptionConfig, key: &str) -> Result<()> {
    match *c {
        CorruptionConfig::None => Ok(()),
        CorruptionConfig::Gaussian { std } => check(
            std.is_finite() && std >= 0.0,
            format!("{key}.std"),
            "must be ≥ 0",
        ),
        CorruptionConfig::Spikes { samples } => check(
            (1..=1000).contains(&samples),
            format!("{key}.samples"),
            "must be between 1 and 1000",
        ),
    }
}

/// A [`Config`] whose ranges have been checked ([`Config::validated`]), as linfa's `ParamGuard`
/// does: the learner takes one, so the settings are validated once per run, not per minibatch.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig(Config);

impl Config {
    /// Checks every range ([`Validate`]) and returns the validated config.
    pub fn validated(self) -> Result<ValidConfig> {
        self.validate()?;
        Ok(ValidConfig(self))
    }
}

impl std::ops::Deref for ValidConfig {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve;

    /// A file or `--set` that names another corruption kind than the default's replaces the
    /// default's table (its `std` is not a field of `spikes`); the same kind keeps the default's
    /// fields; a new kind without its own field is an error naming it.
    #[test]
    fn a_corruption_kind_can_be_switched_from_a_file_or_a_set() {
        let default = Config::default().model.input_corruption;
        assert!(matches!(default, CorruptionConfig::Gaussian { .. }));
        let c: Config = crate::config::from_toml_str(
            "[model.input_corruption]\nkind = \"spikes\"\nsamples = 1\n",
        )
        .unwrap();
        assert_eq!(
            c.model.input_corruption,
            CorruptionConfig::Spikes { samples: 1 }
        );
        let c: Config =
            crate::config::from_toml_str("[model.input_corruption]\nkind = \"gaussian\"\n")
                .unwrap();
        assert_eq!(c.model.input_corruption, default);
        let c: Config = resolve(
            None,
            &[
                "model.input_corruption.kind=\"spikes\"".into(),
                "model.input_corruption.samples=2".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            c.model.input_corruption,
            CorruptionConfig::Spikes { samples: 2 }
        );
        let err = resolve::<Config>(None, &["model.input_corruption.kind=\"spikes\"".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("samples"), "{err}");
    }

    #[test]
    fn the_defaults_are_the_papers_experiment() {
        let c = Config::default();
        assert_eq!(
            (c.inference.steps, c.inference.delta, c.inference.alpha),
            (15, 0.1, 0.001)
        );
        assert_eq!((c.train.epochs, c.train.batch_size), (20, 100));
        let sizes: Vec<_> = c.model.layers.iter().map(|l| l.size).collect();
        assert_eq!(sizes, vec![1000, 100]);
        assert_eq!(c.model.layers[0].activation, Activation::Softplus);
        assert_eq!(c.model.layers[1].activation, Activation::Sigmoid);
        c.validate().unwrap();
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        // the key exactly, once (it was once reported as `inference.stepz.stepz`)
        for key in ["inference.stepz", "model.layers[1].sise", "seeed"] {
            match resolve::<Config>(None, &[format!("{key}=3")]) {
                Err(crate::Error::Config { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_out_of_range_value_is_an_error_naming_the_key() {
        let err = resolve::<Config>(None, &["inference.delta=-1".into()]).unwrap_err();
        assert!(err.to_string().contains("inference.delta"), "{err}");
        let err = resolve::<Config>(None, &["model.layers[0].size=0".into()]).unwrap_err();
        assert!(err.to_string().contains("model.layers[0].size"), "{err}");
    }

    #[test]
    fn lateral_prior_settings_are_checked_and_named() {
        let c: Config = resolve(
            None,
            &[
                "train.lateral_prior.kind=\"sigmoid\"".into(),
                "train.lateral_prior.sweeps=5".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.train.lateral_prior.kind, LateralKind::Sigmoid);
        assert_eq!(c.train.lateral_prior.sweeps, 5);
        assert_eq!(
            Config::default().train.lateral_prior.kind,
            LateralKind::None
        );
        for (bad, key) in [
            ("train.lateral_prior.lr=0", "train.lateral_prior.lr"),
            ("train.lateral_prior.epochs=0", "train.lateral_prior.epochs"),
            (
                "train.lateral_prior.momentum=1",
                "train.lateral_prior.momentum",
            ),
            (
                "train.lateral_prior.batch_size=0",
                "train.lateral_prior.batch_size",
            ),
            (
                "train.lateral_prior.kind=\"cubic\"",
                "train.lateral_prior.kind",
            ),
        ] {
            let err = resolve::<Config>(None, &[bad.into()]).unwrap_err();
            assert!(err.to_string().contains(key), "{bad}: {err}");
        }
    }

    /// A config stored in a checkpoint written before lateral priors existed has no
    /// `[train.lateral_prior]` table: it must still load, with no lateral prior.
    #[test]
    fn a_config_without_the_lateral_prior_table_still_loads() {
        let text = crate::config::to_toml_string(&Config::default()).unwrap();
        let mut table: toml::Table = toml::from_str(&text).unwrap();
        let train = table.get_mut("train").unwrap().as_table_mut().unwrap();
        assert!(train.remove("lateral_prior").is_some());
        let old = toml::to_string(&table).unwrap();
        let back: Config = crate::config::from_toml_str(&old).unwrap();
        assert_eq!(back, Config::default());
        assert_eq!(back.train.lateral_prior.kind, LateralKind::None);
    }

    #[test]
    fn a_wrongly_typed_value_is_an_error_naming_the_key() {
        let err = resolve::<Config>(None, &["train.epochs=many".into()]).unwrap_err();
        assert!(err.to_string().contains("train.epochs"), "{err}");
    }

    #[test]
    fn overrides_reach_into_lists_and_enums() {
        let c: Config = resolve(
            None,
            &[
                "model.layers[1].size=50".into(),
                "learning.optimizer=adam".into(),
                "model.layers.0.corruption={kind=\"gaussian\", std=0.1}".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.model.layers[1].size, 50);
        assert_eq!(c.learning.optimizer, Optimizer::Adam);
        assert_eq!(
            c.model.layers[0].corruption,
            CorruptionConfig::Gaussian { std: 0.1 }
        );
    }

    #[test]
    fn the_resolved_config_round_trips_through_toml() {
        let c: Config = resolve(None, &["seed=99".into()]).unwrap();
        let text = crate::config::to_toml_string(&c).unwrap();
        let back: Config = crate::config::from_toml_str(&text).unwrap();
        assert_eq!(back, c);
    }
}
