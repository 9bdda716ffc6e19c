//! `bpdl bench`: GEMM throughput on the model's shapes, a training minibatch, INFERENCE,
//! GENERATE and the Parzen protocol, measured in one run on this machine.

use anyhow::Result;
use bpdl::Device;

use crate::Global;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds spent on each measurement.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
}

pub fn run(global: &Global, args: &BenchArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let spinner = crate::progress::spinner("benchmarking");
    let r = bpdl::bench::run(&dev, args.seconds)?;
    spinner.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print!("{r}");
    Ok(())
}
