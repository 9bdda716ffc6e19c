//! Classification with the label as the top layer (supervised learning,
//! [`crate::config::SupervisedConfig`]): x clamped, y free.
//!
//! ```text
//! feed-forward:     ŷ = argmax f_L(f_{L−1}(… f_1(x)))       (the approximate posterior q(y|x))
//! after inference:  ŷ = argmax h_L after N iterations of INFERENCE with y free
//! ```
//!
//! The N iterations (`supervised.predict_steps`) are Algorithm 2's INFERENCE with the training
//! settings, the layer below y pulled toward `g_L(y)` with `α_y` as in training; y itself
//! follows its targetprop update `δ(f_L(h_{L−1}) − f_L(g_L(y)))`. Which of the two rules a run
//! reports as its error is chosen on the validation split ([`ClassifyReport`]), never on test.

use ndarray::{Array1, Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::backend::Device;
use crate::config::supervised::CLASSES;
use crate::config::{InferenceConfig, SupervisedConfig};
use crate::data::batches::batches;
use crate::diagnostics::ValidationErrors;
use crate::error::{Error, Result};
use crate::inference::{Inference, LabelEvidence};
use crate::model::GenerativeModel;
use crate::rng::Rng;

/// The predicted class of every example under both rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predictions {
    /// `argmax` of the feed-forward pass.
    pub feedforward: Vec<u8>,
    /// `argmax` of h_L after `predict_steps` iterations (equal to `feedforward` for 0 steps).
    pub after_inference: Vec<u8>,
}

/// Predicts the class of every row of `images` with a model whose top layer is the label
/// (`model.top_size()` = 10), in minibatches of `batch`; the iterations draw any noise from
/// `rng`.
pub fn predict(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    inference: &InferenceConfig,
    supervised: &SupervisedConfig,
    batch: usize,
    rng: &mut Rng,
) -> Result<Predictions> {
    if model.top_size() != CLASSES || model.depth() < 2 {
        return Err(Error::Usage(format!(
            "this model's top layer has {} units above {} hidden layers: it was not trained with \
             a label layer (supervised.enabled = true)",
            model.top_size(),
            model.depth() - 1
        )));
    }
    let n = images.nrows();
    let batch = batch.clamp(1, n.max(1));
    let params = InferenceConfig {
        steps: supervised.predict_steps,
        ..*inference
    };
    let free = Array2::<f32>::zeros((batch, CLASSES));
    let none = Array1::<f32>::zeros(batch);
    let mut out = Predictions {
        feedforward: Vec::with_capacity(n),
        after_inference: Vec::with_capacity(n),
    };
    dev.install(|| {
        let mut inf = Inference::new(model, batch);
        let top = model.depth() - 1;
        for rows in batches(n, batch) {
            let b = rows.len();
            let x = images.slice(s![rows, ..]);
            inf.ensure(model, b);
            inf.feed_forward(dev, model, x)?;
            let ff = dev.row_argmax(inf.post.h[top].view());
            out.feedforward.extend(ff.iter().map(|&c| c as u8));
            if params.steps == 0 {
                out.after_inference.extend(ff.iter().map(|&c| c as u8));
                continue;
            }
            let label = LabelEvidence {
                y: free.slice(s![..b, ..]),
                clamped: none.slice(s![..b]),
                alpha: supervised.label_alpha,
                free_rows_pull: true,
                term: supervised.label_term,
            };
            inf.iterate_labelled(dev, model, x, &label, &params, rng)?;
            let inferred = dev.row_argmax(inf.post.h[top].view());
            out.after_inference
                .extend(inferred.iter().map(|&c| c as u8));
        }
        Ok(out)
    })
}

/// The fraction of `predicted` that differs from `labels` (0 for no example).
pub fn error_rate(predicted: &[u8], labels: &[u8]) -> f64 {
    let wrong = predicted.iter().zip(labels).filter(|(p, l)| p != l).count();
    wrong as f64 / predicted.len().max(1) as f64
}

/// `confusion[true][predicted]`: how many examples of each class went to each class.
pub fn confusion(predicted: &[u8], labels: &[u8]) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; CLASSES]; CLASSES];
    for (&p, &l) in predicted.iter().zip(labels) {
        m[usize::from(l).min(CLASSES - 1)][usize::from(p).min(CLASSES - 1)] += 1;
    }
    m
}

/// Both errors of `images` with their `labels` (the per-epoch validation figure of supervised
/// training).
pub fn validation_errors(
    dev: &Device,
    model: &GenerativeModel,
    (images, labels): (ArrayView2<'_, f32>, &[u8]),
    inference: &InferenceConfig,
    supervised: &SupervisedConfig,
    batch: usize,
    rng: &mut Rng,
) -> Result<ValidationErrors> {
    let p = predict(dev, model, images, inference, supervised, batch, rng)?;
    Ok(ValidationErrors {
        examples: labels.len(),
        feedforward: error_rate(&p.feedforward, labels),
        after_inference: error_rate(&p.after_inference, labels),
    })
}

/// The prediction rule a run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The feed-forward pass.
    Feedforward,
    /// The feed-forward pass followed by INFERENCE with y free.
    AfterInference,
}

impl Rule {
    /// The rule with the lower validation error (the feed-forward one on a tie: it is cheaper).
    pub fn chosen_on_validation(v: &ValidationErrors) -> Self {
        if v.after_inference < v.feedforward {
            Self::AfterInference
        } else {
            Self::Feedforward
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rate_and_confusion_count_by_hand() {
        let p = [0u8, 1, 1, 9];
        let l = [0u8, 1, 2, 9];
        assert_eq!(error_rate(&p, &l), 0.25);
        let c = confusion(&p, &l);
        assert_eq!((c[0][0], c[1][1], c[2][1], c[9][9]), (1, 1, 1, 1));
        assert_eq!(c.iter().flatten().sum::<usize>(), 4);
        assert_eq!(error_rate(&[], &[]), 0.0);
    }

    #[test]
    fn the_rule_is_the_one_with_the_lower_validation_error() {
        let v = |f, a| ValidationErrors {
            examples: 10,
            feedforward: f,
            after_inference: a,
        };
        assert_eq!(Rule::chosen_on_validation(&v(0.1, 0.2)), Rule::Feedforward);
        assert_eq!(Rule::chosen_on_validation(&v(0.1, 0.1)), Rule::Feedforward);
        assert_eq!(
            Rule::chosen_on_validation(&v(0.2, 0.1)),
            Rule::AfterInference
        );
    }
}

/// The errors of one prediction rule on one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitErrors {
    /// Examples scored.
    pub examples: usize,
    /// With the feed-forward pass.
    pub error_feedforward: f64,
    /// After INFERENCE with y free.
    pub error_after_inference: f64,
}

/// The back-propagation baseline's errors (same network, same data, [`crate::baselines`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineErrors {
    /// On the validation split.
    pub validation_error: f64,
    /// On the evaluated split (`test` unless asked otherwise).
    pub split_error: f64,
    /// Its epochs and their seconds.
    pub epochs: usize,
    /// Seconds of its training.
    pub seconds: f64,
}

/// What `bpdl eval classify` writes (`classify.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyReport {
    /// The run folder.
    pub run: String,
    /// The split evaluated (`test` by default).
    pub split: String,
    /// The error of the rule chosen on validation on the evaluated split when it is `test`.
    pub test_error: Option<f64>,
    /// The error of that rule on the validation split.
    pub validation_error: f64,
    /// Which rule was chosen on the validation split.
    pub rule: Rule,
    /// The feed-forward error on the evaluated split.
    pub error_feedforward: f64,
    /// The error after INFERENCE on the evaluated split.
    pub error_after_inference: f64,
    /// Both errors on the validation split.
    pub validation: SplitErrors,
    /// `confusion[true][predicted]` of the chosen rule on the evaluated split.
    pub confusion: Vec<Vec<usize>>,
    /// Labelled training examples the run learnt from.
    pub labels: usize,
    /// INFERENCE iterations at prediction.
    pub predict_steps: usize,
    /// Mean seconds per training epoch (`metrics.jsonl`).
    pub seconds_per_epoch: f64,
    /// The back-propagation baseline of the same network, when the run has one.
    pub baseline: Option<BaselineErrors>,
}

/// "test error 1.52% (feed-forward; after inference 1.60%) — back-propagation 1.40%".
impl std::fmt::Display for ClassifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chosen = match self.rule {
            Rule::Feedforward => self.error_feedforward,
            Rule::AfterInference => self.error_after_inference,
        };
        write!(
            f,
            "{} error {:.2}% ({} rule, chosen on validation: {:.2}%; feed-forward {:.2}%, after \
             {} inference steps {:.2}%), {} labels",
            self.split,
            100.0 * chosen,
            match self.rule {
                Rule::Feedforward => "feed-forward",
                Rule::AfterInference => "inference",
            },
            100.0 * self.validation_error,
            100.0 * self.error_feedforward,
            self.predict_steps,
            100.0 * self.error_after_inference,
            self.labels
        )?;
        if let Some(b) = &self.baseline {
            write!(
                f,
                " | back-propagation baseline {:.2}%",
                100.0 * b.split_error
            )?;
        }
        Ok(())
    }
}

/// Classifies the `split` images of `data` with the run in `dir` (its checkpoint and, when
/// there, its baseline) and scores both rules; the reported rule is chosen on the validation
/// split. Fails when the run was not trained with a label layer.
pub fn classify_run(
    dev: &Device,
    dir: &std::path::Path,
    data: &crate::data::Mnist,
    split: crate::data::SplitName,
) -> Result<ClassifyReport> {
    let (state, config) = crate::checkpoint::load(&dir.join(crate::checkpoint::FILE_NAME))?;
    if !config.supervised.enabled {
        return Err(Error::Usage(format!(
            "{}: this run was trained without labels (supervised.enabled = false); classify a \
             run trained with `[supervised] enabled = true`",
            dir.display()
        )));
    }
    let model = &state.model;
    let batch = config.train.batch_size.max(1);
    let seed = crate::rng::Seed(config.seed);
    let score = |images: ArrayView2<'_, f32>, stream: &str| {
        let mut rng = seed.stream(stream);
        let p = predict(
            dev,
            model,
            images,
            &config.inference,
            &config.supervised,
            batch,
            &mut rng,
        )?;
        Ok::<_, Error>(p)
    };
    let v = &data.validation;
    let pv = score(v.images.view(), "classify/validation")?;
    let validation = ValidationErrors {
        examples: v.len(),
        feedforward: error_rate(&pv.feedforward, &v.labels),
        after_inference: error_rate(&pv.after_inference, &v.labels),
    };
    let rule = Rule::chosen_on_validation(&validation);
    let s = data.split(split);
    let ps = score(s.images.view(), "classify/split")?;
    let chosen = match rule {
        Rule::Feedforward => &ps.feedforward,
        Rule::AfterInference => &ps.after_inference,
    };
    let baseline = match crate::baselines::in_run::load(dir)? {
        Some((net, record)) => Some(BaselineErrors {
            validation_error: error_rate(&net.predict(dev, v.images.view()), &v.labels),
            split_error: error_rate(&net.predict(dev, s.images.view()), &s.labels),
            epochs: record.epochs.len(),
            seconds: record.seconds,
        }),
        None => None,
    };
    let metrics = crate::run::read_metrics(dir).unwrap_or_default();
    let seconds_per_epoch =
        metrics.iter().map(|m| m.seconds).sum::<f64>() / metrics.len().max(1) as f64;
    let error_rule = match rule {
        Rule::Feedforward => validation.feedforward,
        Rule::AfterInference => validation.after_inference,
    };
    Ok(ClassifyReport {
        run: dir.display().to_string(),
        split: split.name().to_string(),
        test_error: (split == crate::data::SplitName::Test).then(|| error_rate(chosen, &s.labels)),
        validation_error: error_rule,
        rule,
        error_feedforward: error_rate(&ps.feedforward, &s.labels),
        error_after_inference: error_rate(&ps.after_inference, &s.labels),
        validation: SplitErrors {
            examples: v.len(),
            error_feedforward: validation.feedforward,
            error_after_inference: validation.after_inference,
        },
        confusion: confusion(chosen, &s.labels),
        labels: if config.supervised.labels == 0 {
            data.train.len().min(if config.data.train_limit == 0 {
                usize::MAX
            } else {
                config.data.train_limit
            })
        } else {
            config.supervised.labels
        },
        predict_steps: config.supervised.predict_steps,
        seconds_per_epoch,
        baseline,
    })
}
