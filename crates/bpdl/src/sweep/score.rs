//! Scoring one trained model of a sweep. The score that ranks settings is always measured on
//! validation data ([`Score`]); the test figure is recorded beside it and never used to choose.
//!
//! - `validation-parzen` / `validation-ancestral-parzen`: the Parzen protocol of §8 (Breuleux
//!   et al. 2011) on GENERATE's or ancestral samples, `log p̂(x) = log((1/n) Σ_i exp(−‖x − s_i‖²
//!   / 2σ²)) − d·log(σ√(2π))`; the score is the best mean log-likelihood of the first 1,000
//!   validation images over the σ grid, the test figure the mean over the test images at that
//!   σ. Higher is better.
//! - `validation-error`: the classification error of a run trained with the label as its top
//!   layer (`[supervised]`), with the prediction rule (feed-forward, or feed-forward then
//!   INFERENCE) that is better on validation. Lower is better.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::backend::Device;
use crate::config::{Config, PriorCovariance};
use crate::error::{Error, Result};
use crate::eval::classify::{Rule, error_rate, predict};
use crate::eval::parzen::ParzenScore;
use crate::model::GenerativeModel;
use crate::reproduce::evaluate::{ParzenSets, SamplerScore, score_sampler, with_prior};
use crate::rng::Seed;
use crate::sampling::Method;

/// Validation images of the Parzen protocol's σ search.
pub const PARZEN_VALIDATION_IMAGES: usize = 1000;

/// What ranks the settings of a sweep (always a validation figure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Score {
    /// GENERATE's Parzen log-likelihood of validation images (higher is better).
    #[default]
    ValidationParzen,
    /// Ancestral sampling's Parzen log-likelihood of validation images (higher is better).
    ValidationAncestralParzen,
    /// The classification error on validation images (supervised runs; lower is better).
    ValidationError,
}

impl Score {
    /// Every score, in the order of the CLI's help.
    pub const ALL: [Score; 3] = [
        Score::ValidationParzen,
        Score::ValidationAncestralParzen,
        Score::ValidationError,
    ];

    /// The score's name (`validation-parzen`, …).
    pub fn name(self) -> &'static str {
        match self {
            Score::ValidationParzen => "validation-parzen",
            Score::ValidationAncestralParzen => "validation-ancestral-parzen",
            Score::ValidationError => "validation-error",
        }
    }

    /// Whether a higher score is a better setting.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Score::ValidationError)
    }

    /// `maximize` or `minimize` (the words of Optuna's `direction` and Ray Tune's `mode`
    /// without its `max`/`min` abbreviation).
    pub fn direction(self) -> &'static str {
        if self.higher_is_better() {
            "maximize"
        } else {
            "minimize"
        }
    }

    /// Whether `a` is a better score than `b` (a missing or NaN score is worse than any other).
    pub fn better(self, a: f64, b: f64) -> bool {
        match (a.is_nan(), b.is_nan()) {
            (true, _) => false,
            (false, true) => true,
            _ if self.higher_is_better() => a > b,
            _ => a < b,
        }
    }

    /// Fails with a message naming the config key when `config` cannot be scored this way.
    pub fn check(self, config: &Config) -> Result<()> {
        if self == Score::ValidationError && !config.supervised.enabled {
            return Err(Error::Usage(
                "score `validation-error` needs runs trained with labels: set \
                 `supervised.enabled = true` in the config (or score with `validation-parzen`)"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Score {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Score::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Score::ALL.iter().map(|x| x.name()).collect();
                Error::Usage(format!(
                    "unknown score `{s}`: expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// Test score of a sampler and the best mean validation log-likelihood of the σ search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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

/// The Parzen scores of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParzenScores {
    /// GENERATE.
    pub generate: Scored,
    /// Ancestral sampling.
    pub ancestral: Scored,
    /// GENERATE with a full-covariance prior, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_full_prior: Option<Scored>,
    /// Ancestral sampling with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ancestral_full_prior: Option<Scored>,
}

/// The classification errors of one supervised model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassifyScores {
    /// The rule chosen on validation.
    pub rule: Rule,
    /// Validation error of the feed-forward rule.
    pub validation_feedforward: f64,
    /// Validation error after inference.
    pub validation_after_inference: f64,
    /// Test error of the chosen rule (absent without test data).
    pub test: Option<f64>,
}

/// The images a model is scored on.
#[derive(Debug, Clone, Copy)]
pub struct ScoreData<'a> {
    /// Training images: the full-covariance prior is fitted on them (needed only for it).
    pub train: Option<ArrayView2<'a, f32>>,
    /// Validation images (the Parzen σ search uses the first 1,000) and their labels.
    pub validation: (ArrayView2<'a, f32>, Option<&'a [u8]>),
    /// Test images and labels (absent: only the validation score is measured).
    pub test: Option<(ArrayView2<'a, f32>, Option<&'a [u8]>)>,
}

impl<'a> ScoreData<'a> {
    /// The training, validation and test splits of a dataset.
    pub fn of(data: &'a crate::data::Mnist) -> Self {
        Self {
            train: Some(data.train.images.view()),
            validation: (data.validation.images.view(), Some(&data.validation.labels)),
            test: Some((data.test.images.view(), Some(&data.test.labels))),
        }
    }
}

/// What [`score_model`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelScores {
    /// The score that ranks settings.
    pub score: Score,
    /// Its value on validation data.
    pub validation: f64,
    /// The same figure on the test data (absent without test data); reported, never used to
    /// choose.
    pub test: Option<f64>,
    /// The Parzen scores (Parzen scores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parzen: Option<ParzenScores>,
    /// The classification errors (`validation-error` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classify: Option<ClassifyScores>,
}

/// Scores `model` (trained with `config`) by `score`: Parzen scores draw `samples` samples per
/// sampler from the seed's sampling streams; with `full_prior` (and training images), GENERATE
/// and ancestral sampling are scored again with a full-covariance top prior fitted on the
/// first `data.train_limit` training images (stream `full-prior` of the seed). Without test
/// images only the validation score is measured, and only the ranked sampler is drawn.
pub fn score_model(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    score: Score,
    (samples, full_prior): (usize, bool),
    data: &ScoreData<'_>,
) -> Result<ModelScores> {
    score.check(config)?;
    if score == Score::ValidationError {
        return classify_scores(dev, model, config, data);
    }
    if samples == 0 {
        return Err(Error::Usage(
            "a Parzen score needs at least one sample: pass --samples N with N ≥ 1".into(),
        ));
    }
    let (validation, _) = data.validation;
    let validation = validation.slice(ndarray::s![
        ..validation.nrows().min(PARZEN_VALIDATION_IMAGES),
        ..
    ]);
    let sets = ParzenSets {
        validation,
        // without test images the σ search's own images stand in; their figure is not reported
        test: data.test.map_or(validation, |t| t.0),
    };
    let seed = Seed(config.seed);
    let scored = |model: &GenerativeModel, method| -> Result<Scored> {
        let (s, _) = score_sampler(dev, model, config, method, samples, seed, &sets)?;
        Ok(Scored::of(&s))
    };
    let ranked_method = if score == Score::ValidationParzen {
        Method::Generate
    } else {
        Method::Ancestral
    };
    if data.test.is_none() {
        // the validation score alone (a search's objective): only the ranked sampler is drawn
        return Ok(ModelScores {
            score,
            validation: scored(model, ranked_method)?.validation,
            test: None,
            parzen: None,
            classify: None,
        });
    }
    let mut p = ParzenScores {
        generate: scored(model, Method::Generate)?,
        ancestral: scored(model, Method::Ancestral)?,
        generate_full_prior: None,
        ancestral_full_prior: None,
    };
    if let (true, Some(train)) = (full_prior, data.train) {
        let images = train.slice(ndarray::s![
            ..match config.data.train_limit {
                0 => train.nrows(),
                n => n.min(train.nrows()),
            },
            ..
        ]);
        let mut rng = seed.stream("full-prior");
        let full = with_prior(dev, model, config, images, PriorCovariance::Full, &mut rng)?;
        p.generate_full_prior = Some(scored(&full, Method::Generate)?);
        p.ancestral_full_prior = Some(scored(&full, Method::Ancestral)?);
    }
    let ranked = if score == Score::ValidationParzen {
        p.generate
    } else {
        p.ancestral
    };
    Ok(ModelScores {
        score,
        validation: ranked.validation,
        test: Some(ranked.test.mean),
        parzen: Some(p),
        classify: None,
    })
}

/// `validation-error`: both prediction rules on validation, the better one on test.
fn classify_scores(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    data: &ScoreData<'_>,
) -> Result<ModelScores> {
    let batch = config.train.batch_size.max(1);
    let seed = Seed(config.seed);
    let errors = |(images, labels): (ArrayView2<'_, f32>, Option<&[u8]>), stream: &str| {
        let labels = labels.ok_or_else(|| {
            Error::Usage(format!(
                "score `validation-error` needs the labels of the {} images",
                stream.trim_start_matches("classify/")
            ))
        })?;
        if labels.len() != images.nrows() {
            return Err(Error::Shape {
                op: "classification score",
                expected: format!("one label per image ({})", images.nrows()),
                got: format!("{} labels", labels.len()),
            });
        }
        let mut rng = seed.stream(stream);
        let (inf, sup) = (&config.inference, &config.supervised);
        let p = predict(dev, model, images, inf, sup, batch, &mut rng)?;
        Ok((
            error_rate(&p.feedforward, labels),
            error_rate(&p.after_inference, labels),
        ))
    };
    let (ff, after) = errors(data.validation, "classify/validation")?;
    let rule = Rule::chosen_on_validation(&crate::diagnostics::ValidationErrors {
        examples: data.validation.0.nrows(),
        feedforward: ff,
        after_inference: after,
    });
    let pick = |(f, a): (f64, f64)| match rule {
        Rule::Feedforward => f,
        Rule::AfterInference => a,
    };
    let test = match data.test {
        Some(t) => Some(pick(errors(t, "classify/split")?)),
        None => None,
    };
    Ok(ModelScores {
        score: Score::ValidationError,
        validation: pick((ff, after)),
        test,
        parzen: None,
        classify: Some(ClassifyScores {
            rule,
            validation_feedforward: ff,
            validation_after_inference: after,
            test,
        }),
    })
}
