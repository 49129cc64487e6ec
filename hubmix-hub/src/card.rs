//! Model cards: the `README.md` of a model repository, YAML metadata in front matter plus a
//! Markdown body.
//!
//! hubmix writes a card when a folder has none, and on a push it never overwrites a card that
//! someone edited on the Hub: [`merge_card`] keeps the existing text and merges only the
//! metadata (tags are united, fields the existing card leaves empty are filled in).
//!
//! ```
//! use hubmix_hub::card::{ModelCard, ModelCardData};
//!
//! let card = ModelCard::new("alice/mlp", ModelCardData::default().license("mit").tags(["mlp"]));
//! let text = card.render();
//! assert!(text.starts_with("---\n"));
//! assert!(text.contains("license: mit"));
//! assert!(text.contains("- burn") && text.contains("- hubmix") && text.contains("- mlp"));
//! ```

use hubmix_protocol::card::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

use crate::error::HubError;

/// The metadata of a model card (its YAML front matter). Empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelCardData {
    /// The library that loads the model: `burn` unless set.
    pub library_name: Option<String>,
    /// Tags; `burn` and `hubmix` are always added.
    pub tags: Vec<String>,
    /// A license id (`mit`, `apache-2.0`, ...).
    pub license: Option<String>,
    /// The task, e.g. `image-classification`.
    pub pipeline_tag: Option<String>,
    /// Languages (ISO 639-1 codes).
    pub language: Vec<String>,
    /// The model this one was fine-tuned from (a Hub id).
    pub base_model: Option<String>,
    /// Datasets it was trained on (Hub ids).
    pub datasets: Vec<String>,
}

impl ModelCardData {
    /// Sets the library name.
    pub fn library_name(mut self, name: impl Into<String>) -> Self {
        self.library_name = Some(name.into());
        self
    }

    /// Adds tags.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Sets the license.
    pub fn license(mut self, license: impl Into<String>) -> Self {
        self.license = Some(license.into());
        self
    }

    /// Sets the pipeline tag.
    pub fn pipeline_tag(mut self, tag: impl Into<String>) -> Self {
        self.pipeline_tag = Some(tag.into());
        self
    }

    /// Adds languages.
    pub fn language<S: Into<String>>(mut self, languages: impl IntoIterator<Item = S>) -> Self {
        self.language.extend(languages.into_iter().map(Into::into));
        self
    }

    /// Sets the base model.
    pub fn base_model(mut self, id: impl Into<String>) -> Self {
        self.base_model = Some(id.into());
        self
    }

    /// Adds datasets.
    pub fn datasets<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.datasets.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Fills what `self` leaves empty from `other`, and unites the lists.
    pub fn or(mut self, other: &ModelCardData) -> Self {
        let fill = |mine: &mut Option<String>, theirs: &Option<String>| {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        };
        fill(&mut self.library_name, &other.library_name);
        fill(&mut self.license, &other.license);
        fill(&mut self.pipeline_tag, &other.pipeline_tag);
        fill(&mut self.base_model, &other.base_model);
        for (mine, theirs) in [
            (&mut self.tags, &other.tags),
            (&mut self.language, &other.language),
            (&mut self.datasets, &other.datasets),
        ] {
            unite(mine, theirs);
        }
        self
    }

    /// The tags with `burn` and `hubmix` added, deduplicated, in order.
    fn all_tags(&self) -> Vec<String> {
        let mut tags = self.tags.clone();
        unite(&mut tags, &["burn".to_owned(), "hubmix".to_owned()]);
        tags
    }

    /// The YAML mapping, in a fixed key order.
    fn to_yaml(&self) -> Hash {
        let mut h = Hash::new();
        let mut put = |key: &str, value: Yaml| {
            h.insert(Yaml::String(key.into()), value);
        };
        let list = |v: &[String]| Yaml::Array(v.iter().map(|s| Yaml::String(s.clone())).collect());
        put(
            "library_name",
            Yaml::String(self.library_name.clone().unwrap_or_else(|| "burn".into())),
        );
        put("tags", list(&self.all_tags()));
        if let Some(l) = &self.license {
            put("license", Yaml::String(l.clone()));
        }
        if let Some(p) = &self.pipeline_tag {
            put("pipeline_tag", Yaml::String(p.clone()));
        }
        if !self.language.is_empty() {
            put("language", list(&self.language));
        }
        if let Some(b) = &self.base_model {
            put("base_model", Yaml::String(b.clone()));
        }
        if !self.datasets.is_empty() {
            put("datasets", list(&self.datasets));
        }
        h
    }
}

/// Appends the items of `more` that `list` does not have.
fn unite(list: &mut Vec<String>, more: &[String]) {
    for item in more {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

/// A whole model card: metadata plus what the body shows.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ModelCard {
    /// The front matter.
    pub data: ModelCardData,
    /// The title (usually the repository id or the model type).
    pub title: String,
    /// Where the code is.
    pub repo_url: Option<String>,
    /// The paper.
    pub paper_url: Option<String>,
    /// The documentation.
    pub docs_url: Option<String>,
    /// A Rust snippet that loads the model.
    pub usage: Option<String>,
    /// More sections: (heading, Markdown). hubmix maintains them: each is rendered between
    /// `<!-- hubmix:begin HEADING -->` and `<!-- hubmix:end HEADING -->` markers, and a later
    /// push refreshes the text between the markers of a card on the Hub, leaving the rest of
    /// it (and any section whose markers someone removed) as it is.
    pub sections: Vec<(String, String)>,
}

impl ModelCard {
    /// A card titled `title` with this metadata.
    pub fn new(title: impl Into<String>, data: ModelCardData) -> Self {
        ModelCard {
            data,
            title: title.into(),
            ..Default::default()
        }
    }

    /// Adds a section.
    pub fn section(mut self, heading: impl Into<String>, markdown: impl Into<String>) -> Self {
        self.sections.push((heading.into(), markdown.into()));
        self
    }

    /// The card as `README.md` text.
    pub fn render(&self) -> String {
        let mut out = front_matter(&self.data.to_yaml());
        out.push_str(&format!("\n# {}\n\n", self.title));
        out.push_str("This model was pushed to the Hub with [hubmix](https://github.com/hubmix/hubmix), ");
        out.push_str("the Hugging Face Hub integration for [Burn](https://burn.dev).\n\n");
        let more = "[More Information Needed]";
        out.push_str(&format!("- Code: {}\n", self.repo_url.as_deref().unwrap_or(more)));
        out.push_str(&format!(
            "- Paper: {}\n",
            self.paper_url.as_deref().unwrap_or(more)
        ));
        out.push_str(&format!("- Docs: {}\n", self.docs_url.as_deref().unwrap_or(more)));
        if let Some(usage) = &self.usage {
            out.push_str(&format!("\n## Usage\n\n```rust\n{}\n```\n", usage.trim_end()));
        }
        for (heading, body) in &self.sections {
            out.push('\n');
            out.push_str(&managed_section(heading, body));
        }
        out
    }

    /// This card merged into an `existing` one (from the Hub): the existing text is kept, the
    /// metadata merged as [`merge_card`] does, and the text of the sections hubmix maintains
    /// refreshed where their markers are still in place.
    pub fn merge_into(&self, existing: &str) -> Result<String, HubError> {
        let mut merged = merge_card(existing, &self.data)?;
        for (heading, body) in &self.sections {
            let (begin, end) = markers(heading);
            let Some(start) = merged.find(&begin) else {
                continue;
            };
            let Some(stop) = merged[start..].find(&end).map(|i| start + i + end.len()) else {
                continue;
            };
            merged.replace_range(start..stop, managed_section(heading, body).trim_end());
        }
        Ok(merged)
    }
}

/// The begin and end markers of a maintained section.
fn markers(heading: &str) -> (String, String) {
    let heading = heading.replace("--", "- -");
    (
        format!("<!-- hubmix:begin {heading} -->"),
        format!("<!-- hubmix:end {heading} -->"),
    )
}

/// A section with its markers.
fn managed_section(heading: &str, body: &str) -> String {
    let (begin, end) = markers(heading);
    format!("{begin}\n## {heading}\n\n{}\n{end}\n", body.trim_end())
}

/// `---\n<yaml>\n---\n`.
fn front_matter(h: &Hash) -> String {
    let mut yaml = String::new();
    YamlEmitter::new(&mut yaml)
        .dump(&Yaml::Hash(h.clone()))
        .expect("writing YAML to a String cannot fail");
    let yaml = yaml.strip_prefix("---").unwrap_or(&yaml).trim_start_matches('\n');
    format!("---\n{yaml}\n---\n")
}

/// Splits a README into its front matter (parsed) and its body, with the Hub's rule.
fn split_front_matter(readme: &str) -> Result<(Option<Hash>, &str), HubError> {
    hubmix_protocol::card::split_front_matter(readme).map_err(|reason| HubError::InvalidModelCard { reason })
}

/// Reads the metadata of a README's front matter (what hubmix knows of it).
pub fn read_card_data(readme: &str) -> Result<ModelCardData, HubError> {
    let (front, _) = split_front_matter(readme)?;
    let h = front.unwrap_or_default();
    let get = |k: &str| h.get(&Yaml::String(k.into()));
    let string = |k: &str| get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let list = |k: &str| match get(k) {
        Some(Yaml::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    Ok(ModelCardData {
        library_name: string("library_name"),
        tags: list("tags"),
        license: string("license"),
        pipeline_tag: string("pipeline_tag"),
        language: list("language"),
        base_model: string("base_model"),
        datasets: list("datasets"),
    })
}

/// Merges hubmix's metadata into an existing README: its text and every key of its front
/// matter are kept; tags, languages and datasets are united; fields it leaves empty are
/// filled from `ours`.
pub fn merge_card(existing: &str, ours: &ModelCardData) -> Result<String, HubError> {
    let (front, body) = split_front_matter(existing)?;
    let mut h = front.unwrap_or_default();
    for (key, value) in ours.to_yaml() {
        match (h.get_mut(&key), value) {
            (Some(Yaml::Array(theirs)), Yaml::Array(mine)) => {
                for item in mine {
                    if !theirs.contains(&item) {
                        theirs.push(item);
                    }
                }
            }
            (Some(Yaml::String(theirs)), Yaml::Array(mine)) => {
                let mut all = vec![Yaml::String(theirs.clone())];
                all.extend(mine.into_iter().filter(|m| m.as_str() != Some(theirs.as_str())));
                h.insert(key, Yaml::Array(all));
            }
            (Some(existing), _) if !existing.is_null() => {}
            (_, value) => {
                h.insert(key, value);
            }
        }
    }
    Ok(format!("{}{}", front_matter(&h), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_front_matter_and_body() {
        let mut card = ModelCard::new(
            "alice/mlp",
            ModelCardData::default()
                .license("mit")
                .tags(["mlp", "burn"])
                .language(["en"]),
        );
        card.usage = Some("let m = Mlp::from_pretrained(\"alice/mlp\", &device)?;".into());
        card.paper_url = Some("https://arxiv.org/abs/1234.5678".into());
        let text = card.render();
        let data = read_card_data(&text).unwrap();
        assert_eq!(data.library_name.as_deref(), Some("burn"));
        assert_eq!(data.tags, ["mlp", "burn", "hubmix"]);
        assert_eq!(data.license.as_deref(), Some("mit"));
        assert_eq!(data.language, ["en"]);
        assert!(text.contains("- Paper: https://arxiv.org/abs/1234.5678"));
        assert!(text.contains("```rust\nlet m = Mlp::from_pretrained"));
    }

    #[test]
    fn merging_keeps_the_edited_text_and_fields() {
        let edited = "---\nlicense: apache-2.0\ntags:\n  - vision\nwidget: {src: x}\n---\n# My model\n\nHand-written text.\n";
        let merged = merge_card(
            edited,
            &ModelCardData::default()
                .license("mit")
                .tags(["mlp"])
                .datasets(["alice/data"]),
        )
        .unwrap();
        assert!(merged.ends_with("# My model\n\nHand-written text.\n"), "{merged}");
        let data = read_card_data(&merged).unwrap();
        assert_eq!(
            data.license.as_deref(),
            Some("apache-2.0"),
            "the edited license wins"
        );
        assert_eq!(data.tags, ["vision", "mlp", "burn", "hubmix"]);
        assert_eq!(data.datasets, ["alice/data"]);
        assert_eq!(data.library_name.as_deref(), Some("burn"));
        assert!(merged.contains("widget"), "unknown keys survive: {merged}");
        // A README without front matter gets one; its text stays.
        let merged = merge_card("Just text.\n", &ModelCardData::default()).unwrap();
        assert!(
            merged.starts_with("---\nlibrary_name: burn\n") && merged.ends_with("---\nJust text.\n"),
            "{merged}"
        );
    }

    #[test]
    fn maintained_sections_are_refreshed_and_the_rest_kept() {
        let first = ModelCard::new("alice/mlp", ModelCardData::default())
            .section("Training history", "| epoch | loss |\n| 1 | 0.5 |")
            .section("Model architecture", "old picture");
        let mut edited = first
            .render()
            .replace("# alice/mlp", "# alice/mlp\n\nMy own words.");
        // Someone removed the architecture section's end marker: that section is theirs now.
        edited = edited.replace("<!-- hubmix:end Model architecture -->", "");
        let second = ModelCard::new("alice/mlp", ModelCardData::default().tags(["new"]))
            .section("Training history", "| epoch | loss |\n| 1 | 0.5 |\n| 2 | 0.25 |")
            .section("Model architecture", "new picture")
            .section("Not in the old card", "ignored");
        let merged = second.merge_into(&edited).unwrap();
        assert!(merged.contains("My own words."), "{merged}");
        assert!(merged.contains("| 2 | 0.25 |"), "{merged}");
        assert_eq!(merged.matches("## Training history").count(), 1, "{merged}");
        assert!(
            merged.contains("old picture") && !merged.contains("new picture"),
            "{merged}"
        );
        assert!(!merged.contains("Not in the old card"), "{merged}");
        assert_eq!(read_card_data(&merged).unwrap().tags, ["burn", "hubmix", "new"]);
        // Merging again changes nothing.
        assert_eq!(second.merge_into(&merged).unwrap(), merged);
    }

    #[test]
    fn bad_front_matter_is_an_error() {
        assert!(matches!(
            merge_card("---\ntags: [a\n---\nx", &ModelCardData::default()),
            Err(HubError::InvalidModelCard { .. })
        ));
        assert!(matches!(
            merge_card("---\nno end\n", &ModelCardData::default()),
            Err(HubError::InvalidModelCard { .. })
        ));
        assert!(matches!(
            read_card_data("---\n- a\n---\n"),
            Err(HubError::InvalidModelCard { .. })
        ));
    }
}
