//! What the subcommands share: provenance, progress bars, data loading with automatic fetch.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use bpdl::data::{Dataset, Mnist, mnist};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Global;

/// Version, git commit and command line of this invocation.
pub fn provenance() -> bpdl::run::Provenance {
    bpdl::run::Provenance {
        bpdl_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("BPDL_GIT_COMMIT").to_string(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }
}

/// The current UTC time as `YYYYmmdd-HHMMSS` (for default output folder names).
pub fn timestamp() -> String {
    let secs = bpdl::run::unix_now();
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
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A progress bar of `len` steps, drawn on stderr only when stdout is a terminal.
pub fn progress(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if !std::io::stdout().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The folder a dataset is read from, following `--data-dir`, `$BPDL_DATA_DIR`, `./data/<name>`.
pub fn data_dir(global: &Global, dataset: Dataset) -> PathBuf {
    mnist::resolve_dir(dataset, global.data_dir.as_deref())
}

/// Loads a dataset; if its files are missing and `--offline` is not given, fetches them first
/// (saying so on stderr).
pub fn load_dataset(global: &Global, dataset: Dataset) -> Result<Mnist> {
    let dir = data_dir(global, dataset);
    if let Err(missing) = mnist::find_files(dataset, &dir) {
        if global.offline {
            return Err(missing).context("--offline: not downloading");
        }
        eprintln!(
            "{dataset} not found in {} ({missing}); downloading it there now (pass --offline to \
             prevent this)",
            dir.display()
        );
        crate::commands::data::fetch(dataset, &dir)?;
    }
    let spinner = spinner(&format!("reading {dataset} from {}", dir.display()));
    let data = Mnist::load(dataset, &dir)?;
    spinner.finish_and_clear();
    Ok(data)
}

/// An indeterminate spinner with a message (hidden when stdout is not a terminal).
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if !std::io::stdout().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// The output folder: `--out`, else `default`.
pub fn out_dir(global: &Global, default: &str) -> PathBuf {
    global.out.clone().unwrap_or_else(|| PathBuf::from(default))
}
