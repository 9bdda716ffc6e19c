//! A sweep's plan: every combination of the `--vary` axes and `--variant`s, times `seeds` seeds,
//! each one trial with an id (`0 ..`), its overrides and its seed. The plan is a pure function of
//! its [`SweepSpec`], so planning twice writes the same `plan.jsonl` byte for byte, and every
//! engine (Slurm's array index, a shard, a Python worker) names a trial by its id alone.
//!
//! Files of a sweep folder `S`, each written once by `plan`, atomically:
//! - `S/sweep.json`: the [`SweepSpec`] (axes, seeds, score, data, base config);
//! - `S/plan.jsonl`: one [`Trial`] per line, in id order;
//! - `S/sweep.sbatch`: the Slurm job-array script ([`super::sbatch`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::score::Score;
use crate::config::{self, Config};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::run::write_atomic;

/// The file holding the sweep's spec.
pub const SPEC_FILE: &str = "sweep.json";
/// The file holding the trials, one JSON line each.
pub const PLAN_FILE: &str = "plan.jsonl";
/// The folder holding one folder per trial.
pub const TRIALS_DIR: &str = "trials";

/// What a sweep varies and how it scores: everything [`plan_trials`] needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The `--vary` axes, `KEY=V1,V2,…` (list values with `;` between elements).
    pub axes: Vec<String>,
    /// The `--variant`s, each a space-separated list of `KEY=VALUE` overrides.
    pub variants: Vec<String>,
    /// Seeds per setting: seed `i` (from 0) of every setting trains with `base.seed + i`.
    pub seeds: usize,
    /// The validation score that ranks settings.
    pub score: Score,
    /// Samples per sampler for a Parzen score (default: the config's `generate.samples`).
    pub samples: Option<usize>,
    /// Also score with a full-covariance top prior fitted to each model.
    pub full_prior: bool,
    /// The data folder trials read (absent: `$BPDL_DATA_DIR`, else `./data/<dataset>`).
    pub data_dir: Option<PathBuf>,
    /// The resolved base config every setting starts from, as TOML.
    pub base_config: String,
}

/// One trial: a setting (the overrides) and a seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Its id: its line in `plan.jsonl`, its folder `trials/<id>`, Slurm's array index.
    pub id: usize,
    /// Its setting's index (trials of one setting differ only by seed).
    pub setting: usize,
    /// The overrides on top of the base config (the seed is not among them).
    pub overrides: Vec<String>,
    /// The seed it trains with.
    pub seed: u64,
}

impl SweepSpec {
    /// The base config.
    pub fn base(&self) -> Result<Config> {
        config::from_toml_str(&self.base_config)
    }
}

impl Trial {
    /// The trial's resolved config: the base, its overrides, then its seed.
    pub fn config(&self, base: &Config) -> Result<Config> {
        let mut o = self.overrides.clone();
        o.push(format!("seed={}", self.seed));
        config::resolve_on(base, &o)
    }

    /// The setting as one line (`learning.lr=0.01 train.epochs=2`, `base` for none).
    pub fn setting_label(&self) -> String {
        if self.overrides.is_empty() {
            "base".into()
        } else {
            self.overrides.join(" ")
        }
    }
}

/// The trials of `spec`, setting-major (setting `s`, seed `i` has id `s·seeds + i`), every
/// config resolved and validated first so that no trial fails later on a bad value.
pub fn plan_trials(spec: &SweepSpec) -> Result<Vec<Trial>> {
    if spec.seeds == 0 {
        return Err(Error::Usage(
            "a sweep needs at least one seed: pass --seeds N with N ≥ 1".into(),
        ));
    }
    let base = spec.base()?;
    let combos = config::combinations(&spec.axes, &spec.variants)?;
    let mut trials = Vec::with_capacity(combos.len() * spec.seeds);
    for (setting, overrides) in combos.into_iter().enumerate() {
        if let Some(o) = overrides
            .iter()
            .find(|o| o.trim_start().starts_with("seed="))
        {
            return Err(Error::Usage(format!(
                "sweep override `{o}`: a sweep sets every trial's seed itself; use --seeds N \
                 (and --seed for the first)"
            )));
        }
        for i in 0..spec.seeds {
            let trial = Trial {
                id: trials.len(),
                setting,
                overrides: overrides.clone(),
                seed: base.seed + i as u64,
            };
            let config = trial.config(&base).map_err(|e| {
                Error::Usage(format!("sweep setting `{}`: {e}", trial.setting_label()))
            })?;
            spec.score.check(&config)?;
            trials.push(trial);
        }
    }
    Ok(trials)
}

/// The dataset every trial of `spec` reads (the base config's; a sweep may not vary it).
pub fn dataset(spec: &SweepSpec, trials: &[Trial]) -> Result<Dataset> {
    let base = spec.base()?;
    for t in trials {
        if t.config(&base)?.data.dataset != base.data.dataset {
            return Err(Error::Usage(format!(
                "sweep setting `{}` changes `data.dataset`: one sweep reads one dataset; plan \
                 one sweep per dataset",
                t.setting_label()
            )));
        }
    }
    Ok(base.data.dataset)
}

/// `plan.jsonl`'s text for `trials`.
pub fn plan_text(trials: &[Trial]) -> Result<String> {
    let mut text = String::new();
    for t in trials {
        text += &serde_json::to_string(t).map_err(|e| Error::Usage(format!("plan: {e}")))?;
        text.push('\n');
    }
    Ok(text)
}

/// A sweep folder's spec and trials, as [`write_plan`] left them.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Its spec.
    pub spec: SweepSpec,
    /// Its trials, in id order.
    pub trials: Vec<Trial>,
}

impl Sweep {
    /// The folder of trial `id`.
    pub fn trial_dir(&self, id: usize) -> PathBuf {
        self.dir.join(TRIALS_DIR).join(id.to_string())
    }

    /// Trial `id`, or an error naming the valid range.
    pub fn trial(&self, id: usize) -> Result<&Trial> {
        self.trials.get(id).ok_or_else(|| {
            Error::Usage(format!(
                "{}: no trial {id}: this sweep has trials 0 to {}",
                self.dir.join(PLAN_FILE).display(),
                self.trials.len().saturating_sub(1)
            ))
        })
    }
}

/// Plans `spec` into the sweep folder `dir`: writes `sweep.json` and `plan.jsonl` (atomically)
/// and returns the sweep. A folder that already holds the same plan is left as it is (planning
/// again is a no-op); one that holds another plan is refused, so finished trials are never
/// mixed with trials of another sweep.
pub fn write_plan(dir: &Path, spec: &SweepSpec) -> Result<Sweep> {
    let trials = plan_trials(spec)?;
    dataset(spec, &trials)?;
    let text = plan_text(&trials)?;
    let plan_path = dir.join(PLAN_FILE);
    let spec_path = dir.join(SPEC_FILE);
    if plan_path.exists() {
        let old = load(dir)?;
        if old.spec != *spec || old.trials != trials {
            return Err(Error::Usage(format!(
                "{}: this folder already holds another sweep's plan; choose another --out (or \
                 delete the folder to start over)",
                dir.display()
            )));
        }
        return Ok(old);
    }
    std::fs::create_dir_all(dir.join(TRIALS_DIR))
        .map_err(|e| Error::io(dir, "creating the sweep folder", e))?;
    crate::run::write_json(&spec_path, spec)?;
    write_atomic(&plan_path, text.as_bytes())?;
    Ok(Sweep {
        dir: dir.to_path_buf(),
        spec: spec.clone(),
        trials,
    })
}

/// Reads the sweep folder `dir` (`sweep.json` and `plan.jsonl`).
pub fn load(dir: &Path) -> Result<Sweep> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| {
            Error::io_hint(
                &p,
                "reading the sweep",
                e,
                "is this a sweep folder? `bpdl sweep plan --out DIR` makes one",
            )
        })
    };
    let bad = |name: &str, problem: String| Error::BadFile {
        path: dir.join(name),
        problem,
        hint: "this file is written by `bpdl sweep plan`; plan the sweep again into a new folder"
            .into(),
    };
    let spec: SweepSpec = serde_json::from_str(&read(SPEC_FILE)?)
        .map_err(|e| bad(SPEC_FILE, format!("not a sweep spec: {e}")))?;
    let mut trials = Vec::new();
    for (i, line) in read(PLAN_FILE)?.lines().enumerate() {
        let t: Trial = serde_json::from_str(line)
            .map_err(|e| bad(PLAN_FILE, format!("line {}: {e}", i + 1)))?;
        if t.id != i {
            return Err(bad(
                PLAN_FILE,
                format!("line {} holds trial {}: ids must count from 0", i + 1, t.id),
            ));
        }
        trials.push(t);
    }
    Ok(Sweep {
        dir: dir.to_path_buf(),
        spec,
        trials,
    })
}

/// A share of the trials for one of `count` workers: the trials whose id is `index` modulo
/// `count` (`--shard i/n`, `i` from 0, as Slurm's array indices), so the shards of `n` workers
/// partition the trials exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's index, `0 ≤ index < count`.
    pub index: usize,
    /// The number of workers.
    pub count: usize,
}

impl Shard {
    /// The ids of this shard among `trials` trials.
    pub fn ids(self, trials: usize) -> Vec<usize> {
        (self.index..trials).step_by(self.count).collect()
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Usage(format!(
                "--shard `{s}`: expected I/N with 0 ≤ I < N, e.g. 0/4 for the first of 4 workers"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}
