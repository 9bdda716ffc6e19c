//! The STDP window of Fig. 1: the trials' weight changes binned by `Δt = t_post − t_pre`
//! (mean ± standard error per bin), and their correlation with the classical pair rule.

use serde::{Deserialize, Serialize};

use super::protocol::Trial;
use super::stdp::PairStdp;

/// One bin of the STDP window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// The bin's centre (ms).
    pub delta_t_ms: f64,
    /// Mean `Δt` of the trials in the bin (ms).
    pub mean_delta_t_ms: f64,
    /// Mean `ΔW`.
    pub mean_dw: f64,
    /// Standard error of the mean `ΔW` (sample standard deviation / √n; 0 when n < 2).
    pub sem_dw: f64,
    /// Trials in the bin.
    pub n: usize,
}

impl Bin {
    /// The bin centred at `delta_t_ms` holding `n ≥ 1` pairs with `Σ Δt = sum_delta_t_ms`,
    /// `Σ ΔW = sum_dw` and `Σ ΔW² = sum_dw2`: means and the standard error of the mean ΔW.
    pub fn from_sums(
        delta_t_ms: f64,
        n: usize,
        sum_delta_t_ms: f64,
        (sum_dw, sum_dw2): (f64, f64),
    ) -> Self {
        let nf = n as f64;
        let mean = sum_dw / nf;
        let sem = if n > 1 {
            ((sum_dw2 - nf * mean * mean).max(0.0) / (nf - 1.0) / nf).sqrt()
        } else {
            0.0
        };
        Bin {
            delta_t_ms,
            mean_delta_t_ms: sum_delta_t_ms / nf,
            mean_dw: mean,
            sem_dw: sem,
            n,
        }
    }
}

/// The STDP window: `ΔW` averaged in bins of `Δt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdpCurve {
    /// Non-empty bins in increasing `Δt`.
    pub bins: Vec<Bin>,
    /// Trials run.
    pub trials: usize,
    /// Trials with a postsynaptic spike in the window.
    pub paired: usize,
}

/// Bins paired trials by `Δt` into bins of `bin_ms` over `[−window, window]`, with a bin edge at
/// 0 (so no bin mixes pre-before-post with post-before-pre pairs).
///
/// With a bin width or window that is not a positive number (or more than 10⁶ bins) every trial
/// counts as unpaired and the curve is empty.
pub fn bin_trials(trials: &[Trial], bin_ms: f64, window_ms: f64) -> StdpCurve {
    let bins_per_side = window_ms / bin_ms;
    if !(bin_ms > 0.0 && window_ms > 0.0 && bins_per_side <= 1e6) {
        return StdpCurve {
            bins: vec![],
            trials: trials.len(),
            paired: 0,
        };
    }
    let half = bins_per_side.ceil() as usize;
    // per bin: n, Σ Δt, Σ ΔW, Σ ΔW²
    let mut acc = vec![(0usize, 0.0f64, 0.0f64, 0.0f64); 2 * half];
    let mut paired = 0;
    for t in trials {
        let Some(d) = t.delta_t_ms else { continue };
        if d.abs() > window_ms {
            continue;
        }
        paired += 1;
        let k = ((d / bin_ms).floor() as i64 + half as i64).clamp(0, 2 * half as i64 - 1) as usize;
        let a = &mut acc[k];
        a.0 += 1;
        a.1 += d;
        a.2 += t.dw;
        a.3 += t.dw * t.dw;
    }
    let bins = acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(k, &(n, sd, sw, sw2))| {
            Bin::from_sums((k as f64 - half as f64 + 0.5) * bin_ms, n, sd, (sw, sw2))
        })
        .collect();
    StdpCurve {
        bins,
        trials: trials.len(),
        paired,
    }
}

/// Pearson correlation, over the paired trials, between Eq. 1's `ΔW` and what the pair rule gives
/// for the same `Δt` (the comparison of the companion paper, gap S5.7). `None` with
/// fewer than 3 pairs or no variance.
pub fn correlation_with_pair_rule(trials: &[Trial], rule: &PairStdp) -> Option<f64> {
    let (a, b): (Vec<f64>, Vec<f64>) = trials
        .iter()
        .filter_map(|t| t.delta_t_ms.map(|d| (t.dw, rule.weight_change(d))))
        .unzip();
    super::fit::pearson(&a, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(d: Option<f64>, dw: f64) -> Trial {
        Trial {
            delta_t_ms: d,
            dv_dt_per_ms: dw,
            dw,
            gap: 0.0,
            steps: 0,
        }
    }

    #[test]
    fn binning_gives_means_standard_errors_and_counts() {
        // bin [0, 5): ΔW = 1, 2, 3 → mean 2, sd 1, sem 1/√3; bin [−5, 0): one trial; unpaired and
        // out-of-window trials are not binned.
        let ts = [
            trial(Some(1.0), 1.0),
            trial(Some(2.0), 2.0),
            trial(Some(4.9), 3.0),
            trial(Some(-0.1), -1.0),
            trial(None, 9.0),
            trial(Some(60.0), 9.0),
        ];
        let c = bin_trials(&ts, 5.0, 50.0);
        assert_eq!((c.trials, c.paired), (6, 4));
        assert_eq!(c.bins.len(), 2);
        let (neg, pos) = (c.bins[0], c.bins[1]);
        assert_eq!(
            (neg.delta_t_ms, neg.n, neg.mean_dw, neg.sem_dw),
            (-2.5, 1, -1.0, 0.0)
        );
        assert_eq!((pos.delta_t_ms, pos.n), (2.5, 3));
        assert!((pos.mean_dw - 2.0).abs() < 1e-12);
        assert!((pos.sem_dw - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!((pos.mean_delta_t_ms - 7.9 / 3.0).abs() < 1e-12);
        assert!(bin_trials(&ts, 0.0, 50.0).bins.is_empty());
        assert!(bin_trials(&ts, f64::NAN, 50.0).bins.is_empty());
    }
}
