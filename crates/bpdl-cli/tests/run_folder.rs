//! One run folder, many processes: a second `bpdl train` into a folder where one is training is
//! refused at once naming the first; a run killed with SIGKILL leaves a lock that does not
//! block; a run killed before its first checkpoint resumes from its `config.toml`, and ends
//! bit-identical to a run never interrupted.

mod common;

use common::require_mnist;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TINY: [&str; 10] = [
    "--set",
    "data.train_limit=300",
    "--set",
    "train.batch_size=50",
    "--set",
    "model.layers[0].size=32",
    "--set",
    "model.layers[1].size=8",
    "--set",
    "inference.steps=3",
];

fn cmd(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bpdl"));
    c.args(["--offline", "--threads", "2", "--data-dir"])
        .arg(data)
        .args(args);
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    cmd(data, args).output().expect("bpdl runs")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A checkpoint's header (tensor names, offsets, metadata) as JSON and its tensor bytes.
fn checkpoint_parts(dir: &Path) -> (serde_json::Value, Vec<u8>) {
    let b = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    (
        serde_json::from_slice(&b[8..8 + n]).unwrap(),
        b[8 + n..].to_vec(),
    )
}

#[test]
fn a_second_process_is_refused_naming_the_first_and_a_killed_ones_lock_does_not_block() {
    let data = require_mnist();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let mut args = vec!["train", "--out", out_s, "--set", "train.epochs=1000"];
    args.extend(TINY);
    let mut first = cmd(&data, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // wait until it holds the lock (its PID is written there once it has it)
    let lock = out.join(".lock");
    let pid_line = format!("pid {}\n", first.id());
    let t = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.starts_with(&pid_line)) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the first run never locked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for second in [
        vec!["train", "--out", out_s],
        vec!["train", "--resume", out_s],
    ] {
        let started = Instant::now();
        let r = run(&data, &second);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{second:?} was not refused");
        assert!(err.contains("another bpdl process"), "{err}");
        assert!(err.contains(&format!("PID {}", first.id())), "{err}");
        assert!(err.contains("train --out"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "refused at once"
        );
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    // the lock file is still there, but its lock died with the process
    assert!(lock.exists());
    let r = run(
        &data,
        &["train", "--resume", out_s, "--set", "train.epochs=1"],
    );
    ok(&r);
}

#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_its_config_bit_for_bit() {
    let data = require_mnist();
    let dir = tempfile::tempdir().unwrap();
    let (killed, straight) = (dir.path().join("killed"), dir.path().join("straight"));
    let mut args = vec!["train", "--set", "train.epochs=2"];
    args.extend(TINY);
    let mut a = args.clone();
    a.extend(["--out", straight.to_str().unwrap()]);
    ok(&run(&data, &a));
    // what a run killed during its first epoch leaves: its config.toml and run.json, a torn
    // metrics line, no checkpoint
    std::fs::create_dir_all(&killed).unwrap();
    for f in ["config.toml", "run.json"] {
        std::fs::copy(straight.join(f), killed.join(f)).unwrap();
    }
    std::fs::write(killed.join("metrics.jsonl"), "{\"epoch\": 1, \"secon").unwrap();
    let r = run(&data, &["train", "--resume", killed.to_str().unwrap()]);
    ok(&r);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("no checkpoint yet"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let ((ha, da), (hb, db)) = (checkpoint_parts(&killed), checkpoint_parts(&straight));
    assert_eq!(ha, hb, "checkpoint headers (metadata included)");
    assert!(da == db, "the tensors differ");
    let epochs = |d: &Path| -> Vec<u64> {
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(epochs(&killed), vec![1, 2]);
    // and a folder with nothing to resume says so
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = run(&data, &["train", "--resume", empty.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("no run to resume"),
        "{err}"
    );
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_training_naming_the_file_and_keeps_the_last_checkpoint() {
    let data = require_mnist();
    let dir = tempfile::tempdir().unwrap();
    // the same run on a roomy disk: what one epoch leaves, and its size
    let roomy = dir.path().join("roomy");
    let mut args = vec!["train", "--set", "train.epochs=1"];
    args.extend(TINY);
    let mut a = args.clone();
    a.extend(["--out", roomy.to_str().unwrap()]);
    ok(&run(&data, &a));
    let size = |d: &Path| -> u64 {
        walk(d)
            .iter()
            .map(|p| p.metadata().unwrap().len().div_ceil(4096) * 4096)
            .sum()
    };
    let ckpt = std::fs::metadata(roomy.join("checkpoint.safetensors"))
        .unwrap()
        .len();
    // room for the first epoch's files but not for the second checkpoint beside the first
    let room = (size(&roomy) + ckpt / 2).div_ceil(4096) * 4096;
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={room}"), "tmpfs"])
        .arg(&small)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        // not root, or no mount namespace: the injected full disk of
        // `run::tests::a_full_disk_keeps_the_previous_file_and_says_so` covers the write path
        eprintln!("cannot mount a tmpfs here ({mounted:?}): the real full disk is not tested");
        return;
    }
    let _guard = Mounted(small.clone());
    let out = small.join("run");
    let mut b = vec!["train", "--set", "train.epochs=3"];
    b.extend(TINY);
    b.extend(["--out", out.to_str().unwrap()]);
    let r = run(&data, &b);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success(),
        "training on a full disk succeeded: {err}"
    );
    assert!(err.contains("disk is full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("checkpoint.safetensors"), "{err}");
    let leftovers: Vec<_> = walk(&out)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // nothing saved was lost: moved to a roomy disk, the run resumes and ends as a run that
    // never met a full disk
    let moved = dir.path().join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    for f in walk(&out) {
        if f.parent() == Some(out.as_path()) {
            std::fs::copy(&f, moved.join(f.file_name().unwrap())).unwrap();
        }
    }
    ok(&run(&data, &["train", "--resume", moved.to_str().unwrap()]));
    let straight = dir.path().join("straight");
    let mut c = vec!["train", "--set", "train.epochs=3"];
    c.extend(TINY);
    c.extend(["--out", straight.to_str().unwrap()]);
    ok(&run(&data, &c));
    let ((ha, da), (hb, db)) = (checkpoint_parts(&moved), checkpoint_parts(&straight));
    assert_eq!(ha, hb, "checkpoint headers");
    assert!(
        da == db,
        "the resumed run's tensors differ from the uninterrupted run's"
    );
}

fn walk(d: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
