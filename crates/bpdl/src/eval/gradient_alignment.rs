//! How well INFERENCE's update follows the objective it is meant to climb (paper §4–§6, Eq. 12;
//! issue: "inference that climbs its objective"): the cosine, per example, between the update
//! that one iteration of INFERENCE takes at h and the exact gradient of
//!
//! ```text
//! log p(x, h) + const = −Σ_l ‖h_{l−1} − g_l(h_l)‖² / (2σ_l²),   g_l(h) = φ(h·W_l + b_l)
//! ∂/∂h_l = ((h_{l−1} − g_l(h_l)) ⊙ φ'(g_l(h_l)))·W_lᵀ / σ_l²  −  (h_l − g_{l+1}(h_{l+1})) / σ_{l+1}²   (last term for l < L)
//! ```
//!
//! The gradient is hand-derived here, for diagnosis only: the learner never computes it (its
//! bottom-up term is the targetprop estimate `f(h_{l−1}) − f(g(h_l))`, no derivative taken). The
//! integration tests check this gradient against f64 finite differences of the objective.

use ndarray::{Array1, ArrayView2};

use crate::backend::{Device, Matrix};
use crate::config::{Acceptance, InferenceConfig};
use crate::error::Result;
use crate::inference::{Evidence, Inference, Posterior};
use crate::model::GenerativeModel;
use crate::rng::Seed;

/// `∂ log p(x, h)/∂h_l` for every latent layer (the top prior excluded, as in training), each
/// `[batch, n_l]`.
pub fn joint_gradient(
    dev: &Device,
    model: &GenerativeModel,
    x: ArrayView2<'_, f32>,
    h: &[Matrix],
) -> Vec<Matrix> {
    let depth = model.depth();
    let recon: Vec<Matrix> = model
        .pairs
        .iter()
        .zip(h)
        .map(|(pair, h_l)| pair.decoder.apply(dev, h_l.view()))
        .collect();
    (0..depth)
        .map(|l| {
            let below = if l == 0 { x } else { h[l - 1].view() };
            let decoder = &model.pairs[l].decoder;
            // e = (g − below) ⊙ φ'(g), so the reconstruction term's gradient is −e·Wᵀ
            let mut e = Matrix::zeros(recon[l].dim());
            let mut row_sse = Array1::zeros(e.nrows());
            dev.output_error(
                e.view_mut(),
                recon[l].view(),
                below,
                decoder.activation,
                row_sse.view_mut(),
            );
            let mut grad = Matrix::zeros(h[l].dim());
            let precision = |l: usize| model.noise.precision(l) as f32;
            if l + 1 < depth {
                // −(h_l − g_{l+1}(h_{l+1})) / σ_{l+1}²
                let (target, k) = (recon[l + 1].view(), precision(l + 1));
                dev.axpy_scaled_diff(grad.view_mut(), k, target, h[l].view());
            }
            dev.matmul(
                -precision(l),
                e.view(),
                decoder.weight.t(),
                1.0,
                grad.view_mut(),
            );
            grad
        })
        .collect()
}

/// The update `h_after − h` of one INFERENCE iteration from h (Algorithm 2's order, top layer
/// first; no noise, every step kept), per layer.
pub fn inference_update(
    dev: &Device,
    model: &GenerativeModel,
    x: ArrayView2<'_, f32>,
    h: &[Matrix],
    params: &InferenceConfig,
) -> Result<Vec<Matrix>> {
    let one = InferenceConfig {
        steps: 1,
        noise_std: 0.0,
        accept: Acceptance::Always,
        ..*params
    };
    let mut inf = Inference::new(model, x.nrows());
    inf.post = Posterior { h: h.to_vec() };
    inf.refresh(dev, model, x)?;
    let mut unused = Seed(0).stream("alignment");
    inf.iterate(dev, model, Evidence::Full(x), &one, &mut unused, None)?;
    Ok(inf
        .post
        .h
        .iter()
        .zip(h)
        .map(|(after, before)| {
            let mut step = Matrix::zeros(after.dim());
            dev.axpy_diff(step.view_mut(), after.view(), before.view());
            step
        })
        .collect())
}

/// Per layer, the mean over examples of `cos(update_i, ∇_i)` between INFERENCE's update at h
/// and the exact gradient of `log p(x, h)` (rows whose update or gradient is zero count as 0).
pub fn mean_cosines(
    dev: &Device,
    model: &GenerativeModel,
    x: ArrayView2<'_, f32>,
    h: &[Matrix],
    params: &InferenceConfig,
) -> Result<Vec<f64>> {
    let update = inference_update(dev, model, x, h, params)?;
    let grad = joint_gradient(dev, model, x, h);
    Ok(update
        .iter()
        .zip(&grad)
        .map(|(u, g)| {
            let cos: Array1<f64> = dev.row_cosines(u.view(), g.view());
            cos.mean().unwrap_or(0.0)
        })
        .collect())
}
