//! Oracles for the in-network STDP window (`learning.spiking.window_synapses`,
//! `bpdl::learning::stdp_window`):
//!
//! * training is bit-identical with the recording on or off (both accumulation paths);
//! * a rising voltage (ΔW > 0) makes the postsynaptic spike likelier after the presynaptic one
//!   than before, a falling one (ΔW < 0) the reverse, so that mean ΔW is larger for Δt > 0 than
//!   for Δt < 0;
//! * with constant rates (no nudging to speak of) the counts follow the closed form of two
//!   independent Bernoulli trains: `N·p_pre` presynaptic spikes per synapse, of which a share
//!   `1 − (1 − p_post)^N` find a postsynaptic spike, and `N·p_pre·p_post` coincide;
//! * a run resumed from its checkpoint writes the same `stdp_window.json` as an uninterrupted
//!   one.

mod common;

use bpdl::config::{Accumulation, Config, CorruptionConfig, LayerConfig, LearningRule};
use bpdl::inference::Posterior;
use bpdl::learning::stdp_window::{self, WindowRecorder, WindowReport, WindowSums};
use bpdl::learning::{self, LearningWorkspace, MStep, ModelOptimizer};
use bpdl::model::GenerativeModel;
use bpdl::rng::Seed;
use bpdl::run::{self, Existing, Provenance, TrainingData};
use bpdl::train::{self, TrainState};
use bpdl::{Activation, Device, Matrix};
use ndarray::Array2;

fn spiking(mut config: Config, accumulation: Accumulation, synapses: usize) -> Config {
    config.learning.rule = LearningRule::Spiking;
    config.learning.spiking.accumulation = accumulation;
    config.learning.spiking.window_synapses = synapses;
    config.train.epochs = 2;
    config.train.tensorboard = false;
    config
}

fn trained(dev: &Device, config: &Config, data: &Matrix) -> TrainState {
    let mut state = TrainState::new(config, data.ncols());
    train::train(dev, data.view(), config, &mut state, &mut ()).unwrap();
    state
}

/// Recording reads the M-step and draws from streams of its own: the model, optimizer and
/// every training stream must come out bit for bit the same, on both accumulation paths, while
/// the recording did record pairs.
#[test]
fn training_is_bit_identical_with_the_recording_on_or_off() {
    let dev = Device::cpu(2).unwrap();
    let data = common::manifold_data(120, 16, 3, 1);
    for accumulation in [Accumulation::Kernel, Accumulation::PerStep] {
        let off = trained(
            &dev,
            &spiking(common::small_config(12, 5), accumulation, 0),
            &data,
        );
        let mut config = spiking(common::small_config(12, 5), accumulation, 40);
        config.learning.spiking.window_every = 2;
        let on = trained(&dev, &config, &data);
        assert!(off.stdp_window.is_none());
        assert_eq!(on.model, off.model, "{accumulation:?}: the weights changed");
        assert_eq!(on.optimizer, off.optimizer);
        assert_eq!(on.rngs, off.rngs);
        let sums = on.stdp_window.expect("recorded");
        assert!(sums.seconds > 0.0);
        // 2 epochs of 6 minibatches, one in two recorded
        assert_eq!((sums.minibatches, sums.presentations), (12, 6));
        let pooled = sums.report().pooled;
        assert!(pooled.curve.paired > 100, "{accumulation:?}: {pooled:?}");
        assert_eq!(sums.maps.len(), 4);
    }
}

/// x (6) → h1 (4, softplus) → x̂ (sigmoid) without corruption; every row of the minibatch the
/// same, weights 0 and biases `bias`, so that every unit of a map starts at the same voltage.
struct Net {
    config: Config,
    model: GenerativeModel,
    x: Matrix,
    post: Posterior,
}

fn net(x: f32, h1: [f32; 4], bias: f32, gain: f64, synapses: usize) -> Net {
    let mut config = Config::default();
    config.model.input_corruption = CorruptionConfig::None;
    config.model.layers = vec![LayerConfig::new(
        4,
        Activation::Softplus,
        Activation::Sigmoid,
        CorruptionConfig::None,
    )];
    config.learning.rule = LearningRule::Spiking;
    config.learning.spiking.nudging_gain = gain;
    config.learning.spiking.window_synapses = synapses;
    let mut model = GenerativeModel::new(6, &config.model, &mut Seed(1).stream("init"));
    let pair = &mut model.pairs[0];
    for map in [&mut pair.encoder, &mut pair.decoder] {
        map.weight.fill(0.0);
        map.bias.fill(bias);
    }
    let batch = 5;
    Net {
        x: Array2::from_shape_fn(
            (batch, 6),
            |(_, i)| if x < 0.0 { (i % 2) as f32 } else { x },
        ),
        post: Posterior {
            h: vec![Array2::from_shape_fn((batch, 4), |(_, j)| h1[j])],
        },
        config,
        model,
    }
}

/// `presentations` recorded M-steps, each from the same starting model (fresh optimizer state).
fn record(n: &Net, presentations: usize) -> WindowSums {
    let dev = Device::cpu(1).unwrap();
    let cfg = &n.config;
    let mut recorder = WindowRecorder::new(&n.model, &cfg.learning.spiking, 7);
    let mut sums = recorder.sums();
    let mut ws = LearningWorkspace::new(&n.model, n.x.nrows(), cfg.learning.optimizer);
    let rates = learning::learning_rates(&cfg.model, &cfg.learning, 0);
    let (mut corruption, mut spikes) = (Seed(3).stream("c"), Seed(3).stream("s"));
    for _ in 0..presentations {
        let mut model = n.model.clone();
        let mut opt = ModelOptimizer::new(&cfg.learning, &model);
        let step = MStep {
            x: n.x.view(),
            post: &n.post,
            model: &cfg.model,
            learning: &cfg.learning,
            rates: &rates,
            top_rows: None,
        };
        stdp_window::m_step(
            &dev,
            &mut model,
            step,
            &mut ws,
            &mut opt,
            (&mut corruption, &mut spikes),
            Some((&mut recorder, &mut sums)),
        )
        .unwrap();
    }
    sums
}

/// g1 (h1 → x, sigmoid, y = σ(0) = 0.5 everywhere) with targets x: 1 nudges a unit's voltage
/// up (dV/dt > 0, every ΔW > 0), 0 nudges it down, by ±γ/8 = ±2.5 (its rate goes from 0.5 to
/// 0.92 or 0.08 of ρ_max). The counts of pairs with Δt > 0 and Δt < 0 are equal for constant
/// rates (time reversal; checked in the closed-form test below). Here:
///
/// * all units rising: a postsynaptic spike is likelier after a presynaptic one than before, so
///   more than 51.5 % of the pairs with Δt ≠ 0 have Δt > 0 (measured: 53 %; over the ≥ 1.5·10⁵
///   pairs the share's s.d. is 0.5/√n ≈ 0.0013, under 0.003 even if the pairs came in
///   correlated groups of 5: the threshold is 5 of those above ½), and every ΔW is > 0;
/// * all units falling: the mirror image, fewer than 48.5 % have Δt > 0 (measured: 35 %; a
///   falling unit fires little late in the presentation, a rising one fires so often that its
///   nearest spike is close on both sides), every ΔW < 0;
/// * half up, half down (the same |dV/dt|): mean ΔW for Δt > 0 exceeds that for Δt < 0 by more
///   than 5 standard errors, and is positive by more than 5 of them. (Mean ΔW for Δt < 0 is
///   not negative here, +5·10⁻⁶ ± 0.9·10⁻⁶ against +1.2·10⁻⁴ for Δt > 0: a rising unit fires
///   more than a falling one at every time, before the presynaptic spike too, so its positive
///   ΔW weigh on both sides of the window.)
#[test]
fn a_rising_voltage_makes_postsynaptic_spikes_likelier_after_the_presynaptic_one() {
    let g1 = |x: f32| {
        let w = record(&net(x, [2.0; 4], 0.0, 20.0, 24), 4000).report();
        w.maps[1].window.clone()
    };
    let share_after = |w: &stdp_window::NetworkWindow| {
        let (p, d) = (w.potentiation.n as f64, w.depression.n as f64);
        assert!(p + d > 150_000.0, "{w:?}");
        p / (p + d)
    };
    let up = g1(1.0);
    let all_positive =
        |w: &stdp_window::NetworkWindow| w.curve.bins.iter().all(|b| b.mean_dw > 0.0);
    assert!(share_after(&up) > 0.515, "rising: {}", share_after(&up));
    assert!(all_positive(&up));
    let down = g1(0.0);
    assert!(
        share_after(&down) < 0.485,
        "falling: {}",
        share_after(&down)
    );
    assert!(down.curve.bins.iter().all(|b| b.mean_dw < 0.0));
    let mixed = g1(-1.0); // x alternates 0, 1
    let (p, d) = (mixed.potentiation, mixed.depression);
    let se = (p.sem_dw.powi(2) + d.sem_dw.powi(2)).sqrt();
    assert!(
        p.mean_dw - d.mean_dw > 5.0 * se && p.mean_dw > 5.0 * p.sem_dw,
        "mean ΔW {} ± {} (Δt > 0) vs {} ± {} (Δt < 0)",
        p.mean_dw,
        p.sem_dw,
        d.mean_dw,
        d.sem_dw
    );
    println!(
        "share after: rising {:.3}, falling {:.3}; mixed: mean ΔW {:.3e} ± {:.1e} (Δt > 0), \
         {:.3e} ± {:.1e} (Δt < 0)",
        share_after(&up),
        share_after(&down),
        p.mean_dw,
        p.sem_dw,
        d.mean_dw,
        d.sem_dw
    );
}

/// Constant rates: a gain of 1e-9 leaves every voltage at its start (to 1e-9), where every unit
/// of a map sits (weights 0, equal biases) and every presynaptic neuron fires with the same p
/// (equal inputs). Pre and post trains are independent Bernoulli trains with `p_pre`, `p_post`
/// per step, so per sampled synapse and presentation: `N·p_pre` presynaptic spikes, of which
/// `N·p_pre·(1 − (1 − p_post)^N)` are paired and `N·p_pre·p_post` pair at Δt = 0. Tolerance 3 %:
/// over 2000 presentations of 24 synapses the presynaptic count of a map is about 1.4·10⁵, whose
/// relative s.d. is under 0.6 % even if the 24 synapses' counts were fully correlated in groups
/// of 4 (they share 6 presynaptic and 4 postsynaptic neurons).
#[test]
fn with_constant_rates_the_pair_counts_follow_the_closed_form() {
    let (x, h1, c) = (0.5f64, 2.0f64, 0.5f64);
    let n = net(x as f32, [h1 as f32; 4], c as f32, 1e-9, 24);
    let presentations = 2000;
    let sums = record(&n, presentations);
    let steps = n.config.learning.spiking.steps() as f64;
    let p_max = n.config.learning.spiking.max_spike_probability();
    let sigmoid = 1.0 / (1.0 + (-c).exp());
    let softplus = (1.0 + c.exp()).ln();
    // f1: x (s = 1) → h1 (softplus, s = 4); g1: h1 (s = 4) → x (sigmoid, s = 1)
    for (m, p_pre, p_post) in [
        (&sums.maps[0], p_max * x, p_max * softplus / 4.0),
        (&sums.maps[1], p_max * h1 / 4.0, p_max * sigmoid),
    ] {
        let per = (presentations * 24) as f64 * steps * p_pre;
        let expect = [
            ("presynaptic spikes", m.pre_spikes as f64, per),
            (
                "paired",
                m.n.iter().sum::<u64>() as f64,
                per * (1.0 - (1.0 - p_post).powf(steps)),
            ),
            ("Δt = 0", m.n[steps as usize - 1] as f64, per * p_post),
            // time reversal: as many pairs after as before
            (
                "Δt > 0 vs Δt < 0",
                m.n[steps as usize..].iter().sum::<u64>() as f64,
                m.n[..steps as usize - 1].iter().sum::<u64>() as f64,
            ),
        ];
        for (what, got, want) in expect {
            assert!(
                (got / want - 1.0).abs() < 0.03,
                "{}: {what} {got} vs {want}",
                m.name
            );
        }
    }
}

fn provenance() -> Provenance {
    Provenance {
        bpdl_version: "test".into(),
        git_commit: "test".into(),
        command: "test".into(),
    }
}

/// Interrupted after epoch 1 and resumed from the checkpoint, the run must write the same
/// `stdp_window.json` as one trained straight through (the sums travel in the checkpoint, the
/// recording's generator is keyed by the minibatch's number).
#[test]
fn a_resumed_run_writes_the_same_window_as_an_uninterrupted_one() {
    let dev = Device::cpu(2).unwrap();
    let data = common::manifold_data(100, 16, 3, 2);
    let config = spiking(common::small_config(10, 4), Accumulation::Kernel, 30);
    let tmp = tempfile::tempdir().unwrap();
    let train_into = |dir: &std::path::Path, config: &Config| {
        let images = TrainingData::from_arrays(data.view(), None).unwrap();
        run::train_in_dir(
            &dev,
            config,
            &images,
            dir,
            &provenance(),
            Existing::Continue,
            &mut (),
        )
        .unwrap()
    };
    let straight = tmp.path().join("straight");
    train_into(&straight, &config);
    let resumed = tmp.path().join("resumed");
    let mut first = config.clone();
    first.train.epochs = 1;
    train_into(&resumed, &first);
    let after_one = std::fs::read_to_string(resumed.join(stdp_window::FILE)).unwrap();
    train_into(&resumed, &config);
    let a = std::fs::read_to_string(straight.join(stdp_window::FILE)).unwrap();
    let b = std::fs::read_to_string(resumed.join(stdp_window::FILE)).unwrap();
    let timeless = |text: &str| {
        let mut r: WindowReport = serde_json::from_str(text).unwrap();
        r.recording_seconds = 0.0;
        r
    };
    let (report, other) = (timeless(&a), timeless(&b));
    let brief = |r: &WindowReport| {
        (
            r.minibatches,
            r.presentations,
            r.pooled.curve.trials,
            r.pooled.curve.paired,
            r.pooled.post_spikes,
        )
    };
    assert_eq!(brief(&report), brief(&other), "straight vs resumed");
    assert!(report == other, "the reports differ beyond the counts");
    assert_ne!(
        report,
        timeless(&after_one),
        "the second epoch recorded nothing"
    );
    assert_eq!(report.minibatches, 10);
    assert!(report.pooled.curve.paired > 0);
    #[cfg(feature = "report")]
    assert!(straight.join("stdp_window.png").exists());
}
