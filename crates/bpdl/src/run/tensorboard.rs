//! TensorBoard event files, written by hand (no protobuf compiler, no TensorFlow).
//!
//! An event file is a sequence of records, every integer little-endian:
//!
//! ```text
//! u64 len | u32 masked_crc(len's 8 bytes) | payload (len bytes) | u32 masked_crc(payload)
//! masked_crc(b) = ((c >> 15) | (c << 17)) + 0xa282ead8   (mod 2³²),   c = CRC-32C(b)
//! ```
//!
//! and each payload is an `Event` protocol buffer, of which this module encodes:
//!
//! ```text
//! Event           { 1 wall_time: double, 2 step: int64, 3 file_version: string, 5 summary: Summary }
//! Summary         { 1 value: repeated Value }
//! Value           { 1 tag: string, 9 metadata: SummaryMetadata, and one of
//!                   2 simple_value: float | 4 image: Image | 5 histo: HistogramProto |
//!                   8 tensor: TensorProto }
//! Image           { 1 height: int32, 2 width: int32, 3 colorspace: int32 (1 = grayscale),
//!                   4 encoded_image_string: bytes (PNG) }
//! HistogramProto  { 1 min, 2 max, 3 num, 4 sum, 5 sum_squares: double,
//!                   6 bucket_limit: packed double, 7 bucket: packed double }
//! SummaryMetadata { 1 plugin_data: PluginData { 1 plugin_name: string, 2 content: bytes } }
//! TensorProto     { 1 dtype: enum (7 = DT_STRING), 2 tensor_shape: TensorShapeProto (empty:
//!                   a scalar), 8 string_val: repeated bytes }
//! ```
//!
//! The first record of a file is `Event { wall_time, step 0, file_version "brain.Event:2" }`. A
//! text summary is a `Value` with plugin `"text"` and a scalar string tensor.
//!
//! # What training writes
//!
//! [`crate::run::train_in_dir`] (unless `train.tensorboard = false`) writes one file per process
//! into the run folder's `tb/`, named `events.out.tfevents.<unix seconds>.<host>.<pid>.<n>`, so
//! a resumed run adds a file beside the first and its steps go on (TensorBoard reads the folder
//! as one run). Each epoch appends one event, step = the epoch number, and flushes it:
//!
//! | tag | value (`metrics.jsonl` field) |
//! |---|---|
//! | `train/seconds`, `train/lr`, `train/minibatches` | `seconds`, `lr`, `minibatches` |
//! | `loss/decoder<l>`, `loss/encoder<l>` (l = 1..L) | `loss_decoder[l−1]`, `loss_encoder[l−1]` |
//! | `log_pxh/before`, `log_pxh/after` | `log_pxh_before`, `log_pxh_after` |
//! | `recon/x`, `recon/h<l>` | `recon[0]`, `recon[l]` (the layer reconstructed) |
//! | `h<l>/mean_abs`, `h<l>/spread`, `h<l>/saturation` | `layers[l−1]` (saturation for sigmoid layers) |
//! | `heldout/examples` | `heldout.examples` |
//! | `heldout/log_pxh/start`, `heldout/log_pxh/end` | first and last of `heldout.log_pxh` |
//! | `heldout/log_pxh_se/start`, `…/end` | first and last of `heldout.log_pxh_se` |
//! | `heldout/<term>/start`, `…/end` | first and last of each `heldout.terms` (name, spaces as `_`: `log_p(x|h1)`) |
//! | `heldout/cosine_<layer>/start`, `…/end` | first and last of each `heldout.alignment` |
//! | `error/train` | `train_error` (supervised learning) |
//! | `error/validation_feedforward`, `error/validation_inferred`, `error/validation_examples` | `validation.feedforward`, `validation.after_inference`, `validation.examples` |
//! | `generate/samples` (image) | 64 GENERATE samples (square images, feature `report`) |
//! | `codes/h<l>` (histogram) | the inferred `h_l` of the first [`PICTURE_EXAMPLES`] held-out images |
//! | `config` (text, first event of a file) | the resolved config TOML |
//!
//! The full held-out curves stay in `metrics.jsonl`, which remains the canonical record. The
//! samples and histograms need held-out images (`train.heldout_examples > 0`): there is no top
//! prior during training, so the samples come from a diagonal Gaussian fitted, for the picture
//! only, to the same images' inferred top codes (scaled by `train.prior_variance_scale`),
//! on a copy of the model and from the random stream `tensorboard`; training draws nothing
//! from it and is bit-identical with or without these files.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crc::{CRC_32_ISCSI, Crc};
use ndarray::ArrayView2;

use crate::backend::Device;
use crate::backend::reductions::Histogram;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::GenerativeModel;
use crate::train::EpochMetrics;

/// CRC-32C (Castagnoli), as TFRecord files use it.
const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// The version string of the first record.
pub const FILE_VERSION: &str = "brain.Event:2";

/// Buckets of the code histograms.
pub const HISTOGRAM_BUCKETS: usize = 30;

/// GENERATE samples in the per-epoch grid (8 × 8).
pub const GRID_SAMPLES: usize = 64;

/// Held-out images (the first ones) whose inferred codes are histogrammed and fit the grid's
/// prior: enough for both, and a fraction of the cost of inferring all of them every epoch.
pub const PICTURE_EXAMPLES: usize = 250;

/// CRC-32C of `bytes`.
///
/// ```
/// assert_eq!(bpdl::run::tensorboard::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

/// The masked CRC-32C of a record's length or payload: `((c >> 15) | (c << 17)) + 0xa282ead8`.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let c = crc32c(bytes);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// `payload` framed as one record: length, its masked CRC, the payload, its masked CRC.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
    out
}

/// A grayscale image, PNG-encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Pixels from top to bottom.
    pub height: usize,
    /// Pixels from left to right.
    pub width: usize,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// What one tag holds at one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (`simple_value`, stored as f32).
    Scalar(f64),
    /// An image.
    Image(Image),
    /// A histogram ([`Device::histogram`]).
    Histogram(Histogram),
    /// Markdown text (the text plugin).
    Text(String),
}

/// A protocol-buffer message being encoded.
#[derive(Debug, Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64); // negative int64: ten bytes of two's complement
    }
    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn message(&mut self, field: u32, m: Proto) {
        self.bytes(field, &m.0);
    }
    fn packed_doubles(&mut self, field: u32, v: &[f64]) {
        self.key(field, 2);
        self.varint(8 * v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
}

/// `Summary.Value` of `tag`.
fn encode_value(tag: &str, value: &Value) -> Proto {
    let mut v = Proto::default();
    v.bytes(1, tag.as_bytes());
    match value {
        Value::Scalar(x) => v.float(2, *x as f32),
        Value::Image(img) => {
            let mut m = Proto::default();
            m.int(1, img.height as i64);
            m.int(2, img.width as i64);
            m.int(3, 1); // grayscale
            m.bytes(4, &img.png);
            v.message(4, m);
        }
        Value::Histogram(h) => {
            let mut m = Proto::default();
            m.double(1, h.min);
            m.double(2, h.max);
            m.double(3, h.count as f64);
            m.double(4, h.sum);
            m.double(5, h.sum_squares);
            m.packed_doubles(6, &h.limits);
            m.packed_doubles(7, &h.counts);
            v.message(5, m);
        }
        Value::Text(text) => {
            let mut plugin = Proto::default();
            plugin.bytes(1, b"text");
            let mut meta = Proto::default();
            meta.message(1, plugin);
            v.message(9, meta);
            let mut tensor = Proto::default();
            tensor.int(1, 7); // DT_STRING
            tensor.message(2, Proto::default()); // shape []: a scalar
            tensor.bytes(8, text.as_bytes());
            v.message(8, tensor);
        }
    }
    v
}

/// The `Event` payload of `values` at `step` (no framing; see [`record`]).
pub fn encode_event(wall_time: f64, step: i64, values: &[(String, Value)]) -> Vec<u8> {
    let mut summary = Proto::default();
    for (tag, value) in values {
        summary.message(1, encode_value(tag, value));
    }
    let mut event = Proto::default();
    event.double(1, wall_time);
    event.int(2, step);
    event.message(5, summary);
    event.0
}

/// The `Event` payload that opens a file: `file_version` [`FILE_VERSION`] at step 0.
pub fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut event = Proto::default();
    event.double(1, wall_time);
    event.int(2, 0);
    event.bytes(3, FILE_VERSION.as_bytes());
    event.0
}

/// Seconds since the Unix epoch, with fractions (an event's `wall_time`).
fn wall_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The machine's name for file names: letters, digits, `-` and `_` only.
fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// One event file being appended to.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: File,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it,
    /// `events.out.tfevents.<unix seconds>.<host>.<pid>.<n>` (`n` counts the files of this
    /// process; an existing file is never reused), opened by its first record.
    pub fn create(dir: &Path) -> Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating the directory", e))?;
        let (secs, host, pid) = (super::unix_now(), host_name(), std::process::id());
        loop {
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(format!("events.out.tfevents.{secs}.{host}.{pid}.{n}"));
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => {
                    let mut w = Self { path, file };
                    w.append(&record(&file_version_event(wall_time())))?;
                    return Ok(w);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(path, "creating", e)),
            }
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event holding `values` at `step` (the current wall time) and flushes it.
    pub fn write(&mut self, step: i64, values: &[(String, Value)]) -> Result<()> {
        self.append(&record(&encode_event(wall_time(), step, values)))
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| {
                let hint = super::write_hint(&e);
                Error::io_hint(&self.path, "appending", e, hint)
            })
    }
}

/// The scalars of an epoch under their tags (the table of the module documentation).
pub fn epoch_scalars(m: &EpochMetrics) -> Vec<(String, f64)> {
    let mut out = vec![
        ("train/seconds".to_string(), m.seconds),
        ("train/lr".to_string(), m.lr),
        ("train/minibatches".to_string(), m.minibatches as f64),
        ("log_pxh/before".to_string(), m.log_pxh_before),
        ("log_pxh/after".to_string(), m.log_pxh_after),
    ];
    for (l, v) in m.loss_decoder.iter().enumerate() {
        out.push((format!("loss/decoder{}", l + 1), *v));
    }
    for (l, v) in m.loss_encoder.iter().enumerate() {
        out.push((format!("loss/encoder{}", l + 1), *v));
    }
    for (l, v) in m.recon.iter().enumerate() {
        let below = if l == 0 {
            "x".to_string()
        } else {
            format!("h{l}")
        };
        out.push((format!("recon/{below}"), *v));
    }
    for (l, s) in m.layers.iter().enumerate() {
        let h = format!("h{}", l + 1);
        out.push((format!("{h}/mean_abs"), s.mean_abs));
        out.push((format!("{h}/spread"), s.spread));
        if let Some(sat) = s.saturation {
            out.push((format!("{h}/saturation"), sat));
        }
    }
    if let Some(h) = &m.heldout {
        out.push(("heldout/examples".to_string(), h.examples as f64));
        let mut ends = |name: &str, curve: &[f64]| {
            if let (Some(a), Some(b)) = (curve.first(), curve.last()) {
                out.push((format!("heldout/{name}/start"), *a));
                out.push((format!("heldout/{name}/end"), *b));
            }
        };
        ends("log_pxh", &h.log_pxh);
        ends("log_pxh_se", &h.log_pxh_se);
        for t in &h.terms {
            ends(&t.name.replace(' ', "_"), &t.mean);
        }
        for a in &h.alignment {
            ends(&format!("cosine_{}", a.name.replace(' ', "_")), &a.mean);
        }
    }
    if let Some(e) = m.train_error {
        out.push(("error/train".to_string(), e));
    }
    if let Some(v) = &m.validation {
        out.push(("error/validation_feedforward".to_string(), v.feedforward));
        out.push(("error/validation_inferred".to_string(), v.after_inference));
        out.push(("error/validation_examples".to_string(), v.examples as f64));
    }
    out
}

/// The event files of one training run: [`crate::run::train_in_dir`] hands it every finished
/// epoch. The file is created with the first epoch (so a run that trains nothing leaves none).
pub struct TrainingBoard<'a> {
    dir: PathBuf,
    writer: Option<EventWriter>,
    dev: &'a Device,
    config: &'a Config,
    heldout: Option<ArrayView2<'a, f32>>,
}

impl<'a> TrainingBoard<'a> {
    /// Event files in `dir` for a run of `config`, with samples and histograms from the first
    /// [`PICTURE_EXAMPLES`] of the `heldout` images (none when `None` or empty).
    pub fn new(
        dir: &Path,
        dev: &'a Device,
        config: &'a Config,
        heldout: Option<ArrayView2<'a, f32>>,
    ) -> Self {
        Self {
            dir: dir.to_path_buf(),
            writer: None,
            dev,
            config,
            heldout: heldout
                .filter(|h| h.nrows() > 0)
                .map(|h| h.slice_move(ndarray::s![..h.nrows().min(PICTURE_EXAMPLES), ..])),
        }
    }

    /// The event file, once the first epoch has been written.
    pub fn path(&self) -> Option<&Path> {
        self.writer.as_ref().map(EventWriter::path)
    }

    /// Appends the epoch `metrics` describe (step = its number) for `model`, trained to the
    /// end of it: the scalars, and with held-out images the code histograms and GENERATE grid.
    /// `model` is only read (the samples come from a copy).
    pub fn epoch_done(&mut self, metrics: &EpochMetrics, model: &GenerativeModel) -> Result<()> {
        let step = metrics.epoch as i64;
        let mut values: Vec<(String, Value)> = epoch_scalars(metrics)
            .into_iter()
            .map(|(tag, v)| (tag, Value::Scalar(v)))
            .collect();
        if let Some(x) = self.heldout {
            values.extend(self.pictures(model, x)?);
        }
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let mut w = EventWriter::create(&self.dir)?;
                let toml = crate::config::to_toml_string(self.config)?;
                w.write(
                    step,
                    &[("config".into(), Value::Text(config_markdown(&toml)))],
                )?;
                self.writer.insert(w)
            }
        };
        writer.write(step, &values)
    }

    /// Histograms of the held-out images' inferred codes and (feature `report`, square images)
    /// a grid of GENERATE samples under a diagonal Gaussian prior fitted to their top codes.
    fn pictures(
        &self,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
    ) -> Result<Vec<(String, Value)>> {
        let (dev, config) = (self.dev, self.config);
        let mut rng = crate::rng::Seed(config.seed).stream("tensorboard");
        let batch = config.train.batch_size.max(1);
        let post = crate::inference::infer(dev, model, x, &config.inference, batch, &mut rng)?;
        let mut out: Vec<(String, Value)> = post
            .h
            .iter()
            .enumerate()
            .map(|(l, h)| {
                let hist = dev.histogram(h.view(), HISTOGRAM_BUCKETS);
                (format!("codes/h{}", l + 1), Value::Histogram(hist))
            })
            .collect();
        if let Some(img) = self.samples_grid(model, &post, &mut rng)? {
            out.push(("generate/samples".into(), Value::Image(img)));
        }
        Ok(out)
    }

    #[cfg(feature = "report")]
    fn samples_grid(
        &self,
        model: &GenerativeModel,
        post: &crate::inference::Posterior,
        rng: &mut crate::rng::Rng,
    ) -> Result<Option<Image>> {
        use crate::config::PriorCovariance;
        use crate::image_grid::{GridLayout, encode_png};
        use crate::model::prior::PriorAccumulator;
        let side = model.input_size().isqrt();
        let Some(top) = post.h.last().filter(|_| side * side == model.input_size()) else {
            return Ok(None);
        };
        let (dev, config) = (self.dev, self.config);
        let mut acc = PriorAccumulator::new(model.top_size(), PriorCovariance::Diagonal);
        acc.add(dev, top.view());
        let mut copy = model.clone();
        copy.top_prior = Some(acc.finish(f64::from(config.train.prior_variance_scale))?);
        let method = crate::sampling::Method::Generate;
        let samples = crate::sampling::sample(dev, &copy, method, GRID_SAMPLES, config, rng)?;
        let layout = GridLayout {
            image: (side, side),
            columns: 8,
            scale: (56 / side).max(1),
            pad: 2,
        };
        let (width, height, png) = encode_png(samples.view(), layout, &self.dir)?;
        Ok(Some(Image { height, width, png }))
    }

    #[cfg(not(feature = "report"))]
    fn samples_grid(
        &self,
        _model: &GenerativeModel,
        _post: &crate::inference::Posterior,
        _rng: &mut crate::rng::Rng,
    ) -> Result<Option<Image>> {
        Ok(None)
    }
}

/// The config TOML as Markdown: one fenced code block (the text plugin renders Markdown).
fn config_markdown(toml: &str) -> String {
    format!("```toml\n{toml}```\n")
}

#[cfg(test)]
mod tests;
