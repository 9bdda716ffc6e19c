//! One trial, one process: `bpdl sweep run S --trial K` trains trial K's config into
//! `S/trials/K/run/` ([`crate::run::train_in_dir`], which resumes a killed trial from its last
//! checkpoint), scores it ([`super::score::score_model`]) and writes `S/trials/K/result.json`
//! atomically. A trial whose `result.json` exists is finished: running it again does nothing.
//! A trial touches only its own folder, and holds the lock of `S/trials/K/` for the whole call,
//! so two processes may run two trials at once, and the same trial twice is refused at once.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::plan::{Sweep, Trial};
use super::score::{ModelScores, ScoreData, score_model};
use crate::backend::Device;
use crate::data::Mnist;
use crate::error::{Error, Result};
use crate::run::{Existing, Provenance, RunObserver, TrainingData, train_in_dir};
use crate::train::EpochMetrics;

/// The result file of a trial.
pub const RESULT_FILE: &str = "result.json";
/// The run folder of a trial, inside its folder.
pub const RUN_DIR: &str = "run";

/// `S/trials/K/result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// The trial.
    #[serde(flatten)]
    pub trial: Trial,
    /// Its scores (absent when training diverged).
    pub scores: Option<ModelScores>,
    /// Why there are no scores: the divergence that ended training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds of training in the call that finished it (0 when it had finished before).
    pub train_seconds: f64,
    /// Seconds of scoring.
    pub score_seconds: f64,
    /// The last epoch's metrics.
    pub final_epoch: Option<EpochMetrics>,
    /// Version, commit and command line of the process that finished it.
    pub provenance: Provenance,
    /// The machine (`/proc/cpuinfo`'s model name) and host.
    pub machine: String,
    /// Worker threads.
    pub threads: usize,
    /// When it finished (UTC, ISO 8601).
    pub finished: String,
}

/// What [`run_trial`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The trial ran (or resumed) to its end.
    Ran(TrialResult),
    /// It had finished before: nothing was done.
    AlreadyDone(TrialResult),
}

impl Outcome {
    /// The result either way.
    pub fn result(&self) -> &TrialResult {
        match self {
            Outcome::Ran(r) | Outcome::AlreadyDone(r) => r,
        }
    }
}

/// Reads a trial's `result.json` (`None` while it has not finished).
pub fn read_result(sweep: &Sweep, id: usize) -> Result<Option<TrialResult>> {
    let path = sweep.trial_dir(id).join(RESULT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, "reading the trial's result", e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::BadFile {
            path: path.clone(),
            problem: format!("not a trial result: {e}"),
            hint: "delete it and run the trial again (`bpdl sweep run S --trial K`)".into(),
        })
}

/// Runs trial `id` of `sweep` on `data` (see the module doc): trains, scores, writes its
/// result; a finished trial is returned as it is. A run that diverges (a non-finite value) is
/// a result too, recorded with its error; any other failure (a missing file, a full disk, an
/// interruption) is returned as an error and leaves the trial unfinished, to be run again.
pub fn run_trial(
    dev: &Device,
    sweep: &Sweep,
    id: usize,
    data: &Mnist,
    provenance: &Provenance,
    observer: &mut dyn RunObserver,
) -> Result<Outcome> {
    let trial = sweep.trial(id)?.clone();
    if let Some(r) = read_result(sweep, id)? {
        return Ok(Outcome::AlreadyDone(r));
    }
    let dir = sweep.trial_dir(id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "creating the trial folder", e))?;
    let _lock = crate::run::lock::RunLock::acquire(&dir, &provenance.command)?;
    // another process may have finished it while this one waited to start
    if let Some(r) = read_result(sweep, id)? {
        return Ok(Outcome::AlreadyDone(r));
    }
    let config = trial.config(&sweep.spec.base()?)?;
    let run = dir.join(RUN_DIR);
    let mut result = TrialResult {
        trial,
        scores: None,
        error: None,
        train_seconds: 0.0,
        score_seconds: 0.0,
        final_epoch: None,
        provenance: provenance.clone(),
        machine: format!("{} ({})", crate::run::machine(), crate::run::machine_host()),
        threads: dev.threads(),
        finished: String::new(),
    };
    let training = TrainingData::from_dataset(data);
    match train_in_dir(
        dev,
        &config,
        &training,
        &run,
        provenance,
        Existing::Continue,
        observer,
    ) {
        Err(e @ Error::NonFinite { .. }) => result.error = Some(e.to_string()),
        Err(e) => return Err(e),
        Ok(trained) => {
            result.train_seconds = trained.seconds;
            let started = Instant::now();
            let samples = sweep.spec.samples.unwrap_or(config.generate.samples);
            result.scores = Some(score_model(
                dev,
                &trained.state.model,
                &config,
                sweep.spec.score,
                (samples, sweep.spec.full_prior),
                &ScoreData::of(data),
            )?);
            result.score_seconds = started.elapsed().as_secs_f64();
        }
    }
    result.final_epoch = last_epoch(&run);
    result.finished = crate::run::timestamp();
    crate::run::write_json(&dir.join(RESULT_FILE), &result)?;
    Ok(Outcome::Ran(result))
}

/// The last line of a run folder's `metrics.jsonl`, if any.
fn last_epoch(run: &Path) -> Option<EpochMetrics> {
    crate::run::read_metrics(run).ok()?.pop()
}

/// What [`run_trials`] reports while it works.
pub trait SweepObserver: RunObserver {
    /// Trial `trial` is starting (`index` of `total` in this call, from 0).
    fn trial_starting(&mut self, _index: usize, _total: usize, _trial: &Trial) {}
    /// A trial has ended (or was found finished).
    fn trial_done(&mut self, _outcome: &Outcome) {}
}

impl SweepObserver for () {}

/// Runs the trials `ids` of `sweep` one after another in this process, each with all of the
/// device's threads (the local engine of `bpdl sweep run S` and the one-command `bpdl sweep`).
pub fn run_trials(
    dev: &Device,
    sweep: &Sweep,
    ids: &[usize],
    data: &Mnist,
    provenance: &Provenance,
    observer: &mut dyn SweepObserver,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        observer.trial_starting(i, ids.len(), sweep.trial(id)?);
        let o = run_trial(dev, sweep, id, data, provenance, observer)?;
        observer.trial_done(&o);
        outcomes.push(o);
    }
    Ok(outcomes)
}
