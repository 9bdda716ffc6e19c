//! Run folders: every command that produces results writes, beside them, the resolved config
//! (`config.toml`), what produced it (`run.json`: bpdl version, git commit, seed, threads,
//! command line) and its metrics as JSON lines (`metrics.jsonl`).
//!
//! [`train_in_dir`] trains into such a folder, continuing the checkpoint there if there is one,
//! and also writes TensorBoard event files into its `tb/` ([`tensorboard`]; `metrics.jsonl`
//! stays the canonical record).
//!
//! Files are written atomically (a temporary file in the same folder, then a rename), so an
//! interrupted run never leaves a half-written checkpoint or report behind, and nothing already
//! saved is lost.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::EpochMetrics;

pub mod lock;
pub mod tensorboard;
mod train_in_dir;

pub use train_in_dir::{
    Existing, RunObserver, TrainPlan, Trained, TrainingData, check_images, saved_config,
    train_in_dir,
};

/// What produced a run: filled in by the binary (the library cannot know its own git commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The bpdl version (`CARGO_PKG_VERSION`).
    pub bpdl_version: String,
    /// The git commit the binary was built from (`unknown` outside a checkout).
    pub git_commit: String,
    /// The command line.
    pub command: String,
}

/// `run.json`: provenance plus the run's seed and thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// What produced it.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The master seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Seconds since the Unix epoch when the run started (metadata only, never a seed).
    pub started_unix_s: u64,
}

impl RunInfo {
    /// The `run.json` of a run starting now.
    pub fn new(provenance: Provenance, seed: u64, threads: usize) -> Self {
        Self {
            provenance,
            seed,
            threads,
            started_unix_s: unix_now(),
        }
    }
}

/// An output folder being written.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    /// Opened for append on the first record, so a run that logs nothing leaves no empty file.
    metrics: Option<File>,
}

/// The file names inside a run folder.
pub mod files {
    /// The resolved configuration.
    pub const CONFIG: &str = "config.toml";
    /// Provenance, seed, threads.
    pub const INFO: &str = "run.json";
    /// One JSON object per line.
    pub const METRICS: &str = "metrics.jsonl";
    /// The folder of TensorBoard event files ([`super::tensorboard`]).
    pub const TENSORBOARD: &str = "tb";
}

impl RunDir {
    /// Creates (or reuses) `path` and writes `config.toml` and `run.json` into it.
    pub fn create(path: &Path, config_toml: &str, info: &RunInfo) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|e| {
            Error::io_hint(
                path,
                "creating the output folder",
                e,
                "choose another output folder",
            )
        })?;
        write_atomic(&path.join(files::CONFIG), config_toml.as_bytes())?;
        write_json(&path.join(files::INFO), info)?;
        Self::open(path)
    }

    /// Opens an existing run folder to append metrics (when a run resumes); `metrics.jsonl` is
    /// opened (and created if missing) when the first record is logged.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            metrics: None,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one JSON line to `metrics.jsonl` and flushes it.
    pub fn log<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record).map_err(|e| Error::BadFile {
            path: self.path.join(files::METRICS),
            problem: format!("cannot serialise a metrics record: {e}"),
            hint: "report this as a bug".into(),
        })?;
        line.push('\n');
        let p = self.path.join(files::METRICS);
        let file = match &mut self.metrics {
            Some(f) => f,
            None => self.metrics.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)
                    .map_err(|e| {
                        let hint = write_hint(&e);
                        Error::io_hint(&p, "opening for append", e, hint)
                    })?,
            ),
        };
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| {
                let hint = write_hint(&e);
                Error::io_hint(p, "appending", e, hint)
            })
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, |f, b| f.write_all(b))
}

/// What to try after a failed write: for a full disk (ENOSPC, or a quota), says so.
pub(crate) fn write_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "the disk is full: free some space on it (or choose another output folder) and \
             run again (`--resume` continues a training run); what was saved before is intact"
        }
        _ => "",
    }
}

/// [`write_atomic`] with the bytes written by `write` (a test injects faults here).
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating the directory", e))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    // unique per process and per call, so concurrent writers never share a temporary file
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.tmp{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        write(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // make the rename itself durable (best effort: not every platform can open a folder)
        if let Some(dir) = dir
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        let hint = write_hint(&e);
        Error::io_hint(path, "writing", e, hint)
    })
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("cannot serialise: {e}"),
        hint: "report this as a bug".into(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads `run.json` from a run folder.
pub fn read_info(dir: &Path) -> Result<RunInfo> {
    let p = dir.join(files::INFO);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        Error::io_hint(
            &p,
            "reading",
            e,
            "is this a run folder (one that holds run.json)?",
        )
    })?;
    parse_info(&p, &text)
}

/// Parses the text of a `run.json` (`path` only names it in errors).
pub fn parse_info(path: &Path, text: &str) -> Result<RunInfo> {
    serde_json::from_str(text).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("not a valid run.json: {e}"),
        hint: "the run folder is damaged; train again".into(),
    })
}

/// The epoch records of a run folder's `metrics.jsonl`, in order; none when the file does not
/// exist yet. A line that is not an epoch record is an error naming the file and the line.
pub fn read_metrics(dir: &Path) -> Result<Vec<EpochMetrics>> {
    let p = dir.join(files::METRICS);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&p, "reading", e)),
    };
    parse_metrics(&p, &text)
}

/// Parses the text of a `metrics.jsonl` (`path` only names it in errors): one epoch record
/// per line.
pub fn parse_metrics(path: &Path, text: &str) -> Result<Vec<EpochMetrics>> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("line {} is not an epoch record: {e}", i + 1),
                hint: "the run folder is damaged; train again".into(),
            })
        })
        .collect()
}

/// The machine in words, `"<CPU model>, <n> cores"` from `/proc/cpuinfo` (`"unknown machine"`
/// where that cannot be read).
pub fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            let name = t
                .lines()
                .find(|l| l.starts_with("model name"))?
                .split(':')
                .nth(1)?
                .trim()
                .to_string();
            let cores = t.lines().filter(|l| l.starts_with("processor")).count();
            Some(format!("{name}, {cores} cores"))
        })
        .unwrap_or_else(|| "unknown machine".into())
}

/// The current UTC time as `YYYYmmdd-HHMMSS` (for default output folder names).
pub fn timestamp() -> String {
    let (y, m, d, h, min, s) = civil(unix_now());
    format!("{y:04}{m:02}{d:02}-{h:02}{min:02}{s:02}")
}

/// `secs` since the Unix epoch as `YYYY-mm-dd HH:MM:SS UTC`.
pub fn utc_time(secs: u64) -> String {
    let (y, m, d, h, min, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02} UTC")
}

/// (year, month, day, hour, minute, second) in UTC of `secs` since the Unix epoch.
fn civil(secs: u64) -> (i64, i64, i64, u64, u64, u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil-from-days (H. Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `args` as one shell command line that can be pasted back: the program as `bpdl` (not the
/// path it was started from), every argument that is not plainly safe single-quoted.
///
/// ```
/// let c = bpdl::run::shell_command(["/x/target/debug/bpdl", "train", "--set", "a=it's 1"]);
/// assert_eq!(c, r#"bpdl train --set 'a=it'\''s 1'"#);
/// ```
pub fn shell_command<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                "bpdl".to_string()
            } else {
                shell_quote(a.as_ref())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `a` as one shell word: as it is when plainly safe, else single-quoted.
///
/// ```
/// assert_eq!(bpdl::run::shell_quote("runs/a"), "runs/a");
/// assert_eq!(bpdl::run::shell_quote("it's"), r"'it'\''s'");
/// ```
pub fn shell_quote(a: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !a.is_empty() && a.chars().all(safe) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `unknown`).
pub fn machine_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Seconds since the Unix epoch (for metadata).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails for lack of space (injected: the same path as a real full disk,
    /// ENOSPC from `write`) keeps the previous file whole, leaves no temporary file behind, and
    /// says the disk is full, naming the file.
    #[test]
    fn a_full_disk_keeps_the_previous_file_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        write_atomic(&path, b"the previous checkpoint").unwrap();
        let err = write_atomic_with(&path, &[7u8; 4096], |f, b| {
            f.write_all(&b[..1000])?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("checkpoint.safetensors") && msg.contains("disk is full"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"the previous checkpoint");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary file was left behind: {left:?}");
        // another error says nothing about disks
        let err = write_atomic_with(&path, b"x", |_, _| Err(std::io::ErrorKind::Other.into()));
        assert!(!err.unwrap_err().to_string().contains("disk is full"));
    }

    #[test]
    fn atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"first version, long").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_run_folder_holds_config_info_and_metric_lines() {
        let dir = tempfile::tempdir().unwrap();
        let info = RunInfo {
            provenance: Provenance {
                bpdl_version: "0.1.0".into(),
                git_commit: "abc".into(),
                command: "bpdl test".into(),
            },
            seed: 5,
            threads: 2,
            started_unix_s: 0,
        };
        let mut run = RunDir::create(dir.path(), "seed = 5\n", &info).unwrap();
        // nothing logged yet: no empty metrics file
        assert!(!dir.path().join(files::METRICS).exists());
        run.log(&serde_json::json!({"epoch": 1})).unwrap();
        run.log(&serde_json::json!({"epoch": 2})).unwrap();
        let lines = std::fs::read_to_string(dir.path().join(files::METRICS)).unwrap();
        assert_eq!(lines.lines().count(), 2);
        assert_eq!(read_info(dir.path()).unwrap(), info);
    }
}
