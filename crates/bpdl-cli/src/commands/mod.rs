//! One module per subcommand.

pub mod bench;
pub mod data;
pub mod eval;
pub mod infer;
pub mod reproduce;
pub mod sample;
pub mod stdp;
pub mod sweep;
pub mod train;
