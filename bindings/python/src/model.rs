//! `bpdl.Model`'s native half: a trained generative model p(x, h) with the configuration that
//! trained it, and what can be done with it: INFERENCE ([`bpdl::inference::infer`]), the
//! Fig. 4 curve ([`bpdl::eval::inference_curve`]), sampling ([`bpdl::sampling::sample`]), the
//! validation score of a sweep ([`bpdl::sweep::score_model`]) and its tensors under the
//! checkpoint's names.

use std::path::PathBuf;

use bpdl::model::GenerativeModel;
use bpdl::sampling::{self, Method};
use bpdl::sweep::{Score, ScoreData};
use bpdl::{Config, checkpoint};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::PyConfig;
use crate::errors::to_pyerr;

/// A trained model and its configuration.
#[pyclass(name = "Model", module = "bpdl._bpdl")]
pub struct PyModel {
    pub model: GenerativeModel,
    pub config: Config,
    pub run_dir: Option<PathBuf>,
}

/// Two vectors of classes: `(feed-forward, after inference)`.
type Classes<'py> = (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u8>>);

/// The run's configuration with `inference.*` overrides (validated like the CLI's flags).
fn inference_config(
    config: &Config,
    steps: Option<usize>,
    alpha: Option<f32>,
    delta: Option<f32>,
) -> PyResult<Config> {
    let mut overrides = Vec::new();
    if let Some(s) = steps {
        overrides.push(format!("inference.steps={s}"));
    }
    if let Some(a) = alpha {
        overrides.push(format!("inference.alpha={a}"));
    }
    if let Some(d) = delta {
        overrides.push(format!("inference.delta={d}"));
    }
    bpdl::config::resolve_on(config, &overrides).map_err(to_pyerr)
}

#[pymethods]
impl PyModel {
    /// Loads a run folder (its `checkpoint.safetensors`) or a checkpoint file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let (file, run_dir) = if path.is_dir() {
            (path.join(checkpoint::FILE_NAME), Some(path))
        } else {
            (path.clone(), path.parent().map(PathBuf::from))
        };
        let (model, config) = py
            .detach(|| checkpoint::load_model(&file))
            .map_err(to_pyerr)?;
        Ok(Self {
            model,
            config,
            run_dir,
        })
    }

    /// The configuration that trained the model.
    #[getter]
    fn config(&self) -> PyConfig {
        PyConfig {
            inner: self.config.clone(),
        }
    }

    /// Layer widths `[n_x, n_1, …, n_L]`.
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.model.sizes.clone()
    }

    /// Whether the top prior p(h_L) has been fitted (training fits it after the last epoch).
    #[getter]
    fn has_prior(&self) -> bool {
        self.model.top_prior.is_some()
    }

    /// The run folder it came from, if any.
    #[getter]
    fn run_dir(&self) -> Option<PathBuf> {
        self.run_dir.clone()
    }

    /// INFERENCE on every row of `x`; returns `[h_1, …, h_L]`.
    #[pyo3(signature = (x, steps=None, alpha=None, delta=None, batch=500, seed=None, threads=0))]
    #[allow(clippy::too_many_arguments)] // a Python signature of keyword arguments
    fn infer<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        steps: Option<usize>,
        alpha: Option<f32>,
        delta: Option<f32>,
        batch: usize,
        seed: Option<u64>,
        threads: usize,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f32>>>> {
        let config = inference_config(&self.config, steps, alpha, delta)?;
        let dev = crate::device(threads)?;
        let x = x.as_array();
        let model = &self.model;
        let seed = seed.unwrap_or(config.seed);
        let post = py
            .detach(|| {
                let mut rng = bpdl::rng::Seed(seed).stream("infer");
                bpdl::inference::infer(&dev, model, x, &config.inference, batch, &mut rng)
            })
            .map_err(to_pyerr)?;
        Ok(post.h.into_iter().map(|h| h.into_pyarray(py)).collect())
    }

    /// The class of every row of `x` for a model trained with a label layer
    /// (`supervised.enabled`): `(feed-forward, after inference)`, each `[n]` of `u8`.
    #[pyo3(signature = (x, steps=None, batch=500, seed=None, threads=0))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        steps: Option<usize>,
        batch: usize,
        seed: Option<u64>,
        threads: usize,
    ) -> PyResult<Classes<'py>> {
        let mut supervised = self.config.supervised;
        if let Some(s) = steps {
            supervised.predict_steps = s;
        }
        let dev = crate::device(threads)?;
        let x = x.as_array();
        let (model, config) = (&self.model, &self.config);
        let seed = seed.unwrap_or(config.seed);
        let p = py
            .detach(|| {
                let mut rng = bpdl::rng::Seed(seed).stream("predict");
                bpdl::eval::classify::predict(
                    &dev,
                    model,
                    x,
                    &config.inference,
                    &supervised,
                    batch,
                    &mut rng,
                )
            })
            .map_err(to_pyerr)?;
        Ok((
            p.feedforward.into_pyarray(py),
            p.after_inference.into_pyarray(py),
        ))
    }

    /// The Fig. 4 curve on the rows of `x` (JSON of `bpdl::eval::InferenceCurve`).
    #[pyo3(signature = (x, steps=20, alpha=None, delta=None, batch=500, keep=5, seed=None, threads=0))]
    #[allow(clippy::too_many_arguments)] // a Python signature of keyword arguments
    fn inference_curve(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        steps: usize,
        alpha: Option<f32>,
        delta: Option<f32>,
        batch: usize,
        keep: usize,
        seed: Option<u64>,
        threads: usize,
    ) -> PyResult<String> {
        let config = inference_config(&self.config, Some(steps), alpha, delta)?;
        let dev = crate::device(threads)?;
        let x = x.as_array();
        let model = &self.model;
        let seed = seed.unwrap_or(config.seed);
        let curve = py
            .detach(|| {
                let mut rng = bpdl::rng::Seed(seed).stream("infer");
                bpdl::eval::inference_curve(
                    &dev,
                    model,
                    x,
                    &config.inference,
                    batch,
                    keep,
                    &mut rng,
                )
            })
            .map_err(to_pyerr)?;
        crate::to_json(&curve)
    }

    /// `n` samples drawn with `method`, the run's settings changed by `overrides`.
    #[pyo3(signature = (n, method="generate", seed=None, overrides=Vec::new(), threads=0))]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        method: &str,
        seed: Option<u64>,
        overrides: Vec<String>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let method: Method = method.parse().map_err(to_pyerr)?;
        let config = bpdl::config::resolve_on(&self.config, &overrides).map_err(to_pyerr)?;
        let dev = crate::device(threads)?;
        let model = &self.model;
        let seed = seed.unwrap_or(config.seed);
        let samples = py
            .detach(|| {
                let mut rng = bpdl::rng::Seed(seed).stream(&sampling::stream_name(method));
                sampling::sample(&dev, model, method, n, &config, &mut rng)
            })
            .map_err(to_pyerr)?;
        Ok(samples.into_pyarray(py))
    }

    /// The validation score of a sweep ([`bpdl::sweep::score_model`] without training or test
    /// images): the best mean Parzen log-likelihood of the first 1,000 `validation` rows over
    /// the σ grid, on `samples` GENERATE (`validation-parzen`) or ancestral
    /// (`validation-ancestral-parzen`) samples from the run's seed, or the classification error
    /// of the rule better on validation (`validation-error`, needs `labels`).
    #[pyo3(signature = (validation, labels=None, score="validation-parzen", samples=1000, threads=0))]
    fn validation_score(
        &self,
        py: Python<'_>,
        validation: PyReadonlyArray2<'_, f32>,
        labels: Option<PyReadonlyArray1<'_, u8>>,
        score: &str,
        samples: usize,
        threads: usize,
    ) -> PyResult<f64> {
        let score: Score = score.parse().map_err(to_pyerr)?;
        let dev = crate::device(threads)?;
        let labels = labels.as_ref().map(|l| l.as_array().to_vec());
        let data = ScoreData {
            train: None,
            validation: (validation.as_array(), labels.as_deref()),
            test: None,
        };
        let (model, config) = (&self.model, &self.config);
        let scores = py
            .detach(|| {
                bpdl::sweep::score_model(&dev, model, config, score, (samples, false), &data)
            })
            .map_err(to_pyerr)?;
        Ok(scores.validation)
    }

    /// `maximize` or `minimize` for a score's name (Optuna's `direction`); an unknown name
    /// raises `bpdl.ConfigError` naming the valid ones.
    #[staticmethod]
    fn score_direction(score: &str) -> PyResult<&'static str> {
        let score: Score = score.parse().map_err(to_pyerr)?;
        Ok(score.direction())
    }

    /// The names of the scores, in the CLI's order.
    #[staticmethod]
    fn score_names() -> Vec<&'static str> {
        Score::ALL.iter().map(|s| s.name()).collect()
    }

    /// `{name: array}` of the model's tensors (copies), with the checkpoint's names.
    fn state_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, t) in checkpoint::model_tensors(&self.model) {
            match t {
                checkpoint::ModelTensor::Matrix(m) => {
                    d.set_item(name, m.to_owned().into_pyarray(py))?
                }
                checkpoint::ModelTensor::Vector(v) => {
                    let a: Bound<'py, PyArray1<f32>> = v.to_owned().into_pyarray(py);
                    d.set_item(name, a)?
                }
            }
        }
        Ok(d)
    }
}
