//! Training into a run folder (Algorithm 2 TRAIN through [`crate::train::train`]): a fresh run
//! writes `config.toml` and `run.json`; a folder that already holds a checkpoint is continued
//! from it, bit for bit, when its model, data, seed and optimizer are those of the config.
//! Every epoch appends a line to `metrics.jsonl` and saves the checkpoint (and, while the
//! in-network STDP window is recorded, rewrites `stdp_window.json` and its figure, [`crate::learning::stdp_window`]), so an interrupted run
//! loses at most one epoch, then appends its event to the TensorBoard files in `tb/`
//! ([`super::tensorboard`], unless `train.tensorboard = false`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{ArrayView2, s};

use super::tensorboard::TrainingBoard;
use super::{Provenance, RunDir, RunInfo, write_atomic};
use crate::backend::Device;
use crate::checkpoint;
use crate::config::{self, Config};
use crate::data::Mnist;
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
    /// What the images are (`mnist`, `fashion-mnist`, or `arrays` handed over by a caller).
    pub dataset: String,
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

/// The examples [`train_in_dir`] learns from: the training images and the held-out images of
/// the per-epoch inference diagnostic, one example per row, values in [0, 1].
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    /// Training images (`data.train_limit` is applied by [`train_in_dir`]).
    pub train: ArrayView2<'a, f32>,
    /// Held-out images (the first `train.heldout_examples` are used); `None` for none.
    pub validation: Option<ArrayView2<'a, f32>>,
    /// What the images are, for the progress display (`mnist`, `arrays`).
    pub name: &'a str,
    /// The class of every training image (supervised learning; `None` for unlabelled data).
    pub train_labels: Option<&'a [u8]>,
    /// The class of every validation image.
    pub validation_labels: Option<&'a [u8]>,
}

impl<'a> TrainingData<'a> {
    /// The training and validation splits of a dataset.
    pub fn from_dataset(data: &'a Mnist) -> Self {
        Self {
            train: data.train.images.view(),
            validation: Some(data.validation.images.view()),
            name: data.dataset.name(),
            train_labels: Some(&data.train.labels),
            validation_labels: Some(&data.validation.labels),
        }
    }

    /// Images handed over by a caller (the Python package): checked for width agreement and
    /// for values that are finite and in [0, 1] (the Bernoulli/Gaussian pixels of the model).
    pub fn from_arrays(
        train: ArrayView2<'a, f32>,
        validation: Option<ArrayView2<'a, f32>>,
    ) -> Result<Self> {
        check_images("training images", train, None)?;
        if let Some(v) = validation {
            check_images("validation images", v, Some(train.ncols()))?;
        }
        Ok(Self {
            train,
            validation,
            name: "arrays",
            train_labels: None,
            validation_labels: None,
        })
    }
}

/// Fails with an [`Error::Shape`] or [`Error::Usage`] naming `what` when `images` is empty, has
/// another width than `width`, or holds a value that is not finite or lies outside [0, 1].
pub fn check_images(what: &str, images: ArrayView2<'_, f32>, width: Option<usize>) -> Result<()> {
    let (n, d) = images.dim();
    if n == 0 || d == 0 || width.is_some_and(|w| w != d) {
        return Err(Error::Shape {
            op: "training data",
            expected: match width {
                Some(w) => format!("{what} of shape (examples, {w})"),
                None => format!("{what} of shape (examples, features), both at least 1"),
            },
            got: format!("shape ({n}, {d})"),
        });
    }
    if let Some((at, v)) = images
        .indexed_iter()
        .find(|(_, v)| !(v.is_finite() && (0.0..=1.0).contains(*v)))
    {
        return Err(Error::Usage(format!(
            "{what}: value {v} at row {}, column {}; pixels must be finite and in [0, 1] \
             (divide 8-bit images by 255)",
            at.0, at.1
        )));
    }
    Ok(())
}

/// Progress hooks of [`train_in_dir`]; the run folder itself is written by the library. Every
/// method has a default that does nothing, so `()` observes nothing.
pub trait RunObserver: Send {
    /// Training is about to start (not called when the run is already complete).
    fn starting(&mut self, _plan: &TrainPlan) {}
    /// After each minibatch; `running()` computes the averages of the epoch so far. An error
    /// (typically [`Error::Interrupted`]) stops training at once: the checkpoint of the last
    /// finished epoch stays in the run folder and `--resume` continues from it.
    fn minibatch_done(
        &mut self,
        _epoch: usize,
        _done: usize,
        _total: usize,
        _running: &dyn Fn() -> EpochMetrics,
    ) -> Result<()> {
        Ok(())
    }
    /// After each epoch, once its metrics and checkpoint are saved. An error stops training
    /// (the epoch just finished is kept).
    fn epoch_done(&mut self, _metrics: &EpochMetrics, _config: &Config) -> Result<()> {
        Ok(())
    }
    /// After each epoch of the back-propagation baseline of a supervised run
    /// (`supervised.baseline`), trained once bpdl's training is complete. An error stops it
    /// (nothing of it is saved; `--resume` trains it again).
    fn baseline_epoch_done(
        &mut self,
        _epoch: &crate::baselines::backprop::BaselineEpoch,
    ) -> Result<()> {
        Ok(())
    }
}

impl RunObserver for () {}

/// What [`train_in_dir`] does with a folder that already holds a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse with [`Error::RunExists`] (a fresh run: `bpdl train --out DIR`).
    Refuse,
    /// Continue it (`--resume`, `resume=True`, the reproduction and the sweep).
    Continue,
}

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
/// starts afresh otherwise, recording `provenance` in `run.json`. The first
/// `data.train_limit` training images are used (all when 0), and the first
/// `train.heldout_examples` validation images for the per-epoch held-out inference.
///
/// The folder is locked for the whole call ([`super::lock::RunLock`]): a second process that
/// trains into it is refused at once with [`Error::RunLocked`] naming this one.
pub fn train_in_dir(
    dev: &Device,
    config: &Config,
    data: &TrainingData<'_>,
    dir: &Path,
    provenance: &Provenance,
    existing: Existing,
    observer: &mut dyn RunObserver,
) -> Result<Trained> {
    let images = head(data.train, config.data.train_limit);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating the run folder", e))?;
    let _lock = super::lock::RunLock::acquire(dir, &provenance.command)?;
    let ckpt = dir.join(checkpoint::FILE_NAME);
    if existing == Existing::Refuse && ckpt.exists() {
        return Err(Error::RunExists {
            dir: dir.to_path_buf(),
            file: checkpoint::FILE_NAME,
        });
    }
    let loaded = if ckpt.exists() {
        Some(checkpoint::load(&ckpt)?)
    } else {
        None
    };
    keep_metrics_up_to(dir, loaded.as_ref().map_or(0, |(s, _)| s.epochs_done))?;
    let (mut state, run_dir, resumed) = if let Some((state, saved)) = loaded {
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
        (TrainState::new(config, images.ncols()), run_dir, None)
    };
    if state.epochs_done >= config.train.epochs && train::prior_fits(&state.model, config) {
        let seconds = train_baseline(dev, config, data, dir, observer)?;
        return Ok(Trained { state, seconds });
    }
    observer.starting(&TrainPlan {
        dir: dir.to_path_buf(),
        resumed_after: resumed,
        epochs: config.train.epochs,
        parameters: state.model.parameter_count(),
        images: images.nrows(),
        minibatches: images.nrows()
            / (config.train.batch_size
                - if config.supervised.semi_supervised() {
                    config.supervised.labelled_per_batch
                } else {
                    0
                }),
        threads: dev.threads(),
        dataset: data.name.to_string(),
    });
    let started = Instant::now();
    let heldout = data
        .validation
        .filter(|_| config.train.heldout_examples > 0)
        .map(|v| head(v, config.train.heldout_examples));
    let board = config.train.tensorboard.then(|| {
        let tb = dir.join(super::files::TENSORBOARD);
        TrainingBoard::new(&tb, dev, config, heldout)
    });
    let mut saving = Saving {
        run: run_dir,
        config,
        observer,
        board,
    };
    let n_heldout = heldout.map_or(0, |h| h.nrows());
    let labels = data.train_labels.map(|l| train::Labels {
        train: &l[..images.nrows().min(l.len())],
        heldout: data.validation_labels.map(|v| &v[..n_heldout.min(v.len())]),
    });
    train::train_examples(
        dev,
        images,
        heldout,
        labels,
        config,
        &mut state,
        &mut saving,
    )?;
    let observer = saving.observer;
    train_baseline(dev, config, data, dir, observer)?;
    Ok(Trained {
        state,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// With `supervised.enabled` and `supervised.baseline`, trains the back-propagation baseline of
/// the run's network into `dir` unless it is there already ([`crate::baselines::in_run`]);
/// returns the seconds spent.
fn train_baseline(
    dev: &Device,
    config: &Config,
    data: &TrainingData<'_>,
    dir: &Path,
    observer: &mut dyn RunObserver,
) -> Result<f64> {
    let sup = &config.supervised;
    let Some(labels) = data.train_labels.filter(|_| sup.enabled && sup.baseline) else {
        return Ok(0.0);
    };
    let started = Instant::now();
    let images = head(data.train, config.data.train_limit);
    let labels = &labels[..images.nrows().min(labels.len())];
    let subset = if sup.semi_supervised() {
        Some(crate::data::labelled::labelled_subset(
            labels,
            sup.labels,
            config.seed,
        )?)
    } else {
        None
    };
    // a semi-supervised baseline makes thousands of short epochs over its few labels: its
    // validation error is measured once, by `bpdl eval classify`, not after every one of them
    let validation = data
        .validation
        .zip(data.validation_labels)
        .filter(|_| !sup.semi_supervised());
    crate::baselines::in_run::train_in_run(
        dev,
        config,
        (images, labels, subset.as_deref()),
        validation,
        dir,
        &mut |e| observer.baseline_epoch_done(e),
    )?;
    Ok(started.elapsed().as_secs_f64())
}

/// The configuration to continue the run in `dir` with: the checkpoint's when there is one;
/// else, for a run stopped before its first checkpoint, its `config.toml` (the run then
/// starts afresh from it). The flag says whether a checkpoint was found.
pub fn saved_config(dir: &Path) -> Result<(Config, bool)> {
    let ckpt = dir.join(checkpoint::FILE_NAME);
    if ckpt.exists() {
        return Ok((checkpoint::load(&ckpt)?.1, true));
    }
    let file = dir.join(super::files::CONFIG);
    if !file.exists() {
        return Err(Error::Usage(format!(
            "{}: no run to resume here (neither {} nor {}: nothing was saved); start one with \
             `bpdl train --out {}`",
            dir.display(),
            checkpoint::FILE_NAME,
            super::files::CONFIG,
            dir.display()
        )));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, "reading", e))?;
    let config: Config = config::from_toml_str(&text).map_err(|e| match e {
        Error::Config { key, message } => Error::BadFile {
            path: file.clone(),
            problem: format!("config key `{key}`: {message}"),
            hint: "the run folder is damaged; start the run again".into(),
        },
        other => other,
    })?;
    Ok((config, false))
}

/// Drops the records of `metrics.jsonl` past epoch `done` (and a line torn by a kill), so a run
/// continued from its checkpoint does not log an epoch twice. Rewrites the file atomically,
/// and only when something is dropped.
fn keep_metrics_up_to(dir: &Path, done: usize) -> Result<()> {
    let p = dir.join(super::files::METRICS);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&p, "reading", e)),
    };
    let epoch_of = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("epoch")?.as_u64())
    };
    let kept: String = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n') && epoch_of(l).is_some_and(|e| e as usize <= done))
        .collect();
    if kept.len() != text.len() {
        write_atomic(&p, kept.as_bytes())?;
    }
    Ok(())
}

/// The first `n` rows of `m` (all when `n` is 0 or larger).
fn head(m: ArrayView2<'_, f32>, n: usize) -> ArrayView2<'_, f32> {
    let n = if n == 0 { m.nrows() } else { n.min(m.nrows()) };
    m.slice_move(s![..n, ..])
}

/// A run's identity cannot change: the first of model, data, seed and optimizer that differs
/// from the checkpoint's is an error naming its key.
fn check_resumable(ckpt: &Path, config: &Config, saved: &Config) -> Result<()> {
    let differs = [
        ("model", config.model != saved.model),
        ("data", config.data != saved.data),
        ("seed", config.seed != saved.seed),
        (
            "supervised",
            config.supervised != saved.supervised && {
                // the prediction and baseline settings may change (the baseline is then trained
                // again); what is learnt from may not
                let (a, b) = (&config.supervised, &saved.supervised);
                (a.enabled, a.labels, a.labelled_per_batch)
                    != (b.enabled, b.labels, b.labelled_per_batch)
            },
        ),
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

/// Writes metrics, checkpoints and TensorBoard events, then hands each event to the caller's
/// observer.
struct Saving<'a> {
    run: RunDir,
    config: &'a Config,
    observer: &'a mut dyn RunObserver,
    board: Option<TrainingBoard<'a>>,
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
    ) -> Result<()> {
        self.observer.minibatch_done(epoch, done, total, running)
    }

    fn epoch_done(&mut self, metrics: &EpochMetrics, state: &TrainState) -> Result<()> {
        self.run.log(metrics)?;
        self.save(state)?;
        if let Some(window) = &state.stdp_window {
            crate::learning::stdp_window::write_outputs(self.run.path(), window)?;
        }
        // after the canonical record and the checkpoint, so a failure here loses nothing saved
        let board = match &mut self.board {
            Some(b) => b.epoch_done(metrics, &state.model),
            None => Ok(()),
        };
        self.observer.epoch_done(metrics, self.config)?;
        board
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
