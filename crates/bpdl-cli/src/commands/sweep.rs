//! `bpdl sweep plan | run | collect` (one trial = one process, for Slurm arrays and other
//! engines; [`bpdl::sweep`]), and `bpdl sweep --vary …`: plan, run every trial here, collect.

use std::path::PathBuf;

use anyhow::Result;
use bpdl::Device;
use bpdl::sweep::{self, Outcome, Score, Shard, Sweep, SweepObserver, SweepSpec, Trial};

use crate::Global;
use crate::commands::train::Progress;
use crate::common::{self, ConfigArgs};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepCommand>,
    /// Without a subcommand: plan into --out, run every trial here in turn, then collect.
    #[command(flatten)]
    pub plan: Box<PlanArgs>,
}

#[derive(Debug, clap::Subcommand)]
pub enum SweepCommand {
    /// Write S/plan.jsonl (one trial per line: id, overrides, seed) and S/sweep.sbatch (a Slurm
    /// job array, one task per trial) into --out.
    Plan(Box<PlanArgs>),
    /// Train and score trials of a planned sweep into S/trials/K/ (all of them without --trial
    /// or --shard); a finished trial is skipped, a killed one resumes from its checkpoint.
    Run(RunArgs),
    /// Gather the finished trials into S/sweep.jsonl and rank the settings in S/summary.md.
    Collect {
        /// The sweep folder.
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// A key and the values to try, e.g. --vary learning.lr=0.005,0.01,0.02 (repeatable: every
    /// combination is a setting). List values are written with `;` between elements.
    #[arg(
        long,
        value_name = "KEY=V1,V2,...",
        required_unless_present = "variant"
    )]
    pub vary: Vec<String>,
    /// One setting's overrides, separated by spaces, e.g. --variant "learning.lr=0.02
    /// model.layers[1].decoder_lr=0.01" (repeatable; combined with every --vary combination).
    #[arg(long, value_name = "K=V K=V ...")]
    pub variant: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seeds per setting: the config's seed (or --seed), then the next ones.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// The validation score that ranks the settings: validation-parzen (GENERATE),
    /// validation-ancestral-parzen, or validation-error (runs with `[supervised]`).
    #[arg(long, default_value = "validation-parzen")]
    pub score: Score,
    /// Samples per sampler for a Parzen score (default: `generate.samples`, 10,000).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Also score GENERATE and ancestral sampling with a full-covariance top prior fitted to
    /// each model (not saved).
    #[arg(long)]
    pub full_prior: bool,
    /// Slurm: at most this many array tasks at once (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub parallel: usize,
    /// Slurm: CPUs per task (each trial's threads).
    #[arg(long, default_value_t = 2)]
    pub cpus_per_task: usize,
    /// Slurm: memory per task.
    #[arg(long, default_value = "8G")]
    pub mem: String,
    /// Slurm: time limit per task.
    #[arg(long, default_value = "04:00:00")]
    pub time: String,
    /// Slurm: the partition (default: the cluster's).
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: the bpdl binary the tasks run (default: this one).
    #[arg(long)]
    pub bpdl: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The sweep folder (`bpdl sweep plan --out S`).
    pub dir: PathBuf,
    /// Run this trial only (e.g. "$SLURM_ARRAY_TASK_ID").
    #[arg(long, conflicts_with = "shard")]
    pub trial: Option<usize>,
    /// Run the trials whose id is I modulo N (I from 0): N workers partition the sweep.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

pub fn run(global: &Global, args: &SweepArgs) -> Result<()> {
    match &args.action {
        Some(SweepCommand::Plan(p)) => plan(global, p).map(|_| ()),
        Some(SweepCommand::Run(_)) if global.seed.is_some() => anyhow::bail!(
            "--seed: the plan fixes every trial's seed; give --seed to `bpdl sweep plan` (the \
             first seed of every setting)"
        ),
        Some(SweepCommand::Run(r)) => run_trials(global, r),
        Some(SweepCommand::Collect { dir }) => collect(&sweep::load(dir)?),
        None => {
            let s = plan(global, &args.plan)?;
            let r = RunArgs {
                dir: s.dir.clone(),
                trial: None,
                shard: None,
            };
            run_trials(global, &r)?;
            collect(&s)
        }
    }
}

fn plan(global: &Global, p: &PlanArgs) -> Result<Sweep> {
    let base: bpdl::Config = p.config.resolve(global, &[], &[])?;
    let data_dir = bpdl::data::mnist::resolve_dir(base.data.dataset, global.data_dir.as_deref());
    let spec = SweepSpec {
        axes: p.vary.clone(),
        variants: p.variant.clone(),
        seeds: p.seeds,
        score: p.score,
        samples: p.samples,
        full_prior: p.full_prior,
        data_dir: Some(std::path::absolute(&data_dir).unwrap_or(data_dir)),
        base_config: bpdl::config::to_toml_string(&base)?,
    };
    let out = common::out_dir(global, "runs/sweep");
    let s = sweep::write_plan(&out, &spec)?;
    let bpdl = match &p.bpdl {
        Some(b) => b.clone(),
        None => std::env::current_exe()?,
    };
    let slurm = sweep::sbatch::SlurmOptions {
        parallel: p.parallel,
        cpus_per_task: p.cpus_per_task,
        mem: p.mem.clone(),
        time: p.time.clone(),
        partition: p.partition.clone(),
        offline: true,
        ..sweep::sbatch::SlurmOptions::new(std::path::absolute(&bpdl)?)
    };
    let script = sweep::sbatch::write(&s, &slurm)?;
    let (n, dir) = (s.trials.len(), out.display());
    eprintln!(
        "planned {n} trials ({} settings × {} seeds) in {dir}\n  Slurm: sbatch {}\n  here:  \
         bpdl sweep run {dir} [--trial K | --shard I/N]\n  then:  bpdl sweep collect {dir}",
        n / p.seeds.max(1),
        p.seeds,
        script.display()
    );
    Ok(s)
}

fn run_trials(global: &Global, r: &RunArgs) -> Result<()> {
    let s = sweep::load(&r.dir)?;
    let ids = match (r.trial, r.shard) {
        (Some(k), _) => vec![s.trial(k)?.id],
        (None, Some(shard)) => shard.ids(s.trials.len()),
        (None, None) => (0..s.trials.len()).collect(),
    };
    let dataset = sweep::plan::dataset(&s.spec, &s.trials)?;
    let dir = global.data_dir.clone().or_else(|| s.spec.data_dir.clone());
    let data = common::load_dataset_in(global, dataset, dir.as_deref())?;
    let dev = Device::cpu(global.threads)?;
    let provenance = common::provenance();
    sweep::run_trials(&dev, &s, &ids, &data, &provenance, &mut Progress::default())?;
    Ok(())
}

fn collect(s: &Sweep) -> Result<()> {
    let summary = sweep::collect(s)?;
    print!("{}", sweep::collect::markdown(s, &summary));
    Ok(())
}

impl SweepObserver for Progress {
    fn trial_starting(&mut self, index: usize, total: usize, t: &Trial) {
        eprintln!(
            "[{}/{total}] trial {}: {} seed={}",
            index + 1,
            t.id,
            t.setting_label(),
            t.seed
        );
    }

    fn trial_done(&mut self, outcome: &Outcome) {
        let r = outcome.result();
        let was = match outcome {
            Outcome::AlreadyDone(_) => " (finished before: skipped)",
            Outcome::Ran(_) => "",
        };
        match (&r.scores, &r.error) {
            (Some(s), _) => eprintln!(
                "    {} {:.4}{}{was}",
                s.score,
                s.validation,
                s.test.map_or(String::new(), |t| format!(" (test {t:.4})"))
            ),
            (None, e) => eprintln!("    diverged: {}{was}", e.as_deref().unwrap_or("")),
        }
    }
}
