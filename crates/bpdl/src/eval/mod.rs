//! Evaluation: the inference curve of Fig. 4 ([`inference_curve()`]).

pub mod inference_curve;

pub use inference_curve::{InferenceCurve, inference_curve};
