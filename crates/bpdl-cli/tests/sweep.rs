//! `bpdl sweep plan | run | collect` end to end on real MNIST (a few hundred images): two trial
//! processes at once, the Slurm script run by `bash` as an array task, and the one-command
//! sweep.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bpdl, require_mnist};

const TINY: [&str; 6] = [
    "--set",
    "data.train_limit=300",
    "--set",
    "train.epochs=1",
    "--set",
    "train.heldout_examples=0",
];

fn plan(dir: &Path, data: &Path) {
    let mut args = vec![
        "--offline",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "sweep",
        "plan",
        "--vary",
        "learning.lr=0.01,0.02",
        "--seeds",
        "2",
        "--samples",
        "50",
        "--cpus-per-task",
        "1",
        "--parallel",
        "2",
    ];
    args.extend(TINY);
    let o = bpdl(&args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn result_id(dir: &Path, k: usize) -> u64 {
    let text = std::fs::read_to_string(dir.join(format!("trials/{k}/result.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["scores"]["validation"].as_f64().unwrap().is_finite());
    v["id"].as_u64().unwrap()
}

#[test]
fn two_trials_run_at_once_and_the_sbatch_script_runs_the_array_tasks_trial() {
    let data = require_mnist();
    let dir = std::env::temp_dir().join(format!("bpdl-cli-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    plan(&dir, &data);
    let plan_bytes = std::fs::read(dir.join("plan.jsonl")).unwrap();
    plan(&dir, &data); // planning again is a no-op
    assert_eq!(std::fs::read(dir.join("plan.jsonl")).unwrap(), plan_bytes);
    assert_eq!(String::from_utf8(plan_bytes).unwrap().lines().count(), 4);
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2"), "{script}");
    assert!(script.contains("#SBATCH --cpus-per-task=1"), "{script}");

    // two processes on two trials at once: neither touches the other's files
    let spawn = |k: &str| {
        Command::new(env!("CARGO_BIN_EXE_bpdl"))
            .args(["--threads", "1", "sweep", "run", dir.to_str().unwrap()])
            .args(["--trial", k])
            .output()
            .expect("bpdl runs")
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("0"));
        let b = s.spawn(|| spawn("3"));
        (a.join().unwrap(), b.join().unwrap())
    });
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!((result_id(&dir, 0), result_id(&dir, 3)), (0, 3));
    assert!(!dir.join("trials/1").exists() && !dir.join("trials/2").exists());

    // the job-array script, run as Slurm would run task 2, runs trial 2 and nothing else
    let o = Command::new("bash")
        .arg(dir.join("sweep.sbatch"))
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(result_id(&dir, 2), 2);
    assert!(!dir.join("trials/1").exists());
    // without an array index it refuses to guess
    let o = Command::new("bash")
        .arg(dir.join("sweep.sbatch"))
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("SLURM_ARRAY_TASK_ID"));

    // a finished trial is skipped; collect lists the unfinished one
    let o = spawn("3");
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped"));
    let o = bpdl(&["sweep", "collect", dir.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("3 of 4 trials finished"), "{table}");
    assert!(table.contains("Unfinished trials: 1 "), "{table}");
    assert_eq!(
        std::fs::read_to_string(dir.join("sweep.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_one_command_sweep_plans_runs_and_ranks() {
    let data = require_mnist();
    let dir = std::env::temp_dir().join(format!("bpdl-cli-sweep1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = vec![
        "--offline",
        "--threads",
        "2",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "sweep",
        "--variant",
        "learning.lr=0.01",
        "--variant",
        "learning.lr=0.02 inference.alpha=0.01",
        "--samples",
        "50",
    ];
    args.extend(TINY);
    let o = bpdl(&args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("2 of 2 trials finished"), "{table}");
    assert!(
        table.contains("`learning.lr=0.02 inference.alpha=0.01`"),
        "{table}"
    );
    assert!(dir.join("summary.md").is_file() && dir.join("summary.json").is_file());
    // bad input names what to fix
    let o = bpdl(
        &["sweep", "run", dir.to_str().unwrap(), "--shard", "2/2"],
        &[],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 ≤ I < N"));
    let o = bpdl(&["--seed", "2", "sweep", "run", dir.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("fixes every trial's seed"));
    let o = bpdl(&["sweep", "collect", "/nonexistent/sweep"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bpdl sweep plan"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The real Slurm run (opt-in: it installs Debian's slurmctld, slurmd and munge and starts a
/// single-node cluster as root): `cargo test -p bpdl-cli --test sweep -- --ignored slurm`.
#[test]
#[ignore = "needs root, apt-get and a few free ports: installs and starts a one-node Slurm \
            cluster (`cargo test -p bpdl-cli --test sweep -- --ignored slurm`)"]
fn slurm_runs_a_sweep_as_a_job_array() {
    let data = require_mnist();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/slurm-test");
    let o = Command::new("bash")
        .arg(script)
        .env("BPDL", env!("CARGO_BIN_EXE_bpdl"))
        .env("BPDL_DATA_DIR", data)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(log.contains("4 of 4 trials finished"), "{log}");
}
