//! `bpdl train`: variational EM with targetprop inference (Algorithm 2 TRAIN) into a run folder,
//! checkpointed every epoch; `--resume DIR` continues a run bit for bit. The progress display
//! here is shared by `reproduce` and `sweep`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bpdl::reproduce::{Evaluation, ReproduceObserver};
use bpdl::run::{Existing, RunObserver, TrainPlan};
use bpdl::train::EpochMetrics;
use bpdl::{Config, Device, checkpoint};
use indicatif::ProgressBar;

use crate::Global;
use crate::common::{self, ConfigArgs};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
}

pub fn run(global: &Global, args: &TrainArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let (config, out, existing): (Config, _, _) = match &args.resume {
        Some(dir) => {
            let (saved, has_checkpoint) = bpdl::run::saved_config(dir)?;
            if !has_checkpoint {
                eprintln!(
                    "{} has no checkpoint yet (stopped during its first epoch): starting it \
                     again from its config.toml",
                    dir.display()
                );
            }
            let overrides = args.config.overrides(global);
            let config = bpdl::config::resolve_on(&saved, &overrides)?;
            (config, dir.clone(), Existing::Continue)
        }
        None => {
            let config = args.config.resolve(global, &[], &[])?;
            let default = format!("runs/train-{}", bpdl::run::timestamp());
            (config, common::out_dir(global, &default), Existing::Refuse)
        }
    };
    let data = common::load_dataset(global, config.data.dataset)?;
    let trained = bpdl::run::train_in_dir(
        &dev,
        &config,
        &bpdl::run::TrainingData::from_dataset(&data),
        &out,
        &common::provenance(),
        existing,
        &mut Progress::default(),
    )
    .with_context(|| format!("training in {}", out.display()))?;
    eprintln!(
        "done in {:.1}s: {}",
        trained.seconds,
        out.join(checkpoint::FILE_NAME).display()
    );
    Ok(())
}

/// Draws a progress bar per epoch and prints a line per epoch (and per evaluation stage).
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl RunObserver for Progress {
    fn starting(&mut self, p: &TrainPlan) {
        self.epochs = p.epochs;
        if let Some(done) = p.resumed_after {
            eprintln!(
                "resuming {} after epoch {done} of {}",
                p.dir.display(),
                p.epochs
            );
        }
        eprintln!("{p}");
    }

    fn minibatch_done(
        &mut self,
        epoch: usize,
        done: usize,
        total: usize,
        m: &dyn Fn() -> EpochMetrics,
    ) -> bpdl::Result<()> {
        let bar = self.bar.get_or_insert_with(|| {
            let b = crate::progress::progress(
                total as u64,
                "{prefix} [{bar:20}] {pos}/{len} {msg} ({eta})",
            );
            b.set_prefix(format!("epoch {epoch}/{}", self.epochs));
            b
        });
        bar.set_position(done as u64);
        if done.is_multiple_of(10) || done == total {
            bar.set_message(m().to_string());
        }
        Ok(())
    }

    fn epoch_done(&mut self, m: &EpochMetrics, config: &Config) -> bpdl::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let epochs = config.train.epochs;
        eprintln!("epoch {}/{epochs} {:.1}s  {m}", m.epoch, m.seconds);
        Ok(())
    }

    fn baseline_epoch_done(
        &mut self,
        e: &bpdl::baselines::backprop::BaselineEpoch,
    ) -> bpdl::Result<()> {
        if e.epoch <= 20 || e.epoch.is_multiple_of(100) {
            let val = e
                .validation_error
                .map_or(String::new(), |v| format!(", val err {:.2}%", 100.0 * v));
            eprintln!(
                "back-propagation baseline epoch {} {:.1}s  train err {:.2}%{val}",
                e.epoch,
                e.seconds,
                100.0 * e.train_error
            );
        }
        Ok(())
    }
}

impl ReproduceObserver for Progress {
    fn stage(&mut self, seed: u64, what: &str) {
        eprintln!("seed {seed}: {what}");
    }

    fn seed_done(&mut self, seed: u64, e: &Evaluation) {
        let p = &e.parzen;
        let s =
            |x: &bpdl::reproduce::SamplerScore| format!("{:.1} ± {:.1}", x.score.mean, x.score.se);
        eprintln!(
            "seed {seed}: Parzen GENERATE {}, ancestral {}, joint-DAE {}",
            s(&p.generate),
            s(&p.ancestral),
            s(&p.joint_dae)
        );
    }
}
