//! The local learning rule of one map (paper §4 and Algorithm 2, TRAIN): squared error between
//! the map's prediction and its target, descended with the closed-form gradient of that one
//! layer,
//!
//! ```text
//! L(W, b) = (1/B) Σ_b Σ_j (y_bj − t_bj)²,     y = φ(u·W + b)
//! ∂L/∂W = (2/B) · uᵀ · e,    ∂L/∂b = (2/B) · Σ_b e_b,    e = (y − t) ⊙ φ'(y)
//! ```
//!
//! where `u` is the map's (corrupted) input and `t` its target: the inferred value of the layer
//! it predicts, held constant. This is the delta rule: presynaptic activity `u` times the
//! postsynaptic error `e`. The signature of [`local_delta`] can only see what a synapse could
//! know — its layer's input, target and prediction (the weights enter when the update is applied,
//! [`super::optimizer`]) — so no signal can travel across layers: there is no back-propagation.
//!
//! The loss is summed over units and averaged over the minibatch (gap G2); the factor 2 is kept
//! (no ½), so learning rates compare directly with a PyTorch `((y - t)**2).sum(1).mean()`.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};

use crate::activation::Activation;
use crate::backend::{Device, Matrix};

/// The learning signal of one map for one minibatch: the gradient is
/// `scale · inputᵀ · error` for the weights and `scale · Σ_rows error` for the bias (or, with
/// [`LocalDelta::bias`], `bias.scale · Σ_rows bias.activity_row · error_row`).
#[derive(Debug, Clone, Copy)]
pub struct LocalDelta<'a> {
    /// Presynaptic activity `u`, `[batch, n_in]`.
    pub input: ArrayView2<'a, f32>,
    /// Postsynaptic error `e = (y − t) ⊙ φ'(y)`, `[batch, n_out]`.
    pub error: ArrayView2<'a, f32>,
    /// `2 / batch`.
    pub scale: f32,
    /// The loss `(1/B) Σ (y − t)²` of this minibatch.
    pub loss: f64,
    /// The bias's own presynaptic activity when it varies by example (the spiking rule's
    /// always-firing neuron, [`crate::learning::spiking`]); `None`: a constant input of 1 with
    /// the weights' `scale` (the rate rule).
    pub bias: Option<BiasInput<'a>>,
}

/// The presynaptic activity of a bias that varies by example: its gradient is
/// `scale · Σ_b activity_b · error_b`.
#[derive(Debug, Clone, Copy)]
pub struct BiasInput<'a> {
    /// One value per example, `[batch]`.
    pub activity: ArrayView1<'a, f32>,
    /// The bias's own factor.
    pub scale: f32,
}

/// Computes the learning signal of a map from its input, its target and its prediction
/// `y = φ(u·W + b)`, writing `e` into `error` and each example's squared error into `row_sse`.
///
/// # Shapes
/// `input: [B, n_in]`, `target`, `prediction`, `error: [B, n_out]`, `row_sse: [B]`.
pub fn local_delta<'a>(
    dev: &Device,
    input: ArrayView2<'a, f32>,
    target: ArrayView2<'_, f32>,
    prediction: ArrayView2<'_, f32>,
    activation: Activation,
    error: &'a mut Matrix,
    row_sse: ArrayViewMut1<'_, f64>,
) -> LocalDelta<'a> {
    let batch = input.nrows().max(1);
    let sse = dev.output_error(error.view_mut(), prediction, target, activation, row_sse);
    let error: &'a Matrix = error;
    LocalDelta {
        input,
        error: error.view(),
        scale: 2.0 / batch as f32,
        loss: sse / batch as f64,
        bias: None,
    }
}
