//! The Parzen-window log-likelihood estimate used for MNIST generative models since Breuleux et
//! al. (2011), in the protocol of the GSN and GAN papers (spec §3.2, G11):
//!
//! ```text
//! log p̂(x) = log( (1/n) Σ_{i=1}^{n} exp(−‖x − s_i‖² / (2σ²)) ) − d·log(σ√(2π))
//! ```
//!
//! an isotropic Gaussian kernel of width σ on each of the n samples s_i, evaluated at held-out
//! images x (d = 784). σ is chosen on 1,000 validation images over logspace(−1, 0, 10) ∪ {0.2};
//! the score is the mean of log p̂ over the 10,000 test images, ± its standard error.
//!
//! ## Computation
//! The squared distances come from GEMMs, `‖x‖² + ‖s‖² − 2·s·xᵀ` (clamped at 0 against
//! rounding), and the sum of exponentials is an online log-sum-exp in f64 across sample blocks
//! (running maximum and rescaled sum), so far-away points give large negative but finite values
//! instead of `−inf`.
//!
//! Each thread takes blocks of [`POINT_BLOCK`] points and computes their densities from start
//! to end: per block of [`SAMPLE_BLOCK`] samples, one single-threaded GEMM writes the
//! `[samples, points]` distances (512 KB, which stay in the core's cache for the σ passes), and
//! the clamp, the minimum and the exponentials run along the points, in vector registers, with
//! the vectorised `exp` of [`crate::backend::fastmath`]. A point's value is thus the same
//! ordered sum whatever the thread count.

use ndarray::{Array1, ArrayView2, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix, fastmath};
use crate::error::{Error, Result};

/// Points per work item.
pub const POINT_BLOCK: usize = 128;
/// Samples per GEMM block.
pub const SAMPLE_BLOCK: usize = 1024;

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
    let sample_norms = row_norms(samples);
    let m = points.nrows();
    let solo = dev.single_thread();
    let blocks: Vec<Vec<Vec<f64>>> = dev.install(|| {
        (0..m.div_ceil(POINT_BLOCK))
            .into_par_iter()
            .map_init(
                // each worker's distance block, reused across its point blocks
                || Matrix::zeros((SAMPLE_BLOCK.min(n), POINT_BLOCK.min(m))),
                |dist, b| {
                    let p = b * POINT_BLOCK..((b + 1) * POINT_BLOCK).min(m);
                    point_block(
                        &solo,
                        samples,
                        &sample_norms,
                        points.slice(s![p, ..]),
                        sigmas,
                        dist,
                    )
                },
            )
            .collect()
    });
    Ok((0..sigmas.len())
        .map(|i| blocks.iter().flat_map(|b| b[i].iter().copied()).collect())
        .collect())
}

/// `log p̂` of the points `x` (at most [`POINT_BLOCK`]) for each σ, on one thread.
fn point_block(
    dev: &Device,
    samples: ArrayView2<'_, f32>,
    sample_norms: &Array1<f32>,
    x: ArrayView2<'_, f32>,
    sigmas: &[f64],
    dist: &mut Matrix,
) -> Vec<Vec<f64>> {
    let (n, d) = samples.dim();
    let p = x.nrows();
    let x_norms = row_norms(x);
    let x_norms = x_norms.as_slice().expect("a fresh vector is contiguous");
    // running (max, sum) of the log-sum-exp, per σ and point; the max is kept representable in
    // f32 so that it is exactly the shift used inside the exponentials
    let mut max = vec![vec![f64::NEG_INFINITY; p]; sigmas.len()];
    let mut sum = vec![vec![0.0f64; p]; sigmas.len()];
    let (mut nearest, mut shift) = (vec![0.0f32; p], vec![0.0f32; p]);
    for s0 in (0..n).step_by(SAMPLE_BLOCK) {
        let s1 = (s0 + SAMPLE_BLOCK).min(n);
        let mut block = dist.slice_mut(s![..s1 - s0, ..p]);
        dev.matmul(
            -2.0,
            samples.slice(s![s0..s1, ..]),
            x.t(),
            0.0,
            block.view_mut(),
        );
        nearest.fill(f32::INFINITY);
        for (mut row, &sn) in block
            .rows_mut()
            .into_iter()
            .zip(&sample_norms.slice(s![s0..s1]))
        {
            let row = row
                .as_slice_mut()
                .expect("rows of a fresh matrix are contiguous");
            fastmath::squared_distances(row, x_norms, sn, &mut nearest);
        }
        for ((sigma, max), sum) in sigmas.iter().zip(&mut max).zip(&mut sum) {
            let k = (-0.5 / (sigma * sigma)) as f32;
            for j in 0..p {
                let new_max = f64::from(max[j].max(f64::from(k * nearest[j])) as f32);
                sum[j] *= (max[j] - new_max).exp();
                max[j] = new_max;
                shift[j] = new_max as f32;
            }
            for row in block.rows() {
                let row = row
                    .as_slice()
                    .expect("rows of a fresh matrix are contiguous");
                fastmath::accumulate_exp(sum, row, k, &shift);
            }
        }
    }
    sigmas
        .iter()
        .zip(max.iter().zip(&sum))
        .map(|(sigma, (max, sum))| {
            let norm =
                (n as f64).ln() + d as f64 * (sigma * (2.0 * std::f64::consts::PI).sqrt()).ln();
            max.iter()
                .zip(sum)
                .map(|(m, s)| m + s.ln() - norm)
                .collect()
        })
        .collect()
}

fn row_norms(m: ArrayView2<'_, f32>) -> Array1<f32> {
    m.map_axis(Axis(1), |r| r.dot(&r))
}

/// Mean ± standard error of a vector of log-likelihoods.
pub fn mean_se(v: &Array1<f64>) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.sum() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
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
