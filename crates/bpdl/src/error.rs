//! The library's one error type.
//!
//! Every variant carries the values that were wrong (the file, the key, the number found) and its
//! message says what to do about it. The library never panics on user input: bad files, bad
//! configs and numerical blow-ups all come back as an [`Error`].

use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, bpdl::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in bpdl, grouped by where it comes from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // === Files and data ===
    /// A file or directory could not be read or written.
    #[error("{path}: {action} failed: {source}{hint}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done ("reading", "creating the directory", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
        /// What to try, already formatted (may be empty).
        hint: String,
    },
    /// An IDX file does not start with the magic number its name promises.
    #[error(
        "{path}: not an IDX {kind} file: magic number is 0x{found:08x}, expected 0x{expected:08x}; \
         the file is corrupt or not MNIST data: replace it with the official file"
    )]
    BadMagic {
        /// The file read.
        path: PathBuf,
        /// "images" or "labels".
        kind: &'static str,
        /// The magic number the file should have.
        expected: u32,
        /// The magic number it has.
        found: u32,
    },
    /// An IDX file's payload is shorter or longer than its header says.
    #[error(
        "{path}: the header announces {expected} payload bytes but the file holds {found}; \
         the file is truncated or has trailing data: replace it with the official file"
    )]
    BadLength {
        /// The file read.
        path: PathBuf,
        /// Bytes promised by the header.
        expected: u64,
        /// Bytes found (for a longer file, at least this many).
        found: u64,
    },
    /// A file whose content does not follow its format (bad dimensions, bad gzip stream, ...).
    #[error("{path}: {problem}; {hint}")]
    BadFile {
        /// The file read.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
        /// What to do about it.
        hint: String,
    },
    /// Two files that belong together disagree (image and label counts, image sizes).
    #[error("{what}: {problem}; use the four files of one official release together")]
    Mismatch {
        /// The pair of files concerned.
        what: String,
        /// How they disagree.
        problem: String,
    },
    /// A dataset's files are not in the expected folder.
    #[error("{0}")]
    DataMissing(String),

    // === Configuration ===
    /// A configuration key is unknown, has the wrong type, or is out of range.
    #[error("config key `{key}`: {message}")]
    Config {
        /// The dotted key (`train.epochs`, `model.layers[1].size`).
        key: String,
        /// What is wrong and what values are accepted.
        message: String,
    },
    /// A value given by the caller is malformed (e.g. an override without `=`).
    #[error("{0}")]
    Usage(String),

    // === Numerics ===
    /// Two matrices whose shapes should agree do not.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// The shape it needs.
        expected: String,
        /// The shape it got.
        got: String,
    },
    /// A NaN or infinity appeared during training or inference.
    #[error(
        "non-finite value (NaN or Inf) in {layer} at {step}; the last good checkpoint is kept. \
         Try a smaller learning rate (`learning.lr`), a smaller inference step \
         (`inference.delta`) or less corruption noise"
    )]
    NonFinite {
        /// Which layer or map ("h1", "g1 weights", ...).
        layer: String,
        /// Where in training ("epoch 3, minibatch 120, inference iteration 7").
        step: String,
    },

    /// The evaluation classifier of the sample-quality measures misses its accuracy target, so
    /// its features and class probabilities cannot be trusted to score samples.
    #[error(
        "the {dataset} evaluation classifier reaches {found:.4} {split} accuracy, below the \
         {expected:.2} it must reach before it may score samples; {hint}"
    )]
    EvalClassifier {
        /// The dataset it was trained on.
        dataset: String,
        /// The split measured ("test").
        split: &'static str,
        /// The accuracy measured (a fraction).
        found: f64,
        /// The accuracy required (a fraction).
        expected: f64,
        /// What to try.
        hint: String,
    },

    /// The caller stopped a long computation (Ctrl-C in Python, a callback that raised); what
    /// was saved before is kept.
    #[error("{0}")]
    Interrupted(String),

    // === Checkpoints and run folders ===
    /// Another process is training in the run folder (it holds `RUN/.lock`).
    #[error(
        "{dir}: another bpdl process is training in this run folder: {holder}; wait for it to \
         finish or stop it (a lock held by a process that has exited is released by the system)"
    )]
    RunLocked {
        /// The run folder.
        dir: PathBuf,
        /// The process holding it, in words.
        holder: String,
    },
    /// A fresh run was asked for in a folder that already holds a trained run.
    #[error(
        "{dir} already holds a trained run ({file}); continue it (`bpdl train --resume {dir}`, \
         or `resume=True` in Python) or choose another output folder"
    )]
    RunExists {
        /// The run folder.
        dir: PathBuf,
        /// Its checkpoint file name.
        file: &'static str,
    },
    /// A checkpoint or samples file could not be decoded.
    #[error("{path}: {problem}; {hint}")]
    Checkpoint {
        /// The file read.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What to do about it.
        hint: String,
    },
}

impl Error {
    /// An [`Error::Io`] with no hint.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Self::io_hint(path, action, source, "")
    }

    /// An [`Error::Io`] with a hint on what to try (a leading "; " is added).
    pub fn io_hint(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
        hint: &str,
    ) -> Self {
        let hint = if hint.is_empty() {
            String::new()
        } else {
            format!("; {hint}")
        };
        Self::Io {
            path: path.into(),
            action,
            source,
            hint,
        }
    }

    /// An [`Error::Config`] for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}
