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
//! The squared distances come from one GEMM per block, `‖x‖² + ‖s‖² − 2·x·sᵀ` (clamped at 0
//! against rounding), and the sum of exponentials is an online log-sum-exp in f64 across sample
//! blocks (running maximum and rescaled sum), so far-away points give large negative but finite
//! values instead of `−inf`.

use ndarray::{Array1, ArrayView2, Axis, Zip, s};
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::error::{Error, Result};

/// Rows of points evaluated per GEMM block.
const POINT_BLOCK: usize = 500;
/// Samples per GEMM block.
const SAMPLE_BLOCK: usize = 5000;

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
    let mut out: Vec<Array1<f64>> = sigmas.iter().map(|_| Array1::zeros(m)).collect();
    let mut block = Matrix::zeros((POINT_BLOCK.min(m), SAMPLE_BLOCK.min(n)));
    dev.install(|| -> Result<()> {
        for p0 in (0..m).step_by(POINT_BLOCK) {
            let p1 = (p0 + POINT_BLOCK).min(m);
            let x = points.slice(s![p0..p1, ..]);
            let x_norms = row_norms(x);
            // running (max, sum) of the log-sum-exp, per σ and point
            let mut state: Vec<(Array1<f64>, Array1<f64>)> = sigmas
                .iter()
                .map(|_| {
                    (
                        Array1::from_elem(p1 - p0, f64::NEG_INFINITY),
                        Array1::zeros(p1 - p0),
                    )
                })
                .collect();
            for s0 in (0..n).step_by(SAMPLE_BLOCK) {
                let s1 = (s0 + SAMPLE_BLOCK).min(n);
                let mut dist = block.slice_mut(s![..p1 - p0, ..s1 - s0]);
                dev.matmul(
                    -2.0,
                    x,
                    samples.slice(s![s0..s1, ..]).t(),
                    0.0,
                    dist.view_mut(),
                );
                let sn = sample_norms.slice(s![s0..s1]);
                Zip::from(dist.rows_mut())
                    .and(&x_norms)
                    .par_for_each(|mut row, &xn| {
                        Zip::from(&mut row)
                            .and(&sn)
                            .for_each(|v, &s| *v = (*v + xn + s).max(0.0));
                    });
                for (sigma, (mx, sum)) in sigmas.iter().zip(state.iter_mut()) {
                    let k = (-0.5 / (sigma * sigma)) as f32;
                    Zip::from(dist.rows())
                        .and(mx)
                        .and(sum)
                        .par_for_each(|row, mx, sum| {
                            let block_max =
                                f64::from(k * row.fold(f32::INFINITY, |a, &b| a.min(b)));
                            let new_max = mx.max(block_max);
                            let shift = new_max as f32;
                            let mut acc = 0.0f64;
                            for &dd in row {
                                acc += f64::from((k * dd - shift).exp());
                            }
                            *sum = *sum * (*mx - new_max).exp() + acc;
                            *mx = new_max;
                        });
                }
            }
            for ((sigma, (mx, sum)), o) in sigmas.iter().zip(&state).zip(out.iter_mut()) {
                let norm =
                    (n as f64).ln() + d as f64 * (sigma * (2.0 * std::f64::consts::PI).sqrt()).ln();
                Zip::from(o.slice_mut(s![p0..p1]))
                    .and(mx)
                    .and(sum)
                    .for_each(|o, &m, &s| *o = m + s.ln() - norm);
            }
        }
        Ok(())
    })?;
    Ok(out)
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
