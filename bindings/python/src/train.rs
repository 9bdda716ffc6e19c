//! `bpdl.train`'s native half: [`bpdl::run::train_in_dir`] on numpy arrays with the GIL
//! released. Training runs on a worker thread while the calling thread waits with the GIL
//! released, waking every 20 ms to let Python handle signals: a Ctrl-C (or any signal handler
//! that raises) sets a flag that stops training at the next minibatch, the checkpoint of the
//! last finished epoch stays in the run folder, and the exception is raised in the caller.
//! `on_epoch(metrics: dict)` is called after every epoch (once its checkpoint is saved); if it
//! raises, training stops there and its exception propagates.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bpdl::run::{Existing, Provenance, RunObserver, TrainingData};
use bpdl::train::EpochMetrics;
use bpdl::{Config, Error};
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::config::PyConfig;
use crate::errors::to_pyerr;
use crate::model::PyModel;

/// Stops training when asked and hands each epoch's metrics to the Python callback.
struct Observer<'a> {
    on_epoch: Option<Py<PyAny>>,
    stop: &'a AtomicBool,
    callback_error: Option<PyErr>,
}

impl RunObserver for Observer<'_> {
    fn minibatch_done(
        &mut self,
        epoch: usize,
        done: usize,
        total: usize,
        _running: &dyn Fn() -> EpochMetrics,
    ) -> bpdl::Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted(format!(
                "training interrupted in epoch {epoch} at minibatch {done} of {total}; the \
                 checkpoint of the last finished epoch is kept"
            )));
        }
        Ok(())
    }

    fn epoch_done(&mut self, metrics: &EpochMetrics, _config: &Config) -> bpdl::Result<()> {
        let Some(callback) = &self.on_epoch else {
            return Ok(());
        };
        let json = serde_json::to_string(metrics).map_err(|e| {
            Error::Interrupted(format!("the epoch's metrics cannot be serialised: {e}"))
        })?;
        let called = Python::attach(|py| -> PyResult<()> {
            let dict = py.import("json")?.call_method1("loads", (json,))?;
            callback.call1(py, (dict,))?;
            Ok(())
        });
        called.map_err(|e| {
            self.callback_error = Some(e);
            Error::Interrupted(format!(
                "on_epoch raised after epoch {}; that epoch is saved",
                metrics.epoch
            ))
        })
    }
}

/// Trains `config` on the rows of `x` into the run folder `out`.
#[pyfunction]
#[pyo3(signature = (config, x, out, validation=None, threads=0, on_epoch=None, resume=false, command=String::new(), labels=None, validation_labels=None))]
#[allow(clippy::too_many_arguments)] // a Python signature of keyword arguments
pub fn train(
    py: Python<'_>,
    config: PyRef<'_, PyConfig>,
    x: PyReadonlyArray2<'_, f32>,
    out: PathBuf,
    validation: Option<PyReadonlyArray2<'_, f32>>,
    threads: usize,
    on_epoch: Option<Py<PyAny>>,
    resume: bool,
    command: String,
    labels: Option<PyReadonlyArray1<'_, u8>>,
    validation_labels: Option<PyReadonlyArray1<'_, u8>>,
) -> PyResult<PyModel> {
    let config = config.inner.clone();
    let dev = crate::device(threads)?;
    let validation = validation.as_ref().map(|v| v.as_array());
    let mut data = TrainingData::from_arrays(x.as_array(), validation).map_err(to_pyerr)?;
    let (labels, validation_labels) = (
        labels.as_ref().map(|l| l.as_array().to_vec()),
        validation_labels.as_ref().map(|l| l.as_array().to_vec()),
    );
    data.train_labels = labels.as_deref();
    data.validation_labels = validation_labels.as_deref();
    let provenance = Provenance {
        bpdl_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("BPDL_GIT_COMMIT").to_string(),
        command: if command.is_empty() {
            "python: bpdl.train".into()
        } else {
            command
        },
    };
    let stop = AtomicBool::new(false);
    let mut observer = Observer {
        on_epoch,
        stop: &stop,
        callback_error: None,
    };
    let mut signal_error: Option<PyErr> = None;
    let outcome = py.detach(|| {
        std::thread::scope(|s| {
            let worker = s.spawn(|| {
                let existing = if resume {
                    Existing::Continue
                } else {
                    Existing::Refuse
                };
                let (dir, obs) = (&out, &mut observer);
                bpdl::run::train_in_dir(&dev, &config, &data, dir, &provenance, existing, obs)
            });
            while !worker.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
                if signal_error.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    signal_error = Some(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
            worker.join()
        })
    });
    if let Some(e) = signal_error {
        return Err(e);
    }
    let trained = match outcome {
        Ok(result) => result,
        Err(_) => return Err(PyRuntimeError::new_err("bpdl: training panicked (a bug)")),
    };
    match trained {
        Ok(t) => Ok(PyModel {
            model: t.state.model,
            config,
            run_dir: Some(out),
        }),
        Err(e) => Err(observer
            .callback_error
            .take()
            .unwrap_or_else(|| to_pyerr(e))),
    }
}
