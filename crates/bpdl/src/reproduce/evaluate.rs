//! The paper's evaluation (§8, Figs. 3–5) of one trained model, as data: Parzen scores of the
//! three samplers (with the training images as a reference ceiling), the same model's GENERATE
//! and ancestral sampling under three top priors (the paper's diagonal Gaussian, a full
//! covariance, and the learned lateral prior of §9), sample-quality measures beyond Parzen in
//! the features of an evaluation classifier (FID, Inception score, precision/recall, class
//! histogram, mean pixel; [`crate::eval::quality`]), the inference curve of Fig. 4 with its
//! terms and the alignment of each update with the exact gradient, and the in-painting curve
//! of Fig. 5, and the linear readout of the inferred top codes (issue 14's representation
//! target, [`crate::eval::readout`]). [`super::aggregate()`] combines it across seeds.
//!
//! [`score_sampler`] and [`with_prior`] ("fit another top prior, then sample and score") are
//! shared with the sweep.

use std::time::Instant;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::config::{Config, InferenceConfig, LateralKind, PriorCovariance};
use crate::data::Mnist;
use crate::error::Result;
use crate::eval::classifier::{self, ClassifierInfo};
use crate::eval::inpainting::{self, Inpainting, InpaintingImages};
use crate::eval::parzen::{self, ParzenScore};
use crate::eval::quality::{self, QualityScore};
use crate::eval::readout::{self, ReadoutReport, ReadoutSettings};
use crate::eval::{InferenceCurve, inference_curve};
use crate::model::GenerativeModel;
use crate::rng::Seed;
use crate::sampling::{self, Method};
use crate::train::fit_top_prior;

/// The evaluation classifier's seed: one fixed network scores every run, so that FID and the
/// other measures compare across seeds and settings.
pub const CLASSIFIER_SEED: u64 = 1;

/// Where, inside the data folder, the evaluation classifier is cached.
pub const CLASSIFIER_CACHE_DIR: &str = "bpdl-eval";

/// How much of the evaluation to run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Samples per sampler for the Parzen estimate (protocol: 10,000).
    pub samples: usize,
    /// Validation images used to choose σ (protocol: 1,000).
    pub validation: usize,
    /// Test images for the Parzen score (protocol: all 10,000; 0 = all).
    pub test: usize,
    /// Test images for the inference curve (Fig. 4: all 10,000; 0 = all).
    pub inference_examples: usize,
    /// Inference iterations of the curve (Fig. 4: 20).
    pub inference_steps: usize,
    /// Test images in-painted.
    pub inpainting_examples: usize,
    /// Outer encode/decode iterations of in-painting (Fig. 5: 20).
    pub inpainting_iterations: usize,
    /// α of the in-painting inference.
    pub inpainting_alpha: f32,
    /// Also score GENERATE and ancestral sampling with each kind of top prior ([`PriorKind`])
    /// fitted to the same model.
    pub priors: bool,
    /// Score the samples with the evaluation classifier (FID, IS, precision/recall).
    pub quality: bool,
    /// Train a linear readout on the inferred top codes of the training images and score it on
    /// the test images ([`crate::eval::readout`]).
    #[serde(default)]
    pub readout: bool,
}

impl EvalOptions {
    /// The paper's protocol.
    pub fn full() -> Self {
        Self {
            samples: 10_000,
            validation: 1000,
            test: 0,
            inference_examples: 0,
            inference_steps: 20,
            inpainting_examples: 1000,
            inpainting_iterations: 20,
            inpainting_alpha: 0.3,
            priors: true,
            quality: true,
            readout: true,
        }
    }

    /// A reduced version for a first look (minutes on 2 cores): the Parzen protocol is kept
    /// whole (its value depends on the number of samples), the curves use fewer digits, and the
    /// linear readout is left out (inferring the codes of all 60,000 images and its two searches
    /// take more than a minute on 2 cores).
    pub fn quick() -> Self {
        Self {
            inference_examples: 1000,
            inpainting_examples: 200,
            readout: false,
            ..Self::full()
        }
    }
}

/// One sampler's Parzen result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerScore {
    /// Mean test log-likelihood ± s.e. and the σ chosen.
    #[serde(flatten)]
    pub score: ParzenScore,
    /// Samples drawn.
    pub samples: usize,
    /// Seconds to draw them.
    pub sample_seconds: f64,
    /// Seconds of the Parzen evaluation (σ search included).
    pub parzen_seconds: f64,
    /// Mean validation log-likelihood per σ of the grid.
    pub validation_curve: Vec<(f64, f64)>,
}

/// The Parzen table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParzenTable {
    /// GENERATE (Algorithm 2).
    pub generate: SamplerScore,
    /// Ancestral sampling.
    pub ancestral: SamplerScore,
    /// The §5.1 joint-DAE chain.
    pub joint_dae: SamplerScore,
    /// The first training images used as samples: the reference ceiling of the estimator.
    pub training_images: SamplerScore,
}

/// A kind of top prior p(h_L), fitted after training to the inferred codes of the training set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorKind {
    /// The paper's: mean and 4 × variance, a diagonal Gaussian.
    Diagonal,
    /// Mean and 4 × covariance.
    Full,
    /// The lateral prior of paper §9 (sigmoid conditionals, a dependency network learned by a
    /// local delta rule); its Gibbs chain starts from a draw of the run's own Gaussian prior
    /// (diagonal in the paper preset, full covariance in bpdl's default).
    Lateral,
}

impl PriorKind {
    /// All three, in the report's order.
    pub const ALL: [PriorKind; 3] = [Self::Diagonal, Self::Full, Self::Lateral];

    /// The name in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Diagonal => "diagonal",
            Self::Full => "full",
            Self::Lateral => "lateral",
        }
    }

    /// The kind `config` trains.
    pub fn of(config: &Config) -> Self {
        match (
            config.train.lateral_prior.kind,
            config.train.prior_covariance,
        ) {
            (LateralKind::None, PriorCovariance::Diagonal) => Self::Diagonal,
            (LateralKind::None, PriorCovariance::Full) => Self::Full,
            _ => Self::Lateral,
        }
    }

    /// `config` with its top prior replaced by this kind.
    pub fn apply(self, config: &Config) -> Config {
        let mut c = config.clone();
        match self {
            Self::Diagonal => {
                c.train.prior_covariance = PriorCovariance::Diagonal;
                c.train.lateral_prior.kind = LateralKind::None;
            }
            Self::Full => {
                c.train.prior_covariance = PriorCovariance::Full;
                c.train.lateral_prior.kind = LateralKind::None;
            }
            Self::Lateral => {
                if c.train.lateral_prior.kind == LateralKind::None {
                    c.train.lateral_prior.kind = LateralKind::Sigmoid;
                }
            }
        }
        c
    }
}

/// GENERATE and ancestral sampling from one model under one kind of top prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorScores {
    /// GENERATE's Parzen score.
    pub generate: SamplerScore,
    /// Ancestral sampling's Parzen score.
    pub ancestral: SamplerScore,
    /// GENERATE's sample quality (when measured).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub generate_quality: Option<QualityScore>,
    /// Ancestral sampling's sample quality (when measured).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ancestral_quality: Option<QualityScore>,
}

/// The same model under the three kinds of top prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorTable {
    /// The paper's diagonal Gaussian.
    pub diagonal: PriorScores,
    /// The full-covariance Gaussian.
    pub full: PriorScores,
    /// The lateral prior.
    pub lateral: PriorScores,
}

impl PriorTable {
    /// The scores of one kind.
    pub fn get(&self, kind: PriorKind) -> &PriorScores {
        match kind {
            PriorKind::Diagonal => &self.diagonal,
            PriorKind::Full => &self.full,
            PriorKind::Lateral => &self.lateral,
        }
    }
}

/// Sample quality in the evaluation classifier's features, for every sampler and two
/// references; samples are compared with the test images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityTable {
    /// The evaluation classifier (its accuracy, seed and cache).
    pub classifier: ClassifierInfo,
    /// GENERATE.
    pub generate: QualityScore,
    /// Ancestral sampling.
    pub ancestral: QualityScore,
    /// The joint-DAE chain.
    pub joint_dae: QualityScore,
    /// The first training images as samples.
    pub training_images: QualityScore,
    /// One random half of the test set against the other.
    pub test_halves: QualityScore,
}

/// The Fig. 4 summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceSummary {
    /// Mean log p(x, h) at the feed-forward start.
    pub log_pxh_first: f64,
    /// Its standard error.
    pub log_pxh_first_se: f64,
    /// Mean log p(x, h) after the last iteration.
    pub log_pxh_last: f64,
    /// Its standard error.
    pub log_pxh_last_se: f64,
    /// The whole curve.
    #[serde(flatten)]
    pub curve: InferenceCurve,
}

/// The Fig. 5 summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InpaintingSummary {
    /// MSE on the missing pixels before in-painting (the noise).
    pub mse_first: f64,
    /// MSE on the missing pixels after the last iteration.
    pub mse_last: f64,
    /// The whole curve.
    #[serde(flatten)]
    pub detail: Inpainting,
}

/// Everything measured for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Parzen scores.
    pub parzen: ParzenTable,
    /// GENERATE and ancestral sampling under each kind of top prior (when asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub priors: Option<PriorTable>,
    /// Sample quality beyond Parzen (when asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quality: Option<QualityTable>,
    /// Fig. 4: INFERENCE with the training settings (α = `inference.alpha`).
    pub inference: InferenceSummary,
    /// The same with the top-down weight of GENERATE (α = `generate.alpha`).
    pub inference_generate_alpha: InferenceSummary,
    /// Fig. 5.
    pub inpainting: InpaintingSummary,
    /// The linear readout of the top codes (when asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub readout: Option<ReadoutReport>,
}

/// The images behind the figures.
#[derive(Debug, Clone)]
pub struct EvalArtifacts {
    /// Samples of GENERATE, ancestral and joint-DAE, in that order.
    pub samples: Vec<(Method, Matrix)>,
    /// The in-painting inputs and outputs.
    pub inpainting: InpaintingImages,
    /// The first test images (originals of the in-painting grid).
    pub originals: Matrix,
}

/// Reports progress of the evaluation stages.
pub trait Stage {
    /// A stage starts.
    fn start(&mut self, what: &str);
}

impl<F: FnMut(&str)> Stage for F {
    fn start(&mut self, what: &str) {
        self(what)
    }
}

/// Evaluates `model` on `data` as the paper does; every random draw derives from `seed`.
pub fn evaluate(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    data: &Mnist,
    opts: &EvalOptions,
    seed: u64,
    stage: &mut dyn Stage,
) -> Result<(Evaluation, EvalArtifacts)> {
    let seed = Seed(seed);
    let validation = data.validation.head(opts.validation);
    let test = data.test.head(opts.test);
    let sets = ParzenSets {
        validation: validation.images.view(),
        test: test.images.view(),
    };
    let mut scores = Vec::new();
    let mut samples = Vec::new();
    for method in [Method::Generate, Method::Ancestral, Method::JointDae] {
        stage.start(&format!(
            "{} sampling ({} samples)",
            method.name(),
            opts.samples
        ));
        let (score, s) = score_sampler(dev, model, config, method, opts.samples, seed, &sets)?;
        scores.push(score);
        samples.push((method, s));
    }
    stage.start("Parzen estimate of the training images (reference ceiling)");
    let reference = data.train.head(opts.samples).images;
    let training_images = parzen_of(dev, &reference, &sets, 0.0)?;
    let mut scores = scores.into_iter();
    let mut next = || scores.next().expect("three samplers scored");
    let parzen = ParzenTable {
        generate: next(),
        ancestral: next(),
        joint_dae: next(),
        training_images,
    };
    let classifier = if opts.quality {
        stage.start("the evaluation classifier (trained once, then cached)");
        let cache = data.dir.join(CLASSIFIER_CACHE_DIR);
        Some(classifier::load_or_train(
            dev,
            data,
            &cache,
            CLASSIFIER_SEED,
        )?)
    } else {
        None
    };
    let quality_of = |samples: &Matrix| -> Result<Option<QualityScore>> {
        classifier
            .as_ref()
            .map(|(clf, _)| quality::score(dev, clf, samples.view(), sets.test))
            .transpose()
    };
    let priors = if opts.priors {
        let own = PriorKind::of(config);
        let images = data.train.head(config.data.train_limit).images;
        let mut table = Vec::new();
        for kind in PriorKind::ALL {
            if kind == own {
                table.push(PriorScores {
                    generate: parzen.generate.clone(),
                    ancestral: parzen.ancestral.clone(),
                    generate_quality: quality_of(&samples[0].1)?,
                    ancestral_quality: quality_of(&samples[1].1)?,
                });
                continue;
            }
            stage.start(&format!("fitting the {} top prior", kind.name()));
            let kind_config = kind.apply(config);
            let mut rng = seed.stream(&format!("prior-{}", kind.name()));
            let mut other = model.clone();
            other.top_prior = Some(fit_top_prior(
                dev,
                &other,
                images.view(),
                &kind_config,
                &mut rng,
            )?);
            let mut scored = Vec::new();
            for method in [Method::Generate, Method::Ancestral] {
                stage.start(&format!(
                    "{} sampling with the {} prior",
                    method.name(),
                    kind.name()
                ));
                let (score, s) =
                    score_sampler(dev, &other, &kind_config, method, opts.samples, seed, &sets)?;
                scored.push((score, quality_of(&s)?));
            }
            let mut scored = scored.into_iter();
            let (generate, generate_quality) = scored.next().expect("two samplers");
            let (ancestral, ancestral_quality) = scored.next().expect("two samplers");
            table.push(PriorScores {
                generate,
                ancestral,
                generate_quality,
                ancestral_quality,
            });
        }
        let mut table = table.into_iter();
        let mut next = || table.next().expect("three priors");
        Some(PriorTable {
            diagonal: next(),
            full: next(),
            lateral: next(),
        })
    } else {
        None
    };
    let quality = match &classifier {
        Some((clf, info)) => {
            stage.start("sample quality (FID, IS, precision/recall)");
            let of = |s: ArrayView2<'_, f32>, real: ArrayView2<'_, f32>| {
                quality::score(dev, clf, s, real)
            };
            let (a, b) = quality::random_halves(test.len(), &mut seed.stream("test-halves"));
            let (half_a, half_b) = (
                quality::select_rows(sets.test, &a),
                quality::select_rows(sets.test, &b),
            );
            Some(QualityTable {
                classifier: info.clone(),
                generate: of(samples[0].1.view(), sets.test)?,
                ancestral: of(samples[1].1.view(), sets.test)?,
                joint_dae: of(samples[2].1.view(), sets.test)?,
                training_images: of(reference.view(), sets.test)?,
                test_halves: of(half_a.view(), half_b.view())?,
            })
        }
        None => None,
    };

    stage.start("inference curves (Fig. 4)");
    let curve_images = data.test.head(opts.inference_examples);
    let curve = |alpha: f32, name: &str| -> Result<InferenceSummary> {
        let params = InferenceConfig {
            steps: opts.inference_steps,
            alpha,
            ..config.inference
        };
        let curve = inference_curve(
            dev,
            model,
            curve_images.images.view(),
            &params,
            500,
            5,
            &mut seed.stream(name),
        )?;
        let last = curve.steps;
        Ok(InferenceSummary {
            log_pxh_first: curve.log_pxh_mean[0],
            log_pxh_first_se: curve.log_pxh_se[0],
            log_pxh_last: curve.log_pxh_mean[last],
            log_pxh_last_se: curve.log_pxh_se[last],
            curve,
        })
    };
    let inference = curve(config.inference.alpha, "inference-curve")?;
    let inference_generate_alpha = curve(config.generate.alpha, "inference-curve-generate")?;

    stage.start("in-painting (Fig. 5)");
    let originals = data.test.head(opts.inpainting_examples).images;
    let inpaint_params = InferenceConfig {
        alpha: opts.inpainting_alpha,
        ..config.inference
    };
    let settings = inpainting::InpaintingSettings {
        missing: 0.5,
        outer: opts.inpainting_iterations,
        inference: inpaint_params,
        batch: 500,
    };
    let mut rng = seed.stream("inpainting");
    let images = inpainting::inpaint(dev, model, originals.view(), &settings, &mut rng)?;
    let mse = &images.summary.mse_missing;
    let inpainting = InpaintingSummary {
        mse_first: mse[0],
        mse_last: mse[mse.len() - 1],
        detail: images.summary.clone(),
    };
    let readout = if opts.readout {
        stage.start("linear readout of the inferred top codes");
        let settings = ReadoutSettings {
            seed: seed.0,
            ..ReadoutSettings::default()
        };
        Some(readout::readout_accuracy(
            dev, model, config, data, &settings,
        )?)
    } else {
        None
    };
    Ok((
        Evaluation {
            parzen,
            priors,
            quality,
            inference,
            inference_generate_alpha,
            inpainting,
            readout,
        },
        EvalArtifacts {
            samples,
            inpainting: images,
            originals,
        },
    ))
}

/// The images a Parzen score is computed against: σ is chosen on `validation`, the score is the
/// mean over `test`.
#[derive(Debug, Clone, Copy)]
pub struct ParzenSets<'a> {
    /// Validation images (the protocol uses 1,000).
    pub validation: ArrayView2<'a, f32>,
    /// Test images (the protocol uses all 10,000).
    pub test: ArrayView2<'a, f32>,
}

/// Draws `n` samples with `method` from the stream [`sampling::stream_name`] of `seed` and scores
/// them with the Parzen protocol; returns the score and the samples.
pub fn score_sampler(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    method: Method,
    n: usize,
    seed: Seed,
    sets: &ParzenSets<'_>,
) -> Result<(SamplerScore, Matrix)> {
    let t = Instant::now();
    let mut rng = seed.stream(&sampling::stream_name(method));
    let s = sampling::sample(dev, model, method, n, config, &mut rng)?;
    let sample_seconds = t.elapsed().as_secs_f64();
    Ok((parzen_of(dev, &s, sets, sample_seconds)?, s))
}

/// `model` with a top prior of kind `covariance` fitted to the inferred top codes of `images`
/// (the rest of the training settings from `config`), drawing from `rng`.
pub fn with_prior(
    dev: &Device,
    model: &GenerativeModel,
    config: &Config,
    images: ArrayView2<'_, f32>,
    covariance: PriorCovariance,
    rng: &mut crate::rng::Rng,
) -> Result<GenerativeModel> {
    let mut other = config.clone();
    other.train.prior_covariance = covariance;
    let mut model = model.clone();
    model.top_prior = Some(fit_top_prior(dev, &model, images, &other, rng)?);
    Ok(model)
}

fn parzen_of(
    dev: &Device,
    samples: &Matrix,
    sets: &ParzenSets<'_>,
    sample_seconds: f64,
) -> Result<SamplerScore> {
    let t = Instant::now();
    let (score, validation_curve) =
        parzen::evaluate(dev, samples.view(), sets.validation, sets.test, None)?;
    Ok(SamplerScore {
        score,
        samples: samples.nrows(),
        sample_seconds,
        parzen_seconds: t.elapsed().as_secs_f64(),
        validation_curve,
    })
}
