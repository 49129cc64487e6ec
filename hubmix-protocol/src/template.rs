//! Model-card templates: Markdown with `{{ name }}` placeholders that hubmix fills when it
//! writes a card. Shared by `hubmix-derive`, which checks a `#[hub(card_template = "...")]`
//! file at compile time, and `hubmix-hub`, which fills it.
//!
//! ```
//! use hubmix_protocol::template::{fill, unknown_placeholders};
//!
//! let template = "# {{ repo_id }}\n\nA {{model_type}} model. {{ model_id }}\n";
//! assert_eq!(unknown_placeholders(template), ["model_id"]);
//! let text = fill(template, |name| (name == "repo_id").then(|| "alice/mlp".to_owned()));
//! assert_eq!(text, "# alice/mlp\n\nA {{model_type}} model. {{ model_id }}\n");
//! ```

/// The placeholders a card template may use, each with what it is replaced by.
pub const CARD_PLACEHOLDERS: [(&str, &str); 6] = [
    (
        "repo_id",
        "the repository id (`alice/mlp`), or the folder name on a local save",
    ),
    ("model_type", "the model's type name (`Mlp`)"),
    (
        "usage",
        "Rust code that loads the model (no code fence around it)",
    ),
    ("repo_url", "the `repo_url` link, or `[More Information Needed]`"),
    (
        "paper_url",
        "the `paper_url` link, or `[More Information Needed]`",
    ),
    ("docs_url", "the `docs_url` link, or `[More Information Needed]`"),
];

/// One `{{ ... }}` of a template: the name between the braces (trimmed) and where the whole
/// placeholder is (byte offsets, braces included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// The text between the braces, without surrounding spaces.
    pub name: &'a str,
    /// Offset of the opening `{{`.
    pub start: usize,
    /// Offset just past the closing `}}`.
    pub end: usize,
}

/// Every `{{ ... }}` of `template`, in order. A `{{` with no `}}` after it on the same line is
/// text, not a placeholder.
pub fn placeholders(template: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find("{{").map(|i| from + i) {
        let inside = open + 2;
        let line_end = template[inside..]
            .find('\n')
            .map_or(template.len(), |i| inside + i);
        match template[inside..line_end].find("}}") {
            Some(close) => {
                let end = inside + close + 2;
                found.push(Placeholder {
                    name: template[inside..inside + close].trim(),
                    start: open,
                    end,
                });
                from = end;
            }
            None => from = inside,
        }
    }
    found
}

/// The placeholders of `template` that are not [`CARD_PLACEHOLDERS`], in order, each once.
pub fn unknown_placeholders(template: &str) -> Vec<&str> {
    let mut unknown: Vec<&str> = Vec::new();
    for p in placeholders(template) {
        if !CARD_PLACEHOLDERS.iter().any(|(known, _)| *known == p.name) && !unknown.contains(&p.name) {
            unknown.push(p.name);
        }
    }
    unknown
}

/// `template` with each placeholder replaced by `value(name)`; a placeholder `value` has no
/// value for is left as written.
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for p in placeholders(template) {
        if let Some(text) = value(p.name) {
            out.push_str(&template[copied..p.start]);
            out.push_str(&text);
            copied = p.end;
        }
    }
    out.push_str(&template[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_with_or_without_spaces_and_skips_unclosed_braces() {
        let template = "{{repo_id}} {{  usage }} {{ a | default(\"x\") }} {{ open\n}} {{docs_url}}";
        let names: Vec<&str> = placeholders(template).iter().map(|p| p.name).collect();
        assert_eq!(names, ["repo_id", "usage", "a | default(\"x\")", "docs_url"]);
        assert_eq!(unknown_placeholders(template), ["a | default(\"x\")"]);
        assert_eq!(unknown_placeholders("{{ x }}{{ x }}{{ y }}"), ["x", "y"]);
        assert!(unknown_placeholders("no braces, { single } ones").is_empty());
    }

    #[test]
    fn fills_known_values_and_keeps_the_rest() {
        let value = |name: &str| match name {
            "repo_id" => Some("alice/mlp".to_owned()),
            "usage" => Some("let m = 1;".to_owned()),
            _ => None,
        };
        assert_eq!(
            fill("# {{ repo_id }}\n```rust\n{{usage}}\n```\n{{ other }} {{", value),
            "# alice/mlp\n```rust\nlet m = 1;\n```\n{{ other }} {{"
        );
        // A value holding braces is not filled again.
        assert_eq!(
            fill("{{ a }}{{ b }}", |_| Some("{{ b }}".into())),
            "{{ b }}{{ b }}"
        );
    }
}
