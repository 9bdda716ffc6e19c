//! The E-step: iterative inference of the latent layers by target propagation (paper §4–§6,
//! Eq. 8 and Eq. 12; Algorithm 2, INFERENCE).
//!
//! Start from the feed-forward pass `h_l ← f_l(h_{l−1})` (the learned approximate posterior q),
//! then repeat N times, top layer first:
//!
//! ```text
//! h_l ← h_l + δ·( f_l(h_{l−1}) − f_l(g_l(h_l)) ) + α·( g_{l+1}(h_{l+1}) − h_l )
//! ```
//!
//! with no top-down term for the top layer. The first bracket is the targetprop estimate (Eq. 12)
//! of `∂ log p(h_{l−1} | h_l)/∂h_l`: the encoder applied to the layer below minus the encoder
//! applied to its reconstruction; no derivative of any map is ever taken. The second is the exact
//! gradient of `α log N(h_l; g_{l+1}(h_{l+1}), I)`. For L = 2 this is exactly Algorithm 2:
//! `h2 ← h2 + δ(f2(h1) − f2(g2(h2)))`, then `h1 ← h1 + δ(f1(x) − f1(g1(h1))) + α(g2(h2) − h1)`.
//!
//! Optionally (paper §3, Algorithm 1: "optional: add noise for MCMC") Gaussian noise of standard
//! deviation `noise_std` is added to every update, a Langevin-like chain without rejection.
//!
//! ## Work not repeated
//! `g_l(h_l)` is computed once per update of `h_l` and serves twice: as the top-down target of
//! `h_{l−1}` in this iteration and as the reconstruction inside `f_l(g_l(h_l))` in the next one.
//! `f_1(x)` is computed once per call. So one iteration costs, per layer, one `g`, one `f∘g`
//! and (above the first layer) one `f` of the layer below. The weights of every `f_l` and `g_l`
//! are packed once per [`Inference::iterate`] call for the kernel of [`crate::backend::packed`] and reused
//! by all its iterations, instead of being repacked inside every product.
//!
//! ## A clamped label layer
//! In supervised learning ([`crate::config::SupervisedConfig`]) the top layer is the label y.
//! With [`LabelEvidence`] the rows whose label is known keep `h_L = y` throughout (after the
//! feed-forward start and after every update of the top layer), and the layer below feels the
//! label through `α_y·(g_L(y) − h_{L−1})` instead of `α·(…)`; rows whose label is free are
//! updated like any top layer, and, when they are unlabelled training examples, do not feel
//! the label layer at all (`free_rows_pull = false`: the unsupervised terms only).
//!
//! ## In-painting
//! With [`Evidence::Partial`] only the visible entries of x are clamped; the missing ones are
//! filled from the current reconstruction, and the bottom-up term of h_1 becomes
//! `f_1([x_visible, g_1(h_1)_missing]) − f_1(g_1(h_1))` (paper §8, Fig. 5).

pub mod spiking;

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::backend::{Device, Matrix, PackedRows, PackedWeights, noise};
use crate::config::supervised::LabelTerm;
use crate::config::{Acceptance, Dynamics, InferenceConfig, TopDown, Weighting};
use crate::error::{Error, Result};
use crate::model::objective::log_joint_from_reconstructions;
use crate::model::{GenerativeModel, NoiseVariances};
use crate::rng::Rng;

/// What is observed of x.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    /// All of x (training, Fig. 4, GENERATE).
    Full(ArrayView2<'a, f32>),
    /// x where `visible` is 1; missing entries (`visible` = 0) are filled with `g_1(h_1)`.
    Partial {
        /// The observed values (missing entries are ignored).
        x: ArrayView2<'a, f32>,
        /// 1 for an observed entry, 0 for a missing one; same shape as x.
        visible: ArrayView2<'a, f32>,
    },
}

impl<'a> Evidence<'a> {
    /// The observed matrix (with whatever the missing entries hold).
    pub fn x(&self) -> ArrayView2<'a, f32> {
        match *self {
            Self::Full(x) | Self::Partial { x, .. } => x,
        }
    }
}

/// The label layer's evidence for a minibatch (supervised learning; the top layer is y).
#[derive(Debug, Clone, Copy)]
pub struct LabelEvidence<'a> {
    /// One-hot labels `[batch, n_L]` (rows that are not clamped are ignored).
    pub y: ArrayView2<'a, f32>,
    /// Per row: 1 when its label is clamped, 0 when y is free.
    pub clamped: ArrayView1<'a, f32>,
    /// `α_y`, the weight of the label's top-down term on `h_{L−1}`.
    pub alpha: f32,
    /// Whether rows with a free y also feel that term (prediction: yes; unlabelled training
    /// examples: no).
    pub free_rows_pull: bool,
    /// The form of the label's term on `h_{L−1}` ([`LabelTerm`]).
    pub term: LabelTerm,
}

/// Called after an inference iteration with its number (0 = the feed-forward start), the
/// workspace, whose [`InferenceWorkspace::log_pxh`] and reconstructions are up to date, and the
/// current h.
pub type IterationHook<'a> = &'a mut dyn FnMut(usize, &InferenceWorkspace, &Posterior);

/// The inferred latent layers of a minibatch: `h[l − 1] = h_l`, each `[batch, n_l]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// `h_1 … h_L`.
    pub h: Vec<Matrix>,
}

impl Posterior {
    /// Zero-filled layers for `batch` examples.
    pub fn zeros(model: &GenerativeModel, batch: usize) -> Self {
        Self {
            h: model.sizes[1..]
                .iter()
                .map(|&n| Matrix::zeros((batch, n)))
                .collect(),
        }
    }

    /// Number of examples.
    pub fn batch(&self) -> usize {
        self.h.first().map_or(0, |h| h.nrows())
    }

    /// Makes room for `batch` examples (reallocating only when the size changes).
    pub fn ensure(&mut self, model: &GenerativeModel, batch: usize) {
        if self.batch() != batch || self.h.len() != model.depth() {
            *self = Self::zeros(model, batch);
        }
    }
}

/// Buffers reused across calls, so that inference allocates nothing.
#[derive(Debug, Clone)]
pub struct InferenceWorkspace {
    /// `f_l(h_{l−1})`, `[batch, n_l]`.
    bottom_up: Vec<Matrix>,
    /// `g_l(h_l)` for the current `h_l`, `[batch, n_{l−1}]`.
    recon: Vec<Matrix>,
    /// `f_l(g_l(h_l))`, `[batch, n_l]`.
    refeed: Vec<Matrix>,
    /// x with missing entries filled (partial evidence only), `[batch, n_0]`.
    filled: Matrix,
    /// `log p(x, h) + const` per example (valid when tracked).
    log_pxh: Array1<f64>,
    /// The weights of `f_l` and `g_l`, packed at the start of each [`Inference::iterate`] call and reused
    /// by all its iterations.
    packed: Vec<(PackedWeights, PackedWeights)>,
    /// The inputs of the two products that run concurrently, packed into row panels (their
    /// memory is reused, so a warm call allocates nothing whatever thread runs each product).
    rows: [PackedRows; 2],
    /// Backtracking (`inference.accept = "if-better"`): h and g(h) before the iteration, …
    saved_h: Vec<Matrix>,
    /// … their reconstructions, …
    saved_recon: Vec<Matrix>,
    /// … `log p(x, h)` before the iteration, …
    saved_log_pxh: Array1<f64>,
    /// … each example's step size (1 at the start of a call, halved on every rejection) …
    step_scale: Array1<f32>,
    /// … and which examples' last step was undone (1) or kept (0).
    rejected: Array1<f32>,
    /// Steps undone during the last [`Inference::iterate`] call, summed over examples.
    rejections: usize,
    /// Per-example δ and α of the layer being updated (Gauss–Newton weighting, backtracking).
    row_delta: Array1<f32>,
    /// See `row_delta`.
    row_alpha: Array1<f32>,
    /// `‖W[:, j]‖²` of each decoder (Gauss–Newton weighting), per layer.
    decoder_col_sq: Vec<Array1<f32>>,
    /// `ĥ(h_L)`, the lateral prior's prediction of the top layer (`inference.top_prior_alpha`).
    lateral_pred: Matrix,
    /// Difference targets ([`LabelTerm::Targetprop`], [`TopDown::Difference`]), per layer
    /// `h_l` (index `l − 1`): `g_{l+1}(f_{l+1}(h_l))`, then `h_l + g_{l+1}(h_{l+1}) −
    /// g_{l+1}(f_{l+1}(h_l))`, the target whose pull `α·(target − h_l)` is the top-down term,
    /// `[batch, n_l]`.
    diff_target: Vec<Matrix>,
    /// The spiking E-step's network state (`inference.dynamics = "spiking"`; empty until used).
    spiking: spiking::SpikingWorkspace,
}

impl InferenceWorkspace {
    /// Buffers for `batch` examples of `model`.
    pub fn new(model: &GenerativeModel, batch: usize) -> Self {
        let s = &model.sizes;
        Self {
            bottom_up: s[1..].iter().map(|&n| Matrix::zeros((batch, n))).collect(),
            recon: s[..s.len() - 1]
                .iter()
                .map(|&n| Matrix::zeros((batch, n)))
                .collect(),
            refeed: s[1..].iter().map(|&n| Matrix::zeros((batch, n))).collect(),
            filled: Matrix::zeros((batch, s[0])),
            log_pxh: Array1::zeros(batch),
            packed: vec![Default::default(); s.len() - 1],
            rows: Default::default(),
            saved_h: s[1..].iter().map(|&n| Matrix::zeros((batch, n))).collect(),
            saved_recon: s[..s.len() - 1]
                .iter()
                .map(|&n| Matrix::zeros((batch, n)))
                .collect(),
            saved_log_pxh: Array1::zeros(batch),
            step_scale: Array1::ones(batch),
            rejected: Array1::zeros(batch),
            rejections: 0,
            row_delta: Array1::zeros(batch),
            row_alpha: Array1::zeros(batch),
            decoder_col_sq: s[..s.len() - 1].iter().map(|&n| Array1::zeros(n)).collect(),
            lateral_pred: Matrix::zeros((batch, s[s.len() - 1])),
            diff_target: s[1..].iter().map(|&n| Matrix::zeros((batch, n))).collect(),
            spiking: Default::default(),
        }
    }

    /// `log p(x, h) + const` per example for the current h (see [`crate::model::objective`]).
    pub fn log_pxh(&self) -> &Array1<f64> {
        &self.log_pxh
    }

    /// How many example-iterations of the last [`Inference::iterate`] call were undone because
    /// they lowered `log p(x, h)` (always 0 with `inference.accept = "always"`).
    pub fn rejections(&self) -> usize {
        self.rejections
    }

    /// Spikes fired and synaptic events delivered by the last spiking E-step
    /// (`inference.dynamics = "spiking"`; zero otherwise).
    pub fn spike_tally(&self) -> spiking::SpikeTally {
        self.spiking.tally()
    }

    /// `g_l(h_l)` for the current h: `reconstruction(0)` is the reconstruction of x.
    pub fn reconstruction(&self, l: usize) -> &Matrix {
        &self.recon[l]
    }

    /// Every `g_l(h_l)`, index `l − 1` ([`InferenceWorkspace::reconstruction`]).
    pub fn reconstructions(&self) -> &[Matrix] {
        &self.recon
    }

    /// The completed input `[x_visible, g_1(h_1)_missing]` of the last partial-evidence
    /// iteration.
    pub fn filled(&self) -> &Matrix {
        &self.filled
    }

    /// Makes room for `batch` examples (reallocating only when the size changes).
    pub fn ensure(&mut self, model: &GenerativeModel, batch: usize) {
        if self.log_pxh.len() != batch || self.recon.len() != model.depth() {
            *self = Self::new(model, batch);
        }
    }

    /// The buffers must have been made for this model and batch size.
    fn check(
        &self,
        model: &GenerativeModel,
        post: &Posterior,
        x: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let shape_error = |expected: String, got: String| Error::Shape {
            op: "inference",
            expected,
            got,
        };
        if x.ncols() != model.input_size() {
            return Err(shape_error(
                format!("inputs of {} values", model.input_size()),
                format!("inputs of {} values", x.ncols()),
            ));
        }
        let ws_ok = self.log_pxh.len() == x.nrows()
            && self.recon.len() == model.depth()
            && self
                .recon
                .iter()
                .zip(&model.sizes)
                .all(|(r, &n)| r.ncols() == n);
        let post_ok = post.h.len() == model.depth()
            && post
                .h
                .iter()
                .zip(&model.sizes[1..])
                .all(|(h, &n)| h.dim() == (x.nrows(), n));
        if !ws_ok || !post_ok {
            return Err(shape_error(
                format!(
                    "workspace and posterior for {} examples of this model",
                    x.nrows()
                ),
                format!("buffers for {} examples", self.log_pxh.len()),
            ));
        }
        Ok(())
    }
}

/// The E-step's state for minibatches of one size: the inferred layers h and the buffers that
/// INFERENCE reuses (so that it allocates nothing). Training, the top-prior fit, GENERATE,
/// in-painting and the Fig. 4 curve all infer through [`Inference::e_step`].
#[derive(Debug, Clone)]
pub struct Inference {
    /// The inferred latent layers.
    pub post: Posterior,
    /// Caches and `log p(x, h)`.
    pub ws: InferenceWorkspace,
}

/// Mean `log p(x, h) + const` over a minibatch at the feed-forward start of INFERENCE and after
/// its last iteration (the quantity of the paper's Fig. 4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EStepSummary {
    /// At the feed-forward start `h = q(x)`.
    pub log_pxh_before: f64,
    /// After the N iterations.
    pub log_pxh_after: f64,
    /// With [`LabelEvidence`]: clamped rows whose feed-forward prediction `argmax f_L(…)` was
    /// not their label (0 otherwise).
    pub label_errors: usize,
    /// With [`LabelEvidence`]: rows whose label was clamped (0 otherwise).
    pub labelled: usize,
}

impl Inference {
    /// Buffers for `batch` examples of `model`.
    pub fn new(model: &GenerativeModel, batch: usize) -> Self {
        Self {
            post: Posterior::zeros(model, batch),
            ws: InferenceWorkspace::new(model, batch),
        }
    }

    /// Makes room for `batch` examples (reallocating only when the size changes).
    pub fn ensure(&mut self, model: &GenerativeModel, batch: usize) {
        self.ws.ensure(model, batch);
        self.post.ensure(model, batch);
    }

    /// `log p(x, h) + const` per example for the current h.
    pub fn log_pxh(&self) -> &Array1<f64> {
        self.ws.log_pxh()
    }

    /// INFERENCE from scratch (Algorithm 2): the feed-forward start ([`Inference::feed_forward`]),
    /// then `params.steps` iterations ([`Inference::iterate`]). With a hook, `log p(x, h)` is
    /// recomputed after every iteration and `on_iteration(t, ws)` is called for t = 0 (the
    /// feed-forward start) … N.
    pub fn e_step(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        evidence: Evidence<'_>,
        params: &InferenceConfig,
        rng: &mut Rng,
        mut on_iteration: Option<IterationHook<'_>>,
    ) -> Result<EStepSummary> {
        self.feed_forward(dev, model, evidence.x())?;
        let log_pxh_before = self.ws.log_pxh.mean().unwrap_or(0.0);
        if let Some(f) = on_iteration.as_deref_mut() {
            f(0, &self.ws, &self.post);
        }
        self.iterate(dev, model, evidence, params, rng, on_iteration)?;
        Ok(EStepSummary {
            log_pxh_before,
            log_pxh_after: self.ws.log_pxh.mean().unwrap_or(0.0),
            label_errors: 0,
            labelled: 0,
        })
    }

    /// [`Inference::e_step`] with the top layer as a label layer: the feed-forward start, whose
    /// predictions of the clamped rows are scored (`label_errors`), then those rows are set to
    /// their label and held there through the iterations ([`LabelEvidence`]).
    pub fn e_step_labelled(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
        label: &LabelEvidence<'_>,
        params: &InferenceConfig,
        rng: &mut Rng,
    ) -> Result<EStepSummary> {
        self.feed_forward(dev, model, x)?;
        let top = model.depth() - 1;
        check_label(label, &self.post.h[top], x.nrows())?;
        let label_errors = dev.argmax_mismatches(self.post.h[top].view(), label.y, label.clamped);
        let labelled = label.clamped.iter().filter(|&&m| m != 0.0).count();
        dev.restore_rows(self.post.h[top].view_mut(), label.y, label.clamped);
        reconstruct(dev, model, x, &mut self.ws, &self.post);
        let log_pxh_before = self.ws.log_pxh.mean().unwrap_or(0.0);
        self.iterate_labelled(dev, model, x, label, params, rng)?;
        Ok(EStepSummary {
            log_pxh_before,
            log_pxh_after: self.ws.log_pxh.mean().unwrap_or(0.0),
            label_errors,
            labelled,
        })
    }

    /// [`Inference::iterate`] with a label layer on top ([`LabelEvidence`]): clamped rows keep
    /// their label, the layer below feels y with `label.alpha`. The caches must be valid for
    /// the current h (after [`Inference::feed_forward`], for instance).
    pub fn iterate_labelled(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
        label: &LabelEvidence<'_>,
        params: &InferenceConfig,
        rng: &mut Rng,
    ) -> Result<()> {
        iterate(
            dev,
            model,
            (Evidence::Full(x), Some(label)),
            params,
            (&mut self.ws, &mut self.post),
            rng,
            None,
        )
    }

    /// The feed-forward start `h_l ← f_l(h_{l−1})` (the approximate posterior q), which also
    /// fills the workspace's caches and `log p(x, h)`.
    pub fn feed_forward(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let (ws, post) = (&mut self.ws, &mut self.post);
        ws.check(model, post, x)?;
        for (l, pair) in model.pairs.iter().enumerate() {
            let (done, rest) = post.h.split_at_mut(l);
            let below = if l == 0 { x } else { done[l - 1].view() };
            pair.encoder.forward(dev, below, rest[0].view_mut());
            ws.bottom_up[l].assign(&rest[0]);
        }
        reconstruct(dev, model, x, ws, post);
        Ok(())
    }

    /// Recomputes the reconstructions `g_l(h_l)` and `log p(x, h)` for the current h (call it
    /// after changing `post.h` or `x` from outside before [`Inference::iterate`]).
    pub fn refresh(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        x: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let (ws, post) = (&mut self.ws, &self.post);
        ws.check(model, post, x)?;
        if let Some(f1) = model.pairs.first() {
            f1.encoder.forward(dev, x, ws.bottom_up[0].view_mut());
        }
        reconstruct(dev, model, x, ws, post);
        Ok(())
    }

    /// `params.steps` iterations of INFERENCE from the current h, whose caches must be valid
    /// ([`Inference::feed_forward`] or [`Inference::refresh`] was called for it). With a hook,
    /// `log p(x, h)` is recomputed after every iteration and `on_iteration(t, ws)` is called
    /// (t = 1..N); otherwise only after the last one.
    ///
    /// Returns [`Error::NonFinite`] naming the layer if a NaN or infinity appears.
    pub fn iterate(
        &mut self,
        dev: &Device,
        model: &GenerativeModel,
        evidence: Evidence<'_>,
        params: &InferenceConfig,
        rng: &mut Rng,
        on_iteration: Option<IterationHook<'_>>,
    ) -> Result<()> {
        iterate(
            dev,
            model,
            (evidence, None),
            params,
            (&mut self.ws, &mut self.post),
            rng,
            on_iteration,
        )
    }
}

/// `g_l(h_l)` for every layer, then `log p(x, h)`.
fn reconstruct(
    dev: &Device,
    model: &GenerativeModel,
    x: ArrayView2<'_, f32>,
    ws: &mut InferenceWorkspace,
    post: &Posterior,
) {
    decode(dev, model, ws, post);
    let terms = (&post.h[..], &ws.recon[..]);
    log_joint_from_reconstructions(dev, &model.noise, x, terms, ws.log_pxh.view_mut());
}

/// `g_l(h_l)` for every layer, into the workspace.
fn decode(dev: &Device, model: &GenerativeModel, ws: &mut InferenceWorkspace, post: &Posterior) {
    for (l, pair) in model.pairs.iter().enumerate() {
        pair.decoder
            .forward(dev, post.h[l].view(), ws.recon[l].view_mut());
    }
}

/// [`Inference::iterate`] on the buffers `(ws, post)`.
fn iterate(
    dev: &Device,
    model: &GenerativeModel,
    (evidence, label): (Evidence<'_>, Option<&LabelEvidence<'_>>),
    params: &InferenceConfig,
    (ws, post): (&mut InferenceWorkspace, &mut Posterior),
    rng: &mut Rng,
    mut on_iteration: Option<IterationHook<'_>>,
) -> Result<()> {
    let backtrack = params.accept == Acceptance::IfBetter;
    let track = on_iteration.is_some() || backtrack;
    let x = evidence.x();
    ws.check(model, post, x)?;
    if let Evidence::Partial { visible, .. } = evidence
        && visible.dim() != x.dim()
    {
        return Err(Error::Shape {
            op: "in-painting",
            expected: format!("a visibility mask of shape {:?}", x.dim()),
            got: format!("{:?}", visible.dim()),
        });
    }
    if let Some(lab) = label {
        check_label(lab, &post.h[model.depth() - 1], x.nrows())?;
    }
    if params.dynamics == Dynamics::Spiking {
        if label.is_some() {
            return Err(Error::Usage(
                "inference.dynamics = \"spiking\" does not clamp a label layer yet: use \
                 inference.dynamics = \"rate\" with [supervised]"
                    .into(),
            ));
        }
        ws.rejections = 0;
        return spiking::iterate(dev, model, evidence, params, (ws, post), rng, on_iteration);
    }
    if params.steps == 0 {
        // nothing to iterate (the encoders' codes): no packing, the start's caches stand
        ws.rejections = 0;
        return check_finite(dev, post, "after inference");
    }
    let depth = model.depth();
    // the weights do not change during the call: pack them once for all iterations
    for (pair, (f, g)) in model.pairs.iter().zip(&mut ws.packed) {
        f.pack(dev, pair.encoder.weight.view());
        g.pack(dev, pair.decoder.weight.view());
    }
    let gauss_newton = params.weighting == Weighting::GaussNewton;
    if gauss_newton {
        for (pair, c) in model.pairs.iter().zip(&mut ws.decoder_col_sq) {
            dev.column_sq_norms(pair.decoder.weight.view(), c.view_mut());
        }
    }
    let label_masks_alpha = label.is_some_and(|l| !l.free_rows_pull);
    let per_row = backtrack || gauss_newton || label_masks_alpha;
    ws.step_scale.fill(1.0);
    ws.rejections = 0;
    if backtrack {
        // the objective of the starting point, with the evidence as it will be scored
        score(
            dev,
            &model.noise,
            evidence,
            &mut ws.filled,
            (&post.h, &ws.recon),
            &mut ws.log_pxh,
        );
    }
    let packed = &ws.packed;
    for t in 1..=params.steps {
        if backtrack {
            for (saved, h) in ws.saved_h.iter_mut().zip(&post.h) {
                saved.assign(h);
            }
            for (saved, r) in ws.saved_recon.iter_mut().zip(&ws.recon) {
                saved.assign(r);
            }
            ws.saved_log_pxh.assign(&ws.log_pxh);
        }
        for l in (0..depth).rev() {
            let pair = &model.pairs[l];
            let (f, g) = (&pair.encoder, &pair.decoder);
            let (f_packed, g_packed) = &packed[l];
            // bottom-up term f_l(h_{l−1}) (f_1(x) is cached for full evidence) and f_l(g_l(h_l))
            if l > 0 {
                // two independent products: computed concurrently
                let (below, recon) = (post.h[l - 1].view(), ws.recon[l].view());
                let (bottom_up, refeed) = (&mut ws.bottom_up[l], &mut ws.refeed[l]);
                let [rows_a, rows_b] = &mut ws.rows;
                dev.join(
                    |d| f.forward_packed(d, f_packed, rows_a, below, bottom_up.view_mut()),
                    |d| f.forward_packed(d, f_packed, rows_b, recon, refeed.view_mut()),
                );
            } else {
                if let Evidence::Partial { x, visible } = evidence {
                    dev.fill_missing(ws.filled.view_mut(), x, visible, ws.recon[0].view());
                    let (rows, x) = (&mut ws.rows[0], ws.filled.view());
                    f.forward_packed(dev, f_packed, rows, x, ws.bottom_up[0].view_mut());
                }
                let (rows, recon) = (&mut ws.rows[0], ws.recon[0].view());
                f.forward_packed(dev, f_packed, rows, recon, ws.refeed[0].view_mut());
            }
            // the top layer's prior term β·(ĥ(h_L) − h_L) when the model has a lateral prior and
            // `inference.top_prior_alpha` = β > 0 (never during training: the prior is fitted
            // after it)
            let lateral = (l + 1 == depth && params.top_prior_alpha > 0.0)
                .then(|| model.top_prior.as_ref().and_then(|p| p.lateral.as_ref()))
                .flatten();
            if let Some(lat) = lateral {
                lat.prediction(dev, post.h[l].view(), &mut ws.lateral_pred);
            }
            // the layer just below a label layer feels it with α_y
            let below_label = label.filter(|_| l + 2 == depth);
            let difference = match below_label {
                Some(lab) => lab.term == LabelTerm::Targetprop,
                None => l + 1 < depth && params.top_down == TopDown::Difference,
            };
            if difference {
                // target h + g_{l+1}(h_{l+1}) − g_{l+1}(f_{l+1}(h)): f_{l+1}(h) is the layer
                // above's bottom-up term, computed from the current h_l when it was updated
                let (g_up, g_packed) = (&model.pairs[l + 1].decoder, &packed[l + 1].1);
                let rows = &mut ws.rows[0];
                let (f_h, t) = (ws.bottom_up[l + 1].view(), &mut ws.diff_target[l]);
                g_up.forward_packed(dev, g_packed, rows, f_h, t.view_mut());
                dev.difference_target(t.view_mut(), post.h[l].view(), ws.recon[l + 1].view());
            }
            let above_target = if difference {
                ws.diff_target[l].view()
            } else if l + 1 < depth {
                ws.recon[l + 1].view()
            } else {
                ws.lateral_pred.view()
            };
            let (above, alpha) = if let Some(lab) = below_label {
                (Some(above_target), lab.alpha)
            } else if l + 1 < depth {
                (Some(above_target), params.alpha)
            } else if lateral.is_some() {
                (Some(ws.lateral_pred.view()), params.top_prior_alpha)
            } else {
                (None, params.alpha)
            };
            let delta = match params.first_layer_delta {
                Some(d) if l == 0 => d,
                _ => params.delta,
            };
            if per_row {
                if gauss_newton && l + 1 < depth && below_label.is_none() {
                    let w = &pair.decoder.weight;
                    dev.jacobian_scale(
                        ws.recon[l].view(),
                        pair.decoder.activation,
                        ws.decoder_col_sq[l].view(),
                        w.nrows().min(w.ncols()),
                        ws.row_delta.view_mut(),
                    );
                    // (JᵀJ/σ_l² + I/σ_{l+1}²)⁻¹: s² scaled by σ_{l+1}²/σ_l²
                    let v = &model.noise.var;
                    let gain = (v[l + 1] / v[l]) as f32;
                    dev.gauss_newton_steps(
                        (delta, gain),
                        ws.step_scale.view(),
                        ws.row_delta.view_mut(),
                        ws.row_alpha.view_mut(),
                    );
                } else {
                    dev.scaled_steps(
                        (delta, alpha),
                        ws.step_scale.view(),
                        ws.row_delta.view_mut(),
                        ws.row_alpha.view_mut(),
                    );
                }
                if let Some(lab) = below_label.filter(|l| !l.free_rows_pull) {
                    // unlabelled examples: the label layer exerts no pressure
                    dev.scale_by(ws.row_alpha.view_mut(), lab.clamped);
                }
                dev.inference_step_rows(
                    post.h[l].view_mut(),
                    ws.bottom_up[l].view(),
                    ws.refeed[l].view(),
                    above,
                    ws.row_delta.view(),
                    ws.row_alpha.view(),
                );
            } else {
                dev.inference_step(
                    post.h[l].view_mut(),
                    ws.bottom_up[l].view(),
                    ws.refeed[l].view(),
                    above,
                    delta,
                    alpha,
                );
            }
            if params.noise_std > 0.0 {
                noise::perturb(dev, rng, params.noise_std, post.h[l].view_mut());
            }
            if let Some(lab) = label.filter(|_| l + 1 == depth) {
                // a known label stays clamped
                dev.restore_rows(post.h[l].view_mut(), lab.y, lab.clamped);
            }
            let rows = &mut ws.rows[0];
            g.forward_packed(
                dev,
                g_packed,
                rows,
                post.h[l].view(),
                ws.recon[l].view_mut(),
            );
        }
        if track || t == params.steps {
            score(
                dev,
                &model.noise,
                evidence,
                &mut ws.filled,
                (&post.h, &ws.recon),
                &mut ws.log_pxh,
            );
            if backtrack {
                ws.rejections += dev.undo_worse_rows(
                    ws.log_pxh.view_mut(),
                    ws.saved_log_pxh.view(),
                    ws.step_scale.view_mut(),
                    ws.rejected.view_mut(),
                );
                for (h, saved) in post.h.iter_mut().zip(&ws.saved_h) {
                    dev.restore_rows(h.view_mut(), saved.view(), ws.rejected.view());
                }
                for (r, saved) in ws.recon.iter_mut().zip(&ws.saved_recon) {
                    dev.restore_rows(r.view_mut(), saved.view(), ws.rejected.view());
                }
                if let Evidence::Partial { x, visible } = evidence {
                    dev.fill_missing(ws.filled.view_mut(), x, visible, ws.recon[0].view());
                }
            }
            if let Some(f) = on_iteration.as_deref_mut() {
                f(t, ws, post);
            }
        }
    }
    check_finite(dev, post, "after inference")
}

/// The label evidence must have the top layer's shape and one mask entry per row.
fn check_label(label: &LabelEvidence<'_>, top: &Matrix, rows: usize) -> Result<()> {
    if label.y.dim() != top.dim() || label.clamped.len() != rows {
        return Err(Error::Shape {
            op: "labelled inference",
            expected: format!("labels of shape {:?} and a mask of {rows} rows", top.dim()),
            got: format!("{:?} and {}", label.y.dim(), label.clamped.len()),
        });
    }
    Ok(())
}

/// `log p(x, h)` of the current h into `log_pxh`; with partial evidence, x is first completed
/// with the reconstruction of the current h_1 (into `filled`).
fn score(
    dev: &Device,
    noise: &NoiseVariances,
    evidence: Evidence<'_>,
    filled: &mut Matrix,
    (h, recon): (&[Matrix], &[Matrix]),
    log_pxh: &mut Array1<f64>,
) {
    let below = match evidence {
        Evidence::Full(x) => x,
        Evidence::Partial { x, visible } => {
            dev.fill_missing(filled.view_mut(), x, visible, recon[0].view());
            filled.view()
        }
    };
    log_joint_from_reconstructions(dev, noise, below, (h, recon), log_pxh.view_mut());
}

/// [`Error::NonFinite`] naming the first layer holding a NaN or infinity.
pub fn check_finite(dev: &Device, post: &Posterior, step: &str) -> Result<()> {
    for (l, h) in post.h.iter().enumerate() {
        if !dev.all_finite(h.view()) {
            return Err(Error::NonFinite {
                layer: format!("h{}", l + 1),
                step: step.to_string(),
            });
        }
    }
    Ok(())
}

/// INFERENCE (the training settings `params`) on every row of `images`, in minibatches of
/// `batch`: the inferred `h_1 … h_L` of all rows, `[rows, n_l]` each. A model that has no
/// latent layer or a minibatch of 0 is an error.
pub fn infer(
    dev: &Device,
    model: &GenerativeModel,
    images: ArrayView2<'_, f32>,
    params: &InferenceConfig,
    batch: usize,
    rng: &mut Rng,
) -> Result<Posterior> {
    if batch == 0 {
        return Err(Error::Usage(
            "the inference minibatch must hold at least one example".into(),
        ));
    }
    if images.ncols() != model.input_size() {
        return Err(Error::Shape {
            op: "inference",
            expected: format!("images of shape (examples, {})", model.input_size()),
            got: format!("shape ({}, {})", images.nrows(), images.ncols()),
        });
    }
    dev.install(|| {
        let n = images.nrows();
        let mut out = Posterior {
            h: model
                .sizes
                .iter()
                .skip(1)
                .map(|&d| Matrix::zeros((n, d)))
                .collect(),
        };
        let mut inf = Inference::new(model, batch.min(n.max(1)));
        for rows in crate::data::batches::batches(n, batch) {
            let x = images.slice(ndarray::s![rows.clone(), ..]);
            inf.ensure(model, rows.len());
            inf.e_step(dev, model, Evidence::Full(x), params, rng, None)?;
            for (dst, src) in out.h.iter_mut().zip(&inf.post.h) {
                dst.slice_mut(ndarray::s![rows.clone(), ..]).assign(src);
            }
        }
        Ok(out)
    })
}
