//! A typed view of the derive input: the type, its `#[hub(...)]` attributes and, for a struct,
//! its fields with what `#[derive(Module)]` will make of them.

use syn::{Attribute, Data as SynData, DeriveInput, Fields, Generics, Ident, Member, Type};

use crate::attr::{Attrs, Ctxt, HUB, MODULE, SKIP};

/// The item `#[derive(HubModel)]` is on.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: Attrs,
    pub data: Data<'a>,
}

/// What kind of item it is.
pub enum Data<'a> {
    Struct { style: Style, fields: Vec<Field<'a>> },
    Enum { enum_token: &'a syn::token::Enum },
    Union { union_token: &'a syn::token::Union },
}

/// How a struct's fields are written.
#[derive(Copy, Clone, PartialEq, Eq)]
pub enum Style {
    /// `struct S { a: A }`
    Named,
    /// `struct S(A);`
    Tuple,
    /// `struct S;`
    Unit,
}

/// A struct field.
pub struct Field<'a> {
    pub original: &'a syn::Field,
    /// `self.name` or `self.0`.
    pub member: Member,
    pub ty: &'a Type,
    /// Marked `#[module(skip)]`: plain data to Burn, not a sub-module.
    pub module_skip: bool,
}

impl<'a> Input<'a> {
    pub fn from_syn(cx: &Ctxt, node: &'a DeriveInput) -> Self {
        let attrs = Attrs::from_attrs(cx, &node.attrs);
        let data = match &node.data {
            SynData::Struct(data) => {
                let style = match data.fields {
                    Fields::Named(_) => Style::Named,
                    Fields::Unnamed(_) => Style::Tuple,
                    Fields::Unit => Style::Unit,
                };
                let fields = data.fields.members().zip(&data.fields).map(|(member, field)| {
                    reject_hub_attrs(cx, &field.attrs, "a field");
                    Field {
                        original: field,
                        member,
                        ty: &field.ty,
                        module_skip: has_module_skip(&field.attrs),
                    }
                });
                Data::Struct {
                    style,
                    fields: fields.collect(),
                }
            }
            SynData::Enum(data) => {
                for variant in &data.variants {
                    reject_hub_attrs(cx, &variant.attrs, "a variant");
                    for field in &variant.fields {
                        reject_hub_attrs(cx, &field.attrs, "a field");
                    }
                }
                Data::Enum {
                    enum_token: &data.enum_token,
                }
            }
            SynData::Union(data) => Data::Union {
                union_token: &data.union_token,
            },
        };
        Input {
            ident: &node.ident,
            generics: &node.generics,
            attrs,
            data,
        }
    }
}

/// `#[hub(...)]` belongs on the type; on a field or variant it would be silently ignored.
fn reject_hub_attrs(cx: &Ctxt, attrs: &[Attribute], place: &str) {
    for attr in attrs.iter().filter(|attr| attr.path() == HUB) {
        cx.error_spanned_by(
            attr,
            format!(
                "`#[hub(...)]` goes on the model type, not on {place}; to say which field holds the config, \
                 write `#[hub(config_field = name)]` on the type"
            ),
        );
    }
}

/// Whether the field carries `#[module(skip)]` (Burn's marker for plain data). Malformed
/// `#[module(...)]` attributes are left to Burn's derive to report.
fn has_module_skip(attrs: &[Attribute]) -> bool {
    let mut skip = false;
    for attr in attrs.iter().filter(|attr| attr.path() == MODULE) {
        let _ = attr.parse_nested_meta(|meta| {
            skip |= meta.path == SKIP;
            Ok(())
        });
    }
    skip
}
