//! `hubmix models info | list | card`: a model's information, the Hub's models, a model's files,
//! its card.

use hubmix_hub::HubError;
use hubmix_hub::info::ListModelsOptions;
use serde_json::{Map, Value};

use crate::args::{client, target};
use crate::error::{CliError, InRepo};
use crate::output::{Mode, Output, python_json_pretty};

/// `hubmix models …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ModelsCommand {
    /// A model's information, as JSON (snake_case keys, as `hf` writes them).
    #[command(
        after_help = "Examples:\n  hubmix models info alice/mlp\n  hubmix models info alice/mlp --revision v1 --format json"
    )]
    Info {
        /// The model: `namespace/name`.
        model_id: String,
        /// A branch, tag or commit (default: main).
        #[arg(long)]
        revision: Option<String>,
        /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
        #[arg(long)]
        token: Option<String>,
    },
    /// The Hub's models (filtered), or with a model id, that model's files.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  hubmix models list --author alice --filter burn\n  hubmix models ls alice/mlp -R\n  hubmix models ls alice/mlp --format json"
    )]
    List(ListArgs),
    /// A model's card (its README.md): the text as it is on the Hub, or its metadata or body.
    #[command(after_help = "Examples:
  hubmix models card alice/mlp
  hubmix models card alice/mlp --metadata
  hubmix models card alice/mlp --metadata --format json
  hubmix models card alice/mlp --text --revision v1

Without --metadata or --text, the card is printed as it is stored (`hf` prints its metadata
written again by its YAML writer). With --format json and without --metadata: an object with
the card's `metadata` (null when it has none) and `text`.")]
    Card(CardArgs),
}

/// `models card` options.
#[derive(Debug, clap::Args)]
pub(crate) struct CardArgs {
    /// The model: `namespace/name`.
    model_id: String,
    /// Print only the card's metadata (its YAML front matter), as JSON.
    #[arg(long)]
    metadata: bool,
    /// Print only the card's text, without its metadata.
    #[arg(long)]
    text: bool,
    /// A branch, tag or commit (default: main).
    #[arg(long)]
    revision: Option<String>,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    token: Option<String>,
}

/// `models list` options.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// A model whose files to list (default: list models).
    repo_id: Option<String>,
    /// Models whose id contains this.
    #[arg(long)]
    search: Option<String>,
    /// Models of this user or organisation.
    #[arg(long)]
    author: Option<String>,
    /// Models with this tag (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// At most this many models.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// The files of every folder, not only the top level (with a model id).
    #[arg(short = 'R', long)]
    recursive: bool,
    /// A branch, tag or commit (with a model id; default: main).
    #[arg(long)]
    revision: Option<String>,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    token: Option<String>,
}

/// `camelCase` → `snake_case`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A UTC time as Python's `datetime.isoformat()` writes the Hub's: `…T15:57:26.472Z` becomes
/// `…T15:57:26.472000+00:00`; anything else is left as it is.
fn isoformat(time: &str) -> String {
    let Some(bare) = time.strip_suffix('Z') else {
        return time.to_owned();
    };
    match bare.split_once('.') {
        Some((seconds, fraction)) if fraction.len() <= 6 && fraction.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{seconds}.{fraction:0<6}+00:00")
        }
        Some(_) => time.to_owned(),
        None => format!("{bare}+00:00"),
    }
}

/// A repository's information with `hf`'s keys (snake_case; the Hub's internal `_id` and the
/// legacy `modelId` left out) and times.
fn info_value(info: &hubmix_hub::info::RepoInfo) -> Value {
    let Ok(Value::Object(map)) = serde_json::to_value(info) else {
        return Value::Null;
    };
    let map: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| k != "_id" && k != "modelId")
        .map(|(k, v)| match v {
            Value::String(time) if k == "createdAt" || k == "lastModified" => {
                (snake(&k), Value::String(isoformat(&time)))
            }
            v => (snake(&k), v),
        })
        .collect();
    Value::Object(map)
}

/// Runs a `models` command.
pub(crate) fn run(command: ModelsCommand, out: &Output) -> Result<(), CliError> {
    match command {
        ModelsCommand::Info {
            model_id,
            revision,
            token,
        } => {
            let t = target(&model_id, None, revision.as_deref())?;
            let hub = client(out, token.as_deref(), None)?;
            let info = hub.repo_info(&t.repo).in_repo(t.repo_type())?;
            let value = info_value(&info);
            if out.mode() == Mode::Human {
                out.raw(&python_json_pretty(&value, 2));
            } else {
                out.raw(&crate::output::python_json(&value));
            }
        }
        ModelsCommand::Card(args) => card(&args, out)?,
        ModelsCommand::List(args) => match &args.repo_id {
            Some(id) => files(&args, id, out)?,
            None => {
                let hub = client(out, args.token.as_deref(), None)?;
                let mut options = ListModelsOptions::default().limit(args.limit as usize);
                if let Some(search) = &args.search {
                    options = options.search(search);
                }
                if let Some(author) = &args.author {
                    options = options.author(author);
                }
                for tag in &args.filter {
                    options = options.filter(tag);
                }
                let models: Vec<Value> = hub.list_models(&options)?.iter().map(info_value).collect();
                let columns = [
                    "id",
                    "author",
                    "created_at",
                    "downloads",
                    "last_modified",
                    "likes",
                    "private",
                    "sha",
                    "tags",
                ];
                let shown: Vec<&str> = columns
                    .into_iter()
                    .filter(|c| models.iter().any(|m| !m.get(c).unwrap_or(&Value::Null).is_null()))
                    .collect();
                let rows: Vec<Vec<Value>> = models
                    .iter()
                    .map(|m| {
                        shown
                            .iter()
                            .map(|c| m.get(c).cloned().unwrap_or(Value::Null))
                            .collect()
                    })
                    .collect();
                out.table(&shown, &rows);
            }
        },
    }
    Ok(())
}

/// `hubmix models card`: the card as stored, its metadata as JSON (`hf`'s `out.dict`: indented
/// for people), or its text.
fn card(args: &CardArgs, out: &Output) -> Result<(), CliError> {
    if args.metadata && args.text {
        return Err(CliError::failed(
            "--metadata and --text are mutually exclusive.",
            "Pass one of them, or neither for the whole card.",
        ));
    }
    let t = target(&args.model_id, None, args.revision.as_deref())?;
    let hub = client(out, args.token.as_deref(), None)?;
    let Some(readme) = hub.repo_card(&t.repo).in_repo(t.repo_type())? else {
        return Err(CliError::failed(
            format!(
                "Model '{}' has no model card (README.md) at revision '{}'.",
                t.id(),
                t.repo.revision_or_main()
            ),
            format!(
                "Write one and upload it: hubmix upload {} README.md README.md",
                t.id()
            ),
        ));
    };
    let raw = !args.metadata && !args.text && out.mode() != Mode::Json;
    if raw {
        out.raw(&readme);
        out.hint(&format!(
            "Use `hubmix models card {} --metadata` to extract only the card metadata.",
            args.model_id
        ));
        return Ok(());
    }
    let invalid = |reason: String| CliError::from(HubError::InvalidModelCard { reason });
    let (front, body) = hubmix_protocol::card::split_front_matter(&readme).map_err(invalid)?;
    let metadata = match front {
        None => Value::Null,
        Some(_) => hubmix_protocol::card::card_data(&readme)
            .map_err(|errors| invalid(errors.join("; ")))?
            .map_or(Value::Null, Value::Object),
    };
    if args.metadata {
        let value = match metadata {
            Value::Null => Value::Object(Map::new()),
            value => value,
        };
        if out.mode() == Mode::Human {
            out.raw(&python_json_pretty(&value, 2));
        } else {
            out.raw(&crate::output::python_json(&value));
        }
    } else if out.mode() == Mode::Json {
        let object = serde_json::json!({"metadata": metadata, "text": body});
        out.raw(&crate::output::python_json(&object));
    } else {
        out.raw(body);
    }
    Ok(())
}

/// `hubmix models ls REPO`: `size  date  path` lines (folders end in `/`), as `hf models ls`;
/// JSON: the tree entries; quiet: the paths.
fn files(args: &ListArgs, id: &str, out: &Output) -> Result<(), CliError> {
    for (given, name) in [
        (args.search.is_some(), "--search"),
        (args.author.is_some(), "--author"),
        (!args.filter.is_empty(), "--filter"),
    ] {
        if given {
            return Err(CliError::Usage(format!("Cannot use {name} when listing files.")));
        }
    }
    let t = target(id, None, args.revision.as_deref())?;
    let hub = client(out, args.token.as_deref(), None)?;
    let entries = hub
        .list_tree(t.id(), t.repo.revision_or_main(), None, args.recursive)
        .in_repo(t.repo_type())?;
    match out.mode() {
        Mode::Json => {
            let items: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let mut item = Map::new();
                    item.insert("path".into(), Value::String(e.path.clone()));
                    if e.is_file() {
                        item.insert("size".into(), Value::from(e.size));
                        item.insert("blob_id".into(), Value::String(e.oid.clone()));
                        if let Some(lfs) = &e.lfs {
                            let lfs = serde_json::json!({"size": lfs.size, "sha256": lfs.oid, "pointer_size": lfs.pointer_size});
                            item.insert("lfs".into(), lfs);
                        }
                    } else {
                        item.insert("tree_id".into(), Value::String(e.oid.clone()));
                    }
                    Value::Object(item)
                })
                .collect();
            out.raw(&python_json_pretty(&Value::Array(items), 2));
        }
        Mode::Quiet => {
            for e in &entries {
                out.raw(&if e.is_file() {
                    e.path.clone()
                } else {
                    format!("{}/", e.path)
                });
            }
        }
        Mode::Human | Mode::Agent => {
            if entries.is_empty() {
                out.text("(empty)");
            }
            for e in &entries {
                let line = if e.is_file() {
                    let lfs = if e.lfs.is_some() { "  (LFS)" } else { "" };
                    format!("{:>12}  {:>19}  {}{lfs}", e.size, "", e.path)
                } else {
                    format!("{:>12}  {:>19}  {}/", "", "", e.path)
                };
                out.text(&line);
            }
            if !args.recursive && entries.iter().any(|e| !e.is_file()) {
                out.hint("Use -R to list files recursively.");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_snake_case() {
        assert_eq!(snake("lastModified"), "last_modified");
        assert_eq!(snake("id"), "id");
        assert_eq!(
            isoformat("2026-12-03T15:57:26.472Z"),
            "2026-12-03T15:57:26.472000+00:00"
        );
        assert_eq!(isoformat("2026-12-03T15:57:26Z"), "2026-12-03T15:57:26+00:00");
        assert_eq!(isoformat("yesterday"), "yesterday");
        let info = hubmix_hub::info::RepoInfo {
            id: "alice/mlp".into(),
            object_id: Some("x".into()),
            used_storage: Some(3),
            ..Default::default()
        };
        let value = info_value(&info);
        assert_eq!(value["used_storage"], 3);
        assert!(value.get("_id").is_none() && value.get("usedStorage").is_none());
    }
}
