//! The reproduction's results across seeds, typed: each headline is the mean over seeds of one
//! seed's number, with the across-seed sample standard deviation when there are two seeds or
//! more and the per-seed standard error averaged over seeds (`results.json`, read back by the
//! report). [`SCHEMA_VERSION`] changes whenever a field is renamed or removed.

use serde::{Deserialize, Serialize};

use super::evaluate::{Evaluation, InferenceSummary, PriorKind, PriorScores, SamplerScore};
use super::paper::PaperNumbers;
use crate::config::Config;
use crate::data::{Dataset, Mnist, mnist};
use crate::error::{Error, Result};
use crate::eval::classifier::ClassifierInfo;
use crate::eval::quality::QualityScore;
use crate::run::Provenance;
use crate::spiking::StdpReport;
use crate::spiking::delta_rule::DeltaRuleReport;
use crate::stats;
use crate::train::EpochMetrics;

/// The version of the `results.json` layout.
pub const SCHEMA_VERSION: u32 = 2;

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
    /// Each seed's mean, in seed order.
    #[serde(default)]
    pub per_seed: Vec<f64>,
    /// Samples per seed.
    pub samples: usize,
}

/// One number measured for every seed: its mean over seeds, the sample standard deviation
/// across seeds (two seeds or more) and each seed's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Across {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation across seeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sd: Option<f64>,
    /// Each seed's value, in seed order.
    pub per_seed: Vec<f64>,
}

impl Across {
    /// The summary of `values` (one per seed).
    pub fn of(values: Vec<f64>) -> Self {
        let (mean, sd) = stats::mean_sd(&values);
        Self {
            mean,
            sd,
            per_seed: values,
        }
    }
}

/// The sample-quality measures of one sampler (or reference) across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityHeadline {
    /// Fréchet distance in the evaluation classifier's features (lower is better).
    pub fid: Across,
    /// Classifier-based Inception score.
    pub inception_score: Across,
    /// Precision (k = 3), Kynkäänniemi et al. 2019.
    pub precision: Across,
    /// Recall (k = 3).
    pub recall: Across,
    /// Fraction of the samples per class (argmax of the classifier), mean over seeds.
    pub class_histogram: Vec<f64>,
    /// Mean pixel value.
    pub mean_pixel: Across,
}

impl QualityHeadline {
    fn of(scores: &[&QualityScore]) -> Self {
        let of = |f: fn(&QualityScore) -> f64| Across::of(scores.iter().map(|q| f(q)).collect());
        let classes = scores.first().map_or(0, |q| q.class_histogram.len());
        let n = scores.len().max(1) as f64;
        Self {
            fid: of(|q| q.fid),
            inception_score: of(|q| q.inception_score),
            precision: of(|q| q.precision),
            recall: of(|q| q.recall),
            class_histogram: (0..classes)
                .map(|c| {
                    scores
                        .iter()
                        .map(|q| q.class_histogram.get(c).copied().unwrap_or(0.0))
                        .sum::<f64>()
                        / n
                })
                .collect(),
            mean_pixel: of(|q| q.mean_pixel),
        }
    }
}

/// `quality` of `results.json`: every sampler and both references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityHeadlines {
    /// The evaluation classifier (the same network for every seed).
    pub classifier: ClassifierInfo,
    /// GENERATE.
    pub generate: QualityHeadline,
    /// Ancestral sampling.
    pub ancestral: QualityHeadline,
    /// The joint-DAE chain.
    pub joint_dae: QualityHeadline,
    /// 10,000 training images as samples.
    pub training_images: QualityHeadline,
    /// Two random halves of the test set, one against the other.
    pub test_halves: QualityHeadline,
}

/// One kind of top prior across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorHeadline {
    /// GENERATE's Parzen score.
    pub generate: Headline,
    /// Ancestral sampling's Parzen score.
    pub ancestral: Headline,
    /// GENERATE's sample quality.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub generate_quality: Option<QualityHeadline>,
    /// Ancestral sampling's sample quality.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ancestral_quality: Option<QualityHeadline>,
}

/// `priors` of `results.json`: the same models under the three kinds of top prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorHeadlines {
    /// The paper's diagonal Gaussian.
    pub diagonal: PriorHeadline,
    /// Full covariance.
    pub full: PriorHeadline,
    /// The lateral prior (paper §9).
    pub lateral: PriorHeadline,
}

/// One named curve's first and last value across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermHeadline {
    /// The term (`"log p(x|h1)"`, …) or layer (`"h1"`).
    pub name: String,
    /// Its value at the first point of the curve.
    pub first: Across,
    /// Its value at the last point.
    pub last: Across,
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
    /// Each term of log p(x, h) (and the top prior's log p(h_L)) at the start and the end.
    #[serde(default)]
    pub terms: Vec<TermHeadline>,
    /// Per layer, the mean cosine of INFERENCE's update with the exact gradient of log p(x, h)
    /// at the first and the last iteration.
    #[serde(default)]
    pub alignment: Vec<TermHeadline>,
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

/// One seed's training, read from its run folder's `metrics.jsonl` (what the report plots and
/// links).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The seed.
    pub seed: u64,
    /// The run folder as the report links it: relative to the reproduction folder when it lies
    /// inside it, else absolute.
    pub link: String,
    /// Epochs recorded.
    pub epochs: usize,
    /// Whether the epochs recorded the held-out inference curve.
    pub heldout: bool,
    /// Mean log p(x, h) of the last epoch's minibatches at the feed-forward start of inference.
    pub last_log_pxh_before: Option<f64>,
    /// The same after inference.
    pub last_log_pxh_after: Option<f64>,
}

impl TrainingSummary {
    /// The summary of seed `seed`'s epoch records, its run folder linked as `link`.
    pub fn of(seed: u64, link: String, metrics: &[EpochMetrics]) -> Self {
        let last = metrics.last();
        Self {
            seed,
            link,
            epochs: metrics.len(),
            heldout: metrics.iter().any(|m| m.heldout.is_some()),
            last_log_pxh_before: last.map(|m| m.log_pxh_before),
            last_log_pxh_after: last.map(|m| m.log_pxh_after),
        }
    }
}

/// One of the dataset's four files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Its file name (the official `.gz` name, or the same without `.gz` when gunzipped).
    pub name: String,
    /// Its MD5, lowercase hex.
    pub md5: String,
    /// Whether that is the official release's MD5 (a repackaged copy may differ in its gzip
    /// headers only).
    pub official: bool,
}

/// The data a reproduction read: the dataset, its folder and each file's MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFiles {
    /// The dataset.
    pub dataset: Dataset,
    /// The folder it was read from.
    pub dir: String,
    /// Train images, train labels, test images, test labels.
    pub files: Vec<DataFile>,
}

impl DataFiles {
    /// The files of a loaded dataset, with their MD5s.
    pub fn of(data: &Mnist) -> Result<Self> {
        let paths = mnist::find_files(data.dataset, &data.dir)?;
        let files = data
            .dataset
            .files()
            .iter()
            .zip(paths.iter())
            .map(|(official, path)| {
                let md5 = mnist::md5_file(path)?;
                let name = path.file_name().map_or(official.name.to_string(), |n| {
                    n.to_string_lossy().into_owned()
                });
                Ok(DataFile {
                    name,
                    official: md5 == official.md5,
                    md5,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            dataset: data.dataset,
            dir: data.dir.display().to_string(),
            files,
        })
    }
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
    /// Its training, from the run folder's metrics.
    pub training: TrainingSummary,
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
    /// The data files read, with their MD5s (`None` where they could not be read back).
    pub data: Option<DataFiles>,
    /// When the reproduction finished, UTC, as `YYYYmmdd-HHMMSS`.
    pub finished_utc: Option<String>,
}

/// `readout` of `results.json`: the linear readout of the top codes, over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutHeadline {
    /// Mean over seeds of the readout's test accuracy on the inferred codes (a fraction).
    pub test_accuracy: f64,
    /// Sample standard deviation of the seeds' test accuracies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_accuracy_sd_across_seeds: Option<f64>,
    /// Mean over seeds of its accuracy on the training codes.
    pub train_accuracy: f64,
    /// Mean over seeds of the test accuracy of the readout of the feed-forward codes.
    pub feed_forward_test_accuracy: f64,
    /// The layer read and its width, e.g. `"h2"`, 100.
    pub layer: String,
    /// Its width.
    pub code_width: usize,
    /// The target ([`crate::eval::readout::TARGET_ACCURACY`]).
    pub target: f64,
    /// Mean over seeds of the test accuracy of the readout of every inferred layer side by
    /// side (when every seed measured it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub all_layers_test_accuracy: Option<f64>,
    /// The layers of that readout, e.g. `"h1+h2"`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub all_layers: Option<String>,
}

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The Parzen table.
    pub parzen: ParzenHeadlines,
    /// GENERATE and ancestral sampling under the three kinds of top prior (when every seed
    /// measured them).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub priors: Option<PriorHeadlines>,
    /// Sample quality beyond Parzen (when every seed measured it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quality: Option<QualityHeadlines>,
    /// Fig. 4 with the training α.
    pub inference: InferenceHeadline,
    /// Fig. 4 with GENERATE's α.
    pub inference_generate_alpha: InferenceHeadline,
    /// Fig. 5.
    pub inpainting: InpaintingHeadline,
    /// The linear readout of the top codes (when every seed measured it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub readout: Option<ReadoutHeadline>,
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
    /// Every seed's training, in seed order (empty in files written before it was recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training: Vec<TrainingSummary>,
    /// The data files read, with their MD5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataFiles>,
    /// When the reproduction finished, UTC, as `YYYYmmdd-HHMMSS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_utc: Option<String>,
}

/// Combines the seeds' evaluations; an error when there are none.
pub fn aggregate(seeds: Vec<SeedResult>, ctx: RunContext) -> Result<Results> {
    if seeds.is_empty() {
        return Err(Error::Usage(
            "a reproduction needs at least one seed".into(),
        ));
    }
    let evals: Vec<Evaluation> = seeds.iter().map(|s| s.evaluation.clone()).collect();
    let headline = |pick: &dyn Fn(&Evaluation) -> &SamplerScore| headline_of(&evals, pick);
    let parzen = ParzenHeadlines {
        generate: headline(&|e| &e.parzen.generate),
        ancestral: headline(&|e| &e.parzen.ancestral),
        joint_dae: headline(&|e| &e.parzen.joint_dae),
        training_images: headline(&|e| &e.parzen.training_images),
    };
    let priors = evals.iter().all(|e| e.priors.is_some()).then(|| {
        let prior = |kind: PriorKind| {
            let get = |e: &Evaluation| -> PriorScores {
                e.priors.as_ref().expect("checked").get(kind).clone()
            };
            let all: Vec<PriorScores> = evals.iter().map(get).collect();
            let quality = |pick: fn(&PriorScores) -> Option<&QualityScore>| {
                let q: Option<Vec<&QualityScore>> = all.iter().map(pick).collect();
                q.map(|q| QualityHeadline::of(&q))
            };
            PriorHeadline {
                generate: headline_of(&all, &|p: &PriorScores| &p.generate),
                ancestral: headline_of(&all, &|p: &PriorScores| &p.ancestral),
                generate_quality: quality(|p| p.generate_quality.as_ref()),
                ancestral_quality: quality(|p| p.ancestral_quality.as_ref()),
            }
        };
        PriorHeadlines {
            diagonal: prior(PriorKind::Diagonal),
            full: prior(PriorKind::Full),
            lateral: prior(PriorKind::Lateral),
        }
    });
    let quality = evals.iter().all(|e| e.quality.is_some()).then(|| {
        let q: Vec<_> = evals
            .iter()
            .map(|e| e.quality.as_ref().expect("checked"))
            .collect();
        let of = |pick: fn(&super::evaluate::QualityTable) -> &QualityScore| {
            QualityHeadline::of(&q.iter().map(|t| pick(t)).collect::<Vec<_>>())
        };
        QualityHeadlines {
            classifier: q[0].classifier.clone(),
            generate: of(|t| &t.generate),
            ancestral: of(|t| &t.ancestral),
            joint_dae: of(|t| &t.joint_dae),
            training_images: of(|t| &t.training_images),
            test_halves: of(|t| &t.test_halves),
        }
    });
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
            terms: curves_across(&evals, pick, |s| &s.curve.terms),
            alignment: curves_across(&evals, pick, |s| &s.curve.alignment),
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
    let readout = evals.iter().all(|e| e.readout.is_some()).then(|| {
        let r: Vec<_> = evals
            .iter()
            .map(|e| e.readout.as_ref().expect("checked"))
            .collect();
        let (test_accuracy, sd) =
            stats::mean_sd(&r.iter().map(|r| r.test_accuracy).collect::<Vec<_>>());
        ReadoutHeadline {
            test_accuracy,
            test_accuracy_sd_across_seeds: sd,
            train_accuracy: stats::mean(&r.iter().map(|r| r.train_accuracy).collect::<Vec<_>>()),
            feed_forward_test_accuracy: stats::mean(
                &r.iter()
                    .map(|r| r.feed_forward_test_accuracy)
                    .collect::<Vec<_>>(),
            ),
            layer: r[0].layer.clone(),
            code_width: r[0].code_width,
            target: crate::eval::readout::TARGET_ACCURACY,
            all_layers_test_accuracy: r
                .iter()
                .map(|r| r.all_layers.as_ref().map(|a| a.test_accuracy))
                .collect::<Option<Vec<_>>>()
                .map(|a| stats::mean(&a)),
            all_layers: r[0].all_layers.as_ref().map(|a| a.layers.clone()),
        }
    });
    let config = ctx.config;
    Ok(Results {
        schema_version: SCHEMA_VERSION,
        parzen,
        priors,
        quality,
        inference: inference(|e| &e.inference, config.inference.alpha),
        inference_generate_alpha: inference(|e| &e.inference_generate_alpha, config.generate.alpha),
        inpainting,
        readout,
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
        training: seeds.iter().map(|s| s.training.clone()).collect(),
        data: ctx.data,
        finished_utc: ctx.finished_utc,
    })
}

/// A Parzen headline over the seeds' items.
fn headline_of<T>(items: &[T], pick: &dyn Fn(&T) -> &SamplerScore) -> Headline {
    let of = |f: &dyn Fn(&SamplerScore) -> f64| -> Vec<f64> {
        items.iter().map(|e| f(pick(e))).collect()
    };
    let means = of(&|s| s.score.mean);
    let (mean, sd) = stats::mean_sd(&means);
    Headline {
        mean,
        se: stats::mean(&of(&|s| s.score.se)),
        sigma: stats::mean(&of(&|s| s.score.sigma)),
        sd_across_seeds: sd,
        per_seed: means,
        samples: items.first().map_or(0, |e| pick(e).samples),
    }
}

/// The first and last point of each named curve across seeds (the curves of the first seed
/// name them; a seed lacking one is skipped for it).
fn curves_across(
    evals: &[Evaluation],
    pick: fn(&Evaluation) -> &InferenceSummary,
    curves: fn(&InferenceSummary) -> &Vec<crate::eval::inference_curve::TermCurve>,
) -> Vec<TermHeadline> {
    let Some(first) = evals.first() else {
        return Vec::new();
    };
    curves(pick(first))
        .iter()
        .map(|c| {
            let values = |end: fn(&[f64]) -> Option<&f64>| -> Vec<f64> {
                evals
                    .iter()
                    .filter_map(|e| {
                        curves(pick(e))
                            .iter()
                            .find(|o| o.name == c.name)
                            .and_then(|o| end(&o.mean).copied())
                    })
                    .collect()
            };
            TermHeadline {
                name: c.name.clone(),
                first: Across::of(values(|v| v.first())),
                last: Across::of(values(|v| v.last())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::InferenceCurve;
    use crate::eval::inpainting::Inpainting;
    use crate::eval::parzen::ParzenScore;
    use crate::reproduce::evaluate::{InpaintingSummary, ParzenTable};

    fn score(mean: f64, se: f64) -> SamplerScore {
        SamplerScore {
            score: ParzenScore {
                mean,
                se,
                sigma: 0.2,
            },
            samples: 100,
            sample_seconds: 1.0,
            parzen_seconds: 1.0,
            validation_curve: vec![(0.2, mean)],
        }
    }

    fn summary(first: f64, last: f64) -> InferenceSummary {
        InferenceSummary {
            log_pxh_first: first,
            log_pxh_first_se: 1.0,
            log_pxh_last: last,
            log_pxh_last_se: 3.0,
            curve: InferenceCurve {
                examples: 10,
                steps: 1,
                log_pxh_mean: vec![first, last],
                log_pxh_se: vec![1.0, 3.0],
                noise_var: vec![1.0],
                log_px_given_h1_mean: vec![first, last],
                terms: vec![crate::eval::inference_curve::TermCurve {
                    name: "log p(x|h1)".into(),
                    mean: vec![first / 2.0, last / 2.0],
                }],
                alignment: Vec::new(),
                example_curves: Vec::new(),
                recon_mse: 0.0,
                recon_mse_start: 0.0,
            },
        }
    }

    fn seed(seed: u64, generate: f64, se: f64) -> SeedResult {
        SeedResult {
            seed,
            run: format!("train-seed{seed}"),
            train_seconds: 10.0,
            evaluation_seconds: 5.0,
            evaluation: Evaluation {
                parzen: ParzenTable {
                    generate: score(generate, se),
                    ancestral: score(100.0, 1.0),
                    joint_dae: score(150.0, 1.0),
                    training_images: score(240.0, 1.0),
                },
                // only the first seed measured the priors
                priors: (seed == 1).then(|| {
                    let p = PriorScores {
                        generate: score(generate + 1.0, se),
                        ancestral: score(101.0, 1.0),
                        generate_quality: None,
                        ancestral_quality: None,
                    };
                    super::super::evaluate::PriorTable {
                        diagonal: p.clone(),
                        full: p.clone(),
                        lateral: p,
                    }
                }),
                quality: None,
                inference: summary(-20.0, -10.0 - seed as f64),
                inference_generate_alpha: summary(-20.0, -30.0),
                inpainting: InpaintingSummary {
                    mse_first: 0.3,
                    mse_last: 0.1 * seed as f64,
                    detail: Inpainting {
                        examples: 10,
                        missing_fraction: 0.5,
                        mse_missing: vec![0.3, 0.1 * seed as f64],
                    },
                },
                readout: None,
            },
            training: TrainingSummary {
                seed,
                link: format!("train-seed{seed}"),
                epochs: 2,
                heldout: false,
                last_log_pxh_before: Some(-20.0),
                last_log_pxh_after: Some(-21.0),
            },
        }
    }

    fn context() -> RunContext {
        RunContext {
            config: Config::default(),
            quick: true,
            reused_run: false,
            stdp: StdpSummary {
                tau_plus_ms: None,
                tau_minus_ms: None,
                a_plus: None,
                a_minus: None,
                correlation_with_bi_poo: None,
                delta_rule: serde_json::from_value(serde_json::json!({
                    "w_least_squares": [], "w_spiking": [], "w_rate": [], "w_true": [],
                    "relative_error_spiking": 0.0, "relative_error_rate": 0.0,
                    "weight_error_spiking": 0.0, "mse_least_squares": 0.0, "mse_spiking": 0.0,
                    "mse_initial": 0.0, "effective_learning_rate": 0.0, "presentations": 0,
                    "steps": 0
                }))
                .unwrap(),
                seconds: 7.0,
            },
            total_seconds: 40.0,
            machine: "m".into(),
            threads: 2,
            provenance: Provenance {
                bpdl_version: "0".into(),
                git_commit: "x".into(),
                command: "c".into(),
            },
            data: None,
            finished_utc: Some("20260101-000000".into()),
        }
    }

    fn readout(test: f64) -> crate::eval::readout::ReadoutReport {
        use crate::eval::readout::{ReadoutConfig, ReadoutReport, ReadoutSelection};
        let selection = ReadoutSelection {
            chosen: ReadoutConfig::default(),
            validation_accuracy: 0.9,
            validation_examples: 10,
            candidates: vec![],
        };
        ReadoutReport {
            layer: "h2".into(),
            code_width: 100,
            inference_steps: 15,
            train_examples: 100,
            test_examples: 50,
            test_accuracy: test,
            train_accuracy: 0.98,
            feed_forward_test_accuracy: test - 0.01,
            feed_forward_train_accuracy: 0.97,
            selection: selection.clone(),
            feed_forward_selection: selection.clone(),
            all_layers: Some(crate::eval::readout::LayersReadout {
                layers: "h1+h2".into(),
                code_width: 1100,
                test_accuracy: test + 0.02,
                train_accuracy: 0.99,
                selection,
            }),
            inference_seconds: 1.0,
            readout_seconds: 1.0,
        }
    }

    /// Test accuracies 0.95 and 0.97: mean 0.96, sd √(2·10⁻⁴); left out unless every seed has
    /// one; `readout.{test_accuracy, train_accuracy, feed_forward_test_accuracy}` in the file.
    #[test]
    fn the_readout_is_averaged_over_seeds_that_all_measured_it() {
        let with = |s: u64, acc: f64| {
            let mut r = seed(s, 230.0, 1.0);
            r.evaluation.readout = Some(readout(acc));
            r
        };
        let r = aggregate(vec![with(1, 0.95), with(2, 0.97)], context()).unwrap();
        let h = r.readout.as_ref().unwrap();
        assert!((h.test_accuracy - 0.96).abs() < 1e-12);
        assert!((h.test_accuracy_sd_across_seeds.unwrap() - 2e-4f64.sqrt()).abs() < 1e-12);
        assert!((h.feed_forward_test_accuracy - 0.95).abs() < 1e-12);
        assert!((h.all_layers_test_accuracy.unwrap() - 0.98).abs() < 1e-12);
        assert_eq!(h.all_layers.as_deref(), Some("h1+h2"));
        let json = serde_json::to_value(&r).unwrap();
        for key in [
            "test_accuracy",
            "train_accuracy",
            "feed_forward_test_accuracy",
        ] {
            assert!(json["readout"][key].is_number(), "readout.{key}");
        }
        let partial = aggregate(vec![with(1, 0.95), seed(2, 230.0, 1.0)], context()).unwrap();
        assert!(partial.readout.is_none());
    }

    /// Seeds scoring 230 and 234: mean 232, sd √8 (n − 1 = 1); the per-seed s.e. 1 and 3
    /// average to 2; the first seed's curve is kept; a prior measured by only some seeds is
    /// left out rather than averaged over fewer seeds.
    #[test]
    fn two_seeds_give_the_mean_the_sample_sd_and_the_average_se() {
        let r = aggregate(vec![seed(1, 230.0, 1.0), seed(2, 234.0, 3.0)], context()).unwrap();
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert_eq!(r.parzen.generate.mean, 232.0);
        assert_eq!(r.parzen.generate.se, 2.0);
        assert!((r.parzen.generate.sd_across_seeds.unwrap() - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.parzen.ancestral.sd_across_seeds, Some(0.0));
        assert_eq!(r.parzen.generate.per_seed, vec![230.0, 234.0]);
        // a table only when every seed measured it
        assert!(r.priors.is_none());
        // the terms' first and last points across the two seeds: −20/2 both; (−11, −12)/2
        assert_eq!(r.inference.terms[0].first.mean, -10.0);
        assert_eq!(r.inference.terms[0].last.per_seed, vec![-5.5, -6.0]);
        assert!((r.inference.terms[0].last.sd.unwrap() - 0.125f64.sqrt()).abs() < 1e-12);
        // log p after inference: −11 and −12
        assert_eq!(r.inference.log_pxh_last, -11.5);
        assert_eq!(r.inference.first_seed.log_pxh_last, -11.0);
        assert!((r.inpainting.mse_last - 0.15).abs() < 1e-12);
        assert_eq!(r.timings.stdp_seconds, 7.0);
        assert_eq!(r.seeds, vec![1, 2]);
        assert_eq!(
            r.training
                .iter()
                .map(|t| t.link.as_str())
                .collect::<Vec<_>>(),
            ["train-seed1", "train-seed2"]
        );
        // written and read back unchanged
        let back: Results = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    /// A `results.json` written before the training summaries, the data MD5s and the date were
    /// recorded still reads (they are optional, so the schema version stays 2).
    #[test]
    fn results_without_the_newer_fields_still_read() {
        let r = aggregate(vec![seed(1, 230.0, 1.0)], context()).unwrap();
        let mut v = serde_json::to_value(&r).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in ["training", "data", "finished_utc"] {
            obj.remove(k);
        }
        let back: Results = serde_json::from_value(v).unwrap();
        assert!(back.training.is_empty() && back.data.is_none() && back.finished_utc.is_none());
    }

    /// MD5s against the official ones: the wrong digest must say so, or the report would call
    /// a changed data set the official one.
    #[test]
    fn the_data_files_carry_their_md5_and_whether_it_is_official() {
        let dir = tempfile::tempdir().unwrap();
        for f in Dataset::Mnist.files() {
            std::fs::write(dir.path().join(f.name), b"abc").unwrap();
        }
        fn empty() -> crate::data::Split {
            crate::data::Split {
                images: crate::backend::Matrix::zeros((0, 784)),
                labels: Vec::new(),
            }
        }
        let data = Mnist {
            dataset: Dataset::Mnist,
            dir: dir.path().to_path_buf(),
            train: empty(),
            validation: empty(),
            test: empty(),
            image_shape: (28, 28),
        };
        let files = DataFiles::of(&data).unwrap();
        assert_eq!(files.files.len(), 4);
        assert_eq!(files.files[0].name, "train-images-idx3-ubyte.gz");
        // RFC 1321's MD5 of "abc"
        assert_eq!(files.files[0].md5, "900150983cd24fb0d6963f7d28e17f72");
        assert!(!files.files[0].official);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        assert!(
            DataFiles::of(&data).is_err(),
            "a missing file is an error, not a panic"
        );
    }

    #[test]
    fn no_seed_is_an_error_not_a_panic() {
        assert!(aggregate(Vec::new(), context()).is_err());
    }
}
