//! One module per subcommand.

pub mod data;
pub mod infer;
pub mod train;
