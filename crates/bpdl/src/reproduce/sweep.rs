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
