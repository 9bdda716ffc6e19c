//! Three ways to draw samples from a trained model (paper §5, §8, Algorithm 2).
//!
//! ```text
//! ancestral:  h_L ~ N(μ, diag(4σ²)) [→ lateral Gibbs sweeps],   x = g_1(g_2(… g_L(h_L)))
//! GENERATE:   x ← ancestral;  repeat K times:  h ← INFERENCE(x, α = 0.3);  x ← g_1(h_1)
//! joint DAE:  repeat:  x ← g_1(h̃_1);  h_k ← f_k(h̃_{k−1}) or g_{k+1}(h̃_{k+1}) (prob. ½ each);
//!             h_L ← f_L(h̃_{L−1})                                          (Eqs. 9–11)
//! ```
//!
//! * [`ancestral`]: `h_L ~ p(h_L)`, then the decoders' means down to x:
//!   `x = g_1(g_2(…g_L(h_L)))` — the directed model alone (the paper's baseline, Parzen 126).
//! * [`generate`]: GENERATE of Algorithm 2 — an ancestral start, then K rounds of
//!   `h ← INFERENCE(x, α = 0.3)`; `x ← g_1(h_1)`. Inference is the "corruption" of a generalised
//!   denoising auto-encoder whose reconstruction is the decoder (§5.2), so these rounds are a
//!   Markov chain that moves the samples toward the data (Parzen 236 in the paper).
//! * [`joint_dae`]: the §5.1 chain of the joint denoising auto-encoder over (x, h) (Eqs. 9–11):
//!   each step reconstructs every layer from a corrupted neighbour, a middle layer from below
//!   (`f_k(h̃_{k−1})`) or from above (`g_{k+1}(h̃_{k+1})`) with probability ½; x only from
//!   above, the top layer only from below. The paper describes it but never evaluates it.
//!
//! When the top prior has lateral connections, `h_L` is the end of their Gibbs chain started
//! from the Gaussian draw ([`crate::model::lateral::LateralPrior::sample`]), for all three
//! samplers (each starts from an ancestral draw).
//!
//! All draws come from the `rng` passed in; the corruption is the training corruption.

use ndarray::Array1;
use rand::RngExt;

use crate::backend::{Device, Matrix, noise};
use crate::config::{Config, InferenceConfig};
use crate::data::batches::batches;
use crate::error::{Error, Result};
use crate::inference::{Evidence, Inference};
use crate::model::corruption::corrupt;
use crate::model::{GenerativeModel, TopPrior};
use crate::rng::Rng;

/// Which sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Decode a draw of the top prior.
    Ancestral,
    /// Algorithm 2's GENERATE.
    Generate,
    /// The §5.1 joint-DAE Markov chain.
    JointDae,
}

impl Method {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ancestral => "ancestral",
            Self::Generate => "generate",
            Self::JointDae => "joint-dae",
        }
    }
}

/// The name of the random stream a sampler draws from (`sample-<method>`): `bpdl sample`,
/// the reproduction and the sweep all draw through it, so the same seed gives the same samples
/// in each of them.
///
/// ```
/// use bpdl::sampling::{Method, stream_name};
/// assert_eq!(stream_name(Method::JointDae), "sample-joint-dae");
/// ```
pub fn stream_name(method: Method) -> String {
    format!("sample-{}", method.name())
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ancestral" => Ok(Self::Ancestral),
            "generate" => Ok(Self::Generate),
            "joint-dae" | "joint_dae" => Ok(Self::JointDae),
            _ => Err(Error::Usage(format!(
                "unknown sampler `{s}`: use generate, ancestral or joint-dae"
            ))),
        }
    }
}

fn prior(model: &GenerativeModel) -> Result<&TopPrior> {
    model.top_prior.as_ref().ok_or_else(|| {
        Error::Usage(
            "the model has no top prior yet (training did not finish); resume the run's training \
             so that it fits the prior"
                .into(),
        )
    })
}

/// Draws `h_L ~ p(h_L)` (the Gaussian, then the lateral chain when the prior has one) and
/// decodes it: returns every layer, `[x, h_1, …, h_L]`.
fn ancestral_layers(
    dev: &Device,
    model: &GenerativeModel,
    n: usize,
    rng: &mut Rng,
) -> Result<Vec<Matrix>> {
    let p = prior(model)?;
    let depth = model.depth();
    let mut layers: Vec<Matrix> = model.sizes.iter().map(|&w| Matrix::zeros((n, w))).collect();
    match &p.factor {
        None => {
            let std: Array1<f32> = p.var.mapv(f32::sqrt);
            noise::fill_gaussian(
                dev,
                rng,
                p.mean.view(),
                std.view(),
                layers[depth].view_mut(),
            );
        }
        Some(factor) => {
            let (zero, one) = (Array1::zeros(p.mean.len()), Array1::ones(p.mean.len()));
            noise::fill_gaussian(dev, rng, zero.view(), one.view(), layers[depth].view_mut());
            crate::model::prior::correlate(dev, p, factor, &mut layers[depth]);
        }
    }
    if let Some(lateral) = &p.lateral {
        lateral.sample(dev, &mut layers[depth], rng);
    }
    for l in (1..=depth).rev() {
        let (below, above) = layers.split_at_mut(l);
        model.pairs[l - 1]
            .decoder
            .forward(dev, above[0].view(), below[l - 1].view_mut());
    }
    Ok(layers)
}

/// Ancestral samples: `x = g_1(…g_L(h_L))`, `h_L ~ p(h_L)`. Returns `[n, n_x]`.
pub fn ancestral(dev: &Device, model: &GenerativeModel, n: usize, rng: &mut Rng) -> Result<Matrix> {
    // on this device's own thread pool
    dev.install(|| Ok(ancestral_layers(dev, model, n, rng)?.swap_remove(0)))
}

/// GENERATE (Algorithm 2): ancestral start, then `rounds` × (INFERENCE with `alpha`;
/// `x ← g_1(h_1)`), in minibatches of `batch`. Returns `[n, n_x]`.
pub fn generate(
    dev: &Device,
    model: &GenerativeModel,
    n: usize,
    rounds: usize,
    params: &InferenceConfig,
    batch: usize,
    rng: &mut Rng,
) -> Result<Matrix> {
    // on this device's own thread pool
    dev.install(|| {
        let mut x = ancestral(dev, model, n, rng)?;
        let mut inf = Inference::new(model, batch.max(1));
        for range in batches(n, batch) {
            inf.ensure(model, range.len());
            let mut xb = x.slice_mut(ndarray::s![range, ..]);
            for _ in 0..rounds {
                inf.e_step(dev, model, Evidence::Full(xb.view()), params, rng, None)?;
                xb.assign(inf.ws.reconstruction(0));
            }
        }
        Ok(x)
    })
}

/// The joint-DAE chain of §5.1 started from ancestral samples, `steps` steps, corruption as in
/// training (`config.model`). Returns `[n, n_x]`.
pub fn joint_dae(
    dev: &Device,
    model: &GenerativeModel,
    n: usize,
    steps: usize,
    config: &Config,
    rng: &mut Rng,
) -> Result<Matrix> {
    // on this device's own thread pool
    dev.install(|| {
        let depth = model.depth();
        let mut layers = ancestral_layers(dev, model, n, rng)?;
        let mut noisy: Vec<Matrix> = model.sizes.iter().map(|&w| Matrix::zeros((n, w))).collect();
        let mut from_above = Matrix::zeros((0, 0));
        let corruption = |l: usize| config.model.corruption(l);
        for _ in 0..steps {
            for l in 0..=depth {
                // Eq. 10/11: the neighbours are corrupted as in training
                if l > 0 {
                    corrupt(
                        dev,
                        rng,
                        corruption(l - 1),
                        layers[l - 1].view(),
                        &mut noisy[l - 1],
                    );
                }
                if l < depth {
                    corrupt(
                        dev,
                        rng,
                        corruption(l + 1),
                        layers[l + 1].view(),
                        &mut noisy[l + 1],
                    );
                }
                if l == 0 {
                    let g1 = &model.pairs[0].decoder;
                    g1.forward(dev, noisy[1].view(), layers[0].view_mut());
                } else if l == depth {
                    let f = &model.pairs[l - 1].encoder;
                    f.forward(dev, noisy[l - 1].view(), layers[l].view_mut());
                } else {
                    // reconstruct from below into the layer, from above into a scratch buffer, then
                    // pick per example with probability ½
                    if from_above.dim() != layers[l].dim() {
                        from_above = Matrix::zeros(layers[l].dim());
                    }
                    model.pairs[l - 1].encoder.forward(
                        dev,
                        noisy[l - 1].view(),
                        layers[l].view_mut(),
                    );
                    model.pairs[l]
                        .decoder
                        .forward(dev, noisy[l + 1].view(), from_above.view_mut());
                    for (mut row, above) in layers[l].rows_mut().into_iter().zip(from_above.rows())
                    {
                        if rng.random::<bool>() {
                            row.assign(&above);
                        }
                    }
                }
            }
        }
        Ok(layers.swap_remove(0))
    })
}

/// Draws `n` samples with `method` and the run's settings (`config.generate`,
/// `config.inference`).
pub fn sample(
    dev: &Device,
    model: &GenerativeModel,
    method: Method,
    n: usize,
    config: &Config,
    rng: &mut Rng,
) -> Result<Matrix> {
    let sizes: Vec<usize> = config.model.layers.iter().map(|l| l.size).collect();
    if sizes != model.sizes[1..] {
        return Err(Error::config(
            "model.layers",
            format!(
                "sizes {sizes:?} do not describe the model being sampled ({:?})",
                &model.sizes[1..]
            ),
        ));
    }
    match method {
        Method::Ancestral => ancestral(dev, model, n, rng),
        Method::Generate => {
            let params = InferenceConfig {
                alpha: config.generate.alpha,
                ..config.inference
            };
            generate(dev, model, n, config.generate.rounds, &params, 500, rng)
        }
        Method::JointDae => joint_dae(dev, model, n, config.generate.joint_dae_steps, config, rng),
    }
}

/// Writes `samples` (`[n, 784]`) to `out` as safetensors (tensor `samples`; metadata: method,
/// seed, the run they came from and the bpdl version) and, with the `report` feature, a 10×10
/// PNG grid of the first 100 beside it (`out` with extension `png`) when the samples are square
/// images.
pub fn write_samples(
    out: &std::path::Path,
    samples: &Matrix,
    method: Method,
    seed: u64,
    run: &std::path::Path,
) -> Result<()> {
    let mut w = crate::tensor_file::TensorWriter::new();
    w.matrix("samples", samples.view());
    w.meta("method", method.name());
    w.meta("seed", seed.to_string());
    w.meta("run", run.display().to_string());
    w.meta("bpdl_version", env!("CARGO_PKG_VERSION"));
    w.write(out)?;
    #[cfg(feature = "report")]
    {
        use crate::image_grid::{self, GridLayout};
        let first = samples.slice(ndarray::s![..samples.nrows().min(100), ..]);
        if let Some(layout) = GridLayout::square(samples.ncols(), 10) {
            image_grid::write_png(&out.with_extension("png"), first, layout)?;
        }
    }
    Ok(())
}
