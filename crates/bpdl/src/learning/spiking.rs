//! The spiking M-step (paper §2, Eq. 1, applied to every map of §4): each map f_l, g_l becomes
//! a layer of spiking synapses whose weights change by Eq. 1 alone,
//!
//! ```text
//! ΔW_ij = η ∫ S_i(t) · dV_j/dt dt = η Σ_{spikes of i} dV_j/dt           (Eq. 1, one presentation)
//! ```
//!
//! summed over a presentation of T = N·dt for every example of the minibatch. In expectation
//! this is the rate M-step's step ([`super::m_step`]); `learning.rule = "spiking"` selects it.
//!
//! | symbol | meaning | config key / code |
//! |---|---|---|
//! | ũ, û | a map's corrupted input (as in the rate M-step) and û = clip(ũ, 0, s) | `corrupted` |
//! | s | the value that fires at ρ_max: 1 for x and sigmoid layers, else `unbounded_scale` | [`layer_scale`] |
//! | r = û/s | the presynaptic rate as a fraction of ρ_max | |
//! | S_i(n) | 1 if presynaptic neuron i spikes in step n (Bernoulli, p = ρ_max·dt·r_i) | [`crate::backend::spikes`] |
//! | a = ûW + b, y = φ(a) | the postsynaptic voltage at the start, and the rate it codes | |
//! | t | the map's target: the E-step's inferred value of the layer it predicts | |
//! | e = (y − t) ⊙ φ'(y) | the rate M-step's error ([`super::local_delta()`]) | |
//! | γ, τ, q = e^(−dt/τ) | nudging gain, membrane time constant, decay per step | `nudging_gain`, `tau_ms` |
//! | k(n) = qⁿ(1 − q)/dt | the voltage slope of step n per unit of displacement | [`Presentation::kernel`] |
//! | K_i = Σ_n S_i(n) k(n) | the kernel-weighted spike count of neuron i | |
//!
//! ## The network
//!
//! For every example b of the minibatch and every map `y = φ(ûW + b)`:
//!
//! 1. **Presynaptic neurons** are the units of the map's input layer. Unit i fires in each step
//!    of dt with probability `ρ_max·dt·r_i`, independently (a Bernoulli process: Poisson at rate
//!    `ρ_max·r_i` as dt → 0). Rates cannot be negative or exceed ρ_max, so the corrupted value is
//!    clipped to `[0, s]` first, and **the map then also predicts from the clipped û**: the rule
//!    is exact for the inputs it can represent. x (pixels in [0, 1]) and sigmoid layers have
//!    s = 1; a softplus layer (unbounded) has s = `unbounded_scale` (4 by default: the values of
//!    softplus codes above 4 saturate the rate). Gaussian corruption of x makes values leave
//!    [0, 1]: they are clipped, so x̃'s noise is no longer symmetric at the black background.
//!    `learning.clip_inputs = true` clips the rate rule's inputs the same way: the control that
//!    differs from a spiking run by the spike noise alone (on the tiny training of
//!    `tests/spiking_m_step.rs`, clipping changes f1's and g2's final losses by about 2×, the
//!    spike noise by under 5 %).
//!    One more presynaptic neuron per layer fires at ρ_max always (r = 1, s = 1): its synapses
//!    onto the units of the maps that read the layer are their biases.
//! 2. **The postsynaptic voltage** is the pre-activation: `V_j(0) = a_j`, the feed-forward
//!    prediction the neuron has settled on (as h starts at q's prediction in Algorithm 1), and the
//!    rate it codes is `y_j = φ(V_j)`.
//! 3. **The nudging**: a teacher current `−γ e_j` holds the voltage's equilibrium at
//!    `V*_j = a_j − γ e_j` for the presentation, and the membrane relaxes toward it,
//!    `τ dV/dt = V* − V`. At the start `dV_j/dt = −(γ/τ) ∂J/∂V_j` with `J = ½ ‖φ(V) − t‖²` the
//!    map's local loss of this example: the dynamics move V toward better values of J, §2's
//!    condition. The output non-linearity enters through φ'(y), the slope of the neuron's own
//!    rate–voltage curve at its start, as in the rate rule.
//! 4. **The weights** change by Eq. 1 and nothing else.
//!
//! ## What it descends, in closed form
//!
//! The relaxation is exact step by step: `V(n) = V* + (V(0) − V*) qⁿ`, so the slope over step
//! n is `dV_j/dt(n) = (V*_j − V_j(0)) k(n)` and Eq. 1 factorises over time,
//!
//! ```text
//! Σ_n S_i(n) dV_j/dt(n) = K_i · (V*_j − V_j(0)) = −γ K_i e_j,      K_i = Σ_n S_i(n) k(n).
//! ```
//!
//! The spikes are drawn independently of the voltage, `E[S_i(n)] = ρ_max dt r_i`, and
//! `Σ_n k(n) dt = 1 − q^N = 1 − e^(−T/τ)`, so `E[K_i] = ρ_max (1 − e^(−T/τ)) û_i / s` exactly
//! (discrete time, no approximation). Summed over the minibatch,
//!
//! ```text
//! E[ΔW] = −c · ûᵀe,     E[Δb] = −c_b · Σ_b e_b,     c = η γ ρ_max (1 − e^(−T/τ)) / s,   c_b = c·s
//! ```
//!
//! with ρ_max in spikes per ms. The rate M-step's SGD step is `−ε (2/B) ûᵀe` (the gradient of
//! `L = (1/B) Σ_b ‖φ(û_b W + b) − t_b‖²`), so a synapse from a layer of scale s learns with
//!
//! ```text
//! η = ε · (2/B) · s / (γ ρ_max (1 − e^(−T/τ)))                           (Presentation::eta)
//! ```
//!
//! and then `E[ΔW] = −ε ∂L/∂W`: in expectation the spiking M-step is the rate learner's step on
//! the same rate-space loss, for the inputs clipped to what rates can carry; the spikes add zero-
//! mean noise. γ cancels (it sets how far the voltage moves, η compensates). With SGD the weights
//! change by exactly `ΔW`; RMSprop and Adam receive `−ΔW/ε` as their gradient. If instead the
//! voltage were nudged toward `V(0) − γ(y − t)` (φ' left out) the rule would follow `ûᵀ(y − t)`,
//! which is not the gradient of L; `tests/spiking_m_step.rs` shows the statistical test rejects
//! that, and a wrong sign.
//!
//! ## Noise and cost
//!
//! `Var K_i ≈ ρ_max r_i (1 − e^(−2T/τ)) / (2τ)` (Poisson limit), so the relative standard
//! deviation of one synapse's update from one example is about `1/√(2τρ_max r_i)` for T ≫ τ:
//! 0.5 at the defaults (τ = 10 ms, ρ_max = 200 Hz) for a unit at the full rate.
//!
//! Two ways of summing Eq. 1 give the same numbers up to rounding (`learning.spiking.accumulation`):
//!
//! * `"kernel"` (default): the spikes are drawn step by step and each is weighted by k(n) as it
//!   is drawn (`B × (n_in + 1) × N` draws per layer, a neuron with rate 0 draws nothing); then
//!   one product `Kᵀ(V* − V(0))` per map, the size of the rate rule's `ûᵀe`;
//! * `"per-step"`: the voltages are integrated step by step ([`Device::relax_toward`]) and every
//!   step adds `S(n)ᵀ dV(n)/dt` to the accumulated ΔW: N products per map.
//!
//! Both draw the same spikes (same generators, same order), so their ΔW agree to rounding; the
//! kernel path is the faster (`bpdl bench` measures both: `spiking_step_to_rate_step_ratio` and
//! `spiking_per_step_to_rate_step_ratio`).
//!
//! ## The in-network STDP window
//!
//! `learning.spiking.window_synapses > 0` records, for a seeded sample of synapses of every map,
//! the pairs (t_pre, nearest t_post) with the per-spike Eq. 1 change `η dV_j/dt(t_pre)`, the
//! pairing of [`crate::spiking::protocol`], on either path: [`super::stdp_window`]. It adds the
//! postsynaptic spikes the rule does not need (an escape-noise neuron per sampled unit at the
//! rate `ρ_max φ(V(n))/s` its voltage `V(n) = a + (V(n) − V(0))` codes, drawn from a stream of
//! its own) and replays one example's presynaptic spikes from the layer keys this M-step drew,
//! so that training stays the same.

use ndarray::{Array1, ArrayView1, ArrayView2, s};

use super::{
    LearningWorkspace, MStep, MStepLosses, MapBuffers, MapOptimizer, ModelOptimizer,
    check_settings, corrupt_layers, map_error, record_losses,
};
use crate::activation::Activation;
use crate::backend::spikes::{seed_rows, spike_kernel_sums, spike_step};
use crate::backend::{Device, Matrix};
use crate::config::{Accumulation, LearningConfig, LearningRule, SpikingLearningConfig};
use crate::error::{Error, Result};
use crate::learning::{BiasInput, LocalDelta};
use crate::model::{GenerativeModel, Map};
use crate::rng::Rng;

/// The constants of one presentation, derived from `[learning.spiking]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Presentation {
    /// N, the time steps of a presentation.
    pub steps: usize,
    /// dt (ms).
    pub dt_ms: f64,
    /// `ρ_max·dt`, the spike probability per step at the full rate.
    pub p_max: f64,
    /// ρ_max in spikes per ms.
    pub rate_per_ms: f64,
    /// `q = e^(−dt/τ)`.
    pub q: f64,
    /// γ.
    pub gain: f64,
}

impl Presentation {
    /// The constants of `cfg`.
    pub fn new(cfg: &SpikingLearningConfig) -> Self {
        Self {
            steps: cfg.steps(),
            dt_ms: cfg.dt_ms,
            p_max: cfg.max_spike_probability(),
            rate_per_ms: cfg.rate_max_hz * 1e-3,
            q: cfg.decay_per_step(),
            gain: cfg.nudging_gain,
        }
    }

    /// `k(n) = qⁿ (1 − q) / dt`: the slope of the voltage in step n (0-based) per unit of its
    /// total displacement `V* − V(0)`.
    ///
    /// ```
    /// use bpdl::learning::spiking::Presentation;
    /// let p = Presentation::new(&bpdl::config::SpikingLearningConfig::default());
    /// // the slopes of the N steps, times dt, add up to the share of the way covered: 1 − q^N
    /// let covered: f64 = (0..p.steps).map(|n| p.kernel(n) * p.dt_ms).sum();
    /// assert!((covered - p.kernel_mass()).abs() < 1e-12);
    /// assert!((p.kernel_mass() - (1.0 - (-3.0f64).exp())).abs() < 1e-12); // T = 3τ
    /// ```
    pub fn kernel(&self, n: usize) -> f64 {
        self.q.powi(n as i32) * (1.0 - self.q) / self.dt_ms
    }

    /// `1 − q^N = 1 − e^(−T/τ)`: how much of its way to V* the voltage covers in a
    /// presentation.
    pub fn kernel_mass(&self) -> f64 {
        1.0 - self.q.powi(self.steps as i32)
    }

    /// η of Eq. 1 for a synapse from a layer of scale `s` at learning rate ε = `lr`, minibatch
    /// `batch`: `ε (2/B) s / (γ ρ_max (1 − e^(−T/τ)))`, so that the expected update is the rate
    /// learner's step.
    pub fn eta(&self, lr: f64, batch: usize, s: f64) -> f64 {
        lr * self.gradient_factor(batch, s).abs()
    }

    /// The gradient handed to the optimizer per unit of Eq. 1's sum `Σ S·dV/dt`: `−η/ε =
    /// −(2/B) s / (γ ρ_max (1 − e^(−T/τ)))` (SGD then changes W by exactly ΔW).
    pub fn gradient_factor(&self, batch: usize, s: f64) -> f64 {
        -(2.0 / batch.max(1) as f64) * s / (self.gain * self.rate_per_ms * self.kernel_mass())
    }
}

/// s of layer `l` (0 = x): 1 for x (pixels in [0, 1]) and for sigmoid layers, else
/// `unbounded_scale`.
pub fn layer_scale(model: &GenerativeModel, l: usize, cfg: &SpikingLearningConfig) -> f64 {
    if l == 0 || model.pairs[l - 1].encoder.activation == Activation::Sigmoid {
        1.0
    } else {
        cfg.unbounded_scale
    }
}

/// The spikes of the last presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeCounts {
    /// Per layer (x first): the presynaptic spikes of the whole minibatch, the bias's neuron
    /// included.
    pub presynaptic: Vec<f64>,
    /// Synaptic events delivered: every presynaptic spike reaching every postsynaptic neuron of
    /// the maps that read its layer.
    pub synaptic_events: f64,
    /// Neurons advanced by one time step: `B × N ×` (the presynaptic neurons of every layer,
    /// bias's included, plus the postsynaptic neurons of every map).
    pub neuron_steps: f64,
}

/// The spiking rule's buffers for minibatches of one size (made once, reused).
#[derive(Debug, Clone)]
pub struct SpikingWorkspace {
    batch: usize,
    sizes: Vec<usize>,
    cfg: SpikingLearningConfig,
    /// k(0), …, k(N − 1).
    kernel: Vec<f32>,
    /// Per layer: K (kernel path) or S(n) of the current step (per-step path), `[B, n_l + 1]`.
    spikes: Vec<Matrix>,
    /// Per layer: the spikes of each example in the last presentation.
    row_spikes: Vec<Array1<f64>>,
    /// The per-step path's state.
    per_step: Option<PerStep>,
}

/// The per-step path's state: every row's generator per layer and every map's trajectory.
#[derive(Debug, Clone)]
struct PerStep {
    gens: Vec<Vec<Rng>>,
    decoders: Vec<Trajectory>,
    encoders: Vec<Trajectory>,
}

/// One map's voltages during a presentation: `x = V − V(0)`, its change in the last step, and
/// the Eq. 1 sum `Σ_n S(n)ᵀ dV(n)/dt` (`[n_in + 1, n_out]`, the last row the bias's).
#[derive(Debug, Clone)]
struct Trajectory {
    x: Matrix,
    dv: Matrix,
    acc: Matrix,
}

impl Trajectory {
    fn new(batch: usize, map: &Map) -> Self {
        Self {
            x: Matrix::zeros((batch, map.n_out())),
            dv: Matrix::zeros((batch, map.n_out())),
            acc: Matrix::zeros((map.n_in() + 1, map.n_out())),
        }
    }
}

impl SpikingWorkspace {
    /// Buffers for minibatches of `batch` examples of `model` under `cfg`.
    pub fn new(model: &GenerativeModel, batch: usize, cfg: &SpikingLearningConfig) -> Self {
        let p = Presentation::new(cfg);
        let per_step = (cfg.accumulation == Accumulation::PerStep).then(|| PerStep {
            gens: model
                .sizes
                .iter()
                .map(|_| vec![crate::rng::row_rng(0, 0); batch])
                .collect(),
            decoders: model
                .pairs
                .iter()
                .map(|p| Trajectory::new(batch, &p.decoder))
                .collect(),
            encoders: model
                .pairs
                .iter()
                .map(|p| Trajectory::new(batch, &p.encoder))
                .collect(),
        });
        Self {
            batch,
            sizes: model.sizes.clone(),
            cfg: *cfg,
            kernel: (0..p.steps).map(|n| p.kernel(n) as f32).collect(),
            spikes: model
                .sizes
                .iter()
                .map(|&n| Matrix::zeros((batch, n + 1)))
                .collect(),
            row_spikes: model.sizes.iter().map(|_| Array1::zeros(batch)).collect(),
            per_step,
        }
    }

    fn fits(&self, model: &GenerativeModel, batch: usize, cfg: &SpikingLearningConfig) -> bool {
        self.batch == batch && self.sizes == model.sizes && self.cfg == *cfg
    }

    /// The spikes of the last presentation.
    pub fn counts(&self) -> SpikeCounts {
        let sizes = &self.sizes;
        let depth = sizes.len() - 1;
        let presynaptic: Vec<f64> = self.row_spikes.iter().map(|r| r.sum()).collect();
        // layer l is read by g_l (→ layer l − 1) and f_{l+1} (→ layer l + 1)
        let fanout = |l: usize| {
            (if l >= 1 { sizes[l - 1] } else { 0 }) + (if l < depth { sizes[l + 1] } else { 0 })
        };
        let synaptic_events = presynaptic
            .iter()
            .enumerate()
            .map(|(l, n)| n * fanout(l) as f64)
            .sum();
        let pre: usize = sizes.iter().map(|n| n + 1).sum();
        let post: usize = (1..=depth).map(|l| sizes[l - 1] + sizes[l]).sum();
        SpikeCounts {
            presynaptic,
            synaptic_events,
            neuron_steps: (self.batch * self.kernel.len() * (pre + post)) as f64,
        }
    }

    /// The spikes of each example of layer `l` (x = 0) in the last presentation, the bias's
    /// neuron included (the in-network STDP window checks its replay against them).
    pub(crate) fn row_spikes(&self, l: usize) -> ndarray::ArrayView1<'_, f64> {
        self.row_spikes[l].view()
    }
}

/// One spiking M-step of `model` (`learning.rule = "spiking"`): corrupt every layer as the rate
/// M-step does (from `corruption`), clip each to the range its rates can carry, draw the
/// presynaptic spikes of every layer (from `spikes`, one key per layer, x first), and change
/// every map's weights by Eq. 1 ([the module doc](self)). Returns each map's loss, that of its
/// prediction from the clipped input.
///
/// The first call (or one with another batch size or `[learning.spiking]`) makes the
/// workspace's spiking buffers; later ones allocate nothing.
///
/// Fails as [`super::m_step`] does, and with [`Error::Config`] on `learning.rule` when the
/// settings ask for the rate rule.
pub fn m_step<'w>(
    dev: &Device,
    model: &mut GenerativeModel,
    step: MStep<'_>,
    ws: &'w mut LearningWorkspace,
    opt: &mut ModelOptimizer,
    corruption: &mut Rng,
    spikes: &mut Rng,
) -> Result<&'w MStepLosses> {
    let cfg = step.learning;
    if cfg.rule != LearningRule::Spiking {
        return Err(Error::config(
            "learning.rule",
            "learning::spiking::m_step is the spiking rule; the rate rule is learning::m_step",
        ));
    }
    check_settings(model, &step)?;
    corrupt_layers(dev, &step, ws, corruption);
    let batch = step.x.nrows();
    if !ws
        .spiking
        .as_ref()
        .is_some_and(|s| s.fits(model, batch, &cfg.spiking))
    {
        ws.spiking = Some(SpikingWorkspace::new(model, batch, &cfg.spiking));
    }
    clip_layers(dev, model, cfg, ws);
    let p = Presentation::new(&cfg.spiking);
    match cfg.spiking.accumulation {
        Accumulation::Kernel => kernel_rule(dev, model, step, ws, opt, spikes, &p)?,
        Accumulation::PerStep => per_step_rule(dev, model, step, ws, opt, spikes, &p)?,
    }
    Ok(&ws.losses)
}

/// Clips every corrupted layer to `[0, s]`, the values its rates can carry (also the rate rule's
/// `learning.clip_inputs`).
pub(super) fn clip_layers(
    dev: &Device,
    model: &GenerativeModel,
    cfg: &LearningConfig,
    ws: &mut LearningWorkspace,
) {
    for (l, layer) in ws.corrupted.iter_mut().enumerate() {
        let s = layer_scale(model, l, &cfg.spiking) as f32;
        dev.clip_to_range(layer.view_mut(), s);
    }
}

/// The two factors of a map's gradient per unit of Eq. 1's sum: its weights' (input layer of
/// scale `s`) and its bias's (scale 1).
fn factors(p: &Presentation, batch: usize, s: f64) -> (f32, f32) {
    (
        p.gradient_factor(batch, s) as f32,
        p.gradient_factor(batch, 1.0) as f32,
    )
}

/// What one map learns from: its clipped input, its input layer's spikes, its target and the
/// rows that teach it.
type MapInputs<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    Option<ArrayView1<'a, f32>>,
);

/// The kernel path: K of every layer, then one product per map.
fn kernel_rule(
    dev: &Device,
    model: &mut GenerativeModel,
    step: MStep<'_>,
    ws: &mut LearningWorkspace,
    opt: &mut ModelOptimizer,
    rng: &mut Rng,
    p: &Presentation,
) -> Result<()> {
    let (cfg, depth, batch) = (step.learning, model.depth(), step.x.nrows());
    let LearningWorkspace {
        corrupted,
        decoders,
        encoders,
        losses,
        spiking,
    } = ws;
    let sw = spiking.as_mut().expect("made by m_step");
    // every layer once, x first (one key each)
    for (l, ((layer, k), counts)) in corrupted
        .iter()
        .zip(&mut sw.spikes)
        .zip(&mut sw.row_spikes)
        .enumerate()
    {
        let s = layer_scale(model, l, &cfg.spiking);
        spike_kernel_sums(
            dev,
            rng,
            (layer.view(), (1.0 / s) as f32, p.p_max as f32),
            &sw.kernel,
            k.view_mut(),
            counts.view_mut(),
        );
    }
    let value = |l: usize| {
        if l == 0 {
            step.x
        } else {
            step.post.h[l - 1].view()
        }
    };
    let gain = p.gain as f32;
    for l in 1..=depth {
        let dec_factors = factors(p, batch, layer_scale(model, l, &cfg.spiking));
        let enc_factors = factors(p, batch, layer_scale(model, l - 1, &cfg.spiking));
        let pair = &mut model.pairs[l - 1];
        let (decoder, encoder) = (&mut pair.decoder, &mut pair.encoder);
        let (dec_opt, enc_opt) = (&mut opt.decoders[l - 1], &mut opt.encoders[l - 1]);
        let (dec_buf, enc_buf) = (&mut decoders[l - 1], &mut encoders[l - 1]);
        let rows = step.top_rows.filter(|_| l == depth);
        let k = &sw.spikes;
        let (dec_loss, enc_loss) = dev.join(
            // g_l: from the spikes of h̃_l to h_{l−1}
            |d| {
                learn_map(
                    d,
                    cfg,
                    (decoder, dec_opt, dec_buf),
                    (corrupted[l].view(), k[l].view(), value(l - 1), rows),
                    step.rates.decoder[l - 1],
                    (dec_factors, gain),
                )
            },
            // f_l: from the spikes of h̃_{l−1} to h_l
            |d| {
                learn_map(
                    d,
                    cfg,
                    (encoder, enc_opt, enc_buf),
                    (corrupted[l - 1].view(), k[l - 1].view(), value(l), rows),
                    step.rates.encoder[l - 1],
                    (enc_factors, gain),
                )
            },
        );
        record_losses(losses, l, dec_loss, enc_loss)?;
    }
    Ok(())
}

/// One map by the kernel path: its prediction and error, the nudged displacement
/// `V* − V(0) = −γ e` (written over the error), and `ΔW = η Kᵀ(V* − V(0))` applied through the
/// optimizer as the gradient `factor · Kᵀ(V* − V(0))`.
fn learn_map(
    dev: &Device,
    cfg: &LearningConfig,
    (map, opt, buf): (&mut Map, &mut MapOptimizer, &mut MapBuffers),
    (input, k, target, rows): MapInputs<'_>,
    lr: f32,
    ((w_factor, b_factor), gain): ((f32, f32), f32),
) -> std::result::Result<f64, ()> {
    let (loss, _) = map_error(dev, map, buf, (input, target, rows))?;
    dev.scale_matrix(buf.error.view_mut(), -gain);
    let n_in = map.n_in();
    let delta = LocalDelta {
        input: k.slice(s![.., ..n_in]),
        error: buf.error.view(),
        scale: w_factor,
        loss,
        bias: Some(BiasInput {
            activity: k.column(n_in),
            scale: b_factor,
        }),
    };
    opt.apply(dev, cfg, map, &delta, lr, &mut buf.grad);
    Ok(loss)
}

/// The per-step path: every map's nudged displacement first, then N steps of spikes, voltages
/// and `S(n)ᵀ dV(n)/dt` per map, then the updates.
fn per_step_rule(
    dev: &Device,
    model: &mut GenerativeModel,
    step: MStep<'_>,
    ws: &mut LearningWorkspace,
    opt: &mut ModelOptimizer,
    rng: &mut Rng,
    p: &Presentation,
) -> Result<()> {
    let (cfg, depth, batch) = (step.learning, model.depth(), step.x.nrows());
    let LearningWorkspace {
        corrupted,
        decoders,
        encoders,
        losses,
        spiking,
    } = ws;
    let sw = spiking.as_mut().expect("made by m_step");
    let ps = sw.per_step.as_mut().expect("made for the per-step path");
    let value = |l: usize| {
        if l == 0 {
            step.x
        } else {
            step.post.h[l - 1].view()
        }
    };
    // every map's error before any weight changes: a map that fails leaves all as they were
    for l in 1..=depth {
        let pair = &model.pairs[l - 1];
        let rows = step.top_rows.filter(|_| l == depth);
        let dec = map_error(
            dev,
            &pair.decoder,
            &mut decoders[l - 1],
            (corrupted[l].view(), value(l - 1), rows),
        );
        let enc = map_error(
            dev,
            &pair.encoder,
            &mut encoders[l - 1],
            (corrupted[l - 1].view(), value(l), rows),
        );
        record_losses(losses, l, dec.map(|d| d.0), enc.map(|e| e.0))?;
    }
    for (buf, traj) in decoders
        .iter_mut()
        .zip(&mut ps.decoders)
        .chain(encoders.iter_mut().zip(&mut ps.encoders))
    {
        dev.scale_matrix(buf.error.view_mut(), -p.gain as f32); // V* − V(0)
        traj.x.fill(0.0);
        traj.acc.fill(0.0);
    }
    // the same generators and order as the kernel path: one key per layer, x first
    for l in 0..=depth {
        seed_rows(rng, &mut ps.gens[l]);
        sw.row_spikes[l].fill(0.0);
    }
    let inv_dt = (1.0 / p.dt_ms) as f32;
    let q = p.q as f32;
    for _ in 0..p.steps {
        for (l, (((layer, gens), spikes), counts)) in corrupted
            .iter()
            .zip(&mut ps.gens)
            .zip(&mut sw.spikes)
            .zip(&mut sw.row_spikes)
            .enumerate()
        {
            let s = layer_scale(model, l, &cfg.spiking);
            spike_step(
                dev,
                gens,
                (layer.view(), (1.0 / s) as f32, p.p_max as f32),
                spikes.view_mut(),
                counts.view_mut(),
            );
        }
        for l in 1..=depth {
            // g_l reads layer l, f_l reads layer l − 1
            for (traj, buf, from) in [
                (&mut ps.decoders[l - 1], &decoders[l - 1], l),
                (&mut ps.encoders[l - 1], &encoders[l - 1], l - 1),
            ] {
                dev.relax_toward(traj.x.view_mut(), traj.dv.view_mut(), buf.error.view(), q);
                dev.matmul(
                    inv_dt,
                    sw.spikes[from].t(),
                    traj.dv.view(),
                    1.0,
                    traj.acc.view_mut(),
                );
            }
        }
    }
    for l in 1..=depth {
        let dec_factors = factors(p, batch, layer_scale(model, l, &cfg.spiking));
        let enc_factors = factors(p, batch, layer_scale(model, l - 1, &cfg.spiking));
        let pair = &mut model.pairs[l - 1];
        opt.decoders[l - 1].apply_accumulated(
            dev,
            cfg,
            &mut pair.decoder,
            &mut ps.decoders[l - 1].acc,
            dec_factors,
            step.rates.decoder[l - 1],
        );
        opt.encoders[l - 1].apply_accumulated(
            dev,
            cfg,
            &mut pair.encoder,
            &mut ps.encoders[l - 1].acc,
            enc_factors,
            step.rates.encoder[l - 1],
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpikingLearningConfig;

    /// η makes `E[ΔW] = −c ûᵀe` equal to the rate step `−ε (2/B) ûᵀe`:
    /// `c = η γ ρ_max (1 − e^(−T/τ)) / s` must come out as `ε·2/B` for any s.
    #[test]
    fn eta_turns_the_expected_update_into_the_rate_step() {
        let cfg = SpikingLearningConfig {
            nudging_gain: 2.5,
            ..SpikingLearningConfig::default()
        };
        let p = Presentation::new(&cfg);
        for s in [1.0, 4.0] {
            let eta = p.eta(0.01, 100, s);
            let c = eta * 2.5 * 0.2 * (1.0 - (-3.0f64).exp()) / s;
            assert!((c - 0.01 * 2.0 / 100.0).abs() < 1e-15, "s = {s}: c = {c}");
        }
    }

    /// N·dt covering T, and the counts of a presentation of the paper's sizes: neuron-steps
    /// `B·N·(Σ(n_l + 1) + Σ_maps n_out)`.
    #[test]
    fn neuron_steps_count_every_pre_and_postsynaptic_neuron() {
        let cfg = crate::config::Config::default();
        let model = GenerativeModel::new(784, &cfg.model, &mut crate::rng::Seed(1).stream("i"));
        let ws = SpikingWorkspace::new(&model, 10, &cfg.learning.spiking);
        let c = ws.counts();
        let pre = 785 + 1001 + 101;
        let post = (784 + 1000) + (1000 + 100);
        assert_eq!(c.neuron_steps, (10 * 30 * (pre + post)) as f64);
        assert_eq!(c.synaptic_events, 0.0);
    }
}
