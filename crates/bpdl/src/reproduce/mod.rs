//! The paper's reproduction (§8 and Figs. 1, 3–5) end to end: train the configuration for each
//! seed into `OUT/train-seed<N>` (or reuse a trained run), evaluate each model
//! ([`evaluate()`]), simulate the STDP window, aggregate across seeds ([`aggregate()`]) and
//! write `OUT/results.json`, the figures and `OUT/report.md` / `OUT/report.html`.
//!
//! | file | what it holds |
//! |---|---|
//! | [`mod@evaluate`] | one model's Parzen table, Fig. 4 curves, Fig. 5 in-painting |
//! | [`paper`] | the paper's reference numbers |
//! | [`mod@aggregate`] | the typed across-seed [`Results`] (`results.json`) |
//! | `report` | the report text and verdicts (feature `report`) |
//! | `figures` | Figs. 1, 3, 4, 5 (feature `report`) |
//! | `network_window` | the in-network STDP window of runs that recorded one (feature `report`) |
//! | [`stdp`] | the output files of the STDP experiment (Fig. 1) |

pub mod aggregate;
pub mod evaluate;
#[cfg(feature = "report")]
pub mod figures;
#[cfg(feature = "report")]
pub mod network_window;
pub mod paper;
#[cfg(feature = "report")]
pub mod report;
pub mod stdp;

pub use aggregate::{DataFiles, Results, SeedResult, TrainingSummary, aggregate};
pub use evaluate::{
    EvalArtifacts, EvalOptions, Evaluation, InferenceSummary, SamplerScore, Stage, evaluate,
};

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backend::Device;
use crate::checkpoint;
use crate::config::{self, Config};
use crate::data::Mnist;
use crate::error::{Error, Result};
use crate::run::{self, Provenance, RunDir, RunInfo, RunObserver};

/// `results.json`, inside the output folder.
pub const RESULTS_FILE: &str = "results.json";

/// What to reproduce.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The configuration; seed `i` (from 0) trains with `base.seed + i`.
    pub base: Config,
    /// Seeds to train (at least 1).
    pub seeds: usize,
    /// Evaluate this trained run folder instead of training (every seed reuses it).
    pub reuse: Option<PathBuf>,
    /// The output folder.
    pub out: PathBuf,
    /// A reduced run (recorded in the results and the report).
    pub quick: bool,
    /// How much of the evaluation to run.
    pub options: EvalOptions,
    /// What produced it (written to `run.json` and the results).
    pub provenance: Provenance,
}

/// Progress hooks of [`reproduce`]: the training hooks of [`RunObserver`], plus the evaluation
/// stages. Every method has a default that does nothing.
pub trait ReproduceObserver: RunObserver {
    /// An evaluation stage of seed `seed` starts.
    fn stage(&mut self, _seed: u64, _what: &str) {}
    /// Seed `seed` is evaluated.
    fn seed_done(&mut self, _seed: u64, _evaluation: &Evaluation) {}
}

impl ReproduceObserver for () {}

/// Runs the whole reproduction of `plan` on `data` and writes its outputs into `plan.out`.
pub fn reproduce(
    dev: &Device,
    data: &Mnist,
    plan: &Plan,
    observer: &mut dyn ReproduceObserver,
) -> Result<Results> {
    let started = Instant::now();
    if plan.seeds == 0 {
        return Err(Error::Usage(
            "a reproduction needs at least one seed".into(),
        ));
    }
    let out = &plan.out;
    let base = &plan.base;
    RunDir::create(
        out,
        &config::to_toml_string(base)?,
        &RunInfo::new(plan.provenance.clone(), base.seed, dev.threads()),
    )?;
    let mut seeds = Vec::new();
    let mut first_artifacts = None;
    #[cfg(feature = "report")]
    let mut windows = Vec::new();
    for i in 0..plan.seeds {
        let mut config = base.clone();
        config.seed = base.seed + i as u64;
        let (model, dir, seconds) = match &plan.reuse {
            Some(dir) => {
                let (model, _) = checkpoint::load_model(&dir.join(checkpoint::FILE_NAME))?;
                (model, dir.clone(), recorded_train_seconds(dir))
            }
            None => {
                let dir = out.join(format!("train-seed{}", config.seed));
                let trained = run::train_in_dir(
                    dev,
                    &config,
                    &run::TrainingData::from_dataset(data),
                    &dir,
                    &plan.provenance,
                    run::Existing::Continue,
                    &mut *observer,
                )?;
                let seconds = if trained.seconds > 0.0 {
                    trained.seconds
                } else {
                    // an interrupted reproduction run again: its finished training is reused,
                    // only the evaluation (not saved until the end) is done again
                    observer.stage(
                        config.seed,
                        &format!(
                            "training already complete in {} (reused); evaluating again",
                            dir.display()
                        ),
                    );
                    recorded_train_seconds(&dir)
                };
                (trained.state.model, dir, seconds)
            }
        };
        let seed = config.seed;
        // a run folder without readable metrics (one trained by an older bpdl) has no curves;
        // the report says so
        let metrics = run::read_metrics(&dir).unwrap_or_default();
        #[cfg(feature = "report")]
        figures::write_training_figures(out, seed, &metrics)?;
        #[cfg(feature = "report")]
        windows.extend(network_window::collect(out, &dir, seed)?);
        let training = TrainingSummary::of(seed, link_from(out, &dir), &metrics);
        let t = Instant::now();
        let mut stage = |what: &str| observer.stage(seed, what);
        let (evaluation, artifacts) =
            evaluate(dev, &model, &config, data, &plan.options, seed, &mut stage)?;
        observer.seed_done(seed, &evaluation);
        seeds.push(SeedResult {
            seed,
            run: dir.display().to_string(),
            train_seconds: seconds,
            evaluation_seconds: t.elapsed().as_secs_f64(),
            evaluation,
            training,
        });
        first_artifacts.get_or_insert(artifacts);
    }
    #[cfg(feature = "report")]
    if let Some(artifacts) = &first_artifacts {
        figures::write_learner_figures(out, &seeds[0].evaluation, artifacts, base)?;
    }
    observer.stage(base.seed, "the STDP window (Fig. 1)");
    let stdp_config = crate::spiking::StdpConfig::default();
    let t = Instant::now();
    let stdp = crate::spiking::run(dev, &stdp_config)?;
    let stdp_seconds = t.elapsed().as_secs_f64();
    #[cfg(feature = "report")]
    figures::fig1(&stdp, &stdp_config).save(&out.join(figures::files::FIG1))?;
    let results = aggregate(
        seeds,
        aggregate::RunContext {
            config: base.clone(),
            quick: plan.quick,
            reused_run: plan.reuse.is_some(),
            stdp: aggregate::StdpSummary::of(&stdp, stdp_seconds),
            total_seconds: started.elapsed().as_secs_f64(),
            machine: run::machine(),
            threads: dev.threads(),
            provenance: plan.provenance.clone(),
            data: DataFiles::of(data).ok(),
            finished_utc: Some(run::timestamp()),
        },
    )?;
    run::write_json(&out.join(RESULTS_FILE), &results)?;
    #[cfg(feature = "report")]
    {
        let mut rep = report::report(&results);
        network_window::insert_section(&mut rep, &windows);
        rep.write(out, report::TITLE)?;
    }
    Ok(results)
}

/// How the report in `out` links the folder `dir`: relative when `dir` lies inside `out`, else
/// absolute (as given where it cannot be resolved).
fn link_from(out: &Path, dir: &Path) -> String {
    match dir.strip_prefix(out) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .display()
            .to_string(),
    }
}

/// Sum of the epoch times recorded in a run folder's metrics (0 when there are none).
pub fn recorded_train_seconds(dir: &Path) -> f64 {
    run::read_metrics(dir)
        .map(|m| m.iter().map(|e| e.seconds).sum())
        .unwrap_or(0.0)
}
