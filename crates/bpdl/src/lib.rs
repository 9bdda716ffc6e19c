//! # bpdl — Towards Biologically Plausible Deep Learning
//!
//! A Rust implementation of Bengio, Lee, Bornschein, Mesnard & Lin, *Towards Biologically
//! Plausible Deep Learning* (arXiv:1502.04156): STDP as stochastic gradient descent, a deep
//! directed generative model trained by variational EM whose E-step is iterative inference with
//! target propagation and whose M-step is made of local denoising learning rules (no
//! back-propagation, no autodiff), the GENERATE sampler and the Parzen-window evaluation on MNIST.
//!
//! ## Paper → code
//!
//! Where the paper leaves a setting open, the code cites the choice as `[gap Gn]` (G1–G17) or
//! `[gap Sn]` (S1–S8): the sections of `docs/paper-gaps.md` in the repository (anchors `#gn`,
//! `#sn`), which say what the paper leaves open, what bpdl chose and what the choice measured.
//!
//! | paper | module | key names |
//! |---|---|---|
//! | STDP as SGD: ΔW ∝ S_pre · dV_post/dt (§2, Eq. 1, Fig. 1) | [`spiking`] | [`spiking::stdp::weight_change`], [`spiking::protocol::run_trials`], [`spiking::fit::fit_window`], [`spiking::delta_rule::run`] |
//! | MNIST, IDX files (§8) | [`data`] | [`data::Mnist::load`], [`data::idx::Idx`] |
//! | neuron non-linearities | [`activation`] | [`Activation`] |
//! | dense math, threads | [`backend`] | [`Device::matmul`], [`Device::affine`] |
//! | p(x, h) = p(x\|h1) Π p(h_l\|h_{l+1}) p(h_L), maps f_l, g_l (§4, Eq. 7) | [`model`] | [`model::GenerativeModel`], [`model::LayerPair`], [`model::Map`] |
//! | log p(x, h) without constants (Fig. 4, gap G12) | [`model::objective`] | [`model::objective::log_joint`] |
//! | E-step: INFERENCE with targetprop (§4–6, Eq. 8, 12; Algorithm 2) | [`inference`] | [`inference::Inference::e_step`], [`inference::Inference::iterate`], [`inference::Evidence`] |
//! | M-step: local denoising rules, no backprop (§4, Algorithm 2 TRAIN) | [`learning`] | [`learning::m_step`], [`learning::local_delta()`] |
//! | the spiking M-step: every map learns by Eq. 1 alone, Poisson presynaptic spikes times a nudged voltage's slope, the rate step in expectation (§2 in the network of §4; `learning.rule = "spiking"`) | [`learning::spiking`] | [`learning::spiking::m_step`], [`learning::spiking::Presentation`], [`backend::spikes`] |
//! | the spiking E-step: INFERENCE as membranes driven by Poisson spikes delivered event by event through filtered synapses, in continuous time (§2, §9; `inference.dynamics = "spiking"`) | [`inference::spiking`] | [`inference::spiking::SpikingWorkspace`], [`backend::spiking_inference`] |
//! | the STDP window measured inside a training spiking network (§2, Fig. 1; `learning.spiking.window_synapses`) | [`learning::stdp_window`] | [`learning::stdp_window`] |
//! | variational EM loop, top prior (§3, §8) | [`train`] | [`train::train`], [`train::Learner`] ([`train::Learner::e_step`], [`train::Learner::m_step`]), [`train::fit_top_prior`] |
//! | the price of biological plausibility: the supervised network trained by ordinary back-propagation (hand-written gradients; never used by the learner) | [`baselines`] | [`baselines::backprop::train`], [`baselines::backprop::BackpropNet`], [`baselines::backprop::BackpropSettings`] |
//! | lateral connections within the top layer as its prior (§9, an extension) | [`model::lateral`] | [`model::lateral::LateralPrior`] ([`model::lateral::LateralPrior::fit`], [`model::lateral::LateralPrior::sample`], [`model::lateral::LateralPrior::pseudo_log_likelihood`]) |
//! | the denoising criterion's corruption (§5, §8) | [`model::corruption`] | [`model::corruption::corrupt`] |
//! | the label as an observed layer: supervised and semi-supervised learning (abstract, §2, §9; an extension) | [`config::supervised`], [`inference`], [`data::labelled`], [`eval::classify`] | [`config::SupervisedConfig`], [`inference::LabelEvidence`], [`inference::Inference::e_step_labelled`], [`train::train_examples`], [`eval::classify::predict`], [`eval::classify::classify_run`] |
//! | health of the codes (gap S6) | [`diagnostics`] | [`diagnostics::LayerStats`] |
//! | Fig. 4: log p(x, h) over inference | [`eval`] | [`eval::inference_curve()`] |
//! | GENERATE, ancestral sampling, the joint-DAE chain (§5, §8, Algorithm 2; Fig. 3) | [`sampling`] | [`sampling::generate`], [`sampling::ancestral`], [`sampling::joint_dae`] |
//! | Parzen-window log-likelihood (§8, Breuleux et al. 2011 protocol) | [`eval::parzen`] | [`eval::parzen::evaluate`], [`eval::parzen::log_densities`] |
//! | in-painting with clamped visible pixels (§8, Fig. 5) | [`eval::inpainting`] | [`eval::inpainting::inpaint`] |
//! | the reproduction: evaluation, paper numbers, across-seed results, report, figures | [`reproduce`] | [`reproduce::reproduce`], [`reproduce::evaluate()`], [`reproduce::Results`] |
//! | sweeps and seeds on a cluster's engine: one trial = one process, Slurm job arrays, validation-only ranking | [`sweep`] | [`sweep::write_plan`], [`sweep::run_trial`], [`sweep::collect()`], [`sweep::score_model`] |
//! | mean ± s.e., median, Pearson | [`stats`] | [`stats::mean_se`], [`stats::median`], [`stats::pearson`] |
//! | speed: FLOP counts (the `bench` feature adds the measurement behind `bpdl bench`) | [`flops`] | [`flops::inference_flops`], [`flops::m_step_flops`] |
//! | checkpoints (safetensors) | [`checkpoint`], [`tensor_file`] | [`checkpoint::save`], [`checkpoint::load`] |
//! | configuration, defaults with sources | [`config`] | [`Config`], [`config::resolve`] |
//! | run folders, provenance, training into a folder with resume | [`run`] | [`run::RunDir`], [`run::train_in_dir`] |
//! | seeded randomness | [`rng`] | [`rng::Seed::stream`] |
//! | figures (PNG + SVG, embedded font) and reports (feature `report`, on by default) | `figures`, `report`, `image_grid` | `figures::LineChart`, `report::Report` |
//!
//! ## Features
//!
//! - `report` (default): figures, image grids and the Markdown/HTML report (plotters, png,
//!   base64, and pulldown-cmark: a CommonMark parser renders the report's inline Markdown in
//!   HTML, where hand-written parsing would get nesting and escaping wrong). Without it the
//!   library computes and writes every number but draws nothing.
//! - `testing`: the benchmark and test workload `testing::Workload`.
//! - `bench`: the measurement behind `bpdl bench` (implies `testing`).

pub mod activation;
pub mod backend;
pub mod baselines;
#[cfg(feature = "bench")]
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod eval;
#[cfg(feature = "report")]
pub mod figures;
pub mod flops;
#[cfg(feature = "report")]
pub mod image_grid;
pub mod inference;
pub mod learning;
pub mod model;
#[cfg(feature = "report")]
pub mod report;
pub mod reproduce;
pub mod rng;
pub mod run;
pub mod sampling;
pub mod spiking;
pub mod stats;
pub mod sweep;
pub mod tensor_file;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod train;

pub use activation::Activation;
pub use backend::{Device, Matrix};
pub use config::Config;
pub use error::{Error, Result};
