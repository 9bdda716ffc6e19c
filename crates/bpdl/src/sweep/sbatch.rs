//! `S/sweep.sbatch`: a Slurm job array with one task per trial (`--array=0-(N−1)%P`), each task
//! running `bpdl sweep run S --trial $SLURM_ARRAY_TASK_ID` with `$SLURM_CPUS_PER_TASK` threads.
//! Slurm is the engine: bpdl schedules nothing itself. Since a finished trial is a no-op and a
//! killed one resumes from its checkpoint, the script may be submitted again as it is (after a
//! time limit, a preemption or a failed node) and only the unfinished trials do work.

use std::path::{Path, PathBuf};

use super::plan::Sweep;
use crate::error::Result;
use crate::run::{shell_quote, write_atomic};

/// The script's file name in the sweep folder.
pub const FILE_NAME: &str = "sweep.sbatch";

/// The resources and the binary of the job array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmOptions {
    /// The `bpdl` binary every task runs (an absolute path on a file system the nodes share).
    pub bpdl: PathBuf,
    /// At most this many tasks at once (`%P` of `--array`; 0: no limit).
    pub parallel: usize,
    /// `--cpus-per-task` (also each trial's `--threads`).
    pub cpus_per_task: usize,
    /// `--mem`, e.g. `8G`.
    pub mem: String,
    /// `--time`, e.g. `04:00:00`.
    pub time: String,
    /// `--partition` (absent: the cluster's default).
    pub partition: Option<String>,
    /// `--job-name`.
    pub job_name: String,
    /// Pass `--offline` to every trial (never download data on a compute node).
    pub offline: bool,
}

impl SlurmOptions {
    /// Defaults for `bpdl`: 2 CPUs, 8 GB and 4 hours a trial (a full paper-size run takes
    /// 10–40 minutes on 2 cores), no limit on parallel tasks, `--offline`.
    pub fn new(bpdl: PathBuf) -> Self {
        Self {
            bpdl,
            parallel: 0,
            cpus_per_task: 2,
            mem: "8G".into(),
            time: "04:00:00".into(),
            partition: None,
            job_name: "bpdl-sweep".into(),
            offline: true,
        }
    }
}

/// The job-array script of `sweep` (an absolute sweep folder is best: the tasks may start in
/// another working directory).
pub fn script(sweep: &Sweep, o: &SlurmOptions) -> String {
    let dir = absolute(&sweep.dir);
    let last = sweep.trials.len().saturating_sub(1);
    let limit = if o.parallel > 0 {
        format!("%{}", o.parallel)
    } else {
        String::new()
    };
    let q = |p: &Path| shell_quote(&p.to_string_lossy());
    let mut s = String::from("#!/bin/bash\n");
    s += &format!(
        "# bpdl sweep: {} trials ({} settings × {} seeds), one job-array task each.\n",
        sweep.trials.len(),
        sweep.trials.len() / sweep.spec.seeds.max(1),
        sweep.spec.seeds
    );
    s += "# Submit with `sbatch sweep.sbatch`; submitting again reruns only unfinished trials.\n";
    s += "# Then `bpdl sweep collect` on this folder ranks the settings.\n";
    s += &format!("#SBATCH --job-name={}\n", o.job_name);
    s += &format!("#SBATCH --array=0-{last}{limit}\n");
    s += &format!("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
    s += &format!("#SBATCH --mem={}\n", o.mem);
    s += &format!("#SBATCH --time={}\n", o.time);
    if let Some(p) = &o.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    s += &format!(
        "#SBATCH --output={}\n",
        dir.join("logs").join("%A_%a.out").display()
    );
    s += "set -euo pipefail\n";
    s += ": \"${SLURM_ARRAY_TASK_ID:?this script runs one trial per Slurm array task}\"\n";
    let mut cmd = vec![
        q(&o.bpdl),
        format!(
            "--threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
            o.cpus_per_task
        ),
    ];
    if let Some(d) = &sweep.spec.data_dir {
        cmd.push(format!("--data-dir {}", q(&absolute(d))));
    }
    if o.offline {
        cmd.push("--offline".into());
    }
    cmd.push(format!(
        "sweep run {} --trial \"$SLURM_ARRAY_TASK_ID\"",
        q(&dir)
    ));
    s += &format!("exec {}\n", cmd.join(" "));
    s
}

/// Writes [`script`] to `S/sweep.sbatch` (atomically, executable on Unix) and returns its path.
pub fn write(sweep: &Sweep, o: &SlurmOptions) -> Result<PathBuf> {
    let path = sweep.dir.join(FILE_NAME);
    // Slurm opens each task's --output file before the script runs: the folder must exist
    let logs = sweep.dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| crate::Error::io(&logs, "creating the sweep's log folder", e))?;
    write_atomic(&path, script(sweep, o).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
    }
    Ok(path)
}

/// `p` made absolute against the working directory (left as it is when that fails).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
