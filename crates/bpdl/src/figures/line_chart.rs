//! A line chart: titled axes with units, any number of series, a legend, PNG and SVG output.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::FONT_FAMILY;
use crate::error::{Error, Result};
use crate::run::write_atomic;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Self = Self(0, 0, 0);
    /// Mid gray.
    pub const GRAY: Self = Self(140, 140, 140);
    /// Blue (matplotlib's C0).
    pub const BLUE: Self = Self(31, 119, 180);
    /// Orange (C1).
    pub const ORANGE: Self = Self(255, 127, 14);
    /// Green (C2).
    pub const GREEN: Self = Self(44, 160, 44);
    /// Red (C3).
    pub const RED: Self = Self(214, 39, 40);
    /// Purple (C4).
    pub const PURPLE: Self = Self(148, 103, 189);

    fn plotters(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// A polyline through the points.
    Line,
    /// A dot at each point.
    Points,
    /// A dot at each point with a vertical bar `y ± error`.
    ErrorBars,
    /// A polyline with the band `y ± error` shaded around it.
    Band,
}

/// One series of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend entry; `None` keeps the series out of the legend.
    pub name: Option<String>,
    /// How it is drawn.
    pub kind: SeriesKind,
    /// `(x, y)` points; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Per-point half-widths of the error bars or band (used by `ErrorBars` and `Band`; missing
    /// entries count as 0).
    pub error: Vec<f64>,
    /// Its colour.
    pub color: Rgb,
    /// Line width, or dot radius, in pixels.
    pub width_px: u32,
}

impl Series {
    fn new(
        name: &str,
        kind: SeriesKind,
        points: Vec<(f64, f64)>,
        error: Vec<f64>,
        color: Rgb,
    ) -> Self {
        Self {
            name: Some(name.to_string()),
            kind,
            points,
            error,
            color,
            width_px: if kind == SeriesKind::Line || kind == SeriesKind::Band {
                2
            } else {
                3
            },
        }
    }

    /// A line.
    pub fn line(name: &str, points: Vec<(f64, f64)>, color: Rgb) -> Self {
        Self::new(name, SeriesKind::Line, points, vec![], color)
    }

    /// Dots.
    pub fn points(name: &str, points: Vec<(f64, f64)>, color: Rgb) -> Self {
        Self::new(name, SeriesKind::Points, points, vec![], color)
    }

    /// Dots with vertical error bars `y ± error`.
    pub fn error_bars(name: &str, points: Vec<(f64, f64)>, error: Vec<f64>, color: Rgb) -> Self {
        Self::new(name, SeriesKind::ErrorBars, points, error, color)
    }

    /// A line with a shaded band `y ± error`.
    pub fn band(name: &str, points: Vec<(f64, f64)>, error: Vec<f64>, color: Rgb) -> Self {
        Self::new(name, SeriesKind::Band, points, error, color)
    }

    /// Sets the line width (or dot radius) in pixels.
    pub fn width(mut self, px: u32) -> Self {
        self.width_px = px;
        self
    }

    /// Keeps the series out of the legend.
    pub fn unlabelled(mut self) -> Self {
        self.name = None;
        self
    }

    /// The finite points with their errors (0 where missing or non-finite).
    fn finite(&self) -> Vec<(f64, f64, f64)> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0.is_finite() && p.1.is_finite())
            .map(|(i, &(x, y))| {
                let e = self
                    .error
                    .get(i)
                    .copied()
                    .filter(|e| e.is_finite())
                    .unwrap_or(0.0)
                    .abs();
                (x, y, e)
            })
            .collect()
    }
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    /// Top right corner.
    UpperRight,
    /// Top left corner.
    UpperLeft,
    /// Bottom right corner.
    LowerRight,
    /// Bottom left corner.
    LowerLeft,
}

/// A chart with titled axes and any number of series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The caption above the plot.
    pub title: String,
    /// The x-axis title, with its unit (e.g. `Δt = t_post − t_pre (ms)`).
    pub x_label: String,
    /// The y-axis title, with its unit.
    pub y_label: String,
    /// The series, drawn in order (later ones on top).
    pub series: Vec<Series>,
    /// The x range; `None` (or an empty or non-finite range) fits the data (with 3 % padding).
    pub x_range: Option<(f64, f64)>,
    /// The y range; `None` (or an empty or non-finite range) fits the data and its error bars
    /// (with 5 % padding).
    pub y_range: Option<(f64, f64)>,
    /// Image size in pixels.
    pub size_px: (u32, u32),
    /// Where the legend goes.
    pub legend: Legend,
}

impl LineChart {
    /// An empty 900×600 chart.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: vec![],
            x_range: None,
            y_range: None,
            size_px: (900, 600),
            legend: Legend::UpperRight,
        }
    }

    /// Adds a series.
    pub fn with_series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Writes `STEM.png` and `STEM.svg` (each atomically).
    pub fn save(&self, stem: &Path) -> Result<()> {
        self.save_png(&with_extension(stem, "png"))?;
        self.save_svg(&with_extension(stem, "svg"))
    }

    /// Renders to PNG and writes it atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        super::register_font()?;
        let (w, h) = self.size_px;
        if w < 100 || h < 100 || w > 10_000 || h > 10_000 {
            return Err(Error::config(
                "size_px",
                format!("{w}×{h}: each side must be 100 … 10000 pixels"),
            ));
        }
        let mut rgb = vec![255u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            self.draw(&root).map_err(|e| render_error(path, &e))?;
            root.present().map_err(|e| render_error(path, &e))?;
        }
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().map_err(|e| render_error(path, &e))?;
            writer
                .write_image_data(&rgb)
                .map_err(|e| render_error(path, &e))?;
            writer.finish().map_err(|e| render_error(path, &e))?;
        }
        write_atomic(path, &png_bytes)
    }

    /// Renders to SVG and writes it atomically.
    pub fn save_svg(&self, path: &Path) -> Result<()> {
        super::register_font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size_px).into_drawing_area();
            self.draw(&root).map_err(|e| render_error(path, &e))?;
            root.present().map_err(|e| render_error(path, &e))?;
        }
        write_atomic(path, svg.as_bytes())
    }

    /// The data ranges: the given ones, else the data's (with padding), never empty.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let pts: Vec<(f64, f64, f64)> = self.series.iter().flat_map(|s| s.finite()).collect();
        let span = |lo: f64, hi: f64, pad: f64| {
            if !(lo.is_finite() && hi.is_finite()) {
                (0.0, 1.0)
            } else if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                (lo - 1.0, hi + 1.0)
            } else {
                (lo - pad * (hi - lo), hi + pad * (hi - lo))
            }
        };
        // a given range is used as it is, unless it is empty or not finite
        let given = |r: Option<(f64, f64)>| {
            r.filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
        };
        let x = given(self.x_range).unwrap_or_else(|| {
            let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let hi = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
            span(lo, hi, 0.03)
        });
        let y = given(self.y_range).unwrap_or_else(|| {
            let lo = pts.iter().map(|p| p.1 - p.2).fold(f64::INFINITY, f64::min);
            let hi = pts
                .iter()
                .map(|p| p.1 + p.2)
                .fold(f64::NEG_INFINITY, f64::max);
            span(lo, hi, 0.05)
        });
        (x, y)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT_FAMILY, 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT_FAMILY, 15))
            .axis_desc_style((FONT_FAMILY, 17))
            .x_label_formatter(&|v| tick_label(*v, x1 - x0))
            .y_label_formatter(&|v| tick_label(*v, y1 - y0))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;
        let cap = 0.005 * (x1 - x0);
        for s in &self.series {
            let color = s.color.plotters();
            let pts = s.finite();
            let w = s.width_px;
            let anno = match s.kind {
                SeriesKind::Line => chart.draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(w),
                ))?,
                SeriesKind::Band => {
                    let mut outline: Vec<(f64, f64)> =
                        pts.iter().map(|p| (p.0, p.1 + p.2)).collect();
                    outline.extend(pts.iter().rev().map(|p| (p.0, p.1 - p.2)));
                    chart.draw_series(std::iter::once(Polygon::new(
                        outline,
                        color.mix(0.2).filled(),
                    )))?;
                    chart.draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0, p.1)),
                        color.stroke_width(w),
                    ))?
                }
                SeriesKind::Points => chart.draw_series(
                    pts.iter()
                        .map(|p| Circle::new((p.0, p.1), w, color.filled())),
                )?,
                SeriesKind::ErrorBars => {
                    chart.draw_series(pts.iter().filter(|p| p.2 > 0.0).flat_map(|p| {
                        let (x, lo, hi) = (p.0, p.1 - p.2, p.1 + p.2);
                        [
                            PathElement::new(vec![(x, lo), (x, hi)], color.stroke_width(1)),
                            PathElement::new(
                                vec![(x - cap, lo), (x + cap, lo)],
                                color.stroke_width(1),
                            ),
                            PathElement::new(
                                vec![(x - cap, hi), (x + cap, hi)],
                                color.stroke_width(1),
                            ),
                        ]
                    }))?;
                    chart.draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), w, color.filled())),
                    )?
                }
            };
            if let Some(name) = &s.name {
                let kind = s.kind;
                anno.label(name.as_str()).legend(
                    move |(x, y)| -> DynElement<'static, DB, (i32, i32)> {
                        match kind {
                            SeriesKind::Points | SeriesKind::ErrorBars => {
                                Circle::new((x + 10, y), 4, color.filled()).into_dyn()
                            }
                            _ => PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                                .into_dyn(),
                        }
                    },
                );
            }
        }
        if self.series.iter().any(|s| s.name.is_some()) {
            chart
                .configure_series_labels()
                .position(match self.legend {
                    Legend::UpperRight => SeriesLabelPosition::UpperRight,
                    Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                    Legend::LowerRight => SeriesLabelPosition::LowerRight,
                    Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
                })
                .label_font((FONT_FAMILY, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .draw()?;
        }
        Ok(())
    }
}

/// A tick label: at most 4 significant digits, no trailing zeros (`-100`, `0.25`, `1.5e-5`);
/// values within 1e-9 of the axis span from 0 are rounding noise of the tick grid and read `0`.
fn tick_label(v: f64, span: f64) -> String {
    if v == 0.0 || v.abs() < 1e-9 * span.abs() {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{v:.2e}");
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_os_string();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn render_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("could not render the figure: {e}"),
        hint: "report this as a bug, with the command that produced it".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> LineChart {
        LineChart::new("STDP window", "Δt (ms)", "ΔW (per ms)")
            .with_series(Series::error_bars(
                "sim",
                vec![(-10.0, -0.2), (10.0, 0.5)],
                vec![0.05, 0.1],
                Rgb::BLUE,
            ))
            .with_series(Series::line(
                "fit",
                vec![(-10.0, -0.2), (0.0, f64::NAN), (10.0, 0.5)],
                Rgb::RED,
            ))
            .with_series(
                Series::band(
                    "band",
                    vec![(-5.0, 0.0), (5.0, 0.1)],
                    vec![0.02],
                    Rgb::GREEN,
                )
                .unlabelled(),
            )
    }

    #[test]
    fn a_chart_renders_to_png_and_svg_with_its_labels() {
        let dir = tempfile::tempdir().unwrap();
        chart().save(&dir.path().join("fig")).unwrap();
        let png = std::fs::read(dir.path().join("fig.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.path().join("fig.svg")).unwrap();
        for text in ["STDP window", "Δt (ms)", "ΔW (per ms)", "sim", "fit"] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        assert!(
            !svg.contains(">band<"),
            "an unlabelled series must stay out of the legend"
        );
    }

    #[test]
    fn tick_labels_drop_trailing_zeros() {
        assert_eq!(tick_label(-100.0, 200.0), "-100");
        assert_eq!(tick_label(0.25, 1.0), "0.25");
        assert_eq!(tick_label(0.0, 1.0), "0");
        assert_eq!(tick_label(3.47e-18, 0.07), "0");
        assert_eq!(tick_label(12.5, 100.0), "12.5");
        assert_eq!(tick_label(0.00001, 0.0001), "1.00e-5");
    }

    #[test]
    fn ranges_cover_the_error_bars_and_never_collapse() {
        let ((x0, x1), (y0, y1)) = chart().ranges();
        assert!(x0 < -10.0 && x1 > 10.0);
        assert!(y0 < -0.25 && y1 > 0.6);
        let flat = LineChart::new("", "", "").with_series(Series::points(
            "p",
            vec![(1.0, 2.0)],
            Rgb::BLACK,
        ));
        let ((a, b), (c, d)) = flat.ranges();
        assert!(a < 1.0 && b > 1.0 && c < 2.0 && d > 2.0);
        let empty = LineChart::new("", "", "");
        assert_eq!(empty.ranges(), ((0.0, 1.0), (0.0, 1.0)));
        let mut bad = flat.clone();
        bad.x_range = Some((3.0, 3.0));
        bad.y_range = Some((f64::NAN, 1.0));
        assert_eq!(
            bad.ranges(),
            flat.ranges(),
            "an empty or NaN range falls back to the data's"
        );
    }
}
