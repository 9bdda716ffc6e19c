//! The paper's Fig. 4: `log p(x, h)` (unit-variance Gaussian terms, no constants, gap G12)
//! over the iterations of INFERENCE on a whole split, as mean ± standard error over the
//! examples, plus a few individual curves.

use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::backend::Device;
use crate::config::InferenceConfig;
use crate::data::batches::batches;
use crate::error::Result;
use crate::inference::{Evidence, Inference, InferenceWorkspace};
use crate::model::GenerativeModel;
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
    /// Mean of the first term alone, `log p(x | h_1) + const = −½‖x − g_1(h_1)‖²` (the rest of
    /// `log p(x, h)` is the latent layers' terms).
    pub log_px_given_h1_mean: Vec<f64>,
    /// The curves of the first few examples.
    pub example_curves: Vec<Vec<f64>>,
    /// Mean squared error per pixel between x and g_1(h_1) after the last iteration.
    pub recon_mse: f64,
    /// The same at the feed-forward start.
    pub recon_mse_start: f64,
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
        let mut x_term = vec![0.0f64; steps + 1];
        let mut example_curves = vec![Vec::with_capacity(steps + 1); keep.min(images.nrows())];
        let (mut sse_end, mut sse_start) = (0.0f64, 0.0f64);
        let mut inf = Inference::new(model, batch.max(1));
        for rows in batches(images.nrows(), batch) {
            let start = rows.start;
            let x = images.slice(s![rows.clone(), ..]);
            inf.ensure(model, rows.len());
            let mut record = |t: usize, ws: &InferenceWorkspace| {
                let sse = dev.sum_sq_diff(x, ws.reconstruction(0).view());
                if t == 0 {
                    sse_start += sse;
                }
                x_term[t] -= 0.5 * sse;
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
            log_px_given_h1_mean: x_term.iter().map(|s| s / n).collect(),
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
        )
    }
}
