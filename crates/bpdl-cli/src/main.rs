//! `bpdl`: the command-line tool of bpdl (see the README for the paper and the two commands).

mod commands;
mod common;
mod download;
mod progress;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Towards Biologically Plausible Deep Learning (Bengio et al. 2015), reproduced.
#[derive(Debug, Parser)]
#[command(name = "bpdl", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Master seed (overrides the config's `seed`).
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Worker threads (0 = one per core).
    #[arg(long, global = true, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (every command writes its files inside it).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// Folder holding the dataset's four IDX files (else $BPDL_DATA_DIR, else ./data/<dataset>/).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Never download: fail with a message if the data is missing.
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check or download the datasets.
    Data {
        #[command(subcommand)]
        action: commands::data::DataCommand,
    },
    /// The paper's results end to end: train, sample, Parzen table, Figs. 1 and 3–5, report.
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Train the paper's generative model by variational EM (Algorithm 2 TRAIN).
    Train(commands::train::TrainArgs),
    /// Run inference on a split and record log p(x,h) per iteration (the paper's Fig. 4).
    Infer(commands::infer::InferArgs),
    /// Draw samples from a trained run (GENERATE, ancestral, joint-DAE chain).
    Sample(commands::sample::SampleArgs),
    /// Evaluate samples.
    Eval {
        #[command(subcommand)]
        what: commands::eval::EvalCommand,
    },
    /// Measure GEMM, training, inference, sampling and Parzen throughput on this machine.
    Bench(commands::bench::BenchArgs),
    /// Sweeps over settings and seeds: plan trials, run them (one per process, Slurm arrays),
    /// collect them ranked by a validation score.
    Sweep(commands::sweep::SweepArgs),
    /// Fig. 1: the STDP window from ΔW = η·S_pre·dV_post/dt, and the delta-rule demonstration.
    Stdp(commands::stdp::StdpArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Data { action } => commands::data::run(&cli.global, action),
        Command::Reproduce(args) => commands::reproduce::run(&cli.global, args),
        Command::Train(args) => commands::train::run(&cli.global, args),
        Command::Infer(args) => commands::infer::run(&cli.global, args),
        Command::Sample(args) => commands::sample::run(&cli.global, args),
        Command::Eval { what } => commands::eval::run(&cli.global, what),
        Command::Bench(args) => commands::bench::run(&cli.global, args),
        Command::Sweep(args) => commands::sweep::run(&cli.global, args),
        Command::Stdp(args) => commands::stdp::run(&cli.global, args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = common::hint(&e) {
                eprintln!("hint: {hint}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
