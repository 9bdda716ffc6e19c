//! Oracle: the formats' own rules, and a counting allocator. Every parser a user can feed
//! (IDX files raw and gzipped, safetensors checkpoints and samples files, the TOML config, the
//! run folder's JSON) must answer a corrupt file with an error naming it, never a panic, and
//! must never allocate what a header merely claims: a header announcing 10¹² elements is
//! refused before anything of that size is requested. The fuzzing campaign (`fuzz/run.sh`)
//! looks for counter-examples; each one it found is pinned here with its minimised input.
//!
//! The allocator records, per thread, the largest single request made inside [`largest`];
//! the parsers are single-threaded, so that is everything they asked for. It refuses any
//! request over 1 GiB outright (the process aborts), so a regression fails fast instead of
//! paging a terabyte in.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};

use bpdl::Error;
use bpdl::data::idx::{self, IMAGES_MAGIC, Idx, LABELS_MAGIC, MAX_PAYLOAD_BYTES, encode};
use bpdl::tensor_file::{TensorReader, TensorWriter};

struct Recording;

thread_local! {
    static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
}

fn record(size: usize) {
    // `try_with`: the thread-local may already be gone while a thread exits
    let _ = LARGEST.try_with(|l| {
        if let Some(m) = l.get() {
            l.set(Some(m.max(size)));
        }
    });
}

/// No parser in these tests may ask for more than this at once.
const REFUSED_ABOVE: usize = 1 << 30;

// SAFETY: delegates to the system allocator; only records sizes (and answers null, which the
// caller must handle anyway, above `REFUSED_ABOVE`).
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        if layout.size() > REFUSED_ABOVE {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        if layout.size() > REFUSED_ABOVE {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        if new_size > REFUSED_ABOVE {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
fn largest<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(Some(0)));
    let out = f();
    let most = LARGEST.with(|l| l.replace(None)).unwrap_or(0);
    (out, most)
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn p(name: &str) -> PathBuf {
    PathBuf::from(name)
}

const KIB: usize = 1 << 10;

/// An IDX header announcing 10 000³ = 10¹² bytes, followed by 8 bytes: refused as corrupt
/// (more than bpdl accepts) with almost nothing allocated, raw and gzipped. A parser that
/// reserved what the header announces would ask for a terabyte here.
#[test]
fn an_idx_header_claiming_1e12_elements_is_refused_before_allocating() {
    let bytes = encode(IMAGES_MAGIC, &[10_000, 10_000, 10_000], &[0; 8]);
    let (raw, most_raw) = largest(|| Idx::parse(&p("a.idx"), &bytes, IMAGES_MAGIC, "images"));
    let packed = gz(&bytes);
    let (gzipped, most_gz) =
        largest(|| Idx::parse_gz(&p("a.idx.gz"), &packed, IMAGES_MAGIC, "images"));
    for (err, most) in [
        (raw.unwrap_err(), most_raw),
        (gzipped.unwrap_err(), most_gz),
    ] {
        let msg = err.to_string();
        assert!(
            matches!(err, Error::BadFile { .. }) && msg.contains("announce more than"),
            "{msg}"
        );
        assert!(
            most < 64 * KIB,
            "allocated {most} bytes for a refused header"
        );
    }
}

/// The largest payload accepted is [`MAX_PAYLOAD_BYTES`]; one byte more is refused by the
/// header alone (here a labels file, whose payload is its count).
#[test]
fn the_payload_limit_is_exact() {
    let at = u32::try_from(MAX_PAYLOAD_BYTES).unwrap();
    let at_limit = encode(LABELS_MAGIC, &[at], &[]);
    assert!(matches!(
        Idx::parse(&p("l.idx"), &at_limit, LABELS_MAGIC, "labels"),
        Err(Error::BadLength { .. })
    ));
    let over = encode(LABELS_MAGIC, &[at + 1], &[]);
    assert!(matches!(
        Idx::parse(&p("l.idx"), &over, LABELS_MAGIC, "labels"),
        Err(Error::BadFile { .. })
    ));
}

/// A gzip bomb: a labels header announcing 10 bytes, then 64 MiB of zeros (64 KiB gzipped).
/// Decompression stops one byte after the announced length, so the buffer never grows past a
/// few bytes; before, `read_maybe_gz` gunzipped all of it (and all of a 10 GB bomb).
#[test]
fn a_gzip_bomb_is_refused_after_the_announced_length() {
    let mut bomb = encode(LABELS_MAGIC, &[10], &[0; 10]);
    bomb.resize(64 << 20, 0);
    let packed = gz(&bomb);
    drop(bomb);
    let (r, most) = largest(|| Idx::parse_gz(&p("l.gz"), &packed, LABELS_MAGIC, "labels"));
    match r {
        Err(Error::BadLength {
            expected, found, ..
        }) => assert_eq!((expected, found), (10, 11)),
        other => panic!("expected BadLength, got {other:?}"),
    }
    assert!(
        most < 64 * KIB,
        "allocated {most} bytes for a 10-byte payload"
    );
    // and without a header to go by, `gunzip`'s own limit holds
    let (r, most) = largest(|| idx::gunzip(&p("l.gz"), &packed, 1 << 20));
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("more than 1048576 bytes")
    );
    assert!(
        most <= 4 << 20,
        "allocated {most} bytes under a 1 MiB limit"
    );
}

/// The gzipped path decodes exactly what the raw path decodes (and names the file).
#[test]
fn gzipped_and_raw_idx_files_decode_alike() {
    let pixels: Vec<u8> = (0..24).collect();
    let bytes = encode(IMAGES_MAGIC, &[2, 3, 4], &pixels);
    let raw = Idx::parse(&p("x"), &bytes, IMAGES_MAGIC, "images").unwrap();
    let from_gz = Idx::from_file_bytes(&p("x"), &bytes, IMAGES_MAGIC, "images").unwrap();
    let unzipped = Idx::from_file_bytes(&p("x.gz"), &gz(&bytes), IMAGES_MAGIC, "images").unwrap();
    assert_eq!(
        (raw.dims.clone(), raw.data.clone()),
        (unzipped.dims, unzipped.data)
    );
    assert_eq!(raw, from_gz);
    // one trailing byte after the payload, gzipped: too long, not silently cut
    let mut long = bytes.clone();
    long.push(0);
    let err = Idx::parse_gz(&p("long.gz"), &gz(&long), IMAGES_MAGIC, "images").unwrap_err();
    assert!(err.to_string().contains("long.gz"), "{err}");
}

/// A safetensors header announcing a `[10^6, 10^6]` tensor with no data behind it: refused
/// when the file is opened, before any tensor is read.
#[test]
fn a_safetensors_header_claiming_1e12_elements_is_refused_before_allocating() {
    let header = br#"{"samples":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header);
    let (r, most) = largest(|| TensorReader::from_bytes(&p("s.safetensors"), file.clone()));
    let err = r.unwrap_err();
    assert!(err.to_string().contains("s.safetensors"), "{err}");
    assert!(most < 64 * KIB, "allocated {most} bytes");
}

fn tiny_checkpoint(dir: &Path) -> PathBuf {
    let mut c = bpdl::Config::default();
    c.model.layers[0].size = 3;
    c.model.layers[1].size = 2;
    let state = bpdl::train::TrainState::new(&c, 4);
    let path = dir.join("checkpoint.safetensors");
    bpdl::checkpoint::save(&path, &state, &c).unwrap();
    path
}

/// A checkpoint whose metadata (config and `sizes`) announces a 784 → 10⁶ → 10⁶ model while
/// its tensors are those of a 4 → 3 → 2 one. `load` built the model from the metadata before
/// reading a tensor: 4 TB of weights requested (found by reading `load` while writing the
/// `checkpoint` fuzz target; without the fix this test aborts). Now every tensor's shape is
/// checked first.
#[test]
fn a_checkpoint_announcing_a_huge_model_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let good = TensorReader::open(&tiny_checkpoint(dir.path())).unwrap();
    let mut config = bpdl::Config::default();
    config.model.layers[0].size = 1_000_000;
    config.model.layers[1].size = 1_000_000;
    let mut w = TensorWriter::new();
    for name in ["f1", "g1", "f2", "g2"] {
        w.matrix(
            format!("{name}.weight"),
            good.matrix(&format!("{name}.weight"), None).unwrap().view(),
        );
        w.vector(
            format!("{name}.bias"),
            good.vector(&format!("{name}.bias"), None).unwrap().view(),
        );
        w.meta(format!("opt.{name}.step"), "0");
    }
    w.meta("format", bpdl::checkpoint::FORMAT);
    w.meta("config", bpdl::config::to_toml_string(&config).unwrap());
    w.meta("sizes", "784,1000000,1000000");
    w.meta("epochs_done", "0");
    w.meta("rng", good.meta("rng").unwrap_or("{}"));
    let bytes = w.to_bytes().unwrap();
    let (r, most) = largest(|| bpdl::checkpoint::from_bytes(&p("huge.safetensors"), bytes));
    let err = r.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("huge.safetensors") && msg.contains("f1.weight"),
        "{msg}"
    );
    assert!(most < 4 << 20, "allocated {most} bytes");
}

/// The valid seeds of the fuzzing corpus load: the campaign starts from files this version of
/// bpdl reads, not from ones an old format left behind.
#[test]
fn the_valid_seeds_of_the_fuzzing_corpus_load() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let valid = |target: &str| -> Vec<(PathBuf, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(corpus.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|f| {
                let name = f.file_name().unwrap().to_string_lossy();
                name.starts_with("valid-") || name.starts_with("real-")
            })
            .map(|f| {
                let bytes = std::fs::read(&f).unwrap();
                (f, bytes)
            })
            .collect();
        out.sort();
        assert!(!out.is_empty(), "no valid seeds for {target}");
        out
    };
    for (f, bytes) in valid("checkpoint") {
        bpdl::checkpoint::from_bytes(&f, bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    for (f, bytes) in valid("samples_file") {
        let r = TensorReader::from_bytes(&f, bytes).unwrap();
        r.matrix("samples", None).unwrap_or_else(|e| panic!("{e}"));
    }
    for (f, bytes) in valid("config_toml") {
        let text = String::from_utf8(bytes).unwrap();
        let learner =
            bpdl::config::resolve_from_text(&bpdl::Config::default(), Some((&f, &text)), &[]);
        let stdp = bpdl::config::resolve_from_text(
            &bpdl::spiking::StdpConfig::default(),
            Some((&f, &text)),
            &[],
        );
        assert!(
            learner.is_ok() || stdp.is_ok(),
            "{}: {learner:?}",
            f.display()
        );
    }
    for (f, bytes) in valid("metrics_jsonl") {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!bpdl::run::parse_metrics(&f, &text).unwrap().is_empty());
    }
    for (f, bytes) in valid("run_json") {
        bpdl::run::parse_info(&f, &String::from_utf8(bytes).unwrap()).unwrap();
    }
    for (f, bytes) in valid("results_json") {
        serde_json::from_slice::<bpdl::reproduce::Results>(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    for (f, bytes) in valid("idx_gz") {
        Idx::parse_gz(&f, &bytes, IMAGES_MAGIC, "images")
            .or_else(|_| Idx::parse_gz(&f, &bytes, LABELS_MAGIC, "labels"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (f, bytes) in valid("idx") {
        Idx::parse(&f, &bytes, IMAGES_MAGIC, "images")
            .or_else(|_| Idx::parse(&f, &bytes, LABELS_MAGIC, "labels"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
