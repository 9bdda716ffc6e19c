//! The native module `bpdl._bpdl` behind the Python package `bpdl` (`bindings/python/python/bpdl`).
//!
//! A thin front over the library, like the CLI: every function converts its arguments, releases
//! the GIL around the library call (`Python::detach`) and converts the result. Arrays come in as
//! borrowed numpy views (`PyReadonlyArray2::as_array`, no copy) and go out as owned arrays moved
//! into numpy (`IntoPyArray`, no copy). Structured results cross as JSON text, which the Python
//! layer turns into dataclasses; errors become the exceptions of `bpdl.errors`
//! (`errors::to_pyerr`). The public, documented API is the Python package; this module is
//! private.

use pyo3::prelude::*;

mod config;
mod data;
mod errors;
mod model;
mod stdp;
mod train;

/// The native module.
#[pymodule]
fn _bpdl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("GIT_COMMIT", env!("BPDL_GIT_COMMIT"))?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(data::parzen_ll, m)?)?;
    m.add_function(wrap_pyfunction!(stdp::stdp_window, m)?)?;
    m.add_function(wrap_pyfunction!(stdp::stdp_config, m)?)?;
    Ok(())
}

/// A device with `threads` worker threads (0 = one per core). Devices are kept for the life of
/// the process, one per thread count, so a short call does not start a thread pool (their idle
/// threads sleep).
fn device(threads: usize) -> PyResult<bpdl::Device> {
    static DEVICES: std::sync::Mutex<Vec<(usize, bpdl::Device)>> =
        std::sync::Mutex::new(Vec::new());
    let mut devices = DEVICES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, d)) = devices.iter().find(|(t, _)| *t == threads) {
        return Ok(d.clone());
    }
    let d = bpdl::Device::cpu(threads).map_err(errors::to_pyerr)?;
    devices.push((threads, d.clone()));
    Ok(d)
}

/// Serialises a library result for the Python layer.
fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("serialising: {e}")))
}
