use ndarray::{Array1, Array2};
use rand::RngExt;

use super::*;

/// The mean softmax cross-entropy of a ReLU network in f64, written from the definition.
fn loss64(layers: &[(Array2<f64>, Array1<f64>)], x: &Array2<f64>, y: &[u8]) -> f64 {
    let mut h = x.clone();
    for (l, (w, b)) in layers.iter().enumerate() {
        let mut a = h.dot(w) + b;
        if l + 1 < layers.len() {
            a.mapv_inplace(|v| v.max(0.0));
        }
        h = a;
    }
    let n = h.nrows();
    (0..n)
        .map(|i| {
            let row = h.row(i);
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            lse - row[usize::from(y[i])]
        })
        .sum::<f64>()
        / n as f64
}

/// If back-propagation had a wrong sign, a missing ReLU mask or a wrong 1/B, the classifier
/// would train badly or not at all and every FID would be measured in a meaningless space.
#[test]
fn the_hand_written_gradient_matches_f64_central_differences() {
    let dev = Device::cpu(1).unwrap();
    let mut rng = Seed(5).stream("gradient-test");
    let mut net = EvalClassifier::init(&[5, 4, 3, 3], &mut rng).unwrap();
    for layer in &mut net.layers {
        layer.bias.mapv_inplace(|_| rng.random_range(-0.5f32..0.5));
    }
    let x = Array2::from_shape_simple_fn((6, 5), || rng.random_range(-1.0f32..1.0));
    let y = [0u8, 1, 2, 0, 1, 2];
    let mut work = Workspace::new(&net, 6);
    let loss = work.backprop(&dev, &net, x.view(), &y);

    let x64 = x.mapv(f64::from);
    let params: Vec<(Array2<f64>, Array1<f64>)> = net
        .layers
        .iter()
        .map(|l| (l.weight.mapv(f64::from), l.bias.mapv(f64::from)))
        .collect();
    let reference = loss64(&params, &x64, &y);
    assert!(
        (loss - reference).abs() < 1e-6,
        "loss {loss} vs f64 {reference}"
    );

    let h = 1e-6;
    let mut checked = 0;
    for l in 0..params.len() {
        let (rows, cols) = params[l].0.dim();
        for i in 0..rows {
            for j in 0..cols {
                let mut p = params.clone();
                p[l].0[[i, j]] += h;
                let up = loss64(&p, &x64, &y);
                p[l].0[[i, j]] -= 2.0 * h;
                let down = loss64(&p, &x64, &y);
                let numeric = (up - down) / (2.0 * h);
                let analytic = f64::from(work.grad_w[l][[i, j]]);
                assert!(
                    (numeric - analytic).abs() < 1e-5 + 1e-3 * numeric.abs(),
                    "∂ℓ/∂W{l}[{i},{j}]: back-propagation {analytic}, finite differences {numeric}"
                );
                checked += 1;
            }
        }
        for j in 0..params[l].1.len() {
            let mut p = params.clone();
            p[l].1[j] += h;
            let up = loss64(&p, &x64, &y);
            p[l].1[j] -= 2.0 * h;
            let down = loss64(&p, &x64, &y);
            let numeric = (up - down) / (2.0 * h);
            let analytic = f64::from(work.grad_b[l][j]);
            assert!(
                (numeric - analytic).abs() < 1e-5 + 1e-3 * numeric.abs(),
                "∂ℓ/∂b{l}[{j}]: back-propagation {analytic}, finite differences {numeric}"
            );
        }
    }
    assert_eq!(checked, 5 * 4 + 4 * 3 + 3 * 3);
}

/// Images of `d = 40` pixels where class c lights pixels 4c..4c+4 (plus noise): separable, so a
/// correct trainer reaches 100 %.
fn easy_split(n: usize, seed: u64) -> Split {
    let mut rng = Seed(seed).stream("easy-split");
    let labels: Vec<u8> = (0..n).map(|i| (i % CLASSES) as u8).collect();
    let images = Matrix::from_shape_fn((n, 40), |(i, j)| {
        let on = j / 4 == usize::from(labels[i]);
        (if on { 0.8 } else { 0.1 }) + rng.random_range(0.0f32..0.1)
    });
    Split { images, labels }
}

fn easy_data() -> Mnist {
    Mnist {
        dataset: Dataset::Mnist,
        dir: PathBuf::from("(synthetic)"),
        train: easy_split(500, 1),
        validation: easy_split(100, 2),
        test: easy_split(100, 3),
        image_shape: (5, 8),
    }
}

fn small_settings() -> ClassifierSettings {
    ClassifierSettings {
        hidden: vec![16, 8],
        epochs: 30,
        batch_size: 50,
        learning_rate: 1e-2,
        ..ClassifierSettings::default()
    }
}

/// The cached weights are only reusable if the same seed always gives the same network.
#[test]
fn training_is_bit_identical_on_one_and_two_threads() {
    let data = easy_data();
    let one =
        EvalClassifier::train(&Device::cpu(1).unwrap(), &data.train, &small_settings(), 9).unwrap();
    let two =
        EvalClassifier::train(&Device::cpu(2).unwrap(), &data.train, &small_settings(), 9).unwrap();
    assert_eq!(one, two);
    let other = EvalClassifier::train(&Device::cpu(2).unwrap(), &data.train, &small_settings(), 10)
        .unwrap();
    assert_ne!(one, other);
}

#[test]
fn the_cache_is_written_then_reused_and_keyed_by_the_settings() {
    let dev = Device::cpu(2).unwrap();
    let data = easy_data();
    let dir = tempfile::tempdir().unwrap();
    let settings = small_settings();
    let (first, info) = load_or_train_with(&dev, &data, dir.path(), 4, &settings).unwrap();
    assert!(!info.cached && info.cache_note.is_none(), "{info:?}");
    assert_eq!(info.test_accuracy, 1.0);
    let file = info.cache_file.clone().unwrap();
    assert!(file.is_file());
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains("mnist")
            && name.contains("seed4")
            && name.contains(&format!("v{FORMAT_VERSION}")),
        "{name}"
    );

    let (again, info2) = load_or_train_with(&dev, &data, dir.path(), 4, &settings).unwrap();
    assert!(info2.cached, "{info2:?}");
    assert_eq!(first, again);
    assert_eq!(info2.train_seconds, info.train_seconds);

    let changed = ClassifierSettings {
        epochs: 31,
        ..settings.clone()
    };
    let (_, info3) = load_or_train_with(&dev, &data, dir.path(), 4, &changed).unwrap();
    assert!(!info3.cached && info3.cache_file != info.cache_file);
}

#[test]
fn an_unwritable_cache_folder_falls_back_to_memory_and_says_so() {
    let dev = Device::cpu(2).unwrap();
    let data = easy_data();
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let (_, info) = load_or_train_with(
        &dev,
        &data,
        &blocker.join("bpdl-eval"),
        4,
        &small_settings(),
    )
    .unwrap();
    assert!(!info.cached && info.cache_file.is_none());
    assert!(info.cache_note.unwrap().contains("could not be cached"));
}

#[test]
fn a_damaged_cache_file_is_replaced() {
    let dev = Device::cpu(2).unwrap();
    let data = easy_data();
    let dir = tempfile::tempdir().unwrap();
    let path = cache_path(dir.path(), Dataset::Mnist, 4, &small_settings());
    std::fs::write(&path, b"garbage").unwrap();
    let (_, info) = load_or_train_with(&dev, &data, dir.path(), 4, &small_settings()).unwrap();
    assert!(
        !info.cached
            && info
                .cache_note
                .is_some_and(|n| n.contains("could not be used"))
    );
    assert!(EvalClassifier::load(&path, &[40, 16, 8, 10]).is_ok());
}

/// Labels unrelated to the images cannot be learnt: the accuracy check must refuse the network
/// and say which dataset, what accuracy and what was expected.
#[test]
fn a_classifier_below_its_target_is_an_error_naming_the_dataset() {
    let dev = Device::cpu(2).unwrap();
    let mut data = easy_data();
    data.test.labels.rotate_left(1);
    let dir = tempfile::tempdir().unwrap();
    let err = load_or_train_with(&dev, &data, dir.path(), 4, &small_settings()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::EvalClassifier { .. }), "{msg}");
    assert!(msg.contains("mnist") && msg.contains("0.98"), "{msg}");
    assert!(
        std::fs::read_dir(dir.path()).map_or(0, |d| d.count()) == 0,
        "a failed classifier is not cached"
    );
}

#[test]
fn features_and_probabilities_have_the_documented_shapes() {
    let dev = Device::cpu(1).unwrap();
    let net = EvalClassifier::init(&[40, 16, 8, 10], &mut Seed(1).stream("x")).unwrap();
    let x = easy_split(7, 1).images;
    assert_eq!(net.features(&dev, x.view()).unwrap().dim(), (7, 8));
    let p = net.probabilities(&dev, x.view()).unwrap();
    assert_eq!(p.dim(), (7, 10));
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    assert!(net.features(&dev, Matrix::zeros((2, 39)).view()).is_err());
}
