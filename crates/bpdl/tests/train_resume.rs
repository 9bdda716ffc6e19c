//! Oracle: identity between two runs. A run interrupted after an epoch and resumed from its
//! checkpoint must end with bit-identical weights, optimizer state and random streams to an
//! uninterrupted run with the same seed and thread count; the same seed must give the same
//! weights and another seed different ones; a blow-up must stop training with an error naming
//! the map and the step while the last good checkpoint stays intact.

mod common;

use bpdl::config::{Config, Optimizer};
use bpdl::train::{self, EpochMetrics, TrainObserver, TrainState};
use bpdl::{Device, Error, checkpoint};

/// Saves a checkpoint after every epoch and can simulate a crash after a given epoch.
struct Saver<'a> {
    path: &'a std::path::Path,
    config: &'a Config,
    crash_after: Option<usize>,
}

impl TrainObserver for Saver<'_> {
    fn epoch_done(&mut self, m: &EpochMetrics, state: &TrainState) -> bpdl::Result<()> {
        checkpoint::save(self.path, state, self.config)?;
        if Some(m.epoch) == self.crash_after {
            return Err(Error::Usage("simulated crash".into()));
        }
        Ok(())
    }
    fn prior_fitted(&mut self, state: &TrainState) -> bpdl::Result<()> {
        checkpoint::save(self.path, state, self.config)
    }
}

fn config(optimizer: Optimizer) -> Config {
    let mut c = common::small_config(24, 6);
    c.train.epochs = 3;
    c.learning.optimizer = optimizer;
    c.learning.lr = if optimizer == Optimizer::Sgd {
        0.02
    } else {
        0.001
    };
    c.inference.noise_std = 0.01; // exercise the inference stream too
    c
}

fn run(
    config: &Config,
    data: &bpdl::Matrix,
    path: &std::path::Path,
    crash: Option<usize>,
) -> bpdl::Result<TrainState> {
    let dev = Device::cpu(2).unwrap();
    let mut state = TrainState::new(config, data.ncols());
    let mut saver = Saver {
        path,
        config,
        crash_after: crash,
    };
    train::train(&dev, data.view(), config, &mut state, &mut saver)?;
    Ok(state)
}

#[test]
fn resuming_after_an_interruption_gives_bit_identical_state() {
    let data = common::manifold_data(200, 16, 3, 1);
    for optimizer in [Optimizer::Sgd, Optimizer::Adam] {
        let c = config(optimizer);
        let dir = tempfile::tempdir().unwrap();
        let straight = run(&c, &data, &dir.path().join("a.safetensors"), None).unwrap();
        // the default learns σ² of p(x|h1): the checkpoint must carry it (the latent one stays 1)
        let noise = &straight.model.noise;
        assert!(
            noise.updates > 0 && noise.var[0] != 1.0 && noise.var[1] == 1.0,
            "{noise:?}"
        );

        let path = dir.path().join("b.safetensors");
        let err = run(&c, &data, &path, Some(1)).unwrap_err();
        assert!(err.to_string().contains("simulated crash"));
        let (mut resumed, saved) = checkpoint::load(&path).unwrap();
        assert_eq!(resumed.epochs_done, 1);
        assert_eq!(saved, c);
        let dev = Device::cpu(2).unwrap();
        let mut saver = Saver {
            path: &path,
            config: &c,
            crash_after: None,
        };
        train::train(&dev, data.view(), &c, &mut resumed, &mut saver).unwrap();
        assert_eq!(resumed.rngs, straight.rngs, "{optimizer:?}: streams differ");
        assert_eq!(
            resumed.model.top_prior, straight.model.top_prior,
            "{optimizer:?}: prior differs"
        );
        assert_eq!(
            resumed.model.pairs, straight.model.pairs,
            "{optimizer:?}: weights differ"
        );
        assert_eq!(
            resumed.optimizer, straight.optimizer,
            "{optimizer:?}: optimizer differs"
        );
        assert_eq!(resumed, straight, "{optimizer:?}: resumed run differs");
        // and the final checkpoint holds exactly that state
        let (reloaded, _) = checkpoint::load(&path).unwrap();
        assert_eq!(reloaded, straight);
        assert!(straight.model.top_prior.is_some());
    }
}

#[test]
fn the_same_seed_gives_the_same_weights_and_another_seed_different_ones() {
    let data = common::manifold_data(100, 16, 3, 2);
    let mut c = config(Optimizer::Sgd);
    c.train.epochs = 1;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.safetensors");
    let a = run(&c, &data, &p, None).unwrap();
    let b = run(&c, &data, &p, None).unwrap();
    assert_eq!(a, b);
    c.seed += 1;
    let other = run(&c, &data, &p, None).unwrap();
    assert_ne!(a.model, other.model);
}

#[test]
fn a_blow_up_names_the_map_and_step_and_keeps_the_last_good_checkpoint() {
    let data = common::manifold_data(100, 16, 3, 3);
    let mut c = config(Optimizer::Sgd);
    c.train.epochs = 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    run(&c, &data, &path, None).unwrap();
    let good = std::fs::read(&path).unwrap();

    let (mut state, _) = checkpoint::load(&path).unwrap();
    let mut wild = c.clone();
    wild.train.epochs = 3;
    wild.learning.lr = 1e30;
    let dev = Device::cpu(2).unwrap();
    let mut saver = Saver {
        path: &path,
        config: &wild,
        crash_after: None,
    };
    let err = train::train(&dev, data.view(), &wild, &mut state, &mut saver).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NonFinite { .. }), "{msg}");
    assert!(msg.contains("epoch 2"), "{msg}");
    assert!(msg.contains("learning rate"), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        good,
        "the last good checkpoint was overwritten"
    );
}

/// Resuming with another optimizer would meet moments of the wrong shape: refused with the key.
#[test]
fn resuming_with_another_optimizer_is_refused() {
    let data = common::manifold_data(100, 16, 3, 4);
    let mut c = config(Optimizer::Sgd);
    c.train.epochs = 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.safetensors");
    run(&c, &data, &path, None).unwrap();
    let (mut state, _) = checkpoint::load(&path).unwrap();
    let mut other = c.clone();
    other.train.epochs = 2;
    other.learning.optimizer = Optimizer::Adam;
    let dev = Device::cpu(1).unwrap();
    let mut saver = Saver {
        path: &path,
        config: &other,
        crash_after: None,
    };
    let err = train::train(&dev, data.view(), &other, &mut state, &mut saver).unwrap_err();
    assert!(err.to_string().contains("learning.optimizer"), "{err}");
}
