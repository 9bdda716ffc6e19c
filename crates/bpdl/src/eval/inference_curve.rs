//! The paper's Fig. 4: `log p(x, h)` (Gaussian terms of the model's variances σ_l², unit unless
//! learned, without the `2π` constants; gap G12, [`crate::model::noise_variance`])
//! over the iterations of INFERENCE on a whole split, as mean ± standard error over the
//! examples, plus a few individual curves, and each of its terms on its own:
//!
//! ```text
//! log p(x, h) + const = log p(x | h_1) + Σ_{l=1}^{L−1} log p(h_l | h_{l+1})
//! each term −‖h_{l−1} − g_l(h_l)‖²/(2σ_l²) − (n_{l−1}/2)·ln σ_l²
//! ```
//!
//! with the top prior's `log p(h_L)` beside them when the model has one (it is not part of the
//! objective training climbs, paper §4), and, per layer and iteration, the mean cosine between
//! INFERENCE's update and the exact gradient of the objective ([`super::gradient_alignment`]).

use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::backend::Device;
use crate::config::InferenceConfig;
use crate::data::batches::batches;
use crate::error::Result;
use crate::eval::gradient_alignment;
use crate::inference::{Evidence, Inference, InferenceWorkspace, Posterior};
use crate::model::GenerativeModel;
use crate::model::objective::log_top_prior;
use crate::rng::Rng;

/// `log p(x, h)` per inference iteration (index 0 = the feed-forward start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceCurve {
    /// Examples evaluated.
    pub examples: usize,
    /// Inference iterations (the curves have `steps + 1` points).
    pub steps: usize,
    /// Mean over examples.
    pub log_pxh_mean: Vec<f64>,
    /// Standard error of the mean (sd / √n).
    pub log_pxh_se: Vec<f64>,
    /// σ_l² of every term, bottom first (all 1: unit variances, gap G12).
    #[serde(default)]
    pub noise_var: Vec<f64>,
    /// Mean of the first term alone, `log p(x | h_1) + const` (the rest of
    /// `log p(x, h)` is the latent layers' terms).
    pub log_px_given_h1_mean: Vec<f64>,
    /// Each term of `log p(x, h)` (mean over examples, per iteration), then the top prior
    /// `log p(h_L)` when the model has one.
    #[serde(default)]
    pub terms: Vec<TermCurve>,
    /// Per latent layer, the mean cosine between INFERENCE's update at iteration t (t = 0..N−1)
    /// and the exact gradient of `log p(x, h)` there, over the first minibatch's examples.
    #[serde(default)]
    pub alignment: Vec<TermCurve>,
    /// The curves of the first few examples.
    pub example_curves: Vec<Vec<f64>>,
    /// Mean squared error per pixel between x and g_1(h_1) after the last iteration.
    pub recon_mse: f64,
    /// The same at the feed-forward start.
    pub recon_mse_start: f64,
}

/// One named curve over the iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermCurve {
    /// `"log p(x|h1)"`, `"log p(h1|h2)"`, `"log p(h2)"` (top prior), or a layer `"h1"`.
    pub name: String,
    /// Its value per iteration.
    pub mean: Vec<f64>,
}

/// The names of the terms of `log p(x, h)` for a model of `depth` latent layers, bottom first.
pub fn term_names(depth: usize) -> Vec<String> {
    (0..depth)
        .map(|l| {
            if l == 0 {
                "log p(x|h1)".to_string()
            } else {
                format!("log p(h{l}|h{})", l + 1)
            }
        })
        .collect()
}

/// Runs inference on every row of `images` (in minibatches of `batch`) and records
/// `log p(x, h)` after every iteration; `keep` individual curves are kept.
pub fn inference_curve(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    params: &InferenceConfig,
    batch: usize,
    keep: usize,
    rng: &mut Rng,
) -> Result<InferenceCurve> {
    // on this device's own thread pool
    dev.install(|| {
        let steps = params.steps;
        let (mut sum, mut sum_sq) = (vec![0.0f64; steps + 1], vec![0.0f64; steps + 1]);
        let depth = model.depth();
        let mut term_sums = vec![vec![0.0f64; steps + 1]; depth];
        let mut prior_sum = model.top_prior.as_ref().map(|_| vec![0.0f64; steps + 1]);
        let mut cosines = vec![vec![0.0f64; steps]; depth];
        let mut first_batch = true;
        let mut alignment_error = None;
        let mut example_curves = vec![Vec::with_capacity(steps + 1); keep.min(images.nrows())];
        let (mut sse_end, mut sse_start) = (0.0f64, 0.0f64);
        let mut inf = Inference::new(model, batch.max(1));
        for rows in batches(images.nrows(), batch) {
            let start = rows.start;
            let x = images.slice(s![rows.clone(), ..]);
            inf.ensure(model, rows.len());
            let align = first_batch;
            first_batch = false;
            let mut record = |t: usize, ws: &InferenceWorkspace, post: &Posterior| {
                for (l, sums) in term_sums.iter_mut().enumerate() {
                    let below = if l == 0 { x } else { post.h[l - 1].view() };
                    let sse = dev.sum_sq_diff(below, ws.reconstruction(l).view());
                    if l == 0 && t == 0 {
                        sse_start += sse;
                    }
                    let (w, c) = model.noise.term(l, below.ncols());
                    sums[t] -= w * 0.5 * sse + c * below.nrows() as f64;
                }
                if let (Some(sums), Some(prior)) = (prior_sum.as_mut(), model.top_prior.as_ref()) {
                    sums[t] += log_top_prior(dev, prior, post.h[depth - 1].view()).sum();
                }
                if align && t < steps {
                    match gradient_alignment::mean_cosines(dev, model, x, &post.h, params) {
                        Ok(c) => cosines.iter_mut().zip(c).for_each(|(v, c)| v[t] = c),
                        Err(e) => alignment_error = Some(e),
                    }
                }
                for (i, &v) in ws.log_pxh().iter().enumerate() {
                    sum[t] += v;
                    sum_sq[t] += v * v;
                    if let Some(curve) = example_curves.get_mut(start + i) {
                        curve.push(v);
                    }
                }
            };
            inf.e_step(
                dev,
                model,
                Evidence::Full(x),
                params,
                rng,
                Some(&mut record),
            )?;
            sse_end += dev.sum_sq_diff(x, inf.ws.reconstruction(0).view());
            if let Some(e) = alignment_error.take() {
                return Err(e);
            }
        }
        let n = images.nrows().max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let se = sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| {
                let var = (q / n - m * m).max(0.0) * n / (n - 1.0).max(1.0);
                (var / n).sqrt()
            })
            .collect();
        let cells = n * images.ncols().max(1) as f64;
        Ok(InferenceCurve {
            examples: images.nrows(),
            steps,
            log_pxh_mean: mean,
            log_pxh_se: se,
            noise_var: model.noise.var.clone(),
            log_px_given_h1_mean: term_sums[0].iter().map(|s| s / n).collect(),
            terms: term_names(depth)
                .into_iter()
                .zip(&term_sums)
                .map(|(name, sums)| TermCurve {
                    name,
                    mean: sums.iter().map(|s| s / n).collect(),
                })
                .chain(prior_sum.iter().map(|sums| TermCurve {
                    name: format!("log p(h{depth})"),
                    mean: sums.iter().map(|s| s / n).collect(),
                }))
                .collect(),
            alignment: cosines
                .into_iter()
                .enumerate()
                .map(|(l, mean)| TermCurve {
                    name: format!("h{}", l + 1),
                    mean,
                })
                .collect(),
            example_curves,
            recon_mse: sse_end / cells,
            recon_mse_start: sse_start / cells,
        })
    })
}

/// `bpdl infer`'s record of one split: its curve with the δ and α it used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferenceReport {
    /// The split inferred.
    pub split: crate::data::SplitName,
    /// δ.
    pub delta: f32,
    /// α.
    pub alpha: f32,
    /// The curve.
    #[serde(flatten)]
    pub curve: InferenceCurve,
}

/// "log p(x,h): start ± se (feed-forward) → end ± se after N iterations; reconstruction MSE …".
impl std::fmt::Display for InferenceCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self.steps;
        write!(
            f,
            "log p(x,h): {:.3} ± {:.3} (feed-forward) → {:.3} ± {:.3} after {last} iterations; \
             reconstruction MSE {:.5} → {:.5}",
            self.log_pxh_mean[0],
            self.log_pxh_se[0],
            self.log_pxh_mean[last],
            self.log_pxh_se[last],
            self.recon_mse_start,
            self.recon_mse,
        )?;
        for term in &self.terms {
            if let (Some(first), Some(last)) = (term.mean.first(), term.mean.last()) {
                write!(f, "; {} {first:.3} → {last:.3}", term.name)?;
            }
        }
        if self.noise_var.iter().any(|&v| v != 1.0) {
            let vars: Vec<String> = self.noise_var.iter().map(|v| format!("{v:.5}")).collect();
            write!(f, "; learned σ² {}", vars.join(", "))?;
        }
        for layer in &self.alignment {
            if let (Some(first), Some(last)) = (layer.mean.first(), layer.mean.last()) {
                write!(
                    f,
                    "; cos(update, ∇) of {} {first:.2} (start) → {last:.2}",
                    layer.name
                )?;
            }
        }
        Ok(())
    }
}
