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
    let threads = if global.threads == 0 {
        2
    } else {
        global.threads
    };
    let dev = Device::cpu(threads)?;
    let spinner = crate::common::spinner("benchmarking");
    let r = bpdl::bench::run(&dev, args.seconds)?;
    spinner.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("{} — {} threads", r.machine, r.threads);
    if let Some(peak) = r.fma_peak_gflops {
        println!("fp32 FMA peak of these threads            {peak:7.1} GFLOP/s");
    }
    println!(
        "GEMM on the training minibatch's shapes  {:7.1} GFLOP/s",
        r.gemm_gflops
    );
    for s in &r.gemm_shapes {
        println!(
            "    {:>4}×{:<4}·{:>4}×{:<4}{} ×{:<3} {:7.1} GFLOP/s",
            s.m,
            s.k,
            s.k,
            s.n,
            if s.a_transposed { " (Aᵀ)" } else { "     " },
            s.calls_per_step,
            s.gflops
        );
    }
    println!(
        "100×784·784×1000: gemm crate {:.1} GFLOP/s, packed-weight kernel {:.1} GFLOP/s",
        r.main_shape_gemm_gflops, r.main_shape_packed_gflops
    );
    println!(
        "training minibatch (E+M, batch 100)       {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
        r.train_step_gflops, r.train_step_ms, r.train_to_gemm_ratio
    );
    println!(
        "INFERENCE (15 iterations, batch 100)      {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
        r.inference_gflops, r.inference_ms, r.inference_to_gemm_ratio
    );
    println!(
        "GENERATE ({} samples)                    {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
        r.generate_samples, r.generate_gflops, r.generate_ms, r.generate_to_gemm_ratio
    );
    println!(
        "Parzen (σ search + 10k × 10k)            {:7.1} GFLOP/s  {:6.2} s",
        r.parzen_gflops, r.parzen_seconds
    );
    println!(
        "a full 20-epoch training at this speed: {:.1} minutes",
        r.full_training_minutes
    );
    Ok(())
}
