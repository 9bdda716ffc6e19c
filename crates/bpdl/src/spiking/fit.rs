//! Fitting the simulated window and comparing it with the biological one.
//!
//! ```text
//! potentiation branch (Δt > 0):  ΔW ≈ A₊ e^(−Δt/τ₊)
//! depression branch  (Δt < 0):   ΔW ≈ −A₋ e^(Δt/τ₋)
//! ```
//!
//! Each branch is fitted by least squares on the bin means. For a fixed τ the best amplitude
//! has a closed form, `A(τ) = Σ y e / Σ e²` with `e = e^(−|Δt|/τ)`, and the residual is
//! `Σ y² − (Σ y e)² / Σ e²`; the residual is then minimised over τ by a log-spaced scan followed
//! by golden-section refinement.
//!
//! The references are the biological window of Bi & Poo (1998) in two published fits:
//! - [`bi_poo_window`]: the exponential fit of Bi & Poo (2001, Annu. Rev. Neurosci. 24:139),
//!   τ₊ = 16.8 ms, τ₋ = 33.7 ms (the widths used by Pfister & Gerstner 2006, Table 4);
//! - [`abarbanel_window`]: Abarbanel, Huerta & Rabinovich (2002, PNAS 99:10132),
//!   `A(τ) = a_P e^(−τ/T_P) − a_D e^(−ητ/T_P)` for τ > 0 and `a_P e^(ητ/T_D) − a_D e^(τ/T_D)` for
//!   τ < 0, with `a_P = γ/(1/T_P + η/T_D)`, `a_D = γ/(η/T_P + 1/T_D)`, T_P = 10.2 ms,
//!   T_D = 28.6 ms, η = 4, γ = 42 (as quoted in PMC3059676, Fig. 1).

use serde::{Deserialize, Serialize};

/// One fitted branch `A e^(−|Δt|/τ)` (for the depression branch, `A` is A₋ and the branch is
/// `−A₋ e^(Δt/τ₋)`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpFit {
    /// τ (ms).
    pub tau_ms: f64,
    /// The amplitude.
    pub amplitude: f64,
    /// The fraction of the variance of the bin means the fit explains.
    pub r_squared: f64,
    /// Bins used.
    pub points: usize,
}

/// Least-squares fit of `y ≈ A e^(−x/τ)` over `x > 0`, with τ searched in
/// `[tau_min_ms, tau_max_ms]`. `None` with fewer than 2 points, or if every point is 0.
///
/// ```
/// use bpdl::spiking::fit::fit_exponential;
/// let pts: Vec<(f64, f64)> = (1..40).map(|x| (x as f64, 0.7 * (-(x as f64) / 12.0).exp())).collect();
/// let f = fit_exponential(&pts, 0.1, 1000.0).unwrap();
/// assert!((f.tau_ms - 12.0).abs() < 1e-5 && (f.amplitude - 0.7).abs() < 1e-6);
/// ```
pub fn fit_exponential(points: &[(f64, f64)], tau_min_ms: f64, tau_max_ms: f64) -> Option<ExpFit> {
    if points.len() < 2
        || points.iter().all(|p| p.1 == 0.0)
        || !(tau_min_ms > 0.0 && tau_max_ms > tau_min_ms)
    {
        return None;
    }
    let sse_amp = |tau: f64| -> (f64, f64) {
        let (mut ye, mut ee, mut yy) = (0.0, 0.0, 0.0);
        for &(x, y) in points {
            let e = (-x / tau).exp();
            ye += y * e;
            ee += e * e;
            yy += y * y;
        }
        if ee <= 0.0 {
            return (yy, 0.0);
        }
        (yy - ye * ye / ee, ye / ee)
    };
    // coarse log-spaced scan, then golden section between the best point's neighbours
    let n = 200;
    let (lo, hi) = (tau_min_ms.ln(), tau_max_ms.ln());
    let grid: Vec<f64> = (0..=n)
        .map(|k| (lo + (hi - lo) * k as f64 / n as f64).exp())
        .collect();
    let sse: Vec<f64> = grid.iter().map(|&tau| sse_amp(tau).0).collect();
    let best = (0..=n)
        .min_by(|&a, &b| sse[a].total_cmp(&sse[b]))
        .unwrap_or(0);
    let (mut a, mut b) = (
        grid[best.saturating_sub(1)].ln(),
        grid[(best + 1).min(n)].ln(),
    );
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let f = |l: f64| sse_amp(l.exp()).0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if (b - a).abs() < 1e-12 {
            break;
        }
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let tau = (0.5 * (a + b)).exp();
    let (sse, amplitude) = sse_amp(tau);
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let sst: f64 = points.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let r_squared = if sst > 0.0 { 1.0 - sse / sst } else { 1.0 };
    Some(ExpFit {
        tau_ms: tau,
        amplitude,
        r_squared,
        points: points.len(),
    })
}

/// Both branches of an STDP window fitted from `(Δt, mean ΔW)` points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowFit {
    /// `A₊ e^(−Δt/τ₊)` over `Δt > 0`.
    pub potentiation: Option<ExpFit>,
    /// `−A₋ e^(Δt/τ₋)` over `Δt < 0` (amplitude = A₋, positive for depression).
    pub depression: Option<ExpFit>,
}

/// Fits both branches; the depression branch is fitted as `−ΔW` against `|Δt|`.
pub fn fit_window(points: &[(f64, f64)], tau_min_ms: f64, tau_max_ms: f64) -> WindowFit {
    let pos: Vec<_> = points.iter().filter(|p| p.0 > 0.0).copied().collect();
    let neg: Vec<_> = points
        .iter()
        .filter(|p| p.0 < 0.0)
        .map(|p| (-p.0, -p.1))
        .collect();
    WindowFit {
        potentiation: fit_exponential(&pos, tau_min_ms, tau_max_ms),
        depression: fit_exponential(&neg, tau_min_ms, tau_max_ms),
    }
}

/// The Pearson correlation of two windows ([`crate::stats::pearson`]).
///
/// ```
/// use bpdl::spiking::fit::pearson;
/// assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]).unwrap() - 0.99794).abs() < 1e-4);
/// assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
/// ```
pub use crate::stats::pearson;

/// τ₊ of the Bi & Poo (2001) exponential fit (ms).
pub const BI_POO_TAU_PLUS_MS: f64 = 16.8;
/// τ₋ of the Bi & Poo (2001) exponential fit (ms).
pub const BI_POO_TAU_MINUS_MS: f64 = 33.7;
/// A₊ of the Bi & Poo (2001) exponential fit (fractional change of the EPSC). The amplitudes are
/// quoted from memory of the review's Fig. 1 legend and could not be checked against the text
/// here; only their ratio enters the correlation.
pub const BI_POO_A_PLUS: f64 = 0.777;
/// A₋ of the Bi & Poo (2001) exponential fit (see [`BI_POO_A_PLUS`] on its provenance).
pub const BI_POO_A_MINUS: f64 = 0.273;

/// The Bi & Poo reference window at `Δt` (ms), `Δt = 0` counted as potentiation.
pub fn bi_poo_window(delta_t_ms: f64) -> f64 {
    if delta_t_ms >= 0.0 {
        BI_POO_A_PLUS * (-delta_t_ms / BI_POO_TAU_PLUS_MS).exp()
    } else {
        -BI_POO_A_MINUS * (delta_t_ms / BI_POO_TAU_MINUS_MS).exp()
    }
}

/// The Abarbanel et al. (2002) window fitted to the Bi & Poo (1998) data, at `Δt` (ms), in %
/// change of the synaptic strength.
pub fn abarbanel_window(delta_t_ms: f64) -> f64 {
    const T_P: f64 = 10.2;
    const T_D: f64 = 28.6;
    const ETA: f64 = 4.0;
    const GAMMA: f64 = 42.0;
    let a_p = GAMMA / (1.0 / T_P + ETA / T_D);
    let a_d = GAMMA / (ETA / T_P + 1.0 / T_D);
    let t = delta_t_ms;
    if t > 0.0 {
        a_p * (-t / T_P).exp() - a_d * (-ETA * t / T_P).exp()
    } else {
        a_p * (ETA * t / T_D).exp() - a_d * (t / T_D).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_recovers_the_exponential_it_was_given_on_both_branches() {
        let mut pts = vec![];
        for k in 0..30 {
            let x = 1.0 + 2.0 * k as f64;
            pts.push((x, 0.9 * (-x / 15.0).exp()));
            pts.push((-x, -0.4 * (-x / 30.0).exp()));
        }
        let w = fit_window(&pts, 0.5, 500.0);
        let (p, d) = (w.potentiation.unwrap(), w.depression.unwrap());
        // minimising a residual locates its minimum to ≈ √ε relative precision, hence 1e-6
        assert!(
            (p.tau_ms - 15.0).abs() < 15e-6 && (p.amplitude - 0.9).abs() < 1e-6,
            "{p:?}"
        );
        assert!(
            (d.tau_ms - 30.0).abs() < 30e-6 && (d.amplitude - 0.4).abs() < 1e-6,
            "{d:?}"
        );
        assert!(p.r_squared > 1.0 - 1e-12);
    }

    #[test]
    fn the_abarbanel_window_integrates_to_zero_and_is_continuous() {
        // PMC3059676: a_P, a_D are chosen so that ∫A(τ)dτ = 0. Closed form of the integral:
        // a_P (T_P + T_D/η) − a_D (T_P/η + T_D) = γT_PT_D/η − γT_PT_D/η = 0; check it
        // numerically (midpoint rule over ±600 ms, where both tails are below 1e-8).
        let h = 0.001;
        let s: f64 = (-600_000..600_000)
            .map(|k| abarbanel_window((k as f64 + 0.5) * h) * h)
            .sum();
        assert!(s.abs() < 1e-3, "{s}");
        assert!((abarbanel_window(1e-9) - abarbanel_window(-1e-9)).abs() < 1e-6);
        // its LTP peak lies at a few ms, its LTD trough at −20 … −25 ms
        assert!(abarbanel_window(5.0) > 90.0 && abarbanel_window(-20.0) < -35.0);
    }

    #[test]
    fn the_bi_poo_window_has_the_published_time_constants() {
        let r = bi_poo_window(16.8) / bi_poo_window(0.0);
        assert!((r - (-1.0f64).exp()).abs() < 1e-12);
        let r = bi_poo_window(-33.7) / bi_poo_window(-1e-12);
        assert!((r - (-1.0f64).exp()).abs() < 1e-9);
    }
}
