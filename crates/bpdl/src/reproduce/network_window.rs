//! The in-network STDP window in the reproduction's report: for every seed whose run folder
//! recorded one (`learning.spiking.window_synapses > 0`, [`crate::learning::stdp_window`]), its
//! `stdp_window.json` in a table and its figure beside the Bi & Poo window, in a section of its
//! own before the timings.

use std::path::Path;

use crate::error::Result;
use crate::learning::stdp_window::{self, NetworkWindow, WindowReport};
use crate::report::{Block, Report};
use crate::spiking::experiment::TAU_MAX_MS;

/// A seed's recorded window.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedWindow {
    /// The seed.
    pub seed: u64,
    /// Its report.
    pub report: WindowReport,
    /// The figure's stem inside the reproduction folder, when it was copied there.
    pub figure: Option<String>,
}

/// The figure's stem for seed `seed` inside the reproduction folder.
pub fn figure_stem(seed: u64) -> String {
    format!("stdp_window_seed{seed}")
}

/// Reads the window of the run folder `run` (`None` when it recorded none or the file cannot
/// be read) and copies its figure into `out` as [`figure_stem`]`(seed)`.
pub fn collect(out: &Path, run: &Path, seed: u64) -> Result<Option<SeedWindow>> {
    let Some(report) = std::fs::read_to_string(run.join(stdp_window::FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<WindowReport>(&t).ok())
    else {
        return Ok(None);
    };
    let stem = figure_stem(seed);
    let mut copied = true;
    for ext in ["png", "svg"] {
        let from = run.join(format!("{}.{ext}", stdp_window::FIGURE));
        match std::fs::read(&from) {
            Ok(bytes) => crate::run::write_atomic(&out.join(format!("{stem}.{ext}")), &bytes)?,
            Err(_) => copied = false,
        }
    }
    Ok(Some(SeedWindow {
        seed,
        report,
        figure: copied.then_some(stem),
    }))
}

/// Inserts the section before the report's "Timings" heading (at the end without one); nothing
/// without windows.
pub fn insert_section(rep: &mut Report, windows: &[SeedWindow]) {
    if windows.is_empty() {
        return;
    }
    let opt =
        |x: Option<f64>, digits: usize| x.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"));
    // a τ at the top of the search range means that the branch has no exponential decay
    let tau = |f: Option<crate::spiking::fit::ExpFit>| match f {
        Some(f) if f.tau_ms >= 0.999 * TAU_MAX_MS => format!("≥ {TAU_MAX_MS} (no decay)"),
        other => opt(other.map(|f| f.tau_ms), 1),
    };
    let mean =
        |b: stdp_window::BranchMean| format!("{:.2e} ± {:.1e} ({})", b.mean_dw, b.sem_dw, b.n);
    let row = |seed: u64, what: &str, w: &NetworkWindow| {
        vec![
            seed.to_string(),
            what.to_string(),
            w.curve.trials.to_string(),
            w.curve.paired.to_string(),
            mean(w.potentiation),
            mean(w.depression),
            tau(w.fit.potentiation),
            tau(w.fit.depression),
            opt(w.correlation_with_bi_poo, 3),
        ]
    };
    let mut blocks = vec![
        Block::Heading(2, "The STDP window inside the trained network".into()),
        Block::Paragraph(format!(
            "During spiking training, for {} sampled synapses of every map, each presynaptic \
             spike paired with the nearest spike of an escape-noise neuron firing at the rate \
             its nudged voltage codes, binned by Δt = t_post − t_pre against Eq. 1's ΔW = \
             η·dV/dt at the presynaptic spike (`stdp_window.json` of each run folder). Fits on \
             the bins with at least {} pairs; Bi & Poo (2001): τ₊ = {} ms, τ₋ = {} ms.",
            windows[0].report.synapses_per_map,
            windows[0].report.min_bin_count,
            windows[0].report.bi_poo_tau_plus_ms,
            windows[0].report.bi_poo_tau_minus_ms,
        )),
    ];
    let mut rows = Vec::new();
    for w in windows {
        rows.push(row(w.seed, "all maps", &w.report.pooled));
        for m in &w.report.maps {
            rows.push(row(w.seed, &m.name, &m.window));
        }
    }
    blocks.push(Block::Table(
        [
            "seed",
            "map",
            "pre spikes",
            "pairs",
            "mean ΔW, Δt > 0 (pairs)",
            "mean ΔW, Δt < 0 (pairs)",
            "τ₊ (ms)",
            "τ₋ (ms)",
            "correlation with Bi & Poo",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    ));
    for w in windows {
        if let Some(stem) = &w.figure {
            blocks.push(Block::Chart(
                vec![stem.clone()],
                format!(
                    "Seed {}: the in-network window ({} presentations), its fit and Bi & Poo",
                    w.seed, w.report.presentations
                ),
            ));
        }
    }
    let at = rep
        .blocks
        .iter()
        .position(|b| matches!(b, Block::Heading(2, t) if t == "Timings"))
        .unwrap_or(rep.blocks.len());
    rep.blocks.splice(at..at, blocks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::stdp_window::WindowSums;

    #[test]
    fn the_section_goes_before_the_timings_and_only_with_a_window() {
        let mut rep = Report::default();
        rep.push(Block::Heading(2, "Fig. 1".into()));
        rep.push(Block::Heading(2, "Timings".into()));
        let before = rep.clone();
        insert_section(&mut rep, &[]);
        assert_eq!(rep, before);
        let sums = WindowSums {
            synapses_per_map: 3,
            every: 1,
            steps: 4,
            dt_ms: 1.0,
            minibatches: 0,
            presentations: 0,
            maps: vec![],
            seconds: 0.0,
        };
        let w = SeedWindow {
            seed: 1,
            report: sums.report(),
            figure: Some(figure_stem(1)),
        };
        insert_section(&mut rep, &[w]);
        let headings: Vec<_> = rep
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading(2, t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            headings,
            [
                "Fig. 1",
                "The STDP window inside the trained network",
                "Timings"
            ]
        );
        assert!(rep.files().contains(&"stdp_window_seed1.svg".to_string()));
    }
}
