//! Model cards: the `README.md` of a model repository, YAML metadata in front matter plus a
//! Markdown body.
//!
//! hubmix writes a card when a folder has none, and on a push it never overwrites a card that
//! someone edited on the Hub: [`merge_card`] keeps the existing text and merges only the
//! metadata (tags are united, fields the existing card leaves empty are filled in). A push can
//! ask for more ([`CardUpdate`]): the values set in code replace the Hub's
//! ([`CardMetadata::PreferCode`]), and the body code makes replaces the Hub's text
//! ([`CardUpdate::replace_body`]).
//!
//! The metadata covers what the Hub reads: `base_model` (the model this one was derived from),
//! `datasets`, `metrics` and evaluation results (`model-index`, see [`ModelIndex`]), besides
//! license, tags, languages and pipeline tag. A model's own body comes from a template (with the
//! placeholders of [`hubmix_protocol::template`], filled by [`ModelCard::fill_template`]) or from
//! code ([`ModelCard::body`]).
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

mod model_index;

use hubmix_protocol::card::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

pub use model_index::{EvalResult, MetricValue, ModelIndex};

use crate::client::HubClient;
use crate::download::DownloadOptions;
use crate::error::HubError;
use crate::repo::IntoRepoRef;

/// The largest card [`HubClient::repo_card`] reads.
pub const MAX_CARD_BYTES: u64 = 16 << 20;

/// The metadata of a model card (its YAML front matter). Empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq)]
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
    /// Metrics it is evaluated with (ids such as `accuracy`).
    pub metrics: Vec<String>,
    /// Evaluation results, written as `model-index`.
    pub model_index: Option<ModelIndex>,
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

    /// Sets the base model: the Hub id of the model this one was fine-tuned or otherwise
    /// derived from (`SaveOptions::derived_from` in `hubmix` sets it from a loaded model).
    pub fn base_model(mut self, id: impl Into<String>) -> Self {
        self.base_model = Some(id.into());
        self
    }

    /// Adds datasets.
    pub fn datasets<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.datasets.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Adds metrics (ids such as `accuracy`).
    pub fn metrics<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.metrics.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Sets the evaluation results of the model `name` (its name on leaderboards), written as
    /// `model-index`.
    pub fn model_index(
        mut self,
        name: impl Into<String>,
        results: impl IntoIterator<Item = EvalResult>,
    ) -> Self {
        self.model_index = Some(ModelIndex::new(name, results));
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
        if self.model_index.is_none() {
            self.model_index.clone_from(&other.model_index);
        }
        for (mine, theirs) in [
            (&mut self.tags, &other.tags),
            (&mut self.language, &other.language),
            (&mut self.datasets, &other.datasets),
            (&mut self.metrics, &other.metrics),
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
        if !self.metrics.is_empty() {
            put("metrics", list(&self.metrics));
        }
        if let Some(index) = &self.model_index {
            put("model-index", index.to_yaml());
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

/// Which side wins when a push merges its metadata into a card on the Hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CardMetadata {
    /// The Hub's card wins (the default): every value it has is kept, lists (tags, languages,
    /// datasets, metrics) are united with the code's, and only the keys it lacks are filled in.
    /// Someone's edit on the Hub survives every push.
    #[default]
    PreferHub,
    /// The code wins for every key it writes (`library_name`, `tags`, and whatever else is
    /// set: license, `base_model`, `datasets`, `metrics`, `model-index`...): the Hub's value is
    /// replaced, lists included (the card then has exactly the code's tags). Keys the code does
    /// not write (`widget`, hand-added fields) are kept.
    PreferCode,
}

/// How a push updates a model card that is already on the Hub. The default keeps the Hub's
/// text and values and only adds what is missing.
///
/// ```
/// use hubmix_hub::card::{CardMetadata, CardUpdate, ModelCard, ModelCardData};
///
/// let on_the_hub = "---\nlicense: apache-2.0\n---\nHand-written.\n";
/// let card = ModelCard::new("alice/mlp", ModelCardData::default().license("mit"));
/// let kept = card.merge_into(on_the_hub, &CardUpdate::default()).unwrap();
/// assert!(kept.contains("license: apache-2.0") && kept.ends_with("Hand-written.\n"));
/// let code_wins = CardUpdate::default().metadata(CardMetadata::PreferCode);
/// let merged = card.merge_into(on_the_hub, &code_wins).unwrap();
/// assert!(merged.contains("license: mit") && merged.ends_with("Hand-written.\n"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CardUpdate {
    /// Which side's metadata wins (default: the Hub's).
    pub metadata: CardMetadata,
    /// Replace the card's text (everything after the front matter) by the body code makes: the
    /// model's own (a template or [`ModelCard::body`]) or else hubmix's default. Default
    /// `false`: the text on the Hub is kept, and only the sections hubmix maintains are
    /// refreshed.
    pub replace_body: bool,
}

impl CardUpdate {
    /// With this metadata policy.
    pub fn metadata(mut self, metadata: CardMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Replace the text on the Hub by the body code makes.
    pub fn replace_body(mut self, replace: bool) -> Self {
        self.replace_body = replace;
        self
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
    /// The model's type name (the `{{ model_type }}` of a template).
    pub model_type: Option<String>,
    /// Where the code is.
    pub repo_url: Option<String>,
    /// The paper.
    pub paper_url: Option<String>,
    /// The documentation.
    pub docs_url: Option<String>,
    /// A Rust snippet that loads the model.
    pub usage: Option<String>,
    /// The model's own Markdown body, replacing hubmix's default text (title, links, usage);
    /// the maintained [`sections`](Self::sections) follow it.
    pub body: Option<String>,
    /// More sections: (heading, Markdown). hubmix maintains them: each is rendered between
    /// `<!-- hubmix:begin HEADING -->` and `<!-- hubmix:end HEADING -->` markers, and a later
    /// push refreshes the text between the markers of a card on the Hub, leaving the rest of
    /// it (and any section whose markers someone removed) as it is.
    pub sections: Vec<(String, String)>,
}

/// What a missing link shows.
const MORE_INFORMATION: &str = "[More Information Needed]";

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

    /// The value of a template placeholder (see [`hubmix_protocol::template::CARD_PLACEHOLDERS`]).
    fn placeholder(&self, name: &str) -> Option<String> {
        let link = |url: &Option<String>| url.clone().unwrap_or_else(|| MORE_INFORMATION.to_owned());
        Some(match name {
            "repo_id" => self.title.clone(),
            "model_type" => self.model_type.clone().unwrap_or_default(),
            "usage" => self.usage.as_deref().unwrap_or_default().trim_end().to_owned(),
            "repo_url" => link(&self.repo_url),
            "paper_url" => link(&self.paper_url),
            "docs_url" => link(&self.docs_url),
            _ => return None,
        })
    }

    /// `template` with its placeholders filled from this card: `{{ repo_id }}` (the title),
    /// `{{ model_type }}`, `{{ usage }}`, `{{ repo_url }}`, `{{ paper_url }}`, `{{ docs_url }}`
    /// ([`hubmix_protocol::template::CARD_PLACEHOLDERS`]). An unknown placeholder is left as
    /// written (`#[hub(card_template = ...)]` refuses one at compile time).
    ///
    /// ```
    /// use hubmix_hub::card::{ModelCard, ModelCardData};
    ///
    /// let mut card = ModelCard::new("alice/mlp", ModelCardData::default());
    /// card.model_type = Some("Mlp".into());
    /// assert_eq!(card.fill_template("# {{ repo_id }}: an {{ model_type }}, {{ paper_url }}"),
    ///            "# alice/mlp: an Mlp, [More Information Needed]");
    /// ```
    pub fn fill_template(&self, template: &str) -> String {
        hubmix_protocol::template::fill(template, |name| self.placeholder(name))
    }

    /// The card as `README.md` text.
    pub fn render(&self) -> String {
        front_matter(&self.data.to_yaml()) + &self.render_body()
    }

    /// Everything after the front matter: the model's body or hubmix's default text, then the
    /// maintained sections.
    fn render_body(&self) -> String {
        let mut out = String::new();
        match &self.body {
            Some(body) => {
                out.push('\n');
                out.push_str(body.trim_end());
                out.push('\n');
            }
            None => self.default_body(&mut out),
        }
        for (heading, body) in &self.sections {
            out.push('\n');
            out.push_str(&managed_section(heading, body));
        }
        out
    }

    /// hubmix's text: title, where it was pushed from, links, usage.
    fn default_body(&self, out: &mut String) {
        out.push_str(&format!("\n# {}\n\n", self.title));
        out.push_str("This model was pushed to the Hub with [hubmix](https://github.com/hubmix/hubmix), ");
        out.push_str("the Hugging Face Hub integration for [Burn](https://burn.dev).\n\n");
        let link = |url: &Option<String>| url.as_deref().unwrap_or(MORE_INFORMATION).to_owned();
        out.push_str(&format!("- Code: {}\n", link(&self.repo_url)));
        out.push_str(&format!("- Paper: {}\n", link(&self.paper_url)));
        out.push_str(&format!("- Docs: {}\n", link(&self.docs_url)));
        if let Some(usage) = &self.usage {
            out.push_str(&format!("\n## Usage\n\n```rust\n{}\n```\n", usage.trim_end()));
        }
    }

    /// This card merged into an `existing` one (from the Hub) as `update` says. By default the
    /// existing text is kept, the metadata merged as [`merge_card`] does, and the text of the
    /// sections hubmix maintains refreshed where their markers are still in place.
    pub fn merge_into(&self, existing: &str, update: &CardUpdate) -> Result<String, HubError> {
        let (front, body) = split_front_matter(existing)?;
        let front = merge_metadata(front.unwrap_or_default(), &self.data, update.metadata);
        if update.replace_body {
            return Ok(front_matter(&front) + &self.render_body());
        }
        let mut merged = format!("{}{}", front_matter(&front), body);
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
        metrics: list("metrics"),
        model_index: get("model-index").and_then(ModelIndex::from_yaml),
    })
}

impl HubClient {
    /// The card (`README.md`) of a repository at the reference's revision (`alice/mlp@v1`;
    /// default `main`), as text, or `None` when the repository has none. Fetched into the cache,
    /// as `huggingface_hub`'s `RepoCard.load` does; a leading byte-order mark is dropped. Its
    /// metadata as JSON: [`hubmix_protocol::card::card_data`].
    ///
    /// ```
    /// use hubmix_hub::{CommitOperation, CommitOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// hub.create_repo("alice/mlp", &Default::default())?;
    /// assert_eq!(hub.repo_card("alice/mlp")?, None);
    /// let card = "---\nlicense: mit\n---\n# An MLP\n";
    /// hub.create_commit("alice/mlp", &[CommitOperation::add_bytes("README.md", card.as_bytes().to_vec())], &CommitOptions::new("Card"))?;
    /// assert_eq!(hub.repo_card("alice/mlp")?.as_deref(), Some(card));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`HubClient::hub_download`] (a missing repository or revision, ...);
    /// [`HubError::InvalidModelCard`] for a card larger than [`MAX_CARD_BYTES`] or not UTF-8.
    pub fn repo_card(&self, repo: impl IntoRepoRef) -> Result<Option<String>, HubError> {
        let repo = repo.into_repo_ref()?;
        let path = match self.hub_download(&repo, hubmix_protocol::card::README, &DownloadOptions::default())
        {
            Ok(path) => path,
            Err(HubError::EntryNotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let file = std::fs::File::open(&path).map_err(HubError::io("reading", &path))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_CARD_BYTES + 1), &mut bytes)
            .map_err(HubError::io("reading", &path))?;
        if bytes.len() as u64 > MAX_CARD_BYTES {
            return Err(HubError::InvalidModelCard {
                reason: format!("README.md of {repo} is larger than {MAX_CARD_BYTES} bytes"),
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| HubError::InvalidModelCard {
            reason: format!("README.md of {repo} is not UTF-8 text"),
        })?;
        Ok(Some(
            text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text),
        ))
    }
}

/// Merges hubmix's metadata into an existing README: its text and every key of its front
/// matter are kept; tags, languages, datasets and metrics are united; fields it leaves empty
/// are filled from `ours` ([`CardMetadata::PreferHub`]).
pub fn merge_card(existing: &str, ours: &ModelCardData) -> Result<String, HubError> {
    let (front, body) = split_front_matter(existing)?;
    let front = merge_metadata(front.unwrap_or_default(), ours, CardMetadata::PreferHub);
    Ok(format!("{}{}", front_matter(&front), body))
}

/// The front matter `h` with `ours` merged in as `policy` says.
fn merge_metadata(mut h: Hash, ours: &ModelCardData, policy: CardMetadata) -> Hash {
    for (key, value) in ours.to_yaml() {
        if policy == CardMetadata::PreferCode {
            h.insert(key, value);
            continue;
        }
        match (h.get_mut(&key), value) {
            (Some(Yaml::Array(theirs)), Yaml::Array(mine)) if key.as_str() != Some("model-index") => {
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
    h
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
        let merged = second.merge_into(&edited, &CardUpdate::default()).unwrap();
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
        assert_eq!(
            second.merge_into(&merged, &CardUpdate::default()).unwrap(),
            merged
        );
    }

    #[test]
    fn base_model_datasets_metrics_and_model_index_are_written_and_read_back() {
        let data = ModelCardData::default()
            .base_model("alice/base")
            .datasets(["alice/rows"])
            .metrics(["accuracy"])
            .model_index(
                "mlp",
                [EvalResult::new(
                    "tabular-classification",
                    "alice/rows",
                    "Rows",
                    "accuracy",
                    0.75,
                )],
            );
        let text = ModelCard::new("bob/mlp", data.clone()).render();
        let back = read_card_data(&text).unwrap();
        assert_eq!(back, data.library_name("burn").tags(["burn", "hubmix"]), "{text}");
        // What the Hub accepts and reads: base_model:alice/base and dataset:alice/rows tags.
        let hub = hubmix_protocol::card::card_data(&text).unwrap().unwrap();
        let tags = hubmix_protocol::card::tags(&hub);
        assert!(tags.contains(&"base_model:alice/base".to_owned()), "{tags:?}");
        assert!(tags.contains(&"dataset:alice/rows".to_owned()), "{tags:?}");
    }

    #[test]
    fn by_default_the_hub_wins_and_on_request_the_code_does() {
        let hub = "---\nlicense: apache-2.0\nbase_model: someone/else\ntags: [vision]\nmetrics: [f1]\nwidget: {src: x}\n\
                   model-index: [{name: theirs, results: []}]\n---\n# Hand-written\n";
        let code = ModelCard::new(
            "alice/mlp",
            ModelCardData::default()
                .license("mit")
                .base_model("alice/base")
                .tags(["mlp"])
                .metrics(["accuracy"])
                .model_index("mine", [EvalResult::new("t", "d", "D", "accuracy", 1.0)]),
        );
        let kept = read_card_data(&code.merge_into(hub, &CardUpdate::default()).unwrap()).unwrap();
        assert_eq!(kept.license.as_deref(), Some("apache-2.0"));
        assert_eq!(kept.base_model.as_deref(), Some("someone/else"));
        assert_eq!(kept.tags, ["vision", "mlp", "burn", "hubmix"]);
        assert_eq!(kept.metrics, ["f1", "accuracy"]);
        assert_eq!(
            kept.model_index.map(|m| m.name).as_deref(),
            Some("theirs"),
            "the Hub's model-index is kept, not merged"
        );

        let update = CardUpdate::default().metadata(CardMetadata::PreferCode);
        let merged = code.merge_into(hub, &update).unwrap();
        assert!(
            merged.ends_with("---\n# Hand-written\n"),
            "the text is kept: {merged}"
        );
        assert!(
            merged.contains("widget"),
            "keys code does not write are kept: {merged}"
        );
        let won = read_card_data(&merged).unwrap();
        assert_eq!(won.license.as_deref(), Some("mit"));
        assert_eq!(won.base_model.as_deref(), Some("alice/base"));
        assert_eq!(won.tags, ["mlp", "burn", "hubmix"]);
        assert_eq!(won.metrics, ["accuracy"]);
        assert_eq!(won.model_index.map(|m| m.name).as_deref(), Some("mine"));
        // A key code leaves unset keeps the Hub's value even when code wins.
        let bare = ModelCard::new("alice/mlp", ModelCardData::default());
        let merged = read_card_data(&bare.merge_into(hub, &update).unwrap()).unwrap();
        assert_eq!(merged.license.as_deref(), Some("apache-2.0"));
    }

    #[test]
    fn a_model_body_replaces_the_default_text_and_replaces_the_hubs_only_on_request() {
        let mut card = ModelCard::new("alice/mlp", ModelCardData::default().license("mit"))
            .section("Training history", "| 1 | 0.5 |");
        card.model_type = Some("Mlp".into());
        card.usage = Some("let m = Mlp::load();\n".into());
        card.body = Some(card.fill_template(
            "# {{ model_type }} ({{repo_id}})\n\n```rust\n{{ usage }}\n```\n{{ docs_url }} {{ x }}",
        ));
        let text = card.render();
        assert!(
            text.ends_with(
                "---\n\n# Mlp (alice/mlp)\n\n```rust\nlet m = Mlp::load();\n```\n[More Information Needed] {{ x }}\n\n\
                 <!-- hubmix:begin Training history -->\n## Training history\n\n| 1 | 0.5 |\n<!-- hubmix:end Training history -->\n"
            ),
            "{text}"
        );
        assert!(!text.contains("pushed to the Hub with"), "{text}");

        let hub = "---\nlicense: apache-2.0\n---\n# Edited on the Hub\n";
        let kept = card.merge_into(hub, &CardUpdate::default()).unwrap();
        assert!(kept.ends_with("# Edited on the Hub\n"), "{kept}");
        let replaced = card
            .merge_into(hub, &CardUpdate::default().replace_body(true))
            .unwrap();
        assert!(!replaced.contains("Edited on the Hub"), "{replaced}");
        assert!(replaced.ends_with(&card.render_body()), "{replaced}");
        assert_eq!(
            read_card_data(&replaced).unwrap().license.as_deref(),
            Some("apache-2.0"),
            "replacing the body leaves the metadata policy alone"
        );
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
