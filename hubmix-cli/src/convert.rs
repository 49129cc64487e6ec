//! `hubmix convert SOURCE OUT`: rewrites a safetensors checkpoint to another float type, shard
//! size or layout (Burn's or PyTorch's), tensor by tensor. A repository is downloaded into the
//! cache first (only its checkpoint files and `config.json`), then read from there.

use std::path::{Path, PathBuf};

use hubmix_hub::safetensors::{Checkpoint, ConvertOptions, FloatType, Layout, convert};
use hubmix_hub::{HubError, SnapshotOptions};
use serde_json::Value;

use crate::args::{CheckpointRepoArgs, CheckpointSource};
use crate::download::format_size;
use crate::error::{CliError, InRepo};
use crate::output::Output;

/// The `--dtype` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DtypeArg {
    F32,
    F16,
    Bf16,
}

/// The `--layout` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LayoutArg {
    /// Burn's: Linear weights [in, out], norms' gamma / beta.
    Burn,
    /// PyTorch's: Linear weights [out, in], norms' weight / bias.
    Pytorch,
}

/// `hubmix convert` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hubmix convert ./model.safetensors ./model-bf16.safetensors --dtype bf16
  hubmix convert alice/llm ./llm --max-shard-size 2GB
  hubmix convert ./burn-model ./torch-model --layout pytorch
  hubmix convert ./plain.safetensors ./burn.safetensors --layout burn --transpose '*.linear.weight' --rename norm.weight=norm.gamma

A layout change uses what hubmix records in the files it saves (which tensors are Linear
weights, which are renamed); for other files, name them with --transpose and --rename.
From a folder (or repository), config.json is copied too, its hubmix.layout updated; other
files are not copied.")]
pub(crate) struct ConvertArgs {
    /// The checkpoint: a `.safetensors` file, an index (`*.safetensors.index.json`), a folder, a
    /// repository (`namespace/name[@revision]`) or an `hf://` URI.
    source: String,
    /// Where to write: a `.safetensors` file (one file), or a folder (`model.safetensors`, or
    /// shards and their index).
    out: PathBuf,
    /// Cast float tensors (f64, f32, f16, bf16) to this type; integer tensors are kept.
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,
    /// Shards of at most this size (`5GB`, `500MB`, `2GiB`, bytes); default: one file.
    #[arg(long, value_parser = parse_size)]
    max_shard_size: Option<u64>,
    /// Store the tensors in this layout.
    #[arg(long, value_enum)]
    layout: Option<LayoutArg>,
    /// With --layout, for a file that does not record its layout plan: the tensors to
    /// transpose (a glob on source names, repeatable).
    #[arg(long, value_name = "GLOB", requires = "layout")]
    transpose: Vec<String>,
    /// With --layout, for a file that does not record its layout plan: a tensor to rename
    /// (repeatable).
    #[arg(long, value_name = "FROM=TO", value_parser = parse_rename, requires = "layout")]
    rename: Vec<(String, String)>,
    #[command(flatten)]
    repo: CheckpointRepoArgs,
}

/// `5GB`, `500MB`, `2GiB`, `100kB`, `1024`: decimal units as transformers reads them, binary
/// ones with `i`.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 5GB, 500MB or 2GiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use B, KB, MB, GB, KiB, MiB, GiB"
            ));
        }
    };
    match n.checked_mul(factor) {
        Some(0) => Err("the shard size must be more than 0 bytes".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?} is too large")),
    }
}

/// `FROM=TO`.
fn parse_rename(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok((from.to_owned(), to.to_owned())),
        _ => Err(format!("{text:?} is not FROM=TO")),
    }
}

/// Runs `hubmix convert`.
pub(crate) fn run(args: ConvertArgs, out: &Output) -> Result<(), CliError> {
    let (checkpoint, folder) = open(&args, out)?;
    let options = ConvertOptions {
        dtype: args.dtype.map(|d| match d {
            DtypeArg::F32 => FloatType::F32,
            DtypeArg::F16 => FloatType::F16,
            DtypeArg::Bf16 => FloatType::BF16,
        }),
        max_shard_size: args.max_shard_size,
        layout: args.layout.map(|l| match l {
            LayoutArg::Burn => Layout::Burn,
            LayoutArg::Pytorch => Layout::PyTorch,
        }),
        transpose: args.transpose,
        rename: args.rename,
        ..ConvertOptions::default()
    };
    let done = convert(&checkpoint, &args.out, &options).map_err(|e| match e {
        HubError::InvalidArgument { name, reason } if name == "layout" => CliError::failed(
            format!("Cannot change the layout: {reason}."),
            "Name the Linear weights to transpose with --transpose GLOB and the tensors to rename with --rename FROM=TO (norms: gamma=weight, beta=bias); checkpoints saved by hubmix record both.",
        ),
        HubError::InvalidArgument { reason, .. } => {
            CliError::failed(format!("Cannot convert: {reason}."), "Check the options (`hubmix convert --help`).")
        }
        e => e.into(),
    })?;
    let out_is_folder = args.out.extension().is_none_or(|e| e != "safetensors");
    if let (Some(folder), true) = (folder, out_is_folder) {
        copy_config(&folder, &args.out, &options)?;
    }
    out.result(
        "Converted",
        &[
            ("path", Value::String(args.out.display().to_string())),
            ("files", Value::from(done.files.len())),
            ("tensors", Value::from(done.tensors)),
            ("size", Value::String(format_size(done.tensor_bytes))),
        ],
    );
    Ok(())
}

/// The local checkpoint to read (a repository's downloaded into the cache first), and the
/// folder it is in when it is a model folder (for its `config.json`).
fn open(args: &ConvertArgs, out: &Output) -> Result<(Checkpoint, Option<PathBuf>), CliError> {
    match args.repo.source(&args.source)? {
        CheckpointSource::Local(path) => {
            let folder = path.is_dir().then(|| path.clone());
            Ok((Checkpoint::open(&path)?, folder))
        }
        CheckpointSource::Repo(target) => {
            let hub = args.repo.client(out)?;
            let kind = target.repo_type();
            let download = args.repo.download_options();
            // The headers first (ranged reads): a file that is not a checkpoint is refused
            // before gigabytes are downloaded.
            let headers = hub
                .inspect_checkpoint(&target.repo, target.path.as_deref(), &download)
                .in_repo(kind)?;
            let commit = headers.commit.clone().unwrap_or_default();
            let mut wanted: Vec<String> = headers.files.iter().map(|f| f.path.clone()).collect();
            let entry = match &headers.index {
                Some((index, _)) => index.clone(),
                None => wanted[0].clone(),
            };
            wanted.push(entry.clone());
            let top_level = !entry.contains('/');
            if top_level {
                wanted.push("config.json".into());
            }
            let snapshot = hub
                .snapshot_download(
                    target.repo.clone().at(&commit),
                    &SnapshotOptions::default().allow(wanted).download(download),
                )
                .in_repo(kind)?;
            let folder = top_level.then(|| snapshot.clone());
            Ok((Checkpoint::open(&snapshot.join(&entry))?, folder))
        }
    }
}

/// Largest `config.json` copied.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Copies `folder/config.json`, if any, into `out`; when it has a `hubmix` section (a model
/// saved by hubmix), with its `layout` and `dtype` set to what the conversion made.
fn copy_config(folder: &Path, out: &Path, options: &ConvertOptions) -> Result<(), CliError> {
    let from = folder.join("config.json");
    let Ok(meta) = std::fs::metadata(&from) else {
        return Ok(());
    };
    let to = out.join("config.json");
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(CliError::failed(
            format!(
                "{} has {} bytes: too large for a config.json.",
                from.display(),
                meta.len()
            ),
            "Remove it from the folder, or convert the weights file alone.",
        ));
    }
    let text = std::fs::read(&from).map_err(hub_io("reading", &from))?;
    let mut bytes = text.clone();
    if options.layout.is_some() || options.dtype.is_some() {
        let mut config: Value = serde_json::from_slice(&text).map_err(|e| {
            CliError::failed(
                format!("{} is not JSON: {e}.", from.display()),
                "Fix config.json, or convert the weights file alone.",
            )
        })?;
        if let Some(hubmix) = config.get_mut("hubmix").and_then(Value::as_object_mut) {
            if let Some(layout) = options.layout {
                hubmix.insert("layout".into(), Value::String(layout.as_str().into()));
            }
            if let Some(dtype) = options.dtype {
                let name = match dtype {
                    FloatType::F32 => "f32",
                    FloatType::F16 => "f16",
                    FloatType::BF16 => "bf16",
                };
                hubmix.insert("dtype".into(), Value::String(name.into()));
            }
            bytes = serde_json::to_vec_pretty(&config).expect("JSON values serialize");
        }
    }
    hubmix_hub::files::write_atomic(&to, &bytes)?;
    Ok(())
}

fn hub_io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.to_owned();
    move |source| CliError::from(HubError::Io { action, path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_transformers_reads_them() {
        assert_eq!(parse_size("5GB"), Ok(5_000_000_000));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10 kB"), Ok(10_000));
        for bad in ["", "GB", "5XB", "0", "99999999999TB", "-1GB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rename("a=b"), Ok(("a".into(), "b".into())));
        assert!(parse_rename("a").is_err() && parse_rename("=b").is_err());
    }
}
