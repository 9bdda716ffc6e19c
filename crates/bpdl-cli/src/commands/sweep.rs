//! `bpdl sweep`: train every combination of a few config values and score each model with the
//! Parzen protocol (GENERATE and ancestral samples); one JSON line per model in `sweep.jsonl`.
//! Folders are reused, so an interrupted sweep continues where it stopped.

use anyhow::Result;
use bpdl::reproduce::sweep::{Scored, SweepLine, SweepObserver, SweepPlan, sweep};
use bpdl::{Config, Device};

use crate::Global;
use crate::commands::train::Progress;
use crate::common::{self, ConfigArgs};

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// A key and the values to try, e.g. --vary learning.lr=0.005,0.01,0.02 (repeatable: every
    /// combination is trained). List values are written with `;` between elements.
    #[arg(
        long,
        value_name = "KEY=V1,V2,...",
        required_unless_present = "variant"
    )]
    pub vary: Vec<String>,
    /// One run's overrides, separated by spaces, e.g. --variant "learning.lr=0.02
    /// model.layers[1].decoder_lr=0.01" (repeatable; combined with every --vary combination).
    #[arg(long, value_name = "K=V K=V ...")]
    pub variant: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Samples per sampler for the Parzen estimate (default: `generate.samples`, 10,000).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Also score GENERATE and ancestral sampling with a full-covariance top prior fitted to the
    /// same model (not saved).
    #[arg(long)]
    pub full_prior: bool,
}

pub fn run(global: &Global, args: &SweepArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let out = common::out_dir(global, "runs/sweep");
    let combos = bpdl::config::combinations(&args.vary, &args.variant)?;
    // validate every combination before spending hours on the first
    let runs = combos
        .into_iter()
        .map(|c| Ok((c.clone(), args.config.resolve(global, &[], &c)?)))
        .collect::<Result<Vec<(Vec<String>, Config)>>>()?;
    let base: Config = args.config.resolve(global, &[], &[])?;
    let data = common::load_dataset(global, runs[0].1.data.dataset)?;
    let plan = SweepPlan {
        out: &out,
        base: &base,
        axes: &args.vary,
        runs,
        samples: args.samples,
        full_prior: args.full_prior,
        provenance: &common::provenance(),
    };
    let ranked = sweep(&dev, &data, &plan, &mut Progress::default())?;
    println!(
        "{:>10} {:>9} {:>9}  run (test Parzen LL; ranked by GENERATE's validation score)",
        "validation", "GENERATE", "ancestral"
    );
    for r in &ranked {
        let o = r.overrides.join(" ");
        match r.scores {
            Some(s) => println!(
                "{:>10.1} {:>9.1} {:>9.1}  {o}",
                s.generate.validation, s.generate.test.mean, s.ancestral.test.mean
            ),
            None => println!("{:>10} {:>9} {:>9}  {o} (diverged)", "—", "—", "—"),
        }
    }
    Ok(())
}

impl SweepObserver for Progress {
    fn run_starting(&mut self, index: usize, total: usize, overrides: &[String]) {
        eprintln!("[{}/{total}] {}", index + 1, overrides.join(" "));
    }

    fn run_done(&mut self, line: &SweepLine) {
        if let Some(e) = &line.error {
            eprintln!("    failed: {e}");
        }
        if let Some(s) = &line.scores {
            print_scores("", &s.generate, &s.ancestral);
            if let (Some(g), Some(a)) = (&s.generate_full_prior, &s.ancestral_full_prior) {
                print_scores("full-covariance prior: ", g, a);
            }
        }
    }
}

fn print_scores(what: &str, g: &Scored, a: &Scored) {
    eprintln!(
        "    {what}GENERATE {:.1} ± {:.1} (σ {:.3}, validation {:.1}), ancestral {:.1} ± {:.1}",
        g.test.mean, g.test.se, g.test.sigma, g.validation, a.test.mean, a.test.se
    );
}
