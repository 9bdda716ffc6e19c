//! `bpdl.stdp`'s native half: the paper's Fig. 1 window ([`bpdl::spiking::run`]).

use std::path::PathBuf;

use bpdl::spiking::StdpConfig;
use pyo3::prelude::*;

use crate::errors::to_pyerr;

fn resolve(path: Option<PathBuf>, overrides: &[String]) -> PyResult<StdpConfig> {
    bpdl::config::resolve(path.as_deref(), overrides).map_err(to_pyerr)
}

/// The resolved STDP configuration as TOML (checks every key and value).
#[pyfunction]
#[pyo3(signature = (path=None, overrides=Vec::new()))]
pub fn stdp_config(path: Option<PathBuf>, overrides: Vec<String>) -> PyResult<String> {
    bpdl::config::to_toml_string(&resolve(path, &overrides)?).map_err(to_pyerr)
}

/// Runs the STDP experiment of `bpdl stdp` (JSON of `bpdl::spiking::StdpReport`).
#[pyfunction]
#[pyo3(signature = (path=None, overrides=Vec::new(), threads=0))]
pub fn stdp_window(
    py: Python<'_>,
    path: Option<PathBuf>,
    overrides: Vec<String>,
    threads: usize,
) -> PyResult<String> {
    let cfg = resolve(path, &overrides)?;
    let dev = crate::device(threads)?;
    let report = py
        .detach(|| bpdl::spiking::run(&dev, &cfg))
        .map_err(to_pyerr)?;
    crate::to_json(&report)
}
