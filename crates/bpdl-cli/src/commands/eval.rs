//! `bpdl eval parzen`: the Parzen-window log-likelihood of samples on the MNIST test set, σ
//! chosen on 1,000 validation images (GAN/GSN protocol); prints JSON. `bpdl eval classify`: the
//! test error of a supervised run ([`bpdl::eval::classify`]), into `classify.json`. `bpdl eval
//! readout`: the linear readout of a run's inferred top codes ([`bpdl::eval::readout`]), into
//! `readout.json`.

use std::path::PathBuf;

use anyhow::Result;
use bpdl::Device;
use bpdl::data::Dataset;
use bpdl::eval::parzen::{self, ParzenSettings};
use clap::Subcommand;

use crate::Global;
use crate::common;

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Parzen-window log-likelihood of samples on the test set.
    Parzen(ParzenArgs),
    /// Classification error of a supervised run (and its back-propagation baseline).
    Classify(ClassifyArgs),
    /// Test accuracy of a linear readout (softmax regression) of a run's inferred top codes.
    Readout(ReadoutArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReadoutArgs {
    /// The run folder (its checkpoint and config).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Training images whose codes train the readout (0 = all 50,000).
    #[arg(long, default_value_t = 0)]
    pub train_examples: usize,
    /// Test images scored (0 = all 10,000).
    #[arg(long, default_value_t = 0)]
    pub test_examples: usize,
    /// Where `readout.json` is written (default: the run folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// The run folder (trained with `[supervised] enabled = true`).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The split evaluated: `test`, `validation` or `train`.
    #[arg(long, default_value = "test")]
    pub split: bpdl::data::SplitName,
    /// Where `classify.json` is written (default: the run folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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

pub fn run(global: &Global, cmd: &EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Parzen(args) => parzen_cmd(global, args),
        EvalCommand::Classify(args) => {
            let dev = Device::cpu(global.threads)?;
            let (config, _) = bpdl::run::saved_config(&args.run)?;
            let data = common::load_dataset(global, config.data.dataset)?;
            let report = bpdl::eval::classify::classify_run(&dev, &args.run, &data, args.split)?;
            let out = args.out.as_deref().unwrap_or(&args.run);
            std::fs::create_dir_all(out)?;
            bpdl::run::write_json(&out.join("classify.json"), &report)?;
            println!("{report}\nwrote {}", out.join("classify.json").display());
            Ok(())
        }
        EvalCommand::Readout(args) => {
            let dev = Device::cpu(global.threads)?;
            let file = args.run.join(bpdl::checkpoint::FILE_NAME);
            let (model, config) = bpdl::checkpoint::load_model(&file)?;
            let data = common::load_dataset(global, config.data.dataset)?;
            let settings = bpdl::eval::readout::ReadoutSettings {
                train_examples: args.train_examples,
                test_examples: args.test_examples,
                ..Default::default()
            };
            let report =
                bpdl::eval::readout::readout_accuracy(&dev, &model, &config, &data, &settings)?;
            let out = args.out.as_deref().unwrap_or(&args.run);
            std::fs::create_dir_all(out)?;
            bpdl::run::write_json(&out.join("readout.json"), &report)?;
            println!("{report}\nwrote {}", out.join("readout.json").display());
            Ok(())
        }
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
    let settings = ParzenSettings {
        sigma: args.sigma,
        validation: args.validation,
        test_limit: args.test_limit,
    };
    let report = parzen::evaluate_samples(&dev, samples.view(), &name, &data, &settings)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
