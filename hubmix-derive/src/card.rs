//! The model card's body: `card_template = "file.md"` (read and checked here, at compile time,
//! and embedded with `include_str!` so that editing it rebuilds the crate) or `card_fn = path`.

use std::path::PathBuf;

use hubmix_protocol::template::{CARD_PLACEHOLDERS, unknown_placeholders};
use syn::{LitStr, Path};

use crate::attr::{Attrs, Ctxt};

/// Where the card's body comes from.
pub enum CardBody<'a> {
    /// hubmix's default text.
    Default,
    /// A template file: the attribute's string, and the file's absolute path.
    Template { lit: &'a LitStr, path: String },
    /// A `fn(&Self, &ModelCard) -> String`.
    Fn(&'a Path),
}

/// Resolves the card's body, recording in `cx` a template that cannot be read or has unknown
/// placeholders, and both a template and a function; `None` when something was recorded.
pub fn check<'a>(cx: &Ctxt, attrs: &'a Attrs) -> Option<CardBody<'a>> {
    if let (Some(_), Some(card_fn)) = (attrs.card_template.key(), attrs.card_fn.key()) {
        cx.error_at(
            card_fn,
            "`card_template` and `card_fn` both give the model card's body: keep one (`card_template` names a \
             Markdown file with placeholders, `card_fn` a function that writes the body)",
        );
        return None;
    }
    if attrs.card_fn.key().is_some() {
        return attrs.card_fn.get().map(CardBody::Fn);
    }
    if attrs.card_template.key().is_none() {
        return Some(CardBody::Default);
    }
    let lit = attrs.card_template.get()?;
    let path = template(cx, lit)?;
    Some(CardBody::Template { lit, path })
}

/// Reads the template `lit` names (relative to the crate's folder) and checks its
/// placeholders; its absolute path, or `None` after recording what is wrong.
fn template(cx: &Ctxt, lit: &LitStr) -> Option<String> {
    let relative = lit.value();
    if relative.trim().is_empty() {
        // Reported by the attribute parser.
        return None;
    }
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        cx.error_spanned_by(
            lit,
            "`card_template` needs CARGO_MANIFEST_DIR (set by Cargo) to find the file: build with Cargo, or use \
             `card_fn`",
        );
        return None;
    };
    let path = PathBuf::from(manifest_dir).join(&relative);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "cannot read the card template `{relative}`: {error}. The path is relative to the crate's \
                     folder (where its Cargo.toml is)"
                ),
            );
            return None;
        }
    };
    let unknown = unknown_placeholders(&text);
    for name in &unknown {
        let known: Vec<String> = CARD_PLACEHOLDERS
            .iter()
            .map(|(name, _)| format!("`{{{{ {name} }}}}`"))
            .collect();
        cx.error_spanned_by(
            lit,
            format!(
                "unknown placeholder `{{{{ {name} }}}}` in the card template `{relative}`: the placeholders are {}",
                known.join(", ")
            ),
        );
    }
    let Some(path) = path.to_str() else {
        cx.error_spanned_by(lit, "the card template's path is not UTF-8: move the file");
        return None;
    };
    unknown.is_empty().then(|| path.to_owned())
}
