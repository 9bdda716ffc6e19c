//! The STDP window measured inside the network that the spiking M-step trains
//! ([`super::spiking`], `learning.spiking.window_synapses > 0`): for a seeded sample of synapses
//! of every map, each presynaptic spike is paired with the nearest spike of its postsynaptic
//! neuron, and its Eq. 1 change is binned by `Δt = t_post − t_pre`, the measurement of Fig. 1
//! (`bpdl stdp`, [`crate::spiking`]) made on real synapses during learning.
//!
//! ```text
//! presynaptic:   the M-step's own spikes S_i(n) of one example b of the minibatch (replayed)
//! voltage:       V_j(n) = a_j + (V*_j − a_j)(1 − q^(n+1)),   a_j = φ⁻¹(y_j)   (the M-step's)
//! postsynaptic:  a spike in step n with probability ρ_max·dt·φ(V_j(n))/s_out  (a stream of its own)
//! per spike:     ΔW = η · dV_j/dt(n_pre) = η (V*_j − a_j) k(n_pre)              (Eq. 1)
//! pairing:       Δt = (n_post − n_pre)·dt, the nearest postsynaptic spike of the presentation
//!                (Δt = 0 when both fall in the same step; a tie between one before and one
//!                after is settled by a fair coin)
//! ```
//!
//! The network has no postsynaptic spikes of its own (the rule needs none: Eq. 1 reads the
//! voltage's slope only). The recording adds them: an escape-noise neuron per sampled unit that
//! fires at the rate its voltage codes, `ρ_max φ(V)/s` (s the scale of the layer it predicts, as
//! for the presynaptic neurons, [`super::spiking::layer_scale`]), drawn like the presynaptic
//! spikes (`U < p`, [`crate::backend::spikes::bernoulli`]). When the nudging raises V (dV/dt > 0,
//! ΔW > 0) the neuron's rate rises during the presentation, so a postsynaptic spike is likelier
//! after a presynaptic spike than before it: Eq. 1 then pairs potentiation with Δt > 0 and
//! depression with Δt < 0, the sign structure of the Bi & Poo window. How strong the effect is
//! depends on how far the nudging moves the rates, which is what the measurement reports.
//!
//! **Training is the same with it on or off.** The recording runs after the M-step of a
//! recorded minibatch and only reads: the clipped inputs, the predictions y and the nudged
//! displacements `V* − V(0)` the M-step left in its buffers, and the presynaptic spikes of one
//! example, replayed from the layer keys the M-step drew (a copy of the spike stream taken
//! before it; [`crate::backend::spikes::replay_row`]). The example and the postsynaptic spikes
//! come from a generator keyed by the seed's stream `"stdp-window"` and the minibatch's number,
//! so a run resumed from its checkpoint (which holds the [`WindowSums`]) records what the
//! uninterrupted run would have.
//!
//! **Cost.** Per recorded minibatch: one example's presynaptic spikes replayed (`Σ_l (n_l + 1)·N`
//! draws, a hundredth of what the M-step draws for B = 100), N draws and φ evaluations per
//! sampled postsynaptic unit, and a scan of at most N steps per presynaptic spike of a sampled
//! synapse. The buffers are made once; a recorded minibatch allocates nothing.
//!
//! The sums are binned by Δt (one bin per step, `[−(N − 1)dt, (N − 1)dt]`), fitted with the
//! code of `bpdl stdp` ([`crate::spiking::fit::fit_window`] on the bins with at least
//! [`MIN_BIN_COUNT`] pairs) and correlated with the Bi & Poo (2001) window at the bin centres:
//! [`WindowReport`], written to the run folder as `stdp_window.json` with the figure
//! `stdp_window.png`/`.svg` ([`write_outputs`]).

use std::path::Path;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::spiking::{self, Presentation, layer_scale};
use super::{LearningWorkspace, MStep, MStepLosses, ModelOptimizer, Rates};
use crate::activation::Activation;
use crate::backend::Device;
use crate::backend::spikes::{bernoulli, replay_row};
use crate::config::SpikingLearningConfig;
use crate::error::Result;
use crate::model::GenerativeModel;
use crate::rng::{Rng, Seed, fill_key, row_rng};
use crate::spiking::experiment::{TAU_MAX_MS, TAU_MIN_MS, fit_points};
use crate::spiking::fit::{
    BI_POO_TAU_MINUS_MS, BI_POO_TAU_PLUS_MS, WindowFit, abarbanel_window, bi_poo_window,
    fit_window, pearson,
};
use crate::spiking::window::{Bin, StdpCurve};

/// `stdp_window.json`, inside the run folder.
pub const FILE: &str = "stdp_window.json";
/// The figure's stem inside the run folder (`stdp_window.png`, `stdp_window.svg`).
pub const FIGURE: &str = "stdp_window";
/// Bins with fewer pairs are left out of the fit and the correlations (as `bpdl stdp`'s
/// `protocol.min_bin_count`).
pub const MIN_BIN_COUNT: usize = 20;

/// A neuron that no sampled synapse reads.
const NONE: u32 = u32::MAX;

/// One map's recorded pairs: counts and per-Δt sums (index k ↔ `Δt = (k − (N − 1))·dt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapSums {
    /// `f1`, `g1`, `f2`, …
    pub name: String,
    /// Presynaptic spikes of the sampled synapses.
    pub pre_spikes: u64,
    /// Spikes of the sampled postsynaptic units (once per unit, however many synapses share it).
    pub post_spikes: u64,
    /// Pairs per Δt.
    pub n: Vec<u64>,
    /// Σ ΔW per Δt (stored as the bits of each f64, so that a checkpoint restores it exactly).
    #[serde(with = "f64_bits")]
    pub sum_dw: Vec<f64>,
    /// Σ ΔW² per Δt (as bits).
    #[serde(with = "f64_bits")]
    pub sum_dw2: Vec<f64>,
}

/// `Vec<f64>` (de)serialised as the `u64` bits of each value: exact through any JSON parser.
mod f64_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|x| x.to_bits())
            .collect::<Vec<u64>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

impl MapSums {
    fn new(name: String, steps: usize) -> Self {
        let k = 2 * steps - 1;
        Self {
            name,
            pre_spikes: 0,
            post_spikes: 0,
            n: vec![0; k],
            sum_dw: vec![0.0; k],
            sum_dw2: vec![0.0; k],
        }
    }

    fn add(&mut self, k: usize, dw: f64) {
        self.n[k] += 1;
        self.sum_dw[k] += dw;
        self.sum_dw2[k] += dw * dw;
    }
}

/// Everything recorded so far (part of the training state, saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSums {
    /// `learning.spiking.window_synapses`.
    pub synapses_per_map: usize,
    /// `learning.spiking.window_every`.
    pub every: usize,
    /// N, the steps of a presentation.
    pub steps: usize,
    /// dt (ms).
    pub dt_ms: f64,
    /// Minibatches seen (recorded or not).
    pub minibatches: u64,
    /// Presentations recorded (one example per recorded minibatch).
    pub presentations: u64,
    /// Per map, f_l then g_l for l = 1 … L.
    pub maps: Vec<MapSums>,
    /// Wall-clock seconds spent recording (the only field that differs between two runs of the
    /// same config).
    #[serde(default)]
    pub seconds: f64,
}

/// One sampled map: its synapses as (presynaptic slot, postsynaptic slot) and its buffers.
#[derive(Debug, Clone)]
struct SampledMap {
    /// `model.pairs[pair]`, its decoder g or encoder f.
    pair: usize,
    decoder: bool,
    /// The layers it reads and predicts (0 = x).
    input: usize,
    output: usize,
    synapses: Vec<(u32, u32)>,
    /// The unit j of each postsynaptic slot.
    post_units: Vec<u32>,
    /// `[post slots × N]`: whether the slot's neuron fired in each step.
    post_fired: Vec<bool>,
    /// `V* − V(0)` of each postsynaptic slot for the recorded example.
    displacement: Vec<f64>,
}

/// The recorder: the sampled synapses and the buffers of one recorded presentation (made once).
#[derive(Debug, Clone)]
pub struct WindowRecorder {
    cfg: SpikingLearningConfig,
    /// Keys the generator of each recorded minibatch (example choice, postsynaptic spikes).
    key: u64,
    maps: Vec<SampledMap>,
    /// Per layer: the presynaptic slot of each neuron ([`NONE`] when no sampled synapse reads it).
    pre_slot: Vec<Vec<u32>>,
    /// Per layer: `[slots × N]`, whether the slot's neuron fired in each step.
    pre_fired: Vec<Vec<bool>>,
    /// k(n) (per ms).
    kernel: Vec<f64>,
    /// `1 − q^(n+1)`: the share of `V* − V(0)` covered at the end of step n.
    covered: Vec<f64>,
}

impl WindowRecorder {
    /// Samples `cfg.window_synapses` synapses (i, j) of every map of `model`, uniformly with
    /// replacement, from the stream `"stdp-window/synapses"` of `seed`.
    pub fn new(model: &GenerativeModel, cfg: &SpikingLearningConfig, seed: u64) -> Self {
        let s = Seed(seed);
        let mut pick = s.stream("stdp-window/synapses");
        let p = Presentation::new(cfg);
        let n_steps = p.steps;
        let mut pre_slot: Vec<Vec<u32>> = model.sizes.iter().map(|&n| vec![NONE; n]).collect();
        let mut slots = vec![0u32; model.sizes.len()];
        let mut maps = Vec::new();
        for (pair, maps_of) in model.pairs.iter().enumerate() {
            let l = pair + 1;
            for (decoder, map, input, output) in [
                (false, &maps_of.encoder, l - 1, l),
                (true, &maps_of.decoder, l, l - 1),
            ] {
                let mut post_slot = vec![NONE; map.n_out()];
                let mut post_units = Vec::new();
                let mut synapses = Vec::with_capacity(cfg.window_synapses);
                for _ in 0..cfg.window_synapses {
                    let i = pick.random_range(0..map.n_in());
                    let j = pick.random_range(0..map.n_out());
                    if pre_slot[input][i] == NONE {
                        pre_slot[input][i] = slots[input];
                        slots[input] += 1;
                    }
                    if post_slot[j] == NONE {
                        post_slot[j] = post_units.len() as u32;
                        post_units.push(j as u32);
                    }
                    synapses.push((pre_slot[input][i], post_slot[j]));
                }
                maps.push(SampledMap {
                    pair,
                    decoder,
                    input,
                    output,
                    synapses,
                    post_fired: vec![false; post_units.len() * n_steps],
                    displacement: vec![0.0; post_units.len()],
                    post_units,
                });
            }
        }
        Self {
            cfg: *cfg,
            key: fill_key(&mut s.stream("stdp-window")),
            maps,
            pre_slot,
            pre_fired: slots
                .iter()
                .map(|&n| vec![false; n as usize * n_steps])
                .collect(),
            kernel: (0..n_steps).map(|n| p.kernel(n)).collect(),
            covered: (1..=n_steps).map(|n| 1.0 - p.q.powi(n as i32)).collect(),
        }
    }

    /// Empty sums for this recorder's maps and settings.
    pub fn sums(&self) -> WindowSums {
        let steps = self.kernel.len();
        WindowSums {
            synapses_per_map: self.cfg.window_synapses,
            every: self.cfg.window_every,
            steps,
            dt_ms: self.cfg.dt_ms,
            minibatches: 0,
            presentations: 0,
            seconds: 0.0,
            maps: self
                .maps
                .iter()
                .map(|m| {
                    let name = format!("{}{}", if m.decoder { "g" } else { "f" }, m.pair + 1);
                    MapSums::new(name, steps)
                })
                .collect(),
        }
    }

    /// Whether `sums` were recorded with this recorder's settings (a resumed run continues
    /// them; otherwise it starts again).
    pub fn continues(&self, sums: &WindowSums) -> bool {
        let fresh = self.sums();
        let same = |w: &WindowSums| (w.synapses_per_map, w.every, w.steps, w.maps.len());
        same(sums) == same(&fresh) && (sums.dt_ms - fresh.dt_ms).abs() <= 1e-12 * fresh.dt_ms
    }

    /// Records one minibatch's presentation (every `window_every`-th minibatch; the others are
    /// only counted): called after the spiking M-step of `model`'s minibatch of `batch` examples
    /// with workspace `ws`, `keys` a copy of the spike stream taken before it, `rates` the
    /// M-step's learning rates.
    pub fn record(
        &mut self,
        model: &GenerativeModel,
        ws: &LearningWorkspace,
        keys: Rng,
        rates: &Rates,
        sums: &mut WindowSums,
    ) {
        let seen = sums.minibatches;
        sums.minibatches += 1;
        if !seen.is_multiple_of(self.cfg.window_every as u64) {
            return;
        }
        sums.presentations += 1;
        let started = std::time::Instant::now();
        self.record_presentation(model, ws, keys, rates, seen, sums);
        sums.seconds += started.elapsed().as_secs_f64();
    }

    fn record_presentation(
        &mut self,
        model: &GenerativeModel,
        ws: &LearningWorkspace,
        mut keys: Rng,
        rates: &Rates,
        seen: u64,
        sums: &mut WindowSums,
    ) {
        let batch = ws.corrupted[0].nrows();
        let mut r = row_rng(self.key, seen as usize);
        let b = r.random_range(0..batch);
        let p = Presentation::new(&self.cfg);
        let n_steps = p.steps;
        // the presynaptic spikes of example b, replayed: one key per layer, x first, as drawn
        for (l, (fired, slots)) in self.pre_fired.iter_mut().zip(&self.pre_slot).enumerate() {
            let key = fill_key(&mut keys);
            let s = layer_scale(model, l, &self.cfg);
            fired.fill(false);
            let u = ws.corrupted[l].row(b);
            let mark = |n: usize, i: usize| {
                // i = n_l is the bias's neuron, never sampled
                if let Some(&slot) = slots.get(i)
                    && slot != NONE
                {
                    fired[slot as usize * n_steps + n] = true;
                }
            };
            let count = replay_row(key, b, (u, (1.0 / s) as f32, p.p_max as f32), n_steps, mark);
            if let Some(sw) = &ws.spiking {
                debug_assert_eq!(
                    count as f64,
                    sw.row_spikes(l)[b],
                    "the replayed spikes of layer {l} are not the M-step's"
                );
            }
        }
        for (m, out) in self.maps.iter_mut().zip(&mut sums.maps) {
            let pair = &model.pairs[m.pair];
            let (map, buf, rate) = if m.decoder {
                (&pair.decoder, &ws.decoders[m.pair], rates.decoder[m.pair])
            } else {
                (&pair.encoder, &ws.encoders[m.pair], rates.encoder[m.pair])
            };
            let s_out = layer_scale(model, m.output, &self.cfg);
            let eta = p.eta(
                f64::from(rate),
                batch,
                layer_scale(model, m.input, &self.cfg),
            );
            // the postsynaptic neurons, in slot order, step by step
            m.post_fired.fill(false);
            for (q, &j) in m.post_units.iter().enumerate() {
                let j = j as usize;
                let d = f64::from(buf.error[[b, j]]); // V* − V(0), left by the M-step
                m.displacement[q] = d;
                let a = pre_activation(map.activation, buf.prediction[[b, j]]);
                for (n, covered) in self.covered.iter().enumerate() {
                    let v = (a + d * covered) as f32;
                    let rate = f64::from(map.activation.apply(v)) / s_out;
                    if bernoulli(&mut r, (p.p_max * rate.clamp(0.0, 1.0)) as f32) {
                        m.post_fired[q * n_steps + n] = true;
                        out.post_spikes += 1;
                    }
                }
            }
            let fired = &self.pre_fired[m.input];
            for &(pre, post) in &m.synapses {
                let (pre, post) = (pre as usize, post as usize);
                let post_train = &m.post_fired[post * n_steps..(post + 1) * n_steps];
                let pre_train = &fired[pre * n_steps..(pre + 1) * n_steps];
                for (t, _) in pre_train.iter().enumerate().filter(|(_, f)| **f) {
                    out.pre_spikes += 1;
                    if let Some(offset) = nearest(post_train, t, || r.random::<bool>()) {
                        let dw = eta * m.displacement[post] * self.kernel[t];
                        out.add((offset + n_steps as isize - 1) as usize, dw);
                    }
                }
            }
        }
    }
}

/// The offset (steps) from step `t` to the nearest `true` of `train`: 0 for the same step; a
/// tie between one before and one after is settled by `later()` (a fair coin keeps the pairing
/// symmetric in time: spike times are whole steps, so ties are common); `None` when the train is
/// empty.
pub fn nearest(train: &[bool], t: usize, mut later: impl FnMut() -> bool) -> Option<isize> {
    for k in 0..train.len() {
        let after = t + k < train.len() && train[t + k];
        let before = k >= 1 && k <= t && train[t - k];
        match (before, after) {
            (true, true) => return Some(if later() { k as isize } else { -(k as isize) }),
            (false, true) => return Some(k as isize),
            (true, false) => return Some(-(k as isize)),
            (false, false) => {}
        }
        if t + k >= train.len() && k >= t {
            break;
        }
    }
    None
}

/// `a = φ⁻¹(y)`, the voltage whose rate is y (ReLU: 0 for y = 0; the bounded non-linearities
/// are clamped 1e-7 inside their range).
pub fn pre_activation(act: Activation, y: f32) -> f64 {
    let y = f64::from(y);
    match act {
        Activation::Sigmoid => {
            let y = y.clamp(1e-7, 1.0 - 1e-7);
            (y / (1.0 - y)).ln()
        }
        // ln(e^y − 1) = y + ln(1 − e^(−y))
        Activation::Softplus => {
            let y = y.max(1e-30);
            y + (-(-y).exp_m1()).ln()
        }
        Activation::Tanh => y.clamp(-1.0 + 1e-7, 1.0 - 1e-7).atanh(),
        Activation::Relu | Activation::Linear => y,
    }
}

/// One spiking M-step ([`spiking::m_step`]), then, with a recorder, the recording of its
/// presentation ([`WindowRecorder::record`]). The weights, losses and streams are those of
/// [`spiking::m_step`] alone.
pub fn m_step<'w>(
    dev: &Device,
    model: &mut GenerativeModel,
    step: MStep<'_>,
    ws: &'w mut LearningWorkspace,
    opt: &mut ModelOptimizer,
    (corruption, spikes): (&mut Rng, &mut Rng),
    window: Option<(&mut WindowRecorder, &mut WindowSums)>,
) -> Result<&'w MStepLosses> {
    let Some((recorder, sums)) = window else {
        return spiking::m_step(dev, model, step, ws, opt, corruption, spikes);
    };
    let keys = spikes.clone();
    let rates = step.rates;
    spiking::m_step(dev, model, step, ws, opt, corruption, spikes)?;
    recorder.record(model, ws, keys, rates, sums);
    Ok(&ws.losses)
}

/// The mean ΔW of the pairs of one side of the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BranchMean {
    /// Pairs.
    pub n: u64,
    /// Their mean ΔW (0 without pairs).
    pub mean_dw: f64,
    /// Its standard error (0 with fewer than 2 pairs).
    pub sem_dw: f64,
}

/// The window of one map, or of all maps pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkWindow {
    /// Mean ΔW ± s.e. per Δt; `trials` counts the presynaptic spikes, `paired` those with a
    /// postsynaptic spike in the presentation.
    pub curve: StdpCurve,
    /// The exponential fit of each branch (bins with at least [`MIN_BIN_COUNT`] pairs).
    pub fit: WindowFit,
    /// Pearson correlation of those bins' means with the Bi & Poo (2001) window at their Δt.
    pub correlation_with_bi_poo: Option<f64>,
    /// The same with the Abarbanel et al. (2002) window.
    pub correlation_with_abarbanel: Option<f64>,
    /// Bins used by the fit and the correlations.
    pub bins_used: usize,
    /// Pairs with Δt > 0.
    pub potentiation: BranchMean,
    /// Pairs with Δt < 0.
    pub depression: BranchMean,
    /// Pairs with Δt = 0 (both spikes in the same step).
    pub coincident: BranchMean,
    /// Spikes of the sampled postsynaptic units.
    pub post_spikes: u64,
}

/// One map's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedWindow {
    /// `f1`, `g1`, …
    pub name: String,
    /// Its window.
    pub window: NetworkWindow,
}

/// `stdp_window.json`: the in-network window of all maps pooled and of each map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// Synapses sampled per map.
    pub synapses_per_map: usize,
    /// One example of every `every`-th minibatch was recorded.
    pub every: usize,
    /// Minibatches trained while recording.
    pub minibatches: u64,
    /// Presentations recorded.
    pub presentations: u64,
    /// Wall-clock seconds the recording took (to set against the training's epoch times in
    /// `metrics.jsonl`).
    pub recording_seconds: f64,
    /// N, steps of a presentation; Δt lies in `±(N − 1)·dt`.
    pub steps: usize,
    /// dt (ms).
    pub dt_ms: f64,
    /// Bins with fewer pairs are left out of the fits and correlations.
    pub min_bin_count: usize,
    /// τ₊ of the Bi & Poo (2001) window (ms), for comparison.
    pub bi_poo_tau_plus_ms: f64,
    /// τ₋ of the Bi & Poo (2001) window (ms).
    pub bi_poo_tau_minus_ms: f64,
    /// All maps pooled.
    pub pooled: NetworkWindow,
    /// Each map.
    pub maps: Vec<NamedWindow>,
}

/// The mean ± s.e. of the pairs at the indices `ks`.
fn branch(s: &MapSums, ks: impl Iterator<Item = usize>) -> BranchMean {
    let (mut n, mut sw, mut sw2) = (0u64, 0.0, 0.0);
    for k in ks {
        n += s.n[k];
        sw += s.sum_dw[k];
        sw2 += s.sum_dw2[k];
    }
    if n == 0 {
        return BranchMean {
            n,
            mean_dw: 0.0,
            sem_dw: 0.0,
        };
    }
    let b = Bin::from_sums(0.0, n as usize, 0.0, (sw, sw2));
    BranchMean {
        n,
        mean_dw: b.mean_dw,
        sem_dw: b.sem_dw,
    }
}

/// The window of one map's sums (N steps of `dt_ms`).
pub fn window_of(s: &MapSums, steps: usize, dt_ms: f64) -> NetworkWindow {
    let mid = steps - 1;
    let bins: Vec<Bin> = (0..s.n.len())
        .filter(|&k| s.n[k] > 0)
        .map(|k| {
            let d = (k as f64 - mid as f64) * dt_ms;
            let n = s.n[k] as usize;
            Bin::from_sums(d, n, d * n as f64, (s.sum_dw[k], s.sum_dw2[k]))
        })
        .collect();
    let curve = StdpCurve {
        paired: bins.iter().map(|b| b.n).sum(),
        trials: s.pre_spikes as usize,
        bins,
    };
    let points = fit_points(&curve, MIN_BIN_COUNT);
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    let reference = |f: fn(f64) -> f64| -> Vec<f64> { xs.iter().map(|&x| f(x)).collect() };
    NetworkWindow {
        fit: fit_window(&points, TAU_MIN_MS, TAU_MAX_MS),
        correlation_with_bi_poo: pearson(&ys, &reference(bi_poo_window)),
        correlation_with_abarbanel: pearson(&ys, &reference(abarbanel_window)),
        bins_used: points.len(),
        potentiation: branch(s, mid + 1..s.n.len()),
        depression: branch(s, 0..mid),
        coincident: branch(s, mid..mid + 1),
        post_spikes: s.post_spikes,
        curve,
    }
}

impl WindowSums {
    /// Every map's sums added up.
    pub fn pooled(&self) -> MapSums {
        let mut all = MapSums::new("all".into(), self.steps);
        for m in &self.maps {
            all.pre_spikes += m.pre_spikes;
            all.post_spikes += m.post_spikes;
            for k in 0..all.n.len() {
                all.n[k] += m.n[k];
                all.sum_dw[k] += m.sum_dw[k];
                all.sum_dw2[k] += m.sum_dw2[k];
            }
        }
        all
    }

    /// The report: bins, fits and correlations, pooled and per map.
    pub fn report(&self) -> WindowReport {
        WindowReport {
            synapses_per_map: self.synapses_per_map,
            every: self.every,
            minibatches: self.minibatches,
            presentations: self.presentations,
            recording_seconds: self.seconds,
            steps: self.steps,
            dt_ms: self.dt_ms,
            min_bin_count: MIN_BIN_COUNT,
            bi_poo_tau_plus_ms: BI_POO_TAU_PLUS_MS,
            bi_poo_tau_minus_ms: BI_POO_TAU_MINUS_MS,
            pooled: window_of(&self.pooled(), self.steps, self.dt_ms),
            maps: self
                .maps
                .iter()
                .map(|m| NamedWindow {
                    name: m.name.clone(),
                    window: window_of(m, self.steps, self.dt_ms),
                })
                .collect(),
        }
    }
}

/// "in-network STDP window: … pairs, τ₊ = … ms, τ₋ = … ms, correlation with Bi & Poo …".
impl std::fmt::Display for WindowReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |x: Option<f64>, digits: usize| {
            x.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"))
        };
        let line = |w: &NetworkWindow| {
            let (p, d) = (w.fit.potentiation, w.fit.depression);
            format!(
                "{} pre spikes, {} paired, {} bins; mean ΔW {:.3e} ± {:.1e} (Δt > 0, {}), \
                 {:.3e} ± {:.1e} (Δt < 0, {}); τ₊ = {} ms (R² {}), τ₋ = {} ms (R² {}); \
                 correlation with Bi & Poo {}",
                w.curve.trials,
                w.curve.paired,
                w.bins_used,
                w.potentiation.mean_dw,
                w.potentiation.sem_dw,
                w.potentiation.n,
                w.depression.mean_dw,
                w.depression.sem_dw,
                w.depression.n,
                opt(p.map(|f| f.tau_ms), 1),
                opt(p.map(|f| f.r_squared), 2),
                opt(d.map(|f| f.tau_ms), 1),
                opt(d.map(|f| f.r_squared), 2),
                opt(w.correlation_with_bi_poo, 3),
            )
        };
        writeln!(
            f,
            "in-network STDP window ({} synapses per map, {} presentations of {} minibatches, \
             {:.2} s of recording):",
            self.synapses_per_map, self.presentations, self.minibatches, self.recording_seconds
        )?;
        write!(f, "  pooled: {}", line(&self.pooled))?;
        for m in &self.maps {
            write!(f, "\n  {}: {}", m.name, line(&m.window))?;
        }
        Ok(())
    }
}

/// Writes `stdp_window.json` (atomically) and (feature `report`) the figure `stdp_window.png`
/// / `.svg` beside the Bi & Poo window into the run folder `dir`; returns the report.
pub fn write_outputs(dir: &Path, sums: &WindowSums) -> Result<WindowReport> {
    let report = sums.report();
    crate::run::write_json(&dir.join(FILE), &report)?;
    #[cfg(feature = "report")]
    figure(&report).save(&dir.join(FIGURE))?;
    Ok(report)
}

/// The pooled in-network window beside the Bi & Poo and Abarbanel windows (scaled onto it) and
/// its exponential fit, drawn as `bpdl stdp` draws Fig. 1.
#[cfg(feature = "report")]
pub fn figure(report: &WindowReport) -> crate::figures::LineChart {
    let w = &report.pooled;
    crate::reproduce::figures::window_chart(
        &format!(
            "STDP window inside the trained network ({} synapses per map, {} presentations)",
            report.synapses_per_map, report.presentations
        ),
        "mean ΔW = η · dV/dt at the presynaptic spike",
        (&w.curve, &w.fit),
        (report.steps.saturating_sub(1) as f64 * report.dt_ms).max(report.dt_ms),
        MIN_BIN_COUNT,
        "network: mean ± s.e. per Δt (all maps)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_spike_is_found_on_either_side_and_a_tie_goes_later() {
        let train = [false, true, false, false, false, true, false];
        let (later, earlier) = (|| true, || false);
        assert_eq!(nearest(&train, 1, later), Some(0));
        assert_eq!(nearest(&train, 2, later), Some(-1));
        // 1 and 5 are both 2 away: the coin decides
        assert_eq!(nearest(&train, 3, later), Some(2));
        assert_eq!(nearest(&train, 3, earlier), Some(-2));
        assert_eq!(nearest(&train, 4, earlier), Some(1));
        assert_eq!(nearest(&train, 6, later), Some(-1));
        assert_eq!(nearest(&[false; 5], 2, later), None);
        assert_eq!(nearest(&[true, false, false], 2, later), Some(-2));
        assert_eq!(nearest(&[false, false, true], 0, earlier), Some(2));
    }

    #[test]
    fn the_pre_activation_inverts_each_non_linearity() {
        for act in [
            Activation::Sigmoid,
            Activation::Softplus,
            Activation::Tanh,
            Activation::Linear,
        ] {
            for a in [-2.0f32, -0.3, 0.4, 3.0] {
                let back = pre_activation(act, act.apply(a));
                assert!((back - f64::from(a)).abs() < 1e-4, "{act:?} {a}: {back}");
            }
        }
        assert_eq!(pre_activation(Activation::Relu, 1.5), 1.5);
    }

    /// Bins, branch means and the report of hand-made sums: two pairs at Δt = +1 (ΔW 1, 3),
    /// one at Δt = −2 (ΔW −1), one at Δt = 0.
    #[test]
    fn the_report_bins_the_sums_by_delta_t() {
        let mut s = MapSums::new("f1".into(), 4);
        s.pre_spikes = 7;
        s.add(3 + 1, 1.0);
        s.add(3 + 1, 3.0);
        s.add(3 - 2, -1.0);
        s.add(3, 0.5);
        let w = window_of(&s, 4, 0.5);
        assert_eq!((w.curve.trials, w.curve.paired), (7, 4));
        let centres: Vec<f64> = w.curve.bins.iter().map(|b| b.delta_t_ms).collect();
        assert_eq!(centres, vec![-1.0, 0.0, 0.5]);
        assert_eq!((w.potentiation.n, w.potentiation.mean_dw), (2, 2.0));
        assert!((w.potentiation.sem_dw - 1.0).abs() < 1e-12);
        assert_eq!((w.depression.n, w.depression.mean_dw), (1, -1.0));
        assert_eq!((w.coincident.n, w.coincident.mean_dw), (1, 0.5));
        assert_eq!(w.bins_used, 0, "no bin has {MIN_BIN_COUNT} pairs");
    }
}
