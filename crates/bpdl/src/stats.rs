//! Summary statistics of a sample x₁ … x_n, in one place:
//!
//! ```text
//! mean  x̄ = Σ xᵢ / n
//! sd    s = sqrt(Σ (xᵢ − x̄)² / (n − 1))        (sample standard deviation)
//! s.e.  s / sqrt(n)                             (standard error of the mean)
//! r     Σ (aᵢ − ā)(bᵢ − b̄) / sqrt(Σ (aᵢ − ā)² · Σ (bᵢ − b̄)²)   (Pearson correlation)
//! ```
//!
//! The across-seed aggregation of the reproduction and the benchmark medians use these; each
//! function sums in index order, so a result is reproducible bit for bit.

/// The mean `Σ xᵢ / n`; NaN for an empty sample.
///
/// ```
/// assert_eq!(bpdl::stats::mean(&[1.0, 2.0, 6.0]), 3.0);
/// ```
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The mean and the sample standard deviation (`n − 1` in the denominator); the deviation is
/// `None` for fewer than two values (one seed has no spread).
///
/// ```
/// let (m, sd) = bpdl::stats::mean_sd(&[1.0, 3.0]);
/// assert_eq!(m, 2.0);
/// assert_eq!(sd, Some(2f64.sqrt()));
/// assert_eq!(bpdl::stats::mean_sd(&[5.0]), (5.0, None));
/// ```
pub fn mean_sd(x: &[f64]) -> (f64, Option<f64>) {
    let n = x.len() as f64;
    let mean = mean(x);
    let sd = (x.len() > 1)
        .then(|| (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
}

/// The mean and its standard error `s / sqrt(n)` (0 for a single value).
///
/// ```
/// let (m, se) = bpdl::stats::mean_se(&[1.0, 3.0]);
/// assert_eq!(m, 2.0);
/// assert_eq!(se, 1.0); // sd √2 over √2
/// ```
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let (mean, sd) = mean_sd(x);
    (mean, sd.map_or(0.0, |s| s / (x.len() as f64).sqrt()))
}

/// The middle value of `x` (for an even count the upper of the two middle values, so the result
/// is always one of the measurements); NaN for an empty sample.
///
/// ```
/// assert_eq!(bpdl::stats::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(bpdl::stats::median(&[4.0, 1.0, 3.0, 2.0]), 3.0);
/// ```
pub fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The Pearson correlation of the first `min(len)` pairs; `None` for fewer than three pairs or
/// when either side is constant.
///
/// ```
/// let r = bpdl::stats::pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]).unwrap();
/// assert!(r > 0.99);
/// assert_eq!(bpdl::stats::pearson(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]), None);
/// ```
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 3 {
        return None;
    }
    let (ma, mb) = (mean(&a[..n]), mean(&b[..n]));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and Σ(x − 5)² = 32, so sd = √(32/7).
    #[test]
    fn the_textbook_sample_has_mean_five_and_sd_root_32_over_7() {
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let (m, sd) = mean_sd(&x);
        assert_eq!(m, 5.0);
        assert!((sd.unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
        let (_, se) = mean_se(&x);
        assert!((se - (32.0f64 / 7.0 / 8.0).sqrt()).abs() < 1e-15);
    }

    /// r is invariant under a positive affine map of one side and flips sign under a negative one.
    #[test]
    fn pearson_is_one_for_an_affine_image_and_minus_one_for_a_reflection() {
        let a = [0.3, 1.7, -2.0, 4.1, 0.0];
        let up: Vec<f64> = a.iter().map(|x| 3.0 * x + 1.0).collect();
        let down: Vec<f64> = a.iter().map(|x| -0.5 * x + 2.0).collect();
        assert!((pearson(&a, &up).unwrap() - 1.0).abs() < 1e-12);
        assert!((pearson(&a, &down).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn an_empty_sample_has_no_median() {
        assert!(median(&[]).is_nan());
    }
}
