//! The sweep contract (one trial = one process): the plan is a pure function of its spec,
//! shards partition the trials, a finished trial is never run again, a killed one resumes to
//! the same result as an uninterrupted one, a trial held by another process is refused, and
//! `collect` ranks by the validation score alone.

mod common;

use std::path::Path;

use bpdl::data::{Dataset, Mnist, Split};
use bpdl::run::{Existing, Provenance, TrainingData, train_in_dir};
use bpdl::sweep::{self, Outcome, Score, Shard, SweepSpec};
use bpdl::{Config, Device, Error};

fn split(n: usize, seed: u64) -> Split {
    let images = common::manifold_data(n, 16, 3, seed);
    let labels = (0..n).map(|i| (i * 7 % 10) as u8).collect();
    Split { images, labels }
}

fn data() -> Mnist {
    Mnist {
        dataset: Dataset::Mnist,
        dir: "synthetic".into(),
        train: split(200, 1),
        validation: split(60, 2),
        test: split(60, 3),
        image_shape: (4, 4),
    }
}

fn base() -> Config {
    let mut c = common::small_config(12, 4);
    c.train.epochs = 2;
    c.train.heldout_examples = 0;
    c.train.tensorboard = false;
    c.seed = 5;
    c
}

fn spec(axes: &[&str], seeds: usize) -> SweepSpec {
    SweepSpec {
        axes: axes.iter().map(|s| s.to_string()).collect(),
        variants: Vec::new(),
        seeds,
        score: Score::ValidationParzen,
        samples: Some(40),
        full_prior: false,
        data_dir: None,
        base_config: bpdl::config::to_toml_string(&base()).unwrap(),
    }
}

fn provenance() -> Provenance {
    Provenance {
        bpdl_version: "test".into(),
        git_commit: "test".into(),
        command: "sweep test".into(),
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("bpdl-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn the_plan_is_every_setting_times_every_seed_and_the_same_bytes_each_time() {
    let s = spec(
        &["learning.lr=0.01,0.02,0.04", "inference.alpha=0.001,0.01"],
        2,
    );
    let (a, b) = (tmp("plan-a"), tmp("plan-b"));
    let pa = sweep::write_plan(&a, &s).unwrap();
    sweep::write_plan(&b, &s).unwrap();
    assert_eq!(
        read(&a.join("plan.jsonl")),
        read(&b.join("plan.jsonl")),
        "planning twice writes the same plan"
    );
    assert_eq!(pa.trials.len(), 3 * 2 * 2);
    for t in &pa.trials {
        // setting-major: setting s, seed i has id s·seeds + i and seed base + i
        assert_eq!(t.id, t.setting * 2 + (t.seed - 5) as usize);
        assert!(t.seed == 5 || t.seed == 6);
        assert_eq!(t.overrides.len(), 2);
    }
    // the 6 settings are the 6 distinct combinations
    let mut settings: Vec<_> = pa.trials.iter().map(|t| t.overrides.join(" ")).collect();
    settings.dedup();
    assert_eq!(settings.len(), 6);
    settings.sort();
    settings.dedup();
    assert_eq!(settings.len(), 6);
    // the loaded plan is the written one
    assert_eq!(sweep::load(&a).unwrap(), pa);
    // planning the same sweep into its folder again is a no-op; another sweep is refused
    assert_eq!(sweep::write_plan(&a, &s).unwrap(), pa);
    let other = spec(&["learning.lr=0.01"], 2);
    let e = sweep::write_plan(&a, &other).unwrap_err().to_string();
    assert!(e.contains("another sweep"), "{e}");
    for d in [a, b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn bad_plans_are_refused_before_any_trial_runs() {
    let d = tmp("bad");
    let e = sweep::write_plan(&d, &spec(&["learning.lr=0.01,-1"], 1)).unwrap_err();
    assert!(e.to_string().contains("learning.lr=-1"), "{e}");
    let e = sweep::write_plan(&d, &spec(&["seed=1,2"], 1)).unwrap_err();
    assert!(e.to_string().contains("--seeds"), "{e}");
    let e = sweep::write_plan(&d, &spec(&["learning.lr=0.01"], 0)).unwrap_err();
    assert!(e.to_string().contains("at least one seed"), "{e}");
    let mut s = spec(&["learning.lr=0.01"], 1);
    s.score = Score::ValidationError;
    let e = sweep::write_plan(&d, &s).unwrap_err();
    assert!(e.to_string().contains("supervised.enabled"), "{e}");
    assert!(!d.join("plan.jsonl").exists());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn shards_partition_the_trials_exactly() {
    for trials in [0usize, 1, 5, 12, 23] {
        for count in 1..=7 {
            let mut seen = vec![0usize; trials];
            for index in 0..count {
                let shard: Shard = format!("{index}/{count}").parse().unwrap();
                for id in shard.ids(trials) {
                    assert_eq!(id % count, index);
                    seen[id] += 1;
                }
            }
            assert!(
                seen.iter().all(|&n| n == 1),
                "{trials} trials, {count} shards"
            );
        }
    }
    for bad in ["3/3", "1/0", "a/2", "2", "-1/2"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}

#[test]
fn a_finished_trial_is_not_run_again_and_a_killed_one_resumes_to_the_same_result() {
    let dev = Device::cpu(2).unwrap();
    let data = data();
    let s = spec(&["learning.lr=0.01,0.02"], 1);
    let (a, b) = (tmp("run-a"), tmp("run-b"));
    let sa = sweep::write_plan(&a, &s).unwrap();
    let sb = sweep::write_plan(&b, &s).unwrap();
    let p = provenance();

    // uninterrupted trial 1 in sweep a
    let first = sweep::run_trial(&dev, &sa, 1, &data, &p, &mut ()).unwrap();
    let Outcome::Ran(r) = &first else {
        panic!("a new trial runs")
    };
    let scores = r.scores.expect("scored");
    assert!(scores.validation.is_finite() && scores.test.unwrap().is_finite());
    assert!(
        !sa.trial_dir(0).exists(),
        "only trial 1's folder is touched"
    );
    let result = sa.trial_dir(1).join("result.json");
    let (bytes, modified) = (
        read(&result),
        std::fs::metadata(sa.trial_dir(1).join("run/checkpoint.safetensors"))
            .unwrap()
            .modified()
            .unwrap(),
    );
    // running it again does nothing
    let again = sweep::run_trial(&dev, &sa, 1, &data, &p, &mut ()).unwrap();
    assert!(matches!(again, Outcome::AlreadyDone(_)));
    assert_eq!(again.result(), first.result());
    assert_eq!(read(&result), bytes);
    let ckpt = sa.trial_dir(1).join("run/checkpoint.safetensors");
    assert_eq!(
        std::fs::metadata(ckpt).unwrap().modified().unwrap(),
        modified
    );

    // trial 1 of sweep b killed after its first epoch: its run folder holds epoch 1 only
    let trial = sb.trial(1).unwrap();
    let mut one_epoch = trial.config(&sb.spec.base().unwrap()).unwrap();
    one_epoch.train.epochs = 1;
    let run = sb.trial_dir(1).join("run");
    let t = TrainingData::from_dataset(&data);
    train_in_dir(&dev, &one_epoch, &t, &run, &p, Existing::Refuse, &mut ()).unwrap();
    assert_eq!(bpdl::run::read_metrics(&run).unwrap().len(), 1);
    let resumed = sweep::run_trial(&dev, &sb, 1, &data, &p, &mut ()).unwrap();
    assert!(matches!(resumed, Outcome::Ran(_)));
    assert_eq!(bpdl::run::read_metrics(&run).unwrap().len(), 2);
    assert_eq!(
        resumed.result().scores,
        first.result().scores,
        "resuming gives the uninterrupted trial's scores exactly"
    );
    for d in [a, b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_trial_held_by_another_process_is_refused_at_once() {
    let dev = Device::cpu(1).unwrap();
    let d = tmp("locked");
    let s = sweep::write_plan(&d, &spec(&["learning.lr=0.01"], 1)).unwrap();
    std::fs::create_dir_all(s.trial_dir(0)).unwrap();
    let _held = bpdl::run::lock::RunLock::acquire(&s.trial_dir(0), "another").unwrap();
    let e = sweep::run_trial(&dev, &s, 0, &data(), &provenance(), &mut ()).unwrap_err();
    assert!(matches!(e, Error::RunLocked { .. }), "{e}");
    assert!(!s.trial_dir(0).join("result.json").exists());
    let e = sweep::run_trial(&dev, &s, 1, &data(), &provenance(), &mut ()).unwrap_err();
    assert!(e.to_string().contains("trials 0 to 0"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

/// Writes a finished result for trial `id` with the given validation and test scores.
fn fake_result(s: &sweep::Sweep, id: usize, validation: Option<f64>, test: f64) {
    let scores = validation
        .map(|v| serde_json::json!({"score": s.spec.score, "validation": v, "test": test}));
    let mut r = serde_json::json!({
        "id": id, "setting": s.trials[id].setting, "overrides": s.trials[id].overrides,
        "seed": s.trials[id].seed, "scores": scores, "train_seconds": 10.0,
        "score_seconds": 1.0, "final_epoch": null,
        "provenance": {"bpdl_version": "t", "git_commit": "t", "command": "t"},
        "machine": "m", "threads": 1, "finished": "now"
    });
    if validation.is_none() {
        r["error"] = "non-finite value".into();
    }
    let dir = s.trial_dir(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.json"), r.to_string()).unwrap();
}

#[test]
fn collect_ranks_settings_by_their_mean_validation_score_and_shows_test_for_the_chosen_only() {
    for score in [Score::ValidationParzen, Score::ValidationError] {
        let d = tmp(&format!("collect-{score}"));
        let mut s = spec(&["learning.lr=0.01,0.02,0.04"], 2);
        if score == Score::ValidationError {
            let mut c = base();
            c.supervised.enabled = true;
            c.model.layers[1].size = 10;
            s.base_config = bpdl::config::to_toml_string(&c).unwrap();
        }
        s.score = score;
        let sw = sweep::write_plan(&d, &s).unwrap();
        // setting 0: 1 and 3 (mean 2, sd √2); setting 1: 5 and 6 (5.5); setting 2: 4, diverged
        fake_result(&sw, 0, Some(1.0), 100.0);
        fake_result(&sw, 1, Some(3.0), 102.0);
        fake_result(&sw, 2, Some(5.0), 200.0);
        fake_result(&sw, 3, Some(6.0), 203.0);
        fake_result(&sw, 4, Some(4.0), 300.0);
        fake_result(&sw, 5, None, 0.0);
        let m = sweep::collect(&sw).unwrap();
        assert_eq!((m.planned, m.finished), (6, 6));
        let order: Vec<usize> = m.settings.iter().map(|r| r.setting).collect();
        let (best, best_test) = if score.higher_is_better() {
            assert_eq!(order, [1, 2, 0]);
            (5.5, 201.5)
        } else {
            assert_eq!(order, [0, 2, 1]);
            (2.0, 101.0)
        };
        let top = &m.settings[0];
        assert_eq!(top.rank, 1);
        assert_eq!(top.validation.unwrap().mean, best);
        assert_eq!(top.test.unwrap().mean, best_test);
        assert!(m.settings[1..].iter().all(|r| r.test.is_none()));
        let s0 = m.settings.iter().find(|r| r.setting == 0).unwrap();
        assert!((s0.validation.unwrap().sd - 2f64.sqrt()).abs() < 1e-12);
        let s2 = m.settings.iter().find(|r| r.setting == 2).unwrap();
        assert_eq!(
            (s2.finished, s2.diverged, s2.validation.unwrap().n),
            (2, 1, 1)
        );
        let jsonl = std::fs::read_to_string(d.join("sweep.jsonl")).unwrap();
        assert_eq!(jsonl.lines().count(), 6);
        let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
        assert!(md.contains("1 diverged"), "{md}");
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn an_unfinished_trial_is_listed_as_pending() {
    let d = tmp("pending");
    let sw = sweep::write_plan(&d, &spec(&["learning.lr=0.01,0.02"], 1)).unwrap();
    fake_result(&sw, 1, Some(1.0), 2.0);
    let m = sweep::collect(&sw).unwrap();
    assert_eq!(m.pending, [0]);
    assert_eq!(m.settings[0].setting, 1);
    assert_eq!(
        m.settings[1].rank, 0,
        "a setting without a score is not ranked"
    );
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn scores_parse_and_know_their_direction() {
    for s in Score::ALL {
        assert_eq!(s.name().parse::<Score>().unwrap(), s);
    }
    assert_eq!(Score::ValidationParzen.direction(), "maximize");
    assert_eq!(Score::ValidationError.direction(), "minimize");
    assert!(Score::ValidationParzen.better(2.0, 1.0));
    assert!(Score::ValidationError.better(1.0, 2.0));
    assert!(Score::ValidationError.better(1.0, f64::NAN));
    assert!(!Score::ValidationParzen.better(f64::NAN, 1.0));
    let e = "parzen".parse::<Score>().unwrap_err().to_string();
    assert!(e.contains("validation-parzen"), "{e}");
}

#[test]
fn a_supervised_trial_is_scored_by_the_error_that_eval_classify_reports() {
    let dev = Device::cpu(2).unwrap();
    let data = data();
    let d = tmp("classify");
    let mut c = base();
    c.supervised.enabled = true;
    c.supervised.baseline = false;
    c.model.layers[1].size = 10;
    let mut s = spec(&["learning.lr=0.01"], 1);
    s.base_config = bpdl::config::to_toml_string(&c).unwrap();
    s.score = Score::ValidationError;
    let sw = sweep::write_plan(&d, &s).unwrap();
    let o = sweep::run_trial(&dev, &sw, 0, &data, &provenance(), &mut ()).unwrap();
    let scores = o.result().scores.unwrap();
    let run = sw.trial_dir(0).join("run");
    let report =
        bpdl::eval::classify::classify_run(&dev, &run, &data, bpdl::data::SplitName::Test).unwrap();
    assert_eq!(scores.validation, report.validation_error);
    assert_eq!(scores.test, report.test_error);
    assert_eq!(scores.classify.unwrap().rule, report.rule);
    std::fs::remove_dir_all(d).unwrap();
}
