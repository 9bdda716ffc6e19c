//! Oracle: bytes written by the tests themselves. A good tiny dataset loads with the exact pixel
//! values and split sizes; every kind of damage gives an error that names the file and the
//! problem (never a panic). Without these, a corrupt download would silently train on garbage.

use std::io::Write;
use std::path::Path;

use bpdl::Error;
use bpdl::data::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode};
use bpdl::data::{Dataset, Mnist};

const TRAIN_N: u32 = 12;
const TEST_N: u32 = 3;

fn image_bytes(n: u32) -> Vec<u8> {
    (0..n * 4).map(|i| (i * 17 % 256) as u8).collect()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a valid 2×2-pixel dataset (12 training, 3 test images), gzipped like the official one.
fn write_good(dir: &Path) {
    let files = [
        (
            "train-images-idx3-ubyte.gz",
            encode(IMAGES_MAGIC, &[TRAIN_N, 2, 2], &image_bytes(TRAIN_N)),
        ),
        (
            "train-labels-idx1-ubyte.gz",
            encode(
                LABELS_MAGIC,
                &[TRAIN_N],
                &(0..TRAIN_N as u8).collect::<Vec<_>>(),
            ),
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            encode(IMAGES_MAGIC, &[TEST_N, 2, 2], &image_bytes(TEST_N)),
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            encode(LABELS_MAGIC, &[TEST_N], &[7, 8, 9]),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), gz(&bytes)).unwrap();
    }
}

fn load(dir: &Path) -> bpdl::Result<Mnist> {
    Mnist::load_with_validation(Dataset::Mnist, dir, 2)
}

#[test]
fn a_good_dataset_loads_with_exact_pixels_and_split_sizes() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let m = load(dir.path()).unwrap();
    assert_eq!(
        (m.train.len(), m.validation.len(), m.test.len()),
        (10, 2, 3)
    );
    assert_eq!(m.image_shape, (2, 2));
    // pixel (example 1, index 2) = byte 6 of the payload = 6·17 = 102 → 102/255
    assert_eq!(m.train.images[[1, 2]], 102.0 / 255.0);
    // validation = the last two training images (labels 10, 11)
    assert_eq!(m.validation.labels, vec![10, 11]);
    assert_eq!(m.test.labels, vec![7, 8, 9]);
}

#[test]
fn gunzipped_files_are_read_as_well() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let gzpath = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let raw = bpdl::data::idx::read_maybe_gz(&gzpath).unwrap();
    std::fs::remove_file(&gzpath).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), raw).unwrap();
    assert_eq!(load(dir.path()).unwrap().test.labels, vec![7, 8, 9]);
}

fn assert_names_file(err: &Error, file: &str) {
    let msg = err.to_string();
    assert!(msg.contains(file), "error does not name {file}: {msg}");
}

#[test]
fn a_wrong_magic_number_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let bytes = encode(LABELS_MAGIC, &[TEST_N], &[0; 3]);
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz(&bytes)).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err}");
    assert_names_file(&err, "t10k-images-idx3-ubyte.gz");
}

#[test]
fn a_truncated_payload_names_the_file_and_both_lengths() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let mut bytes = encode(IMAGES_MAGIC, &[TRAIN_N, 2, 2], &image_bytes(TRAIN_N));
    bytes.truncate(bytes.len() - 5);
    std::fs::write(dir.path().join("train-images-idx3-ubyte.gz"), gz(&bytes)).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadLength {
                expected: 48,
                found: 43,
                ..
            }
        ),
        "{err}"
    );
    assert_names_file(&err, "train-images-idx3-ubyte.gz");
}

#[test]
fn a_truncated_gzip_stream_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let p = dir.path().join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert_names_file(&err, "train-images-idx3-ubyte.gz");
}

#[test]
fn image_and_label_counts_that_differ_are_an_error_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let bytes = encode(LABELS_MAGIC, &[TEST_N + 1], &[1, 2, 3, 4]);
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), gz(&bytes)).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }), "{err}");
    assert_names_file(&err, "t10k-images-idx3-ubyte.gz");
    assert_names_file(&err, "t10k-labels-idx1-ubyte.gz");
    assert!(err.to_string().contains("3 images but 4 labels"), "{err}");
}

#[test]
fn a_gz_file_that_is_not_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let raw = encode(LABELS_MAGIC, &[TEST_N], &[7, 8, 9]);
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), raw).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert_names_file(&err, "t10k-labels-idx1-ubyte.gz");
    assert!(err.to_string().contains("not a gzip file"), "{err}");
}

#[test]
fn a_missing_file_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    std::fs::remove_file(dir.path().join("train-labels-idx1-ubyte.gz")).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert_names_file(&err, "train-labels-idx1-ubyte.gz");
    // what to do, in the library's terms (the CLI adds its own command as a hint)
    assert!(err.to_string().contains("put the four official"), "{err}");
}

#[test]
fn a_missing_or_non_directory_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = load(&missing).unwrap_err();
    assert_names_file(&err, "nope");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = load(&file).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_an_error_not_a_panic() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("locked");
    std::fs::create_dir(&sub).unwrap();
    write_good(&sub);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o000)).unwrap();
    let privileged = std::fs::read_dir(&sub).is_ok();
    let result = load(&sub);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    if privileged {
        // root ignores permission bits: the load must simply succeed.
        assert!(result.is_ok());
    } else {
        let err = result.unwrap_err();
        assert_names_file(&err, "locked");
    }
}

#[test]
fn too_few_training_images_for_the_validation_split_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_good(dir.path());
    let err = Mnist::load_with_validation(Dataset::Mnist, dir.path(), 12).unwrap_err();
    assert!(err.to_string().contains("12 training images"), "{err}");
}

/// The real files, when present (CI has `../shared/data/mnist`): the standard split sizes and the
/// official MD5s.
#[test]
fn the_official_mnist_has_the_standard_split_and_md5s() {
    let Some(dir) = real_mnist_dir() else {
        eprintln!("skipped: no MNIST folder (set BPDL_DATA_DIR)");
        return;
    };
    let m = Mnist::load(Dataset::Mnist, &dir).unwrap();
    assert_eq!(
        (m.train.len(), m.validation.len(), m.test.len()),
        (50_000, 10_000, 10_000)
    );
    assert_eq!(m.pixels(), 784);
    let paths = bpdl::data::mnist::find_files(Dataset::Mnist, &dir).unwrap();
    for (f, p) in Dataset::Mnist.files().iter().zip(paths.iter()) {
        if p.extension().is_some_and(|e| e == "gz") {
            assert_eq!(
                bpdl::data::mnist::md5_file(p).unwrap(),
                f.md5,
                "{}",
                p.display()
            );
        }
    }
    // labels are digits; every class present in every split
    for s in [&m.train, &m.validation, &m.test] {
        let mut seen = [false; 10];
        for &l in &s.labels {
            seen[usize::from(l)] = true;
        }
        assert!(seen.iter().all(|&b| b));
    }
}

/// `BPDL_DATA_DIR` pointing at MNIST must not be taken for Fashion-MNIST: the official MNIST
/// labels file is recognised as the other dataset's.
#[test]
fn an_mnist_folder_is_recognised_as_not_fashion_mnist() {
    let Some(dir) = real_mnist_dir() else {
        eprintln!("skipped: no MNIST folder (set BPDL_DATA_DIR)");
        return;
    };
    use bpdl::data::mnist::holds_another_dataset;
    assert_eq!(
        holds_another_dataset(Dataset::FashionMnist, &dir),
        Some(Dataset::Mnist)
    );
    assert_eq!(holds_another_dataset(Dataset::Mnist, &dir), None);
}

fn real_mnist_dir() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("BPDL_DATA_DIR").map(std::path::PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| bpdl::data::mnist::find_files(Dataset::Mnist, d).is_ok())
}
