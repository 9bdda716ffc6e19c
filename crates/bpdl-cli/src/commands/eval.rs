//! `bpdl eval parzen`: the Parzen-window log-likelihood of samples on the MNIST test set, σ
//! chosen on 1,000 validation images (GAN/GSN protocol); prints JSON.

use std::path::PathBuf;

use anyhow::{Result, bail};
use bpdl::Device;
use bpdl::data::Dataset;
use bpdl::eval::parzen;
use clap::Subcommand;
use serde::Serialize;

use crate::Global;
use crate::common;

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Parzen-window log-likelihood of samples on the test set.
    Parzen(ParzenArgs),
}

#[derive(Debug, clap::Args)]
pub struct ParzenArgs {
    /// Samples written by `bpdl sample` (safetensors, tensor `samples`).
    #[arg(long, value_name = "FILE", required_unless_present = "training_images")]
    pub samples: Option<PathBuf>,
    /// Use the first 10,000 training images as the samples (the reference ceiling).
    #[arg(long, conflicts_with = "samples")]
    pub training_images: bool,
    /// Kernel width (default: chosen on the validation images).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Validation images used to choose σ (the protocol uses 1,000).
    #[arg(long, default_value_t = 1000)]
    pub validation: usize,
    /// Test images evaluated (0 = all 10,000).
    #[arg(long, default_value_t = 0)]
    pub test_limit: usize,
    /// `mnist` or `fashion-mnist`.
    #[arg(long, default_value = "mnist")]
    pub dataset: Dataset,
}

#[derive(Serialize)]
pub struct ParzenReport {
    pub samples: String,
    pub n_samples: usize,
    pub n_test: usize,
    pub mean: f64,
    pub se: f64,
    pub sigma: f64,
    pub validation_curve: Vec<(f64, f64)>,
    pub seconds: f64,
}

pub fn run(global: &Global, cmd: &EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Parzen(args) => parzen_cmd(global, args),
    }
}

fn parzen_cmd(global: &Global, args: &ParzenArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let data = common::load_dataset(global, args.dataset)?;
    let (samples, name) = if args.training_images {
        (
            data.train.head(10_000).images,
            "the first 10,000 training images".to_string(),
        )
    } else {
        let p = args.samples.as_ref().expect("clap requires --samples");
        let r = bpdl::tensor_file::TensorReader::open(p)?;
        (r.matrix("samples", None)?, p.display().to_string())
    };
    if samples.ncols() != data.pixels() {
        bail!(
            "{name}: samples have {} values each, {} images have {}",
            samples.ncols(),
            args.dataset,
            data.pixels()
        );
    }
    let started = std::time::Instant::now();
    let validation = data.validation.head(args.validation);
    let test = data.test.head(args.test_limit);
    let (score, curve) = parzen::evaluate(
        &dev,
        samples.view(),
        validation.images.view(),
        test.images.view(),
        args.sigma,
    )?;
    let report = ParzenReport {
        samples: name,
        n_samples: samples.nrows(),
        n_test: test.len(),
        mean: score.mean,
        se: score.se,
        sigma: score.sigma,
        validation_curve: curve,
        seconds: started.elapsed().as_secs_f64(),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
