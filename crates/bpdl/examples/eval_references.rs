//! Trains (or reloads) the evaluation classifier and prints the sample-quality scores of two
//! references: 10,000 training images against the 10,000 test images, and two random halves of
//! the test set against each other.
//!
//! ```text
//! cargo run --release -p bpdl --example eval_references -- mnist /work/shared/data/mnist /tmp/bpdl-eval
//! cargo run --release -p bpdl --example eval_references -- fashion-mnist /usr/share/datasets/fashion-mnist /tmp/bpdl-eval
//! ```
//!
//! Optional 4th and 5th arguments override the epochs and the learning rate (to compare settings
//! on the validation split).

use std::path::PathBuf;
use std::time::Instant;

use bpdl::data::{Dataset, Mnist};
use bpdl::eval::classifier::{ClassifierSettings, load_or_train_with};
use bpdl::eval::quality::{random_halves, score, select_rows};
use bpdl::rng::Seed;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dataset: Dataset = args.first().map_or("mnist", String::as_str).parse()?;
    let dir = PathBuf::from(
        args.get(1)
            .map_or("/work/shared/data/mnist", String::as_str),
    );
    let cache = PathBuf::from(args.get(2).map_or("/tmp/bpdl-eval", String::as_str));
    let mut settings = ClassifierSettings::default();
    if let Some(e) = args.get(3) {
        settings.epochs = e.parse()?;
    }
    if let Some(lr) = args.get(4) {
        settings.learning_rate = lr.parse()?;
    }
    let dev = bpdl::Device::cpu(0)?;
    let data = Mnist::load(dataset, &dir)?;
    let (clf, info) = load_or_train_with(&dev, &data, &cache, 1, &settings)?;
    println!("{}", serde_json::to_string(&info)?);

    let started = Instant::now();
    let train = select_rows(data.train.images.view(), &(0..10_000).collect::<Vec<_>>());
    let s = score(&dev, &clf, train.view(), data.test.images.view())?;
    println!(
        "train[..10000] vs test: {} ({:.1} s)",
        serde_json::to_string(&s)?,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let (a, b) = random_halves(data.test.len(), &mut Seed(1).stream("test-halves"));
    let (a, b) = (
        select_rows(data.test.images.view(), &a),
        select_rows(data.test.images.view(), &b),
    );
    let s = score(&dev, &clf, a.view(), b.view())?;
    println!(
        "test half A vs half B: {} ({:.1} s)",
        serde_json::to_string(&s)?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
