//! The reductions that training and evaluation read back to the host, as `Device` operations:
//!
//! | operation | formula |
//! |---|---|
//! | [`Device::all_finite`] | no NaN or ±∞ in a matrix |
//! | [`Device::sum_sq_diff`] | `Σ_ij (a_ij − b_ij)²`, in f64 |
//! | [`Device::row_cosines`] | `cos(a_i, b_i)` per row, in f64 (0 for a zero row) |
//! | [`Device::layer_moments`] | `mean |h|`, the mean over units of the standard deviation across rows, and the fraction of values outside [0.01, 0.99], in f64 |
//! | [`Device::histogram`] | min, max, count, `Σ v`, `Σ v²` and the counts of equal-width buckets between min and max of the finite entries |
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

/// What [`Device::histogram`] counts of a matrix's finite entries (TensorBoard's
/// `HistogramProto`).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Smallest finite entry (0 when there is none).
    pub min: f64,
    /// Largest finite entry (0 when there is none).
    pub max: f64,
    /// Finite entries counted.
    pub count: usize,
    /// Their sum.
    pub sum: f64,
    /// Their sum of squares.
    pub sum_squares: f64,
    /// The right edge of every bucket, increasing; the last is `max` (bucket i holds the entries
    /// in `[limits[i−1], limits[i])`, the first from `min`, the last up to `max` included).
    pub limits: Vec<f64>,
    /// Entries per bucket.
    pub counts: Vec<f64>,
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

    /// The histogram of the finite entries of `m` in `buckets` (at least 1) equal-width buckets
    /// from their min to their max (one bucket when all are equal, none when there is no
    /// finite entry); NaN and ±∞ are left out.
    pub fn histogram(&self, m: ArrayView2<'_, f32>, buckets: usize) -> Histogram {
        let finite = || m.iter().filter(|v| v.is_finite()).map(|&v| f64::from(v));
        let (mut min, mut max, mut count, mut sum, mut sum_squares) =
            (f64::INFINITY, f64::NEG_INFINITY, 0usize, 0.0, 0.0);
        for v in finite() {
            min = min.min(v);
            max = max.max(v);
            count += 1;
            sum += v;
            sum_squares += v * v;
        }
        if count == 0 {
            return Histogram {
                min: 0.0,
                max: 0.0,
                count,
                sum,
                sum_squares,
                limits: Vec::new(),
                counts: Vec::new(),
            };
        }
        let k = if max > min { buckets.max(1) } else { 1 };
        let width = (max - min) / k as f64;
        let mut limits: Vec<f64> = (1..=k).map(|i| min + width * i as f64).collect();
        limits[k - 1] = max;
        let mut counts = vec![0.0; k];
        for v in finite() {
            let i = if width > 0.0 {
                (((v - min) / width) as usize).min(k - 1)
            } else {
                0
            };
            counts[i] += 1.0;
        }
        Histogram {
            min,
            max,
            count,
            sum,
            sum_squares,
            limits,
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A histogram that dropped or double-counted an entry, or put it in the wrong bucket,
    /// would misdraw the codes in TensorBoard: every count here is worked out by hand.
    #[test]
    fn histogram_counts_finite_entries_into_equal_width_buckets() {
        let dev = Device::cpu(1).unwrap();
        // range [0, 4], 4 buckets of width 1: [0,1) [1,2) [2,3) [3,4]; NaN and ∞ left out
        let m = array![
            [0.0f32, 0.5, 1.0],
            [3.0, 4.0, f32::NAN],
            [2.5, f32::INFINITY, 1.5]
        ];
        let h = dev.histogram(m.view(), 4);
        assert_eq!((h.min, h.max, h.count), (0.0, 4.0, 7));
        assert_eq!(h.sum, 12.5);
        assert_eq!(h.sum_squares, 0.25 + 1.0 + 9.0 + 16.0 + 6.25 + 2.25);
        assert_eq!(h.limits, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.counts, vec![2.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn a_constant_matrix_is_one_bucket_and_an_empty_one_none() {
        let dev = Device::cpu(1).unwrap();
        let h = dev.histogram(array![[0.25f32, 0.25]].view(), 30);
        assert_eq!((h.limits, h.counts), (vec![0.25], vec![2.0]));
        let h = dev.histogram(array![[f32::NAN]].view(), 30);
        assert_eq!((h.count, h.limits.len()), (0, 0));
    }
}
