//! The paper's reference numbers (Bengio et al. 2015, §8): the Parzen-window log-likelihood of
//! GENERATE and of ancestral sampling on the MNIST test set, and the literature rows its table
//! quotes. All in nats; higher is better.

use serde::{Deserialize, Serialize};

/// GENERATE (Algorithm 2), the paper's headline number.
pub const GENERATE: f64 = 236.0;
/// Ancestral sampling of the same model.
pub const ANCESTRAL: f64 = 126.0;
/// GENERATE − ancestral in the paper (its claim that inference-based sampling helps).
pub const GAP: f64 = GENERATE - ANCESTRAL;
/// The adversarial nets' score, the best earlier row of the paper's table.
pub const GAN: f64 = 225.0;

/// One row of the literature the paper's table quotes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiteratureRow {
    /// The model.
    pub model: String,
    /// Where the number comes from.
    pub source: String,
    /// Mean test log-likelihood.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

/// The literature rows of the paper's table: (model, source, mean, s.e.).
pub const LITERATURE: [(&str, &str, f64, f64); 4] = [
    ("DBN", "Bengio et al. 2013 (GAN paper, Table 1)", 138.0, 2.0),
    (
        "Stacked contractive auto-encoder",
        "Rifai et al. 2011",
        121.0,
        1.6,
    ),
    ("Deep GSN", "Bengio et al. 2014", 214.0, 1.1),
    ("Adversarial nets", "Goodfellow et al. 2014", GAN, 2.0),
];

/// The paper's numbers as recorded in `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperNumbers {
    /// [`GENERATE`].
    pub generate: f64,
    /// [`ANCESTRAL`].
    pub ancestral: f64,
    /// [`LITERATURE`].
    pub literature: Vec<LiteratureRow>,
}

impl Default for PaperNumbers {
    fn default() -> Self {
        Self {
            generate: GENERATE,
            ancestral: ANCESTRAL,
            literature: LITERATURE
                .iter()
                .map(|&(model, source, mean, se)| LiteratureRow {
                    model: model.into(),
                    source: source.into(),
                    mean,
                    se,
                })
                .collect(),
        }
    }
}
