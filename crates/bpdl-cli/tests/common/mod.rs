//! Helpers shared by the binary's end-to-end tests.

use std::path::{Path, PathBuf};

/// The real MNIST folder: `$BPDL_DATA_DIR`, else `../shared/data/mnist` beside the checkout.
pub fn mnist_dir() -> Option<PathBuf> {
    [
        std::env::var_os("BPDL_DATA_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.join("train-images-idx3-ubyte.gz").is_file())
}
