//! bpdl's errors as Python exceptions (the classes live in `bpdl/errors.py`, where they are
//! documented and pickle):
//!
//! | `bpdl::Error` | Python |
//! |---|---|
//! | `Io` | `OSError` built from the OS error number, so `FileNotFoundError`, `PermissionError`, … |
//! | `Config`, `Usage` | `bpdl.ConfigError(ValueError)` (`.key` names the key) |
//! | `BadMagic`, `BadLength`, `BadFile`, `Mismatch`, `DataMissing` | `bpdl.DataError(ValueError)` |
//! | `Shape` | `ValueError` |
//! | `NonFinite` | `bpdl.DivergedError(FloatingPointError)` |
//! | `Checkpoint` | `bpdl.CheckpointError(OSError)` |
//! | `RunLocked` | `bpdl.RunLockedError(OSError)` (another process trains in the folder) |
//! | `RunExists` | `FileExistsError` (a fresh run into a folder that holds one) |
//! | `EvalClassifier` | `RuntimeError` |
//! | `Interrupted` | `KeyboardInterrupt` (the caller normally re-raises what interrupted it) |

use bpdl::Error;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
    PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;

/// The Python exception for a library error.
pub fn to_pyerr(e: Error) -> PyErr {
    Python::attach(|py| convert(py, e))
}

fn convert(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    let path_of = |p: &std::path::Path| p.display().to_string();
    match &e {
        Error::Io { path, source, .. } => match source.raw_os_error() {
            // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...)
            Some(errno) => PyOSError::new_err((errno, msg, path_of(path))),
            None => match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
                _ => PyOSError::new_err(msg),
            },
        },
        Error::Config { key, .. } => bpdl_error(py, "ConfigError", msg, Some(key.clone())),
        Error::Usage(_) => bpdl_error(py, "ConfigError", msg, None),
        Error::BadMagic { path, .. }
        | Error::BadLength { path, .. }
        | Error::BadFile { path, .. } => bpdl_error(py, "DataError", msg, Some(path_of(path))),
        Error::Mismatch { .. } | Error::DataMissing(_) => bpdl_error(py, "DataError", msg, None),
        Error::Shape { .. } => PyValueError::new_err(msg),
        Error::NonFinite { .. } => bpdl_error(py, "DivergedError", msg, None),
        Error::Checkpoint { path, .. } => {
            bpdl_error(py, "CheckpointError", msg, Some(path_of(path)))
        }
        Error::RunLocked { dir, .. } => bpdl_error(py, "RunLockedError", msg, Some(path_of(dir))),
        Error::RunExists { dir, .. } => PyFileExistsError::new_err((17, msg, path_of(dir))),
        Error::EvalClassifier { .. } => PyRuntimeError::new_err(msg),
        Error::Interrupted(_) => PyKeyboardInterrupt::new_err(msg),
        // a variant added to the library later: still an error, never a panic
        #[allow(unreachable_patterns)]
        _ => PyRuntimeError::new_err(msg),
    }
}

/// An instance of `bpdl.errors.<class>(message, detail)` (`detail`: the key or the file); if
/// that module cannot be imported (a broken installation) the import error.
fn bpdl_error(py: Python<'_>, class: &str, message: String, detail: Option<String>) -> PyErr {
    let built = py
        .import("bpdl.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message, detail)));
    match built {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_error) => import_error,
    }
}

/// `Err(ValueError(message))`.
pub fn value_error<T>(message: impl Into<String>) -> PyResult<T> {
    Err(PyValueError::new_err(message.into()))
}
