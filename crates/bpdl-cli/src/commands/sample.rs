//! `bpdl sample`: draw samples from a trained run with GENERATE, ancestral sampling or the
//! joint-DAE chain; writes `samples_<method>.safetensors` (tensor `samples`, `[n, 784]`) and a
//! PNG grid of the first 100 beside it, into `--out DIR` (default: the run folder).

use std::path::PathBuf;

use anyhow::{Context, Result};
use bpdl::sampling::{self, Method};
use bpdl::{Device, checkpoint};

use crate::Global;

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// A run folder written by `bpdl train`.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// generate (Algorithm 2), ancestral, or joint-dae (§5.1).
    #[arg(long, default_value = "generate")]
    pub method: Method,
    /// Number of samples (default: the run's `generate.samples`, 10,000).
    #[arg(long)]
    pub n: Option<usize>,
    /// Override a config key of the run for sampling, e.g. --set generate.rounds=5.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn run(global: &Global, args: &SampleArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let (model, saved) = checkpoint::load_model(&args.run.join(checkpoint::FILE_NAME))?;
    let config = bpdl::config::resolve_on(&saved, &args.set)?;
    let seed = global.seed.unwrap_or(config.seed);
    let n = args.n.unwrap_or(config.generate.samples);
    let dir = global.out.clone().unwrap_or_else(|| args.run.clone());
    let out = dir.join(format!("samples_{}.safetensors", args.method.name()));
    let spinner = crate::progress::spinner(&format!("{} {} samples", n, args.method.name()));
    let started = std::time::Instant::now();
    let mut rng = bpdl::rng::Seed(seed).stream(&sampling::stream_name(args.method));
    let samples = sampling::sample(&dev, &model, args.method, n, &config, &mut rng)?;
    spinner.finish_and_clear();
    sampling::write_samples(&out, &samples, args.method, seed, &args.run)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{} {} samples in {:.1}s: {} (grid: {})",
        n,
        args.method.name(),
        started.elapsed().as_secs_f64(),
        out.display(),
        out.with_extension("png").display()
    );
    Ok(())
}
