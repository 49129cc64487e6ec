//! Semantic checks on the typed input, each failure a spanned error that says what to write.
//! What passes becomes a [`Model`]: everything [`crate::expand`] needs, resolved.

use quote::{ToTokens, quote};
use syn::{LitStr, Member, Path, Type};

use crate::ast::{Data, Field, Input, Style};
use crate::attr::{Ctxt, FieldName, Slot};

/// A model the derive can implement `HubModel` for.
pub struct Model<'a> {
    pub input: &'a Input<'a>,
    pub config_ty: &'a Type,
    pub access: Access<'a>,
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
    check_strings(cx, input);
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
    Some(Model {
        input,
        config_ty: config_ty?,
        access: access?,
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
    let ty_name = config_ty.map_or_else(|| "MlpConfig".to_owned(), |ty| ty.to_token_stream().to_string());
    let field = match &input.data {
        Data::Union { .. } => None,
        Data::Enum { enum_token } => {
            let message = format!(
                "an enum model needs `#[hub(config_fn = path)]`: a `fn(&Self) -> {ty_name}` that returns the \
                 config whichever the variant"
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
            slot if slot.key().is_some() => named_field(cx, input, *style, fields, slot),
            _ => default_field(cx, input, *style, fields, config_ty, &ty_name),
        },
    }?;
    if !field.module_skip {
        let (name, ty) = (member_name(&field.member), field.ty.to_token_stream());
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

/// The field named by `config_field = ...`.
fn named_field<'a>(
    cx: &Ctxt,
    input: &Input,
    style: Style,
    fields: &'a [Field<'a>],
    slot: &Slot<FieldName>,
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
            cx.error_spanned_by(
                name,
                format!(
                    "`{ident}` is a tuple struct: name the config field by its index, e.g. `config_field = 1`"
                ),
            );
            None
        }
        (FieldName::Index(index), _) => {
            cx.error_spanned_by(
                index,
                format!("`{ident}` has named fields: write the field's name, e.g. `config_field = config`"),
            );
            None
        }
        (FieldName::Named(name), Style::Unit) => {
            cx.error_spanned_by(
                name,
                format!("`{ident}` has no fields; add `#[module(skip)] {name}: ...`"),
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
    config_ty: Option<&Type>,
    ty_name: &str,
) -> Option<&'a Field<'a>> {
    let ident = input.ident;
    let by_name = fields
        .iter()
        .find(|f| matches!(&f.member, Member::Named(n) if n == "config"));
    let by_type: Vec<&Field> = match config_ty.and_then(last_segment) {
        Some(last) => fields
            .iter()
            .filter(|f| last_segment(f.ty).as_ref() == Some(&last))
            .collect(),
        None => Vec::new(),
    };
    if style == Style::Tuple {
        let index = match by_type.as_slice() {
            [only] => member_name(&only.member),
            _ => "N".to_owned(),
        };
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
    if by_name.is_some() {
        return by_name;
    }
    match by_type.as_slice() {
        [only] => Some(only),
        // Without a config type there is nothing to look for; the missing `config` is reported.
        _ if config_ty.is_none() => None,
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

/// `config` or `0`, for messages.
fn member_name(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// Model-card strings: no empty ones, and URLs that are http(s).
fn check_strings(cx: &Ctxt, input: &Input) {
    let attrs = &input.attrs;
    let single = [
        ("library_name", &attrs.library_name),
        ("license", &attrs.license),
        ("pipeline_tag", &attrs.pipeline_tag),
    ];
    for (name, slot) in single {
        if let Some(value) = slot.get() {
            not_empty(cx, value, &format!("`{name}`"));
        }
    }
    for (name, what, slot) in [
        ("tags", "tag", &attrs.tags),
        ("language", "language", &attrs.language),
    ] {
        for value in slot.get().into_iter().flatten() {
            not_empty(cx, value, &format!("{what} in `{name}(...)`"));
        }
    }
    for (name, slot) in [
        ("repo_url", &attrs.repo_url),
        ("paper_url", &attrs.paper_url),
        ("docs_url", &attrs.docs_url),
    ] {
        if let Some(value) = slot.get() {
            check_url(cx, name, value);
        }
    }
}

fn not_empty(cx: &Ctxt, value: &LitStr, what: &str) {
    if value.value().trim().is_empty() {
        cx.error_spanned_by(value, format!("empty {what}: remove it or write a value"));
    }
}

fn check_url(cx: &Ctxt, name: &str, value: &LitStr) {
    let url = value.value();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let valid = rest
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace));
    if valid {
        return;
    }
    let message = if url.contains("://") || url.trim().is_empty() || url.contains(char::is_whitespace) {
        format!("`{name}` must be an http(s) URL, e.g. `{name} = \"https://github.com/alice/mlp\"`")
    } else {
        format!("`{name}` must be an http(s) URL: write `{name} = \"https://{url}\"`")
    };
    cx.error_spanned_by(value, message);
}
