//! The corruption of the denoising criterion (paper §5 and §8): in the M-step every layer's
//! inferred value is corrupted before it is fed to the maps that read it, so that each pair
//! `(f_l, g_l)` learns as a denoising auto-encoder, and the §5.1 joint-DAE chain corrupts the
//! neighbours of the layer it resamples in the same way:
//!
//! ```text
//! Gaussian:  x̃ = x + σ·ε,  ε ~ N(0, I)                    (x and the softplus layer, σ = 0.3)
//! spikes:    h̃ = (1/k) Σ_{i=1..k} Bernoulli(clip(h, 0, 1))  (the sigmoid top layer, k = 3)
//! ```
//!
//! The settings are [`CorruptionConfig`] (one per layer, [`crate::config::ModelConfig::corruption`]);
//! the random kernels are the `Device`'s ([`crate::backend::noise`]), each drawing from an
//! explicit stream.

use ndarray::ArrayView2;

use crate::backend::{Device, Matrix, noise};
pub use crate::config::CorruptionConfig;
use crate::rng::Rng;

/// Corrupts `src` into `dst` as `c` says.
///
/// # Shapes
/// `src` and `dst`: the same `[rows, cols]`.
pub fn corrupt(
    dev: &Device,
    rng: &mut Rng,
    c: CorruptionConfig,
    src: ArrayView2<'_, f32>,
    dst: &mut Matrix,
) {
    match c {
        CorruptionConfig::None => dst.assign(&src),
        CorruptionConfig::Gaussian { std } => {
            noise::add_gaussian(dev, rng, std, src, dst.view_mut())
        }
        CorruptionConfig::Spikes { samples } => {
            noise::spikes(dev, rng, samples, src, dst.view_mut())
        }
    }
}
