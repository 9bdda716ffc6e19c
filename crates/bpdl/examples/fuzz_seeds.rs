//! Writes the synthetic seeds of the fuzzing corpus (`fuzz/corpus/<target>/`): tiny valid files
//! of every format bpdl reads, written by bpdl itself, and small hand-made corrupt ones. The
//! real files of the corpus (cut from the MNIST files and from a tiny training run) are
//! described in `fuzz/README.md`; `tests/fuzz_regressions.rs` checks that the valid seeds load.
//!
//! ```text
//! cargo run -p bpdl --example fuzz_seeds -- fuzz/corpus
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use bpdl::config::{self, Config, LayerConfig, Optimizer};
use bpdl::data::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode};
use bpdl::model::TopPrior;
use bpdl::model::lateral::{Conditional, LateralPrior};
use bpdl::spiking::StdpConfig;
use bpdl::tensor_file::TensorWriter;
use bpdl::train::TrainState;
use ndarray::{Array1, Array2};

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A 4 → 3 → 2 model: tiny, but every tensor a real checkpoint has.
fn tiny_config(optimizer: Optimizer) -> Config {
    let mut c = Config::default();
    c.model.layers = vec![
        LayerConfig {
            size: 3,
            ..c.model.layers[0].clone()
        },
        LayerConfig {
            size: 2,
            ..c.model.layers[1].clone()
        },
    ];
    c.learning.optimizer = optimizer;
    c
}

fn checkpoint(state: &TrainState, config: &Config) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    bpdl::checkpoint::save(&p, state, config).unwrap();
    std::fs::read(p).unwrap()
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );

    // IDX: valid images and labels, a pair (first byte = the label count, see the target), and
    // corrupt headers
    let pixels: Vec<u8> = (0..2 * 3 * 3).map(|i| (i * 13) as u8).collect();
    let images = encode(IMAGES_MAGIC, &[2, 3, 3], &pixels);
    let labels = encode(LABELS_MAGIC, &[2], &[7, 1]);
    let mut pair = vec![2u8];
    pair.extend(&images);
    pair.extend(&labels);
    let claims_1e12 = encode(IMAGES_MAGIC, &[10_000, 10_000, 10_000], &[0; 8]);
    let zero_dim = encode(IMAGES_MAGIC, &[2, 0, 3], &[]);
    for (name, bytes) in [
        ("valid-images-2x3x3", &images),
        ("valid-labels-2", &labels),
        ("pair-2-images-2-labels", &pair),
        ("claims-1e12-elements", &claims_1e12),
        ("zero-dimension", &zero_dim),
    ] {
        put(&dir, "idx", name, bytes);
        put(&dir, "idx_gz", &format!("{name}.gz"), &gz(bytes));
    }
    put(&dir, "idx", "header-cut-short", &images[..10]);
    // a small gzip bomb: a labels header announcing 10 bytes, then 256 KiB of zeros
    let mut bomb = encode(LABELS_MAGIC, &[10], &[0; 10]);
    bomb.extend(vec![0u8; 256 << 10]);
    put(&dir, "idx_gz", "bomb-256k", &gz(&bomb));
    let g = gz(&images);
    put(&dir, "idx_gz", "truncated-stream", &g[..g.len() - 6]);

    // configs: the defaults as a run writes them, and a few broken files
    let c = config::to_toml_string(&Config::default()).unwrap();
    put(&dir, "config_toml", "valid-default.toml", c.as_bytes());
    let s = config::to_toml_string(&StdpConfig::default()).unwrap();
    put(&dir, "config_toml", "valid-stdp.toml", s.as_bytes());
    put(
        &dir,
        "config_toml",
        "layers.toml",
        b"seed = 3\n[[model.layers]]\nsize = 10\n[[model.layers]]\nsize = 5\n[train]\nepochs = 2\n",
    );
    put(
        &dir,
        "config_toml",
        "unknown-key.toml",
        b"[train]\nepoch = 2\n",
    );
    put(
        &dir,
        "config_toml",
        "bad-syntax.toml",
        "[train\népochs = \"2\n".as_bytes(),
    );
    for (name, text) in [
        (
            "valid-learner",
            "train.epochs=3\nmodel.layers[1].size=200\nlearning.optimizer=adam\ninference.delta=0.05\n",
        ),
        ("valid-stdp", "trials=1000\nseed=4\n"),
        (
            "valid-list",
            "model.layers=[{size = 4}, {size = 2}]\ngenerate.alpha=0.3\n",
        ),
        (
            "bad",
            "train.epoch=3\nmodel.layers[9].size=1\n=\nx\nseed=-1\nmodel..size=2\nmodel.layers[.size=1\n",
        ),
    ] {
        put(&dir, "config_override", name, text.as_bytes());
    }

    // checkpoints of a 4 → 3 → 2 model: fresh (SGD), with a diagonal, a full and a lateral
    // top prior, and with Adam's moments
    let sgd = tiny_config(Optimizer::Sgd);
    let mut state = TrainState::new(&sgd, 4);
    put(&dir, "checkpoint", "valid-fresh", &checkpoint(&state, &sgd));
    let n = 2;
    state.model.top_prior = Some(TopPrior {
        mean: Array1::from(vec![0.5, -0.25]),
        var: Array1::from(vec![1.0, 2.0]),
        factor: None,
        lateral: None,
    });
    state.epochs_done = 3;
    put(
        &dir,
        "checkpoint",
        "valid-diagonal-prior",
        &checkpoint(&state, &sgd),
    );
    if let Some(p) = state.model.top_prior.as_mut() {
        p.factor = Some(Array2::from_shape_vec((n, n), vec![1.0, 0.0, 0.5, 1.5]).unwrap());
    }
    put(
        &dir,
        "checkpoint",
        "valid-full-prior",
        &checkpoint(&state, &sgd),
    );
    if let Some(p) = state.model.top_prior.as_mut() {
        p.factor = None;
        let mut lat = LateralPrior::new(Conditional::Sigmoid, n, 5);
        lat.weight[[0, 1]] = 0.3;
        lat.weight[[1, 0]] = -0.2;
        p.lateral = Some(lat);
    }
    put(
        &dir,
        "checkpoint",
        "valid-lateral-prior",
        &checkpoint(&state, &sgd),
    );
    let adam = tiny_config(Optimizer::Adam);
    let state = TrainState::new(&adam, 4);
    put(&dir, "checkpoint", "valid-adam", &checkpoint(&state, &adam));

    // samples files: 3 samples of 4 pixels, as `bpdl sample` writes them, and a safetensors
    // header announcing 10^12 elements with no data behind it
    let mut w = TensorWriter::new();
    w.matrix(
        "samples",
        Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 / 12.0).view(),
    );
    w.meta("method", "generate");
    w.meta("seed", "1");
    put(&dir, "samples_file", "valid-3x4", &w.to_bytes().unwrap());
    put(
        &dir,
        "samples_file",
        "claims-1e12-elements",
        &safetensors_claiming_1e12(),
    );
    put(
        &dir,
        "checkpoint",
        "claims-1e12-elements",
        &safetensors_claiming_1e12(),
    );
}

/// A safetensors file whose header announces a `[10^6, 10^6]` F32 tensor and holds no data.
fn safetensors_claiming_1e12() -> Vec<u8> {
    let header = br#"{"samples":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out
}
