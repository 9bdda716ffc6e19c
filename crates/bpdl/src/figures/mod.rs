//! Figures rendered to PNG and SVG with `plotters`, with an embedded font (DejaVu Sans, see
//! `crates/bpdl/assets/DejaVuSans-LICENSE.txt`) so that rendering needs no system font library.
//!
//! [`LineChart`] draws any number of [`Series`] (lines, points, points with vertical error bars,
//! lines with a shaded ± band) on titled axes, with a legend; [`LineChart::save`] writes
//! `STEM.png` and `STEM.svg` atomically.
//!
//! ```no_run
//! use bpdl::figures::{LineChart, Rgb, Series};
//! let chart = LineChart::new("log p(x, h) during inference", "iteration", "log p(x, h) (nats)")
//!     .with_series(Series::band("mean ± s.e.", vec![(0.0, -50.0), (1.0, -45.0)], vec![1.0, 0.8], Rgb::BLUE))
//!     .with_series(Series::line("example 1", vec![(0.0, -52.0), (1.0, -44.0)], Rgb::GRAY).width(1).unlabelled());
//! chart.save(std::path::Path::new("runs/fig4")).unwrap(); // runs/fig4.png and runs/fig4.svg
//! ```

mod line_chart;

pub use line_chart::{Legend, LineChart, Rgb, Series, SeriesKind};

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The embedded font's name as plotters looks it up.
pub const FONT_FAMILY: &str = "sans-serif";

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font with plotters (once per process; later calls are free).
pub fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, plotters::style::FontStyle::Normal, FONT)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::BadFile {
            path: "crates/bpdl/assets/DejaVuSans.ttf".into(),
            problem: "the embedded font could not be parsed".into(),
            hint: "the library was built from a damaged checkout; restore the file from git".into(),
        })
    }
}
