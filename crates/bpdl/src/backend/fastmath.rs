//! Branch-free `exp`, `ln`, `ln(1 + x)` and `exp(x) − 1` for f32 that the compiler vectorises
//! (the non-linearities of [`crate::activation`] are written with them), and the `dispatch!`
//! macro that compiles a slice kernel for several instruction sets.
//!
//! `exp` and `ln` follow Cephes' `expf`/`logf` (S. Moshier): range reduction by powers of two and
//! a degree-6 / degree-9 polynomial; both are accurate to about 1 ulp over the f32 range they
//! are used on (checked against `f64` in the tests). `exp` saturates below at `e^−87.34` (the
//! smallest normal f32) and above at `e^88.38` instead of returning 0 or ∞, which leaves sigmoid
//! and softplus exact to f32 precision.
//!
//! The slice kernels are compiled three times (baseline x86-64, AVX2, AVX-512) and picked at run
//! time; all variants execute the same arithmetic in the same order (Rust never contracts
//! `a * b + c` into an FMA), so they give bit-identical results.

const EXP_HI: f32 = 88.376_26;
const EXP_LO: f32 = -87.336_55;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const C1: f32 = 0.693_359_4;
const C2: f32 = -2.121_944_4e-4;

/// 1.5·2²³: adding it to a float of magnitude < 2²² rounds it to an integer held in the low
/// mantissa bits (no float→int conversion, so the loop vectorises).
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` (Cephes expf), saturating to the normal range.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `f32::clamp` keeps NaN handling that blocks vectorisation
pub fn exp(x: f32) -> f32 {
    let x = if x < EXP_LO {
        EXP_LO
    } else if x > EXP_HI {
        EXP_HI
    } else {
        x
    };
    // x = n·ln 2 + r with n = round(x / ln 2), |r| ≤ ln 2 / 2
    let t = x * LOG2E + ROUND_MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let fx = t - ROUND_MAGIC;
    let r = x - fx * C1 - fx * C2;
    let z = r * r;
    let mut y = 1.987_569_1e-4;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5;
    y = y * z + r + 1.0;
    // 2^n as two normal powers of two (n ∈ [−126, 128]; 2^128 alone would overflow)
    let half = n >> 1;
    let p1 = f32::from_bits(((half + 127) as u32) << 23);
    let p2 = f32::from_bits(((n - half + 127) as u32) << 23);
    y * p1 * p2
}

/// `ln x` for normal, finite x > 0 (Cephes logf); other inputs give meaningless values, so it is
/// private to the crate: [`ln_1p`] only calls it on [1, 2].
#[inline(always)]
pub(crate) fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    // mantissa in [0.5, 1)
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= i32::from(small);
    m = if small { m + m - 1.0 } else { m - 1.0 };
    let z = m * m;
    let mut y = 7.037_683_6e-2;
    y = y * m - 1.151_461e-1;
    y = y * m + 1.167_699_9e-1;
    y = y * m - 1.242_014_1e-1;
    y = y * m + 1.424_932_3e-1;
    y = y * m - 1.666_805_8e-1;
    y = y * m + 2.000_071_4e-1;
    y = y * m - 2.499_999_4e-1;
    y = y * m + 3.333_333e-1;
    y = y * m * z;
    let ef = e as f32;
    y += C2 * ef;
    y += -0.5 * z;
    m + y + C1 * ef
}

/// `ln(1 + u)` for u ≥ 0, accurate also for tiny u (the rounding of `1 + u` is corrected).
#[inline(always)]
pub fn ln_1p(u: f32) -> f32 {
    let v = 1.0 + u;
    let d = v - 1.0;
    // both sides computed, then selected: keeps the loop branch-free
    let corrected = ln(v) * (u / d);
    if d == 0.0 { u } else { corrected }
}

/// `e^x − 1`, accurate near 0.
#[inline(always)]
pub fn exp_m1(x: f32) -> f32 {
    let mut p = 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    let series = x + x * x * p;
    let direct = exp(x) - 1.0;
    if x.abs() < 0.5 { series } else { direct }
}

macro_rules! dispatch {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident : $ty:ty),*) $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) { generic($($arg),*) }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) { generic($($arg),*) }
                use $crate::backend::fastmath::{Level, level};
                match level() {
                    // SAFETY: `level` checked at run time that the CPU has these features.
                    Level::Avx512 => return unsafe { avx512($($arg),*) },
                    Level::Avx2 => return unsafe { avx2($($arg),*) },
                    Level::Baseline => {}
                }
            }
            generic($($arg),*)
        }
    };
}

pub(crate) use dispatch;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Baseline,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
}

pub(crate) fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Baseline
    })
}

// The kernels index plain slices (no iterator adapters): an adapter's `fold` is a separate
// generic function that the compiler may not inline into the feature-enabled copies, which then
// run unvectorised.

dispatch! {
    /// Parzen distances along a row of points: `d[j] = max(d[j] + x_norm[j] + s_norm, 0)` (d
    /// holds `−2·s·x_j`) and `nearest[j] = min(nearest[j], d[j])`.
    pub fn squared_distances(d: &mut [f32], x_norm: &[f32], s_norm: f32, nearest: &mut [f32]) {
        let n = d.len().min(x_norm.len()).min(nearest.len());
        let (d, x_norm, nearest) = (&mut d[..n], &x_norm[..n], &mut nearest[..n]);
        for j in 0..n {
            let v = (d[j] + x_norm[j] + s_norm).max(0.0);
            d[j] = v;
            nearest[j] = nearest[j].min(v);
        }
    }
}

dispatch! {
    /// Parzen sums along a row of points: `sum[j] += e^(k·d[j] − shift[j])`, in f64.
    pub fn accumulate_exp(sum: &mut [f64], d: &[f32], k: f32, shift: &[f32]) {
        let n = sum.len().min(d.len()).min(shift.len());
        let (sum, d, shift) = (&mut sum[..n], &d[..n], &shift[..n]);
        for j in 0..n {
            sum[j] += f64::from(exp(k * d[j] - shift[j]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        let ulp = f64::from(f32::from_bits(b32.abs().to_bits() + 1) - b32.abs());
        (f64::from(a) - b).abs() / ulp.max(f64::from(f32::MIN_POSITIVE))
    }

    /// Over the whole range where the model evaluates them, the fast functions stay within a
    /// few ulp of the correctly rounded f64 values (else "same results as before" would fail).
    #[test]
    fn fast_functions_are_within_a_few_ulp_of_f64() {
        let mut x = -87.0f32;
        while x < 88.0 {
            assert!(ulps(exp(x), f64::from(x).exp()) < 3.0, "exp({x})");
            x += 0.0137;
        }
        let mut x = 1e-30f32;
        while x < 1e30 {
            assert!(ulps(ln(x), f64::from(x).ln()) < 3.0, "ln({x})");
            x *= 1.0173;
        }
        let mut u = 1e-12f32;
        while u <= 1.0 {
            assert!(ulps(ln_1p(u), f64::from(u).ln_1p()) < 4.0, "ln_1p({u})");
            u *= 1.031;
        }
        let mut a = -30.0f32;
        while a < 30.0 {
            let a64 = f64::from(a);
            assert!(ulps(exp_m1(a), a64.exp_m1()) < 4.0, "exp_m1({a})");
            a += 0.00731;
        }
    }

    #[test]
    fn saturation_is_graceful() {
        assert!(exp(100.0).is_finite());
        assert!(exp(-100.0) > 0.0);
    }
}
