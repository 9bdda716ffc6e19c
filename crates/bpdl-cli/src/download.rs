//! Downloading a dataset's four official files from the public mirrors (`bpdl data fetch`, and
//! the automatic fetch of a command that needs missing data), each checked against its MD5.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bpdl::data::{Dataset, mnist};

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
                Ok(bytes) if mnist::md5_hex(&bytes) != file.md5 => failures.push(format!(
                    "{url}: MD5 {}, expected {}",
                    mnist::md5_hex(&bytes),
                    file.md5
                )),
                Ok(bytes) => {
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
                mnist::file_list(dataset),
                dir.display()
            );
        }
    }
    Ok(())
}

fn download(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call()?;
    let len = response.body().content_length().unwrap_or(0);
    let bar = crate::progress::progress(
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
