//! One process per run folder: an advisory lock on `RUN/.lock` (the operating system's file
//! lock, `flock` on Unix) held for as long as a process trains there. The file holds the
//! holder's PID, host, command and start time, so a second process is refused at once with a
//! message naming the first. The kernel releases the lock when its holder exits, however it
//! exits (`kill -9` included), so a lock left by a dead process is never stale: the next process
//! simply takes it. The file itself is kept (deleting a lock file races with a process that is
//! about to lock it).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name inside a run folder.
pub const FILE_NAME: &str = ".lock";

/// A held lock on a run folder; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    /// Kept open: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Locks the run folder `dir` (which must exist) for this process, recording `command` as
    /// what holds it. Fails with [`Error::RunLocked`] naming the holder when another process
    /// (or another lock in this process) holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, "opening the run folder's lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // best effort: the holder wrote its description when it took the lock
                let _ = file.read_to_string(&mut holder);
                return Err(Error::RunLocked {
                    dir: dir.to_path_buf(),
                    holder: describe(&holder),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io_hint(
                    &path,
                    "locking the run folder",
                    e,
                    "the file system may not support locks",
                ));
            }
        }
        let record = format!(
            "pid {}\nhost {}\ncommand {}\nstarted_unix_s {}\n",
            std::process::id(),
            super::machine_host(),
            command.replace('\n', " "),
            super::unix_now()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(record.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(|e| Error::io(&path, "writing the lock file", e))?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// "PID 1234 on host-a (`bpdl train …`, started 2026-12-02 06:40:00 UTC)" from the lock file's
/// text, or a plain phrase when it cannot be read.
fn describe(text: &str) -> String {
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .filter(|v| !v.is_empty())
    };
    match field("pid ") {
        Some(pid) => {
            let mut s = format!("PID {pid}");
            if let Some(host) = field("host ") {
                s.push_str(&format!(" on {host}"));
            }
            if let Some(cmd) = field("command ") {
                s.push_str(&format!(" (`{cmd}`"));
                if let Some(t) = field("started_unix_s ").and_then(|t| t.parse::<u64>().ok()) {
                    s.push_str(&format!(", started {}", super::utc_time(t)));
                }
                s.push(')');
            }
            s
        }
        None => "another process (its lock file names none)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_a_released_lock_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "bpdl train --out X").unwrap();
        match RunLock::acquire(dir.path(), "bpdl train --resume X") {
            Err(Error::RunLocked { dir: d, holder }) => {
                assert_eq!(d, dir.path());
                assert!(
                    holder.contains(&format!("PID {}", std::process::id())),
                    "{holder}"
                );
                assert!(holder.contains("`bpdl train --out X`"), "{holder}");
            }
            other => panic!("expected RunLocked, got {other:?}"),
        }
        drop(first);
        let again = RunLock::acquire(dir.path(), "third").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert!(
            text.contains("command third") && !text.contains("--out X"),
            "{text}"
        );
    }

    #[test]
    fn a_lock_file_from_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        // what a process killed with SIGKILL leaves: the file, with no lock on it
        std::fs::write(
            dir.path().join(FILE_NAME),
            "pid 999999\nhost h\ncommand old\n",
        )
        .unwrap();
        let lock = RunLock::acquire(dir.path(), "new").unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid {}\n", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn the_holder_is_described_from_whatever_the_file_holds() {
        assert_eq!(describe(""), "another process (its lock file names none)");
        assert_eq!(describe("pid 7\n"), "PID 7");
        let d = describe("pid 7\nhost a\ncommand bpdl x\nstarted_unix_s 0\n");
        assert_eq!(d, "PID 7 on a (`bpdl x`, started 1970-01-01 00:00:00 UTC)");
    }
}
