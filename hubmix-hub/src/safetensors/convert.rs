//! Rewriting a checkpoint ([`convert`]): to another float type, another shard size, another
//! layout (Burn's or PyTorch's), streaming tensor by tensor: one tensor's bytes in memory at a
//! time (read, cast, transposed), so memory is bounded by the largest tensor, not the model.
//! The output is written as hubmix and transformers write checkpoints (tensors in name order,
//! the header padded to 8 bytes; `model.safetensors`, or `model-0000i-of-0000N.safetensors`
//! and `model.safetensors.index.json`), and appears whole or not at all.
//!
//! # Layouts
//!
//! Burn stores a `Linear` weight as `[in, out]`, PyTorch as `[out, in]`; Burn's norms have
//! `gamma` / `beta` where PyTorch has `weight` / `bias`. A file alone does not say which 2-D
//! tensors are `Linear` weights (an embedding is not transposed), so hubmix records it when it
//! saves a model: the metadata key [`PYTORCH_PLAN_KEY`] holds a [`PytorchPlan`] (the tensors to
//! transpose, in the file's own naming, and the renames, Burn name to PyTorch name), beside
//! [`LAYOUT_KEY`] (`burn` or `pytorch`). A layout change applies that record forward or
//! backward; for a file without one, the caller names the tensors
//! ([`ConvertOptions::transpose`], [`ConvertOptions::rename`]). The output records the plan in
//! its own naming, so converting back needs nothing more, and gives the original bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cast::{cast, is_float, transpose};
use super::{Checkpoint, Dtype, FileHeader, INDEX_FILE, TensorInfo, WEIGHTS_FILE, elements, header_bytes};
use crate::error::HubError;
use crate::files::{AtomicFile, Durability, random_suffix, read_exact_at};

/// The metadata key of the layout a file is stored in: `burn` or `pytorch`.
pub const LAYOUT_KEY: &str = "hubmix_layout";
/// The metadata key of the [`PytorchPlan`] of a file, as JSON.
pub const PYTORCH_PLAN_KEY: &str = "hubmix_pytorch";

/// A float type to convert to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatType {
    /// 32-bit IEEE floats.
    F32,
    /// 16-bit IEEE floats.
    F16,
    /// bfloat16.
    BF16,
}

impl FloatType {
    /// The safetensors type.
    pub fn dtype(self) -> Dtype {
        match self {
            FloatType::F32 => Dtype::F32,
            FloatType::F16 => Dtype::F16,
            FloatType::BF16 => Dtype::BF16,
        }
    }
}

/// How a checkpoint's tensors are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Burn's: `Linear` weights `[in, out]`, norms' `gamma` / `beta`.
    Burn,
    /// PyTorch's: `Linear` weights `[out, in]`, norms' `weight` / `bias`.
    PyTorch,
}

impl Layout {
    /// The name in [`LAYOUT_KEY`]: `burn`, `pytorch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Burn => "burn",
            Layout::PyTorch => "pytorch",
        }
    }

    /// The layout a [`LAYOUT_KEY`] value names.
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "burn" => Some(Layout::Burn),
            "pytorch" => Some(Layout::PyTorch),
            _ => None,
        }
    }
}

/// What a layout change does to a file: which tensors are transposed, and which are renamed.
///
/// ```
/// use hubmix_hub::safetensors::PytorchPlan;
///
/// let plan = PytorchPlan::from_json(r#"{"transpose": ["fc.weight"], "rename": {"norm.gamma": "norm.weight"}}"#)?;
/// assert!(plan.transpose.contains("fc.weight"));
/// assert_eq!(PytorchPlan::from_json(&plan.to_json())?, plan);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PytorchPlan {
    /// The 2-D tensors to transpose, named as in the file that records the plan.
    pub transpose: BTreeSet<String>,
    /// Burn name to PyTorch name, whichever layout the file is in.
    pub rename: BTreeMap<String, String>,
}

impl PytorchPlan {
    /// The plan of a [`PYTORCH_PLAN_KEY`] value.
    pub fn from_json(json: &str) -> Result<PytorchPlan, String> {
        serde_json::from_str(json).map_err(|e| format!("its {PYTORCH_PLAN_KEY} metadata is malformed: {e}"))
    }

    /// The [`PYTORCH_PLAN_KEY`] value: compact JSON, names sorted.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings serialize")
    }
}

/// How [`convert`] rewrites a checkpoint. The default rewrites it as it is (one file).
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Cast float tensors (f64, f32, f16, bf16) to this type; integer and bool tensors are
    /// kept as they are.
    pub dtype: Option<FloatType>,
    /// Shards of at most this many bytes of tensors (a larger tensor gets a shard of its own);
    /// `None`: one file.
    pub max_shard_size: Option<u64>,
    /// Store in this layout: the source's [`PytorchPlan`] is applied, forward or backward, or
    /// else [`transpose`](Self::transpose) and [`rename`](Self::rename).
    pub layout: Option<Layout>,
    /// For a layout change of a file without a recorded plan: glob patterns of the tensors to
    /// transpose (source names; `*` matches any characters, dots included).
    pub transpose: Vec<String>,
    /// For a layout change of a file without a recorded plan: source name to output name.
    pub rename: Vec<(String, String)>,
    /// How far the written files are made to last.
    pub durability: Durability,
}

impl ConvertOptions {
    /// Cast float tensors to `dtype`.
    pub fn dtype(mut self, dtype: FloatType) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Shards of at most `bytes` bytes.
    pub fn max_shard_size(mut self, bytes: u64) -> Self {
        self.max_shard_size = Some(bytes);
        self
    }

    /// Store in `layout`.
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }
}

/// What [`convert`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The files, in place (the shards, then the index).
    pub files: Vec<PathBuf>,
    /// Tensors written.
    pub tensors: usize,
    /// Their bytes.
    pub tensor_bytes: u64,
}

/// One output tensor, planned.
struct Planned<'a> {
    file: &'a FileHeader,
    source: &'a TensorInfo,
    name: String,
    dtype: Dtype,
    transposed: bool,
}

impl Planned<'_> {
    fn shape(&self) -> Vec<usize> {
        let mut shape = self.source.shape.clone();
        if self.transposed {
            shape.reverse();
        }
        shape
    }

    fn len(&self) -> u64 {
        elements(self.source) * self.dtype.size() as u64
    }
}

/// The name of shard `i` (from 0) of `n`: `model-00001-of-00003.safetensors`.
pub fn shard_name(i: usize, n: usize) -> String {
    format!("model-{:05}-of-{n:05}.safetensors", i + 1)
}

/// Rewrites the local checkpoint `source` (opened with [`Checkpoint::open`], or a cached
/// repository's) into `out`: a `.safetensors` file (one file), or else a folder that receives
/// `model.safetensors` or the shards and their index (the weight files of an earlier save
/// there are replaced; other files are left alone). The `__metadata__` of the source is kept
/// (with `format: pt` added when missing), [`LAYOUT_KEY`] and [`PYTORCH_PLAN_KEY`] updated on a
/// layout change.
///
/// Everything is checked before a byte is written: the headers (by [`Checkpoint::open`]), the
/// layout plan against the tensors (2-D tensors to transpose, names that stay unique). The
/// files are written into a temporary folder beside `out` and moved into place once all are
/// written: an error leaves `out` as it was.
///
/// ```
/// use hubmix_hub::safetensors::{Checkpoint, ConvertOptions, Dtype, FloatType, convert};
///
/// let json = br#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#;
/// let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
/// bytes.extend_from_slice(json);
/// bytes.extend(1.5f32.to_le_bytes().iter().chain(&(-2.0f32).to_le_bytes()));
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("in.safetensors"), &bytes)?;
///
/// let source = Checkpoint::open(&dir.path().join("in.safetensors"))?;
/// let out = dir.path().join("out.safetensors");
/// convert(&source, &out, &ConvertOptions::default().dtype(FloatType::BF16))?;
/// let converted = Checkpoint::open(&out)?;
/// assert_eq!(converted.files[0].header.tensors[0].dtype, Dtype::BF16);
/// assert_eq!(converted.metadata()["format"], "pt");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn convert(source: &Checkpoint, out: &Path, options: &ConvertOptions) -> Result<Converted, HubError> {
    let what = out.display().to_string();
    let bad = |reason: String| HubError::InvalidArgument {
        name: "conversion".into(),
        reason: format!("{what}: {reason}"),
    };
    let metadata: BTreeMap<String, String> = source
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let Change {
        renames,
        transposed,
        metadata,
    } = layout_change(source, metadata, options)?;
    let mut planned: Vec<Planned<'_>> = Vec::new();
    for (file, t) in source.tensors() {
        let dtype = match options.dtype {
            Some(to) if is_float(t.dtype) => to.dtype(),
            _ => t.dtype,
        };
        planned.push(Planned {
            file,
            source: t,
            name: renames.get(&t.name).cloned().unwrap_or_else(|| t.name.clone()),
            dtype,
            transposed: transposed.contains(&t.name),
        });
    }
    planned.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = planned.windows(2).find(|p| p[0].name == p[1].name) {
        return Err(bad(format!(
            "tensors {} and {} would both be named {}",
            pair[0].source.name, pair[1].source.name, pair[0].name
        )));
    }
    // Consecutive tensors while they fit (a larger tensor gets its own shard), as hubmix saves.
    let mut shards: Vec<Vec<&Planned<'_>>> = vec![Vec::new()];
    let mut size = 0u64;
    for p in &planned {
        if size > 0 && size + p.len() > options.max_shard_size.unwrap_or(u64::MAX) {
            shards.push(Vec::new());
            size = 0;
        }
        shards.last_mut().expect("a current shard").push(p);
        size += p.len();
    }
    let single_file = out.extension().is_some_and(|e| e == "safetensors");
    if single_file && shards.len() > 1 {
        return Err(bad(format!(
            "the tensors make {} shards of at most {} bytes, which need a folder, not a .safetensors file",
            shards.len(),
            options.max_shard_size.unwrap_or(u64::MAX)
        )));
    }
    let mut reader = Reader::default();
    let tensor_bytes = planned.iter().map(Planned::len).sum();
    if single_file {
        write_file(out, &shards[0], &metadata, &mut reader, options.durability)?;
        return Ok(Converted {
            files: vec![out.to_owned()],
            tensors: planned.len(),
            tensor_bytes,
        });
    }
    let staging = Staging::new(out)?;
    let n = shards.len();
    let mut names = Vec::new();
    let mut weight_map = BTreeMap::new();
    for (i, shard) in shards.iter().enumerate() {
        let name = if n == 1 {
            WEIGHTS_FILE.to_owned()
        } else {
            shard_name(i, n)
        };
        write_file(
            &staging.dir.join(&name),
            shard,
            &metadata,
            &mut reader,
            options.durability,
        )?;
        for p in shard {
            weight_map.insert(p.name.clone(), name.clone());
        }
        names.push(name);
    }
    if n > 1 {
        let index = serde_json::json!({"metadata": {"total_size": tensor_bytes}, "weight_map": weight_map});
        let text = serde_json::to_string_pretty(&index).expect("the index serializes");
        crate::files::write_atomic_with(&staging.dir.join(INDEX_FILE), text.as_bytes(), options.durability)?;
        names.push(INDEX_FILE.to_owned());
    }
    let files = staging.move_into(out, &names)?;
    Ok(Converted {
        files,
        tensors: planned.len(),
        tensor_bytes,
    })
}

/// What a conversion does to names and shapes, and the output's metadata.
struct Change {
    /// Source name to output name (the others keep theirs).
    renames: HashMap<String, String>,
    /// Source names of the tensors transposed.
    transposed: BTreeSet<String>,
    metadata: BTreeMap<String, String>,
}

impl Change {
    fn none(metadata: BTreeMap<String, String>) -> Change {
        Change {
            renames: HashMap::new(),
            transposed: BTreeSet::new(),
            metadata,
        }
    }
}

/// The [`Change`] `options` make to `source`, whose metadata is `metadata`.
fn layout_change(
    source: &Checkpoint,
    mut metadata: BTreeMap<String, String>,
    options: &ConvertOptions,
) -> Result<Change, HubError> {
    metadata.entry("format".into()).or_insert_with(|| "pt".into());
    let stated = metadata
        .get(LAYOUT_KEY)
        .map(String::as_str)
        .and_then(Layout::parse);
    let given = !options.transpose.is_empty() || !options.rename.is_empty();
    let bad = |reason: String| HubError::InvalidArgument {
        name: "layout".into(),
        reason,
    };
    let Some(to) = options.layout else {
        if given {
            return Err(bad(
                "tensors to transpose or rename are only for a layout change: name the layout".into(),
            ));
        }
        return Ok(Change::none(metadata));
    };
    if stated == Some(to) && !given {
        return Ok(Change::none(metadata));
    }
    let names: BTreeSet<&str> = source.tensors().iter().map(|(_, t)| t.name.as_str()).collect();
    let recorded = metadata
        .get(PYTORCH_PLAN_KEY)
        .map(|json| PytorchPlan::from_json(json))
        .transpose();
    let (renames, transposed): (HashMap<String, String>, BTreeSet<String>) = if given {
        let mut transposed = BTreeSet::new();
        for pattern in &options.transpose {
            let set = crate::patterns::glob_set(&[pattern])?.expect("one pattern");
            let matched: Vec<&str> = names.iter().copied().filter(|n| set.is_match(n)).collect();
            if matched.is_empty() {
                return Err(bad(format!(
                    "--transpose {pattern:?} matches no tensor of the checkpoint"
                )));
            }
            transposed.extend(matched.into_iter().map(str::to_owned));
        }
        let mut renames = HashMap::new();
        for (from, to) in &options.rename {
            if !names.contains(from.as_str()) {
                return Err(bad(format!(
                    "--rename {from}={to}: the checkpoint has no tensor {from}"
                )));
            }
            renames.insert(from.clone(), to.clone());
        }
        (renames, transposed)
    } else {
        let plan = recorded.map_err(&bad)?.ok_or_else(|| {
            bad(format!(
                "the checkpoint does not record which tensors a layout change transposes or renames (no {PYTORCH_PLAN_KEY} metadata)"
            ))
        })?;
        let Some(from) = stated.filter(|from| *from != to) else {
            return Err(bad(format!(
                "the checkpoint records a layout plan but not its layout ({LAYOUT_KEY})"
            )));
        };
        let renames = match from {
            Layout::Burn => plan.rename.clone().into_iter().collect(),
            Layout::PyTorch => plan.rename.iter().map(|(b, p)| (p.clone(), b.clone())).collect(),
        };
        (renames, plan.transpose)
    };
    for name in &transposed {
        let t = source
            .tensors()
            .into_iter()
            .find(|(_, t)| &t.name == name)
            .map(|(_, t)| t);
        if let Some(t) = t.filter(|t| t.shape.len() != 2) {
            return Err(bad(format!(
                "tensor {} has shape {:?}: only 2-D tensors are transposed",
                t.name, t.shape
            )));
        }
    }
    // The record of the output, in its own naming: Burn name to PyTorch name either way.
    let out_name = |n: &String| renames.get(n).cloned().unwrap_or_else(|| n.clone());
    let record = PytorchPlan {
        transpose: transposed.iter().map(out_name).collect(),
        rename: renames
            .iter()
            .map(|(from, into)| match to {
                Layout::PyTorch => (from.clone(), into.clone()),
                Layout::Burn => (into.clone(), from.clone()),
            })
            .collect(),
    };
    metadata.insert(LAYOUT_KEY.into(), to.as_str().into());
    metadata.insert(PYTORCH_PLAN_KEY.into(), record.to_json());
    Ok(Change {
        renames,
        transposed,
        metadata,
    })
}

/// The source files, opened once each, checked to be the size their headers were read at.
#[derive(Default)]
struct Reader {
    open: HashMap<PathBuf, File>,
}

impl Reader {
    /// The stored bytes of tensor `t` of `file`.
    fn read(&mut self, file: &FileHeader, t: &TensorInfo) -> Result<Vec<u8>, HubError> {
        let path = file
            .local_path
            .as_ref()
            .ok_or_else(|| HubError::InvalidCheckpoint {
                what: file.path.clone(),
                reason: "the file is not on this machine: download it first".into(),
            })?;
        if !self.open.contains_key(path) {
            let f = File::open(path).map_err(HubError::io("opening", path))?;
            let len = f.metadata().map_err(HubError::io("reading", path))?.len();
            if len != file.size {
                return Err(HubError::InvalidCheckpoint {
                    what: file.path.clone(),
                    reason: format!(
                        "it had {} bytes when its header was read, and has {len} now",
                        file.size
                    ),
                });
            }
            self.open.insert(path.clone(), f);
        }
        let f = &self.open[path];
        let mut buf = vec![0u8; (t.end - t.begin) as usize];
        read_exact_at(f, &mut buf, file.data_start() + t.begin).map_err(HubError::io("reading", path))?;
        Ok(buf)
    }
}

/// Writes one safetensors file of `tensors` (in order) with `metadata`, through a temporary
/// sibling, one tensor at a time.
fn write_file(
    path: &Path,
    tensors: &[&Planned<'_>],
    metadata: &BTreeMap<String, String>,
    reader: &mut Reader,
    durability: Durability,
) -> Result<(), HubError> {
    let shapes: Vec<Vec<usize>> = tensors.iter().map(|p| p.shape()).collect();
    let header = header_bytes(
        metadata,
        tensors
            .iter()
            .zip(&shapes)
            .map(|(p, shape)| (p.name.as_str(), p.dtype, shape.as_slice())),
    );
    let mut out = AtomicFile::create(path)?;
    out.write_all(&header)?;
    for p in tensors {
        let stored = reader.read(p.file, p.source)?;
        let mut bytes = if p.dtype == p.source.dtype {
            stored
        } else {
            cast(&stored, p.source.dtype, p.dtype)
        };
        if p.transposed {
            bytes = transpose(&bytes, p.source.shape[0], p.source.shape[1], p.dtype.size());
        }
        out.write_all(&bytes)?;
    }
    out.finish(durability)
}

/// A temporary folder beside the output, removed unless its files were moved into place.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn new(out: &Path) -> Result<Staging, HubError> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = out
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        std::fs::create_dir_all(parent).map_err(HubError::io("creating", parent))?;
        let dir = parent.join(format!(".{name}.{}.converting", random_suffix()));
        std::fs::create_dir(&dir).map_err(HubError::io("creating", &dir))?;
        Ok(Staging { dir })
    }

    /// Moves `names` into `out` (created if needed), after removing the weight files of an
    /// earlier save there.
    fn move_into(self, out: &Path, names: &[String]) -> Result<Vec<PathBuf>, HubError> {
        std::fs::create_dir_all(out).map_err(HubError::io("creating", out))?;
        let entries = std::fs::read_dir(out).map_err(HubError::io("listing", out))?;
        for entry in entries {
            let entry = entry.map_err(HubError::io("listing", out))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let shard = name.starts_with("model-") && name.contains("-of-") && name.ends_with(".safetensors");
            if name == WEIGHTS_FILE || name == INDEX_FILE || shard {
                std::fs::remove_file(entry.path()).map_err(HubError::io("removing", entry.path()))?;
            }
        }
        let mut files = Vec::new();
        for name in names {
            let to = out.join(name);
            std::fs::rename(self.dir.join(name), &to).map_err(HubError::io("moving into place", &to))?;
            files.push(to);
        }
        Ok(files)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A file of `tensors` (name, dtype, shape, bytes) with `metadata`, written as hubmix does.
    fn write(path: &Path, metadata: serde_json::Value, tensors: &[(&str, &str, &[usize], Vec<u8>)]) {
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), metadata);
        let mut sorted: Vec<_> = tensors.iter().collect();
        sorted.sort_by_key(|t| t.0);
        let mut offset = 0;
        let mut data = Vec::new();
        for (name, dtype, shape, bytes) in sorted {
            header.insert(
                (*name).into(),
                json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes.len()]}),
            );
            offset += bytes.len();
            data.extend_from_slice(bytes);
        }
        let mut json = serde_json::to_vec(&header).unwrap();
        json.resize(json.len().next_multiple_of(8), b' ');
        let mut file = (json.len() as u64).to_le_bytes().to_vec();
        file.extend(json);
        file.extend(data);
        std::fs::write(path, file).unwrap();
    }

    fn f32s(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
        values.into_iter().flat_map(f32::to_le_bytes).collect()
    }

    #[test]
    fn shards_are_planned_in_name_order_and_a_large_tensor_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.safetensors");
        write(
            &src,
            json!({"format": "pt"}),
            &[
                ("a", "F32", &[4], f32s([1.0; 4])),
                ("b", "F32", &[4], f32s([2.0; 4])),
                ("c", "F32", &[16], f32s([3.0; 16])),
                ("d", "I64", &[1], 7i64.to_le_bytes().to_vec()),
            ],
        );
        let source = Checkpoint::open(&src).unwrap();
        let out = dir.path().join("sharded");
        // a+b fit 32 bytes; c (64) alone; d after it.
        let done = convert(&source, &out, &ConvertOptions::default().max_shard_size(32)).unwrap();
        let names: Vec<String> = done
            .files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                shard_name(0, 3),
                shard_name(1, 3),
                shard_name(2, 3),
                INDEX_FILE.to_owned()
            ]
        );
        let back = Checkpoint::open(&out).unwrap();
        let index = &back.index.as_ref().unwrap().1;
        assert_eq!(index.weight_map["b"], "model-00001-of-00003.safetensors");
        assert_eq!(index.weight_map["c"], "model-00002-of-00003.safetensors");
        assert_eq!(index.metadata["total_size"], 4 * 4 + 4 * 4 + 16 * 4 + 8);
        // Back into one file: the bytes of the original.
        let again = dir.path().join("again.safetensors");
        convert(&back, &again, &ConvertOptions::default()).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&src).unwrap());
        // Nothing is left of the staging folders.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn layout_plans_apply_forward_and_backward() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("burn.safetensors");
        let plan = PytorchPlan {
            transpose: ["fc.weight".to_owned()].into(),
            rename: [("norm.gamma".to_owned(), "norm.weight".to_owned())].into(),
        };
        write(
            &src,
            json!({"format": "pt", "hubmix_layout": "burn", "hubmix_pytorch": plan.to_json()}),
            &[
                ("fc.weight", "F32", &[2, 3], f32s([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
                ("embed.weight", "F32", &[2, 3], f32s([0.0; 6])),
                ("norm.gamma", "F32", &[3], f32s([1.0; 3])),
                ("step", "I64", &[1], 5i64.to_le_bytes().to_vec()),
            ],
        );
        let torch = dir.path().join("torch.safetensors");
        let to_torch = ConvertOptions::default().layout(Layout::PyTorch);
        convert(&Checkpoint::open(&src).unwrap(), &torch, &to_torch).unwrap();
        let c = Checkpoint::open(&torch).unwrap();
        let find = |c: &Checkpoint, n: &str| {
            c.tensors()
                .into_iter()
                .find(|(_, t)| t.name == n)
                .map(|(_, t)| t.clone())
        };
        assert_eq!(find(&c, "fc.weight").unwrap().shape, [3, 2]);
        assert_eq!(find(&c, "embed.weight").unwrap().shape, [2, 3], "not in the plan");
        assert!(find(&c, "norm.weight").is_some() && find(&c, "norm.gamma").is_none());
        assert_eq!(c.metadata()[LAYOUT_KEY], "pytorch");
        let recorded = PytorchPlan::from_json(c.metadata()[PYTORCH_PLAN_KEY]).unwrap();
        assert_eq!(recorded, plan, "the same names: fc.weight keeps its name");
        let fc = find(&c, "fc.weight").unwrap();
        let bytes = std::fs::read(&torch).unwrap();
        let start = (c.files[0].data_start() + fc.begin) as usize;
        assert_eq!(
            bytes[start..start + 24],
            f32s([1.0, 4.0, 2.0, 5.0, 3.0, 6.0])[..],
            "[[1,2,3],[4,5,6]] transposed"
        );
        // And back: the original bytes.
        let burn = dir.path().join("burn-again.safetensors");
        convert(&c, &burn, &ConvertOptions::default().layout(Layout::Burn)).unwrap();
        assert_eq!(std::fs::read(&burn).unwrap(), std::fs::read(&src).unwrap());
    }

    #[test]
    fn a_layout_change_without_a_plan_needs_the_tensors_named() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("plain.safetensors");
        write(
            &src,
            json!({"format": "pt"}),
            &[
                ("fc.weight", "F32", &[2, 3], f32s([0.0; 6])),
                ("fc.bias", "F32", &[3], f32s([0.0; 3])),
            ],
        );
        let source = Checkpoint::open(&src).unwrap();
        let out = dir.path().join("out.safetensors");
        let err = convert(&source, &out, &ConvertOptions::default().layout(Layout::PyTorch)).unwrap_err();
        assert!(
            matches!(&err, HubError::InvalidArgument { name, reason } if name == "layout" && reason.contains("does not record")),
            "{err}"
        );
        let mut named = ConvertOptions::default().layout(Layout::PyTorch);
        named.transpose = vec!["*.bias".into()];
        let err = convert(&source, &out, &named).unwrap_err().to_string();
        assert!(err.contains("only 2-D tensors are transposed"), "{err}");
        named.transpose = vec!["*.weight".into()];
        named.rename = vec![("fc.bias".into(), "fc.weight".into())];
        let err = convert(&source, &out, &named).unwrap_err().to_string();
        assert!(err.contains("would both be named fc.weight"), "{err}");
        assert!(!out.exists(), "nothing is written for a refused conversion");
        named.rename = vec![("fc.bias".into(), "fc.b".into())];
        convert(&source, &out, &named).unwrap();
        let c = Checkpoint::open(&out).unwrap();
        let plan = PytorchPlan::from_json(c.metadata()[PYTORCH_PLAN_KEY]).unwrap();
        assert_eq!(plan.transpose, ["fc.weight".to_owned()].into());
        assert_eq!(plan.rename, [("fc.bias".to_owned(), "fc.b".to_owned())].into());
    }
}
