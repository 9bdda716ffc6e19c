//! The report against a fixed, hand-built [`Results`]: every number printed must be the one in
//! the results, and each verdict must follow from its numbers (if a verdict's threshold or a
//! field it reads drifted, the report would state a false conclusion without failing anything).

use super::*;
use crate::config::Config;
use crate::eval::InferenceCurve;
use crate::reproduce::aggregate::{
    DataFile, DataFiles, Headline, InferenceHeadline, InpaintingHeadline, ParzenHeadlines,
    StdpSummary, Timings, TrainingSummary,
};
use crate::reproduce::evaluate::InferenceSummary;
use crate::reproduce::paper::PaperNumbers;
use crate::run::Provenance;
use crate::spiking::delta_rule::DeltaRuleReport;

fn headline(mean: f64, se: f64) -> Headline {
    Headline {
        mean,
        se,
        sigma: 0.2,
        sd_across_seeds: None,
        per_seed: vec![mean],
        samples: 10_000,
    }
}

fn inference(alpha: f32, first: f64, last: f64, px: [f64; 2]) -> InferenceHeadline {
    let curve = InferenceCurve {
        examples: 1000,
        steps: 20,
        log_pxh_mean: vec![first, last],
        log_pxh_se: vec![0.5, 0.5],
        noise_var: vec![1.0],
        log_px_given_h1_mean: px.to_vec(),
        terms: Vec::new(),
        alignment: Vec::new(),
        example_curves: Vec::new(),
        recon_mse: 0.01,
        recon_mse_start: 0.02,
    };
    InferenceHeadline {
        alpha,
        log_pxh_first: first,
        log_pxh_first_se: 0.5,
        log_pxh_last: last,
        log_pxh_last_se: 0.5,
        log_pxh_last_sd_across_seeds: None,
        terms: Vec::new(),
        alignment: Vec::new(),
        first_seed: InferenceSummary {
            log_pxh_first: first,
            log_pxh_first_se: 0.5,
            log_pxh_last: last,
            log_pxh_last_se: 0.5,
            curve,
        },
    }
}

/// GENERATE 230.4 ± 1.5, ancestral 150.2 ± 2.0; inference rises at α = 0.1 and falls at 0.3.
fn fixture() -> Results {
    let mut config = Config::default();
    config.generate.rounds = 7;
    Results {
        schema_version: crate::reproduce::aggregate::SCHEMA_VERSION,
        parzen: ParzenHeadlines {
            generate: headline(230.4, 1.5),
            ancestral: headline(150.2, 2.0),
            joint_dae: headline(180.0, 1.8),
            training_images: headline(239.0, 1.1),
        },
        priors: None,
        quality: None,
        inference: inference(0.1, -50.0, -40.0, [-30.0, -25.0]),
        inference_generate_alpha: inference(0.3, -50.0, -60.0, [-30.0, -35.0]),
        inpainting: InpaintingHeadline {
            mse_first: 0.33,
            mse_last: 0.05,
            mse_last_sd_across_seeds: None,
            mse_missing: vec![0.33, 0.1, 0.07, 0.05],
            examples: 200,
            missing_fraction: 0.5,
        },
        readout: None,
        stdp: StdpSummary {
            tau_plus_ms: Some(17.5),
            tau_minus_ms: Some(30.31),
            a_plus: Some(0.0123),
            a_minus: Some(-0.004),
            correlation_with_bi_poo: Some(0.987),
            delta_rule: DeltaRuleReport {
                w_least_squares: vec![],
                w_spiking: vec![],
                w_rate: vec![],
                w_true: vec![],
                relative_error_spiking: 0.0,
                relative_error_rate: 0.0,
                weight_error_spiking: 0.0,
                mse_least_squares: 0.0,
                mse_spiking: 0.0,
                mse_initial: 0.0,
                effective_learning_rate: 0.0,
                presentations: 0,
                steps: 0,
            },
            seconds: 12.0,
        },
        paper: PaperNumbers::default(),
        timings: Timings {
            train_seconds: vec![100.0],
            evaluation_seconds: vec![50.0],
            stdp_seconds: 12.0,
            total_seconds: 170.0,
        },
        seeds: vec![1],
        runs: vec!["runs/x/train-seed1".into()],
        quick: false,
        reused_run: false,
        machine: "test machine, 2 cores".into(),
        threads: 2,
        provenance: Provenance {
            bpdl_version: "0.1.0".into(),
            git_commit: "abc".into(),
            command: "bpdl reproduce".into(),
        },
        config,
        per_seed: Vec::new(),
        training: vec![TrainingSummary {
            seed: 1,
            link: "train-seed1".into(),
            epochs: 20,
            heldout: true,
            last_log_pxh_before: Some(-10.5),
            last_log_pxh_after: Some(-11.25),
        }],
        data: Some(DataFiles {
            dataset: crate::data::Dataset::Mnist,
            dir: "data/mnist".into(),
            files: crate::data::Dataset::Mnist
                .files()
                .iter()
                .enumerate()
                .map(|(i, f)| DataFile {
                    name: f.name.into(),
                    md5: if i == 3 { "0".repeat(32) } else { f.md5.into() },
                    official: i != 3,
                })
                .collect(),
        }),
        finished_utc: Some("20260102-030405".into()),
    }
}

/// Three seeds with distinct per-seed numbers (the second without a training record).
fn three_seeds() -> Results {
    let mut r = fixture();
    r.seeds = vec![1, 2, 3];
    r.runs = ["train-seed1", "train-seed2", "train-seed3"]
        .map(String::from)
        .to_vec();
    r.parzen.generate.per_seed = vec![231.25, 229.5, 230.75];
    r.parzen.ancestral.per_seed = vec![150.0, 151.0, 149.5];
    r.parzen.joint_dae.per_seed = vec![180.0, 181.0, 179.0];
    r.timings.train_seconds = vec![100.0, 101.0, 102.0];
    let mut third = r.training[0].clone();
    third.seed = 3;
    third.link = "train-seed3".into();
    third.last_log_pxh_after = Some(-12.5);
    r.training.push(third);
    r
}

#[test]
fn the_table_prints_each_measured_score_beside_the_papers() {
    let md = report(&fixture()).markdown();
    assert!(
        md.contains("| GENERATE (Algorithm 2) | 236 | 230.4 ± 1.5, σ = 0.200 |"),
        "{md}"
    );
    assert!(
        md.contains("| Ancestral sampling, same model | 126 | 150.2 ± 2.0, σ = 0.200 |"),
        "{md}"
    );
    // gap 80.2: positive, written with its sign, against the paper's +110
    assert!(
        md.contains("GENERATE − ancestral: +80.2 nats (paper +110)"),
        "{md}"
    );
}

#[test]
fn captions_follow_the_configuration_and_the_measured_curve() {
    let md = report(&fixture()).markdown();
    assert!(md.contains("7 rounds of INFERENCE (α = 0.3)"), "{md}");
    // four MSE values: the start and three iterations
    assert!(md.contains("3 encode/decode iterations"), "{md}");
    assert!(
        md.contains("0.3300 (noise) → 0.1000 after the first iteration → 0.0500"),
        "{md}"
    );
    assert!(md.contains("τ₊ = 17.5 ms, τ₋ = 30.3 ms"), "{md}");
    assert!(md.contains("STDP simulation: 12 s"), "{md}");
}

#[test]
fn the_prior_table_appears_only_when_measured_and_marks_the_run_s_own() {
    use crate::reproduce::aggregate::{PriorHeadline, PriorHeadlines};
    let mut r = fixture();
    // the paper's preset: the diagonal prior is the run's own
    r.config.train.prior_covariance = crate::config::PriorCovariance::Diagonal;
    assert!(!report(&r).markdown().contains("The top prior p(h2)"));
    let prior = |g: f64, a: f64| PriorHeadline {
        generate: headline(g, 1.0),
        ancestral: headline(a, 1.0),
        generate_quality: None,
        ancestral_quality: None,
    };
    r.priors = Some(PriorHeadlines {
        diagonal: prior(230.4, 150.2),
        full: prior(233.0, 200.0),
        lateral: prior(210.0, 170.5),
    });
    let md = report(&r).markdown();
    // the fixture's config is the default (diagonal): its row is marked, the gaps are computed
    assert!(md.contains("| diagonal * |"), "{md}");
    assert!(md.contains("+33.0"), "{md}");
    assert!(md.contains("+39.5"), "{md}");
}

#[test]
fn the_parzen_verdict_compares_with_the_paper_and_the_gan() {
    // within 1 nat of 236 and a gap of 100 or more
    assert_eq!(
        verdict(235.5, 105.0),
        "GENERATE matches the paper's 236. The gap to ancestral sampling is reproduced."
    );
    // between the GAN's 225 and the paper
    assert!(verdict(230.0, 50.0).starts_with("GENERATE is 6 nats below the paper's 236 but"));
    // below the GAN; the gap short of 110 by 60
    let v = verdict(200.0, 50.0);
    assert!(
        v.contains("falls short of the paper's 236 by 36 nats"),
        "{v}"
    );
    assert!(v.contains("smaller than the paper's by 60 nats"), "{v}");
}

#[test]
fn the_fig4_verdict_reads_the_trend_against_two_standard_errors() {
    let r = fixture();
    let v = fig4_verdict(&r.inference, &r.inference_generate_alpha);
    assert_eq!(
        v,
        "At α = 0.1 the mean rises, as in the paper's Fig. 4; at α = 0.3 it falls, unlike the \
         paper's Fig. 4."
    );
    // a change of 0.9 < 2 × 0.5 is flat
    let flat = inference(0.1, -50.0, -49.1, [-30.0, -30.0]);
    assert!(fig4_verdict(&flat, &flat).contains("stays flat"));
    // falling while the reconstruction term improves: the explanation is added
    let falls = inference(0.1, -50.0, -60.0, [-30.0, -20.0]);
    assert!(fig4_verdict(&falls, &flat).contains("targetprop moves h1"));
}

#[test]
fn the_quality_table_prints_every_measure_and_compares_generate_with_ancestral() {
    use crate::eval::classifier::{ClassifierInfo, ClassifierSettings};
    use crate::reproduce::aggregate::{Across, QualityHeadline, QualityHeadlines};
    let mut r = fixture();
    assert!(
        !report(&r)
            .markdown()
            .contains("Sample quality beyond Parzen")
    );
    let one = |v: f64| Across::of(vec![v]);
    let q = |fid: f64, precision: f64, top: usize| QualityHeadline {
        fid: one(fid),
        inception_score: one(8.5),
        precision: one(precision),
        recall: one(0.5),
        class_histogram: (0..10)
            .map(|c| if c == top { 0.19 } else { 0.09 })
            .collect(),
        mean_pixel: one(0.1234),
    };
    r.quality = Some(QualityHeadlines {
        classifier: ClassifierInfo {
            dataset: crate::data::Dataset::Mnist,
            seed: 1,
            test_accuracy: 0.9834,
            validation_accuracy: 0.9822,
            train_seconds: 30.0,
            cached: true,
            cache_file: None,
            cache_note: None,
            settings: ClassifierSettings::default(),
        },
        generate: q(12.5, 0.7, 3),
        ancestral: q(20.25, 0.6, 3),
        joint_dae: q(15.0, 0.65, 1),
        training_images: q(0.86, 0.87, 1),
        test_halves: q(0.62, 0.88, 1),
    });
    let md = report(&r).markdown();
    assert!(md.contains("98.34 %"), "{md}");
    assert!(
        md.contains("| GENERATE | 12.50 | 8.50 | 0.700 | 0.500 | 0.1234 | 3 19.0 %, 0 9.0 % |"),
        "{md}"
    );
    assert!(
        md.contains("GENERATE is better than ancestral sampling on FID (12.50 vs 20.25)"),
        "{md}"
    );
    // and the other way round
    if let Some(q) = r.quality.as_mut() {
        q.generate.fid = one(30.0);
    }
    let md = report(&r).markdown();
    assert!(
        md.contains("GENERATE is not better than ancestral sampling on FID"),
        "{md}"
    );
}

/// The per-seed table: one row per seed with that seed's numbers (a row short of a seed, or a
/// number taken from another seed, would misreport the spread across seeds).
#[test]
fn the_per_seed_table_has_one_row_per_seed_with_its_own_numbers() {
    let r = three_seeds();
    let rep = report(&r);
    let table = rep
        .blocks
        .iter()
        .skip_while(|b| !matches!(b, Block::Heading(2, t) if t == "Per seed"))
        .find_map(|b| match b {
            Block::Table(head, rows) => Some((head.clone(), rows.clone())),
            _ => None,
        })
        .expect("a per-seed table");
    let (head, rows) = table;
    assert_eq!(rows.len(), r.seeds.len());
    assert!(rows.iter().all(|row| row.len() == head.len()));
    assert_eq!(
        rows.iter().map(|row| row[0].as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert_eq!(rows[1][1], "229.5");
    assert_eq!(rows[2][3], "179.0");
    // the training record of seed 3, none for seed 2
    assert!(
        rows[2].contains(&"-10.50 → -12.50".to_string()),
        "{:?}",
        rows[2]
    );
    assert!(rows[1].contains(&"—".to_string()), "{:?}", rows[1]);
    assert!(rows[2].last().unwrap().contains("(train-seed3)"));
    let md = rep.markdown();
    assert!(md.contains("| 3 | 230.8 | 149.5 | 179.0 |"), "{md}");
}

/// One training-curve figure per seed with its epoch count, and a plain sentence for a seed
/// whose run has no metrics (rather than a figure that does not exist).
#[test]
fn each_seed_has_its_training_curves_or_says_why_not() {
    let rep = report(&three_seeds());
    let charts: Vec<&Vec<String>> = rep
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Chart(stems, caption) if caption.starts_with("Seed ") => Some(stems),
            _ => None,
        })
        .collect();
    assert_eq!(
        charts,
        [
            &figures::training_files(1).to_vec(),
            &figures::training_files(3).to_vec()
        ]
    );
    let md = rep.markdown();
    assert!(
        md.contains("*Seed 1: 20 epochs (`train-seed1/metrics.jsonl`)*"),
        "{md}"
    );
    assert!(md.contains("Seed 2: no training curve"), "{md}");
    assert!(md.contains("held-out validation images"), "{md}");
}

#[test]
fn the_reproduce_block_gives_the_command_the_commit_the_md5s_and_links() {
    let mut r = fixture();
    r.provenance.command = "bpdl reproduce --seeds 1".into();
    let md = report(&r).markdown();
    let block = &md[md.find("## Reproduce this").expect("the section")..];
    assert!(
        block.contains("commit `abc`, finished 20260102-030405 UTC"),
        "{block}"
    );
    assert!(
        block.contains("```sh\nbpdl reproduce --seeds 1\n```"),
        "{block}"
    );
    assert!(
        block.contains("The data: mnist from `data/mnist`."),
        "{block}"
    );
    for f in crate::data::Dataset::Mnist.files().iter().take(3) {
        let row = format!("| `{}` | `{}` | yes |", f.name, f.md5);
        assert!(block.contains(&row), "{row}: {block}");
    }
    // a file whose MD5 is not the official one says so
    let row = format!("| `{}` | **no** |", "0".repeat(32));
    assert!(block.contains(&row), "{row}: {block}");
    for link in [
        "[results.json](results.json)",
        "[config.toml](config.toml)",
        "[metrics.jsonl](train-seed1/metrics.jsonl)",
        "[config.toml](train-seed1/config.toml)",
        "[checkpoint.safetensors](train-seed1/checkpoint.safetensors)",
    ] {
        assert!(block.contains(link), "{link}: {block}");
    }
    // without recorded MD5s the block says so rather than leaving them out silently
    r.data = None;
    assert!(report(&r).markdown().contains("MD5s were not recorded"));
    // a run folder outside the reproduction, with a space: still one link
    r.training[0].link = "/runs/my run".into();
    assert!(
        report(&r)
            .markdown()
            .contains("[metrics.jsonl](</runs/my run/metrics.jsonl>)")
    );
}

#[test]
fn the_parzen_caveat_is_one_sentence_citing_theis_et_al() {
    for measured in [true, false] {
        let c = parzen_caveat(measured);
        assert!(c.contains("Theis, van den Oord & Bethge 2016"), "{c}");
        assert_eq!(c.matches(". ").count(), 0, "one sentence: {c}");
        assert!(c.ends_with('.'));
    }
    assert!(parzen_caveat(false).contains("not run here"));
    assert!(
        report(&fixture())
            .markdown()
            .contains(&parzen_caveat(false))
    );
}

/// The contents list every section, and the HTML's anchors are those the contents link.
#[test]
fn the_readout_line_appears_only_when_measured_with_its_numbers() {
    use crate::reproduce::aggregate::ReadoutHeadline;
    let mut r = fixture();
    assert!(!report(&r).markdown().contains("linear readout"));
    r.readout = Some(ReadoutHeadline {
        test_accuracy: 0.9512,
        test_accuracy_sd_across_seeds: None,
        train_accuracy: 0.9634,
        feed_forward_test_accuracy: 0.9401,
        layer: "h2".into(),
        code_width: 100,
        target: 0.95,
        all_layers_test_accuracy: Some(0.9745),
        all_layers: Some("h1+h2".into()),
    });
    let md = report(&r).markdown();
    for needle in [
        "(h2, 100 units)",
        "test accuracy 95.12 %",
        "training 96.34",
        "94.01 %",
        "(h1+h2): test accuracy 97.45 %",
    ] {
        assert!(md.contains(needle), "{needle}: {md}");
    }
}

#[test]
fn the_contents_list_every_section_with_matching_anchors() {
    let rep = report(&fixture());
    let md = rep.markdown();
    for a in rep.anchors().iter().filter(|a| a.level == 2) {
        assert!(
            md.contains(&format!("- [{}](#{})", a.text, a.id)),
            "{}: {md}",
            a.id
        );
    }
    for section in [
        "Per seed",
        "Training curves",
        "Reproduce this",
        "Configuration",
    ] {
        assert!(
            rep.anchors().iter().any(|a| a.text == section),
            "{section} missing"
        );
    }
}

/// Every figure the report shows is one the reproduction writes, under the name figures.rs
/// gives it: a figure renamed on one side only would leave `report.html` unwritable (or
/// `report.md` with a broken image).
#[test]
fn the_report_shows_exactly_the_figures_the_reproduction_writes() {
    use crate::sampling::Method;
    let r = three_seeds();
    let mut written: Vec<String> = [Method::Generate, Method::Ancestral, Method::JointDae]
        .map(figures::fig3_file)
        .to_vec();
    written.push(files::FIG5.into());
    for stem in [files::FIG1, files::FIG4] {
        written.extend([format!("{stem}.png"), format!("{stem}.svg")]);
    }
    for t in r.training.iter().filter(|t| t.epochs > 0) {
        for stem in figures::training_files(t.seed) {
            written.extend([format!("{stem}.png"), format!("{stem}.svg")]);
        }
    }
    let mut shown = report(&r).files();
    shown.sort();
    written.sort();
    assert_eq!(shown, written);
}

/// The page renders with every figure present, and fails naming the figure when one is
/// missing, rather than writing a page with a hole in it.
#[test]
fn the_html_page_fails_when_a_figure_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let rep = report(&fixture());
    let svg = "<svg width=\"9\" height=\"6\" viewBox=\"0 0 9 6\" \
               xmlns=\"http://www.w3.org/2000/svg\"></svg>";
    for f in rep.files() {
        let bytes: &[u8] = if f.ends_with(".svg") {
            svg.as_bytes()
        } else {
            b"\x89PNG"
        };
        std::fs::write(dir.path().join(&f), bytes).unwrap();
    }
    let html = rep.html(TITLE, dir.path()).unwrap();
    // every chart inlined as SVG, every grid embedded as a PNG data URI
    let charts = rep
        .blocks
        .iter()
        .map(|b| match b {
            Block::Chart(stems, _) => stems.len(),
            _ => 0,
        })
        .sum::<usize>();
    assert_eq!(html.matches("<svg role=\"img\"").count(), charts);
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 4);
    assert!(
        !html.contains("<img alt=\"log p(x, h)"),
        "charts are not <img>"
    );
    let [losses, _] = figures::training_files(1);
    std::fs::remove_file(dir.path().join(format!("{losses}.svg"))).unwrap();
    let e = rep.html(TITLE, dir.path()).unwrap_err().to_string();
    assert!(e.contains(&losses), "{e}");
}
