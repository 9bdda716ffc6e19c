//! The Parzen-window log-likelihood estimate used for MNIST generative models since Breuleux et
//! al. (2011), in the protocol of the GSN and GAN papers (gaps S3, G11):
//!
//! ```text
//! log p̂(x) = log( (1/n) Σ_{i=1}^{n} exp(−‖x − s_i‖² / (2σ²)) ) − d·log(σ√(2π))
//! ```
//!
//! an isotropic Gaussian kernel of width σ on each of the n samples s_i, evaluated at held-out
//! images x (d = 784). σ is chosen on 1,000 validation images over logspace(−1, 0, 10) ∪ {0.2};
//! the score is the mean of log p̂ over the 10,000 test images, ± its standard error.
//!
//! The densities themselves are one `Device` operation,
//! [`Device::parzen_log_densities`](crate::backend::Device::parzen_log_densities) (GEMM
//! distances and an online log-sum-exp; see [`crate::backend::parzen`]).

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::backend::Device;
pub use crate::backend::parzen::{POINT_BLOCK, SAMPLE_BLOCK};
use crate::data::Mnist;
use crate::error::{Error, Result};

/// A Parzen estimate: mean ± standard error of `log p̂` over the points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParzenScore {
    /// Mean log-likelihood (nats).
    pub mean: f64,
    /// Standard error of the mean (sd/√n).
    pub se: f64,
    /// Kernel width.
    pub sigma: f64,
}

/// The σ grid of the GAN/GSN protocol, logspace(−1, 0, 10), plus the paper's 0.2.
pub fn sigma_grid() -> Vec<f64> {
    let mut g: Vec<f64> = (0..10).map(|i| 10f64.powf(-1.0 + i as f64 / 9.0)).collect();
    g.push(0.2);
    g.sort_by(f64::total_cmp);
    g
}

/// `log p̂(x)` for every row of `points`, for each σ in `sigmas`: returns one vector per σ.
///
/// # Shapes
/// `samples: [n, d]`, `points: [m, d]`.
pub fn log_densities(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    points: ArrayView2<'_, f32>,
    sigmas: &[f64],
) -> Result<Vec<Array1<f64>>> {
    let (n, d) = samples.dim();
    if n == 0 || points.ncols() != d {
        return Err(Error::Shape {
            op: "parzen",
            expected: format!("at least one sample and points of width {d}"),
            got: format!("{n} samples, points of width {}", points.ncols()),
        });
    }
    if let Some(bad) = sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::Usage(format!(
            "Parzen σ must be positive, got {bad}"
        )));
    }
    Ok(dev.parzen_log_densities(samples, points, sigmas))
}

/// Mean ± standard error of a vector of log-likelihoods ([`crate::stats::mean_se`]).
pub fn mean_se(v: &Array1<f64>) -> (f64, f64) {
    crate::stats::mean_se(&v.to_vec())
}

/// The σ of `grid` that maximises the mean `log p̂` of `validation`, with every σ's score.
pub fn select_sigma(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    validation: ArrayView2<'_, f32>,
    grid: &[f64],
) -> Result<(f64, Vec<(f64, f64)>)> {
    if grid.is_empty() {
        return Err(Error::Usage("the σ grid is empty".into()));
    }
    let lls = log_densities(dev, samples, validation, grid)?;
    let scores: Vec<(f64, f64)> = grid
        .iter()
        .zip(&lls)
        .map(|(&s, ll)| (s, mean_se(ll).0))
        .collect();
    let best = scores
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(grid[0], |(s, _)| s);
    Ok((best, scores))
}

/// The score of `samples` on `test` with kernel width `sigma`.
pub fn score(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    test: ArrayView2<'_, f32>,
    sigma: f64,
) -> Result<ParzenScore> {
    let ll = log_densities(dev, samples, test, &[sigma])?;
    let (mean, se) = mean_se(&ll[0]);
    Ok(ParzenScore { mean, se, sigma })
}

/// The whole protocol: σ chosen on `validation` over [`sigma_grid`] (unless `sigma` is given),
/// then the score on `test`. Returns the score and the validation curve.
pub fn evaluate(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    validation: ArrayView2<'_, f32>,
    test: ArrayView2<'_, f32>,
    sigma: Option<f64>,
) -> Result<(ParzenScore, Vec<(f64, f64)>)> {
    let (sigma, curve) = match sigma {
        Some(s) => (s, Vec::new()),
        None => select_sigma(dev, samples, validation, &sigma_grid())?,
    };
    Ok((score(dev, samples, test, sigma)?, curve))
}

/// The Parzen protocol on one set of samples, as `bpdl eval parzen` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParzenReport {
    /// What the samples are (a file name, or "the first 10,000 training images").
    pub samples: String,
    /// Number of samples.
    pub n_samples: usize,
    /// Number of test images scored.
    pub n_test: usize,
    /// Mean test log-likelihood (nats).
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
    /// The kernel width used.
    pub sigma: f64,
    /// Mean validation log-likelihood of every σ tried (empty when σ was given).
    pub validation_curve: Vec<(f64, f64)>,
    /// Wall-clock seconds of the evaluation.
    pub seconds: f64,
}

/// Which images [`evaluate_samples`] uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParzenSettings {
    /// The kernel width; `None` chooses it on the validation images over [`sigma_grid`].
    pub sigma: Option<f64>,
    /// Validation images used to choose σ (the protocol: the first 1,000).
    pub validation: usize,
    /// Test images scored (0 = all).
    pub test_limit: usize,
}

/// [`evaluate`] on `data`'s validation and test images of samples described as `name`. Fails
/// when the samples do not have the images' width.
pub fn evaluate_samples(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    name: &str,
    data: &Mnist,
    settings: &ParzenSettings,
) -> Result<ParzenReport> {
    if samples.ncols() != data.pixels() {
        return Err(Error::Shape {
            op: "Parzen estimate",
            expected: format!(
                "samples of {} values, like the {} images",
                data.pixels(),
                data.dataset
            ),
            got: format!("{name}: {} values per sample", samples.ncols()),
        });
    }
    let started = std::time::Instant::now();
    let validation = data.validation.head(settings.validation);
    let test = data.test.head(settings.test_limit);
    let sets = (validation.images.view(), test.images.view());
    let (score, curve) = evaluate(dev, samples, sets.0, sets.1, settings.sigma)?;
    Ok(ParzenReport {
        samples: name.to_string(),
        n_samples: samples.nrows(),
        n_test: test.len(),
        mean: score.mean,
        se: score.se,
        sigma: score.sigma,
        validation_curve: curve,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_logspace_minus_one_to_zero_plus_point_two() {
        let g = sigma_grid();
        assert_eq!(g.len(), 11);
        assert!((g[0] - 0.1).abs() < 1e-12 && (g[10] - 1.0).abs() < 1e-12);
        assert!(g.iter().any(|&s| (s - 0.2).abs() < 1e-12));
    }
}
