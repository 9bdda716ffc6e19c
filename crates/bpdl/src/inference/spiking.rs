//! The spiking E-step (issue 14, stage b; paper §2 and §9 "Poisson spiking"): INFERENCE as
//! membrane dynamics driven by spikes, in continuous time with a time step dt
//! (`inference.dynamics = "spiking"`, `[inference.spiking]`).
//!
//! Algorithm 2's update of a latent layer,
//!
//! ```text
//! h_l ← h_l + δ·( f_l(h_{l−1}) − f_l(g_l(h_l)) ) + α·( g_{l+1}(h_{l+1}) − h_l ),
//! ```
//!
//! becomes, for every example, a network of spiking populations:
//!
//! * **Populations.** x, every h_l, and one population of *reconstruction neurons* R_l per
//!   decoder, whose value is `g_l(h_l)`. A unit of value v fires in each step of dt with
//!   probability `ρ_max·dt·clip(v/s, 0, 1)` (Bernoulli: Poisson as dt → 0); s = 1 for x and
//!   sigmoid layers, `unbounded_scale` for the others (as in the spiking M-step).
//! * **Synapses.** Every map W delivers the spikes of its input population as a filtered current,
//!   `τ_s dI/dt = −I + b + (s/ρ_max)·Σ_spikes W_i δ(t − t_spike)`, whose expectation for constant
//!   values is the map's pre-activation `clip(v)·W + b`. Spikes are delivered event by event: a
//!   spike of unit i adds row i of W to the currents it reaches. Three currents per layer pair:
//!   f_l from the layer below (the bottom-up term), f_l from R_l (the reconstruction's re-encoding)
//!   and g_l from h_l (R_l's drive, which is also the top-down target of h_{l−1}).
//! * **Rates.** `R_l = φ_g(I_g)`, and the two encoder currents pass through φ_f.
//! * **Membranes.** Each h unit integrates the two terms of Algorithm 2 as its voltage's rate of
//!   change, `dh_l/dt = (1/T_it)·[δ(φ_f(I_bottom-up) − φ_f(I_refeed)) + α(R_{l+1} − h_l)]`:
//!   one iteration of Algorithm 2 lasts `T_it = iteration_ms` and is simulated in
//!   `M = T_it/dt` Euler steps of `δ/M` and `α/M`.
//!
//! ## Relation to the rate E-step
//!
//! With noiseless currents that followed the values instantly, M steps of `δ/M` per iteration
//! would be Algorithm 2 with all layers updated at once instead of top layer first. Three things
//! differ, and the measurements of `experiments/spiking-em` show their effect:
//!
//! 1. **Spike noise.** The currents estimate their pre-activations from the spikes of the last
//!    τ_s; the membrane integrates the noisy drive over T_it, so the noise averages down but
//!    does not vanish, and φ of a noisy current is biased by φ's curvature (Jensen).
//! 2. **Lag.** The currents follow the values with time constant τ_s (10 ms, one iteration).
//! 3. **Clipping.** A value above s fires at ρ_max, so it is read as s by the maps it drives.
//!
//! The start is the feed-forward pass (the learned approximate posterior q), as in the rate
//! E-step, with every current at its steady state for it — the network as if x had been shown,
//! and h held at q(x), for a long time; then the spikes take over. `log p(x, h)` is measured
//! after every iteration with the rate maps (the objective, not part of the dynamics), and the
//! reconstructions left in the workspace are the rate maps' `g_l(h_l)`.
//!
//! The spiking dynamics implement Algorithm 2's form only (every update kept, fixed weights of
//! the two terms, the prior top-down term, no added noise, no lateral prior term, no clamped
//! label); validating the config ([`crate::config::InferenceConfig::spiking_supported`]) rejects
//! the other settings.

use ndarray::{Array2, s};

use super::{Evidence, InferenceWorkspace, IterationHook, Posterior, check_finite, decode, score};
use crate::backend::spikes::seed_rows;
use crate::backend::spiking_inference::{SpikingConstants, SpikingLayout, SpikingRows};
use crate::backend::{Device, Matrix};
use crate::config::InferenceConfig;
use crate::error::{Error, Result};
use crate::model::GenerativeModel;
use crate::rng::Rng;

/// The spiking E-step's buffers (allocated on first use, reused by every later call).
#[derive(Debug, Clone, Default)]
pub struct SpikingWorkspace {
    /// Where each current and value sits in a row of `state`.
    layout: SpikingLayout,
    /// Every example's currents and values, `[batch, layout.width]`.
    state: Matrix,
    /// One generator per example.
    gens: Vec<Rng>,
    /// Per example: spikes fired and synaptic events delivered during the last call.
    counts: Array2<f64>,
    /// Neurons advanced by one time step during the last call, all examples together.
    neuron_steps: f64,
}

/// Spikes fired and synaptic events delivered (one presynaptic spike reaching one postsynaptic
/// neuron) during the last spiking E-step, summed over its examples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpikeTally {
    /// Spikes fired.
    pub spikes: f64,
    /// Synaptic events delivered.
    pub events: f64,
    /// Neurons advanced by one time step: `B × N × M ×` (the spiking populations x, h_1 … h_L
    /// and R_1 … R_L, `n_0 + Σ_{l≥1} n_l + Σ_{l<L} n_l` neurons; 3,668 for 784-1000-100).
    pub neuron_steps: f64,
}

impl SpikingWorkspace {
    fn ensure(&mut self, model: &GenerativeModel, batch: usize) {
        let width = SpikingLayout::width_for(&model.sizes);
        let fits = self.layout.parts.len() == model.depth() && self.layout.width == width;
        if !fits || self.state.nrows() != batch {
            let layout = SpikingLayout::new(&model.sizes);
            self.state = Matrix::zeros((batch, layout.width));
            self.layout = layout;
            self.gens = vec![crate::rng::row_rng(0, 0); batch];
            self.counts = Array2::zeros((batch, 2));
        }
    }

    /// Spikes and events of the last call.
    pub fn tally(&self) -> SpikeTally {
        let sum = self.counts.sum_axis(ndarray::Axis(0));
        SpikeTally {
            spikes: sum.first().copied().unwrap_or(0.0),
            events: sum.get(1).copied().unwrap_or(0.0),
            neuron_steps: self.neuron_steps,
        }
    }
}

/// [`super::Inference::iterate`] with `inference.dynamics = "spiking"`: `params.steps`
/// iterations of the spiking network from the current h (module doc).
pub(super) fn iterate(
    dev: &Device,
    model: &GenerativeModel,
    evidence: Evidence<'_>,
    params: &InferenceConfig,
    (ws, post): (&mut InferenceWorkspace, &mut Posterior),
    rng: &mut Rng,
    mut on_iteration: Option<IterationHook<'_>>,
) -> Result<()> {
    if !params.spiking_supported() {
        return Err(Error::Usage(
            "inference.dynamics = \"spiking\" implements Algorithm 2's form only (accept = \
             \"always\", weighting = \"fixed\", top_down = \"prior\", noise_std = 0, \
             top_prior_alpha = 0)"
                .into(),
        ));
    }
    let batch = post.batch();
    let sp = &mut ws.spiking;
    sp.ensure(model, batch);
    sp.counts.fill(0.0);
    sp.neuron_steps = 0.0;
    if params.steps == 0 {
        return check_finite(dev, post, "after inference");
    }
    let cfg = &params.spiking;
    let m = cfg.steps_per_iteration();
    let delta = params.first_layer_delta.unwrap_or(params.delta);
    let k = SpikingConstants {
        p_max: cfg.max_spike_probability() as f32,
        decay: cfg.synapse_decay() as f32,
        delta_step: (delta / m as f32, params.delta / m as f32),
        alpha_step: params.alpha / m as f32,
        unbounded_scale: cfg.unbounded_scale as f32,
        steps: m,
    };
    let (x, visible) = match evidence {
        Evidence::Full(x) => (x, None),
        Evidence::Partial { x, visible } => (x, Some(visible)),
    };
    seed_rows(rng, &mut sp.gens);
    for (o, h) in sp.layout.parts.iter().zip(&post.h) {
        sp.state.slice_mut(s![.., o.h..o.h + h.ncols()]).assign(h);
    }
    dev.spiking_inference_start(
        &model.pairs,
        &sp.layout,
        k.unbounded_scale,
        sp.state.view_mut(),
        (x, visible),
    );
    let neurons: usize =
        model.sizes.iter().sum::<usize>() * 2 - model.sizes.last().copied().unwrap_or(0);
    sp.neuron_steps = (batch * params.steps * m * neurons) as f64;
    let track = on_iteration.is_some();
    for t in 1..=params.steps {
        let sp = &mut ws.spiking;
        let rows = SpikingRows {
            state: sp.state.view_mut(),
            gens: &mut sp.gens,
            counts: sp.counts.view_mut(),
        };
        dev.spiking_inference_steps((&model.pairs, &sp.layout), &k, rows, (x, visible));
        for (o, h) in sp.layout.parts.iter().zip(post.h.iter_mut()) {
            let n = h.ncols();
            h.assign(&sp.state.slice(s![.., o.h..o.h + n]));
        }
        if track || t == params.steps {
            decode(dev, model, ws, post);
            score(
                dev,
                &model.noise,
                evidence,
                &mut ws.filled,
                (&post.h, &ws.recon),
                &mut ws.log_pxh,
            );
            if let Some(f) = on_iteration.as_deref_mut() {
                f(t, ws, post);
            }
        }
    }
    check_finite(dev, post, "after spiking inference")
}
