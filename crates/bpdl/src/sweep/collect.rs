//! `bpdl sweep collect S`: every finished trial's result in `S/sweep.jsonl` (id order), and the
//! settings ranked by their validation score, mean ± sd over seeds, in `S/summary.md` and
//! `S/summary.json`. Test figures appear only beside the chosen (best) setting: a table that
//! showed every setting's test score would invite choosing on test.

use serde::Serialize;

use super::plan::Sweep;
use super::score::Score;
use super::trial::{TrialResult, read_result};
use crate::error::Result;
use crate::run::write_atomic;
use crate::stats::mean_sd;

/// All trial results, one JSON line each.
pub const JSONL_FILE: &str = "sweep.jsonl";
/// The ranked table.
pub const SUMMARY_FILE: &str = "summary.md";
/// The ranked table as JSON.
pub const SUMMARY_JSON: &str = "summary.json";

/// Mean and sample standard deviation of a few values (`sd` 0 for one value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSd {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (n − 1).
    pub sd: f64,
    /// How many values.
    pub n: usize,
}

/// One setting of the ranked table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingSummary {
    /// Rank by validation score, from 1 (settings without any score come last, unranked: 0).
    pub rank: usize,
    /// The setting's index in the plan.
    pub setting: usize,
    /// Its overrides.
    pub overrides: Vec<String>,
    /// Its trials' ids.
    pub trials: Vec<usize>,
    /// Trials finished (scored or diverged).
    pub finished: usize,
    /// Trials that diverged.
    pub diverged: usize,
    /// The validation score over the scored seeds.
    pub validation: Option<MeanSd>,
    /// The test figure over the same seeds: only for the chosen setting (rank 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<MeanSd>,
    /// Mean seconds of training per finished trial.
    pub train_seconds: f64,
}

/// What [`collect`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The score.
    pub score: Score,
    /// Trials planned.
    pub planned: usize,
    /// Trials finished.
    pub finished: usize,
    /// The ids of the unfinished trials.
    pub pending: Vec<usize>,
    /// The settings, best first.
    pub settings: Vec<SettingSummary>,
}

fn mean_sd_of(v: &[f64]) -> Option<MeanSd> {
    if v.is_empty() {
        return None;
    }
    let (mean, sd) = mean_sd(v);
    Some(MeanSd {
        mean,
        sd: sd.unwrap_or(0.0),
        n: v.len(),
    })
}

/// Ranks the finished trials of `results` (one `Option` per trial of `sweep`, in id order).
pub fn summarize(sweep: &Sweep, results: &[Option<TrialResult>]) -> Summary {
    let score = sweep.spec.score;
    let settings = sweep
        .trials
        .iter()
        .map(|t| t.setting)
        .max()
        .map_or(0, |m| m + 1);
    let mut rows: Vec<SettingSummary> = (0..settings)
        .map(|s| {
            let trials: Vec<usize> = sweep
                .trials
                .iter()
                .filter(|t| t.setting == s)
                .map(|t| t.id)
                .collect();
            let done: Vec<&TrialResult> =
                trials.iter().filter_map(|&i| results[i].as_ref()).collect();
            let scored: Vec<_> = done.iter().filter_map(|r| r.scores).collect();
            let validation: Vec<f64> = scored.iter().map(|s| s.validation).collect();
            let test: Vec<f64> = scored.iter().filter_map(|s| s.test).collect();
            SettingSummary {
                rank: 0,
                setting: s,
                overrides: sweep.trials[trials[0]].overrides.clone(),
                finished: done.len(),
                diverged: done.iter().filter(|r| r.scores.is_none()).count(),
                validation: mean_sd_of(&validation),
                test: mean_sd_of(&test),
                train_seconds: if done.is_empty() {
                    0.0
                } else {
                    done.iter().map(|r| r.train_seconds).sum::<f64>() / done.len() as f64
                },
                trials,
            }
        })
        .collect();
    let key = |r: &SettingSummary| r.validation.map_or(f64::NAN, |v| v.mean);
    rows.sort_by(|a, b| {
        let (x, y) = (key(a), key(b));
        if score.better(x, y) {
            std::cmp::Ordering::Less
        } else if score.better(y, x) {
            std::cmp::Ordering::Greater
        } else {
            a.setting.cmp(&b.setting)
        }
    });
    let mut rank = 0;
    for r in &mut rows {
        if r.validation.is_some() {
            rank += 1;
            r.rank = rank;
        }
        if r.rank != 1 {
            r.test = None;
        }
    }
    let pending: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].is_none())
        .collect();
    Summary {
        score,
        planned: sweep.trials.len(),
        finished: results.len() - pending.len(),
        pending,
        settings: rows,
    }
}

/// The ranked table in Markdown.
pub fn markdown(sweep: &Sweep, s: &Summary) -> String {
    let fmt = |m: &Option<MeanSd>| match m {
        Some(m) if m.n == 1 && s.score == Score::ValidationError => {
            format!("{:.2} % (1 seed)", 100.0 * m.mean)
        }
        Some(m) if m.n == 1 => format!("{:.1} (1 seed)", m.mean),
        Some(m) if s.score == Score::ValidationError => {
            format!("{:.2} ± {:.2} %", 100.0 * m.mean, 100.0 * m.sd)
        }
        Some(m) => format!("{:.1} ± {:.1}", m.mean, m.sd),
        None => "—".into(),
    };
    let mut t = format!(
        "# Sweep `{}`\n\n{} of {} trials finished; settings ranked by **{}** ({} is better), \
         mean ± sd over seeds. The test figure is shown beside the chosen setting only: it is \
         reported, never used to choose.\n\n",
        sweep.dir.display(),
        s.finished,
        s.planned,
        s.score,
        if s.score.higher_is_better() {
            "higher"
        } else {
            "lower"
        },
    );
    t += "| rank | setting | seeds done | validation | test | train s / trial |\n";
    t += "|---|---|---|---|---|---|\n";
    for r in &s.settings {
        let setting = if r.overrides.is_empty() {
            "base config".to_string()
        } else {
            format!("`{}`", r.overrides.join(" "))
        };
        let done = if r.diverged > 0 {
            format!(
                "{}/{} ({} diverged)",
                r.finished,
                r.trials.len(),
                r.diverged
            )
        } else {
            format!("{}/{}", r.finished, r.trials.len())
        };
        t += &format!(
            "| {} | {setting} | {done} | {} | {} | {:.0} |\n",
            if r.rank == 0 {
                "–".to_string()
            } else {
                r.rank.to_string()
            },
            fmt(&r.validation),
            fmt(&r.test),
            r.train_seconds,
        );
    }
    if !s.pending.is_empty() {
        let ids: Vec<String> = s.pending.iter().map(usize::to_string).collect();
        t += &format!(
            "\nUnfinished trials: {} (`bpdl sweep run {} --trial K`, or submit `sweep.sbatch` \
             again: finished trials are skipped).\n",
            ids.join(", "),
            sweep.dir.display()
        );
    }
    t
}

/// Reads every trial's result and writes `sweep.jsonl`, `summary.md` and `summary.json`
/// (atomically); returns the summary. Unfinished trials are listed, not waited for.
pub fn collect(sweep: &Sweep) -> Result<Summary> {
    let results = (0..sweep.trials.len())
        .map(|i| read_result(sweep, i))
        .collect::<Result<Vec<_>>>()?;
    let mut jsonl = String::new();
    for r in results.iter().flatten() {
        jsonl += &serde_json::to_string(r).map_err(|e| crate::Error::Usage(e.to_string()))?;
        jsonl.push('\n');
    }
    write_atomic(&sweep.dir.join(JSONL_FILE), jsonl.as_bytes())?;
    let summary = summarize(sweep, &results);
    write_atomic(
        &sweep.dir.join(SUMMARY_FILE),
        markdown(sweep, &summary).as_bytes(),
    )?;
    crate::run::write_json(&sweep.dir.join(SUMMARY_JSON), &summary)?;
    Ok(summary)
}
