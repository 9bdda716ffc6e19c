//! The back-propagation baseline of a supervised run, trained into the run's folder beside the
//! bpdl model (`supervised.baseline = true`): `baseline.safetensors` (its weights) and
//! `baseline.json` (its settings and one record per epoch). [`crate::eval::classify`] reports
//! its error beside bpdl's.
//!
//! **Same network, same data, same schedule.** The layer sizes, non-linearities, initialisation
//! scheme, optimizer, learning rate, minibatch size and epochs are the run's
//! ([`settings_for`]). In a semi-supervised run the baseline can only learn from the labelled
//! subset; it is trained on it for as many minibatch updates as bpdl made (minibatches of
//! `min(batch_size, labels)`), so both see the same number of updates and the same labels.

use std::path::Path;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::backprop::{self, BackpropNet, BackpropSettings, BaselineEpoch};
use crate::backend::{Device, Matrix};
use crate::config::Config;
use crate::data::batches::gather_rows;
use crate::error::{Error, Result};
use crate::model::Map;
use crate::run::write_json;
use crate::tensor_file::{TensorReader, TensorWriter};

/// The baseline's weights in a run folder.
pub const WEIGHTS: &str = "baseline.safetensors";
/// The baseline's settings and epochs in a run folder.
pub const RECORD: &str = "baseline.json";

/// What `baseline.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineRecord {
    /// The settings it was trained with.
    pub settings: BackpropSettings,
    /// Labelled training examples it learnt from.
    pub examples: usize,
    /// One record per epoch.
    pub epochs: Vec<BaselineEpoch>,
    /// Seconds of training in all.
    pub seconds: f64,
}

/// The baseline of the supervised network of `config` for inputs of width `n_x`: the run's layer
/// sizes and encoder non-linearities, initialisation, optimizer, minibatch size, epochs and seed,
/// at the learning rate `supervised.baseline_lr` when it is set.
/// For a semi-supervised run with `n_labelled` labels and `n_train` training images the epochs
/// (over the labelled subset) are set so that the number of updates equals bpdl's, and the
/// learning-rate decay per epoch so that the rate falls as bpdl's does over the same updates.
pub fn settings_for(config: &Config, n_x: usize, n_train: usize) -> BackpropSettings {
    let mut sizes = vec![n_x];
    sizes.extend(config.model.layers.iter().map(|l| l.size));
    let sup = &config.supervised;
    let (epochs, batch_size) = if sup.semi_supervised() {
        let batch = config.train.batch_size.min(sup.labels);
        let updates =
            config.train.epochs * (n_train / (config.train.batch_size - sup.labelled_per_batch));
        let per_epoch = (sup.labels / batch).max(1);
        (updates.div_ceil(per_epoch).max(1), batch)
    } else {
        (config.train.epochs, config.train.batch_size)
    };
    BackpropSettings {
        sizes,
        activations: config.model.layers.iter().map(|l| l.activation).collect(),
        init: config.model.init,
        learning: crate::config::LearningConfig {
            lr: sup.baseline_lr.unwrap_or(config.learning.lr),
            // the decay per epoch of bpdl, spread over the baseline's (more, shorter) epochs of
            // a semi-supervised run, so that both end at the same rate
            lr_decay: config
                .learning
                .lr_decay
                .powf(config.train.epochs as f64 / epochs as f64),
            ..config.learning
        },
        epochs,
        batch_size,
        seed: config.seed,
    }
}

/// Trains the baseline of `config` on `images` with `labels` (only the labelled rows `rows`,
/// all when `None`), scoring `validation` after every epoch, and writes it into `dir`. A folder
/// that already holds a complete baseline of the same settings is left as it is and its record
/// returned.
pub fn train_in_run(
    dev: &Device,
    config: &Config,
    (images, labels, rows): (ArrayView2<'_, f32>, &[u8], Option<&[usize]>),
    validation: Option<(ArrayView2<'_, f32>, &[u8])>,
    dir: &Path,
    on_epoch: &mut dyn FnMut(&BaselineEpoch) -> Result<()>,
) -> Result<BaselineRecord> {
    let settings = settings_for(config, images.ncols(), images.nrows());
    if let Some(done) = read_record(dir)?
        && done.settings == settings
        && done.epochs.len() == settings.epochs
        && dir.join(WEIGHTS).exists()
    {
        return Ok(done);
    }
    let (subset, subset_labels);
    let (images, labels) = match rows {
        Some(rows) => {
            let mut m = Matrix::zeros((rows.len(), images.ncols()));
            gather_rows(images, rows, m.view_mut());
            subset = m;
            subset_labels = rows.iter().map(|&r| labels[r]).collect::<Vec<u8>>();
            (subset.view(), &subset_labels[..])
        }
        None => (images, labels),
    };
    let started = std::time::Instant::now();
    let (net, epochs) = backprop::train(dev, &settings, images, labels, validation, on_epoch)?;
    let mut w = TensorWriter::new();
    w.meta("format", "bpdl-baseline-v1");
    for (l, map) in net.layers.iter().enumerate() {
        w.matrix(format!("layer{}.weight", l + 1), map.weight.view());
        w.vector(format!("layer{}.bias", l + 1), map.bias.view());
    }
    w.write(&dir.join(WEIGHTS))?;
    let record = BaselineRecord {
        settings,
        examples: labels.len(),
        epochs,
        seconds: started.elapsed().as_secs_f64(),
    };
    write_json(&dir.join(RECORD), &record)?;
    Ok(record)
}

/// `baseline.json` of `dir`, `None` when there is none.
pub fn read_record(dir: &Path) -> Result<Option<BaselineRecord>> {
    let p = dir.join(RECORD);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, "reading", e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::BadFile {
            path: p,
            problem: e.to_string(),
            hint: "delete it and train the run again (`--resume` retrains the baseline)".into(),
        })
}

/// The baseline saved in `dir` with its record, `None` when the folder has none.
pub fn load(dir: &Path) -> Result<Option<(BackpropNet, BaselineRecord)>> {
    let Some(record) = read_record(dir)? else {
        return Ok(None);
    };
    let r = TensorReader::open(&dir.join(WEIGHTS))?;
    let s = &record.settings;
    let mut layers = Vec::with_capacity(s.activations.len());
    for (l, &activation) in s.activations.iter().enumerate() {
        let shape = (s.sizes[l], s.sizes[l + 1]);
        layers.push(Map {
            weight: r.matrix(&format!("layer{}.weight", l + 1), Some(shape))?,
            bias: r.vector(&format!("layer{}.bias", l + 1), Some(shape.1))?,
            activation,
        });
    }
    Ok(Some((BackpropNet { layers }, record)))
}
