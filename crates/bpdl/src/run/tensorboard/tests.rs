//! The writer against the format it implements: the CRC-32C check value, the masking formula,
//! and every record read back by a reader written here from the format (lengths and CRCs
//! checked, protobuf fields decoded by number), then a short training run read back against
//! its `metrics.jsonl`.

use super::*;
use crate::backend::Matrix;
use crate::config::{CorruptionConfig, LayerConfig};
use crate::run::{Existing, Provenance, TrainingData, read_metrics, train_in_dir};
use crate::{Activation, checkpoint};

/// One decoded protobuf field.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Varint(u64),
    F64(f64),
    F32(f32),
    Bytes(Vec<u8>),
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = b.split_at(n);
    *b = tail;
    head
}

fn varint(b: &mut &[u8]) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = take(b, 1)[0];
        v |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            return v;
        }
    }
}

/// The fields of a message, in order.
fn parse(mut b: &[u8]) -> Vec<(u32, Field)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut b)),
            1 => Field::F64(f64::from_le_bytes(take(&mut b, 8).try_into().unwrap())),
            2 => {
                let n = varint(&mut b) as usize;
                Field::Bytes(take(&mut b, n).to_vec())
            }
            5 => Field::F32(f32::from_le_bytes(take(&mut b, 4).try_into().unwrap())),
            w => panic!("wire type {w}"),
        };
        out.push(((key >> 3) as u32, field));
    }
    out
}

fn one(fields: &[(u32, Field)], n: u32) -> &Field {
    let all: Vec<_> = fields.iter().filter(|(k, _)| *k == n).collect();
    assert_eq!(all.len(), 1, "field {n} in {fields:?}");
    &all[0].1
}

fn bytes(f: &Field) -> &[u8] {
    match f {
        Field::Bytes(b) => b,
        other => panic!("not bytes: {other:?}"),
    }
}

fn f64_of(f: &Field) -> f64 {
    match f {
        Field::F64(x) => *x,
        other => panic!("not a double: {other:?}"),
    }
}

fn packed_f64(f: &Field) -> Vec<f64> {
    bytes(f)
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The payloads of a file's records; every length and CRC must match.
fn records(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let len_bytes = take(&mut b, 8);
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(take(&mut b, 4).try_into().unwrap());
        assert_eq!(crc, masked_crc32c(len_bytes), "length CRC");
        let payload = take(&mut b, len);
        let crc = u32::from_le_bytes(take(&mut b, 4).try_into().unwrap());
        assert_eq!(crc, masked_crc32c(payload), "payload CRC");
        out.push(payload.to_vec());
    }
    out
}

/// An event read back: its step, file version and `(tag, Value's fields)` of its summary.
#[derive(Debug)]
struct Event {
    wall_time: f64,
    step: u64,
    file_version: Option<String>,
    values: Vec<(String, Vec<(u32, Field)>)>,
}

fn event(payload: &[u8]) -> Event {
    let fields = parse(payload);
    let mut e = Event {
        wall_time: f64_of(one(&fields, 1)),
        step: match one(&fields, 2) {
            Field::Varint(s) => *s,
            other => panic!("step {other:?}"),
        },
        file_version: None,
        values: Vec::new(),
    };
    for (k, f) in &fields {
        match k {
            3 => e.file_version = Some(String::from_utf8(bytes(f).to_vec()).unwrap()),
            5 => {
                for (k, v) in parse(bytes(f)) {
                    assert_eq!(k, 1, "Summary has only values");
                    let v = parse(bytes(&v));
                    let tag = String::from_utf8(bytes(one(&v, 1)).to_vec()).unwrap();
                    e.values.push((tag, v));
                }
            }
            _ => {}
        }
    }
    e
}

fn read_events(path: &Path) -> Vec<Event> {
    records(&std::fs::read(path).unwrap())
        .iter()
        .map(|p| event(p))
        .collect()
}

fn scalar(v: &[(u32, Field)]) -> f32 {
    match one(v, 2) {
        Field::F32(x) => *x,
        other => panic!("simple_value {other:?}"),
    }
}

/// The published check value of CRC-32C (Castagnoli): a wrong polynomial or reflection would
/// make every record unreadable to TensorBoard.
#[test]
fn crc32c_gives_the_published_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b""), 0);
}

/// The masking of TFRecord: rotate right by 15, add 0xa282ead8 (worked out by hand from the
/// check value: (0xE3069283 >> 15 | 0xE3069283 << 17) + 0xa282ead8 mod 2³² = 0xc78ab0e5).
#[test]
fn the_masked_crc_rotates_and_adds_the_constant() {
    assert_eq!(masked_crc32c(b""), 0xa282_ead8);
    assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
}

/// Scalars written at two steps come back with their tags, steps and values, after a first
/// record that names the file version; lengths and CRCs check throughout.
#[test]
fn scalars_round_trip_through_an_event_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(&dir.path().join("tb")).unwrap();
    let name = w.path().file_name().unwrap().to_string_lossy().into_owned();
    // events.out.tfevents.<unix seconds>.<host>.<pid>.<n>
    let parts: Vec<&str> = name.split('.').collect();
    assert_eq!(parts.len(), 7, "{name}");
    assert_eq!(parts[..3], ["events", "out", "tfevents"]);
    assert!(parts[3].parse::<u64>().unwrap() > 1_600_000_000, "{name}");
    assert_eq!(parts[5], std::process::id().to_string());
    assert!(parts[6].parse::<u64>().is_ok(), "{name}");
    w.write(
        1,
        &[
            ("loss/a".into(), Value::Scalar(0.5)),
            ("b".into(), Value::Scalar(-3.25)),
        ],
    )
    .unwrap();
    w.write(2, &[("loss/a".into(), Value::Scalar(1e-3))])
        .unwrap();
    let events = read_events(w.path());
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    assert_eq!((events[0].step, events[0].values.len()), (0, 0));
    assert!(events[0].wall_time > 1.6e9, "wall time in Unix seconds");
    let got: Vec<(u64, String, f32)> = events[1..]
        .iter()
        .flat_map(|e| e.values.iter().map(|(t, v)| (e.step, t.clone(), scalar(v))))
        .collect();
    let want = [
        (1, "loss/a".to_string(), 0.5),
        (1, "b".to_string(), -3.25),
        (2, "loss/a".to_string(), 1e-3),
    ];
    assert_eq!(got, want);
    // a second writer in the same folder opens another file
    let w2 = EventWriter::create(&dir.path().join("tb")).unwrap();
    assert_ne!(w2.path(), w.path());
}

/// An image and a histogram decode to exactly the fields written: the PNG bytes, its size
/// and colorspace, and every statistic and bucket of the histogram.
#[test]
fn image_and_histogram_values_decode_field_by_field() {
    let dev = Device::cpu(1).unwrap();
    let hist = dev.histogram(ndarray::array![[0.0f32, 1.0, 1.0, 3.0]].view(), 3);
    let png = vec![0x89, b'P', b'N', b'G', 1, 2, 3];
    let values = [
        (
            "img".to_string(),
            Value::Image(Image {
                height: 5,
                width: 300,
                png: png.clone(),
            }),
        ),
        ("h".to_string(), Value::Histogram(hist)),
    ];
    let e = event(&encode_event(12.5, 7, &values));
    assert_eq!((e.step, e.wall_time, e.file_version), (7, 12.5, None));
    let img = parse(bytes(one(&e.values[0].1, 4)));
    assert_eq!(one(&img, 1), &Field::Varint(5));
    assert_eq!(one(&img, 2), &Field::Varint(300));
    assert_eq!(one(&img, 3), &Field::Varint(1));
    assert_eq!(bytes(one(&img, 4)), png);
    let h = parse(bytes(one(&e.values[1].1, 5)));
    let stats: Vec<f64> = (1..=5).map(|k| f64_of(one(&h, k))).collect();
    assert_eq!(stats, [0.0, 3.0, 4.0, 5.0, 11.0]); // min, max, num, sum, sum of squares
    assert_eq!(packed_f64(one(&h, 6)), [1.0, 2.0, 3.0]);
    assert_eq!(packed_f64(one(&h, 7)), [1.0, 2.0, 1.0]);
}

/// A text summary is what the text plugin reads: plugin name "text" in the metadata and a
/// scalar DT_STRING tensor holding the text.
#[test]
fn text_is_a_string_tensor_for_the_text_plugin() {
    let e = event(&encode_event(
        0.0,
        1,
        &[("config".into(), Value::Text("seed = 1\n".into()))],
    ));
    let v = &e.values[0].1;
    let meta = parse(bytes(one(v, 9)));
    let plugin = parse(bytes(one(&meta, 1)));
    assert_eq!(bytes(one(&plugin, 1)), b"text");
    let tensor = parse(bytes(one(v, 8)));
    assert_eq!(one(&tensor, 1), &Field::Varint(7));
    assert_eq!(one(&tensor, 2), &Field::Bytes(Vec::new()));
    assert_eq!(bytes(one(&tensor, 8)), b"seed = 1\n");
}

/// Every number of an epoch record has its documented tag (a field left out or misnamed
/// would silently vanish from the dashboard).
#[test]
fn every_number_of_an_epoch_has_its_tag() {
    use crate::diagnostics::{HeldOutInference, LayerStats};
    use crate::eval::inference_curve::TermCurve;
    let curve = |name: &str, v: &[f64]| TermCurve {
        name: name.into(),
        mean: v.to_vec(),
    };
    let m = EpochMetrics {
        epoch: 3,
        seconds: 1.5,
        lr: 0.01,
        loss_decoder: vec![10.0, 2.0],
        loss_encoder: vec![3.0, 4.0],
        log_pxh_before: -20.0,
        log_pxh_after: -19.0,
        recon: vec![5.0, 6.0],
        layers: vec![
            LayerStats {
                mean_abs: 0.7,
                spread: 0.2,
                saturation: None,
            },
            LayerStats {
                mean_abs: 0.5,
                spread: 0.1,
                saturation: Some(0.05),
            },
        ],
        minibatches: 6,
        heldout: Some(HeldOutInference {
            examples: 40,
            log_pxh: vec![-30.0, -29.0, -28.0],
            log_pxh_se: vec![1.0, 0.9, 0.8],
            terms: vec![curve("log p(x|h1)", &[-9.0, -8.0, -7.0])],
            alignment: vec![curve("h1", &[0.1, 0.3])],
        }),
        train_error: Some(0.25),
        validation: Some(crate::diagnostics::ValidationErrors {
            examples: 40,
            feedforward: 0.125,
            after_inference: 0.1,
        }),
    };
    let got = epoch_scalars(&m);
    let want: Vec<(&str, f64)> = vec![
        ("train/seconds", 1.5),
        ("train/lr", 0.01),
        ("train/minibatches", 6.0),
        ("log_pxh/before", -20.0),
        ("log_pxh/after", -19.0),
        ("loss/decoder1", 10.0),
        ("loss/decoder2", 2.0),
        ("loss/encoder1", 3.0),
        ("loss/encoder2", 4.0),
        ("recon/x", 5.0),
        ("recon/h1", 6.0),
        ("h1/mean_abs", 0.7),
        ("h1/spread", 0.2),
        ("h2/mean_abs", 0.5),
        ("h2/spread", 0.1),
        ("h2/saturation", 0.05),
        ("heldout/examples", 40.0),
        ("heldout/log_pxh/start", -30.0),
        ("heldout/log_pxh/end", -28.0),
        ("heldout/log_pxh_se/start", 1.0),
        ("heldout/log_pxh_se/end", 0.8),
        ("heldout/log_p(x|h1)/start", -9.0),
        ("heldout/log_p(x|h1)/end", -7.0),
        ("heldout/cosine_h1/start", 0.1),
        ("heldout/cosine_h1/end", 0.3),
        ("error/train", 0.25),
        ("error/validation_feedforward", 0.125),
        ("error/validation_inferred", 0.1),
        ("error/validation_examples", 40.0),
    ];
    let got: Vec<(&str, f64)> = got.iter().map(|(t, v)| (t.as_str(), *v)).collect();
    assert_eq!(got, want);
}

/// 8×8 "images": blobs at random places, in [0, 1].
fn blobs(n: usize, seed: u64) -> Matrix {
    use rand::RngExt;
    let mut rng = crate::rng::Seed(seed).stream("blobs");
    let mut x = Matrix::zeros((n, 64));
    for mut row in x.rows_mut() {
        let (cy, cx) = (rng.random_range(1.0f32..7.0), rng.random_range(1.0f32..7.0));
        for (p, v) in row.iter_mut().enumerate() {
            let (y, x) = ((p / 8) as f32, (p % 8) as f32);
            *v = (-((y - cy).powi(2) + (x - cx).powi(2)) / 4.0).exp();
        }
    }
    x
}

fn small_config(epochs: usize) -> Config {
    let mut c = Config::default();
    c.model.layers = vec![
        LayerConfig::new(
            12,
            Activation::Softplus,
            Activation::Sigmoid,
            CorruptionConfig::Gaussian { std: 0.3 },
        ),
        LayerConfig::new(
            4,
            Activation::Sigmoid,
            Activation::Softplus,
            CorruptionConfig::Spikes { samples: 3 },
        ),
    ];
    c.train.batch_size = 20;
    c.train.epochs = epochs;
    c.train.heldout_examples = 30;
    c.inference.steps = 3;
    c
}

fn provenance() -> Provenance {
    Provenance {
        bpdl_version: "test".into(),
        git_commit: "test".into(),
        command: "test".into(),
    }
}

fn event_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A training run's event file holds, per epoch (step = epoch), every scalar equal to its
/// `metrics.jsonl` value as f32, the histograms of the held-out codes (one entry per example
/// and unit) and a PNG grid of 64 samples; a resumed run adds a second file whose steps go on.
#[test]
fn training_writes_what_metrics_jsonl_holds_and_a_resumed_run_goes_on_in_a_new_file() {
    let dev = Device::cpu(1).unwrap();
    let (train, heldout) = (blobs(80, 1), blobs(30, 2));
    let data = TrainingData::from_arrays(train.view(), Some(heldout.view())).unwrap();
    let run = tempfile::tempdir().unwrap();
    let tb = run.path().join("tb");
    let c = small_config(2);
    train_in_dir(
        &dev,
        &c,
        &data,
        run.path(),
        &provenance(),
        Existing::Continue,
        &mut (),
    )
    .unwrap();
    let files = event_files(&tb);
    assert_eq!(files.len(), 1, "{files:?}");
    let events = read_events(&files[0]);
    let metrics = read_metrics(run.path()).unwrap();
    // file version, config text, epoch 1, epoch 2
    assert_eq!(events.len(), 4);
    assert_eq!(events[1].values[0].0, "config");
    let steps: Vec<u64> = events[2..].iter().map(|e| e.step).collect();
    assert_eq!(steps, [1, 2]);
    for (e, m) in events[2..].iter().zip(&metrics) {
        let want = epoch_scalars(m);
        let scalars: Vec<(String, f32)> = e
            .values
            .iter()
            .filter(|(_, v)| v.iter().any(|(k, _)| *k == 2))
            .map(|(t, v)| (t.clone(), scalar(v)))
            .collect();
        assert_eq!(scalars.len(), want.len());
        for ((t, v), (wt, wv)) in scalars.iter().zip(&want) {
            assert_eq!(t, wt);
            assert_eq!(v.to_bits(), (*wv as f32).to_bits(), "{t}");
        }
        for (l, units) in [(1, 12.0), (2, 4.0)] {
            let (_, v) = e
                .values
                .iter()
                .find(|(t, _)| *t == format!("codes/h{l}"))
                .unwrap();
            let h = parse(bytes(one(v, 5)));
            assert_eq!(f64_of(one(&h, 3)), 30.0 * units);
            assert_eq!(packed_f64(one(&h, 7)).iter().sum::<f64>(), 30.0 * units);
        }
        #[cfg(feature = "report")]
        {
            let (_, v) = e
                .values
                .iter()
                .find(|(t, _)| t == "generate/samples")
                .unwrap();
            let img = parse(bytes(one(v, 4)));
            // 8 columns of 8×8 pixels magnified 7×, 2-pixel gaps: 8·58 + 2
            assert_eq!(one(&img, 1), &Field::Varint(466));
            assert_eq!(one(&img, 2), &Field::Varint(466));
            assert!(bytes(one(&img, 4)).starts_with(b"\x89PNG"));
        }
    }
    // resumed for a third epoch: a new file with step 3 only
    train_in_dir(
        &dev,
        &small_config(3),
        &data,
        run.path(),
        &provenance(),
        Existing::Continue,
        &mut (),
    )
    .unwrap();
    let files = event_files(&tb);
    assert_eq!(files.len(), 2, "{files:?}");
    let steps: Vec<u64> = files
        .iter()
        .flat_map(|f| read_events(f).into_iter().skip(2).map(|e| e.step))
        .collect();
    assert_eq!(steps, [1, 2, 3]);
    assert!(run.path().join(checkpoint::FILE_NAME).exists());
}

/// `train.tensorboard = false` writes no `tb/`; held-out images absent: scalars only.
#[test]
fn the_switch_and_missing_heldout_images_are_respected() {
    let dev = Device::cpu(1).unwrap();
    let train = blobs(40, 1);
    let data = TrainingData::from_arrays(train.view(), None).unwrap();
    let mut c = small_config(1);
    c.train.tensorboard = false;
    let off = tempfile::tempdir().unwrap();
    train_in_dir(
        &dev,
        &c,
        &data,
        off.path(),
        &provenance(),
        Existing::Continue,
        &mut (),
    )
    .unwrap();
    assert!(!off.path().join("tb").exists());
    c.train.tensorboard = true;
    let on = tempfile::tempdir().unwrap();
    train_in_dir(
        &dev,
        &c,
        &data,
        on.path(),
        &provenance(),
        Existing::Continue,
        &mut (),
    )
    .unwrap();
    let files = event_files(&on.path().join("tb"));
    let events = read_events(&files[0]);
    let tags: Vec<&str> = events[2].values.iter().map(|(t, _)| t.as_str()).collect();
    assert!(tags.contains(&"loss/decoder1"), "{tags:?}");
    assert!(
        !tags
            .iter()
            .any(|t| t.starts_with("codes/") || t.starts_with("generate/")),
        "{tags:?}"
    );
}

/// A `tb` path that cannot be a folder fails with an I/O error naming it, after the epoch's
/// metrics and checkpoint are saved.
#[test]
fn an_unwritable_tb_folder_is_named_and_loses_nothing_saved() {
    let dev = Device::cpu(1).unwrap();
    let train = blobs(40, 1);
    let data = TrainingData::from_arrays(train.view(), None).unwrap();
    let run = tempfile::tempdir().unwrap();
    std::fs::write(run.path().join("tb"), b"a file, not a folder").unwrap();
    let err = train_in_dir(
        &dev,
        &small_config(2),
        &data,
        run.path(),
        &provenance(),
        Existing::Continue,
        &mut (),
    )
    .unwrap_err();
    match &err {
        Error::Io { path, .. } => assert!(path.ends_with("tb"), "{err}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(read_metrics(run.path()).unwrap().len(), 1);
    let (state, _) = checkpoint::load(&run.path().join(checkpoint::FILE_NAME)).unwrap();
    assert_eq!(state.epochs_done, 1);
}
