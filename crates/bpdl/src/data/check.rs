//! Checking a dataset on disk: the size and mean pixel of each split, and the MD5 of each file
//! against the official release's (a repackaged copy may differ in its gzip headers only; its
//! contents were validated as IDX when it was loaded).

use std::collections::BTreeMap;

use serde::Serialize;

use super::mnist::{self, Dataset, Mnist, Split};
use crate::error::Result;

/// One split: its size and mean pixel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    /// Images.
    pub count: usize,
    /// Mean pixel value in [0, 1].
    pub mean_pixel: f64,
}

/// One file: where it is and whether its MD5 is the official one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// Its path.
    pub path: String,
    /// Its MD5.
    pub md5: String,
    /// The official release's MD5.
    pub official_md5: &'static str,
    /// Whether they agree.
    pub official: bool,
}

/// What a check of a loaded dataset found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The dataset.
    pub dataset: Dataset,
    /// Its folder.
    pub dir: String,
    /// Rows × columns of an image.
    pub image_shape: [usize; 2],
    /// `train`, `validation`, `test`.
    pub splits: BTreeMap<&'static str, SplitReport>,
    /// Per official file name.
    pub files: BTreeMap<&'static str, FileReport>,
}

/// Checks a loaded dataset: per split the count and mean pixel, per file its MD5 against the
/// official one.
pub fn check(data: &Mnist) -> Result<CheckReport> {
    let dataset = data.dataset;
    let paths = mnist::find_files(dataset, &data.dir)?;
    let mut files = BTreeMap::new();
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
    let split = |s: &Split| SplitReport {
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
    Ok(report)
}
