//! Oracle: Eq. 1 itself, ΔW = η · S_pre · dV_post/dt, applied to voltage traces whose slopes are
//! known in closed form (straight lines), and its linearity in the presynaptic signal.
//!
//! If these failed silently, every STDP curve of `bpdl stdp` would be a curve of something else:
//! a sign error swaps potentiation and depression, a slope taken over the wrong samples lets the
//! presynaptic spike's own input leak into its weight change.

use bpdl::spiking::neuron::MembraneParams;
use bpdl::spiking::protocol::{
    Drive, OuDrive, PreSynapse, ProtocolParams, RampDrive, SpikeModel, run_trial,
};
use bpdl::spiking::stdp::{voltage_slope_per_ms, weight_change, weight_change_along};
use rand::{RngExt, SeedableRng};

const DT: f64 = 0.1;

fn line(v0: f64, slope_per_ms: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| v0 + slope_per_ms * k as f64 * DT).collect()
}

#[test]
fn rising_voltage_potentiates_falling_depresses_flat_does_nothing() {
    // One presynaptic spike at sample 7 on V(t) = 0.4 + s t: ΔW = η s exactly.
    let eta = 0.3;
    let mut pre = vec![0.0; 20];
    pre[7] = 1.0;
    let dw = |s: f64| weight_change_along(eta, &pre, &line(0.4, s, 20), DT);
    assert!(dw(0.05) > 0.0, "rising: potentiation");
    assert!(dw(-0.05) < 0.0, "falling: depression");
    assert_eq!(dw(0.0), 0.0, "flat: no change");
    for s in [0.05, -0.05, 0.02] {
        assert!((dw(s) - eta * s).abs() < 1e-12, "slope {s}: ΔW = {}", dw(s));
    }
    // and the point form
    assert_eq!(weight_change(2.0, 1.0, 0.25), 0.5);
    assert_eq!(weight_change(2.0, 1.0, -0.25), -0.5);
    assert_eq!(weight_change(2.0, 1.0, 0.0), 0.0);
}

#[test]
fn the_rule_is_linear_in_the_presynaptic_signal() {
    // ΔW(a·S1 + b·S2) = a·ΔW(S1) + b·ΔW(S2) for any voltage trace.
    let mut rng = bpdl::rng::Rng::seed_from_u64(11);
    let n = 500;
    let v: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let s1: Vec<f64> = (0..n)
        .map(|_| f64::from(rng.random::<f64>() < 0.05))
        .collect();
    let s2: Vec<f64> = (0..n)
        .map(|_| f64::from(rng.random::<f64>() < 0.05))
        .collect();
    let (a, b) = (2.5, -0.7);
    let mixed: Vec<f64> = s1.iter().zip(&s2).map(|(x, y)| a * x + b * y).collect();
    let lhs = weight_change_along(0.8, &mixed, &v, DT);
    let rhs = a * weight_change_along(0.8, &s1, &v, DT) + b * weight_change_along(0.8, &s2, &v, DT);
    assert!(
        (lhs - rhs).abs() < 1e-9 * rhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
    // doubling one spike doubles its contribution
    let one: Vec<f64> = s1.iter().map(|x| 2.0 * x).collect();
    let d1 = weight_change_along(0.8, &s1, &v, DT);
    assert!((weight_change_along(0.8, &one, &v, DT) - 2.0 * d1).abs() < 1e-9 * d1.abs().max(1.0));
}

#[test]
fn the_slope_is_read_before_the_presynaptic_spike_arrives() {
    // backward difference: (V[n] − V[n−1]) / dt
    let v = [0.0, 0.1, 0.5];
    assert!((voltage_slope_per_ms(&v, 2, 0.5).unwrap() - 0.8).abs() < 1e-12);
    assert!((voltage_slope_per_ms(&v, 1, 0.5).unwrap() - 0.2).abs() < 1e-12);
    assert_eq!(voltage_slope_per_ms(&v, 3, 0.5), None);
}

fn ramp_params(slope: f64, falling: bool, pre_weight: f64) -> ProtocolParams {
    ProtocolParams {
        neuron: SpikeModel::Threshold {
            membrane: MembraneParams {
                tau_membrane_ms: 20.0,
                v_rest: 0.0,
            },
            v_threshold: 1.0,
        },
        drive: Drive::Ramp(RampDrive {
            slope_min_per_ms: slope,
            slope_max_per_ms: slope,
            falling_fraction: if falling { 1.0 } else { 0.0 },
            ..RampDrive::default()
        }),
        pre: PreSynapse {
            weight: pre_weight,
            tau_synapse_ms: 5.0,
        },
        dt_ms: DT,
        window_ms: 100.0,
        warmup_ms: 20.0,
        eta: 1.5,
    }
}

#[test]
fn through_the_simulated_membrane_a_ramp_drive_gives_eq1_the_ramps_slope() {
    // The drive u(t) = V(0) + s (t + τ_m) makes the membrane follow V(0) + s t; the slope read
    // off the simulated trace must be s (to the O(dt²) of the mid-step drive), so ΔW = η s.
    let mut rng = bpdl::rng::Rng::seed_from_u64(5);
    for (s, falling) in [(0.07, false), (0.07, true), (0.3, false)] {
        let t = run_trial(&ramp_params(s, falling, 0.0), &mut rng);
        let signed = if falling { -s } else { s };
        assert!((t.dv_dt_per_ms - signed).abs() < 1e-6 * s, "{t:?}");
        assert!((t.dw - 1.5 * signed).abs() < 2e-6 * s, "{t:?}");
    }
}

#[test]
fn the_presynaptic_spikes_own_input_does_not_enter_its_weight_change() {
    // The PSP of the presynaptic spike starts at t = 0; the slope is read before it, so adding
    // it changes the postsynaptic spike times but not ΔW.
    let key = 77;
    let a = run_trial(
        &ramp_params(0.05, false, 0.0),
        &mut bpdl::rng::row_rng(key, 0),
    );
    let b = run_trial(
        &ramp_params(0.05, false, 3.0),
        &mut bpdl::rng::row_rng(key, 0),
    );
    assert_eq!(a.dw, b.dw);
    assert!(b.delta_t_ms.unwrap() < a.delta_t_ms.unwrap(), "{a:?} {b:?}");
}

#[test]
fn a_flat_voltage_gives_no_weight_change() {
    // An OU drive with σ = 0 is a constant; the membrane starts at its equilibrium.
    let p = ProtocolParams {
        drive: Drive::OrnsteinUhlenbeck(OuDrive {
            mean: 0.5,
            std: 0.0,
            tau_ms: 10.0,
        }),
        ..ramp_params(0.1, false, 0.0)
    };
    let t = run_trial(&p, &mut bpdl::rng::Rng::seed_from_u64(1));
    assert_eq!(t.dv_dt_per_ms, 0.0);
    assert_eq!(t.dw, 0.0);
    assert_eq!(
        t.delta_t_ms, None,
        "a flat voltage below θ never crosses it"
    );
}
