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
//! | MNIST, IDX files (§8) | [`data`] | [`data::Mnist::load`], [`data::idx::Idx`] |
//! | neuron non-linearities | [`activation`] | [`Activation`] |
//! | dense math, threads | [`backend`] | [`Device::matmul`], [`Device::affine`] |
//! | configuration, defaults with sources | [`config`] | [`Config`], [`config::resolve`] |
//! | run folders, provenance | [`run`] | [`run::RunDir`] |
//! | seeded randomness | [`rng`] | [`rng::Seed::stream`] |

pub mod activation;
pub mod backend;
pub mod config;
pub mod data;
pub mod error;
pub mod rng;
pub mod run;

pub use activation::Activation;
pub use backend::{Device, Matrix};
pub use config::Config;
pub use error::{Error, Result};
