//! The reproduction's results across seeds, typed: each headline is the mean over seeds of one
//! seed's number, with the across-seed sample standard deviation when there are two seeds or
//! more and the per-seed standard error averaged over seeds (`results.json`, read back by the
//! report). [`SCHEMA_VERSION`] changes whenever a field is renamed or removed.

use serde::{Deserialize, Serialize};

use super::evaluate::{Evaluation, InferenceSummary, SamplerScore};
use super::paper::PaperNumbers;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::run::Provenance;
use crate::spiking::StdpReport;
use crate::spiking::delta_rule::DeltaRuleReport;
use crate::stats;

/// The version of the `results.json` layout.
pub const SCHEMA_VERSION: u32 = 1;

/// A Parzen headline: one sampler's score over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Mean over seeds of the mean test log-likelihood (nats).
    pub mean: f64,
    /// The per-seed standard error, averaged over seeds.
    pub se: f64,
    /// The chosen σ, averaged over seeds.
    pub sigma: f64,
    /// Sample standard deviation of the seeds' means (two seeds or more).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sd_across_seeds: Option<f64>,
    /// Samples per seed.
    pub samples: usize,
}

/// The Parzen table across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParzenHeadlines {
    /// GENERATE (Algorithm 2).
    pub generate: Headline,
    /// Ancestral sampling.
    pub ancestral: Headline,
    /// The §5.1 joint-DAE chain.
    pub joint_dae: Headline,
    /// Training images as samples (the estimator's ceiling).
    pub training_images: Headline,
    /// GENERATE with the other kind of top prior (when every seed measured it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub generate_other_prior: Option<Headline>,
    /// Ancestral sampling with the other kind of top prior.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ancestral_other_prior: Option<Headline>,
}

/// Fig. 4 across seeds, with the first seed's whole curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceHeadline {
    /// α of the inference.
    pub alpha: f32,
    /// Mean over seeds of log p(x, h) at the feed-forward start.
    pub log_pxh_first: f64,
    /// Its standard error, averaged over seeds.
    pub log_pxh_first_se: f64,
    /// Mean over seeds of log p(x, h) after the last iteration.
    pub log_pxh_last: f64,
    /// Its standard error, averaged over seeds.
    pub log_pxh_last_se: f64,
    /// Sample standard deviation of the seeds' `log_pxh_last`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_pxh_last_sd_across_seeds: Option<f64>,
    /// The first seed's summary and curve.
    pub first_seed: InferenceSummary,
}

/// Fig. 5 across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InpaintingHeadline {
    /// Mean over seeds of the MSE on the missing pixels before in-painting.
    pub mse_first: f64,
    /// Mean over seeds of the MSE after the last iteration.
    pub mse_last: f64,
    /// Sample standard deviation of the seeds' `mse_last`.
    pub mse_last_sd_across_seeds: Option<f64>,
    /// The first seed's MSE after each iteration (index 0: before).
    pub mse_missing: Vec<f64>,
    /// Digits in-painted per seed.
    pub examples: usize,
    /// Fraction of pixels missing.
    pub missing_fraction: f64,
}

/// Fig. 1 in numbers: the exponential fit of the simulated STDP window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdpSummary {
    /// τ₊ of the potentiation branch (ms).
    pub tau_plus_ms: Option<f64>,
    /// τ₋ of the depression branch (ms).
    pub tau_minus_ms: Option<f64>,
    /// A₊.
    pub a_plus: Option<f64>,
    /// A₋.
    pub a_minus: Option<f64>,
    /// Correlation of the bin means with the Bi & Poo window.
    pub correlation_with_bi_poo: Option<f64>,
    /// The delta-rule demonstration.
    pub delta_rule: DeltaRuleReport,
    /// Seconds of the simulation.
    pub seconds: f64,
}

impl StdpSummary {
    /// The summary of a report that took `seconds`.
    pub fn of(r: &StdpReport, seconds: f64) -> Self {
        let (p, d) = (r.fit.potentiation, r.fit.depression);
        Self {
            tau_plus_ms: p.map(|f| f.tau_ms),
            tau_minus_ms: d.map(|f| f.tau_ms),
            a_plus: p.map(|f| f.amplitude),
            a_minus: d.map(|f| f.amplitude),
            correlation_with_bi_poo: r.correlation_with_bi_poo,
            delta_rule: r.delta_rule.clone(),
            seconds,
        }
    }
}

/// Where the time went (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Training, per seed (recorded epoch times for a reused run).
    pub train_seconds: Vec<f64>,
    /// Evaluation, per seed.
    pub evaluation_seconds: Vec<f64>,
    /// The Fig. 1 simulation.
    pub stdp_seconds: f64,
    /// The whole reproduction.
    pub total_seconds: f64,
}

/// One seed's model and what it measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its run folder.
    pub run: String,
    /// Seconds of training.
    pub train_seconds: f64,
    /// Seconds of evaluation.
    pub evaluation_seconds: f64,
    /// The evaluation.
    pub evaluation: Evaluation,
}

/// What a reproduction was run with, beside the per-seed results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    /// The configuration (the first seed's; later seeds add 1, 2, … to its seed).
    pub config: Config,
    /// A reduced run.
    pub quick: bool,
    /// The model came from an earlier run instead of being trained.
    pub reused_run: bool,
    /// Fig. 1.
    pub stdp: StdpSummary,
    /// Seconds of the whole reproduction.
    pub total_seconds: f64,
    /// The machine, in words.
    pub machine: String,
    /// Worker threads.
    pub threads: usize,
    /// What produced it.
    pub provenance: Provenance,
}

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The Parzen table.
    pub parzen: ParzenHeadlines,
    /// Fig. 4 with the training α.
    pub inference: InferenceHeadline,
    /// Fig. 4 with GENERATE's α.
    pub inference_generate_alpha: InferenceHeadline,
    /// Fig. 5.
    pub inpainting: InpaintingHeadline,
    /// Fig. 1.
    pub stdp: StdpSummary,
    /// The paper's numbers.
    pub paper: PaperNumbers,
    /// Timings.
    pub timings: Timings,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Their run folders.
    pub runs: Vec<String>,
    /// A reduced run.
    pub quick: bool,
    /// The model came from an earlier run.
    pub reused_run: bool,
    /// The machine.
    pub machine: String,
    /// Worker threads.
    pub threads: usize,
    /// What produced it.
    pub provenance: Provenance,
    /// The configuration.
    pub config: Config,
    /// Every seed's evaluation.
    pub per_seed: Vec<Evaluation>,
}

/// Combines the seeds' evaluations; an error when there are none.
pub fn aggregate(seeds: Vec<SeedResult>, ctx: RunContext) -> Result<Results> {
    if seeds.is_empty() {
        return Err(Error::Usage(
            "a reproduction needs at least one seed".into(),
        ));
    }
    let evals: Vec<Evaluation> = seeds.iter().map(|s| s.evaluation.clone()).collect();
    let headline = |pick: &dyn Fn(&Evaluation) -> &SamplerScore| {
        let of = |f: &dyn Fn(&SamplerScore) -> f64| -> Vec<f64> {
            evals.iter().map(|e| f(pick(e))).collect()
        };
        let (mean, sd) = stats::mean_sd(&of(&|s| s.score.mean));
        Headline {
            mean,
            se: stats::mean(&of(&|s| s.score.se)),
            sigma: stats::mean(&of(&|s| s.score.sigma)),
            sd_across_seeds: sd,
            samples: pick(&evals[0]).samples,
        }
    };
    let other = evals.iter().all(|e| {
        e.parzen.generate_other_prior.is_some() && e.parzen.ancestral_other_prior.is_some()
    });
    let parzen = ParzenHeadlines {
        generate: headline(&|e| &e.parzen.generate),
        ancestral: headline(&|e| &e.parzen.ancestral),
        joint_dae: headline(&|e| &e.parzen.joint_dae),
        training_images: headline(&|e| &e.parzen.training_images),
        generate_other_prior: other.then(|| {
            headline(&|e| {
                e.parzen
                    .generate_other_prior
                    .as_ref()
                    .unwrap_or(&e.parzen.generate)
            })
        }),
        ancestral_other_prior: other.then(|| {
            headline(&|e| {
                e.parzen
                    .ancestral_other_prior
                    .as_ref()
                    .unwrap_or(&e.parzen.ancestral)
            })
        }),
    };
    let inference = |pick: fn(&Evaluation) -> &InferenceSummary, alpha: f32| {
        let of = |f: fn(&InferenceSummary) -> f64| -> Vec<f64> {
            evals.iter().map(|e| f(pick(e))).collect()
        };
        let (last, last_sd) = stats::mean_sd(&of(|s| s.log_pxh_last));
        InferenceHeadline {
            alpha,
            log_pxh_first: stats::mean(&of(|s| s.log_pxh_first)),
            log_pxh_first_se: stats::mean(&of(|s| s.log_pxh_first_se)),
            log_pxh_last: last,
            log_pxh_last_se: stats::mean(&of(|s| s.log_pxh_last_se)),
            log_pxh_last_sd_across_seeds: last_sd,
            first_seed: pick(&evals[0]).clone(),
        }
    };
    let firsts: Vec<f64> = evals.iter().map(|e| e.inpainting.mse_first).collect();
    let lasts: Vec<f64> = evals.iter().map(|e| e.inpainting.mse_last).collect();
    let (mse_last, mse_last_sd) = stats::mean_sd(&lasts);
    let detail = &evals[0].inpainting.detail;
    let inpainting = InpaintingHeadline {
        mse_first: stats::mean(&firsts),
        mse_last,
        mse_last_sd_across_seeds: mse_last_sd,
        mse_missing: detail.mse_missing.clone(),
        examples: detail.examples,
        missing_fraction: detail.missing_fraction,
    };
    let config = ctx.config;
    Ok(Results {
        schema_version: SCHEMA_VERSION,
        parzen,
        inference: inference(|e| &e.inference, config.inference.alpha),
        inference_generate_alpha: inference(|e| &e.inference_generate_alpha, config.generate.alpha),
        inpainting,
        timings: Timings {
            train_seconds: seeds.iter().map(|s| s.train_seconds).collect(),
            evaluation_seconds: seeds.iter().map(|s| s.evaluation_seconds).collect(),
            stdp_seconds: ctx.stdp.seconds,
            total_seconds: ctx.total_seconds,
        },
        stdp: ctx.stdp,
        paper: PaperNumbers::default(),
        seeds: seeds.iter().map(|s| s.seed).collect(),
        runs: seeds.iter().map(|s| s.run.clone()).collect(),
        quick: ctx.quick,
        reused_run: ctx.reused_run,
        machine: ctx.machine,
        threads: ctx.threads,
        provenance: ctx.provenance,
        config,
        per_seed: evals,
    })
}
