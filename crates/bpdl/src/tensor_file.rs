//! Named f32 tensors in safetensors files (readable by PyTorch's `safetensors.torch.load_file`),
//! with string metadata, written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::run::write_atomic;

/// Collects tensors and metadata, then writes one safetensors file.
#[derive(Debug, Default)]
pub struct TensorWriter {
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl TensorWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a matrix.
    pub fn matrix(&mut self, name: impl Into<String>, m: ArrayView2<'_, f32>) {
        let shape = vec![m.nrows(), m.ncols()];
        self.tensors.push((name.into(), shape, le_bytes(m.iter())));
    }

    /// Adds a vector.
    pub fn vector(&mut self, name: impl Into<String>, v: ArrayView1<'_, f32>) {
        self.tensors
            .push((name.into(), vec![v.len()], le_bytes(v.iter())));
    }

    /// Adds a metadata entry.
    pub fn meta(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// Serialises everything.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let views: Vec<(String, TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::Checkpoint {
                        path: PathBuf::from("(memory)"),
                        problem: format!("cannot encode tensor `{name}`: {e}"),
                        hint: "report this as a bug".into(),
                    })
            })
            .collect::<Result<_>>()?;
        safetensors::tensor::serialize(views, Some(self.metadata.clone())).map_err(|e| {
            Error::Checkpoint {
                path: PathBuf::from("(memory)"),
                problem: format!("cannot serialise: {e}"),
                hint: "report this as a bug".into(),
            }
        })
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }
}

fn le_bytes<'a>(values: impl Iterator<Item = &'a f32>) -> Vec<u8> {
    values.flat_map(|v| v.to_le_bytes()).collect()
}

/// A safetensors file read into memory.
#[derive(Debug)]
pub struct TensorReader {
    path: PathBuf,
    bytes: Vec<u8>,
    metadata: HashMap<String, String>,
}

impl TensorReader {
    /// Reads and validates the header of `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::io_hint(
                path,
                "reading",
                e,
                "is the path right? (a run folder holds checkpoint.safetensors)",
            )
        })?;
        Self::from_bytes(path, bytes)
    }

    /// Validates the bytes of a safetensors file already in memory (`path` only names it in
    /// errors): the header and the layout of every tensor are checked here, once, so every
    /// tensor lies inside `bytes` and later lookups allocate at most its size.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            problem: format!("not a safetensors file ({e})"),
            hint: "the file is damaged or of another kind".into(),
        })?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        // validate the whole layout once, so later lookups cannot fail on the format
        SafeTensors::deserialize(&bytes).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            problem: format!("invalid safetensors layout ({e})"),
            hint: "the file is damaged (truncated?)".into(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            metadata,
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata entry, or an error naming it.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.error(format!("metadata entry `{key}` is missing")))
    }

    /// A metadata entry, if present.
    pub fn meta_opt(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// True when the file holds a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.tensors().is_ok_and(|t| t.names().contains(&name))
    }

    /// The shape of tensor `name` (without reading its data), or an error naming it.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let st = self.tensors()?;
        let t = st
            .tensor(name)
            .map_err(|_| self.error(format!("tensor `{name}` is missing")))?;
        Ok(t.shape().to_vec())
    }

    fn tensors(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.error(format!("invalid safetensors layout ({e})")))
    }

    fn raw(&self, name: &str, rank: usize) -> Result<(Vec<usize>, Vec<f32>)> {
        let st = self.tensors()?;
        let t = st
            .tensor(name)
            .map_err(|_| self.error(format!("tensor `{name}` is missing")))?;
        if t.dtype() != Dtype::F32 {
            return Err(self.error(format!("tensor `{name}` is {:?}, expected F32", t.dtype())));
        }
        if t.shape().len() != rank {
            return Err(self.error(format!(
                "tensor `{name}` has shape {:?}, expected rank {rank}",
                t.shape()
            )));
        }
        let values = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((t.shape().to_vec(), values))
    }

    /// A matrix; `shape` (when given) must match.
    pub fn matrix(&self, name: &str, shape: Option<(usize, usize)>) -> Result<Array2<f32>> {
        let (dims, values) = self.raw(name, 2)?;
        if let Some((r, c)) = shape
            && dims != [r, c]
        {
            return Err(self.error(format!(
                "tensor `{name}` has shape {dims:?}, expected [{r}, {c}]"
            )));
        }
        Array2::from_shape_vec((dims[0], dims[1]), values)
            .map_err(|e| self.error(format!("tensor `{name}`: {e}")))
    }

    /// A vector; `len` (when given) must match.
    pub fn vector(&self, name: &str, len: Option<usize>) -> Result<Array1<f32>> {
        let (dims, values) = self.raw(name, 1)?;
        if let Some(n) = len
            && dims[0] != n
        {
            return Err(self.error(format!(
                "tensor `{name}` has length {}, expected {n}",
                dims[0]
            )));
        }
        Ok(Array1::from(values))
    }

    /// An [`Error::Checkpoint`] about this file.
    pub fn error(&self, problem: String) -> Error {
        Error::Checkpoint {
            path: self.path.clone(),
            problem,
            hint: "the file does not match what this bpdl version writes; train again or use the \
                   bpdl version that wrote it"
                .into(),
        }
    }
}
