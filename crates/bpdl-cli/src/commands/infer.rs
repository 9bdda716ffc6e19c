//! `bpdl infer`: log p(x, h) over the iterations of INFERENCE on a whole split (Fig. 4 data).
//! Writes `inference_<split>.json` into `--out DIR` (default: the run folder).

use std::path::PathBuf;

use anyhow::{Context, Result};
use bpdl::Device;
use bpdl::checkpoint;
use bpdl::data::SplitName;
use bpdl::eval::inference_curve::InferenceReport;

use crate::Global;
use crate::common;

#[derive(Debug, clap::Args)]
pub struct InferArgs {
    /// A run folder written by `bpdl train`.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The split to infer.
    #[arg(long, default_value = "test")]
    pub split: SplitName,
    /// Inference iterations (the paper's Fig. 4 shows 20).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// δ (default: the run's `inference.delta`).
    #[arg(long)]
    pub delta: Option<f32>,
    /// α (default: the run's `inference.alpha`).
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Use only the first N examples of the split (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Examples per minibatch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

pub fn run(global: &Global, args: &InferArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let (model, saved) = checkpoint::load_model(&args.run.join(checkpoint::FILE_NAME))?;
    // the command-line values go through the config's validation
    let mut overrides = vec![format!("inference.steps={}", args.steps)];
    if let Some(d) = args.delta {
        overrides.push(format!("inference.delta={d}"));
    }
    if let Some(a) = args.alpha {
        overrides.push(format!("inference.alpha={a}"));
    }
    let config = bpdl::config::resolve_on(&saved, &overrides)?;
    let data = common::load_dataset(global, config.data.dataset)?;
    let split = data.split(args.split).head(args.limit);
    let params = config.inference;
    let seed = global.seed.unwrap_or(config.seed);
    let mut rng = bpdl::rng::Seed(seed).stream("infer");
    let split_name = args.split.name();
    let spinner = crate::progress::spinner(&format!(
        "inference on {} {split_name} images, {} iterations",
        split.len(),
        args.steps
    ));
    let curve = bpdl::eval::inference_curve(
        &dev,
        &model,
        split.images.view(),
        &params,
        args.batch,
        5,
        &mut rng,
    )?;
    spinner.finish_and_clear();
    let report = InferenceReport {
        split: args.split,
        delta: params.delta,
        alpha: params.alpha,
        curve,
    };
    let dir = global.out.clone().unwrap_or_else(|| args.run.clone());
    let out = dir.join(format!("inference_{split_name}.json"));
    bpdl::run::write_json(&out, &report).with_context(|| format!("writing {}", out.display()))?;
    println!("{}; written to {}", report.curve, out.display());
    Ok(())
}
