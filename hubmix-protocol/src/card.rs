//! The metadata of a repository card: the YAML front matter of its `README.md`, checked as the
//! Hub checks it (`/api/validate-yaml`, and every commit that adds a `README.md`) and read for
//! the repository info (`cardData`, `tags`, `library_name`, `pipeline_tag`) and the listings'
//! filters.
//!
//! ```
//! use hubmix_protocol::card::{card_data, tags};
//!
//! let data = card_data("---\nlibrary_name: burn\nlicense: mit\n---\n# My model\n").unwrap().unwrap();
//! assert_eq!(data["library_name"], "burn");
//! assert_eq!(tags(&data), ["burn", "license:mit"]);
//! assert!(card_data("---\nlibrary_name: [burn]\n---\n").is_err());
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
pub use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// Most bytes of a card's front matter (the YAML between the `---` lines), by default.
pub const MAX_FRONT_MATTER_BYTES: usize = 1024 * 1024;
/// Most nodes a card's front matter may hold by default, an alias counting as the whole node it
/// repeats: a few hundred bytes of nested aliases would otherwise expand to billions of nodes.
pub const MAX_FRONT_MATTER_NODES: usize = 100_000;
/// Deepest nesting of a card's front matter, by default.
pub const MAX_FRONT_MATTER_DEPTH: usize = 64;
/// Most bytes of text a card's front matter may repeat through aliases, in all: each use of an
/// alias copies the text it names, so one long string named a few thousand times would
/// otherwise build gigabytes while staying under [`MAX_FRONT_MATTER_NODES`].
pub const MAX_FRONT_MATTER_ALIAS_BYTES: usize = 1 << 20;

/// The bounds a card's front matter is read within; checked before any YAML node is built.
/// The default is [`MAX_FRONT_MATTER_BYTES`], [`MAX_FRONT_MATTER_NODES`],
/// [`MAX_FRONT_MATTER_DEPTH`] and [`MAX_FRONT_MATTER_ALIAS_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontMatterLimits {
    /// Most bytes of YAML.
    pub max_bytes: usize,
    /// Most nodes, aliases counted at the size of what they repeat.
    pub max_nodes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most bytes of text repeated through aliases, in all.
    pub max_alias_bytes: usize,
}

impl Default for FrontMatterLimits {
    fn default() -> Self {
        FrontMatterLimits {
            max_bytes: MAX_FRONT_MATTER_BYTES,
            max_nodes: MAX_FRONT_MATTER_NODES,
            max_depth: MAX_FRONT_MATTER_DEPTH,
            max_alias_bytes: MAX_FRONT_MATTER_ALIAS_BYTES,
        }
    }
}

/// Why a card's front matter cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontMatterError {
    /// More bytes of YAML than [`FrontMatterLimits::max_bytes`].
    #[error("the YAML front matter is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// More nodes than [`FrontMatterLimits::max_nodes`], aliases expanded.
    #[error("the YAML front matter expands to more than {max} values (aliases repeat what they name)")]
    TooManyNodes {
        /// The limit.
        max: usize,
    },
    /// Deeper than [`FrontMatterLimits::max_depth`].
    #[error("the YAML front matter nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More text repeated through aliases than [`FrontMatterLimits::max_alias_bytes`].
    #[error("the YAML front matter repeats more than {max} bytes of text through aliases")]
    TooMuchAliasedText {
        /// The limit.
        max: usize,
    },
    /// Not YAML, not closed, or not a mapping: what is wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Why a card's metadata is refused: its front matter cannot be read, or fields the Hub reads
/// have the wrong types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardError {
    /// The front matter cannot be read.
    FrontMatter(FrontMatterError),
    /// Every field that has the wrong type, one message each.
    Fields(Vec<String>),
}

impl CardError {
    /// One message per problem.
    pub fn messages(&self) -> Vec<String> {
        match self {
            CardError::FrontMatter(e) => vec![e.to_string()],
            CardError::Fields(errors) => errors.clone(),
        }
    }
}

/// The card's file name.
pub const README: &str = "README.md";
/// Card fields that must be one string.
const STRING_FIELDS: [&str; 3] = ["library_name", "pipeline_tag", "base_model_relation"];
/// Card fields that may be one string or a list of strings.
const STRING_OR_LIST_FIELDS: [&str; 5] = ["tags", "language", "license", "datasets", "base_model"];

/// Splits a card into its front matter, parsed as a YAML mapping (`None`: the card has none),
/// and its body; or says why the front matter cannot be read. A leading byte-order mark and
/// `\r\n` line ends are accepted. The front matter is bounded by the default
/// [`FrontMatterLimits`].
pub fn split_front_matter(readme: &str) -> Result<(Option<Hash>, &str), String> {
    split_front_matter_within(readme, &FrontMatterLimits::default()).map_err(|e| e.to_string())
}

/// [`split_front_matter`] within `limits`: the YAML is measured (bytes, then nodes and depth
/// from its events, no node built and no alias expanded) before it is loaded.
pub fn split_front_matter_within<'a>(
    readme: &'a str,
    limits: &FrontMatterLimits,
) -> Result<(Option<Hash>, &'a str), FrontMatterError> {
    let text = readme.strip_prefix('\u{feff}').unwrap_or(readme);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Ok((None, text));
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            check_size(yaml, limits)?;
            let docs = YamlLoader::load_from_str(yaml).map_err(|e| {
                FrontMatterError::Invalid(format!("the YAML front matter does not parse: {e}"))
            })?;
            return match docs.into_iter().next() {
                None | Some(Yaml::Null) => Ok((Some(Hash::new()), body)),
                Some(Yaml::Hash(h)) => Ok((Some(h), body)),
                Some(_) => Err(FrontMatterError::Invalid(
                    "the YAML front matter is not a mapping of keys to values".into(),
                )),
            };
        }
        offset += line.len();
        if offset > limits.max_bytes {
            return Err(FrontMatterError::TooLarge {
                max: limits.max_bytes,
            });
        }
    }
    Err(FrontMatterError::Invalid(
        "the YAML front matter opened by '---' is never closed by a '---' line".into(),
    ))
}

/// Refuses YAML that would expand past `limits.max_nodes`, repeat more than
/// `limits.max_alias_bytes` of text through aliases, or nest deeper than `limits.max_depth`,
/// from one pass over its events (no node is built, no alias expanded), so that loading it
/// afterwards is bounded by the limits.
fn check_size(yaml: &str, limits: &FrontMatterLimits) -> Result<(), FrontMatterError> {
    let mut budget = Budget {
        limits: *limits,
        open: Vec::new(),
        anchors: HashMap::new(),
        total: Size::default(),
        alias_bytes: 0,
        error: None,
    };
    Parser::new_from_str(yaml)
        .load(&mut budget, false)
        .map_err(|e| FrontMatterError::Invalid(format!("the YAML front matter does not parse: {e}")))?;
    budget.error.map_or(Ok(()), Err)
}

/// The expanded size of a node: how many nodes, and how many bytes of scalar text.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// The expanded size of a YAML document, counted event by event.
struct Budget {
    limits: FrontMatterLimits,
    /// The open collections: their anchor id (0: none) and their size so far.
    open: Vec<(usize, Size)>,
    /// The size of each anchored node.
    anchors: HashMap<usize, Size>,
    /// Nodes of the finished top-level values.
    total: Size,
    /// Bytes of text repeated through aliases so far.
    alias_bytes: usize,
    error: Option<FrontMatterError>,
}

impl Budget {
    /// A node of `size` is complete: it counts towards its parent, or the document.
    fn finished(&mut self, anchor: usize, size: Size) {
        if anchor != 0 {
            self.anchors.insert(anchor, size);
        }
        let sum = match self.open.last_mut() {
            Some((_, parent)) => {
                parent.add(size);
                parent.nodes
            }
            None => {
                self.total.add(size);
                self.total.nodes
            }
        };
        if sum > self.limits.max_nodes {
            self.error = Some(FrontMatterError::TooManyNodes {
                max: self.limits.max_nodes,
            });
        }
    }
}

impl MarkedEventReceiver for Budget {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Scalar(text, _, anchor, _) => self.finished(
                anchor,
                Size {
                    nodes: 1,
                    bytes: text.len(),
                },
            ),
            Event::Alias(id) => {
                let size = self
                    .anchors
                    .get(&id)
                    .copied()
                    .unwrap_or(Size { nodes: 1, bytes: 0 });
                self.alias_bytes = self.alias_bytes.saturating_add(size.bytes);
                if self.alias_bytes > self.limits.max_alias_bytes {
                    self.error = Some(FrontMatterError::TooMuchAliasedText {
                        max: self.limits.max_alias_bytes,
                    });
                    return;
                }
                self.finished(0, size);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.open.push((anchor, Size { nodes: 1, bytes: 0 }));
                if self.open.len() > self.limits.max_depth {
                    self.error = Some(FrontMatterError::TooDeep {
                        max: self.limits.max_depth,
                    });
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, size)) = self.open.pop() {
                    self.finished(anchor, size);
                }
            }
            _ => {}
        }
    }
}

/// The front matter of a card as JSON (`None`: the card has none), or everything that is wrong
/// with it (the fields the Hub reads must have the right types), within the default
/// [`FrontMatterLimits`].
pub fn card_data(readme: &str) -> Result<Option<Map<String, Value>>, Vec<String>> {
    card_data_within(readme, &FrontMatterLimits::default()).map_err(|e| e.messages())
}

/// [`card_data`] within `limits`.
pub fn card_data_within(
    readme: &str,
    limits: &FrontMatterLimits,
) -> Result<Option<Map<String, Value>>, CardError> {
    let (front, _) = split_front_matter_within(readme, limits).map_err(CardError::FrontMatter)?;
    let Some(front) = front else {
        return Ok(None);
    };
    let Value::Object(data) = to_json(&Yaml::Hash(front)) else {
        unreachable!("a YAML mapping becomes a JSON object")
    };
    let errors = check_fields(&data);
    if errors.is_empty() {
        Ok(Some(data))
    } else {
        Err(CardError::Fields(errors))
    }
}

/// The `tags` a card gives a repository, as the Hub derives them (the listings' `filter` matches
/// these): the card's own tags, its library, its pipeline tag, its languages, `dataset:<id>`
/// for each dataset, `base_model:<id>` for each base model and `license:<id>` for each license.
pub fn tags(data: &Map<String, Value>) -> Vec<String> {
    let mut tags = strings(data.get("tags"));
    for key in ["library_name", "pipeline_tag", "language"] {
        tags.extend(strings(data.get(key)));
    }
    for (key, prefix) in [
        ("datasets", "dataset"),
        ("base_model", "base_model"),
        ("license", "license"),
    ] {
        tags.extend(
            strings(data.get(key))
                .into_iter()
                .map(|v| format!("{prefix}:{v}")),
        );
    }
    let mut seen = std::collections::HashSet::new();
    tags.retain(|t| seen.insert(t.clone()));
    tags
}

/// One string, or every string of a list (anything else: none).
pub fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// What is wrong with the fields the Hub reads.
fn check_fields(data: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    for key in STRING_FIELDS {
        if let Some(v) = data.get(key)
            && !v.is_string()
        {
            errors.push(format!("\"{key}\" must be a string"));
        }
    }
    for key in STRING_OR_LIST_FIELDS {
        match data.get(key) {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => errors.push(format!("\"{key}\" must be a string or a list of strings")),
        }
    }
    errors
}

/// A YAML value as JSON. Keys that are not strings are written as YAML would print them.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(r) => r
            .parse::<f64>()
            .map_or_else(|_| Value::String(r.clone()), Value::from),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => match to_json(other) {
                            Value::String(s) => s,
                            v => v.to_string(),
                        },
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_front_matter_as_json() {
        let card = "---\r\nlibrary_name: burn\r\ntags:\r\n- burn\r\n- hubmix\r\nlicense: mit\r\n\
                    model-index:\r\n- name: mlp\r\n  results: []\r\nepochs: 3\r\nlr: 0.5\r\n\
                    datasets: [alice/rows]\r\nlanguage: [en, fr]\r\n---\r\n# Mlp\r\n";
        let data = card_data(card).unwrap().unwrap();
        assert_eq!(
            Value::Object(data.clone()),
            json!({"library_name": "burn", "tags": ["burn", "hubmix"], "license": "mit",
                   "model-index": [{"name": "mlp", "results": []}], "epochs": 3, "lr": 0.5,
                   "datasets": ["alice/rows"], "language": ["en", "fr"]})
        );
        assert_eq!(
            tags(&data),
            ["burn", "hubmix", "en", "fr", "dataset:alice/rows", "license:mit"]
        );
    }

    #[test]
    fn cards_without_or_with_empty_front_matter() {
        assert_eq!(card_data("# Just text\n---\n").unwrap(), None);
        assert_eq!(card_data("---\n---\nbody").unwrap(), Some(Map::new()));
        assert_eq!(
            card_data("\u{feff}---\ntags: x\n---\n").unwrap().unwrap()["tags"],
            "x"
        );
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |card: &str| card_data(card).unwrap_err().join("; ");
        assert!(err("---\ntags: [a\n").contains("never closed"));
        assert!(
            err("---\ntags: [a\n---\n").contains("does not parse"),
            "{}",
            err("---\ntags: [a\n---\n")
        );
        assert!(err("---\n- a\n- b\n---\n").contains("not a mapping"));
        let both = err("---\nlibrary_name: [burn]\ntags:\n  a: 1\n---\n");
        assert!(both.contains("\"library_name\" must be a string"), "{both}");
        assert!(
            both.contains("\"tags\" must be a string or a list of strings"),
            "{both}"
        );
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused_without_expanding() {
        // Nine levels of ten aliases each: ~10^9 nodes once expanded, 400 bytes as text.
        let mut card = String::from("---\na0: &a0 [x]\n");
        for level in 1..=9 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            card.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        card.push_str("---\n");
        let started = std::time::Instant::now();
        let err = card_data(&card).unwrap_err().join("; ");
        assert!(err.contains("expands to more than 100000"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));

        let deep = format!("---\nx: {}{}\n---\n", "[".repeat(200), "]".repeat(200));
        let err = card_data(&deep).unwrap_err().join("; ");
        assert!(err.contains("nests deeper than 64"), "{err}");

        // One long string named by an alias at every leaf of a small tree: 10,000 copies of
        // 100 kB (1 GB once loaded) from 100 kB of text, under the node limit.
        let mut card = format!("---\ns: &s {}\n", "x".repeat(100_000));
        card.push_str(&format!("a0: &a0 [{}]\n", ["*s"; 10].join(", ")));
        for level in 1..4 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            card.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        card.push_str("---\n");
        // (Not `unwrap_err`: it would print the gigabyte.)
        let err = card_data(&card).err().unwrap_or_default().join("; ");
        assert!(err.contains("repeats more than 1048576 bytes of text"), "{err}");

        // Ordinary aliases still work, and count at their full size.
        let ok = "---\nbase: &b {lr: 0.1, epochs: 3}\nrun1: *b\nrun2: *b\n---\n";
        let data = card_data(ok).unwrap().unwrap();
        assert_eq!(data["run2"]["epochs"], 3);
    }

    #[test]
    fn limits_are_the_callers() {
        let tight = FrontMatterLimits {
            max_bytes: 32,
            max_nodes: 6,
            max_depth: 2,
            max_alias_bytes: 64,
        };
        let within = |card: &str| card_data_within(card, &tight);
        assert!(within("---\na: 1\nb: [x]\n---\n").is_ok());
        assert_eq!(
            within(&format!("---\nlong: {}\n---\n", "x".repeat(40))),
            Err(CardError::FrontMatter(FrontMatterError::TooLarge { max: 32 }))
        );
        // An unclosed front matter is refused once it passes the size, not read to the end.
        let unclosed = format!("---\n{}", "k: v\n".repeat(1_000_000));
        assert_eq!(
            within(&unclosed),
            Err(CardError::FrontMatter(FrontMatterError::TooLarge { max: 32 }))
        );
        assert_eq!(
            within("---\na: [1, 2, 3, 4, 5]\n---\n"),
            Err(CardError::FrontMatter(FrontMatterError::TooManyNodes { max: 6 }))
        );
        assert_eq!(
            within("---\na: [[1]]\n---\n"),
            Err(CardError::FrontMatter(FrontMatterError::TooDeep { max: 2 }))
        );
        // The default limits take what the tight ones refuse.
        assert!(card_data("---\na: [[1]]\n---\n").is_ok());
        assert_eq!(
            card_data(&format!("---\nx: {}\n---\n", "y".repeat(MAX_FRONT_MATTER_BYTES))).unwrap_err(),
            [format!(
                "the YAML front matter is larger than {MAX_FRONT_MATTER_BYTES} bytes"
            )]
        );
    }
}
