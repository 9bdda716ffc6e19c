//! Datasets as numpy arrays ([`bpdl::data::Mnist`]) and the Parzen-window estimate
//! ([`bpdl::eval::parzen::evaluate`]).

use std::path::PathBuf;

use bpdl::data::{Dataset, Mnist, mnist};
use bpdl::eval::parzen;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::{to_pyerr, value_error};

/// The arrays of a dataset's three splits, moved into numpy.
type Splits<'py> = (
    (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<u8>>),
    (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<u8>>),
    (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<u8>>),
    PathBuf,
    (usize, usize),
);

/// Loads `name` ("mnist" or "fashion-mnist") from `data_dir` (default: `$BPDL_DATA_DIR`, then
/// the usual folders), holding out the last `validation` training images. Never downloads.
#[pyfunction]
#[pyo3(signature = (name, data_dir=None, validation=10_000))]
pub fn load_dataset<'py>(
    py: Python<'py>,
    name: &str,
    data_dir: Option<PathBuf>,
    validation: usize,
) -> PyResult<Splits<'py>> {
    let dataset: Dataset = name.parse().map_err(to_pyerr)?;
    let dir = mnist::resolve_dir(dataset, data_dir.as_deref());
    let data = py
        .detach(|| Mnist::load_with_validation(dataset, &dir, validation))
        .map_err(to_pyerr)?;
    let shape = data.image_shape;
    let split = |s: bpdl::data::Split| (s.images.into_pyarray(py), s.labels.into_pyarray(py));
    Ok((
        split(data.train),
        split(data.validation),
        split(data.test),
        data.dir,
        shape,
    ))
}

/// The Parzen-window log-likelihood of `samples` on `test` (JSON: mean, se, sigma,
/// validation_curve); σ chosen on `validation` unless given.
#[pyfunction]
#[pyo3(signature = (samples, test, validation=None, sigma=None, threads=0))]
pub fn parzen_ll(
    py: Python<'_>,
    samples: PyReadonlyArray2<'_, f32>,
    test: PyReadonlyArray2<'_, f32>,
    validation: Option<PyReadonlyArray2<'_, f32>>,
    sigma: Option<f64>,
    threads: usize,
) -> PyResult<String> {
    let (samples, test) = (samples.as_array(), test.as_array());
    let validation = validation.as_ref().map(|v| v.as_array());
    let validation = match (validation, sigma) {
        (Some(v), _) => v,
        (None, Some(_)) => test.slice_move(ndarray::s![..0, ..]),
        (None, None) => {
            return value_error(
                "parzen_ll needs validation images to choose σ (validation=...) or a fixed sigma",
            );
        }
    };
    let dev = crate::device(threads)?;
    let (score, curve) = py
        .detach(|| parzen::evaluate(&dev, samples, validation, test, sigma))
        .map_err(to_pyerr)?;
    crate::to_json(&serde_json::json!({
        "mean": score.mean,
        "se": score.se,
        "sigma": score.sigma,
        "validation_curve": curve,
        "n_samples": samples.nrows(),
        "n_test": test.nrows(),
    }))
}
