//! `bpdl reproduce`: the paper's results end to end (train the paper's configuration or reuse
//! `--run DIR`, the Parzen table of the three samplers, Figs. 1 and 3–5, `OUT/report.md`, a
//! self-contained `OUT/report.html` and `OUT/results.json`); the pipeline is
//! [`bpdl::reproduce::reproduce`].

use std::path::PathBuf;

use anyhow::{Result, bail};
use bpdl::reproduce::{EvalOptions, Plan};
use bpdl::{Device, checkpoint};

use crate::Global;
use crate::commands::train::Progress;
use crate::common::{self, ConfigArgs};

#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// Evaluate this trained run instead of training (one seed).
    #[arg(long, value_name = "DIR", conflicts_with = "seeds")]
    pub run: Option<PathBuf>,
    /// A reduced version for a first look: 10,000 training images and 10 epochs; the Parzen
    /// protocol stays whole, the curves use fewer digits (a few minutes on 2 cores).
    #[arg(long)]
    pub quick: bool,
    /// Train this many seeds (seed, seed + 1, …) and report mean ± sd across them.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Samples per sampler for the Parzen table (default: the config's `generate.samples`, the
    /// protocol's 10,000; fewer give lower, incomparable scores — for smoke tests only).
    #[arg(long)]
    pub samples: Option<usize>,
}

pub fn run(global: &Global, args: &ReproduceArgs) -> Result<()> {
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let dev = Device::cpu(global.threads)?;
    let base = match &args.run {
        Some(dir) => checkpoint::load_model(&dir.join(checkpoint::FILE_NAME))?.1,
        None => {
            let quick = [
                "data.train_limit=10000".to_string(),
                "train.epochs=10".into(),
            ];
            args.config
                .resolve(global, if args.quick { &quick } else { &[] }, &[])?
        }
    };
    let mut options = if args.quick {
        EvalOptions::quick()
    } else {
        EvalOptions::full()
    };
    options.samples = args.samples.unwrap_or(base.generate.samples).max(1);
    let data = common::load_dataset(global, base.data.dataset)?;
    let plan = Plan {
        base,
        seeds: args.seeds,
        reuse: args.run.clone(),
        out: common::out_dir(global, "runs/reproduce"),
        quick: args.quick,
        options,
        provenance: common::provenance(),
    };
    let r = bpdl::reproduce::reproduce(&dev, &data, &plan, &mut Progress::default())?;
    let p = &r.parzen;
    println!(
        "Parzen log-likelihood (nats, test set): GENERATE {:.1} ± {:.1} (paper {}), ancestral \
         {:.1} ± {:.1} (paper {}), joint-DAE {:.1} ± {:.1}\nreport: {}",
        p.generate.mean,
        p.generate.se,
        bpdl::reproduce::paper::GENERATE,
        p.ancestral.mean,
        p.ancestral.se,
        bpdl::reproduce::paper::ANCESTRAL,
        p.joint_dae.mean,
        p.joint_dae.se,
        plan.out.join("report.html").display()
    );
    Ok(())
}
