//! `bpdl stdp` end to end: the files the issue promises exist and parse, a seed fixes them, and
//! a typo in a setting is an error naming it (never a panic).

mod common;

use std::path::Path;
use std::process::Output;

fn bpdl(args: &[&str]) -> Output {
    common::bpdl(args, &[])
}

const QUICK: [&str; 6] = [
    "--set",
    "protocol.trials=3000",
    "--set",
    "protocol.deterministic_trials=200",
    "--set",
    "delta_rule.epochs=20",
];

fn run_into(dir: &Path, seed: &str) -> Output {
    let mut args = vec!["stdp", "--seed", seed, "--out", dir.to_str().unwrap()];
    args.extend(QUICK);
    bpdl(&args)
}

#[test]
fn stdp_writes_the_curve_the_fit_the_delta_rule_report_and_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), "3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("τ₊") && stdout.contains("delta rule"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("stdp_curve.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("delta_t_ms,mean_dw,sem_dw,n"));
    assert!(csv.lines().count() > 10);
    let fit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("stdp_fit.json")).unwrap())
            .unwrap();
    for key in [
        "tau_plus_ms",
        "tau_minus_ms",
        "a_plus",
        "a_minus",
        "correlation_with_bi_poo",
    ] {
        assert!(fit[key].is_number(), "{key}: {}", fit[key]);
    }
    assert_eq!(fit["parameters"]["protocol"]["trials"], 3000);
    let dr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("delta_rule.json")).unwrap())
            .unwrap();
    assert!(dr["relative_error_spiking"].is_number());
    for f in [
        "stdp_curve.png",
        "stdp_curve.svg",
        "stdp_curve_deterministic.csv",
        "config.toml",
        "run.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(info["seed"], 3);
}

#[test]
fn the_same_seed_writes_the_same_curve() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(run_into(a.path(), "8").status.success());
    assert!(run_into(b.path(), "8").status.success());
    let read = |d: &Path| std::fs::read_to_string(d.join("stdp_curve.csv")).unwrap();
    assert_eq!(read(a.path()), read(b.path()));
}

#[test]
fn an_unknown_setting_fails_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = bpdl(&[
        "stdp",
        "--out",
        dir.path().to_str().unwrap(),
        "--set",
        "neuron.tau_membran_ms=5",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tau_membran_ms") && !err.contains("panicked"),
        "{err}"
    );
}
