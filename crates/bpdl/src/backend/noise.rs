//! Seeded, parallel noise fills: `x̃ = x + σ·ε` with ε ~ N(0, 1), spike-like corruption
//! `h̃ = (1/k) Σ_{i=1..k} Bernoulli(h)`, and plain uniform / Gaussian draws.
//!
//! Each call draws one key from the caller's stream and gives every row its own generator
//! ([`crate::rng::row_rng`]), so the numbers are the same whatever the thread count.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Zip};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::Device;
use crate::rng::{Rng, fill_key, row_rng};

/// `dst = src + std·ε`, ε ~ N(0, 1) elementwise (Gaussian corruption, paper §8).
///
/// # Shapes
/// `src` and `dst`: the same `[rows, cols]`.
pub fn add_gaussian(
    dev: &Device,
    rng: &mut Rng,
    std: f32,
    src: ArrayView2<'_, f32>,
    dst: ArrayViewMut2<'_, f32>,
) {
    let key = fill_key(rng);
    dev.for_rows2(dst, src, |i, mut out, x| {
        let mut r = row_rng(key, i);
        Zip::from(&mut out).and(&x).for_each(|o, &v| {
            let e: f32 = r.sample(StandardNormal);
            *o = v + std * e;
        });
    });
}

/// `m ← m + std·ε`, ε ~ N(0, 1) elementwise, in place (the optional Langevin-like noise of the
/// E-step, paper §3 Algorithm 1).
pub fn perturb(dev: &Device, rng: &mut Rng, std: f32, m: ArrayViewMut2<'_, f32>) {
    let key = fill_key(rng);
    dev.for_rows(m, |i, mut row| {
        let mut r = row_rng(key, i);
        row.iter_mut().for_each(|v| {
            let e: f32 = r.sample(StandardNormal);
            *v += std * e;
        });
    });
}

/// `dst = (1/k) Σ_{i=1..k} Bernoulli(clip(src, 0, 1))`: the paper's "spike-like" corruption of a
/// sigmoid layer (§8: the mean of 3 Bernoulli samples; gap G6 for the clipping).
pub fn spikes(
    dev: &Device,
    rng: &mut Rng,
    samples: u32,
    src: ArrayView2<'_, f32>,
    dst: ArrayViewMut2<'_, f32>,
) {
    let key = fill_key(rng);
    let inv = 1.0 / samples.max(1) as f32;
    dev.for_rows2(dst, src, |i, mut out, x| {
        let mut r = row_rng(key, i);
        Zip::from(&mut out).and(&x).for_each(|o, &p| {
            let p = p.clamp(0.0, 1.0);
            let mut count = 0u32;
            for _ in 0..samples {
                count += u32::from(r.random::<f32>() < p);
            }
            *o = count as f32 * inv;
        });
    });
}

/// `dst[i, j] ~ U(0, 1)`.
pub fn fill_uniform(dev: &Device, rng: &mut Rng, dst: ArrayViewMut2<'_, f32>) {
    let key = fill_key(rng);
    dev.for_rows(dst, |i, mut out| {
        let mut r = row_rng(key, i);
        out.iter_mut().for_each(|o| *o = r.random::<f32>());
    });
}

/// `dst[i, j] = mean[j] + std[j]·ε`, ε ~ N(0, 1): draws from a diagonal Gaussian.
pub fn fill_gaussian(
    dev: &Device,
    rng: &mut Rng,
    mean: ArrayView1<'_, f32>,
    std: ArrayView1<'_, f32>,
    dst: ArrayViewMut2<'_, f32>,
) {
    let key = fill_key(rng);
    dev.for_rows(dst, |i, mut out| {
        let mut r = row_rng(key, i);
        Zip::from(&mut out)
            .and(&mean)
            .and(&std)
            .for_each(|o, &m, &s| {
                let e: f32 = r.sample(StandardNormal);
                *o = m + s * e;
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;
    use ndarray::Array2;

    /// The corruption must have the requested mean and spread; a wrong scale would silently
    /// change the denoising criterion.
    #[test]
    fn gaussian_corruption_has_the_requested_moments() {
        let dev = Device::cpu(2).unwrap();
        let src = Array2::<f32>::from_elem((200, 500), 0.5);
        let mut dst = Array2::<f32>::zeros((200, 500));
        add_gaussian(
            &dev,
            &mut Seed(3).stream("t"),
            0.3,
            src.view(),
            dst.view_mut(),
        );
        let n = dst.len() as f64;
        let mean = dst.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = dst
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        // standard errors: 0.3/sqrt(1e5) ≈ 0.001 for the mean, ≈ 0.0004 for the variance
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 0.09).abs() < 0.003, "variance {var}");
    }

    #[test]
    fn spike_corruption_takes_values_in_thirds_with_mean_p() {
        let dev = Device::cpu(2).unwrap();
        let src = Array2::<f32>::from_elem((100, 1000), 0.25);
        let mut dst = Array2::<f32>::zeros((100, 1000));
        spikes(
            &dev,
            &mut Seed(5).stream("t"),
            3,
            src.view(),
            dst.view_mut(),
        );
        for &v in &dst {
            let k = v * 3.0;
            assert!((k - k.round()).abs() < 1e-6, "{v} is not a multiple of 1/3");
        }
        let mean = dst.iter().map(|&v| f64::from(v)).sum::<f64>() / dst.len() as f64;
        assert!((mean - 0.25).abs() < 0.005, "mean {mean}");
    }

    /// Parallel fills must not depend on the number of threads (reproducibility across machines).
    #[test]
    fn fills_are_identical_for_one_and_two_threads() {
        let src = Array2::<f32>::zeros((37, 11));
        let run = |threads| {
            let dev = Device::cpu(threads).unwrap();
            let mut dst = Array2::<f32>::zeros((37, 11));
            add_gaussian(
                &dev,
                &mut Seed(9).stream("t"),
                1.0,
                src.view(),
                dst.view_mut(),
            );
            dst
        };
        assert_eq!(run(1), run(2));
    }
}
