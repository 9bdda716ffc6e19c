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
//! | paper | module | key names |
//! |---|---|---|
//! | STDP as SGD: ΔW ∝ S_pre · dV_post/dt (§2, Eq. 1, Fig. 1) | [`spiking`] | [`spiking::stdp::weight_change`], [`spiking::protocol::run_trials`], [`spiking::fit::fit_window`], [`spiking::delta_rule::run`] |
//! | MNIST, IDX files (§8) | [`data`] | [`data::Mnist::load`], [`data::idx::Idx`] |
//! | neuron non-linearities | [`activation`] | [`Activation`] |
//! | dense math, threads | [`backend`] | [`Device::matmul`], [`Device::affine`] |
//! | configuration, defaults with sources | [`config`] | [`Config`], [`config::resolve`] |
//! | run folders, provenance | [`run`] | [`run::RunDir`] |
//! | seeded randomness | [`rng`] | [`rng::Seed::stream`] |
//! | figures (PNG + SVG, embedded font) | [`figures`] | [`figures::LineChart`], [`figures::Series`] |

pub mod activation;
pub mod backend;
pub mod config;
pub mod data;
pub mod error;
pub mod figures;
pub mod rng;
pub mod run;
pub mod spiking;

pub use activation::Activation;
pub use backend::{Device, Matrix};
pub use config::Config;
pub use error::{Error, Result};
