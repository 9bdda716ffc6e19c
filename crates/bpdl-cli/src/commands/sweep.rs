//! `bpdl sweep`: train every combination of a few config values and score each model with the
//! Parzen protocol (GENERATE and ancestral samples); one JSON line per model in `sweep.jsonl`.
//! Folders are reused, so an interrupted sweep continues where it stopped.

use anyhow::Result;
use bpdl::reproduce::sweep::{Scored, SweepLine, score_model};
use bpdl::{Config, Device};

use crate::Global;
use crate::commands::train::Progress;
use crate::common::{self, ConfigArgs};

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
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Samples per sampler for the Parzen estimate (default: `generate.samples`, 10,000).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Also score GENERATE and ancestral sampling with a full-covariance top prior fitted to the
    /// same model (not saved).
    #[arg(long)]
    pub full_prior: bool,
}

pub fn run(global: &Global, args: &SweepArgs) -> Result<()> {
    let dev = Device::cpu(global.threads)?;
    let out = common::out_dir(global, "runs/sweep");
    let combos = bpdl::config::combinations(&args.vary, &args.variant)?;
    // validate every combination before spending hours on the first
    let configs = combos
        .iter()
        .map(|c| args.config.resolve(global, &[], c))
        .collect::<Result<Vec<Config>>>()?;
    let data = common::load_dataset(global, configs[0].data.dataset)?;
    let base: Config = args.config.resolve(global, &[], &[])?;
    let header = format!(
        "# bpdl sweep: every combination of {:?} on top of this config\n",
        args.vary
    );
    let info = bpdl::run::RunInfo::new(common::provenance(), configs[0].seed, dev.threads());
    let mut log = bpdl::run::RunDir::create(
        &out,
        &(header + &bpdl::config::to_toml_string(&base)?),
        &info,
    )?;
    let mut results = Vec::new();
    for (i, (combo, config)) in combos.iter().zip(&configs).enumerate() {
        let name = format!("{:02}-{}", i + 1, slug(&combo.join(",")));
        let dir = out.join(&name);
        eprintln!("[{}/{}] {}", i + 1, combos.len(), combo.join(" "));
        let mut line = SweepLine {
            run: name,
            overrides: combo.clone(),
            ..SweepLine::default()
        };
        let prov = common::provenance();
        match bpdl::run::train_in_dir(&dev, config, &data, &dir, &prov, &mut Progress::default()) {
            Err(e) => {
                // a setting that diverges is a result too: record it and go on
                eprintln!("    failed: {e}");
                line.error = Some(e.to_string());
            }
            Ok(trained) => {
                line.train_seconds = trained.seconds;
                let samples = args.samples.unwrap_or(config.generate.samples);
                let model = &trained.state.model;
                let s = score_model(&dev, &data, config, model, samples, args.full_prior)?;
                print_scores("", &s.generate, &s.ancestral);
                if let (Some(g), Some(a)) = (&s.generate_full_prior, &s.ancestral_full_prior) {
                    print_scores("full-covariance prior: ", g, a);
                }
                line.scores = Some(s);
            }
        }
        line.final_epoch = bpdl::run::read_metrics(&dir)
            .ok()
            .and_then(|m| m.last().cloned());
        log.log(&line)?;
        results.push(line);
    }
    // ranked by the validation score (the test score is reported, never used to choose)
    let key = |l: &SweepLine| {
        l.scores
            .map_or(f64::NEG_INFINITY, |s| s.generate.validation)
    };
    results.sort_by(|a, b| key(b).total_cmp(&key(a)));
    println!(
        "{:>10} {:>9} {:>9}  run (test Parzen LL; ranked by GENERATE's validation score)",
        "validation", "GENERATE", "ancestral"
    );
    for r in &results {
        let o = r.overrides.join(" ");
        match r.scores {
            Some(s) => println!(
                "{:>10.1} {:>9.1} {:>9.1}  {o}",
                s.generate.validation, s.generate.test.mean, s.ancestral.test.mean
            ),
            None => println!("{:>10} {:>9} {:>9}  {o} (diverged)", "—", "—", "—"),
        }
    }
    Ok(())
}

fn print_scores(what: &str, g: &Scored, a: &Scored) {
    eprintln!(
        "    {what}GENERATE {:.1} ± {:.1} (σ {:.3}, validation {:.1}), ancestral {:.1} ± {:.1}",
        g.test.mean, g.test.se, g.test.sigma, g.validation, a.test.mean, a.test.se
    );
}

fn slug(s: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '=';
    s.chars().map(|c| if keep(c) { c } else { '_' }).collect()
}
