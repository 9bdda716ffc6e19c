//! The M-step: every map learns locally toward the inferred values (paper §4 and Algorithm 2,
//! TRAIN), as one half of a denoising auto-encoder (§5):
//!
//! ```text
//! decoders:  Θ_g ← Θ_g − ε ∂/∂Θ_g ‖g_l(h̃_l) − h_{l−1}‖²        l = 1..L
//! encoders:  Θ_f ← Θ_f − ε ∂/∂Θ_f ‖f_l(h̃_{l−1}) − h_l‖²        l = 1..L
//! ```
//!
//! `h` are the inferred values of the E-step (held constant; `h_0 = x`) and `h̃` corrupted
//! copies: Gaussian noise for x and the hidden layers, the mean of a few Bernoulli samples for a
//! sigmoid top layer ("spike-like", [`crate::model::corruption`]). Each term touches only
//! its own map's parameters and is descended with that map's closed-form gradient
//! ([`local_delta()`]); nothing is propagated across layers and nothing is differentiated
//! automatically.
//!
//! This is the rate rule (`learning.rule = "rate"`, the default). With `learning.rule =
//! "spiking"` the same maps learn by Eq. 1 in a network of spiking neurons instead, the same
//! step in expectation ([`spiking`]).

pub mod local_delta;
pub mod optimizer;
pub mod spiking;
pub mod stdp_window;

pub use local_delta::{BiasInput, LocalDelta, local_delta};
pub use optimizer::{Gradient, MapOptimizer};

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Matrix};
use crate::config::{LearningConfig, LearningRule, ModelConfig, Optimizer};
use crate::error::{Error, Result};
use crate::inference::Posterior;
use crate::model::corruption::corrupt;
use crate::model::{GenerativeModel, Map};
use crate::rng::Rng;

/// Optimizer state for every map of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOptimizer {
    /// State of `f_l`, index `l − 1`.
    pub encoders: Vec<MapOptimizer>,
    /// State of `g_l`, index `l − 1`.
    pub decoders: Vec<MapOptimizer>,
}

impl ModelOptimizer {
    /// Fresh state for every map of `model`.
    pub fn new(cfg: &LearningConfig, model: &GenerativeModel) -> Self {
        Self {
            encoders: model
                .pairs
                .iter()
                .map(|p| MapOptimizer::new(cfg.optimizer, &p.encoder))
                .collect(),
            decoders: model
                .pairs
                .iter()
                .map(|p| MapOptimizer::new(cfg.optimizer, &p.decoder))
                .collect(),
        }
    }
}

impl ModelOptimizer {
    /// True when every map's state has the moments `cfg.optimizer` needs.
    pub fn fits(&self, cfg: &LearningConfig, model: &GenerativeModel) -> bool {
        self.encoders.len() == model.depth()
            && self.decoders.len() == model.depth()
            && model.pairs.iter().enumerate().all(|(i, p)| {
                self.encoders[i].fits(cfg.optimizer, &p.encoder)
                    && self.decoders[i].fits(cfg.optimizer, &p.decoder)
            })
    }
}

/// The loss of every map on one minibatch: `(1/B) Σ ‖prediction − target‖²`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MStepLosses {
    /// `‖g_l(h̃_l) − h_{l−1}‖²`, index `l − 1`.
    pub decoder: Vec<f64>,
    /// `‖f_l(h̃_{l−1}) − h_l‖²`, index `l − 1`.
    pub encoder: Vec<f64>,
}

/// The buffers of one map: its prediction, its error signal, each example's squared error and
/// its gradient scratch.
#[derive(Debug, Clone)]
struct MapBuffers {
    prediction: Matrix,
    /// The target with the rows left out replaced by the prediction (semi-supervised only).
    target: Matrix,
    error: Matrix,
    row_sse: Array1<f64>,
    grad: Gradient,
}

impl MapBuffers {
    fn new(batch: usize, map: &Map, optimizer: Optimizer) -> Self {
        Self {
            prediction: Matrix::zeros((batch, map.n_out())),
            target: Matrix::zeros((batch, map.n_out())),
            error: Matrix::zeros((batch, map.n_out())),
            row_sse: Array1::zeros(batch),
            grad: Gradient::new(optimizer, map),
        }
    }
}

/// Buffers reused across minibatches.
#[derive(Debug, Clone)]
pub struct LearningWorkspace {
    /// `[x̃, h̃_1, …, h̃_L]`.
    corrupted: Vec<Matrix>,
    /// Per map: `g_l`, index `l − 1`.
    decoders: Vec<MapBuffers>,
    /// Per map: `f_l`, index `l − 1`.
    encoders: Vec<MapBuffers>,
    /// The losses of the last M-step.
    losses: MStepLosses,
    /// The spiking rule's buffers, made by its first M-step ([`spiking::m_step`]).
    spiking: Option<spiking::SpikingWorkspace>,
}

impl LearningWorkspace {
    /// Buffers for minibatches of `batch` examples under `optimizer`.
    pub fn new(model: &GenerativeModel, batch: usize, optimizer: Optimizer) -> Self {
        Self {
            corrupted: model
                .sizes
                .iter()
                .map(|&n| Matrix::zeros((batch, n)))
                .collect(),
            decoders: model
                .pairs
                .iter()
                .map(|p| MapBuffers::new(batch, &p.decoder, optimizer))
                .collect(),
            encoders: model
                .pairs
                .iter()
                .map(|p| MapBuffers::new(batch, &p.encoder, optimizer))
                .collect(),
            losses: MStepLosses {
                decoder: vec![0.0; model.depth()],
                encoder: vec![0.0; model.depth()],
            },
            spiking: None,
        }
    }

    /// The spikes of the last spiking M-step ([`spiking::m_step`]); `None` before the first.
    pub fn spike_counts(&self) -> Option<spiking::SpikeCounts> {
        self.spiking.as_ref().map(spiking::SpikingWorkspace::counts)
    }
}

/// Learning rate of every map for the current epoch: `lr · lr_decay^epoch` unless the layer sets
/// its own.
pub fn learning_rates(model_cfg: &ModelConfig, cfg: &LearningConfig, epoch: usize) -> Rates {
    let decay = cfg.rate_at(epoch) / cfg.lr;
    let rate = |own: Option<f64>| (own.unwrap_or(cfg.lr) * decay) as f32;
    Rates {
        encoder: model_cfg
            .layers
            .iter()
            .map(|l| rate(l.encoder_lr))
            .collect(),
        decoder: model_cfg
            .layers
            .iter()
            .map(|l| rate(l.decoder_lr))
            .collect(),
    }
}

/// Per-map learning rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// ε of `f_l`, index `l − 1`.
    pub encoder: Vec<f32>,
    /// ε of `g_l`, index `l − 1`.
    pub decoder: Vec<f32>,
}

/// What one M-step learns from: a minibatch, its inferred layers, and the settings.
#[derive(Debug, Clone, Copy)]
pub struct MStep<'a> {
    /// The minibatch x, `[batch, n_x]`.
    pub x: ArrayView2<'a, f32>,
    /// The inferred `h_1 … h_L` of the E-step (the targets, held constant).
    pub post: &'a Posterior,
    /// The corruption of every layer ([`ModelConfig::corruption`]).
    pub model: &'a ModelConfig,
    /// The optimizer and its settings.
    pub learning: &'a LearningConfig,
    /// This epoch's learning rate of every map ([`learning_rates`]).
    pub rates: &'a Rates,
    /// Semi-supervised learning: per row, 1 when its label was clamped, 0 when it was free.
    /// The two maps of the top (label) layer then learn from the labelled rows only (the error
    /// of an unlabelled row is zero: its target is taken to be the prediction); `None`: every
    /// row teaches every map.
    pub top_rows: Option<ArrayView1<'a, f32>>,
}

/// One M-step of `model` (Algorithm 2, TRAIN: every map toward its local target): corrupt every
/// layer, then update every map. Returns each map's loss (kept in the workspace).
///
/// The settings must describe this model (one [`crate::config::LayerConfig`] and one rate per
/// latent layer): [`crate::train::Learner::new`] checks it once for a whole run; a mismatch here
/// is an [`Error::Shape`].
///
/// Fails with [`Error::NonFinite`] naming the map whose loss is not finite (the decoder first
/// when both maps of a layer fail); training then stops. The other maps updated in this step
/// are not rolled back: the checkpoint of the last completed epoch is what survives.
pub fn m_step<'w>(
    dev: &Device,
    model: &mut GenerativeModel,
    step: MStep<'_>,
    ws: &'w mut LearningWorkspace,
    opt: &mut ModelOptimizer,
    rng: &mut Rng,
) -> Result<&'w MStepLosses> {
    let MStep {
        x,
        post,
        model: _,
        learning: cfg,
        rates,
        top_rows,
    } = step;
    if cfg.rule != LearningRule::Rate {
        return Err(Error::config(
            "learning.rule",
            "learning::m_step is the rate rule; the spiking rule is learning::spiking::m_step \
             (it draws its spikes from a stream of its own)",
        ));
    }
    let depth = check_settings(model, &step)?;
    let value = |l: usize| if l == 0 { x } else { post.h[l - 1].view() };
    corrupt_layers(dev, &step, ws, rng);
    if cfg.clip_inputs {
        spiking::clip_layers(dev, model, cfg, ws);
    }
    for l in 1..=depth {
        let pair = &mut model.pairs[l - 1];
        let (decoder, encoder) = (&mut pair.decoder, &mut pair.encoder);
        let (dec_opt, enc_opt) = (&mut opt.decoders[l - 1], &mut opt.encoders[l - 1]);
        let (dec_buf, enc_buf) = (&mut ws.decoders[l - 1], &mut ws.encoders[l - 1]);
        let corrupted = &ws.corrupted;
        let rows = top_rows.filter(|_| l == depth);
        // g_l and f_l share no parameter and no buffer: they learn concurrently, each with its
        // own thread (the same arithmetic as one after the other).
        let (decoder_loss, encoder_loss) = dev.join(
            // decoder g_l: predicts h_{l−1} from h̃_l
            |d| {
                learn_map(
                    d,
                    cfg,
                    decoder,
                    dec_opt,
                    dec_buf,
                    (corrupted[l].view(), value(l - 1), rows),
                    rates.decoder[l - 1],
                )
            },
            // encoder f_l: predicts h_l from h̃_{l−1}
            |d| {
                learn_map(
                    d,
                    cfg,
                    encoder,
                    enc_opt,
                    enc_buf,
                    (corrupted[l - 1].view(), value(l), rows),
                    rates.encoder[l - 1],
                )
            },
        );
        record_losses(&mut ws.losses, l, decoder_loss, encoder_loss)?;
    }
    Ok(&ws.losses)
}

/// The model's depth, after checking that the settings describe this model (one
/// [`crate::config::LayerConfig`] and one rate per latent layer).
fn check_settings(model: &GenerativeModel, step: &MStep<'_>) -> Result<usize> {
    let depth = model.depth();
    let (layers, rates) = (&step.model.layers, step.rates);
    if layers.len() != depth || rates.encoder.len() != depth || rates.decoder.len() != depth {
        return Err(Error::Shape {
            op: "M-step",
            expected: format!("settings for the {depth} latent layers of the model"),
            got: format!("{} layers and {} rates", layers.len(), rates.encoder.len()),
        });
    }
    Ok(depth)
}

/// Corrupts x and every h_l into the workspace with the same stream, in a fixed order.
fn corrupt_layers(dev: &Device, step: &MStep<'_>, ws: &mut LearningWorkspace, rng: &mut Rng) {
    for l in 0..ws.corrupted.len() {
        let value = if l == 0 {
            step.x
        } else {
            step.post.h[l - 1].view()
        };
        corrupt(
            dev,
            rng,
            step.model.corruption(l),
            value,
            &mut ws.corrupted[l],
        );
    }
}

/// Keeps the losses of layer `l`'s two maps, or fails naming the one that is not finite (the
/// decoder first).
fn record_losses(
    losses: &mut MStepLosses,
    l: usize,
    decoder: std::result::Result<f64, ()>,
    encoder: std::result::Result<f64, ()>,
) -> Result<()> {
    losses.decoder[l - 1] = decoder.map_err(|()| non_finite(format!("g{l} (decoder of h{l})")))?;
    losses.encoder[l - 1] = encoder.map_err(|()| non_finite(format!("f{l} (encoder of h{l})")))?;
    Ok(())
}

/// One map's local rule: prediction from its (corrupted) input, error against its target,
/// update of its own weights. Returns its loss, or `Err(())` when the loss is not finite (the
/// weights are then left as they were).
fn learn_map(
    dev: &Device,
    cfg: &LearningConfig,
    map: &mut Map,
    opt: &mut MapOptimizer,
    buf: &mut MapBuffers,
    (input, target, rows): (
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
        Option<ArrayView1<'_, f32>>,
    ),
    lr: f32,
) -> std::result::Result<f64, ()> {
    let (loss, scale) = map_error(dev, map, buf, (input, target, rows))?;
    let delta = LocalDelta {
        input,
        error: buf.error.view(),
        scale,
        loss,
        bias: None,
    };
    opt.apply(dev, cfg, map, &delta, lr, &mut buf.grad);
    Ok(loss)
}

/// A map's prediction from its input and its error signal against its target
/// ([`local_delta()`]), written into `buf`; returns the loss and the gradient's `2/B`, or
/// `Err(())` when the loss is not finite.
fn map_error(
    dev: &Device,
    map: &Map,
    buf: &mut MapBuffers,
    (input, target, rows): (
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
        Option<ArrayView1<'_, f32>>,
    ),
) -> std::result::Result<(f64, f32), ()> {
    map.forward(dev, input, buf.prediction.view_mut());
    let target = match rows {
        Some(rows) => {
            // rows left out learn nothing: their target is the prediction itself
            buf.target.assign(&buf.prediction);
            dev.restore_rows(buf.target.view_mut(), target, rows);
            buf.target.view()
        }
        None => target,
    };
    let delta = local_delta(
        dev,
        input,
        target,
        buf.prediction.view(),
        map.activation,
        &mut buf.error,
        buf.row_sse.view_mut(),
    );
    if !delta.loss.is_finite() {
        return Err(());
    }
    Ok((delta.loss, delta.scale))
}

fn non_finite(map: String) -> Error {
    Error::NonFinite {
        layer: map,
        step: "the M-step".into(),
    }
}
