//! The IDX container of the MNIST files (LeCun et al.): a big-endian header
//! `[0, 0, type, ndims]`, `ndims` big-endian `u32` dimensions, then `Π dims` payload bytes.
//!
//! Only the unsigned-byte type (0x08) is used by MNIST and Fashion-MNIST, so the magic number of
//! an image file is `0x00000803` (3 dimensions: count, rows, columns) and of a label file
//! `0x00000801` (1 dimension: count). Files are read whole, gunzipped transparently when their name
//! ends in `.gz`, and checked for the exact payload length. A header may announce at most
//! [`MAX_PAYLOAD_BYTES`]; nothing is allocated from a header's claim before it is checked.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The magic number of an unsigned-byte IDX file with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an unsigned-byte IDX file with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The largest payload a header may announce: 1 GiB, twenty times MNIST's 47 MB training
/// images. A header that claims more is refused before anything is allocated for it, so a
/// corrupt or hostile file (or a gzip bomb) cannot make bpdl allocate gigabytes.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// Deflate's largest expansion: a 258-byte match coded in 2 bits, so a gzip member never
/// decompresses to more than 1032 times its size (plus a few bytes). Buffers for gunzipped data
/// are reserved up to `min(announced, 1032 × compressed)`, never from the header alone.
const DEFLATE_MAX_RATIO: usize = 1032;

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
    /// errors ("images" or "labels"). A name ending in `.gz` is gunzipped ([`Self::parse_gz`]).
    pub fn read(path: &Path, magic: u32, kind: &'static str) -> Result<Self> {
        let bytes = read_file(path)?;
        Self::from_file_bytes(path, &bytes, magic, kind)
    }

    /// Validates the bytes of a file as [`Self::read`] does, gunzipping them when `path` ends in
    /// `.gz` (`path` only chooses that and names the file in errors).
    pub fn from_file_bytes(
        path: &Path,
        bytes: &[u8],
        magic: u32,
        kind: &'static str,
    ) -> Result<Self> {
        if is_gz_name(path) {
            Self::parse_gz(path, bytes, magic, kind)
        } else {
            Self::parse(path, bytes, magic, kind)
        }
    }

    /// Validates the bytes of an IDX file already in memory (`path` only names it in errors).
    /// Allocates nothing beyond the payload's copy, and only once the length is right.
    pub fn parse(path: &Path, bytes: &[u8], magic: u32, kind: &'static str) -> Result<Self> {
        let header = Header::parse(path, bytes, magic, kind)?;
        let payload = &bytes[header.len..];
        header.check_payload(path, payload.len())?;
        Ok(Self {
            path: path.to_path_buf(),
            dims: header.dims,
            data: payload.to_vec(),
        })
    }

    /// Validates a gzipped IDX file already in memory (`path` only names it in errors). The
    /// header is decompressed and checked first; the payload is then decompressed up to the
    /// length it announces (at most [`MAX_PAYLOAD_BYTES`]) and one byte more, so a gzip bomb is
    /// refused after that many bytes, and memory is reserved only as the stream delivers them.
    pub fn parse_gz(path: &Path, gz: &[u8], magic: u32, kind: &'static str) -> Result<Self> {
        check_gz_signature(path, gz)?;
        let mut decoder = flate2::read::GzDecoder::new(gz);
        // the header: 4 bytes of magic number, then as many dimensions as the magic promises
        let header_len = 4 + 4 * (magic & 0xff) as usize;
        let mut head = Vec::with_capacity(header_len);
        (&mut decoder)
            .take(header_len as u64)
            .read_to_end(&mut head)
            .map_err(|e| corrupt_gz(path, &e))?;
        let header = Header::parse(path, &head, magic, kind)?;
        let mut data = Vec::with_capacity(reserve_for(header.payload, gz.len()));
        decoder
            .take(header.payload + 1)
            .read_to_end(&mut data)
            .map_err(|e| corrupt_gz(path, &e))?;
        header.check_payload(path, data.len())?;
        Ok(Self {
            path: path.to_path_buf(),
            dims: header.dims,
            data,
        })
    }
}

/// The checked header of an IDX file.
struct Header {
    /// Header bytes (magic number and dimensions).
    len: usize,
    dims: Vec<usize>,
    /// `Π dims`, at most [`MAX_PAYLOAD_BYTES`].
    payload: u64,
}

impl Header {
    /// [`Error::BadLength`] unless `found` payload bytes are what the header announces.
    fn check_payload(&self, path: &Path, found: usize) -> Result<()> {
        if found as u64 == self.payload {
            return Ok(());
        }
        Err(Error::BadLength {
            path: path.to_path_buf(),
            expected: self.payload,
            found: found as u64,
        })
    }

    /// Checks the magic number and the dimensions at the start of `bytes` (which may hold more).
    fn parse(path: &Path, bytes: &[u8], magic: u32, kind: &'static str) -> Result<Self> {
        let too_short = |what: &str| Error::BadFile {
            path: path.to_path_buf(),
            problem: format!(
                "file ends inside the IDX header ({what}; {} bytes)",
                bytes.len()
            ),
            hint: "the file is truncated: replace it with the official file".into(),
        };
        let corrupt = |problem: String| Error::BadFile {
            path: path.to_path_buf(),
            problem,
            hint: "the header is corrupt: replace it with the official file".into(),
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
        let len = 4 + 4 * ndims;
        let dim_bytes = bytes.get(4..len).ok_or_else(|| too_short("dimensions"))?;
        let dims: Vec<usize> = dim_bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        if dims.iter().skip(1).any(|&d| d == 0) {
            return Err(corrupt(format!("a dimension is zero: {dims:?}")));
        }
        let payload = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .filter(|&n| n <= MAX_PAYLOAD_BYTES)
            .ok_or_else(|| {
                corrupt(format!(
                    "dimensions {dims:?} announce more than the {MAX_PAYLOAD_BYTES} payload bytes \
                     bpdl accepts"
                ))
            })?;
        Ok(Self { len, dims, payload })
    }
}

/// Bytes to reserve for `announced` bytes of output from `compressed` bytes of gzip: what the
/// header announces, but never more than deflate can produce from that input.
fn reserve_for(announced: u64, compressed: usize) -> usize {
    let most = compressed
        .saturating_mul(DEFLATE_MAX_RATIO)
        .saturating_add(64);
    usize::try_from(announced.saturating_add(1)).map_or(most, |a| a.min(most))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "put the four official files in that folder"
        } else if e.kind() == std::io::ErrorKind::PermissionDenied {
            "check the file's permissions"
        } else {
            ""
        };
        Error::io_hint(path, "reading", e, hint)
    })
}

fn check_gz_signature(path: &Path, raw: &[u8]) -> Result<()> {
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            problem: "named .gz but not a gzip file (no 1f 8b signature)".into(),
            hint: "replace it with the official file (a gunzipped file must not end in .gz)".into(),
        });
    }
    Ok(())
}

fn corrupt_gz(path: &Path, e: &std::io::Error) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        problem: format!("the gzip stream is corrupt or truncated ({e})"),
        hint: "replace it with the official file".into(),
    }
}

/// Reads a whole file, gunzipping it when its name ends in `.gz` ([`gunzip`] with a limit of
/// [`MAX_PAYLOAD_BYTES`] plus a header's worth).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = read_file(path)?;
    if !is_gz_name(path) {
        return Ok(raw);
    }
    gunzip(path, &raw, MAX_PAYLOAD_BYTES + 4 + 4 * 255)
}

/// Decompresses gzip bytes (`path` only names them in errors), refusing a stream that
/// decompresses to more than `limit` bytes once `limit + 1` have come out.
pub fn gunzip(path: &Path, gz: &[u8], limit: u64) -> Result<Vec<u8>> {
    check_gz_signature(path, gz)?;
    // no header to say how much is coming: start at 4× the input and let the buffer grow
    let start = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .min(gz.len().saturating_mul(4));
    let mut out = Vec::with_capacity(start);
    flate2::read::GzDecoder::new(gz)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt_gz(path, &e))?;
    if out.len() as u64 > limit {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            problem: format!("decompresses to more than {limit} bytes"),
            hint: "the file is not what it claims to be: replace it with the official file".into(),
        });
    }
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
