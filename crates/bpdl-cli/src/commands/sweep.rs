//! `bpdl sweep`: train every combination of a few config values and score each model with the
//! Parzen protocol (GENERATE and ancestral samples); one JSON line per model in `sweep.jsonl`.
//! Folders are reused, so an interrupted sweep continues where it stopped.

use std::path::PathBuf;

use anyhow::{Result, bail};
use bpdl::Device;
use bpdl::eval::parzen;
use bpdl::sampling::{self, Method};
use serde::Serialize;

use crate::Global;
use crate::common;

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// A key and the values to try, e.g. --vary learning.lr=0.005,0.01,0.02 (repeatable: every
    /// combination is trained). List values are written with `;` between elements.
    #[arg(
        long,
        value_name = "KEY=V1,V2,...",
        required_unless_present = "variant"
    )]
    pub vary: Vec<String>,
    /// One run's overrides, separated by spaces, e.g. --variant "learning.lr=0.02
    /// model.layers[1].decoder_lr=0.01" (repeatable; combined with every --vary combination).
    #[arg(long, value_name = "K=V K=V ...")]
    pub variant: Vec<String>,
    /// Overrides shared by every run (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Base config file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Samples per sampler for the Parzen estimate (default: `generate.samples`, 10,000).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Also score GENERATE and ancestral sampling with a full-covariance top prior fitted to the
    /// same model (not saved).
    #[arg(long)]
    pub full_prior: bool,
}

/// Test score of a sampler and the best mean validation log-likelihood of the σ search (what
/// settings should be chosen by).
#[derive(Debug, Clone, Copy, Serialize)]
struct Scored {
    #[serde(flatten)]
    test: parzen::ParzenScore,
    validation: f64,
}

#[derive(Serialize)]
struct Line {
    run: String,
    overrides: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generate: Option<Scored>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ancestral: Option<Scored>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generate_full_prior: Option<Scored>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ancestral_full_prior: Option<Scored>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    train_seconds: f64,
    final_epoch: Option<bpdl::train::EpochMetrics>,
}

pub fn run(global: &Global, args: &SweepArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let out = common::out_dir(global, "runs/sweep");
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for v in &args.vary {
        let Some((key, values)) = v.split_once('=') else {
            bail!("--vary `{v}`: expected KEY=V1,V2,...");
        };
        let values: Vec<String> = values.split(',').map(|s| s.replace(';', ",")).collect();
        axes.push((key.trim().to_string(), values));
    }
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for (key, values) in &axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(format!("{key}={v}"));
                    c
                })
            })
            .collect();
    }
    if !args.variant.is_empty() {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                args.variant.iter().map(move |v| {
                    let mut c = c.clone();
                    c.extend(v.split_whitespace().map(str::to_string));
                    c
                })
            })
            .collect();
    }
    // validate every combination before spending hours on the first
    let mut configs = Vec::new();
    for combo in &combos {
        let mut overrides = args.set.clone();
        overrides.extend(combo.iter().cloned());
        configs.push(super::train::resolve_config(
            global,
            args.config.as_deref(),
            &overrides,
        )?);
    }
    let data = common::load_dataset(global, configs[0].data.dataset)?;
    let base = super::train::resolve_config(global, args.config.as_deref(), &args.set)?;
    let mut log = bpdl::run::RunDir::create(
        &out,
        &format!(
            "# bpdl sweep: every combination of {:?} on top of this config\n{}",
            args.vary,
            bpdl::config::to_toml_string(&base)?
        ),
        &bpdl::run::RunInfo {
            provenance: common::provenance(),
            seed: configs[0].seed,
            threads: dev.threads(),
            started_unix_s: bpdl::run::unix_now(),
        },
    )?;
    let mut results = Vec::new();
    for (i, (combo, config)) in combos.iter().zip(&configs).enumerate() {
        let name = format!("{:02}-{}", i + 1, slug(&combo.join(",")));
        let dir = out.join(&name);
        eprintln!("[{}/{}] {}", i + 1, combos.len(), combo.join(" "));
        let (state, train_seconds) = match super::train::train_into(&dev, config, &data, &dir) {
            Ok(done) => done,
            Err(e) => {
                // a setting that diverges is a result too: record it and go on
                eprintln!("    failed: {e:#}");
                let line = Line {
                    run: name,
                    overrides: combo.clone(),
                    generate: None,
                    ancestral: None,
                    generate_full_prior: None,
                    ancestral_full_prior: None,
                    error: Some(format!("{e:#}")),
                    train_seconds: 0.0,
                    final_epoch: last_metrics(&dir),
                };
                log.log(&line)?;
                results.push(line);
                continue;
            }
        };
        let validation = data.validation.head(1000);
        let samples = args.samples.unwrap_or(config.generate.samples);
        let score = |model: &bpdl::model::GenerativeModel, method: Method| -> Result<Scored> {
            let mut rng = bpdl::rng::Seed(config.seed).stream(&format!("sample-{}", method.name()));
            let s = sampling::sample(&dev, model, method, samples, config, &mut rng)?;
            let (test, curve) = parzen::evaluate(
                &dev,
                s.view(),
                validation.images.view(),
                data.test.images.view(),
                None,
            )?;
            let validation = curve.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
            Ok(Scored { test, validation })
        };
        let generate = score(&state.model, Method::Generate)?;
        let ancestral = score(&state.model, Method::Ancestral)?;
        eprintln!(
            "    GENERATE {:.1} ± {:.1} (σ {:.3}, validation {:.1}), ancestral {:.1} ± {:.1}",
            generate.test.mean,
            generate.test.se,
            generate.test.sigma,
            generate.validation,
            ancestral.test.mean,
            ancestral.test.se
        );
        let (mut generate_full_prior, mut ancestral_full_prior) = (None, None);
        if args.full_prior {
            let mut full = config.clone();
            full.train.prior_covariance = bpdl::config::PriorCovariance::Full;
            let mut model = state.model.clone();
            let images = data.train.head(config.data.train_limit).images;
            model.top_prior = Some(bpdl::train::fit_top_prior(
                &dev,
                &state.model,
                images.view(),
                &full,
                &mut bpdl::rng::Seed(config.seed).stream("full-prior"),
            )?);
            let (g, a) = (
                score(&model, Method::Generate)?,
                score(&model, Method::Ancestral)?,
            );
            eprintln!(
                "    full-covariance prior: GENERATE {:.1} ± {:.1} (validation {:.1}), ancestral {:.1} ± {:.1}",
                g.test.mean, g.test.se, g.validation, a.test.mean, a.test.se
            );
            (generate_full_prior, ancestral_full_prior) = (Some(g), Some(a));
        }
        let line = Line {
            run: name,
            overrides: combo.clone(),
            generate: Some(generate),
            ancestral: Some(ancestral),
            generate_full_prior,
            ancestral_full_prior,
            error: None,
            train_seconds,
            final_epoch: last_metrics(&dir),
        };
        log.log(&line)?;
        results.push(line);
    }
    // ranked by the validation score (the test score is reported, never used to choose)
    let key = |l: &Line| l.generate.map_or(f64::NEG_INFINITY, |g| g.validation);
    results.sort_by(|a, b| key(b).total_cmp(&key(a)));
    println!(
        "{:>10} {:>9} {:>9}  run (test Parzen LL; ranked by GENERATE's validation score)",
        "validation", "GENERATE", "ancestral"
    );
    for r in &results {
        match (r.generate, r.ancestral) {
            (Some(g), Some(a)) => println!(
                "{:>10.1} {:>9.1} {:>9.1}  {}",
                g.validation,
                g.test.mean,
                a.test.mean,
                r.overrides.join(" ")
            ),
            _ => println!(
                "{:>10} {:>9} {:>9}  {} (diverged)",
                "—",
                "—",
                "—",
                r.overrides.join(" ")
            ),
        }
    }
    Ok(())
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '=' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn last_metrics(dir: &std::path::Path) -> Option<bpdl::train::EpochMetrics> {
    let text = std::fs::read_to_string(dir.join(bpdl::run::files::METRICS)).ok()?;
    text.lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
}
