//! Helpers shared by the integration tests: tiny models and synthetic data.

#![allow(dead_code)]

pub mod reference;

use bpdl::config::{Config, CorruptionConfig, LayerConfig};
use bpdl::{Activation, Matrix};
use ndarray::Array2;
use rand::RngExt;

/// Synthetic "images": `x = sigmoid(z·A)` for `z ~ U(−2, 2)^k` and a random `A: [k, d]` fixed
/// by `manifold_seed`, i.e. data on a smooth k-dimensional manifold in [0, 1]^d; `seed` draws the
/// points (same manifold, other seed = held-out data).
pub fn manifold_data(n: usize, d: usize, k: usize, seed: u64) -> Matrix {
    manifold_points(n, d, k, 11, seed)
}

/// [`manifold_data`] with an explicit manifold.
pub fn manifold_points(n: usize, d: usize, k: usize, manifold_seed: u64, seed: u64) -> Matrix {
    let mut m = bpdl::rng::Seed(manifold_seed).stream("manifold");
    let a = Array2::from_shape_simple_fn((k, d), || m.random_range(-2.0f32..2.0));
    let mut rng = bpdl::rng::Seed(seed).stream("points");
    let z = Array2::from_shape_simple_fn((n, k), || rng.random_range(-2.0f32..2.0));
    z.dot(&a).mapv(|v| 1.0 / (1.0 + (-v).exp()))
}

/// A small config: `d → h1 (softplus) → h2 (sigmoid)` with the paper's corruption scheme.
pub fn small_config(h1: usize, h2: usize) -> Config {
    let mut c = Config::default();
    c.model.layers = vec![
        LayerConfig::new(
            h1,
            Activation::Softplus,
            Activation::Sigmoid,
            CorruptionConfig::Gaussian { std: 0.3 },
        ),
        LayerConfig::new(
            h2,
            Activation::Sigmoid,
            Activation::Softplus,
            CorruptionConfig::Spikes { samples: 3 },
        ),
    ];
    c.train.batch_size = 20;
    c
}

/// Maximum absolute difference.
pub fn max_abs_diff(a: &Matrix, b: &Matrix) -> f32 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A training observer that keeps every epoch's metrics (the maps' losses, among others).
pub struct Losses(pub Vec<bpdl::train::EpochMetrics>);

impl bpdl::train::TrainObserver for Losses {
    fn epoch_done(
        &mut self,
        m: &bpdl::train::EpochMetrics,
        _: &bpdl::train::TrainState,
    ) -> bpdl::Result<()> {
        self.0.push(m.clone());
        Ok(())
    }
}
