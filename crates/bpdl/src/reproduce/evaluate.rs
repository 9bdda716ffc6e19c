//! The paper's evaluation (§8, Figs. 3–5) of one trained model, as data: Parzen scores of the
//! three samplers (with the training images as a reference ceiling), the inference curve of
//! Fig. 4 and the in-painting curve of Fig. 5. [`super::aggregate()`] combines it across seeds.
//!
//! [`score_sampler`] and [`with_prior`] ("fit another top prior, then sample and score") are
//! shared with the sweep.

use std::time::Instant;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::config::{Config, InferenceConfig, PriorCovariance};
use crate::data::Mnist;
use crate::error::Result;
use crate::eval::inpainting::{self, Inpainting, InpaintingImages};
use crate::eval::parzen::{self, ParzenScore};
use crate::eval::{InferenceCurve, inference_curve};
use crate::model::GenerativeModel;
use crate::rng::Seed;
use crate::sampling::{self, Method};
use crate::train::fit_top_prior;

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
    /// Also score GENERATE and ancestral sampling with the other kind of top prior (diagonal ↔
    /// full covariance) fitted to the same model.
    pub other_prior: bool,
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
            other_prior: true,
        }
    }

    /// A reduced version for a first look (minutes on 2 cores): the Parzen protocol is kept
    /// whole (its value depends on the number of samples), the curves use fewer digits.
    pub fn quick() -> Self {
        Self {
            inference_examples: 1000,
            inpainting_examples: 200,
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
    /// GENERATE with the other kind of top prior fitted to the same model (full covariance when
    /// the run's is diagonal, and vice versa), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_other_prior: Option<SamplerScore>,
    /// Ancestral sampling with that other prior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancestral_other_prior: Option<SamplerScore>,
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
    /// Fig. 4: INFERENCE with the training settings (α = `inference.alpha`).
    pub inference: InferenceSummary,
    /// The same with the top-down weight of GENERATE (α = `generate.alpha`).
    pub inference_generate_alpha: InferenceSummary,
    /// Fig. 5.
    pub inpainting: InpaintingSummary,
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
    let (mut generate_other_prior, mut ancestral_other_prior) = (None, None);
    if opts.other_prior {
        stage.start("fitting the other kind of top prior");
        let covariance = match config.train.prior_covariance {
            PriorCovariance::Diagonal => PriorCovariance::Full,
            PriorCovariance::Full => PriorCovariance::Diagonal,
        };
        let images = data.train.head(config.data.train_limit).images;
        let model = with_prior(
            dev,
            model,
            config,
            images.view(),
            covariance,
            &mut seed.stream("other-prior"),
        )?;
        for (method, slot) in [
            (Method::Generate, &mut generate_other_prior),
            (Method::Ancestral, &mut ancestral_other_prior),
        ] {
            stage.start(&format!("{} sampling with the other prior", method.name()));
            let (score, _) = score_sampler(dev, &model, config, method, opts.samples, seed, &sets)?;
            *slot = Some(score);
        }
    }
    let mut scores = scores.into_iter();
    let mut next = || scores.next().expect("three samplers scored");
    let parzen = ParzenTable {
        generate: next(),
        ancestral: next(),
        joint_dae: next(),
        training_images,
        generate_other_prior,
        ancestral_other_prior,
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
    Ok((
        Evaluation {
            parzen,
            inference,
            inference_generate_alpha,
            inpainting,
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
