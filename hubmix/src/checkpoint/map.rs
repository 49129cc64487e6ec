//! [`WeightMap`]: how a checkpoint's tensor names and layout become a model's parameters —
//! ordered rename rules, prefixes, allow / ignore patterns, transformers' base-model prefix,
//! splits, ties, layout marks, and a function over the lazy [`TensorMap`] for anything else.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::lazy::TensorMap;
use crate::error::Error;

/// A user function over the lazy tensor map (see [`WeightMap::with`]).
pub type MapFn = Arc<dyn Fn(&mut TensorMap) -> Result<(), Error> + Send + Sync>;

/// One ordered rule.
#[derive(Clone)]
enum Rule {
    Rename(String, String),
    StripPrefix(String),
    AddPrefix(String),
    Split {
        pattern: String,
        axis: isize,
        into: Vec<String>,
    },
    Tie {
        source: String,
        target: String,
    },
    BurnLayout(String),
    Transpose(String),
    With(MapFn),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Rename(p, r) => write!(f, "rename({p:?} => {r:?})"),
            Rule::StripPrefix(p) => write!(f, "strip_prefix({p:?})"),
            Rule::AddPrefix(p) => write!(f, "add_prefix({p:?})"),
            Rule::Split { pattern, axis, into } => write!(f, "split({pattern:?}, {axis}, {into:?})"),
            Rule::Tie { source, target } => write!(f, "tie({source:?} => {target:?})"),
            Rule::BurnLayout(p) => write!(f, "burn_layout({p:?})"),
            Rule::Transpose(p) => write!(f, "transpose({p:?})"),
            Rule::With(_) => write!(f, "with(<function>)"),
        }
    }
}

/// How the tensors of a checkpoint written by something else (transformers, PyTorch, timm)
/// become the parameters of a Burn module.
///
/// Set on the model type with `#[hub(rename(..), strip_prefix = .., base_model_prefix = ..,
/// allow(..), ignore(..), weight_map = path)]`, or per load with
/// [`LoadOptions::weight_map`](crate::LoadOptions::weight_map), which replaces the type's.
///
/// What happens, in this order:
/// 1. `allow` / `ignore` (regexes over the names as stored) drop tensors before anything reads
///    them; the report lists them as ignored. A shard holding only dropped tensors is not
///    downloaded.
/// 2. The base-model prefix (transformers' `base_model_prefix`, `bert` for BERT): a checkpoint
///    whose names start with `bert.` loads into a module whose parameters do not, and the
///    other way round.
/// 3. The rules, in the order given: [`rename`](Self::rename) (regex → replacement, `$1`),
///    [`strip_prefix`](Self::strip_prefix), [`add_prefix`](Self::add_prefix),
///    [`split`](Self::split), [`tie`](Self::tie), [`burn_layout`](Self::burn_layout),
///    [`transpose`](Self::transpose), [`with`](Self::with) (a function over the lazy map).
/// 4. Assignment by name; in a PyTorch-layout load a `Linear`'s 2-D `weight` is transposed
///    (unless marked [`burn_layout`](Self::burn_layout)) and norms' `weight` / `bias` fill
///    `gamma` / `beta`; floats are cast to the module's float type.
///
/// ```
/// use hubmix::checkpoint::WeightMap;
/// // GPT-2: Conv1D weights are already [in, out]; c_attn holds query, key and value.
/// let gpt2 = WeightMap::new()
///     .burn_layout(r"\.c_(attn|proj|fc)\.weight$")
///     .split(r"^h\.(\d+)\.attn\.c_attn\.(weight|bias)$", -1, ["h.$1.attn.query.$2", "h.$1.attn.key.$2", "h.$1.attn.value.$2"])
///     .tie("wte.weight", "lm_head.weight");
/// ```
#[derive(Debug, Clone, Default)]
pub struct WeightMap {
    rules: Vec<Rule>,
    allow: Vec<String>,
    ignore: Vec<String>,
    base_model_prefix: Option<String>,
}

/// A [`WeightMap`] with its regexes compiled.
pub(crate) struct Compiled {
    rules: Vec<CompiledRule>,
    allow: Vec<Regex>,
    ignore: Vec<Regex>,
    pub(crate) base_model_prefix: Option<String>,
}

enum CompiledRule {
    Rename(Regex, String),
    StripPrefix(String),
    AddPrefix(String),
    Split {
        pattern: Regex,
        axis: isize,
        into: Vec<String>,
    },
    Tie {
        source: Regex,
        target: String,
    },
    BurnLayout(Regex),
    Transpose(Regex),
    With(MapFn),
}

impl WeightMap {
    /// No rules: names as stored.
    pub fn new() -> Self {
        WeightMap::default()
    }

    /// Renames every tensor whose name matches the regex `pattern`, replacing the match with
    /// `replacement` (`$1`, `${name}` refer to groups).
    pub fn rename(mut self, pattern: impl Into<String>, replacement: impl Into<String>) -> Self {
        self.rules.push(Rule::Rename(pattern.into(), replacement.into()));
        self
    }

    /// Removes `prefix` from the names that start with it.
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.rules.push(Rule::StripPrefix(prefix.into()));
        self
    }

    /// Puts `prefix` in front of every name.
    pub fn add_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.rules.push(Rule::AddPrefix(prefix.into()));
        self
    }

    /// Reads only tensors whose stored name matches one of the `allow` regexes (all, when
    /// none is given).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.allow.push(pattern.into());
        self
    }

    /// Never reads tensors whose stored name matches the regex (listed as ignored, not as
    /// unexpected).
    pub fn ignore(mut self, pattern: impl Into<String>) -> Self {
        self.ignore.push(pattern.into());
        self
    }

    /// transformers' `base_model_prefix` (`bert`, `transformer`, `model`): a checkpoint of a
    /// model with a head (`bert.encoder...`, `cls...`) loads into the base model
    /// (`encoder...`), and a base checkpoint into a module with a head.
    pub fn base_model_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.base_model_prefix = Some(prefix.into());
        self
    }

    /// Splits every tensor matching `pattern` into `into.len()` equal parts along `axis`
    /// (negative: from the end), named by the replacements in `into`.
    pub fn split<S: Into<String>>(
        mut self,
        pattern: impl Into<String>,
        axis: isize,
        into: impl IntoIterator<Item = S>,
    ) -> Self {
        self.rules.push(Rule::Split {
            pattern: pattern.into(),
            axis,
            into: into.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Feeds the tensor named `source` (a regex, `$1` usable in `target`) to `target` too,
    /// when the checkpoint has no `target` of its own: tied embeddings and output layers.
    pub fn tie(mut self, source: impl Into<String>, target: impl Into<String>) -> Self {
        self.rules.push(Rule::Tie {
            source: source.into(),
            target: target.into(),
        });
        self
    }

    /// Marks tensors matching the regex as already in Burn's `[in, out]` layout (GPT-2's
    /// `Conv1D`): a PyTorch-layout load does not transpose them.
    pub fn burn_layout(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push(Rule::BurnLayout(pattern.into()));
        self
    }

    /// Transposes the 2-D tensors matching the regex.
    pub fn transpose(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push(Rule::Transpose(pattern.into()));
        self
    }

    /// Runs `f` over the lazy tensor map (rename, split, merge, drop anything), after the
    /// rules before it. It reads no tensor it does not touch.
    pub fn with(mut self, f: impl Fn(&mut TensorMap) -> Result<(), Error> + Send + Sync + 'static) -> Self {
        self.rules.push(Rule::With(Arc::new(f)));
        self
    }

    /// Whether it has no rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.allow.is_empty()
            && self.ignore.is_empty()
            && self.base_model_prefix.is_none()
    }

    /// Compiles the regexes; a bad one is an error naming it.
    pub(crate) fn compile(&self) -> Result<Compiled, Error> {
        let re = |p: &str| {
            Regex::new(p).map_err(|e| Error::Checkpoint {
                what: "the weight map".into(),
                reason: format!("the pattern {p:?} is not a valid regex: {e}"),
            })
        };
        let rules = self
            .rules
            .iter()
            .map(|r| {
                Ok(match r {
                    Rule::Rename(p, to) => CompiledRule::Rename(re(p)?, to.clone()),
                    Rule::StripPrefix(p) => CompiledRule::StripPrefix(p.clone()),
                    Rule::AddPrefix(p) => CompiledRule::AddPrefix(p.clone()),
                    Rule::Split { pattern, axis, into } => CompiledRule::Split {
                        pattern: re(pattern)?,
                        axis: *axis,
                        into: into.clone(),
                    },
                    Rule::Tie { source, target } => CompiledRule::Tie {
                        source: re(source)?,
                        target: target.clone(),
                    },
                    Rule::BurnLayout(p) => CompiledRule::BurnLayout(re(p)?),
                    Rule::Transpose(p) => CompiledRule::Transpose(re(p)?),
                    Rule::With(f) => CompiledRule::With(Arc::clone(f)),
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Compiled {
            rules,
            allow: self.allow.iter().map(|p| re(p)).collect::<Result<_, _>>()?,
            ignore: self.ignore.iter().map(|p| re(p)).collect::<Result<_, _>>()?,
            base_model_prefix: self.base_model_prefix.clone(),
        })
    }
}

impl Compiled {
    /// Whether a stored name is read at all.
    pub(crate) fn keeps(&self, name: &str) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|r| r.is_match(name)))
            && !self.ignore.iter().any(|r| r.is_match(name))
    }

    /// Applies the ordered rules to the map.
    pub(crate) fn apply(&self, map: &mut TensorMap) -> Result<(), Error> {
        for rule in &self.rules {
            match rule {
                CompiledRule::Rename(re, to) => rename_all(map, |n| {
                    re.is_match(n)
                        .then(|| re.replace_all(n, to.as_str()).into_owned())
                })?,
                CompiledRule::StripPrefix(p) => {
                    rename_all(map, |n| n.strip_prefix(p.as_str()).map(str::to_owned))?
                }
                CompiledRule::AddPrefix(p) => rename_all(map, |n| Some(format!("{p}{n}")))?,
                CompiledRule::Split { pattern, axis, into } => {
                    let names: Vec<String> = map
                        .names()
                        .filter(|n| pattern.is_match(n))
                        .map(str::to_owned)
                        .collect();
                    for name in names {
                        let t = map.remove(&name).expect("listed");
                        for (part, to) in t.chunk(*axis, into.len())?.into_iter().zip(into) {
                            let to = pattern.replace(&name, to.as_str()).into_owned();
                            if map.insert(to.clone(), part).is_some() {
                                return Err(collision(&name, &to));
                            }
                        }
                    }
                }
                CompiledRule::Tie { source, target } => {
                    let names: Vec<String> = map
                        .names()
                        .filter(|n| source.is_match(n))
                        .map(str::to_owned)
                        .collect();
                    for name in names {
                        let to = source.replace(&name, target.as_str()).into_owned();
                        if !map.contains(&to) {
                            let t = map.get(&name).expect("listed").clone();
                            map.insert(to, t);
                        }
                    }
                }
                CompiledRule::BurnLayout(re) => {
                    for (_, t) in map.inner_mut().iter_mut().filter(|(n, _)| re.is_match(n)) {
                        *t = t.clone().burn_layout();
                    }
                }
                CompiledRule::Transpose(re) => {
                    for (_, t) in map.inner_mut().iter_mut().filter(|(n, _)| re.is_match(n)) {
                        *t = t.transpose()?;
                    }
                }
                CompiledRule::With(f) => f(map)?,
            }
        }
        Ok(())
    }
}

fn collision(from: &str, to: &str) -> Error {
    Error::Checkpoint {
        what: "the weight map".into(),
        reason: format!("renaming {from} to {to} collides with another tensor named {to}: fix the rules"),
    }
}

/// Renames every tensor for which `f` gives a new name.
pub(crate) fn rename_all(map: &mut TensorMap, f: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
    let old = std::mem::take(map.inner_mut());
    for (name, t) in old {
        let to = f(&name).unwrap_or_else(|| name.clone());
        if map.insert(to.clone(), t).is_some() {
            return Err(collision(&name, &to));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::lazy::tests::counting;

    fn map_of(names: &[(&str, &[usize])]) -> TensorMap {
        let mut map = TensorMap::default();
        for (n, s) in names {
            map.insert(*n, counting(n, s).0);
        }
        map
    }

    fn names(map: &TensorMap) -> Vec<&str> {
        map.names().collect()
    }

    #[test]
    fn rules_apply_in_order() {
        let mut map = map_of(&[
            ("transformer.h.0.attn.c_attn.weight", &[4, 12]),
            ("transformer.h.0.attn.c_attn.bias", &[12]),
            ("transformer.wte.weight", &[10, 4]),
        ]);
        let m = WeightMap::new()
            .strip_prefix("transformer.")
            .burn_layout(r"c_attn\.weight$")
            .split(
                r"^h\.(\d+)\.attn\.c_attn\.(weight|bias)$",
                -1,
                ["h.$1.q.$2", "h.$1.k.$2", "h.$1.v.$2"],
            )
            .rename(r"^h\.", "blocks.")
            .tie("wte.weight", "lm_head.weight")
            .compile()
            .unwrap();
        m.apply(&mut map).unwrap();
        assert_eq!(
            names(&map),
            [
                "blocks.0.k.bias",
                "blocks.0.k.weight",
                "blocks.0.q.bias",
                "blocks.0.q.weight",
                "blocks.0.v.bias",
                "blocks.0.v.weight",
                "lm_head.weight",
                "wte.weight"
            ]
        );
        let q = map.get("blocks.0.q.weight").unwrap();
        assert_eq!((q.shape(), q.is_burn_layout()), (&[4, 4][..], true));
        assert!(!map.get("blocks.0.q.bias").unwrap().is_burn_layout());
        assert_eq!(
            map.get("lm_head.weight").unwrap().origin().name,
            "transformer.wte.weight"
        );
    }

    #[test]
    fn collisions_bad_patterns_and_bad_splits_are_errors() {
        let mut map = map_of(&[("a.x", &[2]), ("b.x", &[2])]);
        let err = WeightMap::new()
            .rename(r"^.\.", "")
            .compile()
            .unwrap()
            .apply(&mut map)
            .unwrap_err();
        assert!(err.to_string().contains("collides"), "{err}");
        let err = WeightMap::new().rename("(", "x").compile().err().unwrap();
        assert!(err.to_string().contains("not a valid regex"), "{err}");
        let mut map = map_of(&[("w", &[3])]);
        let err = WeightMap::new()
            .split("w", 0, ["a", "b"])
            .compile()
            .unwrap()
            .apply(&mut map)
            .unwrap_err();
        assert!(err.to_string().contains("2 equal parts"), "{err}");
    }

    #[test]
    fn allow_and_ignore_filter_stored_names() {
        let m = WeightMap::new()
            .allow("^bert\\.")
            .ignore("pooler")
            .compile()
            .unwrap();
        assert!(m.keeps("bert.encoder.w"));
        assert!(!m.keeps("bert.pooler.w"));
        assert!(!m.keeps("cls.w"));
    }
}
