//! The reproduction's report (`report.md`, `report.html`): the Parzen table against the paper's
//! numbers, Figs. 1 and 3–5 with their captions, and the written verdicts, all read from a
//! typed [`Results`]. Every number in the text comes from the results or the configuration, so
//! no caption goes stale when a setting changes.

use super::aggregate::{Headline, InferenceHeadline, Results};
use super::figures::{self, files};
use super::paper;
use crate::config::{self, PriorCovariance};
use crate::report::{Block, Report};
use crate::sampling::Method;

/// The report's title.
pub const TITLE: &str = "bpdl: reproduction of Towards Biologically Plausible Deep Learning";

fn pm(h: &Headline) -> String {
    match h.sd_across_seeds {
        Some(sd) => format!(
            "{:.1} ± {:.1} (sd across seeds {:.1}), σ = {:.3}",
            h.mean, h.se, sd, h.sigma
        ),
        None => format!("{:.1} ± {:.1}, σ = {:.3}", h.mean, h.se, h.sigma),
    }
}

/// The whole report.
pub fn report(r: &Results) -> Report {
    let mut rep = Report::default();
    let config = &r.config;
    rep.push(Block::Heading(
        1,
        "Reproduction of “Towards Biologically Plausible Deep Learning”".into(),
    ));
    let protocol = if r.quick {
        format!(
            "quick run ({} training images, {} epochs — not the paper's training)",
            config.data.train_limit, config.train.epochs
        )
    } else {
        "the paper's protocol".into()
    };
    rep.push(Block::Paragraph(format!(
        "Bengio, Lee, Bornschein, Mesnard & Lin (arXiv:1502.04156). bpdl {} (commit {}), {} on {} \
         with {} threads; seeds {:?}{}.",
        r.provenance.bpdl_version,
        r.provenance.git_commit,
        protocol,
        r.machine,
        r.threads,
        r.seeds,
        if r.reused_run {
            ", model reused from an earlier run"
        } else {
            ""
        },
    )));
    parzen_section(&mut rep, r);
    rep.push(Block::Heading(2, "Fig. 3: samples".into()));
    rep.push(Block::Image(
        figures::fig3_file(Method::Generate),
        format!(
            "GENERATE: ancestral start, then {} rounds of INFERENCE (α = {}) and decoding",
            config.generate.rounds, config.generate.alpha
        ),
    ));
    rep.push(Block::Image(
        figures::fig3_file(Method::Ancestral),
        "Ancestral sampling: h2 from the fitted Gaussian prior, decoded by g2 then g1".into(),
    ));
    rep.push(Block::Image(
        figures::fig3_file(Method::JointDae),
        "The §5.1 joint-DAE Markov chain".into(),
    ));
    fig4_section(&mut rep, r);
    rep.push(Block::Heading(2, "Fig. 5: in-painting".into()));
    let inp = &r.inpainting;
    let mse = |i: usize| inp.mse_missing.get(i).copied().unwrap_or(f64::NAN);
    rep.push(Block::Paragraph(format!(
        "Half of the pixels of each of {} test digits replaced by U(0, 1) noise and treated as \
         missing; {} encode/decode iterations with the clamped-visible INFERENCE. Mean squared \
         error on the missing pixels: {:.4} (noise) → {:.4} after the first iteration → {:.4} \
         after the last.",
        inp.examples,
        inp.mse_missing.len().saturating_sub(1),
        inp.mse_first,
        mse(1),
        inp.mse_last,
    )));
    rep.push(Block::Image(
        files::FIG5.into(),
        "Each row: original, half the pixels replaced by noise, filled in".into(),
    ));
    rep.push(Block::Heading(
        2,
        "Fig. 1: STDP window from ΔW ∝ S_pre · dV_post/dt".into(),
    ));
    let s = &r.stdp;
    let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
    rep.push(Block::Paragraph(format!(
        "Default settings of the STDP experiment: τ₊ = {:.1} ms, τ₋ = {:.1} ms, A₊ = {:.4}, \
         A₋ = {:.4}, correlation with the Bi & Poo exponential window {:.3} (see \
         experiments/stdp-curve).",
        nan(s.tau_plus_ms),
        nan(s.tau_minus_ms),
        nan(s.a_plus),
        nan(s.a_minus),
        nan(s.correlation_with_bi_poo),
    )));
    rep.push(Block::Image(
        format!("{}.png", files::FIG1),
        "Simulated STDP window, its exponential fit and the biological reference".into(),
    ));
    let list = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    rep.push(Block::Heading(2, "Timings".into()));
    rep.push(Block::List(vec![
        format!("training: {} s", list(&r.timings.train_seconds)),
        format!("evaluation: {} s", list(&r.timings.evaluation_seconds)),
        format!("STDP simulation: {:.0} s", r.timings.stdp_seconds),
        format!("total: {:.0} s", r.timings.total_seconds),
    ]));
    rep.push(Block::Heading(2, "Configuration".into()));
    rep.push(Block::Code(
        "toml".into(),
        config::to_toml_string(config).unwrap_or_default(),
    ));
    rep
}

fn parzen_section(rep: &mut Report, r: &Results) {
    let p = &r.parzen;
    let config = &r.config;
    rep.push(Block::Heading(
        2,
        "Parzen-window log-likelihood on the MNIST test set".into(),
    ));
    rep.push(Block::Paragraph(format!(
        "{} samples per sampler, isotropic Gaussian kernel, σ chosen on 1,000 validation images \
         over logspace(−1, 0, 10) ∪ {{0.2}}, mean ± standard error over the 10,000 test images \
         (the protocol of the GSN and GAN papers). Higher is better.",
        p.generate.samples,
    )));
    let mut rows = vec![
        vec![
            "GENERATE (Algorithm 2)".into(),
            format!("{:.0}", paper::GENERATE),
            pm(&p.generate),
        ],
        vec![
            "Ancestral sampling, same model".into(),
            format!("{:.0}", paper::ANCESTRAL),
            pm(&p.ancestral),
        ],
        vec![
            format!(
                "Joint-DAE chain (§5.1, {} steps)",
                config.generate.joint_dae_steps
            ),
            "not evaluated".into(),
            pm(&p.joint_dae),
        ],
        vec![
            format!(
                "{} training images as samples (estimator ceiling)",
                p.training_images.samples
            ),
            "—".into(),
            pm(&p.training_images),
        ],
    ];
    for (m, src, v, se) in paper::LITERATURE {
        rows.push(vec![
            format!("{m} ({src})"),
            format!("{v:.0} ± {se}"),
            "—".into(),
        ]);
    }
    rep.push(Block::Table(
        vec![
            "model".into(),
            "paper / literature".into(),
            "measured".into(),
        ],
        rows,
    ));
    if let (Some(go), Some(ao)) = (&p.generate_other_prior, &p.ancestral_other_prior) {
        let (main, other) = match config.train.prior_covariance {
            PriorCovariance::Diagonal => ("diagonal (the paper's)", "full-covariance"),
            PriorCovariance::Full => ("full-covariance", "diagonal (the paper's)"),
        };
        rep.push(Block::Paragraph(format!(
            "The table uses the {main} Gaussian top prior p(h2). The same trained model with a \
             {other} prior (mean and {} × covariance of the inferred training codes): GENERATE \
             {}, ancestral {} — a gap of {:+.1} nats.",
            config.train.prior_variance_scale,
            pm(go),
            pm(ao),
            go.mean - ao.mean
        )));
    }
    let gap = p.generate.mean - p.ancestral.mean;
    rep.push(Block::Paragraph(format!(
        "GENERATE − ancestral: {gap:+.1} nats (paper {:+.0}). {}",
        paper::GAP,
        verdict(p.generate.mean, gap)
    )));
}

fn fig4_section(rep: &mut Report, r: &Results) {
    let inf = &r.inference;
    let inf_g = &r.inference_generate_alpha;
    let px = &inf.first_seed.curve.log_px_given_h1_mean;
    rep.push(Block::Heading(
        2,
        "Fig. 4: log p(x, h) during inference".into(),
    ));
    rep.push(Block::Paragraph(format!(
        "log p(x, h) = −½‖x − g1(h1)‖² − ½‖h1 − g2(h2)‖² (unit variances, constants dropped), \
         mean over {} test digits. With the training setting α = {}: {:.2} ± {:.2} at the \
         feed-forward start, {:.2} ± {:.2} after {} iterations; its first term log p(x|h1) goes \
         from {:.2} to {:.2}. With α = {} (GENERATE's top-down weight): {:.2} ± {:.2} → \
         {:.2} ± {:.2}. {}",
        inf.first_seed.curve.examples,
        inf.alpha,
        inf.log_pxh_first,
        inf.log_pxh_first_se,
        inf.log_pxh_last,
        inf.log_pxh_last_se,
        inf.first_seed.curve.steps,
        px.first().copied().unwrap_or(f64::NAN),
        px.last().copied().unwrap_or(f64::NAN),
        inf_g.alpha,
        inf_g.log_pxh_first,
        inf_g.log_pxh_first_se,
        inf_g.log_pxh_last,
        inf_g.log_pxh_last_se,
        fig4_verdict(inf, inf_g),
    )));
    rep.push(Block::Image(
        format!("{}.png", files::FIG4),
        "log p(x, h) over inference iterations: mean ± s.e. and five single digits".into(),
    ));
}

/// Whether each inference curve rises as the paper's Fig. 4 does (by more than two standard
/// errors of its start), said plainly.
pub fn fig4_verdict(training: &InferenceHeadline, generate: &InferenceHeadline) -> String {
    let trend = |c: &InferenceHeadline| {
        if c.log_pxh_last > c.log_pxh_first + 2.0 * c.log_pxh_first_se {
            "rises, as in the paper's Fig. 4"
        } else if c.log_pxh_last < c.log_pxh_first - 2.0 * c.log_pxh_first_se {
            "falls, unlike the paper's Fig. 4"
        } else {
            "stays flat (within two standard errors), unlike the paper's Fig. 4"
        }
    };
    let mut s = format!(
        "At α = {} the mean {}; at α = {} it {}.",
        training.alpha,
        trend(training),
        generate.alpha,
        trend(generate)
    );
    let px = &training.first_seed.curve.log_px_given_h1_mean;
    let recon_improves = matches!((px.first(), px.last()), (Some(a), Some(b)) if b > a);
    if training.log_pxh_last < training.log_pxh_first && recon_improves {
        s.push_str(
            " With the tiny training α, targetprop moves h1 toward a better reconstruction of x \
             while the top-down term barely pulls h1 back toward g2(h2), so the second term \
             −½‖h1 − g2(h2)‖² loses more than the first gains.",
        );
    }
    s
}

/// The verdict on the Parzen table: GENERATE against the paper's 236 (and the GAN's 225), and
/// the GENERATE − ancestral gap against the paper's 110.
pub fn verdict(generate: f64, gap: f64) -> String {
    let mut s = Vec::new();
    if generate >= paper::GENERATE - 1.0 {
        s.push("GENERATE matches the paper's 236.".to_string());
    } else if generate >= paper::GAN {
        s.push(format!(
            "GENERATE is {:.0} nats below the paper's 236 but at least on par with the GAN's 225.",
            paper::GENERATE - generate
        ));
    } else {
        s.push(format!(
            "GENERATE falls short of the paper's 236 by {:.0} nats.",
            paper::GENERATE - generate
        ));
    }
    if gap >= 100.0 {
        s.push("The gap to ancestral sampling is reproduced.".into());
    } else {
        s.push(format!(
            "The gap to ancestral sampling is smaller than the paper's by {:.0} nats.",
            paper::GAP - gap
        ));
    }
    s.join(" ")
}

#[cfg(test)]
mod tests;
