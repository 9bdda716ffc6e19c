//! `bpdl data check` and `bpdl data fetch`.

use anyhow::{Result, bail};
use bpdl::data::{Dataset, Mnist, mnist};
use clap::Subcommand;

use crate::Global;
use crate::common;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Read the dataset, validate it and print per split the count and mean pixel, and the MD5
    /// of each file against the official one.
    Check {
        /// `mnist` or `fashion-mnist`.
        #[arg(long, default_value = "mnist")]
        dataset: Dataset,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download the four official files from the public mirrors into ./data/<dataset>/ (or
    /// --data-dir) and verify their MD5s.
    Fetch {
        /// `mnist` or `fashion-mnist`.
        #[arg(long, default_value = "mnist")]
        dataset: Dataset,
    },
}

pub fn run(global: &Global, action: &DataCommand) -> Result<()> {
    match action {
        DataCommand::Check { dataset, json } => check(global, *dataset, *json),
        DataCommand::Fetch { dataset } => {
            let dir = global
                .data_dir
                .clone()
                .unwrap_or_else(|| mnist::default_dir(*dataset));
            if global.offline {
                bail!(
                    "--offline: not downloading; put the four official {dataset} files in {}",
                    dir.display()
                );
            }
            crate::download::fetch(*dataset, &dir)
        }
    }
}

fn check(global: &Global, dataset: Dataset, json: bool) -> Result<()> {
    let data: Mnist = common::load_dataset(global, dataset)?;
    let report = bpdl::data::check::check(&data)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} in {} ({}×{} images)",
        report.dataset, report.dir, report.image_shape[0], report.image_shape[1]
    );
    println!("{:<11} {:>7} {:>11}", "split", "count", "mean pixel");
    for name in ["train", "validation", "test"] {
        let s = &report.splits[name];
        println!("{:<11} {:>7} {:>11.5}", name, s.count, s.mean_pixel);
    }
    println!();
    for (name, f) in &report.files {
        let verdict = if f.official {
            "official".to_string()
        } else {
            format!("differs from the official {}", f.official_md5)
        };
        println!("{name:<28} md5 {}  {verdict}", f.md5);
    }
    if report.files.values().any(|f| !f.official) {
        println!(
            "\nsome files differ from the official release (a repackaged copy, e.g. Debian's, \
             has other gzip headers); their contents were validated as IDX"
        );
    }
    Ok(())
}
