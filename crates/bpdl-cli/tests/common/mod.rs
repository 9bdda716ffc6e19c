//! Helpers shared by the binary's end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
/// Runs the real binary with `args`; `env` is applied on top of the test's environment
/// (`(name, None)` removes a variable).
pub fn bpdl(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpdl"));
    cmd.args(args);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("the bpdl binary runs")
}

/// The real MNIST folder for a test that needs it. Such a test is never skipped in silence: it
/// fails, saying what to set, when the data is absent (CI always has it: `.ci/run` sets
/// `BPDL_DATA_DIR`).
#[allow(dead_code)] // not every test file needs the data
pub fn require_mnist() -> PathBuf {
    mnist_dir().expect(
        "this test needs the real MNIST: set BPDL_DATA_DIR to a folder holding the four official \
         files (or put them in ../shared/data/mnist beside the checkout)",
    )
}

/// The real MNIST folder: `$BPDL_DATA_DIR`, else `../shared/data/mnist` beside the checkout.
#[allow(dead_code)]
pub fn mnist_dir() -> Option<PathBuf> {
    [
        std::env::var_os("BPDL_DATA_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.join("train-images-idx3-ubyte.gz").is_file())
}
