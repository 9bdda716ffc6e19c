//! `bpdl train`: variational EM with targetprop inference (Algorithm 2 TRAIN), checkpointed
//! every epoch; `--resume DIR` continues a run bit for bit.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bpdl::checkpoint;
use bpdl::run::{RunDir, RunInfo};
use bpdl::train::{EpochMetrics, TrainObserver, TrainState};
use bpdl::{Config, Device};
use indicatif::ProgressBar;

use crate::Global;
use crate::common;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// TOML config file (defaults: the paper's experiment).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. --set train.epochs=5 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
}

/// Resolves the config of a fresh run: defaults, file, `--set`, `--seed`.
pub fn resolve_config(global: &Global, file: Option<&Path>, set: &[String]) -> Result<Config> {
    let mut overrides = set.to_vec();
    if let Some(seed) = global.seed {
        overrides.push(format!("seed={seed}"));
    }
    Ok(bpdl::config::resolve(file, &overrides)?)
}

pub fn run(global: &Global, args: &TrainArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let (config, out) = match &args.resume {
        Some(dir) => {
            let ckpt = dir.join(checkpoint::FILE_NAME);
            let (_, saved) = checkpoint::load(&ckpt)?;
            let mut overrides = args.set.clone();
            if let Some(seed) = global.seed {
                overrides.push(format!("seed={seed}"));
            }
            (apply_overrides(&saved, &overrides)?, dir.clone())
        }
        None => {
            let config = resolve_config(global, args.config.as_deref(), &args.set)?;
            let out = global.out.clone().unwrap_or_else(|| {
                PathBuf::from("runs").join(format!("train-{}", common::timestamp()))
            });
            if out.join(checkpoint::FILE_NAME).exists() {
                bail!(
                    "{} already holds a trained run; continue it with --resume {} or choose \
                     another --out",
                    out.display(),
                    out.display()
                );
            }
            (config, out)
        }
    };
    let data = common::load_dataset(global, config.data.dataset)?;
    train_into(&dev, &config, &data, &out)?;
    Ok(())
}

/// Trains `config` into the run folder `out`: continues the checkpoint there when there is one
/// (its model, data and seed must match `config`; more epochs may be asked for), starts afresh
/// otherwise. Returns the final state and the seconds spent training in this call.
pub fn train_into(
    dev: &Device,
    config: &Config,
    data: &bpdl::data::Mnist,
    out: &Path,
) -> Result<(TrainState, f64)> {
    let images = data.train.head(config.data.train_limit).images;
    let ckpt = out.join(checkpoint::FILE_NAME);
    let (mut state, mut run_dir) = if ckpt.exists() {
        let (state, saved) = checkpoint::load(&ckpt)?;
        if config.model != saved.model
            || config.seed != saved.seed
            || config.data != saved.data
            || config.learning.optimizer != saved.learning.optimizer
        {
            bail!(
                "{}: the checkpoint there was trained with another model, data, seed or \
                 optimizer; these cannot change in a run (others, e.g. train.epochs, can)",
                out.display()
            );
        }
        if state.model.input_size() != data.pixels() {
            bail!(
                "the checkpoint's model reads {} inputs but {} images have {}",
                state.model.input_size(),
                config.data.dataset,
                data.pixels()
            );
        }
        if state.epochs_done < config.train.epochs || !bpdl::train::prior_fits(&state.model, config)
        {
            eprintln!(
                "resuming {} after epoch {} of {}",
                out.display(),
                state.epochs_done,
                config.train.epochs
            );
        }
        bpdl::run::write_atomic(
            &out.join(bpdl::run::files::CONFIG),
            bpdl::config::to_toml_string(config)?.as_bytes(),
        )?;
        (state, RunDir::open(out)?)
    } else {
        let dev_threads = dev.threads();
        let info = RunInfo {
            provenance: common::provenance(),
            seed: config.seed,
            threads: dev_threads,
            started_unix_s: bpdl::run::unix_now(),
        };
        let run_dir = RunDir::create(out, &bpdl::config::to_toml_string(config)?, &info)?;
        (TrainState::new(config, data.pixels()), run_dir)
    };
    if state.epochs_done >= config.train.epochs && bpdl::train::prior_fits(&state.model, config) {
        return Ok((state, 0.0));
    }
    eprintln!(
        "training {} parameters on {} {} images ({} epochs of {} minibatches, {} threads) into {}",
        state.model.parameter_count(),
        images.nrows(),
        config.data.dataset,
        config.train.epochs,
        images.nrows() / config.train.batch_size,
        dev.threads(),
        out.display()
    );
    let started = std::time::Instant::now();
    let mut progress = Progress {
        run: &mut run_dir,
        config,
        bar: None,
    };
    bpdl::train::train(dev, images.view(), config, &mut state, &mut progress)
        .with_context(|| format!("training in {}", out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("done in {seconds:.1}s: {}", ckpt.display());
    Ok((state, seconds))
}

pub fn apply_overrides(saved: &Config, overrides: &[String]) -> Result<Config> {
    let text = bpdl::config::to_toml_string(saved)?;
    let mut tree: toml::Table = toml::from_str(&text)?;
    for o in overrides {
        bpdl::config::apply_override(&mut tree, o)?;
    }
    Ok(bpdl::config::from_toml_str(&toml::to_string(&tree)?)?)
}

/// Draws a progress bar per epoch and writes metrics and checkpoints.
pub struct Progress<'a> {
    pub run: &'a mut RunDir,
    pub config: &'a Config,
    pub bar: Option<ProgressBar>,
}

impl TrainObserver for Progress<'_> {
    fn minibatch_done(
        &mut self,
        epoch: usize,
        done: usize,
        total: usize,
        running: &dyn Fn() -> EpochMetrics,
    ) {
        let bar = self.bar.get_or_insert_with(|| {
            let b = common::progress(
                total as u64,
                "{prefix} [{bar:20}] {pos}/{len} {msg} ({eta})",
            );
            b.set_prefix(format!("epoch {epoch}/{}", self.config.train.epochs));
            b
        });
        bar.set_position(done as u64);
        if done.is_multiple_of(10) || done == total {
            bar.set_message(summary(&running()));
        }
    }

    fn epoch_done(&mut self, m: &EpochMetrics, state: &TrainState) -> bpdl::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.run.log(m)?;
        checkpoint::save(
            &self.run.path().join(checkpoint::FILE_NAME),
            state,
            self.config,
        )?;
        eprintln!(
            "epoch {}/{} {:.1}s  {}",
            m.epoch,
            self.config.train.epochs,
            m.seconds,
            summary(m)
        );
        Ok(())
    }

    fn prior_fitted(&mut self, state: &TrainState) -> bpdl::Result<()> {
        checkpoint::save(
            &self.run.path().join(checkpoint::FILE_NAME),
            state,
            self.config,
        )
    }
}

/// One line: losses, log p before → after inference, mean |h| per layer.
pub fn summary(m: &EpochMetrics) -> String {
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let abs: Vec<f64> = m.layers.iter().map(|l| l.mean_abs).collect();
    let spread: Vec<f64> = m.layers.iter().map(|l| l.spread).collect();
    format!(
        "logp {:.2}→{:.2} | g {} | f {} | |h| {} | sd {}",
        m.log_pxh_before,
        m.log_pxh_after,
        list(&m.loss_decoder),
        list(&m.loss_encoder),
        list(&abs),
        list(&spread),
    )
}
