//! `bpdl.Config`'s native half: a validated learner configuration ([`bpdl::Config`]). Every
//! change goes through the library's resolution and validation, so a bad key or value is a
//! `ConfigError` naming it, exactly as on the command line.

use std::path::PathBuf;

use bpdl::Config;
use bpdl::config::{self, Preset};
use pyo3::prelude::*;

use crate::errors::{to_pyerr, value_error};

/// A validated learner configuration.
#[pyclass(name = "Config", module = "bpdl._bpdl")]
#[derive(Clone)]
pub struct PyConfig {
    pub inner: Config,
}

fn preset(name: &str) -> PyResult<Preset> {
    match name {
        "default" => Ok(Preset::Default),
        "paper" => Ok(Preset::Paper),
        other => value_error(format!(
            "unknown preset {other:?}: use \"default\" or \"paper\""
        )),
    }
}

#[pymethods]
impl PyConfig {
    /// A preset: "default" (bpdl's) or "paper" (Algorithm 2 literally).
    #[staticmethod]
    fn preset(name: &str) -> PyResult<Self> {
        Ok(Self {
            inner: preset(name)?.config(),
        })
    }

    /// A TOML file merged over a preset, then `key=value` overrides, validated.
    #[staticmethod]
    #[pyo3(signature = (path, preset_name = "default", overrides = Vec::new()))]
    fn from_toml(path: PathBuf, preset_name: &str, overrides: Vec<String>) -> PyResult<Self> {
        let p = preset(preset_name)?;
        let inner =
            config::resolve_with_preset(Some(p), Some(&path), &overrides).map_err(to_pyerr)?;
        Ok(Self { inner })
    }

    /// A complete configuration from TOML text (as written by `to_toml`), validated.
    #[staticmethod]
    fn from_toml_str(text: &str) -> PyResult<Self> {
        let inner: Config = config::from_toml_str(text).map_err(to_pyerr)?;
        let inner = config::resolve_on(&inner, &[]).map_err(to_pyerr)?;
        Ok(Self { inner })
    }

    /// This configuration with `key=value` overrides applied (TOML values), validated.
    fn with_overrides(&self, overrides: Vec<String>) -> PyResult<Self> {
        let inner = config::resolve_on(&self.inner, &overrides).map_err(to_pyerr)?;
        Ok(Self { inner })
    }

    /// Fails (`bpdl.ConfigError`) when runs of this configuration cannot be scored by `score`
    /// (an unknown name, or `validation-error` without `supervised.enabled`).
    fn check_score(&self, score: &str) -> PyResult<()> {
        let score: bpdl::sweep::Score = score.parse().map_err(to_pyerr)?;
        score.check(&self.inner).map_err(to_pyerr)
    }

    /// The configuration as TOML (the `config.toml` of a run).
    fn to_toml(&self) -> PyResult<String> {
        config::to_toml_string(&self.inner).map_err(to_pyerr)
    }

    /// The configuration as JSON text.
    fn to_json(&self) -> PyResult<String> {
        crate::to_json(&self.inner)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}
