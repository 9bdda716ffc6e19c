//! Oracle: identity between two runs. Writing TensorBoard files (`train.tensorboard`, with the
//! held-out inference, the histograms and the GENERATE grid it adds) must not change training:
//! the checkpoint's every tensor (weights, optimizer state, top prior) is byte-identical with
//! it on and off, its metadata (random streams, epochs) equal but for the switch itself, and so is every number of `metrics.jsonl` but the
//! epoch's wall-clock time. A writer that drew from a training stream or touched the model
//! would break this.

mod common;

use bpdl::run::{Provenance, TrainingData, read_metrics, train_in_dir};
use bpdl::{Device, checkpoint};

fn train(tensorboard: bool, dir: &std::path::Path) {
    let mut c = common::small_config(24, 6);
    c.train.epochs = 2;
    c.train.heldout_examples = 40;
    c.train.tensorboard = tensorboard;
    c.inference.noise_std = 0.01; // the inference stream advances too
    let (train, heldout) = (
        common::manifold_data(200, 64, 3, 1),
        common::manifold_data(40, 64, 3, 2),
    );
    let data = TrainingData::from_arrays(train.view(), Some(heldout.view())).unwrap();
    let provenance = Provenance {
        bpdl_version: "test".into(),
        git_commit: "test".into(),
        command: "test".into(),
    };
    let dev = Device::cpu(2).unwrap();
    train_in_dir(
        &dev,
        &c,
        &data,
        dir,
        &provenance,
        bpdl::run::Existing::Continue,
        &mut (),
    )
    .unwrap();
}

#[test]
fn tensorboard_files_leave_training_bit_identical() {
    let (on, off) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(true, on.path());
    train(false, off.path());
    assert!(on.path().join("tb").is_dir());
    assert!(!off.path().join("tb").exists());

    let read = |d: &std::path::Path| std::fs::read(d.join(checkpoint::FILE_NAME)).unwrap();
    let (a, b) = (read(on.path()), read(off.path()));
    let (a, b) = (
        safetensors::SafeTensors::deserialize(&a).unwrap(),
        safetensors::SafeTensors::deserialize(&b).unwrap(),
    );
    let mut names = a.names();
    names.sort();
    let mut names_b = b.names();
    names_b.sort();
    assert_eq!(names, names_b);
    assert!(names.contains(&"prior.mean"), "{names:?}");
    for name in names {
        let (x, y) = (a.tensor(name).unwrap(), b.tensor(name).unwrap());
        assert_eq!((x.dtype(), x.shape()), (y.dtype(), y.shape()), "{name}");
        assert!(x.data() == y.data(), "{name} differs");
    }
    // the metadata differ in the config's switch alone
    let meta = |d: &std::path::Path| {
        let bytes = read(d);
        let (_, m) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        m.metadata().clone().unwrap()
    };
    let (mut ka, kb) = (meta(on.path()), meta(off.path()));
    let config = ka.get_mut("config").unwrap();
    *config = config.replace("tensorboard = true", "tensorboard = false");
    assert_eq!(ka, kb);

    let (mut ma, mut mb) = (
        read_metrics(on.path()).unwrap(),
        read_metrics(off.path()).unwrap(),
    );
    assert_eq!(ma.len(), 2);
    for m in ma.iter_mut().chain(mb.iter_mut()) {
        m.seconds = 0.0;
    }
    assert_eq!(ma, mb);
}
