//! Evaluation results: the `model-index` of a model card, in the shape `huggingface_hub` writes
//! (`eval_results_to_model_index`) and the Hub reads for leaderboards and the evaluation widget.
//!
//! ```
//! use hubmix_hub::card::{EvalResult, ModelCard, ModelCardData};
//!
//! let data = ModelCardData::default().model_index(
//!     "mlp-beans",
//!     [EvalResult::new("image-classification", "beans", "Beans", "accuracy", 0.9).split("test")],
//! );
//! let text = ModelCard::new("alice/mlp", data).render();
//! assert!(text.contains("model-index:\n  - name: mlp-beans\n    results:\n"), "{text}");
//! ```

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// The evaluation results of a model under one name (`model-index: [{name, results}]`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelIndex {
    /// The model's name on leaderboards (`model_name` in `huggingface_hub`).
    pub name: String,
    /// One entry per metric, as `huggingface_hub`'s flattened `EvalResult`s.
    pub results: Vec<EvalResult>,
}

impl ModelIndex {
    /// The results of the model `name`.
    pub fn new(name: impl Into<String>, results: impl IntoIterator<Item = EvalResult>) -> Self {
        ModelIndex {
            name: name.into(),
            results: results.into_iter().collect(),
        }
    }
}

/// A metric value: a number, or a text such as `20.0 ± 1.2`.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
}

impl From<f64> for MetricValue {
    fn from(value: f64) -> Self {
        MetricValue::Number(value)
    }
}

impl From<f32> for MetricValue {
    fn from(value: f32) -> Self {
        MetricValue::Number(f64::from(value))
    }
}

impl From<&str> for MetricValue {
    fn from(value: &str) -> Self {
        MetricValue::Text(value.to_owned())
    }
}

impl From<String> for MetricValue {
    fn from(value: String) -> Self {
        MetricValue::Text(value)
    }
}

/// One metric of one evaluation: `huggingface_hub.EvalResult` (without the fields only the
/// Hub's evaluation service sets, `verified` and `verifyToken`, and the free-form `args`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EvalResult {
    /// The task id, e.g. `image-classification`.
    pub task_type: String,
    /// A pretty name for the task.
    pub task_name: Option<String>,
    /// The dataset id, e.g. `beans` (a Hub dataset id).
    pub dataset_type: String,
    /// A pretty name for the dataset.
    pub dataset_name: String,
    /// The dataset configuration (`load_dataset(type, config)`).
    pub dataset_config: Option<String>,
    /// The split, e.g. `test`.
    pub dataset_split: Option<String>,
    /// The dataset's revision (a commit).
    pub dataset_revision: Option<String>,
    /// The metric id, e.g. `accuracy`.
    pub metric_type: String,
    /// The value.
    pub metric_value: MetricValue,
    /// A pretty name for the metric.
    pub metric_name: Option<String>,
    /// The metric configuration.
    pub metric_config: Option<String>,
    /// Where the result comes from: a URL, and optionally a name for it.
    pub source: Option<(String, Option<String>)>,
}

impl EvalResult {
    /// The required fields: task, dataset id and name, metric and value.
    pub fn new(
        task_type: impl Into<String>,
        dataset_type: impl Into<String>,
        dataset_name: impl Into<String>,
        metric_type: impl Into<String>,
        metric_value: impl Into<MetricValue>,
    ) -> Self {
        EvalResult {
            task_type: task_type.into(),
            task_name: None,
            dataset_type: dataset_type.into(),
            dataset_name: dataset_name.into(),
            dataset_config: None,
            dataset_split: None,
            dataset_revision: None,
            metric_type: metric_type.into(),
            metric_value: metric_value.into(),
            metric_name: None,
            metric_config: None,
            source: None,
        }
    }

    /// With a pretty task name.
    pub fn task_name(mut self, name: impl Into<String>) -> Self {
        self.task_name = Some(name.into());
        self
    }

    /// With the dataset configuration.
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.dataset_config = Some(config.into());
        self
    }

    /// With the dataset split.
    pub fn split(mut self, split: impl Into<String>) -> Self {
        self.dataset_split = Some(split.into());
        self
    }

    /// With the dataset revision.
    pub fn dataset_revision(mut self, revision: impl Into<String>) -> Self {
        self.dataset_revision = Some(revision.into());
        self
    }

    /// With a pretty metric name.
    pub fn metric_name(mut self, name: impl Into<String>) -> Self {
        self.metric_name = Some(name.into());
        self
    }

    /// With the metric configuration.
    pub fn metric_config(mut self, config: impl Into<String>) -> Self {
        self.metric_config = Some(config.into());
        self
    }

    /// With where the result comes from.
    pub fn source(mut self, url: impl Into<String>, name: Option<String>) -> Self {
        self.source = Some((url.into(), name));
        self
    }

    /// What results of one entry share (`huggingface_hub`'s `unique_identifier`).
    fn group(&self) -> impl PartialEq + '_ {
        (
            &self.task_type,
            &self.dataset_type,
            &self.dataset_config,
            &self.dataset_split,
            &self.dataset_revision,
        )
    }
}

/// A YAML mapping of the `(key, value)` pairs whose value is set, in order.
fn mapping<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<Yaml>)>) -> Yaml {
    let mut h = Hash::new();
    for (key, value) in pairs {
        if let Some(value) = value {
            h.insert(Yaml::String(key.into()), value);
        }
    }
    Yaml::Hash(h)
}

fn text(s: &str) -> Option<Yaml> {
    Some(Yaml::String(s.to_owned()))
}

fn opt(s: &Option<String>) -> Option<Yaml> {
    s.as_deref().and_then(text)
}

/// A number as YAML (and PyYAML, which wants a dot and no bare exponent) reads it back as a
/// float: `1.0`, not `1`; `.nan` and `.inf`, not Rust's `NaN` and `inf`, which are strings.
fn number(value: f64) -> Yaml {
    Yaml::Real(if value.is_nan() {
        ".nan".into()
    } else if value.is_infinite() {
        if value > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        // Display never writes an exponent; it leaves out the dot of a whole number.
        let text = value.to_string();
        if text.contains('.') { text } else { text + ".0" }
    })
}

impl ModelIndex {
    /// The `model-index` value: one entry per task and dataset (with its config, split and
    /// revision), each with its metrics, as `eval_results_to_model_index` groups them.
    pub(crate) fn to_yaml(&self) -> Yaml {
        let mut groups: Vec<Vec<&EvalResult>> = Vec::new();
        for result in &self.results {
            match groups.iter_mut().find(|g| g[0].group() == result.group()) {
                Some(group) => group.push(result),
                None => groups.push(vec![result]),
            }
        }
        let results = groups
            .iter()
            .map(|group| {
                let first = group[0];
                let metrics = group
                    .iter()
                    .map(|r| {
                        let value = match &r.metric_value {
                            MetricValue::Number(n) => number(*n),
                            MetricValue::Text(t) => Yaml::String(t.clone()),
                        };
                        mapping([
                            ("type", text(&r.metric_type)),
                            ("value", Some(value)),
                            ("name", opt(&r.metric_name)),
                            ("config", opt(&r.metric_config)),
                        ])
                    })
                    .collect();
                let source = first
                    .source
                    .as_ref()
                    .map(|(url, name)| mapping([("url", text(url)), ("name", opt(name))]));
                mapping([
                    (
                        "task",
                        Some(mapping([
                            ("type", text(&first.task_type)),
                            ("name", opt(&first.task_name)),
                        ])),
                    ),
                    (
                        "dataset",
                        Some(mapping([
                            ("name", text(&first.dataset_name)),
                            ("type", text(&first.dataset_type)),
                            ("config", opt(&first.dataset_config)),
                            ("split", opt(&first.dataset_split)),
                            ("revision", opt(&first.dataset_revision)),
                        ])),
                    ),
                    ("metrics", Some(Yaml::Array(metrics))),
                    ("source", source),
                ])
            })
            .collect();
        Yaml::Array(vec![mapping([
            ("name", text(&self.name)),
            ("results", Some(Yaml::Array(results))),
        ])])
    }

    /// Reads a `model-index` value as `model_index_to_eval_results` does: the name of its last
    /// entry and the results of all; `None` when it is not a non-empty list of entries with a
    /// name and results whose task, dataset and metrics have the required fields.
    pub(crate) fn from_yaml(value: &Yaml) -> Option<ModelIndex> {
        let entries = value.as_vec().filter(|e| !e.is_empty())?;
        let mut name = String::new();
        let mut results = Vec::new();
        for entry in entries {
            name = entry["name"].as_str()?.to_owned();
            for result in entry["results"].as_vec()? {
                let (task, dataset) = (&result["task"], &result["dataset"]);
                let string = |y: &Yaml| y.as_str().map(str::to_owned);
                let source = match &result["source"] {
                    Yaml::Hash(_) => {
                        string(&result["source"]["url"]).map(|url| (url, string(&result["source"]["name"])))
                    }
                    _ => None,
                };
                for metric in result["metrics"].as_vec()? {
                    let value = match &metric["value"] {
                        Yaml::Real(_) => MetricValue::Number(metric["value"].as_f64()?),
                        Yaml::Integer(i) => MetricValue::Number(*i as f64),
                        Yaml::String(s) => MetricValue::Text(s.clone()),
                        _ => return None,
                    };
                    results.push(EvalResult {
                        task_type: string(&task["type"])?,
                        task_name: string(&task["name"]),
                        dataset_type: string(&dataset["type"])?,
                        dataset_name: string(&dataset["name"])?,
                        dataset_config: string(&dataset["config"]),
                        dataset_split: string(&dataset["split"]),
                        dataset_revision: string(&dataset["revision"]),
                        metric_type: string(&metric["type"])?,
                        metric_value: value,
                        metric_name: string(&metric["name"]),
                        metric_config: string(&metric["config"]),
                        source: source.clone(),
                    });
                }
            }
        }
        Some(ModelIndex { name, results })
    }
}

#[cfg(test)]
mod tests {
    use yaml_rust2::YamlLoader;

    use super::*;

    #[test]
    fn groups_metrics_by_task_and_dataset_as_huggingface_hub_does() {
        let index = ModelIndex::new(
            "mlp",
            [
                EvalResult::new("image-classification", "beans", "Beans", "accuracy", 0.9)
                    .split("test")
                    .task_name("Image Classification")
                    .source("https://example.com/eval", Some("Eval".into())),
                EvalResult::new("image-classification", "beans", "Beans", "f1", "0.8 ± 0.1")
                    .split("test")
                    .task_name("Image Classification")
                    .source("https://example.com/eval", Some("Eval".into())),
                EvalResult::new("image-classification", "beans", "Beans", "accuracy", 1.0)
                    .split("validation"),
                EvalResult::new("image-classification", "beans", "Beans", "loss", f64::NAN)
                    .split("validation")
                    .metric_name("Loss"),
            ],
        );
        let yaml = index.to_yaml();
        let expected = YamlLoader::load_from_str(
            "- name: mlp
  results:
  - task: {type: image-classification, name: Image Classification}
    dataset: {name: Beans, type: beans, split: test}
    metrics:
    - {type: accuracy, value: 0.9}
    - {type: f1, value: '0.8 ± 0.1'}
    source: {url: 'https://example.com/eval', name: Eval}
  - task: {type: image-classification}
    dataset: {name: Beans, type: beans, split: validation}
    metrics:
    - {type: accuracy, value: 1.0}
    - {type: loss, value: .nan, name: Loss}
",
        )
        .unwrap();
        assert_eq!(yaml, expected[0]);
        // Read back: the same results, each with its group's fields (NaN aside, which never
        // equals itself).
        let back = ModelIndex::from_yaml(&yaml).unwrap();
        assert_eq!(back.name, "mlp");
        assert_eq!(back.results[..3], index.results[..3]);
        assert!(matches!(back.results[3].metric_value, MetricValue::Number(n) if n.is_nan()));
        assert_eq!(back.results[3].metric_name.as_deref(), Some("Loss"));
    }

    #[test]
    fn a_model_index_without_required_fields_is_not_read() {
        for text in [
            "[]",
            "- results: []",
            "- name: m\n  results:\n  - task: {type: t}\n    dataset: {type: d}\n    metrics: [{type: a, value: 1}]",
            "- name: m\n  results:\n  - task: {type: t}\n    dataset: {type: d, name: D}\n    metrics: [{type: a}]",
            "{name: m}",
        ] {
            let yaml = &YamlLoader::load_from_str(text).unwrap()[0];
            assert_eq!(ModelIndex::from_yaml(yaml), None, "{text}");
        }
        let yaml = &YamlLoader::load_from_str(
            "- name: m\n  results:\n  - task: {type: t}\n    dataset: {type: d, name: D}\n    metrics: [{type: a, value: 3}]",
        )
        .unwrap()[0];
        let index = ModelIndex::from_yaml(yaml).unwrap();
        assert_eq!(index.results, [EvalResult::new("t", "d", "D", "a", 3.0)]);
    }
}
