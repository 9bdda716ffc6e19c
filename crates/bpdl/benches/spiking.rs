//! Criterion benches of the spiking simulation, in neuron-steps per second (criterion's
//! "elem/s"): one neuron advanced by one time step = one element.
//!
//! `cargo bench -p bpdl --bench spiking` measures
//! - `cpu_spiking/lif_step` and `cpu_spiking/escape_noise_step`: the bare step functions;
//! - `cpu_spiking/fig1_trials_1t`: whole Fig. 1 trials of the default `bpdl stdp` protocol
//!   (Poisson drive, escape noise) on one thread, drive and pairing included.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;

use bpdl::spiking::StdpConfig;
use bpdl::spiking::neuron::{
    EscapeNoiseParams, LifParams, MembraneParams, NeuronState, escape_noise_step, lif_step,
};
use bpdl::spiking::protocol::run_trials;

const STEPS: u64 = 100_000;

fn membrane() -> MembraneParams {
    MembraneParams {
        tau_membrane_ms: 20.0,
        v_rest: 0.0,
    }
}

fn steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_spiking");
    group.throughput(Throughput::Elements(STEPS));
    let lif = LifParams {
        membrane: membrane(),
        v_threshold: 1.0,
        v_reset: 0.0,
        refractory_ms: 2.0,
    };
    group.bench_function("lif_step", |b| {
        b.iter(|| {
            let mut s = NeuronState::at(0.0);
            let mut spikes = 0u32;
            for n in 0..STEPS {
                let step = lif_step(s, 1.2 + 0.3 * ((n % 100) as f64 * 0.01), &lif, 0.1);
                spikes += u32::from(step.spike_offset_ms.is_some());
                s = step.state;
            }
            (s.v, spikes)
        })
    });
    let esc = EscapeNoiseParams {
        membrane: membrane(),
        v_threshold: 1.0,
        steepness: 10.0,
        rate_max_hz: 200.0,
        v_reset: None,
        refractory_ms: 0.0,
    };
    group.bench_function("escape_noise_step", |b| {
        let mut rng = bpdl::rng::Rng::seed_from_u64(1);
        b.iter(|| {
            let mut s = NeuronState::at(0.5);
            let mut spikes = 0u32;
            for n in 0..STEPS {
                let step = escape_noise_step(
                    s,
                    0.8 + 0.2 * ((n % 100) as f64 * 0.01),
                    &esc,
                    0.1,
                    &mut rng,
                );
                spikes += u32::from(step.spike_offset_ms.is_some());
                s = step.state;
            }
            (s.v, spikes)
        })
    });

    // whole trials: the step count is fixed by the key, so count it once
    let params = StdpConfig::default().protocol_params();
    let trials = 2000;
    let dev = bpdl::Device::cpu(1).expect("a thread pool");
    let total: u64 = run_trials(&dev, &params, trials, 7)
        .iter()
        .map(|t| u64::from(t.steps))
        .sum();
    group.throughput(Throughput::Elements(total));
    group.sample_size(20);
    group.bench_function("fig1_trials_1t", |b| {
        b.iter(|| run_trials(&dev, &params, trials, 7))
    });
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
