//! The Parzen-window densities of [`crate::eval::parzen`] as one `Device` operation:
//!
//! ```text
//! log p̂(x) = log( (1/n) Σ_{i=1}^{n} exp(−‖x − s_i‖² / (2σ²)) ) − d·log(σ√(2π))
//! ```
//!
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

use super::{Device, Matrix, fastmath};

/// Points per work item.
pub const POINT_BLOCK: usize = 128;
/// Samples per GEMM block.
pub const SAMPLE_BLOCK: usize = 1024;

impl Device {
    /// `log p̂(x)` for every row of `points`, for each σ in `sigmas` (one vector per σ).
    ///
    /// # Shapes
    /// `samples: [n, d]` with n ≥ 1, `points: [m, d]`; every σ finite and positive
    /// ([`crate::eval::parzen::log_densities`] checks both and returns an error).
    pub fn parzen_log_densities(
        &self,
        samples: ArrayView2<'_, f32>,
        points: ArrayView2<'_, f32>,
        sigmas: &[f64],
    ) -> Vec<Array1<f64>> {
        let dev = self;
        let n = samples.nrows();
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
        (0..sigmas.len())
            .map(|i| blocks.iter().flat_map(|b| b[i].iter().copied()).collect())
            .collect()
    }
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
