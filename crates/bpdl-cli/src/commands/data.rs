//! `bpdl data check` and `bpdl data fetch`.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bpdl::data::{Dataset, Mnist, mnist};
use clap::Subcommand;
use serde::Serialize;

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
            fetch(*dataset, &dir)
        }
    }
}

#[derive(Serialize)]
struct SplitReport {
    count: usize,
    mean_pixel: f64,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    md5: String,
    official_md5: &'static str,
    official: bool,
}

#[derive(Serialize)]
struct CheckReport {
    dataset: Dataset,
    dir: String,
    image_shape: [usize; 2],
    splits: std::collections::BTreeMap<&'static str, SplitReport>,
    files: std::collections::BTreeMap<&'static str, FileReport>,
}

fn check(global: &Global, dataset: Dataset, json: bool) -> Result<()> {
    let data: Mnist = common::load_dataset(global, dataset)?;
    let paths = mnist::find_files(dataset, &data.dir)?;
    let mut files = std::collections::BTreeMap::new();
    for (official, path) in dataset.files().iter().zip(paths.iter()) {
        let md5 = mnist::md5_file(path)?;
        files.insert(
            official.name,
            FileReport {
                path: path.display().to_string(),
                official: md5 == official.md5,
                md5,
                official_md5: official.md5,
            },
        );
    }
    let split = |s: &bpdl::data::Split| SplitReport {
        count: s.len(),
        mean_pixel: s.mean_pixel(),
    };
    let report = CheckReport {
        dataset,
        dir: data.dir.display().to_string(),
        image_shape: [data.image_shape.0, data.image_shape.1],
        splits: [
            ("train", split(&data.train)),
            ("validation", split(&data.validation)),
            ("test", split(&data.test)),
        ]
        .into_iter()
        .collect(),
        files,
    };
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

/// Downloads the four official files of `dataset` into `dir`, verifying each MD5 before it is
/// moved into place; files already there with the right MD5 are kept.
pub fn fetch(dataset: Dataset, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    for file in dataset.files() {
        let target = dir.join(file.name);
        if target.is_file() && mnist::md5_file(&target)? == file.md5 {
            eprintln!("{}: present, MD5 ok", target.display());
            continue;
        }
        let mut failures = Vec::new();
        let mut done = false;
        for mirror in dataset.mirrors() {
            let url = format!("{mirror}{}", file.name);
            match download(&agent, &url) {
                Ok(bytes) => {
                    let md5 = mnist::md5_hex(&bytes);
                    if md5 != file.md5 {
                        failures.push(format!("{url}: MD5 {md5}, expected {}", file.md5));
                        continue;
                    }
                    bpdl::run::write_atomic(&target, &bytes)?;
                    eprintln!("{}: downloaded from {url}, MD5 ok", target.display());
                    done = true;
                    break;
                }
                Err(e) => failures.push(format!("{url}: {e:#}")),
            }
        }
        if !done {
            bail!(
                "could not download {} from any mirror:\n  {}\nIf this machine is offline, copy \
                 the four official {dataset} files ({}) into {} (or pass --data-dir DIR / set \
                 BPDL_DATA_DIR to a folder that has them).",
                file.name,
                failures.join("\n  "),
                dataset
                    .files()
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                dir.display()
            );
        }
    }
    Ok(())
}

fn download(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call()?;
    let len = response.body().content_length().unwrap_or(0);
    let bar = common::progress(
        len,
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    let mut reader = response.body_mut().as_reader();
    let mut out = Vec::with_capacity(len as usize);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}
