//! The learner's commands end to end on a slice of the real MNIST (a test that needs it fails
//! when it is absent, saying what to set): a tiny
//! `train`, its `--resume`, `infer`, `sample` and `eval parzen`, and the errors a user meets
//! first. Expected values are structural (files, keys, counts) — the numerics are tested in the
//! library.

mod common;

use common::require_mnist;

use std::path::Path;
use std::process::Output;

fn bpdl(data: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend([
        "--offline",
        "--threads",
        "2",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    common::bpdl(&all, &[])
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const TINY: [&str; 8] = [
    "--set",
    "data.train_limit=400",
    "--set",
    "train.batch_size=50",
    "--set",
    "model.layers[0].size=64",
    "--set",
    "inference.steps=3",
];

#[test]
fn train_resume_infer_sample_and_parzen_work_together() {
    let data = require_mnist();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let mut args = vec!["train", "--out", run_s, "--set", "train.epochs=1"];
    args.extend(TINY);
    ok(&bpdl(&data, &args));
    for f in [
        "checkpoint.safetensors",
        "config.toml",
        "run.json",
        "metrics.jsonl",
    ] {
        assert!(run.join(f).is_file(), "train did not write {f}");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert!(info["git_commit"].is_string() && info["bpdl_version"].is_string());

    // a second epoch through --resume appends the second metrics line
    ok(&bpdl(
        &data,
        &["train", "--resume", run_s, "--set", "train.epochs=2"],
    ));
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let epochs: Vec<u64> = metrics
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(epochs, vec![1, 2]);
    assert!(
        std::fs::read_to_string(run.join("config.toml"))
            .unwrap()
            .contains("epochs = 2")
    );

    // training again into the same folder without --resume is refused (nothing is overwritten)
    let again = bpdl(&data, &["train", "--out", run_s]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));

    let inf_dir = dir.path().join("inf");
    let inf = inf_dir.join("inference_test.json");
    ok(&bpdl(
        &data,
        &[
            "infer",
            "--run",
            run_s,
            "--split",
            "test",
            "--steps",
            "4",
            "--limit",
            "200",
            "--out",
            inf_dir.to_str().unwrap(),
        ],
    ));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inf).unwrap()).unwrap();
    assert_eq!(v["log_pxh_mean"].as_array().unwrap().len(), 5);
    assert_eq!(v["log_pxh_se"].as_array().unwrap().len(), 5);
    assert!(v["recon_mse"].as_f64().unwrap() > 0.0);

    let samples_dir = dir.path().join("samples");
    for method in ["generate", "ancestral", "joint-dae"] {
        let samples = samples_dir.join(format!("samples_{method}.safetensors"));
        ok(&bpdl(
            &data,
            &[
                "sample",
                "--run",
                run_s,
                "--method",
                method,
                "--n",
                "300",
                "--out",
                samples_dir.to_str().unwrap(),
            ],
        ));
        assert!(samples.with_extension("png").is_file());
        let json = ok(&bpdl(
            &data,
            &[
                "eval",
                "parzen",
                "--samples",
                samples.to_str().unwrap(),
                "--test-limit",
                "300",
                "--validation",
                "100",
            ],
        ));
        let p: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(p["n_samples"], 300);
        assert!(p["mean"].as_f64().unwrap().is_finite(), "{method}: {json}");
        assert!(p["sigma"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn an_unknown_config_key_is_refused_with_its_name() {
    // fails before any data is read: no MNIST needed
    let data = Path::new("no-such-data-folder");
    let dir = tempfile::tempdir().unwrap();
    let out = bpdl(
        data,
        &[
            "train",
            "--out",
            dir.path().to_str().unwrap(),
            "--set",
            "inference.stpes=3",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inference.stpes"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_or_damaged_checkpoint_is_a_clear_error() {
    // fails before any data is read: no MNIST needed
    let data = Path::new("no-such-data-folder");
    let dir = tempfile::tempdir().unwrap();
    let out = bpdl(
        data,
        &["sample", "--run", dir.path().to_str().unwrap(), "--n", "10"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checkpoint.safetensors"));
    std::fs::write(
        dir.path().join("checkpoint.safetensors"),
        b"not a checkpoint",
    )
    .unwrap();
    let out = bpdl(data, &["infer", "--run", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("safetensors"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
