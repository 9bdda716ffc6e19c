//! Training into a run folder (Algorithm 2 TRAIN through [`crate::train::train`]): a fresh run
//! writes `config.toml` and `run.json`; a folder that already holds a checkpoint is continued
//! from it, bit for bit, when its model, data, seed and optimizer are those of the config.
//! Every epoch appends a line to `metrics.jsonl` and saves the checkpoint, so an interrupted run
//! loses at most one epoch.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Provenance, RunDir, RunInfo, write_atomic};
use crate::backend::Device;
use crate::checkpoint;
use crate::config::{self, Config};
use crate::data::{Dataset, Mnist};
use crate::error::{Error, Result};
use crate::train::{self, EpochMetrics, TrainObserver, TrainState};

/// What [`train_in_dir`] is about to do (for a progress display).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPlan {
    /// The run folder.
    pub dir: PathBuf,
    /// `Some(epochs done)` when a checkpoint there is continued.
    pub resumed_after: Option<usize>,
    /// Epochs asked for in all.
    pub epochs: usize,
    /// Parameters of the model.
    pub parameters: usize,
    /// Training images.
    pub images: usize,
    /// Minibatches per epoch.
    pub minibatches: usize,
    /// Worker threads.
    pub threads: usize,
    /// The dataset.
    pub dataset: Dataset,
}

/// "training N parameters on M images (E epochs of B minibatches, T threads) into DIR".
impl std::fmt::Display for TrainPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "training {} parameters on {} {} images ({} epochs of {} minibatches, {} threads) \
             into {}",
            self.parameters,
            self.images,
            self.dataset,
            self.epochs,
            self.minibatches,
            self.threads,
            self.dir.display()
        )
    }
}

/// Progress hooks of [`train_in_dir`]; the run folder itself is written by the library. Every
/// method has a default that does nothing, so `()` observes nothing.
pub trait RunObserver: Send {
    /// Training is about to start (not called when the run is already complete).
    fn starting(&mut self, _plan: &TrainPlan) {}
    /// After each minibatch; `running()` computes the averages of the epoch so far.
    fn minibatch_done(
        &mut self,
        _epoch: usize,
        _done: usize,
        _total: usize,
        _running: &dyn Fn() -> EpochMetrics,
    ) {
    }
    /// After each epoch, once its metrics and checkpoint are saved.
    fn epoch_done(&mut self, _metrics: &EpochMetrics, _config: &Config) {}
}

impl RunObserver for () {}

/// The outcome of [`train_in_dir`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The final state (its model has the fitted top prior).
    pub state: TrainState,
    /// Seconds spent training in this call (0 when the run was already complete).
    pub seconds: f64,
}

/// Trains `config` into the run folder `dir`: continues the checkpoint there when there is one
/// (its model, data, seed and optimizer must be the config's; more epochs may be asked for),
/// starts afresh otherwise, recording `provenance` in `run.json`.
pub fn train_in_dir(
    dev: &Device,
    config: &Config,
    data: &Mnist,
    dir: &Path,
    provenance: &Provenance,
    observer: &mut dyn RunObserver,
) -> Result<Trained> {
    let images = data.train.head(config.data.train_limit).images;
    let ckpt = dir.join(checkpoint::FILE_NAME);
    let (mut state, run_dir, resumed) = if ckpt.exists() {
        let (state, saved) = checkpoint::load(&ckpt)?;
        check_resumable(&ckpt, config, &saved)?;
        write_atomic(
            &dir.join(super::files::CONFIG),
            config::to_toml_string(config)?.as_bytes(),
        )?;
        let after = state.epochs_done;
        (state, RunDir::open(dir)?, Some(after))
    } else {
        let info = RunInfo::new(provenance.clone(), config.seed, dev.threads());
        let run_dir = RunDir::create(dir, &config::to_toml_string(config)?, &info)?;
        (TrainState::new(config, data.pixels()), run_dir, None)
    };
    if state.epochs_done >= config.train.epochs && train::prior_fits(&state.model, config) {
        return Ok(Trained {
            state,
            seconds: 0.0,
        });
    }
    observer.starting(&TrainPlan {
        dir: dir.to_path_buf(),
        resumed_after: resumed,
        epochs: config.train.epochs,
        parameters: state.model.parameter_count(),
        images: images.nrows(),
        minibatches: images.nrows() / config.train.batch_size,
        threads: dev.threads(),
        dataset: config.data.dataset,
    });
    let started = Instant::now();
    let mut saving = Saving {
        run: run_dir,
        config,
        observer,
    };
    let heldout = data.validation.head(config.train.heldout_examples).images;
    let heldout = (config.train.heldout_examples > 0).then(|| heldout.view());
    train::train_with_heldout(dev, images.view(), heldout, config, &mut state, &mut saving)?;
    Ok(Trained {
        state,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A run's identity cannot change: the first of model, data, seed and optimizer that differs
/// from the checkpoint's is an error naming its key.
fn check_resumable(ckpt: &Path, config: &Config, saved: &Config) -> Result<()> {
    let differs = [
        ("model", config.model != saved.model),
        ("data", config.data != saved.data),
        ("seed", config.seed != saved.seed),
        (
            "learning.optimizer",
            config.learning.optimizer != saved.learning.optimizer,
        ),
    ];
    match differs.iter().find(|(_, d)| *d) {
        Some((key, _)) => Err(Error::config(
            *key,
            format!(
                "differs from the checkpoint's ({}); a run's model, data, seed and optimizer \
                 cannot change (others, e.g. train.epochs, can)",
                ckpt.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Writes metrics and checkpoints, then hands each event to the caller's observer.
struct Saving<'a> {
    run: RunDir,
    config: &'a Config,
    observer: &'a mut dyn RunObserver,
}

impl Saving<'_> {
    fn save(&self, state: &TrainState) -> Result<()> {
        checkpoint::save(
            &self.run.path().join(checkpoint::FILE_NAME),
            state,
            self.config,
        )
    }
}

impl TrainObserver for Saving<'_> {
    fn minibatch_done(
        &mut self,
        epoch: usize,
        done: usize,
        total: usize,
        running: &dyn Fn() -> EpochMetrics,
    ) {
        self.observer.minibatch_done(epoch, done, total, running);
    }

    fn epoch_done(&mut self, metrics: &EpochMetrics, state: &TrainState) -> Result<()> {
        self.run.log(metrics)?;
        self.save(state)?;
        self.observer.epoch_done(metrics, self.config);
        Ok(())
    }

    fn prior_fitted(&mut self, state: &TrainState) -> Result<()> {
        self.save(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed run that silently changed its seed or model would no longer be the run its
    /// folder claims to be; each identity key must be refused by name.
    #[test]
    fn a_changed_identity_key_is_refused_by_name_and_a_longer_schedule_is_not() {
        let saved = Config::default();
        let ckpt = Path::new("run/checkpoint.safetensors");
        let mut longer = saved.clone();
        longer.train.epochs += 5;
        assert!(check_resumable(ckpt, &longer, &saved).is_ok());
        let mut seed = saved.clone();
        seed.seed += 1;
        let mut model = saved.clone();
        model.model.layers[0].size += 1;
        for (changed, key) in [(seed, "seed"), (model, "model")] {
            match check_resumable(ckpt, &changed, &saved) {
                Err(Error::Config { key: k, message }) => {
                    assert_eq!(k, key);
                    assert!(message.contains("run/checkpoint.safetensors"), "{message}");
                }
                other => panic!("{key}: expected a config error, got {other:?}"),
            }
        }
    }
}
