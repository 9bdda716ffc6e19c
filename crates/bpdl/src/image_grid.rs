//! Grids of grayscale images as PNG (the paper's Figs. 3 and 5): each row of a matrix is one
//! image, values in [0, 1] (clipped), laid out left to right, top to bottom.

use std::path::Path;

use ndarray::ArrayView2;

use crate::error::{Error, Result};
use crate::run::write_atomic;

/// Layout of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    /// Height and width of one image in pixels.
    pub image: (usize, usize),
    /// Images per grid row.
    pub columns: usize,
    /// Each pixel is drawn as a `scale × scale` block.
    pub scale: usize,
    /// Gap between images, in output pixels (drawn mid-gray).
    pub pad: usize,
}

impl GridLayout {
    /// 28×28 images, `columns` per row, magnified 2×, 2-pixel gaps.
    pub fn mnist(columns: usize) -> Self {
        Self {
            image: (28, 28),
            columns,
            scale: 2,
            pad: 2,
        }
    }

    /// Square images of `pixels` values (28×28 for MNIST, 8×8 for 64), laid out like
    /// [`GridLayout::mnist`]; `None` when `pixels` is not a square.
    pub fn square(pixels: usize, columns: usize) -> Option<Self> {
        let side = (pixels as f64).sqrt().round() as usize;
        (side > 0 && side * side == pixels).then_some(Self {
            image: (side, side),
            ..Self::mnist(columns)
        })
    }
}

/// Renders the rows of `images` into an 8-bit grayscale buffer; returns (width, height, pixels).
pub fn render(images: ArrayView2<'_, f32>, layout: GridLayout) -> Result<(usize, usize, Vec<u8>)> {
    let (h, w) = layout.image;
    if images.ncols() != h * w {
        return Err(Error::Shape {
            op: "image grid",
            expected: format!("rows of {h}×{w} = {} pixels", h * w),
            got: format!("rows of {}", images.ncols()),
        });
    }
    let cols = layout.columns.max(1);
    let rows = images.nrows().div_ceil(cols).max(1);
    let (cell_h, cell_w) = (h * layout.scale + layout.pad, w * layout.scale + layout.pad);
    let (width, height) = (cols * cell_w + layout.pad, rows * cell_h + layout.pad);
    let mut buf = vec![128u8; width * height];
    for (k, img) in images.rows().into_iter().enumerate() {
        let (gy, gx) = (k / cols, k % cols);
        let (oy, ox) = (layout.pad + gy * cell_h, layout.pad + gx * cell_w);
        for (p, &v) in img.iter().enumerate() {
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let (py, px) = (p / w, p % w);
            for dy in 0..layout.scale {
                let row = (oy + py * layout.scale + dy) * width;
                for dx in 0..layout.scale {
                    buf[row + ox + px * layout.scale + dx] = g;
                }
            }
        }
    }
    Ok((width, height, buf))
}

/// Writes the grid as a PNG file, atomically.
pub fn write_png(path: &Path, images: ArrayView2<'_, f32>, layout: GridLayout) -> Result<()> {
    let (_, _, bytes) = encode_png(images, layout, path)?;
    write_atomic(path, &bytes)
}

/// The grid as an 8-bit grayscale PNG in memory: (width, height, PNG bytes); `path` is the file
/// the bytes are meant for, named in errors.
pub fn encode_png(
    images: ArrayView2<'_, f32>,
    layout: GridLayout,
    path: &Path,
) -> Result<(usize, usize, Vec<u8>)> {
    let (width, height, pixels) = render(images, layout)?;
    let encode = || -> std::result::Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&pixels)?;
            writer.finish()?;
        }
        Ok(out)
    };
    let bytes = encode().map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("cannot encode PNG: {e}"),
        hint: "report this as a bug".into(),
    })?;
    Ok((width, height, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn square_layouts_exist_only_for_square_pixel_counts() {
        assert_eq!(GridLayout::square(784, 10).map(|g| g.image), Some((28, 28)));
        assert_eq!(GridLayout::square(64, 10).map(|g| g.image), Some((8, 8)));
        assert!(GridLayout::square(63, 10).is_none());
        assert!(GridLayout::square(0, 10).is_none());
    }

    #[test]
    fn pixels_land_where_the_layout_says() {
        // two 1×2 images side by side, scale 1, pad 1: width = 2·3 + 1 = 7, height = 3
        let imgs = array![[0.0f32, 1.0], [0.5, 2.0]];
        let layout = GridLayout {
            image: (1, 2),
            columns: 2,
            scale: 1,
            pad: 1,
        };
        let (w, h, buf) = render(imgs.view(), layout).unwrap();
        assert_eq!((w, h), (7, 3));
        let row1 = &buf[w..2 * w];
        assert_eq!(row1, &[128, 0, 255, 128, 128, 255, 128]);
    }
}
