//! Sweeps over settings and seeds on the engine a lab already has, with **one trial = one
//! process** as the contract every engine can drive (Slurm job arrays, GNU parallel, submitit,
//! Ray tasks, Optuna workers): bpdl plans and scores, it schedules nothing.
//!
//! - [`plan`]: `bpdl sweep plan` writes `S/sweep.json` and `S/plan.jsonl` (trial id, overrides,
//!   seed) deterministically; [`sbatch`] writes `S/sweep.sbatch`, a job array over the ids.
//! - [`trial`]: `bpdl sweep run S --trial K` (or `--shard i/n`) trains and scores one trial
//!   into `S/trials/K/`, resuming a killed one, skipping a finished one.
//! - [`collect`](mod@collect): `bpdl sweep collect S` ranks the settings by their **validation** score,
//!   mean ± sd over seeds; the test figure only beside the chosen setting.
//! - [`score`]: what ranks settings ([`score::Score`]) and how a model is scored
//!   ([`score::score_model`], also behind `Model.validation_score` and `bpdl.tune` in Python).

pub mod collect;
pub mod plan;
pub mod sbatch;
pub mod score;
pub mod trial;

pub use collect::{Summary, collect};
pub use plan::{Shard, Sweep, SweepSpec, Trial, load, write_plan};
pub use score::{Score, ScoreData, score_model};
pub use trial::{Outcome, SweepObserver, TrialResult, run_trial, run_trials};
