//! What the subcommands share: the config options, provenance, data loading with automatic
//! fetch, and the hints added to library errors when they are printed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bpdl::data::{Dataset, Mnist, mnist};

use crate::Global;

/// `--config` and `--set`, for every command that takes a config.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// TOML config file (defaults otherwise).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. --set train.epochs=5 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Start from a named configuration of the learner: `default` (bpdl's best measured) or
    /// `paper` (the paper's Algorithm 2 literally); --config and --set apply on top.
    #[arg(long)]
    pub preset: Option<bpdl::config::Preset>,
}

impl ConfigArgs {
    /// `--set`, then `--seed` as `seed=N`.
    pub fn overrides(&self, global: &Global) -> Vec<String> {
        let mut o = self.set.clone();
        o.extend(global.seed.map(|s| format!("seed={s}")));
        o
    }

    /// Defaults, `--config`, then the overrides `before`, `--set`, `after`, `--seed`.
    pub fn resolve<T>(&self, global: &Global, before: &[String], after: &[String]) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default + bpdl::config::Validate,
    {
        let mut o = before.to_vec();
        o.extend(self.set.iter().cloned());
        o.extend(after.iter().cloned());
        o.extend(global.seed.map(|s| format!("seed={s}")));
        Ok(bpdl::config::resolve_with_preset(
            self.preset,
            self.config.as_deref(),
            &o,
        )?)
    }
}

/// Version, git commit and command line of this invocation.
pub fn provenance() -> bpdl::run::Provenance {
    bpdl::run::Provenance {
        bpdl_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("BPDL_GIT_COMMIT").to_string(),
        command: bpdl::run::shell_command(std::env::args()),
    }
}

/// Loads a dataset (`--data-dir`, `$BPDL_DATA_DIR`, `./data/<name>`); if its files are missing
/// and `--offline` is not given, fetches them first (saying so on stderr).
pub fn load_dataset(global: &Global, dataset: Dataset) -> Result<Mnist> {
    load_dataset_in(global, dataset, global.data_dir.as_deref())
}

/// [`load_dataset`] from the folder `dir` (else `$BPDL_DATA_DIR`, else `./data/<name>`).
pub fn load_dataset_in(
    global: &Global,
    dataset: Dataset,
    dir: Option<&std::path::Path>,
) -> Result<Mnist> {
    let dir = mnist::resolve_dir(dataset, dir);
    if let Err(missing) = mnist::find_files(dataset, &dir) {
        if global.offline {
            return Err(missing).context("--offline: not downloading");
        }
        eprintln!(
            "{dataset} not found in {} ({missing}); downloading it there now (pass --offline to \
             prevent this)",
            dir.display()
        );
        crate::download::fetch(dataset, &dir)?;
    }
    let spinner = crate::progress::spinner(&format!("reading {dataset} from {}", dir.display()));
    let data = Mnist::load(dataset, &dir)?;
    spinner.finish_and_clear();
    Ok(data)
}

/// The output folder: `--out`, else `default`.
pub fn out_dir(global: &Global, default: &str) -> PathBuf {
    global.out.clone().unwrap_or_else(|| PathBuf::from(default))
}

/// What to try for a library error, in terms of this tool's commands and flags.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use bpdl::Error as E;
    match e.chain().find_map(|c| c.downcast_ref::<bpdl::Error>())? {
        E::BadMagic { .. } | E::BadLength { .. } | E::DataMissing(_) => Some(
            "`bpdl data fetch` downloads the official files; --data-dir or BPDL_DATA_DIR points \
             at a folder that has them",
        ),
        E::BadFile { path, .. } if path.extension().is_some_and(|x| x == "gz") => {
            Some("`bpdl data fetch` downloads the official files again")
        }
        E::Usage(m) if m.contains("top prior") => {
            Some("finish the run's training with `bpdl train --resume DIR`")
        }
        E::Io {
            action: "creating the output folder",
            ..
        } => Some("choose another --out"),
        _ => None,
    }
}
