//! Checkpoints: everything needed to continue training bit for bit, in one safetensors file.
//!
//! | tensor | shape |
//! |---|---|
//! | `f{l}.weight`, `f{l}.bias` | `[n_{l−1}, n_l]`, `[n_l]` (encoder f_l) |
//! | `g{l}.weight`, `g{l}.bias` | `[n_l, n_{l−1}]`, `[n_{l−1}]` (decoder g_l) |
//! | `prior.mean`, `prior.var` | `[n_L]` (after training) |
//! | `prior.factor` | `[n_L, n_L]`, Cholesky factor of a full-covariance prior |
//! | `prior.lateral.{weight,bias,var}` | `[n_L, n_L]`, `[n_L]`, `[n_L]`: lateral connections of the top prior (`weight[j, i] = V_ij`) |
//! | `opt.{f,g}{l}.{m_w,m_b,v_w,v_b}` | optimizer moments (RMSprop, Adam) |
//!
//! Metadata: `format`, `config` (the resolved TOML), `sizes`, `epochs_done`, `rng` (the state
//! of every random stream, JSON), `opt.{f,g}{l}.step`, for learned conditional variances
//! `noise.var` (σ_l², comma-separated f64) and `noise.updates`, and, for a lateral top prior,
//! `prior.lateral.conditional` (`linear` or `sigmoid`) and `prior.lateral.sweeps`. Checkpoints
//! written before lateral priors existed have none of these and load as before. Weights are stored `[n_in, n_out]`
//! (`y = x·W + b`); PyTorch's `nn.Linear` keeps the transpose.

use std::path::Path;

use crate::config::{self, Config};
use crate::error::Result;
use crate::learning::{MapOptimizer, ModelOptimizer};
use crate::model::lateral::{Conditional, LateralPrior};
use crate::model::{GenerativeModel, Map, TopPrior};
use crate::tensor_file::{TensorReader, TensorWriter};
use crate::train::{TrainRngs, TrainState};

/// The format tag written into every checkpoint.
pub const FORMAT: &str = "bpdl-checkpoint-1";

/// The file name inside a run folder.
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// Writes `state` and `config` to `path`, atomically.
pub fn save(path: &Path, state: &TrainState, config: &Config) -> Result<()> {
    let mut w = TensorWriter::new();
    w.meta("format", FORMAT);
    w.meta("config", config::to_toml_string(config)?);
    w.meta("sizes", sizes_string(&state.model.sizes));
    w.meta("epochs_done", state.epochs_done.to_string());
    w.meta(
        "rng",
        serde_json::to_string(&state.rngs).map_err(|e| crate::Error::Checkpoint {
            path: path.to_path_buf(),
            problem: format!("cannot serialise the random streams: {e}"),
            hint: "report this as a bug".into(),
        })?,
    );
    if let Some(window) = &state.stdp_window {
        w.meta(
            "stdp_window",
            serde_json::to_string(window).map_err(|e| crate::Error::Checkpoint {
                path: path.to_path_buf(),
                problem: format!("cannot serialise the in-network STDP window: {e}"),
                hint: "report this as a bug".into(),
            })?,
        );
    }
    let noise = &state.model.noise;
    if noise.updates > 0 {
        // shortest round-trip decimal of each f64: read back exactly
        let var: Vec<String> = noise.var.iter().map(|v| format!("{v:?}")).collect();
        w.meta("noise.var", var.join(","));
        w.meta("noise.updates", noise.updates.to_string());
    }
    for (name, t) in model_tensors(&state.model) {
        match t {
            ModelTensor::Matrix(m) => w.matrix(name, m),
            ModelTensor::Vector(v) => w.vector(name, v),
        }
    }
    for (i, _) in state.model.pairs.iter().enumerate() {
        let l = i + 1;
        put_opt(&mut w, &format!("opt.f{l}"), &state.optimizer.encoders[i]);
        put_opt(&mut w, &format!("opt.g{l}"), &state.optimizer.decoders[i]);
    }
    if let Some(lat) = state
        .model
        .top_prior
        .as_ref()
        .and_then(|p| p.lateral.as_ref())
    {
        w.meta("prior.lateral.conditional", lat.conditional.name());
        w.meta("prior.lateral.sweeps", lat.sweeps.to_string());
    }
    w.write(path)
}

fn sizes_string(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One tensor of a model, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum ModelTensor<'a> {
    /// A weight matrix (`[inputs, outputs]`) or the prior's factor.
    Matrix(ndarray::ArrayView2<'a, f32>),
    /// A bias, mean or variance.
    Vector(ndarray::ArrayView1<'a, f32>),
}

/// The model's tensors under their checkpoint names, in the order they are saved: `f1.weight`,
/// `f1.bias`, `g1.weight`, `g1.bias`, … and, once fitted, `prior.mean`, `prior.var`
/// (`prior.factor` for a full covariance, `prior.lateral.{weight,bias,var}` for lateral
/// connections). The optimizer's state is not part of the model.
pub fn model_tensors(model: &GenerativeModel) -> Vec<(String, ModelTensor<'_>)> {
    use ModelTensor::{Matrix, Vector};
    let mut out = Vec::new();
    for (i, pair) in model.pairs.iter().enumerate() {
        let l = i + 1;
        for (name, map) in [
            (format!("f{l}"), &pair.encoder),
            (format!("g{l}"), &pair.decoder),
        ] {
            out.push((format!("{name}.weight"), Matrix(map.weight.view())));
            out.push((format!("{name}.bias"), Vector(map.bias.view())));
        }
    }
    if let Some(prior) = &model.top_prior {
        out.push(("prior.mean".into(), Vector(prior.mean.view())));
        out.push(("prior.var".into(), Vector(prior.var.view())));
        if let Some(l) = &prior.factor {
            out.push(("prior.factor".into(), Matrix(l.view())));
        }
        if let Some(lat) = &prior.lateral {
            out.push(("prior.lateral.weight".into(), Matrix(lat.weight.view())));
            out.push(("prior.lateral.bias".into(), Vector(lat.bias.view())));
            out.push(("prior.lateral.var".into(), Vector(lat.var.view())));
        }
    }
    out
}

fn put_opt(w: &mut TensorWriter, name: &str, opt: &MapOptimizer) {
    w.meta(format!("{name}.step"), opt.step.to_string());
    for (part, m) in [("m_w", &opt.m_w), ("v_w", &opt.v_w)] {
        if !m.is_empty() {
            w.matrix(format!("{name}.{part}"), m.view());
        }
    }
    for (part, v) in [("m_b", &opt.m_b), ("v_b", &opt.v_b)] {
        if !v.is_empty() {
            w.vector(format!("{name}.{part}"), v.view());
        }
    }
}

/// Reads a checkpoint: the training state and the config that produced it.
pub fn load(path: &Path) -> Result<(TrainState, Config)> {
    from_reader(&TensorReader::open(path)?)
}

/// [`load`] from the bytes of a checkpoint already in memory (`path` only names it in errors).
pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<(TrainState, Config)> {
    from_reader(&TensorReader::from_bytes(path, bytes)?)
}

fn from_reader(r: &TensorReader) -> Result<(TrainState, Config)> {
    let format = r.meta("format")?;
    if format != FORMAT {
        return Err(r.error(format!("format `{format}`, expected `{FORMAT}`")));
    }
    let config: Config = config::from_toml_str(r.meta("config")?)
        .map_err(|e| r.error(format!("the stored config is not valid for this bpdl: {e}")))?;
    let sizes: Vec<usize> = r
        .meta("sizes")?
        .split(',')
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| r.error(format!("bad `sizes` metadata: {e}")))?;
    if sizes.len() != config.model.layers.len() + 1 {
        return Err(r.error(format!(
            "{} layer sizes for a config with {} latent layers",
            sizes.len(),
            config.model.layers.len()
        )));
    }
    let config_sizes: Vec<usize> = config.model.layers.iter().map(|l| l.size).collect();
    if sizes[0] == 0 || sizes[1..] != config_sizes[..] {
        return Err(r.error(format!(
            "sizes {sizes:?} disagree with the config's latent layers {config_sizes:?} (or \
             announce no input)"
        )));
    }
    check_shapes(r, &sizes)?;
    // Build the structure from the config (weights are overwritten below); `check_shapes` has
    // seen every weight in the file, so this allocates no more than the file holds.
    let mut scratch = crate::rng::Seed(0).stream("checkpoint-structure");
    let mut model = GenerativeModel::new(sizes[0], &config.model, &mut scratch);
    let mut optimizer = ModelOptimizer::new(&config.learning, &model);
    for (i, pair) in model.pairs.iter_mut().enumerate() {
        let l = i + 1;
        get_map(r, &format!("f{l}"), &mut pair.encoder)?;
        get_map(r, &format!("g{l}"), &mut pair.decoder)?;
        get_opt(r, &format!("opt.f{l}"), &mut optimizer.encoders[i])?;
        get_opt(r, &format!("opt.g{l}"), &mut optimizer.decoders[i])?;
    }
    if r.has("prior.mean") {
        let n = model.top_size();
        model.top_prior = Some(TopPrior {
            mean: r.vector("prior.mean", Some(n))?,
            var: r.vector("prior.var", Some(n))?,
            factor: if r.has("prior.factor") {
                Some(r.matrix("prior.factor", Some((n, n)))?)
            } else {
                None
            },
            lateral: get_lateral(r, n)?,
        });
    }
    // learned variances of the conditionals (absent: unit, and from older files)
    if let Some(text) = r.meta_opt("noise.var") {
        let var = text
            .split(',')
            .map(|v| v.parse::<f64>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| r.error(format!("bad `noise.var` metadata: {e}")))?;
        if var.len() != model.depth() || var.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(r.error(format!(
                "`noise.var` holds {var:?}: one positive variance per latent layer ({}) expected",
                model.depth()
            )));
        }
        let updates = r
            .meta("noise.updates")?
            .parse()
            .map_err(|e| r.error(format!("bad `noise.updates`: {e}")))?;
        model.noise = crate::model::NoiseVariances { var, updates };
    }
    let epochs_done = r
        .meta("epochs_done")?
        .parse()
        .map_err(|e| r.error(format!("bad `epochs_done`: {e}")))?;
    let rngs: TrainRngs = serde_json::from_str(r.meta("rng")?)
        .map_err(|e| r.error(format!("bad `rng` metadata: {e}")))?;
    // written only while recording the in-network STDP window (and absent from older files)
    let stdp_window = match r.meta_opt("stdp_window") {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| r.error(format!("bad `stdp_window` metadata: {e}")))?,
        ),
        None => None,
    };
    Ok((
        TrainState {
            model,
            optimizer,
            epochs_done,
            rngs,
            stdp_window,
        },
        config,
    ))
}

/// Checks that the file holds every weight and bias of a model of `sizes`, with its shape,
/// before anything of that size is allocated: the metadata alone could announce a model of
/// terabytes.
fn check_shapes(r: &TensorReader, sizes: &[usize]) -> Result<()> {
    for (i, w) in sizes.windows(2).enumerate() {
        let (below, here) = (w[0], w[1]);
        let l = i + 1;
        for (name, want) in [
            (format!("f{l}.weight"), vec![below, here]),
            (format!("f{l}.bias"), vec![here]),
            (format!("g{l}.weight"), vec![here, below]),
            (format!("g{l}.bias"), vec![below]),
        ] {
            let found = r.shape(&name)?;
            if found != want {
                return Err(r.error(format!(
                    "tensor `{name}` has shape {found:?}, expected {want:?} for sizes {sizes:?}"
                )));
            }
        }
    }
    Ok(())
}

fn get_map(r: &TensorReader, name: &str, map: &mut Map) -> Result<()> {
    let shape = map.weight.dim();
    map.weight = r.matrix(&format!("{name}.weight"), Some(shape))?;
    map.bias = r.vector(&format!("{name}.bias"), Some(map.bias.len()))?;
    Ok(())
}

/// The lateral part of the top prior, when the file has one (`prior.lateral.weight`).
fn get_lateral(r: &TensorReader, n: usize) -> Result<Option<LateralPrior>> {
    if !r.has("prior.lateral.weight") {
        return Ok(None);
    }
    let conditional: Conditional = r
        .meta("prior.lateral.conditional")?
        .parse()
        .map_err(|e| r.error(format!("bad `prior.lateral.conditional`: {e}")))?;
    let sweeps = r
        .meta("prior.lateral.sweeps")?
        .parse()
        .map_err(|e| r.error(format!("bad `prior.lateral.sweeps`: {e}")))?;
    let lateral = LateralPrior {
        conditional,
        weight: r.matrix("prior.lateral.weight", Some((n, n)))?,
        bias: r.vector("prior.lateral.bias", Some(n))?,
        var: r.vector("prior.lateral.var", Some(n))?,
        sweeps,
    };
    lateral
        .check()
        .map_err(|problem| r.error(format!("the lateral top prior: {problem}")))?;
    Ok(Some(lateral))
}

fn get_opt(r: &TensorReader, name: &str, opt: &mut MapOptimizer) -> Result<()> {
    opt.step = r
        .meta(&format!("{name}.step"))?
        .parse()
        .map_err(|e| r.error(format!("bad `{name}.step`: {e}")))?;
    for (part, m) in [("m_w", &mut opt.m_w), ("v_w", &mut opt.v_w)] {
        if !m.is_empty() {
            let shape = m.dim();
            *m = r.matrix(&format!("{name}.{part}"), Some(shape))?;
        }
    }
    for (part, v) in [("m_b", &mut opt.m_b), ("v_b", &mut opt.v_b)] {
        if !v.is_empty() {
            let n = v.len();
            *v = r.vector(&format!("{name}.{part}"), Some(n))?;
        }
    }
    Ok(())
}

/// Reads only the model (with its top prior) and its config, e.g. for sampling.
pub fn load_model(path: &Path) -> Result<(GenerativeModel, Config)> {
    let (state, config) = load(path)?;
    Ok((state.model, config))
}
