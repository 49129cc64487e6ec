//! How a foreign checkpoint becomes the model: its tensor names (`base_model_prefix`,
//! `strip_prefix`, `rename(..)`, `add_prefix`, `allow(..)`, `ignore(..)`, or
//! `weight_map = path`) and its `config.json` keys (`config_keys(..)`). Checked here, at compile
//! time, with the `regex` crate hubmix's loader uses: every pattern compiles, every replacement
//! names only groups its pattern has.

use std::collections::HashSet;

use proc_macro2::Span;
use quote::quote;
use regex::Regex;
use syn::{LitStr, Path};

use crate::attr::{
    ADD_PREFIX, ALLOW, Attrs, BASE_MODEL_PREFIX, Ctxt, IGNORE, Pair, RENAME, STRIP_PREFIX, Symbol, not_empty,
};

/// Where the model's `WeightMap` comes from.
pub enum WeightMap<'a> {
    /// None: names as stored.
    None,
    /// `weight_map = path`: a `fn() -> WeightMap`.
    Fn(&'a Path),
    /// The rule keys, built into a `WeightMap` in the order of [`Rules`]' fields.
    Rules(Rules<'a>),
}

/// The rule keys, in the order the generated code applies them: the base-model prefix, the
/// prefix to strip, the renames (as written), the prefix to add, then the tensors to read.
pub struct Rules<'a> {
    pub base_model_prefix: Option<&'a LitStr>,
    pub strip_prefix: Option<&'a LitStr>,
    pub rename: &'a [Pair],
    pub add_prefix: Option<&'a LitStr>,
    pub allow: &'a [LitStr],
    pub ignore: &'a [LitStr],
}

/// Resolves the weight map, recording in `cx` (which then refuses the derive) a bad regex or
/// replacement, a base-model prefix with a dot, and `weight_map` beside a rule key (then `None`).
pub fn check<'a>(cx: &Ctxt, attrs: &'a Attrs) -> Option<WeightMap<'a>> {
    let rule_keys: [(Symbol, Option<Span>); 6] = [
        (BASE_MODEL_PREFIX, attrs.base_model_prefix.key()),
        (STRIP_PREFIX, attrs.strip_prefix.key()),
        (RENAME, attrs.rename.key()),
        (ADD_PREFIX, attrs.add_prefix.key()),
        (ALLOW, attrs.allow.key()),
        (IGNORE, attrs.ignore.key()),
    ];
    if attrs.weight_map.key().is_some() {
        let given: Vec<_> = rule_keys
            .iter()
            .filter_map(|(name, key)| key.map(|key| (name, key)))
            .collect();
        for (name, key) in &given {
            cx.error_at(
                *key,
                format!(
                    "`{name}` with `weight_map`: the function gives the whole map, so put this rule in it \
                     (`WeightMap::new().{name}(..)`), or drop `weight_map` and keep the rule keys"
                ),
            );
        }
        return if given.is_empty() {
            attrs.weight_map.get().map(WeightMap::Fn)
        } else {
            None
        };
    }
    if rule_keys.iter().all(|(_, key)| key.is_none()) {
        return Some(WeightMap::None);
    }
    if let Some(prefix) = attrs.base_model_prefix.get() {
        base_model_prefix(cx, prefix);
    }
    let rename = attrs.rename.get().map_or(&[][..], Vec::as_slice);
    for pair in rename {
        not_empty(cx, &pair.from, "pattern in `rename(...)`");
        if let Some(re) = regex(cx, &pair.from, RENAME) {
            replacement(cx, &re, &pair.to);
        }
    }
    let allow = attrs.allow.get().map_or(&[][..], Vec::as_slice);
    let ignore = attrs.ignore.get().map_or(&[][..], Vec::as_slice);
    for (name, patterns) in [(ALLOW, allow), (IGNORE, ignore)] {
        for pattern in patterns {
            regex(cx, pattern, name);
        }
    }
    Some(WeightMap::Rules(Rules {
        base_model_prefix: attrs.base_model_prefix.get(),
        strip_prefix: attrs.strip_prefix.get(),
        rename,
        add_prefix: attrs.add_prefix.get(),
        allow,
        ignore,
    }))
}

/// The `config_keys(...)` pairs, recording in `cx` (which then refuses the derive) an empty key,
/// a key renamed to itself, and a source or target given twice.
pub fn config_keys<'a>(cx: &Ctxt, attrs: &'a Attrs) -> Option<&'a [Pair]> {
    if attrs.config_keys.key().is_none() {
        return Some(&[]);
    }
    let pairs = attrs.config_keys.get()?;
    let (mut sources, mut targets) = (HashSet::new(), HashSet::new());
    for Pair { from, to } in pairs {
        not_empty(cx, from, "checkpoint key in `config_keys(...)`");
        not_empty(cx, to, "field name in `config_keys(...)`");
        let (from_text, to_text) = (from.value(), to.value());
        if from_text == to_text {
            cx.error_spanned_by(
                quote!(#from #to),
                format!("`config_keys` maps `{from_text}` to itself: remove the pair (a key the config has is read as is)"),
            );
        }
        if !sources.insert(from_text.clone()) {
            cx.error_spanned_by(
                from,
                format!("`{from_text}` is renamed twice in `config_keys(...)`: keep one pair for it"),
            );
        }
        if !targets.insert(to_text.clone()) {
            cx.error_spanned_by(
                to,
                format!(
                    "two keys of `config_keys(...)` become `{to_text}`: the config has one `{to_text}`, keep one pair"
                ),
            );
        }
    }
    Some(pairs)
}

/// transformers' `base_model_prefix` is one attribute name (`bert`, `transformer`): no dot.
fn base_model_prefix(cx: &Ctxt, prefix: &LitStr) {
    let text = prefix.value();
    if !text.contains('.') {
        return;
    }
    let message = match text.strip_suffix('.') {
        Some(name) if !name.contains('.') && !name.is_empty() => format!(
            "`base_model_prefix` is a name without the dot (transformers' `base_model_prefix`): write \
             `base_model_prefix = \"{name}\"`"
        ),
        _ => format!(
            "`base_model_prefix` is one name without dots (transformers' `base_model_prefix`, e.g. `bert`); \
             for a longer prefix write `strip_prefix = \"{}.\"`",
            text.trim_end_matches('.')
        ),
    };
    cx.error_spanned_by(prefix, message);
}

/// Compiles `pattern` as hubmix's loader will; `None` after recording why it does not.
fn regex(cx: &Ctxt, pattern: &LitStr, key: Symbol) -> Option<Regex> {
    match Regex::new(&pattern.value()) {
        Ok(re) => Some(re),
        Err(error) => {
            let text = error.to_string();
            // A syntax error reads "regex parse error:\n<pattern>\n<caret>\nerror: <what>": say
            // what first, then show where.
            let what_and_where = text
                .strip_prefix("regex parse error:\n")
                .and_then(|rest| rest.rsplit_once("\nerror: "))
                .map(|(shown, what)| format!("{what}\n{shown}"));
            cx.error_spanned_by(
                pattern,
                format!(
                    "this pattern of `{key}` is not a valid regex (the `regex` crate's syntax): {}",
                    what_and_where.unwrap_or(text)
                ),
            );
            None
        }
    }
}

/// Records each group that `to`, the replacement of `re`, refers to and `re` does not have.
fn replacement(cx: &Ctxt, re: &Regex, to: &LitStr) {
    let text = to.value();
    for GroupRef { written, name } in group_refs(&text) {
        let found = match name.parse::<usize>() {
            Ok(index) => index < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|n| n == name),
        };
        if found {
            continue;
        }
        let groups = match re.captures_len() - 1 {
            0 => "it has no groups (only `$0`, the whole match)".to_owned(),
            1 => "it has one group, `$1` (and `$0`, the whole match)".to_owned(),
            n => format!("its groups are `$1` to `${n}` (and `$0`, the whole match)"),
        };
        let digits = name.len() - name.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let message = if digits > 0 && digits < name.len() {
            // `$1a` is the group named `1a`, as in the regex crate.
            let (index, rest) = name.split_at(digits);
            format!(
                "`{written}` in the replacement is the group named `{name}`, which the pattern does not have: for \
                 group {index} followed by `{rest}`, write `${{{index}}}{rest}`"
            )
        } else if name.parse::<usize>().is_ok() {
            format!("`{written}` in the replacement refers to a group the pattern does not have: {groups}")
        } else {
            let named: Vec<String> = re
                .capture_names()
                .flatten()
                .map(|n| format!("`${{{n}}}`"))
                .collect();
            let named = if named.is_empty() {
                "it has no named groups (write one as `(?P<name>...)`)".to_owned()
            } else {
                format!("its named groups are {}", named.join(", "))
            };
            format!(
                "`{written}` in the replacement refers to a group named `{name}` the pattern does not have: {named}"
            )
        };
        cx.error_spanned_by(to, message);
    }
}

/// A group reference in a replacement: as written (`$1`, `${name}`) and the group's name or
/// number.
#[derive(Debug, PartialEq, Eq)]
struct GroupRef<'a> {
    written: &'a str,
    name: &'a str,
}

/// The group references of a replacement, read as the regex crate reads them: `$$` is a `$`,
/// `${name}` names anything up to `}`, `$name` the longest run of ASCII letters, digits and
/// `_`; a `$` followed by nothing of these (or an unclosed `${`) is a `$`.
fn group_refs(replacement: &str) -> Vec<GroupRef<'_>> {
    let mut refs = Vec::new();
    let mut at = 0;
    while let Some(dollar) = replacement[at..].find('$').map(|i| at + i) {
        let rest = &replacement[dollar + 1..];
        at = dollar + 1;
        if rest.starts_with('$') {
            at += 1;
        } else if let Some(braced) = rest.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                at += end + 2;
                refs.push(GroupRef {
                    written: &replacement[dollar..at],
                    name: &braced[..end],
                });
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 {
                at += end;
                refs.push(GroupRef {
                    written: &replacement[dollar..at],
                    name: &rest[..end],
                });
            }
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(replacement: &str) -> Vec<(&str, &str)> {
        group_refs(replacement)
            .into_iter()
            .map(|r| (r.written, r.name))
            .collect()
    }

    #[test]
    fn group_references_are_read_as_the_regex_crate_reads_them() {
        assert_eq!(refs("blocks.$1."), [("$1", "1")]);
        assert_eq!(
            refs("${1}a$name.${x y}"),
            [("${1}", "1"), ("$name", "name"), ("${x y}", "x y")]
        );
        assert_eq!(refs("$1a"), [("$1a", "1a")]);
        assert_eq!(refs("cost $$5, $ and ${open"), []);
        assert_eq!(refs("$"), []);
        assert_eq!(refs("$0$$$2"), [("$0", "0"), ("$2", "2")]);
    }

    #[test]
    fn the_expansion_agrees_with_regex() {
        // What `group_refs` reads as plain text, regex leaves as is.
        let re = Regex::new("(?P<x>a)").unwrap();
        assert_eq!(re.replace("a", "cost $$5, $ and ${open"), "cost $5, $ and ${open");
        assert_eq!(re.replace("a", "[$x][${x}][$1][$1a]"), "[a][a][a][]");
    }
}
