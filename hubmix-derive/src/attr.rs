//! `#[hub(...)]`: parses the container attributes into [`Attrs`], collecting every error in a
//! [`Ctxt`] so that one build reports all of them (serde_derive's pattern).

use std::cell::RefCell;
use std::fmt::{self, Display};

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::parse::discouraged::Speculative;
use syn::{Attribute, Ident, LitInt, LitStr, Meta, Path, Token, Type};

/// Collects the errors of one derive; [`Ctxt::finish`] turns them into one `syn::Error`.
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    /// No errors yet.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Vec::new()),
        }
    }

    /// Records an error spanning `tokens` (first to last token).
    pub fn error_spanned_by(&self, tokens: impl ToTokens, message: impl Display) {
        self.errors
            .borrow_mut()
            .push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error at `span`.
    pub fn error_at(&self, span: Span, message: impl Display) {
        self.errors.borrow_mut().push(syn::Error::new(span, message));
    }

    /// Records an error that syn produced.
    pub fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// `value` if no error was recorded, else all the errors combined.
    pub fn finish<T>(self, value: Option<T>) -> syn::Result<T> {
        let mut errors = self.errors.into_inner().into_iter();
        match (errors.next(), value) {
            (Some(mut combined), _) => {
                errors.for_each(|error| combined.combine(error));
                Err(combined)
            }
            (None, Some(value)) => Ok(value),
            (None, None) => Err(syn::Error::new(
                Span::call_site(),
                "#[derive(HubModel)] failed without saying why; this is a bug in hubmix-derive, please report it",
            )),
        }
    }
}

/// A name the derive recognizes in an attribute.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Symbol(&'static str);

// The attributes the derive reads: its own, and Burn's `#[module(skip)]`.
pub const HUB: Symbol = Symbol("hub");
pub const MODULE: Symbol = Symbol("module");
pub const SKIP: Symbol = Symbol("skip");

// The keys of `#[hub(...)]`.
pub const CONFIG: Symbol = Symbol("config");
pub const CONFIG_FIELD: Symbol = Symbol("config_field");
pub const CONFIG_FN: Symbol = Symbol("config_fn");
pub const INIT_FN: Symbol = Symbol("init_fn");
pub const LIBRARY_NAME: Symbol = Symbol("library_name");
pub const TAGS: Symbol = Symbol("tags");
pub const LICENSE: Symbol = Symbol("license");
pub const PIPELINE_TAG: Symbol = Symbol("pipeline_tag");
pub const LANGUAGE: Symbol = Symbol("language");
pub const REPO_URL: Symbol = Symbol("repo_url");
pub const PAPER_URL: Symbol = Symbol("paper_url");
pub const DOCS_URL: Symbol = Symbol("docs_url");
pub const LAYOUT: Symbol = Symbol("layout");
pub const CRATE: Symbol = Symbol("crate");
// The model card's extra metadata and body (`parse_card_key`).
pub const DATASETS: Symbol = Symbol("datasets");
pub const METRICS: Symbol = Symbol("metrics");
pub const CARD_TEMPLATE: Symbol = Symbol("card_template");
pub const CARD_FN: Symbol = Symbol("card_fn");
// How foreign checkpoints' names become the model's (`parse_weight_map_key`).
pub const BASE_MODEL_PREFIX: Symbol = Symbol("base_model_prefix");
pub const RENAME: Symbol = Symbol("rename");
pub const STRIP_PREFIX: Symbol = Symbol("strip_prefix");
pub const ADD_PREFIX: Symbol = Symbol("add_prefix");
pub const ALLOW: Symbol = Symbol("allow");
pub const IGNORE: Symbol = Symbol("ignore");
pub const CONFIG_KEYS: Symbol = Symbol("config_keys");
pub const WEIGHT_MAP: Symbol = Symbol("weight_map");

/// Every key `#[hub(...)]` accepts, for "did you mean" suggestions.
const KEYS: [Symbol; 26] = [
    CONFIG,
    CONFIG_FIELD,
    CONFIG_FN,
    INIT_FN,
    LIBRARY_NAME,
    TAGS,
    LICENSE,
    PIPELINE_TAG,
    LANGUAGE,
    REPO_URL,
    PAPER_URL,
    DOCS_URL,
    LAYOUT,
    CRATE,
    DATASETS,
    METRICS,
    CARD_TEMPLATE,
    CARD_FN,
    BASE_MODEL_PREFIX,
    RENAME,
    STRIP_PREFIX,
    ADD_PREFIX,
    ALLOW,
    IGNORE,
    CONFIG_KEYS,
    WEIGHT_MAP,
];

impl Symbol {
    /// The name as written in the attribute.
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

/// One key of `#[hub(...)]`: where it was written and, if its value parsed, the value.
pub struct Slot<T> {
    key: Option<Span>,
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            key: None,
            value: None,
        }
    }
}

impl<T> Slot<T> {
    /// The value, if the key was given with a well-formed value.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// Where the key was written, if it was.
    pub fn key(&self) -> Option<Span> {
        self.key
    }

    fn set(&mut self, cx: &Ctxt, key: &Path, name: Symbol, value: Option<T>) {
        if self.key.is_some() {
            cx.error_spanned_by(
                key,
                format!("duplicate `{name}`: it is already set earlier; keep one"),
            );
        } else {
            self.key = Some(key_span(key));
            self.value = value;
        }
    }
}

/// Which field holds the config: a name, or an index in a tuple struct.
pub enum FieldName {
    Named(Ident),
    Index(LitInt),
}

/// The weight layout a model saves in (`hubmix::Layout`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    Burn,
    PyTorch,
}

/// Everything `#[hub(...)]` attributes say about a model: one slot per key, named as the key
/// (`krate` for `crate`).
#[derive(Default)]
pub struct Attrs {
    pub config: Slot<Type>,
    pub config_field: Slot<FieldName>,
    pub config_fn: Slot<Path>,
    pub init_fn: Slot<Path>,
    pub library_name: Slot<LitStr>,
    pub tags: Slot<Vec<LitStr>>,
    pub license: Slot<LitStr>,
    pub pipeline_tag: Slot<LitStr>,
    pub language: Slot<Vec<LitStr>>,
    pub repo_url: Slot<LitStr>,
    pub paper_url: Slot<LitStr>,
    pub docs_url: Slot<LitStr>,
    pub layout: Slot<Layout>,
    pub krate: Slot<Path>,
    pub datasets: Slot<Vec<LitStr>>,
    pub metrics: Slot<Vec<LitStr>>,
    pub card_template: Slot<LitStr>,
    pub card_fn: Slot<Path>,
    pub base_model_prefix: Slot<LitStr>,
    pub rename: Slot<Vec<Pair>>,
    pub strip_prefix: Slot<LitStr>,
    pub add_prefix: Slot<LitStr>,
    pub allow: Slot<Vec<LitStr>>,
    pub ignore: Slot<Vec<LitStr>>,
    pub config_keys: Slot<Vec<Pair>>,
    pub weight_map: Slot<Path>,
}

/// `"from" => "to"`, an item of `rename(...)` and `config_keys(...)`.
pub struct Pair {
    pub from: LitStr,
    pub to: LitStr,
}

impl Attrs {
    /// Parses every `#[hub(...)]` among `attrs`, recording errors in `cx`.
    pub fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Attrs::default();
        for attr in attrs.iter().filter(|attr| attr.path() == HUB) {
            if !matches!(attr.meta, Meta::List(_)) {
                cx.error_spanned_by(attr, "expected `#[hub(...)]`, e.g. `#[hub(config = MlpConfig)]`");
                continue;
            }
            let parsed = attr.parse_nested_meta(|meta| {
                out.parse_key(cx, &meta);
                Ok(())
            });
            if let Err(error) = parsed {
                cx.syn_error(error);
            }
        }
        out
    }

    /// The path of the hubmix crate: `crate = ...`, or `::hubmix`.
    pub fn crate_path(&self) -> TokenStream {
        match self.krate.get() {
            Some(path) => path.to_token_stream(),
            None => quote!(::hubmix),
        }
    }

    /// Parses one `key = value` or `key(...)`, leaving the input at the next `,` or the end.
    fn parse_key(&mut self, cx: &Ctxt, meta: &ParseNestedMeta) {
        let key = &meta.path;
        if key == CONFIG {
            let value = assigned(
                cx,
                meta,
                CONFIG,
                "the config type",
                "config = MlpConfig",
                parse_type,
            );
            self.config.set(cx, key, CONFIG, value);
        } else if key == CONFIG_FIELD {
            let what = "a field name (an index in a tuple struct)";
            let value = assigned(
                cx,
                meta,
                CONFIG_FIELD,
                what,
                "config_field = config",
                parse_field_name,
            );
            self.config_field.set(cx, key, CONFIG_FIELD, value);
        } else if key == CONFIG_FN {
            let what = "the path of a `fn(&Self) -> Config`";
            let value = assigned(cx, meta, CONFIG_FN, what, "config_fn = Self::config", parse_path);
            self.config_fn.set(cx, key, CONFIG_FN, value);
        } else if key == INIT_FN {
            let what = "the path of a `fn(&Config, &Device) -> Self`";
            let value = assigned(cx, meta, INIT_FN, what, "init_fn = Self::new", parse_path);
            self.init_fn.set(cx, key, INIT_FN, value);
        } else if key == CRATE {
            let what = "the path of the hubmix crate";
            let value = assigned(cx, meta, CRATE, what, "crate = ::hubmix", parse_path);
            self.krate.set(cx, key, CRATE, value);
        } else if key == LIBRARY_NAME {
            let value =
                string(cx, meta, LIBRARY_NAME, "burn").inspect(|v| not_empty(cx, v, "`library_name`"));
            self.library_name.set(cx, key, LIBRARY_NAME, value);
        } else if key == LICENSE {
            let value = string(cx, meta, LICENSE, "mit").inspect(|v| not_empty(cx, v, "`license`"));
            self.license.set(cx, key, LICENSE, value);
        } else if key == PIPELINE_TAG {
            let value = string(cx, meta, PIPELINE_TAG, "image-classification")
                .inspect(|v| not_empty(cx, v, "`pipeline_tag`"));
            self.pipeline_tag.set(cx, key, PIPELINE_TAG, value);
        } else if key == REPO_URL {
            let value = url(cx, meta, REPO_URL, "https://github.com/alice/mlp");
            self.repo_url.set(cx, key, REPO_URL, value);
        } else if key == PAPER_URL {
            let value = url(cx, meta, PAPER_URL, "https://arxiv.org/abs/1706.03762");
            self.paper_url.set(cx, key, PAPER_URL, value);
        } else if key == DOCS_URL {
            let value = url(cx, meta, DOCS_URL, "https://docs.rs/mlp");
            self.docs_url.set(cx, key, DOCS_URL, value);
        } else if key == TAGS {
            let value = string_list(cx, meta, TAGS, "tag", "\"mlp\", \"vision\"");
            self.tags.set(cx, key, TAGS, value);
        } else if key == LANGUAGE {
            let value = string_list(cx, meta, LANGUAGE, "language", "\"en\", \"fr\"");
            self.language.set(cx, key, LANGUAGE, value);
        } else if key == LAYOUT {
            let value = layout(cx, meta);
            self.layout.set(cx, key, LAYOUT, value);
        } else if self.parse_card_key(cx, meta) || self.parse_weight_map_key(cx, meta) {
        } else {
            let rest = skip_value(meta.input);
            let name = key.to_token_stream().to_string().replace(' ', "");
            let message = match closest_key(&name) {
                Some(known) => format!("unknown hub attribute `{name}`; did you mean `{known}`?"),
                None => format!(
                    "unknown hub attribute `{name}`; expected one of: {}",
                    KEYS.map(Symbol::name).join(", ")
                ),
            };
            cx.error_spanned_by(quote!(#key #rest), message);
        }
    }
}

impl Attrs {
    /// Parses a key of the model card's extra metadata or body, if `meta` is one; whether it
    /// was.
    fn parse_card_key(&mut self, cx: &Ctxt, meta: &ParseNestedMeta) -> bool {
        let key = &meta.path;
        if key == DATASETS {
            let value = string_list(cx, meta, DATASETS, "dataset", "\"alice/rows\"");
            self.datasets.set(cx, key, DATASETS, value);
        } else if key == METRICS {
            let value = string_list(cx, meta, METRICS, "metric", "\"accuracy\"");
            self.metrics.set(cx, key, METRICS, value);
        } else if key == CARD_TEMPLATE {
            let value =
                string(cx, meta, CARD_TEMPLATE, "card.md").inspect(|v| not_empty(cx, v, "`card_template`"));
            self.card_template.set(cx, key, CARD_TEMPLATE, value);
        } else if key == CARD_FN {
            let what = "the path of a `fn(&Self, &ModelCard) -> String`";
            let value = assigned(cx, meta, CARD_FN, what, "card_fn = Self::card_body", parse_path);
            self.card_fn.set(cx, key, CARD_FN, value);
        } else {
            return false;
        }
        true
    }
}

impl Attrs {
    /// Parses a key of the weight map or of `config_keys`, if `meta` is one; whether it was.
    fn parse_weight_map_key(&mut self, cx: &Ctxt, meta: &ParseNestedMeta) -> bool {
        let key = &meta.path;
        if key == BASE_MODEL_PREFIX {
            let value = string(cx, meta, BASE_MODEL_PREFIX, "bert")
                .inspect(|v| not_empty(cx, v, "`base_model_prefix`"));
            self.base_model_prefix.set(cx, key, BASE_MODEL_PREFIX, value);
        } else if key == STRIP_PREFIX {
            let value =
                string(cx, meta, STRIP_PREFIX, "model.").inspect(|v| not_empty(cx, v, "`strip_prefix`"));
            self.strip_prefix.set(cx, key, STRIP_PREFIX, value);
        } else if key == ADD_PREFIX {
            let value =
                string(cx, meta, ADD_PREFIX, "backbone.").inspect(|v| not_empty(cx, v, "`add_prefix`"));
            self.add_prefix.set(cx, key, ADD_PREFIX, value);
        } else if key == RENAME {
            let example = r#"r"^h\.(\d+)\." => "blocks.$1.""#;
            let value = pair_list(cx, meta, RENAME, "`\"regex\" => \"replacement\"` pairs", example);
            self.rename.set(cx, key, RENAME, value);
        } else if key == ALLOW {
            let value = string_list(cx, meta, ALLOW, "pattern", r#"r"^bert\.""#);
            self.allow.set(cx, key, ALLOW, value);
        } else if key == IGNORE {
            let value = string_list(cx, meta, IGNORE, "pattern", r#"r"^cls\.""#);
            self.ignore.set(cx, key, IGNORE, value);
        } else if key == CONFIG_KEYS {
            let example = r#""hidden_size" => "d_model""#;
            let value = pair_list(
                cx,
                meta,
                CONFIG_KEYS,
                "`\"checkpoint key\" => \"field\"` pairs",
                example,
            );
            self.config_keys.set(cx, key, CONFIG_KEYS, value);
        } else if key == WEIGHT_MAP {
            let what = "the path of a `fn() -> hubmix::checkpoint::WeightMap`";
            let value = assigned(
                cx,
                meta,
                WEIGHT_MAP,
                what,
                "weight_map = Self::weights",
                parse_path,
            );
            self.weight_map.set(cx, key, WEIGHT_MAP, value);
        } else {
            return false;
        }
        true
    }
}

/// The span of a key (its first identifier; keys are single identifiers).
fn key_span(key: &Path) -> Span {
    key.segments
        .first()
        .map_or_else(Span::call_site, |segment| segment.ident.span())
}

/// The known key closest to `name`, if one is close enough to be a typo.
fn closest_key(name: &str) -> Option<Symbol> {
    let (distance, key) = KEYS
        .iter()
        .map(|key| (edit_distance(name, key.0), *key))
        .min_by_key(|(d, _)| *d)?;
    let prefix = KEYS
        .iter()
        .find(|key| name.len() >= 3 && (key.0.starts_with(name) || name.starts_with(key.0)));
    if distance <= name.len().min(key.0.len()) / 3 + 1 {
        Some(key)
    } else {
        prefix.copied()
    }
}

/// Levenshtein distance between two ASCII-ish strings (by chars).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Consumes the rest of the current key's value: every token up to the next top-level `,`.
fn skip_value(input: ParseStream) -> TokenStream {
    let mut skipped = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<TokenTree>() {
            Ok(token) => skipped.extend([token]),
            Err(_) => break,
        }
    }
    skipped
}

/// After a value: anything before the next `,` is an error (usually a missing comma).
fn expect_separator(cx: &Ctxt, input: ParseStream) {
    if !input.is_empty() && !input.peek(Token![,]) {
        let rest = skip_value(input);
        cx.error_spanned_by(
            &rest,
            format!("unexpected `{rest}`: separate hub attributes with commas"),
        );
    }
}

/// Parses `key = value`, where `parse` reads the value. `what` and `example` make the message
/// when the value is missing or of the wrong kind: "expected {what}, e.g. `{example}`".
fn assigned<T>(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: Symbol,
    what: &str,
    example: &str,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> Option<T> {
    let input = meta.input;
    let key = &meta.path;
    let Ok(eq) = input.parse::<Token![=]>() else {
        let rest = skip_value(input);
        cx.error_spanned_by(
            quote!(#key #rest),
            format!("expected `{name} = ...`: {what}, e.g. `{example}`"),
        );
        return None;
    };
    if input.is_empty() || input.peek(Token![,]) {
        cx.error_spanned_by(
            quote!(#key #eq),
            format!("missing value after `{name} =`: {what}, e.g. `{example}`"),
        );
        return None;
    }
    let fork = input.fork();
    match parse(&fork) {
        Ok(value) => {
            input.advance_to(&fork);
            expect_separator(cx, input);
            Some(value)
        }
        Err(_) => {
            let bad = skip_value(input);
            cx.error_spanned_by(bad, format!("expected {what}, e.g. `{example}`"));
            None
        }
    }
}

/// A type, or a string holding one (`config = "MlpConfig"`).
fn parse_type(input: ParseStream) -> syn::Result<Type> {
    if input.peek(LitStr) {
        input.parse::<LitStr>()?.parse()
    } else {
        input.parse()
    }
}

/// A path, or a string holding one (`crate = "::hubmix"`, as serde's `crate = "..."`).
fn parse_path(input: ParseStream) -> syn::Result<Path> {
    if input.peek(LitStr) {
        input.parse::<LitStr>()?.parse()
    } else {
        input.parse()
    }
}

/// A field name or a tuple-struct index, or a string holding one.
fn parse_field_name(input: ParseStream) -> syn::Result<FieldName> {
    if input.peek(LitStr) {
        return input.parse::<LitStr>()?.parse_with(parse_field_name);
    }
    if input.peek(LitInt) {
        let index: LitInt = input.parse()?;
        index.base10_parse::<u32>()?;
        Ok(FieldName::Index(index))
    } else {
        input.parse().map(FieldName::Named)
    }
}

/// `key = "text"`; `example` is a typical value.
fn string(cx: &Ctxt, meta: &ParseNestedMeta, name: Symbol, example: &str) -> Option<LitStr> {
    string_with(cx, meta, name, example, str::to_owned)
}

/// `key = "text"`; when the value is a bare word, `suggest` turns it into the string to propose.
fn string_with(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: Symbol,
    example: &str,
    suggest: impl Fn(&str) -> String,
) -> Option<LitStr> {
    let input = meta.input;
    let key = &meta.path;
    let Ok(eq) = input.parse::<Token![=]>() else {
        let rest = skip_value(input);
        cx.error_spanned_by(quote!(#key #rest), format!("expected `{name} = \"{example}\"`"));
        return None;
    };
    if input.peek(LitStr) {
        let value = input.parse().ok();
        expect_separator(cx, input);
        return value;
    }
    let bad = skip_value(input);
    if bad.is_empty() {
        cx.error_spanned_by(
            quote!(#key #eq),
            format!("missing value: write `{name} = \"{example}\"`"),
        );
    } else {
        let suggestion = bare_word(&bad).map_or_else(|| example.to_owned(), |word| suggest(&word));
        cx.error_spanned_by(
            &bad,
            format!("expected a string: write `{name} = \"{suggestion}\"`"),
        );
    }
    None
}

/// The text of a lone identifier, which the user probably meant as a string.
fn bare_word(tokens: &TokenStream) -> Option<String> {
    let mut iter = tokens.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Ident(ident)), None) => Some(ident.to_string()),
        _ => None,
    }
}

/// Records an error if a string is empty (`what` names it: "`license`").
pub fn not_empty(cx: &Ctxt, value: &LitStr, what: &str) {
    if value.value().trim().is_empty() {
        cx.error_spanned_by(value, format!("empty {what}: remove it or write a value"));
    }
}

/// `key = "https://..."`: a link of the model card.
fn url(cx: &Ctxt, meta: &ParseNestedMeta, name: Symbol, example: &str) -> Option<LitStr> {
    let value = string(cx, meta, name, example)?;
    let url = value.value();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_and_path = |rest: &str| !rest.is_empty() && !rest.starts_with('/');
    if rest.is_some_and(host_and_path) && !url.contains(char::is_whitespace) {
        return Some(value);
    }
    // `github.com/x` or `ftp://host/x`: propose the https form.
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let message = if host_and_path(after_scheme) && !url.contains(char::is_whitespace) {
        format!("`{name}` must be an http(s) URL: write `{name} = \"https://{after_scheme}\"`")
    } else {
        format!("`{name}` must be an http(s) URL, e.g. `{name} = \"{example}\"`")
    };
    cx.error_spanned_by(&value, message);
    Some(value)
}

/// `key("a", "b")`; `example` is a typical list content.
fn string_list(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: Symbol,
    item: &str,
    example: &str,
) -> Option<Vec<LitStr>> {
    let input = meta.input;
    let key = &meta.path;
    if input.peek(syn::token::Paren) {
        let items = (|| {
            let content;
            syn::parenthesized!(content in input);
            Ok(list_items(cx, &content, name, item, example))
        })();
        expect_separator(cx, input);
        return items.unwrap_or_else(|error| {
            cx.syn_error(error);
            None
        });
    }
    let eq = input.parse::<Option<Token![=]>>().ok().flatten();
    let value = skip_value(input);
    let suggestion = list_suggestion(&value).unwrap_or_else(|| example.to_owned());
    cx.error_spanned_by(
        quote!(#key #eq #value),
        format!("`{name}` takes a parenthesized list of strings: write `{name}({suggestion})`"),
    );
    None
}

/// The strings of `key(...)`, each checked; `None` if one is not a string.
fn list_items(
    cx: &Ctxt,
    content: ParseStream,
    name: Symbol,
    item: &str,
    example: &str,
) -> Option<Vec<LitStr>> {
    let mut items = Vec::new();
    let mut ok = true;
    while !content.is_empty() {
        if content.peek(LitStr) && (content.peek2(Token![,]) || content.peek2(syn::parse::End)) {
            let value = content.parse::<LitStr>().ok();
            items.extend(value.inspect(|value| not_empty(cx, value, &format!("{item} in `{name}(...)`"))));
        } else {
            let bad = skip_value(content);
            let suggestion = bare_word(&bad).map_or_else(|| example.to_owned(), |word| format!("\"{word}\""));
            cx.error_spanned_by(
                &bad,
                format!("expected a string in `{name}(...)`: write `{name}({suggestion})`"),
            );
            ok = false;
        }
        if content.parse::<Option<Token![,]>>().is_err() {
            break;
        }
    }
    ok.then_some(items)
}

/// `key("a" => "b", ...)`: ordered pairs of strings; `what` names them in messages, `example`
/// is one pair.
fn pair_list(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: Symbol,
    what: &str,
    example: &str,
) -> Option<Vec<Pair>> {
    let input = meta.input;
    let key = &meta.path;
    if !input.peek(syn::token::Paren) {
        let eq = input.parse::<Option<Token![=]>>().ok().flatten();
        let value = skip_value(input);
        cx.error_spanned_by(
            quote!(#key #eq #value),
            format!("`{name}` takes a parenthesized list of {what}: write `{name}({example})`"),
        );
        return None;
    }
    let items = (|| {
        let content;
        syn::parenthesized!(content in input);
        Ok(pair_items(cx, &content, name, example))
    })();
    expect_separator(cx, input);
    items.unwrap_or_else(|error| {
        cx.syn_error(error);
        None
    })
}

/// The pairs of `key(...)`; `None` if one is not `"a" => "b"`.
fn pair_items(cx: &Ctxt, content: ParseStream, name: Symbol, example: &str) -> Option<Vec<Pair>> {
    let mut items = Vec::new();
    let mut ok = true;
    while !content.is_empty() {
        let fork = content.fork();
        let pair = (|| {
            let from = fork.parse::<LitStr>()?;
            fork.parse::<Token![=>]>()?;
            let to = fork.parse::<LitStr>()?;
            if fork.is_empty() || fork.peek(Token![,]) {
                Ok(Pair { from, to })
            } else {
                Err(fork.error("expected `,`"))
            }
        })();
        match pair {
            Ok(pair) => {
                content.advance_to(&fork);
                items.push(pair);
            }
            Err(_) => {
                let bad = skip_value(content);
                cx.error_spanned_by(
                    &bad,
                    format!("expected `\"from\" => \"to\"` in `{name}(...)`, e.g. `{name}({example})`"),
                );
                ok = false;
            }
        }
        if content.parse::<Option<Token![,]>>().is_err() {
            break;
        }
    }
    ok.then_some(items)
}

/// What a list written the wrong way probably meant: `= "x"` is `("x")`, `= ["a", "b"]` is
/// `("a", "b")`.
fn list_suggestion(value: &TokenStream) -> Option<String> {
    let mut iter = value.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Literal(literal)), None) => Some(literal.to_string()),
        (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::Bracket => {
            Some(group.stream().to_string())
        }
        _ => None,
    }
}

/// `layout = "burn"` or `layout = "pytorch"`.
fn layout(cx: &Ctxt, meta: &ParseNestedMeta) -> Option<Layout> {
    let suggest = |word: &str| {
        if word.eq_ignore_ascii_case("burn") {
            "burn"
        } else {
            "pytorch"
        }
        .to_owned()
    };
    let value = string_with(cx, meta, LAYOUT, "pytorch", suggest)?;
    match value.value().as_str() {
        "burn" => Some(Layout::Burn),
        "pytorch" => Some(Layout::PyTorch),
        other => {
            cx.error_spanned_by(
                &value,
                format!(
                    "unknown layout `{other}`: write `layout = \"burn\"` (Burn's tensor names and shapes, the \
                     default) or `layout = \"pytorch\"` (the names and shapes PyTorchModelHubMixin uses)"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_suggest_the_closest_key() {
        assert_eq!(closest_key("licence").map(Symbol::name), Some("license"));
        assert_eq!(closest_key("tag").map(Symbol::name), Some("tags"));
        assert_eq!(closest_key("configfn").map(Symbol::name), Some("config_fn"));
        assert_eq!(closest_key("pipeline").map(Symbol::name), Some("pipeline_tag"));
        assert_eq!(closest_key("library").map(Symbol::name), Some("library_name"));
        assert_eq!(closest_key("languages").map(Symbol::name), Some("language"));
        assert_eq!(closest_key("frobnicate"), None);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
