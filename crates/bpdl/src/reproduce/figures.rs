//! Every figure of the reproduction, built from results as data: Fig. 1 (the STDP window),
//! Fig. 3 (sample grids), Fig. 4 (log p(x, h) over inference) and Fig. 5 (in-painting).
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
use crate::spiking::StdpReport;
use crate::spiking::experiment::fit_points;
use crate::spiking::fit::{abarbanel_window, bi_poo_window};

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
    let w = cfg.protocol.window_ms;
    let points = fit_points(&report.curve, cfg.protocol.min_bin_count);
    let used: Vec<_> = report
        .curve
        .bins
        .iter()
        .filter(|b| b.n >= cfg.protocol.min_bin_count)
        .collect();
    let grid = |lo: f64, hi: f64| -> Vec<f64> {
        (0..=200)
            .map(|k| lo + (hi - lo) * k as f64 / 200.0)
            .collect()
    };
    let (pos, neg) = (grid(0.0, w), grid(-w, 0.0));
    let mut chart = LineChart::new(
        "STDP window from ΔW = η · S_pre · dV_post/dt (Fig. 1)",
        "Δt = t_post − t_pre (ms)",
        "mean ΔW = η · dV/dt at the presynaptic spike (threshold gaps per ms)",
    );
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
        (report.fit.potentiation, &pos[1..], 1.0),
        (report.fit.depression, &neg[..200], -1.0),
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
        "simulation: mean ± s.e. per bin",
        used.iter().map(|b| (b.delta_t_ms, b.mean_dw)).collect(),
        used.iter().map(|b| b.sem_dw).collect(),
        Rgb::BLUE,
    ));
    chart
}
