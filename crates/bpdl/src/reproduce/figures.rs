//! Every figure of the reproduction, built from results as data: Fig. 1 (the STDP window),
//! Fig. 3 (sample grids), Fig. 4 (log p(x, h) over inference), Fig. 5 (in-painting) and each
//! seed's training curves (from its `metrics.jsonl`).
//! The line charts are written as PNG + SVG ([`crate::figures`]), the image grids as PNG
//! ([`crate::image_grid`]).

use std::path::Path;

use super::evaluate::{EvalArtifacts, Evaluation, InferenceSummary};
use crate::backend::Matrix;
use crate::config::Config;
use crate::error::Result;
use crate::eval::inpainting::InpaintingImages;
use crate::figures::{Legend, LineChart, Rgb, Series};
use crate::image_grid::{self, GridLayout};
use crate::spiking::StdpConfig;
use crate::spiking::StdpCurve;
use crate::spiking::StdpReport;
use crate::spiking::experiment::fit_points;
use crate::spiking::fit::WindowFit;
use crate::spiking::fit::{abarbanel_window, bi_poo_window};
use crate::train::EpochMetrics;

/// File names (without extension for the line charts) inside the reproduction folder.
pub mod files {
    /// Fig. 1.
    pub const FIG1: &str = "fig1_stdp";
    /// Fig. 4.
    pub const FIG4: &str = "fig4_log_pxh";
    /// Fig. 5.
    pub const FIG5: &str = "fig5_inpainting.png";
}

/// The Fig. 3 file of a sampler: `fig3_<method>.png` (`joint-dae` → `joint_dae`).
pub fn fig3_file(method: crate::sampling::Method) -> String {
    format!("fig3_{}.png", method.name().replace('-', "_"))
}

/// The two line-chart stems of a seed's training curves: `training_seed<N>_losses` (the
/// M-step's losses) and `training_seed<N>_log_pxh` (log p(x, h) before and after inference).
pub fn training_files(seed: u64) -> [String; 2] {
    [
        format!("training_seed{seed}_losses"),
        format!("training_seed{seed}_log_pxh"),
    ]
}

/// Writes a seed's training curves ([`training_files`]) into `out` from its epoch records;
/// nothing when there are none. Whether they were written.
pub fn write_training_figures(out: &Path, seed: u64, metrics: &[EpochMetrics]) -> Result<bool> {
    if metrics.is_empty() {
        return Ok(false);
    }
    let [losses, log_pxh] = training_files(seed);
    training_losses(metrics, seed).save(&out.join(losses))?;
    training_log_pxh(metrics, seed).save(&out.join(log_pxh))?;
    Ok(true)
}

/// Colours of the training curves' series, in order.
const PALETTE: [Rgb; 6] = [
    Rgb::BLUE,
    Rgb::ORANGE,
    Rgb::GREEN,
    Rgb::RED,
    Rgb::PURPLE,
    Rgb::GRAY,
];

/// Adds a line through `points` with a dot at each (so that a single epoch shows).
fn line_with_dots(chart: &mut LineChart, name: &str, points: Vec<(f64, f64)>, color: Rgb) {
    chart.series.push(
        Series::points(name, points.clone(), color)
            .width(3)
            .unlabelled(),
    );
    chart.series.push(Series::line(name, points, color));
}

/// One value per epoch: `(epoch, pick(record))`, skipping records that lack it.
fn per_epoch(
    metrics: &[EpochMetrics],
    pick: impl Fn(&EpochMetrics) -> Option<f64>,
) -> Vec<(f64, f64)> {
    metrics
        .iter()
        .filter_map(|m| pick(m).map(|v| (m.epoch as f64, v)))
        .collect()
}

/// A seed's M-step losses per epoch: for each layer l, the decoder's denoising loss
/// ‖g_l(h̃_l) − h_{l−1}‖², the encoder's ‖f_l(h̃_{l−1}) − h_l‖² and the reconstruction
/// ‖h_{l−1} − g_l(h_l)‖² after inference (h_0 = x), mean per example.
pub fn training_losses(metrics: &[EpochMetrics], seed: u64) -> LineChart {
    let mut chart = LineChart::new(
        &format!("Training losses per epoch, seed {seed}"),
        "epoch",
        "squared error per example (mean over the epoch)",
    );
    let layers = metrics
        .iter()
        .map(|m| {
            m.loss_decoder
                .len()
                .max(m.loss_encoder.len())
                .max(m.recon.len())
        })
        .max()
        .unwrap_or(0);
    let mut colors = PALETTE.iter().copied().cycle();
    type Pick = fn(&EpochMetrics, usize) -> Option<f64>;
    for l in 0..layers {
        let (n, below) = (
            l + 1,
            if l == 0 {
                "x".to_string()
            } else {
                format!("h{l}")
            },
        );
        let below_corrupted = if l == 0 {
            "x̃".to_string()
        } else {
            format!("h̃{l}")
        };
        let terms: [(String, Pick); 3] = [
            (
                format!("decoder g{n}: ‖g{n}(h̃{n}) − {below}‖²"),
                |m, l| m.loss_decoder.get(l).copied(),
            ),
            (
                format!("encoder f{n}: ‖f{n}({below_corrupted}) − h{n}‖²"),
                |m, l| m.loss_encoder.get(l).copied(),
            ),
            (
                format!("after inference: ‖{below} − g{n}(h{n})‖²"),
                |m, l| m.recon.get(l).copied(),
            ),
        ];
        for (name, pick) in terms {
            let color = colors.next().unwrap_or(Rgb::BLACK);
            line_with_dots(&mut chart, &name, per_epoch(metrics, |m| pick(m, l)), color);
        }
    }
    chart
}

/// A seed's log p(x, h) per epoch: on the training minibatches at the feed-forward start of
/// inference and after it, and (when recorded) on the held-out images likewise.
pub fn training_log_pxh(metrics: &[EpochMetrics], seed: u64) -> LineChart {
    let mut chart = LineChart::new(
        &format!("log p(x, h) per epoch, seed {seed}"),
        "epoch",
        "log p(x, h) + const (nats)",
    );
    line_with_dots(
        &mut chart,
        "training minibatches, before inference",
        per_epoch(metrics, |m| Some(m.log_pxh_before)),
        Rgb::BLUE,
    );
    line_with_dots(
        &mut chart,
        "training minibatches, after inference",
        per_epoch(metrics, |m| Some(m.log_pxh_after)),
        Rgb::RED,
    );
    let heldout_examples = metrics
        .iter()
        .find_map(|m| m.heldout.as_ref())
        .map(|h| h.examples);
    if let Some(n) = heldout_examples {
        line_with_dots(
            &mut chart,
            &format!("{n} held-out images, before inference"),
            per_epoch(metrics, |m| m.heldout.as_ref()?.log_pxh.first().copied()),
            Rgb::GREEN,
        );
        line_with_dots(
            &mut chart,
            &format!("{n} held-out images, after inference"),
            per_epoch(metrics, |m| m.heldout.as_ref()?.log_pxh.last().copied()),
            Rgb::PURPLE,
        );
    }
    chart.legend = Legend::LowerRight;
    chart
}

/// Writes Figs. 3, 4 and 5 of one seed's evaluation into `out`.
pub fn write_learner_figures(
    out: &Path,
    evaluation: &Evaluation,
    artifacts: &EvalArtifacts,
    config: &Config,
) -> Result<()> {
    for (method, samples) in &artifacts.samples {
        fig3(&out.join(fig3_file(*method)), samples)?;
    }
    fig4(evaluation, config).save(&out.join(files::FIG4))?;
    fig5(
        &out.join(files::FIG5),
        &artifacts.originals,
        &artifacts.inpainting,
    )
}

/// Fig. 3: a 10×10 grid of the first 100 samples.
pub fn fig3(path: &Path, samples: &Matrix) -> Result<()> {
    let first = samples.slice(ndarray::s![..samples.nrows().min(100), ..]);
    image_grid::write_png(path, first, GridLayout::mnist(10))
}

/// Fig. 4: log p(x, h) over the inference iterations (mean ± s.e. band for the training α and
/// GENERATE's α, and five single test digits).
pub fn fig4(e: &Evaluation, config: &Config) -> LineChart {
    let series = |s: &InferenceSummary, name: &str, color: Rgb| {
        let c = &s.curve;
        let pts: Vec<(f64, f64)> = c
            .log_pxh_mean
            .iter()
            .enumerate()
            .map(|(t, &v)| (t as f64, v))
            .collect();
        Series::band(name, pts, c.log_pxh_se.clone(), color)
    };
    let mut chart = LineChart::new(
        "log p(x, h) during inference on the test set (Fig. 4)",
        "inference iteration",
        "log p(x, h) + const (nats)",
    )
    .with_series(series(
        &e.inference,
        &format!("mean ± s.e., α = {} (training)", config.inference.alpha),
        Rgb::RED,
    ))
    .with_series(series(
        &e.inference_generate_alpha,
        &format!("mean ± s.e., α = {} (GENERATE)", config.generate.alpha),
        Rgb::BLUE,
    ));
    for (i, curve) in e.inference.curve.example_curves.iter().enumerate() {
        let pts = curve
            .iter()
            .enumerate()
            .map(|(t, &v)| (t as f64, v))
            .collect();
        let s = Series::line("single test digits (training α)", pts, Rgb::GRAY).width(1);
        chart = chart.with_series(if i == 0 { s } else { s.unlabelled() });
    }
    chart.legend = Legend::LowerRight;
    chart
}

/// Fig. 5: rows of original | corrupted | filled for the first 10 in-painted digits.
pub fn fig5(path: &Path, originals: &Matrix, inp: &InpaintingImages) -> Result<()> {
    let rows = originals.nrows().min(10);
    let d = originals.ncols();
    let mut grid = Matrix::zeros((3 * rows, d));
    for r in 0..rows {
        grid.row_mut(3 * r).assign(&originals.row(r));
        grid.row_mut(3 * r + 1).assign(&inp.corrupted.row(r));
        grid.row_mut(3 * r + 2).assign(&inp.filled.row(r));
    }
    image_grid::write_png(path, grid.view(), GridLayout::mnist(3))
}

/// The least-squares scale `k` of a reference window `r` onto the points: `Σ y r / Σ r²`.
fn scale_onto(points: &[(f64, f64)], r: fn(f64) -> f64) -> f64 {
    let (yr, rr) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + y * r(x), b + r(x) * r(x))
    });
    if rr > 0.0 { yr / rr } else { 0.0 }
}

/// Fig. 1: the simulated window (mean ± s.e. per bin), its exponential fit, and the Bi & Poo
/// and Abarbanel reference windows scaled onto the data by least squares.
pub fn fig1(report: &StdpReport, cfg: &StdpConfig) -> LineChart {
    window_chart(
        "STDP window from ΔW = η · S_pre · dV_post/dt (Fig. 1)",
        "mean ΔW = η · dV/dt at the presynaptic spike (threshold gaps per ms)",
        (&report.curve, &report.fit),
        cfg.protocol.window_ms,
        cfg.protocol.min_bin_count,
        "simulation: mean ± s.e. per bin",
    )
}

/// An STDP window as Fig. 1 draws it, over `Δt ∈ [−window_ms, window_ms]`: the bins with at
/// least `min_count` pairs (mean ± s.e., named `points_name`), the exponential fit of each
/// branch, and the Bi & Poo (2001) and Abarbanel et al. (2002) windows scaled onto those bins
/// (`bpdl stdp`'s Fig. 1 and the in-network window, [`crate::learning::stdp_window`]).
pub fn window_chart(
    title: &str,
    y_label: &str,
    (curve, fit): (&StdpCurve, &WindowFit),
    window_ms: f64,
    min_count: usize,
    points_name: &str,
) -> LineChart {
    let w = window_ms;
    let points = fit_points(curve, min_count);
    let used: Vec<_> = curve.bins.iter().filter(|b| b.n >= min_count).collect();
    let grid = |lo: f64, hi: f64| -> Vec<f64> {
        (0..=200)
            .map(|k| lo + (hi - lo) * k as f64 / 200.0)
            .collect()
    };
    let (pos, neg) = (grid(0.0, w), grid(-w, 0.0));
    let mut chart = LineChart::new(title, "Δt = t_post − t_pre (ms)", y_label);
    chart.x_range = Some((-w, w));
    chart.legend = Legend::UpperLeft;
    chart.series.push(
        Series::line("", vec![(-w, 0.0), (w, 0.0)], Rgb::GRAY)
            .width(1)
            .unlabelled(),
    );
    for (name, f, color) in [
        (
            "Bi & Poo (2001) exponential fit, scaled",
            bi_poo_window as fn(f64) -> f64,
            Rgb::GREEN,
        ),
        (
            "Abarbanel et al. (2002) fit, scaled",
            abarbanel_window,
            Rgb::PURPLE,
        ),
    ] {
        let k = scale_onto(&points, f);
        let curve = |xs: &[f64]| xs.iter().map(|&x| (x, k * f(x))).collect::<Vec<_>>();
        chart
            .series
            .push(Series::line(name, curve(&pos[1..]), color).width(2));
        chart.series.push(
            Series::line(name, curve(&neg[..200]), color)
                .width(2)
                .unlabelled(),
        );
    }
    let mut fit_named = false;
    for (branch, xs, sign) in [
        (fit.potentiation, &pos[1..], 1.0),
        (fit.depression, &neg[..200], -1.0),
    ] {
        if let Some(f) = branch {
            let pts = xs
                .iter()
                .map(|&x| (x, sign * f.amplitude * (-x.abs() / f.tau_ms).exp()))
                .collect();
            let s = Series::line("exponential fit", pts, Rgb::RED).width(2);
            chart
                .series
                .push(if fit_named { s.unlabelled() } else { s });
            fit_named = true;
        }
    }
    chart.series.push(Series::error_bars(
        points_name,
        used.iter().map(|b| (b.delta_t_ms, b.mean_dw)).collect(),
        used.iter().map(|b| b.sem_dw).collect(),
        Rgb::BLUE,
    ));
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::HeldOutInference;

    fn epoch(epoch: usize, heldout: bool) -> EpochMetrics {
        EpochMetrics {
            epoch,
            loss_decoder: vec![80.0 - epoch as f64, 40.0],
            loss_encoder: vec![50.0, 0.5],
            recon: vec![70.0, 30.0],
            log_pxh_before: -50.0 + epoch as f64,
            log_pxh_after: -55.0 + epoch as f64,
            heldout: heldout.then(|| HeldOutInference {
                examples: 7,
                log_pxh: vec![-40.0, -41.0, -42.0],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn labels(chart: &LineChart) -> Vec<String> {
        chart.series.iter().filter_map(|s| s.name.clone()).collect()
    }

    /// Every loss term of every layer is drawn, one value per epoch: a layer or a term left out
    /// would hide exactly the drift (or run-away) the figure is there to show.
    #[test]
    fn the_loss_chart_draws_every_term_of_every_layer_per_epoch() {
        let metrics = [epoch(1, false), epoch(2, false), epoch(3, false)];
        let chart = training_losses(&metrics, 4);
        assert!(chart.title.contains("seed 4"));
        assert_eq!(
            labels(&chart),
            [
                "decoder g1: ‖g1(h̃1) − x‖²",
                "encoder f1: ‖f1(x̃) − h1‖²",
                "after inference: ‖x − g1(h1)‖²",
                "decoder g2: ‖g2(h̃2) − h1‖²",
                "encoder f2: ‖f2(h̃1) − h2‖²",
                "after inference: ‖h1 − g2(h2)‖²",
            ]
        );
        let g1 = chart
            .series
            .iter()
            .find(|s| s.name.as_deref() == Some("decoder g1: ‖g1(h̃1) − x‖²"))
            .unwrap();
        assert_eq!(g1.points, [(1.0, 79.0), (2.0, 78.0), (3.0, 77.0)]);
    }

    /// log p(x, h) before and after inference per epoch, and the held-out curve's first and
    /// last point when it was recorded (only then).
    #[test]
    fn the_log_p_chart_has_before_and_after_and_the_held_out_curve_when_recorded() {
        let chart = training_log_pxh(&[epoch(1, false), epoch(2, false)], 1);
        assert_eq!(labels(&chart).len(), 2);
        let after = &chart.series[3];
        assert_eq!(after.points, [(1.0, -54.0), (2.0, -53.0)]);
        let chart = training_log_pxh(&[epoch(1, true), epoch(2, true)], 1);
        let names = labels(&chart);
        assert_eq!(names.len(), 4);
        assert_eq!(names[2], "7 held-out images, before inference");
        let last = chart.series.last().unwrap();
        assert_eq!(last.points, [(1.0, -42.0), (2.0, -42.0)]);
    }

    #[test]
    fn training_figures_are_written_only_from_epoch_records() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!write_training_figures(dir.path(), 1, &[]).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(write_training_figures(dir.path(), 1, &[epoch(1, true)]).unwrap());
        for stem in training_files(1) {
            for ext in ["png", "svg"] {
                assert!(
                    dir.path().join(format!("{stem}.{ext}")).is_file(),
                    "{stem}.{ext}"
                );
            }
        }
    }
}
