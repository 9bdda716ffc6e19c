//! Results are identical whatever the thread count: `train`, `infer`, `sample`, `eval parzen`
//! and `stdp` with 1, 2 and 3 threads write the same bytes (timings aside) on small data.

mod common;

use common::require_mnist;

use std::path::{Path, PathBuf};
use std::process::Output;

fn bpdl(data: &Path, threads: usize, args: &[&str]) -> Output {
    let t = threads.to_string();
    let mut all = vec![
        "--offline",
        "--threads",
        &t,
        "--data-dir",
        data.to_str().unwrap(),
    ];
    all.extend(args);
    let out = common::bpdl(&all, &[]);
    assert!(
        out.status.success(),
        "{args:?} with {threads} threads: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A checkpoint or samples file as (header JSON, data bytes): the header's metadata map has
/// no fixed order in the file, its content does.
fn safetensors(p: &Path) -> (serde_json::Value, Vec<u8>) {
    let b = std::fs::read(p).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    (
        serde_json::from_slice(&b[8..8 + n]).unwrap(),
        b[8 + n..].to_vec(),
    )
}

/// JSON with every key naming a time or a speed (`seconds`, `*_per_second`) removed.
fn untimed(mut v: serde_json::Value) -> serde_json::Value {
    match &mut v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !k.contains("seconds") && !k.contains("per_second"));
            for x in m.values_mut() {
                *x = untimed(x.take());
            }
        }
        serde_json::Value::Array(a) => {
            for x in a.iter_mut() {
                *x = untimed(x.take());
            }
        }
        _ => {}
    }
    v
}

fn json_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| untimed(serde_json::from_str(l).unwrap()))
        .collect()
}

#[test]
fn every_command_gives_the_same_results_with_1_2_and_3_threads() {
    let data = require_mnist();
    let dir = tempfile::tempdir().unwrap();
    let run1 = dir.path().join("t1");
    let mut outputs: Vec<Vec<(String, serde_json::Value, Vec<u8>)>> = Vec::new();
    for threads in [1, 2, 3] {
        let mut got = Vec::new();
        let run: PathBuf = dir.path().join(format!("t{threads}"));
        let run_s = run.to_str().unwrap();
        bpdl(
            &data,
            threads,
            &[
                "train",
                "--out",
                run_s,
                "--set",
                "data.train_limit=600",
                "--set",
                "train.epochs=2",
                "--set",
                "train.batch_size=100",
                "--set",
                "model.layers[0].size=64",
                "--set",
                "model.layers[1].size=16",
                "--set",
                "inference.steps=4",
                "--set",
                "train.heldout_examples=100",
            ],
        );
        let (h, d) = safetensors(&run.join("checkpoint.safetensors"));
        got.push(("train: checkpoint".into(), h, d));
        let m = serde_json::Value::Array(json_lines(&run.join("metrics.jsonl")));
        got.push(("train: metrics.jsonl".into(), m, vec![]));
        // the other commands on the 1-thread run's model, so only their own threads vary
        let out = dir.path().join(format!("o{threads}"));
        let (out_s, run1_s) = (out.to_str().unwrap(), run1.to_str().unwrap());
        bpdl(
            &data,
            threads,
            &[
                "--out", out_s, "infer", "--run", run1_s, "--steps", "6", "--limit", "300",
            ],
        );
        let inf: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("inference_test.json")).unwrap())
                .unwrap();
        got.push(("infer".into(), untimed(inf), vec![]));
        for method in ["generate", "ancestral", "joint-dae"] {
            bpdl(
                &data,
                threads,
                &[
                    "--out", out_s, "--seed", "5", "sample", "--run", run1_s, "--method", method,
                    "--n", "300",
                ],
            );
            let (h, d) = safetensors(&out.join(format!("samples_{method}.safetensors")));
            got.push((format!("sample {method}"), h, d));
        }
        let samples = out.join("samples_generate.safetensors");
        let parzen = bpdl(
            &data,
            threads,
            &[
                "eval",
                "parzen",
                "--samples",
                samples.to_str().unwrap(),
                "--test-limit",
                "500",
                "--validation",
                "300",
            ],
        );
        let mut p: serde_json::Value = serde_json::from_slice(&parzen.stdout).unwrap();
        p["samples"] = serde_json::Value::Null; // the file name differs per thread count
        got.push(("eval parzen".into(), untimed(p), vec![]));
        let stdp = dir.path().join(format!("stdp{threads}"));
        bpdl(
            &data,
            threads,
            &[
                "--out",
                stdp.to_str().unwrap(),
                "stdp",
                "--set",
                "protocol.trials=3000",
                "--set",
                "protocol.deterministic_trials=200",
                "--set",
                "delta_rule.epochs=10",
            ],
        );
        for f in ["stdp_curve.csv", "delta_rule.json", "stdp_fit.json"] {
            let bytes = std::fs::read(stdp.join(f)).unwrap();
            let v = if f.ends_with(".json") {
                untimed(serde_json::from_slice(&bytes).unwrap())
            } else {
                serde_json::Value::String(String::from_utf8(bytes).unwrap())
            };
            got.push((format!("stdp {f}"), v, vec![]));
        }
        outputs.push(got);
    }
    for (threads, got) in [2, 3].into_iter().zip(&outputs[1..]) {
        for ((name, h1, d1), (_, h, d)) in outputs[0].iter().zip(got) {
            assert_eq!(h1, h, "{name}: 1 and {threads} threads differ");
            assert!(
                d1 == d,
                "{name}: the tensors of 1 and {threads} threads differ"
            );
        }
    }
}
