//! `config.json`: the model's Burn `Config` as JSON plus the reserved `hubmix` key, the
//! provenance that lets a later load check it reads what it expects.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ModelInfo;
use super::options::{Layout, StorageType};
use crate::error::Error;
use hubmix_hub::files::Durability;

/// The file name.
pub const CONFIG_FILE: &str = "config.json";
/// The reserved key.
pub(crate) const PROVENANCE_KEY: &str = "hubmix";
/// The checkpoint format this hubmix writes and the newest it reads.
pub const FORMAT: u32 = 1;
/// The Burn version hubmix is built against (pinned in the workspace manifest).
pub const BURN_VERSION: &str = "0.22.1";

/// Who wrote a checkpoint, for what, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Checkpoint format number.
    pub format: u32,
    /// The hubmix version that wrote it.
    pub version: String,
    /// The Burn version that wrote it.
    pub burn_version: String,
    /// The Rust type name of the model.
    pub model_type: String,
    /// `burn` or `pytorch`.
    pub layout: String,
    /// Float storage type: `f32`, `f16`, `bf16`.
    pub dtype: String,
}

impl Provenance {
    /// The provenance of a checkpoint this hubmix writes now.
    pub fn now(model_type: &str, layout: Layout, dtype: StorageType) -> Self {
        Provenance {
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            burn_version: BURN_VERSION.to_owned(),
            model_type: model_type.to_owned(),
            layout: layout.as_str().to_owned(),
            dtype: dtype.as_str().to_owned(),
        }
    }

    /// The layout it names, if known.
    pub fn layout(&self) -> Option<Layout> {
        Layout::parse(&self.layout)
    }
}

/// Writes `config.json` (sorted keys, indented) with the provenance under `hubmix`.
pub(crate) fn write_config<C: Serialize>(
    dir: &Path,
    config: &C,
    provenance: &Provenance,
    durability: Durability,
) -> Result<PathBuf, Error> {
    let path = dir.join(CONFIG_FILE);
    let bad = |reason: String| Error::Checkpoint {
        what: "the model's config".into(),
        reason,
    };
    let mut value = serde_json::to_value(config).map_err(|e| bad(format!("it does not serialize: {e}")))?;
    let Value::Object(map) = &mut value else {
        return Err(bad(
            "it must serialize to a JSON object (a struct with named fields)".into(),
        ));
    };
    if map.contains_key(PROVENANCE_KEY) {
        return Err(bad(format!(
            "it has a field named `{PROVENANCE_KEY}`, which hubmix reserves: rename it"
        )));
    }
    map.insert(
        PROVENANCE_KEY.into(),
        serde_json::to_value(provenance).expect("provenance serializes"),
    );
    let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
    text.push('\n');
    hubmix_hub::files::write_atomic_with(&path, text.as_bytes(), durability)?;
    Ok(path)
}

/// A config read back, with its provenance and what deserves a warning.
#[derive(Debug)]
pub(crate) struct ReadConfig<C> {
    pub config: C,
    /// `None` for checkpoints hubmix did not write (e.g. Python's `PyTorchModelHubMixin`).
    pub provenance: Option<Provenance>,
    pub warnings: Vec<String>,
}

/// `major.minor` of a version (`0.22.1` → `0.22`), which is what compatibility follows for 0.x.
pub(crate) fn minor(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((i, _)) => &version[..i],
        None => version,
    }
}

/// Reads `config.json`: checks the provenance against this model and this hubmix, reads each
/// key of `keys` under its new name (a transformers `hidden_size` as `d_model`), applies the
/// overrides (each must name an existing key) and deserializes the config; keys the config
/// does not have are ignored.
pub(crate) fn read_config<C: for<'de> Deserialize<'de>>(
    path: &Path,
    info: &ModelInfo,
    overrides: &Map<String, Value>,
    keys: &[(&str, &str)],
    strict: bool,
) -> Result<ReadConfig<C>, Error> {
    let what = format!("{} from {}", info.type_name, path.display());
    let bad = |reason: String| Error::Checkpoint {
        what: what.clone(),
        reason,
    };
    let text = std::fs::read(path).map_err(Error::io("reading", path))?;
    let value: Value =
        serde_json::from_slice(&text).map_err(|e| bad(format!("config.json is not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(bad("config.json is not a JSON object".into()));
    };
    let mut warnings = Vec::new();
    let provenance = match map.remove(PROVENANCE_KEY) {
        None => None,
        Some(v) => Some(
            serde_json::from_value::<Provenance>(v)
                .map_err(|e| bad(format!("its `{PROVENANCE_KEY}` provenance is malformed: {e}")))?,
        ),
    };
    if let Some(p) = &provenance {
        if p.format > FORMAT {
            return Err(bad(format!(
                "it was written by hubmix {} (checkpoint format {}), but this is hubmix {} which reads format {FORMAT} at most: upgrade hubmix",
                p.version,
                p.format,
                env!("CARGO_PKG_VERSION")
            )));
        }
        if p.model_type != info.type_name {
            let message = format!(
                "it is a checkpoint of model type {} but is being loaded as {}",
                p.model_type, info.type_name
            );
            if strict {
                return Err(bad(format!(
                    "{message}: load it with the right type, or pass strict(false) if the types are compatible"
                )));
            }
            warnings.push(message);
        }
        if minor(&p.burn_version) != minor(BURN_VERSION) {
            warnings.push(format!(
                "it was written with Burn {} and is loaded with Burn {BURN_VERSION}; the weights are read by name and shape, so this is usually fine",
                p.burn_version
            ));
        }
        if minor(&p.version) != minor(env!("CARGO_PKG_VERSION")) {
            warnings.push(format!(
                "it was written by hubmix {} and is read by hubmix {}",
                p.version,
                env!("CARGO_PKG_VERSION")
            ));
        }
    }
    for (from, to) in keys {
        if let Some(value) = map.remove(*from) {
            map.entry(*to).or_insert(value);
        }
    }
    // hubmix writes every key of the config, so an override of another is a typo; a config
    // written by something else (transformers) may lack keys the Burn config has.
    for (key, value) in overrides {
        if provenance.is_some() && !map.contains_key(key) {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(bad(format!(
                "cannot override `{key}`: the config has no such key (it has: {})",
                known.join(", ")
            )));
        }
        map.insert(key.clone(), value.clone());
    }
    let config = serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let at = e.path().to_string();
        let place = if at == "." {
            String::new()
        } else {
            format!(" at `{at}`")
        };
        // A missing field read under another name is named both ways.
        let inner = e.inner().to_string();
        let renamed = keys
            .iter()
            .find(|(_, to)| inner.contains(&format!("missing field `{to}`")))
            .map(|(from, to)| format!(" (`{to}` is read from the file's `{from}`)"))
            .unwrap_or_default();
        bad(format!(
            "config.json does not describe this model's config{place}: {inner}{renamed}"
        ))
    })?;
    for w in &warnings {
        tracing::warn!("{what}: {w}");
    }
    Ok(ReadConfig {
        config,
        provenance,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Cfg {
        d_in: usize,
        dropout: f64,
    }

    const INFO: ModelInfo = ModelInfo::new("Mlp");

    fn read(dir: &Path, overrides: &Map<String, Value>, strict: bool) -> Result<ReadConfig<Cfg>, Error> {
        read_config(&dir.join(CONFIG_FILE), &INFO, overrides, &[], strict)
    }

    #[test]
    fn round_trip_with_provenance_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Cfg {
            d_in: 4,
            dropout: 0.1,
        };
        write_config(
            dir.path(),
            &cfg,
            &Provenance::now("Mlp", Layout::Burn, StorageType::F32),
            Durability::PageCache,
        )
        .unwrap();
        let json: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(CONFIG_FILE)).unwrap()).unwrap();
        assert_eq!(json["hubmix"]["model_type"], "Mlp");
        assert_eq!(json["hubmix"]["burn_version"], BURN_VERSION);
        let back = read(dir.path(), &Map::new(), true).unwrap();
        assert_eq!(back.config, cfg);
        assert!(back.warnings.is_empty());
        let mut over = Map::new();
        over.insert("dropout".into(), 0.0.into());
        assert_eq!(read(dir.path(), &over, true).unwrap().config.dropout, 0.0);
        over.insert("dropuot".into(), 0.0.into());
        let err = read(dir.path(), &over, true).unwrap_err().to_string();
        assert!(err.contains("dropuot") && err.contains("d_in"), "{err}");
    }

    #[test]
    fn other_types_formats_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let write = |p: Provenance| {
            write_config(
                dir.path(),
                &Cfg {
                    d_in: 1,
                    dropout: 0.0,
                },
                &p,
                Durability::PageCache,
            )
            .unwrap()
        };
        write(Provenance::now("Cnn", Layout::Burn, StorageType::F32));
        let err = read(dir.path(), &Map::new(), true).unwrap_err().to_string();
        assert!(err.contains("Cnn") && err.contains("Mlp"), "{err}");
        assert_eq!(read(dir.path(), &Map::new(), false).unwrap().warnings.len(), 1);
        write(Provenance {
            format: FORMAT + 1,
            version: "9.0.0".into(),
            ..Provenance::now("Mlp", Layout::Burn, StorageType::F32)
        });
        let err = read(dir.path(), &Map::new(), true).unwrap_err().to_string();
        assert!(
            err.contains("9.0.0") && err.contains(env!("CARGO_PKG_VERSION")) && err.contains("upgrade"),
            "{err}"
        );
        write(Provenance {
            burn_version: "0.21.0".into(),
            ..Provenance::now("Mlp", Layout::Burn, StorageType::F32)
        });
        let warnings = read(dir.path(), &Map::new(), true).unwrap().warnings;
        assert!(
            warnings[0].contains("0.21.0") && warnings[0].contains(BURN_VERSION),
            "{warnings:?}"
        );
    }

    #[test]
    fn transformers_keys_are_read_under_the_config_s_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        let keys = [("hidden_size", "d_in"), ("hidden_dropout_prob", "dropout")];
        std::fs::write(
            &path,
            r#"{"hidden_size": 8, "hidden_dropout_prob": 0.1, "architectures": ["BertModel"]}"#,
        )
        .unwrap();
        let read = read_config::<Cfg>(&path, &INFO, &Map::new(), &keys, true).unwrap();
        assert_eq!(
            read.config,
            Cfg {
                d_in: 8,
                dropout: 0.1
            }
        );
        std::fs::write(&path, r#"{"hidden_dropout_prob": 0.1}"#).unwrap();
        let err = read_config::<Cfg>(&path, &INFO, &Map::new(), &keys, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing field `d_in`") && err.contains("hidden_size"),
            "{err}"
        );
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        for (text, needle) in [
            ("{", "not valid JSON"),
            ("[1]", "not a JSON object"),
            ("{\"d_in\": 3}", "dropout"),
            ("{\"d_in\": \"x\", \"dropout\": 1}", "d_in"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read(dir.path(), &Map::new(), true).unwrap_err();
            assert!(
                matches!(err, Error::Checkpoint { .. }) && err.to_string().contains(needle),
                "{text}: {err}"
            );
        }
    }
}
