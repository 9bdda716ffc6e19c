//! The spiking E-step against the rate E-step on a trained run (issue 14, stage b): for the first
//! 500 test digits, INFERENCE from the same feed-forward start with Algorithm 2's rate updates and
//! with the spiking network at several rates and scales; prints log p(x, h) before and after, how
//! far h1 moved on average (its bias) and in r.m.s., and the share of h1 values above 4 (the
//! default scale s, above which a unit's rate saturates).
//!
//! ```text
//! cargo run --release -p bpdl --example spiking_e_step_vs_rate -- runs/spiking-em/train-seed1 /work/shared/data/mnist
//! ```

use std::path::PathBuf;

use bpdl::config::Dynamics;
use bpdl::inference::{Evidence, Inference};
use bpdl::rng::Seed;
use bpdl::{Device, checkpoint};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = PathBuf::from(args.first().ok_or("usage: RUN_DIR [DATA_DIR]")?);
    let data_dir = PathBuf::from(
        args.get(1)
            .map_or("/work/shared/data/mnist", String::as_str),
    );
    let dev = Device::cpu(0)?;
    let (model, config) = checkpoint::load_model(&run.join(checkpoint::FILE_NAME))?;
    let data = bpdl::data::Mnist::load(config.data.dataset, &data_dir)?;
    let n = 500.min(data.test.images.nrows());
    let x = data.test.images.slice(ndarray::s![..n, ..]).to_owned();
    let mut start = Inference::new(&model, n);
    start.feed_forward(&dev, &model, x.view())?;
    println!("| E-step | log p(x, h) start → end | mean move of h1 | r.m.s. move | h1 > 4 |");
    println!("|---|---|---|---|---|");
    let rows = [
        ("rate (Algorithm 2)", None),
        ("spiking, 200 Hz, s = 4 (defaults)", Some((200.0, 4.0))),
        ("spiking, 200 Hz, s = 16", Some((200.0, 16.0))),
        ("spiking, 1000 Hz, s = 16", Some((1000.0, 16.0))),
        ("spiking, 1000 Hz, s = 8", Some((1000.0, 8.0))),
    ];
    for (name, spiking) in rows {
        let mut p = config.inference;
        if let Some((hz, s)) = spiking {
            p.dynamics = Dynamics::Spiking;
            p.spiking.rate_max_hz = hz;
            p.spiking.unbounded_scale = s;
        }
        let mut inf = Inference::new(&model, n);
        let mut rng = Seed(3).stream("spiking-e-step-vs-rate");
        let summary = inf.e_step(&dev, &model, Evidence::Full(x.view()), &p, &mut rng, None)?;
        let moved = &inf.post.h[0] - &start.post.h[0];
        let mean = moved.mean().unwrap_or(0.0);
        let rms = moved.mapv(|v| v * v).mean().unwrap_or(0.0).sqrt();
        let h1 = &inf.post.h[0];
        let over = h1.iter().filter(|&&v| v > 4.0).count() as f64 / h1.len().max(1) as f64;
        println!(
            "| {name} | {:.1} → {:.1} | {mean:+.4} | {rms:.3} | {:.1} % |",
            summary.log_pxh_before,
            summary.log_pxh_after,
            100.0 * over
        );
    }
    Ok(())
}
