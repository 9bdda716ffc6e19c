//! MNIST and Fashion-MNIST: the four official IDX files, split the Montreal way.
//!
//! * train = the first 50,000 training images,
//! * validation = the last 10,000 training images (used to choose the Parzen σ, gaps G8/G11),
//! * test = the 10,000 test images.
//!
//! Pixels are scaled to `[0, 1]` (divide by 255; no binarisation: the Parzen comparison of the
//! paper uses real-valued MNIST, gap S2). Labels are kept.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::idx::{IMAGES_MAGIC, Idx, LABELS_MAGIC};
use crate::backend::Matrix;
use crate::error::{Error, Result};

/// A dataset bpdl knows how to find, check and fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    /// LeCun, Cortes & Burges' handwritten digits.
    Mnist,
    /// Xiao, Rasul & Vollgraf's (2017) Zalando article images, same format.
    FashionMnist,
}

/// One of the four files of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct OfficialFile {
    /// The file name on the mirrors (always gzipped there).
    pub name: &'static str,
    /// MD5 of the official `.gz` file.
    pub md5: &'static str,
}

const MNIST_FILES: [OfficialFile; 4] = [
    OfficialFile {
        name: "train-images-idx3-ubyte.gz",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    OfficialFile {
        name: "train-labels-idx1-ubyte.gz",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    OfficialFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    OfficialFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

const FASHION_FILES: [OfficialFile; 4] = [
    OfficialFile {
        name: "train-images-idx3-ubyte.gz",
        md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    },
    OfficialFile {
        name: "train-labels-idx1-ubyte.gz",
        md5: "25c81989df183df01b3e8a0aad5dffbe",
    },
    OfficialFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "bef4ecab320f06d8554ea6380940ec79",
    },
    OfficialFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "bb300cfdad3c16e7a12a480ee83cd310",
    },
];

impl Dataset {
    /// The name used in configs and folder names (`mnist`, `fashion-mnist`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// The four files: train images, train labels, test images, test labels.
    pub fn files(self) -> &'static [OfficialFile; 4] {
        match self {
            Self::Mnist => &MNIST_FILES,
            Self::FashionMnist => &FASHION_FILES,
        }
    }

    /// Public mirrors, tried in order (each + file name is a download URL).
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            Self::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "https://yann.lecun.com/exdb/mnist/",
            ],
            Self::FashionMnist => &[
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
            ],
        }
    }

    /// Folders searched after `./data/<name>/` when no folder was given (the Debian package
    /// `dataset-fashion-mnist` installs Fashion-MNIST in `/usr/share/datasets/fashion-mnist`).
    pub fn system_dirs(self) -> &'static [&'static str] {
        match self {
            Self::Mnist => &[],
            Self::FashionMnist => &["/usr/share/datasets/fashion-mnist"],
        }
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dataset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" | "fashion" => Ok(Self::FashionMnist),
            _ => Err(Error::Usage(format!(
                "unknown dataset `{s}`: use `mnist` or `fashion-mnist`"
            ))),
        }
    }
}

/// Where a dataset's files are looked for: `explicit` (the caller's choice), then `$BPDL_DATA_DIR`
/// (unless it holds the *other* dataset, recognised by the official MD5 of its gzipped training
/// labels: `BPDL_DATA_DIR` pointing at MNIST must not make a Fashion-MNIST run train on digits),
/// then `./data/<dataset>/`, then the dataset's system folders when they hold the files.
pub fn resolve_dir(dataset: Dataset, explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("BPDL_DATA_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if holds_another_dataset(dataset, &dir).is_none() {
            return dir;
        }
    }
    let local = default_dir(dataset);
    if find_files(dataset, &local).is_ok() {
        return local;
    }
    for sys in dataset.system_dirs() {
        let sys = PathBuf::from(sys);
        if find_files(dataset, &sys).is_ok() {
            return sys;
        }
    }
    local
}

/// The dataset other than `dataset` whose official gzipped training-label file is in `dir`
/// (recognised by its MD5), if any.
pub fn holds_another_dataset(dataset: Dataset, dir: &Path) -> Option<Dataset> {
    let labels = dir.join("train-labels-idx1-ubyte.gz");
    let md5 = md5_file(&labels).ok()?;
    [Dataset::Mnist, Dataset::FashionMnist]
        .into_iter()
        .filter(|&d| d != dataset)
        .find(|d| d.files().iter().any(|f| f.md5 == md5))
}

/// `./data/<dataset>/`: the default folder of a dataset (where a download puts the files).
pub fn default_dir(dataset: Dataset) -> PathBuf {
    PathBuf::from("data").join(dataset.name())
}

/// The paths of the four files in `dir` (each either gzipped, as published, or gunzipped).
pub fn find_files(dataset: Dataset, dir: &Path) -> Result<[PathBuf; 4]> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::DataMissing(format!(
                "{}: not a directory; pass the folder that holds the four {dataset} files",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(Error::DataMissing(format!(
                "{}: cannot open the {dataset} folder ({e}); put the four official files ({}) \
                 there, or point BPDL_DATA_DIR at a folder that has them",
                dir.display(),
                file_list(dataset)
            )));
        }
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(Error::io_hint(
            dir,
            "listing the directory",
            e,
            "check the folder's permissions",
        ));
    }
    let mut out: [PathBuf; 4] = Default::default();
    for (slot, file) in out.iter_mut().zip(dataset.files()) {
        let gz = dir.join(file.name);
        let raw = dir.join(file.name.trim_end_matches(".gz"));
        *slot = if gz.is_file() {
            gz
        } else if raw.is_file() {
            raw
        } else {
            return Err(Error::DataMissing(format!(
                "{}: {} (or its gunzipped form) is missing; put the four official {dataset} \
                 files ({}) there",
                dir.display(),
                file.name,
                file_list(dataset)
            )));
        };
    }
    Ok(out)
}

/// The four official file names of `dataset`, comma-separated (for messages).
pub fn file_list(dataset: Dataset) -> String {
    dataset
        .files()
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Images and labels of one split.
#[derive(Debug, Clone)]
pub struct Split {
    /// `[count, pixels]`, values in `[0, 1]`.
    pub images: Matrix,
    /// One label (0–9) per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The mean pixel value over the split.
    pub fn mean_pixel(&self) -> f64 {
        let n = self.images.len().max(1) as f64;
        self.images.iter().map(|&v| f64::from(v)).sum::<f64>() / n
    }

    /// The first `n` examples (all when `n` is 0 or larger than the split).
    pub fn head(&self, n: usize) -> Split {
        let n = if n == 0 {
            self.len()
        } else {
            n.min(self.len())
        };
        Split {
            images: self.images.slice(ndarray::s![..n, ..]).to_owned(),
            labels: self.labels[..n].to_vec(),
        }
    }
}

/// A dataset split into train / validation / test.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Which dataset.
    pub dataset: Dataset,
    /// The folder it was read from.
    pub dir: PathBuf,
    /// The first `n_train − validation` training images.
    pub train: Split,
    /// The last `validation` training images.
    pub validation: Split,
    /// The test images.
    pub test: Split,
    /// Image height and width.
    pub image_shape: (usize, usize),
}

/// One of the three splits of a [`Mnist`] (`train`, `validation`, `test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    /// The first 50,000 training images.
    Train,
    /// The last 10,000 training images.
    Validation,
    /// The 10,000 test images.
    Test,
}

impl SplitName {
    /// The name in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }
}

impl std::str::FromStr for SplitName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Self::Train),
            "validation" => Ok(Self::Validation),
            "test" => Ok(Self::Test),
            _ => Err(Error::Usage(format!(
                "unknown split `{s}`: use train, validation or test"
            ))),
        }
    }
}

/// Number of training images held out as the validation split in the standard protocol.
pub const VALIDATION_COUNT: usize = 10_000;

impl Mnist {
    /// The split called `name`.
    pub fn split(&self, name: SplitName) -> &Split {
        match name {
            SplitName::Train => &self.train,
            SplitName::Validation => &self.validation,
            SplitName::Test => &self.test,
        }
    }

    /// Loads `dataset` from `dir` with the standard split (last 10,000 training images =
    /// validation).
    pub fn load(dataset: Dataset, dir: &Path) -> Result<Self> {
        Self::load_with_validation(dataset, dir, VALIDATION_COUNT)
    }

    /// Loads `dataset` from `dir`, holding out the last `validation` training images.
    pub fn load_with_validation(dataset: Dataset, dir: &Path, validation: usize) -> Result<Self> {
        let [tr_img, tr_lab, te_img, te_lab] = find_files(dataset, dir)?;
        let (train_all, shape) = read_pair(&tr_img, &tr_lab)?;
        let (test, test_shape) = read_pair(&te_img, &te_lab)?;
        if shape != test_shape {
            return Err(Error::Mismatch {
                what: format!("{} and {}", tr_img.display(), te_img.display()),
                problem: format!("training images are {shape:?}, test images {test_shape:?}"),
            });
        }
        let n = train_all.len();
        if n <= validation {
            return Err(Error::BadFile {
                path: tr_img,
                problem: format!(
                    "{n} training images; at least {} are needed to hold out {validation} for \
                     validation",
                    validation + 1
                ),
                hint: "use the full official training file".into(),
            });
        }
        let cut = n - validation;
        let train = Split {
            images: train_all.images.slice(ndarray::s![..cut, ..]).to_owned(),
            labels: train_all.labels[..cut].to_vec(),
        };
        let validation = Split {
            images: train_all.images.slice(ndarray::s![cut.., ..]).to_owned(),
            labels: train_all.labels[cut..].to_vec(),
        };
        Ok(Self {
            dataset,
            dir: dir.to_path_buf(),
            train,
            validation,
            test,
            image_shape: shape,
        })
    }

    /// Number of pixels per image.
    pub fn pixels(&self) -> usize {
        self.image_shape.0 * self.image_shape.1
    }
}

fn read_pair(images: &Path, labels: &Path) -> Result<(Split, (usize, usize))> {
    let img = Idx::read(images, IMAGES_MAGIC, "images")?;
    let lab = Idx::read(labels, LABELS_MAGIC, "labels")?;
    Split::from_idx(img, lab)
}

impl Split {
    /// Pairs an images file (`[count, rows, cols]`) with its labels file (`[count]`), checking
    /// that the counts agree; pixels are scaled to `[0, 1]`. Returns the split and the image
    /// shape `(rows, cols)`.
    pub fn from_idx(images: Idx, labels: Idx) -> Result<(Self, (usize, usize))> {
        let [n, rows, cols] = images.dims[..] else {
            return Err(Error::BadFile {
                path: images.path,
                problem: format!("{} dimensions, expected 3", images.dims.len()),
                hint: "pass an images file (magic number 0x00000803)".into(),
            });
        };
        let [n_labels] = labels.dims[..] else {
            return Err(Error::BadFile {
                path: labels.path,
                problem: format!("{} dimensions, expected 1", labels.dims.len()),
                hint: "pass a labels file (magic number 0x00000801)".into(),
            });
        };
        if n_labels != n {
            return Err(Error::Mismatch {
                what: format!("{} and {}", images.path.display(), labels.path.display()),
                problem: format!("{n} images but {n_labels} labels"),
            });
        }
        let shape_error = |problem: String| Error::BadFile {
            path: images.path.clone(),
            problem,
            hint: "replace it with the official file".into(),
        };
        let pixels_per_image = rows
            .checked_mul(cols)
            .ok_or_else(|| shape_error(format!("{rows} × {cols} pixels overflow")))?;
        let pixels = Array2::from_shape_vec((n, pixels_per_image), images.data)
            .map_err(|e| {
                shape_error(format!(
                    "cannot shape the payload as [{n}, {pixels_per_image}]: {e}"
                ))
            })?
            .mapv(|b| f32::from(b) / 255.0);
        Ok((
            Self {
                images: pixels,
                labels: labels.data,
            },
            (rows, cols),
        ))
    }
}

/// The MD5 of a file, as lowercase hex.
pub fn md5_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
    Ok(md5_hex(&bytes))
}

/// The MD5 of bytes, as lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_the_empty_string_is_the_rfc_1321_value() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
