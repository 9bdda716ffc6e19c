//! The report against a fixed, hand-built [`Results`]: every number printed must be the one in
//! the results, and each verdict must follow from its numbers (if a verdict's threshold or a
//! field it reads drifted, the report would state a false conclusion without failing anything).

use super::*;
use crate::config::Config;
use crate::eval::InferenceCurve;
use crate::reproduce::aggregate::{
    Headline, InferenceHeadline, InpaintingHeadline, ParzenHeadlines, StdpSummary, Timings,
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
    }
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
