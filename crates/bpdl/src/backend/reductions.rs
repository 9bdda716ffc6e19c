//! The reductions that training and evaluation read back to the host, as `Device` operations:
//!
//! | operation | formula |
//! |---|---|
//! | [`Device::all_finite`] | no NaN or ±∞ in a matrix |
//! | [`Device::sum_sq_diff`] | `Σ_ij (a_ij − b_ij)²`, in f64 |
//! | [`Device::row_cosines`] | `cos(a_i, b_i)` per row, in f64 (0 for a zero row) |
//! | [`Device::layer_moments`] | `mean |h|`, the mean over units of the standard deviation across rows, and the fraction of values outside [0.01, 0.99], in f64 |
//!
//! Each runs in one fixed order (row-major, in f64), so its value does not depend on the thread
//! count.

use ndarray::{Array1, ArrayView2, Axis, Zip};

use super::Device;

/// What [`Device::layer_moments`] measures of a minibatch of codes `h: [batch, units]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerMoments {
    /// Mean of |h| over units and examples.
    pub mean_abs: f64,
    /// Mean over units of the standard deviation across the examples.
    pub spread: f64,
    /// Fraction of values below 0.01 or above 0.99.
    pub outside_unit_margin: f64,
}

impl Device {
    /// True when every entry of `m` is finite.
    pub fn all_finite(&self, m: ArrayView2<'_, f32>) -> bool {
        m.iter().all(|v| v.is_finite())
    }

    /// `Σ_ij (a_ij − b_ij)²` in f64, row-major.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn sum_sq_diff(&self, a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> f64 {
        assert_eq!(a.dim(), b.dim(), "sum_sq_diff shapes");
        a.iter()
            .zip(b.iter())
            .map(|(&x, &y)| f64::from(x - y).powi(2))
            .sum()
    }

    /// `a_i·b_i / (‖a_i‖ ‖b_i‖)` for every row i, in f64; 0 where either row is zero.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn row_cosines(&self, a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Array1<f64> {
        assert_eq!(a.dim(), b.dim(), "row_cosines shapes");
        let mut out = Array1::zeros(a.nrows());
        Zip::from(&mut out)
            .and(a.rows())
            .and(b.rows())
            .for_each(|o, a, b| {
                let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
                for (&x, &y) in a.iter().zip(b.iter()) {
                    let (x, y) = (f64::from(x), f64::from(y));
                    ab += x * y;
                    aa += x * x;
                    bb += y * y;
                }
                let norm = (aa * bb).sqrt();
                *o = if norm > 0.0 { ab / norm } else { 0.0 };
            });
        out
    }

    /// The health diagnostics of a minibatch of codes ([`LayerMoments`]).
    pub fn layer_moments(&self, h: ArrayView2<'_, f32>) -> LayerMoments {
        let n = h.len().max(1) as f64;
        let batch = h.nrows().max(1) as f64;
        let mean_abs = h.iter().map(|v| f64::from(v.abs())).sum::<f64>() / n;
        let mut spread = 0.0;
        for col in h.axis_iter(Axis(1)) {
            let m = col.iter().map(|&v| f64::from(v)).sum::<f64>() / batch;
            let var = col.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / batch;
            spread += var.sqrt();
        }
        spread /= h.ncols().max(1) as f64;
        let outside = h.iter().filter(|&&v| !(0.01..=0.99).contains(&v)).count() as f64 / n;
        LayerMoments {
            mean_abs,
            spread,
            outside_unit_margin: outside,
        }
    }
}
