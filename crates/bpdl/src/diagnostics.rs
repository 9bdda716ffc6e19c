//! Health diagnostics of the inferred codes (gap S6): the failure modes of Algorithm 2 show up
//! here first — a sigmoid layer that saturates to one code for every example (spread → 0,
//! saturation → 1) or a softplus layer that runs away (mean |h| growing without bound).
//!
//! * `mean_abs`: mean of |h| over units and examples;
//! * `spread`: mean over units of the standard deviation across the examples of a minibatch;
//! * `saturation`: for sigmoid units, the fraction of values below 0.01 or above 0.99.
//!
//! Training reports them, with the losses of the M-step and `log p(x, h)` before and after the
//! E-step, as the averages of an epoch ([`EpochMetrics`], one line of `metrics.jsonl`).

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::backend::Device;
use crate::inference::{EStepSummary, Inference};
use crate::learning::MStepLosses;
use crate::model::GenerativeModel;

/// What one epoch measured (one line of `metrics.jsonl`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// Learning rate of maps without their own.
    pub lr: f64,
    /// Mean `‖g_l(h̃_l) − h_{l−1}‖²` per example, l = 1..L.
    pub loss_decoder: Vec<f64>,
    /// Mean `‖f_l(h̃_{l−1}) − h_l‖²` per example, l = 1..L.
    pub loss_encoder: Vec<f64>,
    /// Mean `log p(x, h) + const` at the feed-forward start of inference.
    pub log_pxh_before: f64,
    /// Mean `log p(x, h) + const` after inference.
    pub log_pxh_after: f64,
    /// Mean `‖h_{l−1} − g_l(h_l)‖²` after inference (index 0: reconstruction of x from h1).
    pub recon: Vec<f64>,
    /// Diagnostics of h_1 … h_L after inference.
    pub layers: Vec<LayerStats>,
    /// Minibatches in the epoch.
    pub minibatches: usize,
    /// INFERENCE with the training settings on held-out images (the first
    /// `train.heldout_examples` validation images) at the end of the epoch: does it climb
    /// `log p(x, h)`? (`None` when no held-out images were given.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout: Option<HeldOutInference>,
    /// Supervised learning: the fraction of the epoch's labelled training examples whose
    /// feed-forward prediction (before their label was clamped) was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_error: Option<f64>,
    /// Supervised learning: the classification error on the held-out images at the end of the
    /// epoch ([`crate::eval::classify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationErrors>,
}

/// The classification errors of an epoch's held-out images (supervised learning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationErrors {
    /// Held-out examples.
    pub examples: usize,
    /// With the feed-forward pass of the encoders, `argmax f_L(…f_1(x))`.
    pub feedforward: f64,
    /// After `supervised.predict_steps` iterations of INFERENCE with y free.
    pub after_inference: f64,
}

/// The inference curve of an epoch's held-out images: `log p(x, h)` and each of its terms per
/// iteration (index 0: the feed-forward start), and the cosine of each layer's update with the
/// exact gradient ([`crate::eval::inference_curve()`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldOutInference {
    /// Held-out images.
    pub examples: usize,
    /// Mean `log p(x, h)` per iteration.
    pub log_pxh: Vec<f64>,
    /// Its standard error per iteration.
    pub log_pxh_se: Vec<f64>,
    /// Each term per iteration.
    pub terms: Vec<crate::eval::inference_curve::TermCurve>,
    /// Per layer, the mean cosine of the update with the exact gradient per iteration.
    pub alignment: Vec<crate::eval::inference_curve::TermCurve>,
}

/// One line: `log p` before → after inference, the decoders' and encoders' losses, mean |h| and
/// the spread of every layer.
impl std::fmt::Display for EpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &mut dyn Iterator<Item = f64>| {
            v.map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" ")
        };
        write!(
            f,
            "logp {:.2}→{:.2} | g {} | f {} | |h| {} | sd {}",
            self.log_pxh_before,
            self.log_pxh_after,
            list(&mut self.loss_decoder.iter().copied()),
            list(&mut self.loss_encoder.iter().copied()),
            list(&mut self.layers.iter().map(|l| l.mean_abs)),
            list(&mut self.layers.iter().map(|l| l.spread)),
        )?;
        if let Some(h) = &self.heldout
            && let (Some(a), Some(b)) = (h.log_pxh.first(), h.log_pxh.last())
        {
            write!(f, " | held-out logp {a:.2}→{b:.2}")?;
        }
        if let Some(e) = self.train_error {
            write!(f, " | train err {:.2}%", 100.0 * e)?;
        }
        if let Some(v) = &self.validation {
            write!(
                f,
                " | val err {:.2}% (inferred {:.2}%)",
                100.0 * v.feedforward,
                100.0 * v.after_inference
            )?;
        }
        Ok(())
    }
}

/// Running sums over the minibatches of an epoch.
#[derive(Debug, Clone)]
pub(crate) struct EpochRunning {
    n: usize,
    sums: EpochMetrics,
    /// Labelled examples seen and misclassified by their feed-forward pass.
    labelled: usize,
    label_errors: usize,
}

impl EpochRunning {
    pub(crate) fn new(depth: usize) -> Self {
        Self {
            n: 0,
            sums: EpochMetrics {
                loss_decoder: vec![0.0; depth],
                loss_encoder: vec![0.0; depth],
                recon: vec![0.0; depth],
                layers: vec![LayerStats::default(); depth],
                ..EpochMetrics::default()
            },
            labelled: 0,
            label_errors: 0,
        }
    }

    /// Adds a minibatch `x`'s E-step: `log p(x, h)` before and after, the reconstruction error
    /// of every layer and the diagnostics of every inferred layer.
    pub(crate) fn observe_inference(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
        inf: &Inference,
        summary: EStepSummary,
    ) {
        self.n += 1;
        let s = &mut self.sums;
        s.log_pxh_before += summary.log_pxh_before;
        s.log_pxh_after += summary.log_pxh_after;
        self.labelled += summary.labelled;
        self.label_errors += summary.label_errors;
        let batch = x.nrows().max(1) as f64;
        for l in 0..model.depth() {
            let below = if l == 0 { x } else { inf.post.h[l - 1].view() };
            let sse = dev.sum_sq_diff(below, inf.ws.reconstruction(l).view());
            s.recon[l] += sse / batch;
            let act = model.pairs[l].encoder.activation;
            let stats = LayerStats::of(dev, inf.post.h[l].view(), act);
            s.layers[l].add_scaled(&stats, 1.0);
        }
    }

    /// Adds a minibatch's M-step losses.
    pub(crate) fn observe_losses(&mut self, losses: &MStepLosses) {
        for (s, l) in self.sums.loss_decoder.iter_mut().zip(&losses.decoder) {
            *s += l;
        }
        for (s, l) in self.sums.loss_encoder.iter_mut().zip(&losses.encoder) {
            *s += l;
        }
    }

    /// The averages of the epoch so far (`seconds` and `lr` are the caller's to fill).
    pub(crate) fn metrics(&self, epoch: usize) -> EpochMetrics {
        let k = 1.0 / self.n.max(1) as f64;
        let avg = |v: &[f64]| v.iter().map(|x| x * k).collect::<Vec<_>>();
        let s = &self.sums;
        EpochMetrics {
            epoch,
            seconds: 0.0,
            lr: 0.0,
            loss_decoder: avg(&s.loss_decoder),
            loss_encoder: avg(&s.loss_encoder),
            log_pxh_before: s.log_pxh_before * k,
            log_pxh_after: s.log_pxh_after * k,
            recon: avg(&s.recon),
            layers: s
                .layers
                .iter()
                .map(|l| {
                    let mut out = LayerStats::default();
                    out.add_scaled(l, k);
                    out
                })
                .collect(),
            minibatches: self.n,
            heldout: None,
            train_error: (self.labelled > 0)
                .then(|| self.label_errors as f64 / self.labelled as f64),
            validation: None,
        }
    }
}

/// Diagnostics of one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Mean |h|.
    pub mean_abs: f64,
    /// Mean over units of the standard deviation across examples.
    pub spread: f64,
    /// Fraction of saturated sigmoid units (absent for other non-linearities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturation: Option<f64>,
}

impl LayerStats {
    /// The diagnostics of a minibatch of codes `h: [batch, units]` of a layer with `act` units.
    pub fn of(dev: &Device, h: ArrayView2<'_, f32>, act: Activation) -> Self {
        let m = dev.layer_moments(h);
        Self {
            mean_abs: m.mean_abs,
            spread: m.spread,
            saturation: (act == Activation::Sigmoid).then_some(m.outside_unit_margin),
        }
    }

    /// Adds `w · other` to `self` (for running averages).
    pub fn add_scaled(&mut self, other: &Self, w: f64) {
        self.mean_abs += w * other.mean_abs;
        self.spread += w * other.spread;
        if let Some(s) = other.saturation {
            *self.saturation.get_or_insert(0.0) += w * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stats_of_a_small_batch_match_hand_values() {
        // columns: [0, 1] (sd 0.5) and [0.5, 0.5] (sd 0)
        let h = array![[0.0f32, 0.5], [1.0, 0.5]];
        let dev = Device::cpu(1).unwrap();
        let s = LayerStats::of(&dev, h.view(), Activation::Sigmoid);
        assert!((s.mean_abs - 0.5).abs() < 1e-12);
        assert!((s.spread - 0.25).abs() < 1e-12);
        assert_eq!(s.saturation, Some(0.5));
        let s = LayerStats::of(&dev, h.view(), Activation::Softplus);
        assert_eq!(s.saturation, None);
    }
}
