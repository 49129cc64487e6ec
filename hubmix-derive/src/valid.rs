//! Semantic checks on the typed input, each failure a spanned error that says what to write.
//! What passes becomes a [`Model`]: everything [`crate::expand`] needs, resolved.

use quote::{ToTokens, quote};
use syn::{Member, Path, Type};

use crate::ast::{Data, Field, Input, Style};
use crate::attr::{Ctxt, FieldName, Pair, Slot};
use crate::card::{self, CardBody};
use crate::weight_map::{self, WeightMap};

/// A model the derive can implement `HubModel` for.
pub struct Model<'a> {
    pub input: &'a Input<'a>,
    pub config_ty: &'a Type,
    pub access: Access<'a>,
    pub card: CardBody<'a>,
    pub weight_map: WeightMap<'a>,
    /// `config_keys(...)`, checked.
    pub config_keys: &'a [Pair],
}

/// How `hub_config` gets the config.
pub enum Access<'a> {
    /// Clones this field.
    Field(&'a Field<'a>),
    /// Calls this `fn(&Self) -> Config`.
    Fn(&'a Path),
}

/// Checks `input`, recording every problem in `cx`; `None` when something was recorded.
pub fn check<'a>(cx: &Ctxt, input: &'a Input<'a>) -> Option<Model<'a>> {
    if let Data::Union { union_token } = &input.data {
        cx.error_spanned_by(
            union_token,
            "`HubModel` cannot be derived for a union: a Burn module is a struct or an enum",
        );
        return None;
    }
    let attrs = &input.attrs;
    let config_ty = attrs.config.get();
    if attrs.config.key().is_none() {
        cx.error_spanned_by(
            input.ident,
            format!(
                "missing `#[hub(config = ...)]`: name the Burn config type that builds `{0}`, e.g. \
                 `#[hub(config = {0}Config)]`",
                input.ident
            ),
        );
    }
    let access = access(cx, input, config_ty);
    let card = card::check(cx, attrs);
    let weight_map = weight_map::check(cx, attrs);
    let config_keys = weight_map::config_keys(cx, attrs);
    Some(Model {
        input,
        config_ty: config_ty?,
        access: access?,
        card: card?,
        weight_map: weight_map?,
        config_keys: config_keys?,
    })
}

/// Resolves where the config comes from: `config_fn`, `config_field`, or the default field.
fn access<'a>(cx: &Ctxt, input: &'a Input<'a>, config_ty: Option<&'a Type>) -> Option<Access<'a>> {
    let attrs = &input.attrs;
    if let (Some(_), Some(config_fn)) = (attrs.config_field.key(), attrs.config_fn.key()) {
        cx.error_at(
            config_fn,
            "`config_field` and `config_fn` both say where the config comes from: keep one \
             (`config_field` names the field that holds it, `config_fn` a function that computes it)",
        );
        return None;
    }
    if attrs.config_fn.key().is_some() {
        return attrs.config_fn.get().map(Access::Fn);
    }
    let config = Config {
        ty: config_ty,
        name: config_ty.map_or_else(|| "MlpConfig".to_owned(), type_text),
    };
    let field = match &input.data {
        Data::Union { .. } => None,
        Data::Enum { enum_token } => {
            let message = format!(
                "an enum model needs `#[hub(config_fn = path)]`: a `fn(&Self) -> {}` that returns the \
                 config of any variant",
                config.name
            );
            match attrs.config_field.key() {
                Some(key) => cx.error_at(key, format!("`config_field` needs a struct; {message}")),
                None => {
                    let ident = input.ident;
                    cx.error_spanned_by(quote!(#enum_token #ident), message);
                }
            }
            None
        }
        Data::Struct { style, fields } => match &attrs.config_field {
            slot if slot.key().is_some() => named_field(cx, input, *style, fields, slot, &config),
            _ => default_field(cx, input, *style, fields, &config),
        },
    }?;
    if !field.module_skip {
        let (name, ty) = (member_name(&field.member), type_text(field.ty));
        let write = match &field.member {
            Member::Named(ident) => format!("#[module(skip)] {ident}: {ty}"),
            Member::Unnamed(_) => format!("#[module(skip)] {ty}"),
        };
        cx.error_spanned_by(
            field.original,
            format!(
                "the config field `{name}` needs `#[module(skip)]`, or Burn's `#[derive(Module)]` treats \
                 `{ty}` as a sub-module: write `{write}`"
            ),
        );
        return None;
    }
    Some(Access::Field(field))
}

/// The config type, if known, and how to write it in messages.
struct Config<'a> {
    ty: Option<&'a Type>,
    name: String,
}

impl Config<'_> {
    /// The fields whose type has the config type's name (`MlpConfig`, `crate::MlpConfig`).
    fn typed<'f>(&self, fields: &'f [Field<'f>]) -> Vec<&'f Field<'f>> {
        match self.ty.and_then(last_segment) {
            Some(last) => fields
                .iter()
                .filter(|f| last_segment(f.ty).as_ref() == Some(&last))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The name of the one field of the config type, or `default`.
    fn field_or(&self, fields: &[Field], default: &str) -> String {
        match self.typed(fields).as_slice() {
            [only] => member_name(&only.member),
            _ => default.to_owned(),
        }
    }
}

/// The field named by `config_field = ...`.
fn named_field<'a>(
    cx: &Ctxt,
    input: &Input,
    style: Style,
    fields: &'a [Field<'a>],
    slot: &Slot<FieldName>,
    config: &Config,
) -> Option<&'a Field<'a>> {
    let ident = input.ident;
    match (slot.get()?, style) {
        (FieldName::Named(name), Style::Named) => {
            let found = fields
                .iter()
                .find(|f| matches!(&f.member, Member::Named(n) if n == name));
            if found.is_none() {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| format!("`{}`", member_name(&f.member)))
                    .collect();
                cx.error_spanned_by(
                    name,
                    format!(
                        "no field `{name}` in `{ident}`; its fields are {}",
                        names.join(", ")
                    ),
                );
            }
            found
        }
        (FieldName::Index(index), Style::Tuple) => {
            let found = index.base10_parse::<usize>().ok().and_then(|i| fields.get(i));
            if found.is_none() {
                let numbered = match fields.len() {
                    0 => "it has no fields".to_owned(),
                    n => format!("its fields are numbered 0 to {}", n - 1),
                };
                cx.error_spanned_by(index, format!("no field {index} in `{ident}`: {numbered}"));
            }
            found
        }
        (FieldName::Named(name), Style::Tuple) => {
            let index = config.field_or(fields, "1");
            cx.error_spanned_by(
                name,
                format!("`{ident}` is a tuple struct: name the config field by its index, e.g. `config_field = {index}`"),
            );
            None
        }
        (FieldName::Index(index), Style::Named) => {
            let name = config.field_or(fields, "config");
            cx.error_spanned_by(
                index,
                format!("`{ident}` has named fields: write the field's name, e.g. `config_field = {name}`"),
            );
            None
        }
        (FieldName::Named(_) | FieldName::Index(_), Style::Unit) => {
            cx.error_spanned_by(
                input.ident,
                format!(
                    "`{ident}` has no fields: add one, e.g. `#[module(skip)] config: {}`",
                    config.name
                ),
            );
            None
        }
    }
}

/// The default config field: the one named `config`, else the one field of the config type.
fn default_field<'a>(
    cx: &Ctxt,
    input: &Input,
    style: Style,
    fields: &'a [Field<'a>],
    config: &Config,
) -> Option<&'a Field<'a>> {
    let ident = input.ident;
    let ty_name = &config.name;
    if style == Style::Tuple {
        let index = config.field_or(fields, "N");
        cx.error_spanned_by(
            ident,
            format!(
                "a tuple struct has no field named `config`: say which field holds the `{ty_name}` with \
                 `#[hub(config_field = {index})]` (the field needs `#[module(skip)]`), or give a getter with \
                 `#[hub(config_fn = path)]`"
            ),
        );
        return None;
    }
    let by_name = fields
        .iter()
        .find(|f| matches!(&f.member, Member::Named(n) if n == "config"));
    if by_name.is_some() {
        return by_name;
    }
    match config.typed(fields).as_slice() {
        [only] => Some(only),
        // Without a config type there is nothing to look for; the missing `config` is reported.
        _ if config.ty.is_none() => None,
        [] => {
            cx.error_spanned_by(
                ident,
                format!(
                    "`{ident}` has no field that holds its config: add a field `#[module(skip)] config: {ty_name}`, \
                     or name the field with `#[hub(config_field = ...)]`, or give a getter with \
                     `#[hub(config_fn = ...)]`"
                ),
            );
            None
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|f| format!("`{}`", member_name(&f.member)))
                .collect();
            cx.error_spanned_by(
                ident,
                format!(
                    "several fields of `{ident}` have type `{ty_name}` ({}): say which holds the config, e.g. \
                     `#[hub(config_field = {})]`",
                    names.join(", "),
                    member_name(&several[0].member)
                ),
            );
            None
        }
    }
}

/// The last path segment of a type (`MlpConfig` for `crate::mlp::MlpConfig<T>`), if it is a path.
fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| s.ident.to_string()),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

/// A type as one writes it (`crate::MlpConfig<T>`), for messages.
fn type_text(ty: &Type) -> String {
    let spaced = ty.to_token_stream().to_string();
    let chars: Vec<char> = spaced.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '\'');
    let mut text = String::with_capacity(spaced.len());
    for (i, c) in chars.iter().enumerate() {
        // Keep only the spaces that separate two words (`dyn Trait`, `&'a mut T`).
        if *c != ' ' || (word(i.checked_sub(1).and_then(|j| chars.get(j))) && word(chars.get(i + 1))) {
            text.push(*c);
        }
    }
    text
}

/// `config` or `0`, for messages.
fn member_name(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}
