//! The deep directed generative model and its recognition path (paper §4, Eq. 7):
//!
//! ```text
//! p(x, h_1..h_L) = p(x | h_1) · Π_{l=1}^{L−1} p(h_l | h_{l+1}) · p(h_L),
//! p(h_{l−1} | h_l) = N(g_l(h_l), σ_l² I),        q(h_l | h_{l−1}) = N(f_l(h_{l−1}), σ²I)
//! ```
//!
//! with `h_0 = x`. Each latent layer `h_l` comes with a [`LayerPair`]: the bottom-up encoder
//! `f_l: h_{l−1} → h_l` and the top-down decoder `g_l: h_l → h_{l−1}`, each one affine map and a
//! non-linearity ([`Map`]), with separate (untied) weights: no weight symmetry is assumed
//! (paper §1, objection 3).
//!
//! The top prior `p(h_L)` is ignored during training (as if very broad) and fitted at the end as
//! a Gaussian with the mean and the covariance of the inferred top codes of the training set,
//! scaled by `train.prior_variance_scale` (the paper's 4, §8): diagonal as in the paper, or, with
//! `train.prior_covariance = "full"`, with the full covariance (an extension; [`TopPrior`],
//! [`prior`]). With `train.lateral_prior.kind = "linear"` or `"sigmoid"` it also gets lateral
//! connections within the top layer, learnt by a local rule and sampled by Gibbs sweeps started
//! from the Gaussian draw (an extension after paper §9; [`lateral`]).

pub mod corruption;
pub mod lateral;
mod map;
pub mod noise_variance;
pub mod objective;
pub mod prior;

pub use map::{Map, glorot_uniform, orthogonal};
pub use noise_variance::NoiseVariances;

use ndarray::Array1;

use crate::backend::Matrix;
use crate::config::ModelConfig;
use crate::rng::Rng;

/// The pair of maps attached to latent layer `h_l`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPair {
    /// `f_l: h_{l−1} → h_l` (feed-forward, recognition, "encoder").
    pub encoder: Map,
    /// `g_l: h_l → h_{l−1}` (feedback, generative, "decoder").
    pub decoder: Map,
}

/// `p(h_L) = N(mean, Σ)` with `Σ = diag(var)` (the paper's) or, when `factor` is set, the full
/// `Σ = L·Lᵀ`; when `lateral` is set, the distribution of its Gibbs chain started from a draw of
/// that Gaussian ([`lateral::LateralPrior`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TopPrior {
    /// Per-unit mean.
    pub mean: Array1<f32>,
    /// Per-unit variance (already multiplied by `train.prior_variance_scale`, the paper's 4).
    pub var: Array1<f32>,
    /// The lower-triangular Cholesky factor L of the full (scaled) covariance, `[n_L, n_L]`;
    /// `None` for the diagonal prior.
    pub factor: Option<Matrix>,
    /// Lateral connections within the top layer; `None` for the Gaussian alone (the paper's).
    pub lateral: Option<lateral::LateralPrior>,
}

/// `p(x, h_1..h_L)` with its encoders.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerativeModel {
    /// Layer widths `[n_x, n_1, …, n_L]`.
    pub sizes: Vec<usize>,
    /// `pairs[l − 1]` belongs to `h_l`.
    pub pairs: Vec<LayerPair>,
    /// The fitted top prior; `None` until training has ended.
    pub top_prior: Option<TopPrior>,
    /// σ_l² of every conditional `p(h_{l−1} | h_l)` (unit unless
    /// `model.conditional_variance = "learned"`, [`noise_variance`]).
    pub noise: NoiseVariances,
}

impl GenerativeModel {
    /// A freshly initialised model for inputs of width `n_x`.
    pub fn new(n_x: usize, config: &ModelConfig, rng: &mut Rng) -> Self {
        let mut sizes = vec![n_x];
        sizes.extend(config.layers.iter().map(|l| l.size));
        let pairs: Vec<LayerPair> = config
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let (below, here) = (sizes[i], sizes[i + 1]);
                let encoder = Map::new(below, here, layer.activation, config.init, rng);
                let decoder = Map::new(here, below, layer.decoder_activation, config.init, rng);
                LayerPair { encoder, decoder }
            })
            .collect();
        let noise = NoiseVariances::unit(pairs.len());
        Self {
            sizes,
            pairs,
            top_prior: None,
            noise,
        }
    }

    /// L, the number of latent layers.
    pub fn depth(&self) -> usize {
        self.pairs.len()
    }

    /// Width of the input x.
    pub fn input_size(&self) -> usize {
        self.sizes[0]
    }

    /// Width of the top layer h_L.
    pub fn top_size(&self) -> usize {
        self.sizes[self.depth()]
    }

    /// Total number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.pairs
            .iter()
            .flat_map(|p| [&p.encoder, &p.decoder])
            .map(|m| m.weight.len() + m.bias.len())
            .sum()
    }
}
