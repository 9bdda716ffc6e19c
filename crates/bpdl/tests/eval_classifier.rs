//! The evaluation classifier of the sample-quality measures, trained on the real datasets: it
//! must reach its accuracy target (98 % on MNIST, 88 % on Fashion-MNIST) on the test split, or
//! every FID, Inception score and precision/recall would be measured in an untrustworthy space.
//!
//! MNIST comes from `$BPDL_DATA_DIR` (set by `.ci/run`) or `../shared/data/mnist`;
//! Fashion-MNIST from `$BPDL_FASHION_DIR` or `/usr/share/datasets/fashion-mnist` (the Debian
//! package `dataset-fashion-mnist`). A missing dataset fails these tests: they do not skip.

use std::path::{Path, PathBuf};

use bpdl::Device;
use bpdl::data::{Dataset, Mnist};
use bpdl::eval::classifier::{load_or_train, target_accuracy};
use bpdl::eval::quality::{score, select_rows};

fn mnist_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("BPDL_DATA_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| bpdl::data::mnist::find_files(Dataset::Mnist, d).is_ok())
        .expect("MNIST is missing: set BPDL_DATA_DIR to the folder of the four official files")
}

fn fashion_dir() -> PathBuf {
    let dir = std::env::var_os("BPDL_FASHION_DIR").map_or_else(
        || PathBuf::from("/usr/share/datasets/fashion-mnist"),
        PathBuf::from,
    );
    if let Err(e) = bpdl::data::mnist::find_files(Dataset::FashionMnist, &dir) {
        panic!(
            "Fashion-MNIST is missing ({e}): `apt-get install dataset-fashion-mnist`, or set \
             BPDL_FASHION_DIR"
        );
    }
    dir
}

/// Trains in a fresh cache folder (so the training itself is tested), checks the target, then
/// checks a property of the trained feature space that mathematics fixes: 2,000 test images
/// scored against themselves give FID 0 and precision = recall = 1.
fn trains_to_its_target(dataset: Dataset, dir: &Path) {
    let dev = Device::cpu(0).unwrap();
    let data = Mnist::load(dataset, dir).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (clf, info) = load_or_train(&dev, &data, &cache.path().join("bpdl-eval"), 1).unwrap();
    eprintln!("{dataset}: {}", serde_json::to_string(&info).unwrap());
    assert!(
        !info.cached && info.cache_file.as_ref().is_some_and(|f| f.is_file()),
        "{info:?}"
    );
    assert!(
        info.test_accuracy >= target_accuracy(dataset),
        "{dataset}: test accuracy {} below {}",
        info.test_accuracy,
        target_accuracy(dataset)
    );
    assert_eq!(clf.feature_width(), 128);

    let x = select_rows(data.test.images.view(), &(0..2000).collect::<Vec<_>>());
    let s = score(&dev, &clf, x.view(), x.view()).unwrap();
    assert!(s.fid.abs() < 1e-6, "{s:?}");
    assert_eq!((s.precision, s.recall), (1.0, 1.0));
    assert!((1.0..=10.0).contains(&s.inception_score), "{s:?}");

    // the second call reads the cache and finds the same accuracy
    let (_, again) = load_or_train(&dev, &data, &cache.path().join("bpdl-eval"), 1).unwrap();
    assert!(again.cached, "{again:?}");
    assert_eq!(again.test_accuracy, info.test_accuracy);
}

#[test]
fn the_mnist_evaluation_classifier_reaches_98_percent_test_accuracy() {
    trains_to_its_target(Dataset::Mnist, &mnist_dir());
}

#[test]
fn the_fashion_mnist_evaluation_classifier_reaches_88_percent_test_accuracy() {
    trains_to_its_target(Dataset::FashionMnist, &fashion_dir());
}

/// The cache is keyed by the seed alone, so the weights must not depend on the thread count: at
/// the real widths (784 → 512 → 128 → 10, batch 100) the GEMMs are split across threads, which
/// the tiny networks of the unit tests do not exercise.
#[test]
fn the_real_sized_classifier_trains_bit_identically_on_one_and_two_threads() {
    use bpdl::eval::classifier::{ClassifierSettings, EvalClassifier};
    let data = Mnist::load(Dataset::Mnist, &mnist_dir()).unwrap();
    let train = data.train.head(3000);
    let settings = ClassifierSettings {
        epochs: 1,
        ..ClassifierSettings::default()
    };
    let one = EvalClassifier::train(&Device::cpu(1).unwrap(), &train, &settings, 3).unwrap();
    let two = EvalClassifier::train(&Device::cpu(2).unwrap(), &train, &settings, 3).unwrap();
    assert!(one == two, "1 and 2 threads gave different weights");
}
