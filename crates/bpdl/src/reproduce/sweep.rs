//! Scoring one model of a sweep (`sweep.jsonl`): GENERATE and ancestral samples with the Parzen
//! protocol (σ chosen on the first 1,000 validation images, the score over the whole test set),
//! optionally again with a full-covariance top prior fitted to the same model. Settings are
//! chosen by the validation score; the test score is reported, never used to choose.

use serde::Serialize;

use super::evaluate::{ParzenSets, SamplerScore, score_sampler, with_prior};
use crate::backend::Device;
use crate::config::{Config, PriorCovariance};
use crate::data::Mnist;
use crate::error::Result;
use crate::eval::parzen::ParzenScore;
use crate::model::GenerativeModel;
use crate::rng::Seed;
use crate::sampling::Method;
use crate::train::EpochMetrics;

/// Test score of a sampler and the best mean validation log-likelihood of the σ search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scored {
    /// The test score.
    #[serde(flatten)]
    pub test: ParzenScore,
    /// The best mean validation log-likelihood over the σ grid.
    pub validation: f64,
}

impl Scored {
    /// The test score and best validation score of a sampler's result.
    pub fn of(s: &SamplerScore) -> Self {
        let validation = s
            .validation_curve
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        Self {
            test: s.score,
            validation,
        }
    }
}

/// One line of `sweep.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepLine {
    /// The run folder's name.
    pub run: String,
    /// Its overrides.
    pub overrides: Vec<String>,
    /// The scores (absent when training failed).
    #[serde(flatten)]
    pub scores: Option<SweepScores>,
    /// Why training failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds of training in this call.
    pub train_seconds: f64,
    /// The last epoch's metrics.
    pub final_epoch: Option<EpochMetrics>,
}

/// The scores of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepScores {
    /// GENERATE.
    pub generate: Scored,
    /// Ancestral sampling.
    pub ancestral: Scored,
    /// GENERATE with a full-covariance prior, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_full_prior: Option<Scored>,
    /// Ancestral sampling with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancestral_full_prior: Option<Scored>,
}

/// Scores `model` (trained with `config`) with `samples` samples per sampler; with
/// `full_prior`, also with a full-covariance top prior fitted on the training images (stream
/// `full-prior` of the config's seed).
pub fn score_model(
    dev: &Device,
    data: &Mnist,
    config: &Config,
    model: &GenerativeModel,
    samples: usize,
    full_prior: bool,
) -> Result<SweepScores> {
    let validation = data.validation.head(1000);
    let sets = ParzenSets {
        validation: validation.images.view(),
        test: data.test.images.view(),
    };
    let seed = Seed(config.seed);
    let score = |model: &GenerativeModel, method| -> Result<Scored> {
        let (s, _) = score_sampler(dev, model, config, method, samples, seed, &sets)?;
        Ok(Scored::of(&s))
    };
    let mut scores = SweepScores {
        generate: score(model, Method::Generate)?,
        ancestral: score(model, Method::Ancestral)?,
        generate_full_prior: None,
        ancestral_full_prior: None,
    };
    if full_prior {
        let images = data.train.head(config.data.train_limit).images;
        let mut rng = seed.stream("full-prior");
        let full = with_prior(
            dev,
            model,
            config,
            images.view(),
            PriorCovariance::Full,
            &mut rng,
        )?;
        scores.generate_full_prior = Some(score(&full, Method::Generate)?);
        scores.ancestral_full_prior = Some(score(&full, Method::Ancestral)?);
    }
    Ok(scores)
}

/// A sweep over config combinations ([`sweep`]).
#[derive(Debug, Clone)]
pub struct SweepPlan<'a> {
    /// The sweep folder: one run folder per combination, `sweep.jsonl` and the base config.
    pub out: &'a std::path::Path,
    /// The config every combination starts from.
    pub base: &'a Config,
    /// The `--vary` axes (recorded in the sweep's config header).
    pub axes: &'a [String],
    /// The overrides of each combination, and its resolved, validated config.
    pub runs: Vec<(Vec<String>, Config)>,
    /// Samples per sampler for the Parzen estimate (default: each config's `generate.samples`).
    pub samples: Option<usize>,
    /// Also score with a full-covariance top prior.
    pub full_prior: bool,
    /// Version, commit and command line, recorded in every run folder.
    pub provenance: &'a crate::run::Provenance,
}

/// What a sweep reports while it runs.
pub trait SweepObserver: crate::run::RunObserver {
    /// Run `index` (0-based) of `total` is starting.
    fn run_starting(&mut self, _index: usize, _total: usize, _overrides: &[String]) {}
    /// A run has been trained and scored (or failed: `line.error`).
    fn run_done(&mut self, _line: &SweepLine) {}
}

impl SweepObserver for () {}

/// Trains every combination of `plan` into its own folder (a folder already there is resumed or
/// reused, so an interrupted sweep continues), scores each model ([`score_model`]), appends one
/// [`SweepLine`] per run to `sweep.jsonl`, and returns the lines ranked by GENERATE's
/// validation score, best first (the test score is reported, never used to choose). A setting
/// whose training fails is a result too: its line records the error and the sweep goes on.
pub fn sweep(
    dev: &Device,
    data: &Mnist,
    plan: &SweepPlan<'_>,
    observer: &mut dyn SweepObserver,
) -> Result<Vec<SweepLine>> {
    let first_seed = plan.runs.first().map_or(plan.base.seed, |r| r.1.seed);
    let info = crate::run::RunInfo::new(plan.provenance.clone(), first_seed, dev.threads());
    let header = format!(
        "# bpdl sweep: every combination of {:?} on top of this config\n",
        plan.axes
    );
    let config_toml = header + &crate::config::to_toml_string(plan.base)?;
    let mut log = crate::run::RunDir::create(plan.out, &config_toml, &info)?;
    let mut lines = Vec::new();
    for (i, (overrides, config)) in plan.runs.iter().enumerate() {
        observer.run_starting(i, plan.runs.len(), overrides);
        let name = format!("{:02}-{}", i + 1, slug(&overrides.join(",")));
        let dir = plan.out.join(&name);
        let mut line = SweepLine {
            run: name,
            overrides: overrides.clone(),
            ..SweepLine::default()
        };
        match crate::run::train_in_dir(
            dev,
            config,
            &crate::run::TrainingData::from_dataset(data),
            &dir,
            plan.provenance,
            crate::run::Existing::Continue,
            observer,
        ) {
            Err(e) => line.error = Some(e.to_string()),
            Ok(trained) => {
                line.train_seconds = trained.seconds;
                let samples = plan.samples.unwrap_or(config.generate.samples);
                let model = &trained.state.model;
                let s = score_model(dev, data, config, model, samples, plan.full_prior)?;
                line.scores = Some(s);
            }
        }
        line.final_epoch = crate::run::read_metrics(&dir)
            .ok()
            .and_then(|m| m.last().cloned());
        log.log(&line)?;
        observer.run_done(&line);
        lines.push(line);
    }
    let key = |l: &SweepLine| {
        l.scores
            .map_or(f64::NEG_INFINITY, |s| s.generate.validation)
    };
    lines.sort_by(|a, b| key(b).total_cmp(&key(a)));
    Ok(lines)
}

/// A folder name from a run's overrides.
fn slug(s: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '=';
    s.chars().map(|c| if keep(c) { c } else { '_' }).collect()
}
