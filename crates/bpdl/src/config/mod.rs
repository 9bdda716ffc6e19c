//! Typed TOML configuration: defaults in code, a file on top, `key=value` overrides on top of that,
//! validated once.
//!
//! [`resolve`] starts from `T::default()` ([`resolve_from`] and [`resolve_on`] from any base)
//! serialised to a TOML value tree, merges the file's tables
//! into it (arrays are replaced whole), applies each override at its dotted key
//! (`inference.steps=20`, `model.layers[1].size=200`), and only then deserialises into `T`
//! with unknown keys denied, so a typo is an error naming the key, in a file or in an override.
//! Finally [`Validate::validate`] checks the ranges and names the key of any value out of range.

mod learner;
pub mod spiking;
pub mod spiking_inference;
pub mod supervised;

pub use learner::{
    Acceptance, ConditionalVariance, Config, CorruptionConfig, DataConfig, GenerateConfig,
    InferenceConfig, InitScheme, LateralKind, LateralPriorConfig, LayerConfig, LearningConfig,
    ModelConfig, Optimizer, Preset, PriorCovariance, TopDown, TrainConfig, ValidConfig, Weighting,
};
pub use spiking::{Accumulation, LearningRule, SpikingLearningConfig};
pub use spiking_inference::{Dynamics, SpikingInferenceConfig};
pub use supervised::SupervisedConfig;

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::{Error, Result};

/// A configuration that can check its own ranges.
pub trait Validate {
    /// Returns an [`Error::Config`] naming the first key whose value is out of range.
    fn validate(&self) -> Result<()>;
}

/// `Ok(())` if `ok`, else an [`Error::Config`] for `key` with `message` (for `validate`).
pub(crate) fn check(ok: bool, key: impl Into<String>, message: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::config(key, message))
    }
}

/// A finite number above zero.
pub(crate) fn positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Builds a `T` from its defaults, an optional TOML file and `key=value` overrides, then
/// validates it: [`resolve_from`] with `T::default()` as the base.
///
/// ```
/// let cfg: bpdl::Config = bpdl::config::resolve(None, &["train.epochs=3".into()]).unwrap();
/// assert_eq!(cfg.train.epochs, 3);
/// assert_eq!(cfg.train.batch_size, 100); // the paper's default, untouched
/// let err = bpdl::config::resolve::<bpdl::Config>(None, &["train.epoch=3".into()]).unwrap_err();
/// assert!(err.to_string().contains("train.epoch"));
/// ```
pub fn resolve<T>(file: Option<&Path>, overrides: &[String]) -> Result<T>
where
    T: Serialize + DeserializeOwned + Default + Validate,
{
    resolve_from(&T::default(), file, overrides)
}

/// [`resolve`], starting from a learner [`Preset`] when one is given (then `T` must read a
/// [`Config`]: another type is an error naming the first key it lacks).
pub fn resolve_with_preset<T>(
    preset: Option<Preset>,
    file: Option<&Path>,
    overrides: &[String],
) -> Result<T>
where
    T: Serialize + DeserializeOwned + Default + Validate,
{
    match preset {
        Some(p) => convert(&resolve_from::<Config>(&p.config(), file, overrides)?),
        None => resolve(file, overrides),
    }
}

/// Builds a `T` from `base`, an optional TOML file merged on top of it (tables merged, arrays
/// replaced whole) and `key=value` overrides, then validates it. The base goes through a parsed
/// value tree, never through TOML text.
pub fn resolve_from<T>(base: &T, file: Option<&Path>, overrides: &[String]) -> Result<T>
where
    T: Serialize + DeserializeOwned + Validate,
{
    let text = match file {
        Some(path) => {
            Some(std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?)
        }
        None => None,
    };
    resolve_from_text(base, file.zip(text.as_deref()), overrides)
}

/// [`resolve_from`] with the file already read: `file` is its path (which only names it in
/// errors) and its text.
///
/// ```
/// use std::path::Path;
/// let base = bpdl::Config::default();
/// let file = (Path::new("run.toml"), "[train]\nepochs = 4\n");
/// let c = bpdl::config::resolve_from_text(&base, Some(file), &["seed=9".into()]).unwrap();
/// assert_eq!((c.train.epochs, c.seed), (4, 9));
/// let bad = (Path::new("run.toml"), "[train\nepochs = 4\n");
/// let err = bpdl::config::resolve_from_text(&base, Some(bad), &[]).unwrap_err();
/// assert!(err.to_string().contains("run.toml"), "{err}");
/// ```
pub fn resolve_from_text<T>(
    base: &T,
    file: Option<(&Path, &str)>,
    overrides: &[String],
) -> Result<T>
where
    T: Serialize + DeserializeOwned + Validate,
{
    let mut tree = to_tree(base)?;
    if let Some((path, text)) = file {
        let file_tree: Table = toml::from_str(text).map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            problem: format!("not valid TOML: {}", e.message()),
            hint: format!("fix the syntax near {}", span_hint(text, e.span())),
        })?;
        merge(&mut tree, file_tree);
    }
    for o in overrides {
        apply_override(&mut tree, o)?;
    }
    let value: T = from_tree(tree)?;
    value.validate()?;
    Ok(value)
}

/// `base` with `key=value` overrides applied, validated (e.g. a saved run's config with a few
/// settings changed for sampling).
///
/// ```
/// let base = bpdl::Config::default();
/// let c = bpdl::config::resolve_on(&base, &["generate.rounds=5".into()]).unwrap();
/// assert_eq!(c.generate.rounds, 5);
/// assert_eq!(c.seed, base.seed);
/// let err = bpdl::config::resolve_on(&base, &["generate.roundz=5".into()]).unwrap_err();
/// assert!(err.to_string().contains("generate.roundz"));
/// ```
pub fn resolve_on<T>(base: &T, overrides: &[String]) -> Result<T>
where
    T: Serialize + DeserializeOwned + Validate,
{
    resolve_from(base, None, overrides)
}

/// Every combination of sweep axes and variants, as override lists. An axis is
/// `KEY=V1,V2,...` (a list value writes `;` between its elements); a variant is one run's
/// overrides separated by spaces. Each combination takes one value of every axis (in order),
/// then one variant's overrides when there are variants.
///
/// ```
/// let c = bpdl::config::combinations(
///     &["learning.lr=0.1,0.2".into()],
///     &["seed=1 train.epochs=2".into(), "seed=2".into()],
/// ).unwrap();
/// assert_eq!(c.len(), 4);
/// assert_eq!(c[1], ["learning.lr=0.1", "seed=2"]);
/// ```
pub fn combinations(axes: &[String], variants: &[String]) -> Result<Vec<Vec<String>>> {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for axis in axes {
        let (key, values) = axis
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("sweep axis `{axis}`: expected KEY=V1,V2,...")))?;
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.split(',').map(move |v| {
                    let mut c = c.clone();
                    c.push(format!("{}={}", key.trim(), v.replace(';', ",")));
                    c
                })
            })
            .collect();
    }
    if !variants.is_empty() {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                variants.iter().map(move |v| {
                    let mut c = c.clone();
                    c.extend(v.split_whitespace().map(str::to_string));
                    c
                })
            })
            .collect();
    }
    Ok(combos)
}

/// Parses and validates a `T` from TOML text, with `T::default()` under it.
pub fn from_toml_str<T>(text: &str) -> Result<T>
where
    T: Serialize + DeserializeOwned + Default + Validate,
{
    let mut tree = to_tree(&T::default())?;
    let file_tree: Table = toml::from_str(text)
        .map_err(|e| Error::config("(file)", format!("not valid TOML: {}", e.message())))?;
    merge(&mut tree, file_tree);
    let value: T = from_tree(tree)?;
    value.validate()?;
    Ok(value)
}

/// Serialises a config as TOML (what a run writes next to its outputs).
pub fn to_toml_string<T: Serialize>(value: &T) -> Result<String> {
    toml::to_string_pretty(value)
        .map_err(|e| Error::config("(all)", format!("cannot serialise the config: {e}")))
}

/// `value` as another type with the same serialized form (a [`Config`] read back as the type a
/// caller asked for); a field the other type lacks is an error naming it.
pub fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B> {
    from_tree(to_tree(value)?)
}

fn to_tree<T: Serialize>(value: &T) -> Result<Table> {
    match Value::try_from(value) {
        Ok(Value::Table(t)) => Ok(t),
        Ok(_) => Err(Error::config("(all)", "a config must be a table")),
        Err(e) => Err(Error::config(
            "(all)",
            format!("cannot serialise the defaults: {e}"),
        )),
    }
}

fn from_tree<T: DeserializeOwned>(tree: Table) -> Result<T> {
    serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().to_string();
        // For an unknown field the path may end at its parent (depending on the deserializer):
        // name the field itself, once.
        let key = match unknown_field(&message) {
            Some(field) if key == "." => field.to_string(),
            Some(field) if key == field || key.ends_with(&format!(".{field}")) => key,
            Some(field) => format!("{key}.{field}"),
            None => key,
        };
        Error::config(key, message)
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn merge(base: &mut Table, top: Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(t)) if !switches_variant(b, &t) => merge(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The key that names the variant of a tagged table (`kind = "gaussian"`, `kind = "spikes"`: a
/// [`CorruptionConfig`]).
const VARIANT_TAG: &str = "kind";

/// Whether `top` names another variant than `base`: then `top` replaces `base` whole, since the
/// fields of one variant (`std`) are unknown to another (`samples`).
fn switches_variant(base: &Table, top: &Table) -> bool {
    top.get(VARIANT_TAG)
        .is_some_and(|kind| base.get(VARIANT_TAG) != Some(kind))
}

/// One path segment of a dotted key: a table key or an array index.
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn parse_key(key: &str) -> Result<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            if let Ok(i) = name.parse::<usize>() {
                out.push(Segment::Index(i));
            } else {
                out.push(Segment::Key(name));
            }
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| Error::config(key, "unclosed `[` in the key"))?;
            let i = r[..end]
                .parse::<usize>()
                .map_err(|_| Error::config(key, "an index in `[...]` must be a number"))?;
            out.push(Segment::Index(i));
            rest = &r[end + 1..];
        }
        if name.is_empty() && out.is_empty() {
            return Err(Error::config(key, "empty key segment"));
        }
    }
    Ok(out)
}

/// Applies `key=value` to `tree`. The value is read as TOML (`3`, `0.1`, `true`, `"x"`,
/// `[1, 2]`); anything that is not valid TOML is taken as a string (`optimizer=adam`).
pub fn apply_override(tree: &mut Table, assignment: &str) -> Result<()> {
    let mut root = Value::Table(std::mem::take(tree));
    let result = apply_to_value(&mut root, assignment);
    if let Value::Table(t) = root {
        *tree = t;
    }
    result
}

fn apply_to_value(root: &mut Value, assignment: &str) -> Result<()> {
    let (key, raw) = assignment.split_once('=').ok_or_else(|| {
        Error::Usage(format!(
            "override `{assignment}`: expected KEY=VALUE, e.g. train.epochs=5"
        ))
    })?;
    let key = key.trim();
    let raw = raw.trim();
    let value = match toml::from_str::<Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").unwrap_or(Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    };
    let segments = parse_key(key)?;
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| Error::config(key, "empty key"))?;
    let mut node: &mut Value = root;
    for seg in parents {
        node = step(node, seg, key)?;
    }
    match (node, last) {
        (Value::Table(t), Segment::Key(k)) => {
            // another variant: the old variant's fields go (set the new one's after `kind`)
            if *k == VARIANT_TAG && t.get(VARIANT_TAG).is_some_and(|old| *old != value) {
                t.clear();
            }
            t.insert((*k).to_string(), value);
            Ok(())
        }
        (Value::Array(a), Segment::Index(i)) => match a.get_mut(*i) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(Error::config(
                key,
                format!("index {i} is out of range ({} entries)", a.len()),
            )),
        },
        _ => Err(Error::config(key, "this key does not exist")),
    }
}

fn step<'a>(node: &'a mut Value, seg: &Segment<'_>, key: &str) -> Result<&'a mut Value> {
    match (node, seg) {
        (Value::Table(t), Segment::Key(k)) => Ok(t
            .entry((*k).to_string())
            .or_insert_with(|| Value::Table(Table::new()))),
        (Value::Array(a), Segment::Index(i)) => {
            let len = a.len();
            a.get_mut(*i).ok_or_else(|| {
                Error::config(key, format!("index {i} is out of range ({len} entries)"))
            })
        }
        (Value::Table(_), Segment::Index(_)) => {
            Err(Error::config(key, "this key is a table, not a list"))
        }
        (_, _) => Err(Error::config(key, "this key does not hold a table")),
    }
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            // bytes, not `&text[..start]`: a span need not fall on a character boundary
            let before = &text.as_bytes()[..r.start.min(text.len())];
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            format!("line {line}")
        }
        None => "the reported place".into(),
    }
}
