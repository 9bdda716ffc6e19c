//! In-painting (paper §8, Fig. 5): half of the pixels of each test digit are replaced by noise
//! and treated as missing; 20 encode/decode iterations — each a call of INFERENCE whose
//! bottom-up term for h_1 is `f_1([x_visible, g_1(h_1)_missing]) − f_1(g_1(h_1))`, followed by
//! `x ← [x_visible, g_1(h_1)_missing]` — fill them in. The visible pixels stay clamped.
//!
//! Following gap G15: a fresh random 50 % mask per image, missing pixels initialised with
//! U(0, 1) noise. Each outer iteration is a whole call of INFERENCE — feed-forward start from the
//! current completed image, then N clamped iterations — like the rounds of GENERATE (the
//! specification's pseudo-code sketch carried h over instead, gap G15; restarting is what "each calling INFERENCE"
//! reads as). The quality measure is the mean squared error on the missing pixels after each
//! outer iteration (index 0 = the noise it starts from), which should fall.

use ndarray::{ArrayView2, s};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix, noise};
use crate::config::InferenceConfig;
use crate::data::batches::batches;
use crate::error::Result;
use crate::inference::{Evidence, Inference};
use crate::model::GenerativeModel;
use crate::rng::{Rng, fill_key, row_rng};

/// What an in-painting run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inpainting {
    /// Images in-painted.
    pub examples: usize,
    /// Fraction of pixels missing.
    pub missing_fraction: f64,
    /// Mean squared error on the missing pixels after each outer iteration (index 0: start).
    pub mse_missing: Vec<f64>,
}

/// The result with the images themselves (for the figure).
#[derive(Debug, Clone)]
pub struct InpaintingImages {
    /// The measurements.
    pub summary: Inpainting,
    /// The corrupted inputs (visible pixels + noise).
    pub corrupted: Matrix,
    /// The filled-in images after the last iteration.
    pub filled: Matrix,
    /// 1 for visible pixels, 0 for missing ones.
    pub visible: Matrix,
}

/// A mask with exactly `round(missing·d)` missing entries per row, chosen uniformly.
pub fn random_mask(rows: usize, d: usize, missing: f64, rng: &mut Rng) -> Matrix {
    let key = fill_key(rng);
    let k = ((missing * d as f64).round() as usize).min(d);
    let mut mask = Matrix::ones((rows, d));
    for (i, mut row) in mask.rows_mut().into_iter().enumerate() {
        let mut r = row_rng(key, i);
        let mut idx: Vec<usize> = (0..d).collect();
        for j in 0..k {
            let pick = r.random_range(j..d);
            idx.swap(j, pick);
            row[idx[j]] = 0.0;
        }
    }
    mask
}

/// How to in-paint: the fraction of pixels removed, the encode/decode iterations and the
/// INFERENCE settings of each, the minibatch size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InpaintingSettings {
    /// Fraction of the pixels of each image that are missing (paper: one half).
    pub missing: f64,
    /// Outer encode/decode iterations (paper: 20).
    pub outer: usize,
    /// The INFERENCE of every outer iteration.
    pub inference: InferenceConfig,
    /// Images per minibatch.
    pub batch: usize,
}

/// In-paints `images` (one per row) as `settings` say.
pub fn inpaint(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    settings: &InpaintingSettings,
    rng: &mut Rng,
) -> Result<InpaintingImages> {
    // on this device's own thread pool
    dev.install(|| {
        let InpaintingSettings {
            missing,
            outer,
            inference: ref params,
            batch,
        } = *settings;
        let (n, d) = images.dim();
        let visible = random_mask(n, d, missing, rng);
        // the visible pixels of each image, U(0, 1) noise in the missing ones
        let mut noise = Matrix::zeros((n, d));
        noise::fill_uniform(dev, rng, noise.view_mut());
        let mut corrupted = Matrix::zeros((n, d));
        dev.fill_missing(corrupted.view_mut(), images, visible.view(), noise.view());
        let mut filled = corrupted.clone();
        let mut sse = vec![0.0f64; outer + 1];
        let missing_count = visible.iter().filter(|&&m| m == 0.0).count().max(1) as f64;
        let mut inf = Inference::new(model, batch.max(1));
        for range in batches(n, batch) {
            let rows = s![range.clone(), ..];
            let (truth, vis) = (images.slice(rows), visible.slice(rows));
            inf.ensure(model, range.len());
            let mut x = filled.slice(rows).to_owned();
            sse[0] += missing_error(truth, x.view(), vis);
            for slot in sse.iter_mut().skip(1) {
                let evidence = Evidence::Partial {
                    x: x.view(),
                    visible: vis,
                };
                inf.e_step(dev, model, evidence, params, rng, None)?;
                dev.fill_missing(x.view_mut(), truth, vis, inf.ws.reconstruction(0).view());
                *slot += missing_error(truth, x.view(), vis);
            }
            filled.slice_mut(rows).assign(&x);
        }
        Ok(InpaintingImages {
            summary: Inpainting {
                examples: n,
                missing_fraction: missing,
                mse_missing: sse.iter().map(|s| s / missing_count).collect(),
            },
            corrupted,
            filled,
            visible,
        })
    })
}

fn missing_error(
    truth: ArrayView2<'_, f32>,
    x: ArrayView2<'_, f32>,
    visible: ArrayView2<'_, f32>,
) -> f64 {
    truth
        .iter()
        .zip(x.iter())
        .zip(visible.iter())
        .filter(|(_, m)| **m == 0.0)
        .map(|((&t, &v), _)| f64::from(t - v).powi(2))
        .sum()
}
