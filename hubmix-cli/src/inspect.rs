//! `hubmix inspect SOURCE`: what a safetensors checkpoint holds (tensors with their types,
//! shapes and sizes; parameter count; types; metadata), read from its headers alone. A
//! repository's headers are read with HTTP `Range` requests, never its tensors.

use hubmix_hub::safetensors::{Checkpoint, elements};
use serde_json::{Map, Value, json};

use crate::args::{CheckpointRepoArgs, CheckpointSource};
use crate::download::format_size;
use crate::error::{CliError, InRepo};
use crate::output::{Mode, Output, python_json};

/// `hubmix inspect` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hubmix inspect ./model.safetensors
  hubmix inspect ./checkpoints/           (model.safetensors, or the sharded index and its shards)
  hubmix inspect alice/mlp@v1             (reads the headers with Range requests, not the weights)
  hubmix inspect hf://alice/llm/model.safetensors.index.json --format json")]
pub(crate) struct InspectArgs {
    /// A `.safetensors` file, an index (`*.safetensors.index.json`), a folder, a repository
    /// (`namespace/name[@revision]`) or an `hf://[datasets/]namespace/name[@revision][/path]` URI.
    source: String,
    #[command(flatten)]
    repo: CheckpointRepoArgs,
}

/// Runs `hubmix inspect`.
pub(crate) fn run(args: InspectArgs, out: &Output) -> Result<(), CliError> {
    let (label, checkpoint) = match args.repo.source(&args.source)? {
        CheckpointSource::Local(path) => (path.display().to_string(), Checkpoint::open(&path)?),
        CheckpointSource::Repo(target) => {
            let checkpoint = args
                .repo
                .client(out)?
                .inspect_checkpoint(
                    &target.repo,
                    target.path.as_deref(),
                    &args.repo.download_options(),
                )
                .in_repo(target.repo_type())?;
            (target.repo.to_string(), checkpoint)
        }
    };
    match out.mode() {
        Mode::Json => out.raw(&python_json(&summary(&label, &checkpoint))),
        Mode::Quiet => out.raw(&checkpoint.parameter_count().to_string()),
        Mode::Human | Mode::Agent => print(out, &label, &checkpoint),
    }
    Ok(())
}

/// The JSON of `--format json` (stable keys).
fn summary(label: &str, c: &Checkpoint) -> Value {
    let tensors: Vec<Value> = c
        .tensors()
        .into_iter()
        .map(|(file, t)| {
            json!({
                "name": t.name,
                "dtype": t.dtype.as_str(),
                "shape": t.shape,
                "parameters": elements(t),
                "size": t.end - t.begin,
                "file": file.path,
            })
        })
        .collect();
    let files: Vec<Value> = c
        .files
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "size": f.size,
                "header_size": f.header_len,
                "tensors": f.header.tensors.len(),
            })
        })
        .collect();
    let dtypes: Vec<Value> = c
        .dtypes()
        .iter()
        .map(|d| json!({"dtype": d.dtype.as_str(), "tensors": d.tensors, "parameters": d.parameters, "size": d.bytes}))
        .collect();
    let metadata: Map<String, Value> = c
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    json!({
        "source": label,
        "commit": c.commit,
        "index": c.index.as_ref().map(|(path, _)| path),
        "files": files,
        "parameter_count": c.parameter_count(),
        "tensor_size": c.tensor_bytes(),
        "total_size": c.file_bytes(),
        "dtypes": dtypes,
        "metadata": metadata,
        "tensors": tensors,
    })
}

/// A count in thousands, millions, billions: `1.2K`, `124.4M`, `7.2B`.
fn format_count(n: u64) -> String {
    let mut value = n as f64;
    for unit in ["", "K", "M", "B"] {
        if value < 1000.0 {
            return if unit.is_empty() {
                n.to_string()
            } else {
                format!("{value:.1}{unit}")
            };
        }
        value /= 1000.0;
    }
    format!("{value:.1}T")
}

/// The human and agent output: a summary, then the tensors' table.
fn print(out: &Output, label: &str, c: &Checkpoint) {
    out.bold_text(label);
    if let Some(commit) = &c.commit {
        out.text(&format!("  commit: {commit}"));
    }
    let files = match &c.index {
        Some((index, _)) => format!("{} shards of {index}", c.files.len()),
        None => c.files[0].path.clone(),
    };
    out.text(&format!("  files: {files} ({})", format_size(c.file_bytes())));
    out.text(&format!(
        "  parameters: {} ({}) in {} tensors, {}",
        c.parameter_count(),
        format_count(c.parameter_count()),
        c.tensors().len(),
        format_size(c.tensor_bytes())
    ));
    let dtypes: Vec<String> = c
        .dtypes()
        .iter()
        .map(|d| {
            format!(
                "{} ({} tensors, {} parameters, {})",
                d.dtype,
                d.tensors,
                format_count(d.parameters),
                format_size(d.bytes)
            )
        })
        .collect();
    out.text(&format!("  dtypes: {}", dtypes.join(", ")));
    for (key, value) in c.metadata() {
        out.text(&format!("  metadata {key}: {value}"));
    }
    out.text("");
    let sharded = c.index.is_some();
    let mut headers = vec!["tensor", "dtype", "shape", "parameters", "size"];
    if sharded {
        headers.push("file");
    }
    let rows: Vec<Vec<Value>> = c
        .tensors()
        .into_iter()
        .map(|(file, t)| {
            let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
            let mut row = vec![
                Value::String(t.name.clone()),
                Value::String(t.dtype.as_str().to_owned()),
                Value::String(format!("[{}]", shape.join(", "))),
                Value::from(elements(t)),
                Value::String(format_size(t.end - t.begin)),
            ];
            if sharded {
                row.push(Value::String(file.path.clone()));
            }
            row
        })
        .collect();
    out.table_aligned(&headers, &rows, &["size"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_say_them() {
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_234), "1.2K");
        assert_eq!(format_count(124_439_808), "124.4M");
        assert_eq!(format_count(7_241_732_096), "7.2B");
    }
}
