//! The IDX container of the MNIST files (LeCun et al.): a big-endian header
//! `[0, 0, type, ndims]`, `ndims` big-endian `u32` dimensions, then `Π dims` payload bytes.
//!
//! Only the unsigned-byte type (0x08) is used by MNIST and Fashion-MNIST, so the magic number of
//! an image file is `0x00000803` (3 dimensions: count, rows, columns) and of a label file
//! `0x00000801` (1 dimension: count). Files are read whole, gunzipped transparently when their name
//! ends in `.gz`, and checked for the exact payload length.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The magic number of an unsigned-byte IDX file with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an unsigned-byte IDX file with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A decoded IDX file: its dimensions and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The file it came from.
    pub path: PathBuf,
    /// The dimensions, outermost first (`[count, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// `Π dims` bytes, row-major.
    pub data: Vec<u8>,
}

impl Idx {
    /// Reads and validates an IDX file whose magic number must be `magic`; `kind` names it in
    /// errors ("images" or "labels").
    pub fn read(path: &Path, magic: u32, kind: &'static str) -> Result<Self> {
        let bytes = read_maybe_gz(path)?;
        Self::parse(path, &bytes, magic, kind)
    }

    /// Validates the bytes of an IDX file already in memory (`path` only names it in errors).
    pub fn parse(path: &Path, bytes: &[u8], magic: u32, kind: &'static str) -> Result<Self> {
        let too_short = |what: &str| Error::BadFile {
            path: path.to_path_buf(),
            problem: format!(
                "file ends inside the IDX header ({what}; {} bytes)",
                bytes.len()
            ),
            hint: "the file is truncated: replace it with the official file".into(),
        };
        let header = bytes.get(..4).ok_or_else(|| too_short("magic number"))?;
        let found = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if found != magic {
            return Err(Error::BadMagic {
                path: path.to_path_buf(),
                kind,
                expected: magic,
                found,
            });
        }
        let ndims = (magic & 0xff) as usize;
        let dims_end = 4 + 4 * ndims;
        let dim_bytes = bytes
            .get(4..dims_end)
            .ok_or_else(|| too_short("dimensions"))?;
        let dims: Vec<usize> = dim_bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        if dims.iter().skip(1).any(|&d| d == 0) {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("a dimension is zero: {dims:?}"),
                hint: "the header is corrupt: replace it with the official file".into(),
            });
        }
        let expected = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| Error::BadFile {
                path: path.to_path_buf(),
                problem: format!("dimensions {dims:?} overflow"),
                hint: "the header is corrupt: replace it with the official file".into(),
            })?;
        let payload = &bytes[dims_end..];
        if payload.len() as u64 != expected {
            return Err(Error::BadLength {
                path: path.to_path_buf(),
                expected,
                found: payload.len() as u64,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            dims,
            data: payload.to_vec(),
        })
    }
}

/// Reads a whole file, gunzipping it when its name ends in `.gz`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "put the four official files in that folder"
        } else if e.kind() == std::io::ErrorKind::PermissionDenied {
            "check the file's permissions"
        } else {
            ""
        };
        Error::io_hint(path, "reading", e, hint)
    })?;
    if !is_gz_name(path) {
        return Ok(raw);
    }
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            problem: "named .gz but not a gzip file (no 1f 8b signature)".into(),
            hint: "replace it with the official file (a gunzipped file must not end in .gz)".into(),
        });
    }
    let mut out = Vec::with_capacity(raw.len() * 5);
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            problem: format!("the gzip stream is corrupt or truncated ({e})"),
            hint: "replace it with the official file".into(),
        })?;
    Ok(out)
}

fn is_gz_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Encodes an IDX file (used by tests and tools that write tiny datasets).
pub fn encode(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("mem.idx")
    }

    #[test]
    fn a_good_image_file_round_trips() {
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let bytes = encode(IMAGES_MAGIC, &[2, 3, 4], &data);
        let idx = Idx::parse(&p(), &bytes, IMAGES_MAGIC, "images").unwrap();
        assert_eq!(idx.dims, vec![2, 3, 4]);
        assert_eq!(idx.data, data);
    }

    #[test]
    fn the_wrong_magic_number_is_reported_with_both_values() {
        let bytes = encode(LABELS_MAGIC, &[3], &[1, 2, 3]);
        match Idx::parse(&p(), &bytes, IMAGES_MAGIC, "images") {
            Err(Error::BadMagic {
                expected, found, ..
            }) => {
                assert_eq!(expected, IMAGES_MAGIC);
                assert_eq!(found, LABELS_MAGIC);
            }
            other => panic!("expected BadMagic, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_payload_reports_expected_and_found_lengths() {
        let bytes = encode(IMAGES_MAGIC, &[2, 2, 2], &[0; 7]);
        match Idx::parse(&p(), &bytes, IMAGES_MAGIC, "images") {
            Err(Error::BadLength {
                expected, found, ..
            }) => assert_eq!((expected, found), (8, 7)),
            other => panic!("expected BadLength, got {other:?}"),
        }
    }

    #[test]
    fn trailing_bytes_are_rejected_too() {
        let bytes = encode(LABELS_MAGIC, &[2], &[0; 3]);
        assert!(matches!(
            Idx::parse(&p(), &bytes, LABELS_MAGIC, "labels"),
            Err(Error::BadLength {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_header_cut_short_is_an_error_not_a_panic() {
        for n in 0..16 {
            let bytes = encode(IMAGES_MAGIC, &[1, 1, 1], &[0])[..n].to_vec();
            assert!(
                Idx::parse(&p(), &bytes, IMAGES_MAGIC, "images").is_err(),
                "{n} bytes"
            );
        }
    }
}
