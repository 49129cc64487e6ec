//! Which weight files a checkpoint has and how they are opened, as transformers chooses:
//! `model.safetensors`, then its sharded index, then `pytorch_model.bin`, then its sharded
//! index; then the same four of diffusers (`diffusion_pytorch_model.*`). Only the files holding tensors the weight map keeps are fetched. Safetensors headers
//! are read bounded (`hubmix_protocol::safetensors`); `.bin` files are read by burn-store's
//! pickle reader, which interprets a state dict and never executes the pickle's code.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use burn::store::pytorch_reader::PytorchReader;
use burn::tensor::DType;
use serde::Deserialize;

use super::lazy::{LazyTensor, ReadInto, TensorMap, TensorOrigin, byte_len};
use super::map::Compiled;
use super::mapped::MappedFile;
use crate::Layout;
use crate::error::Error;
use hubmix_hub::HubError;
use hubmix_hub::mixin::ModelFiles;
use hubmix_protocol::safetensors::{self, Dtype, Header};

/// The single safetensors file.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of a sharded safetensors checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// PyTorch's pickled state dict, as transformers writes it with `safe_serialization=False`.
pub const PYTORCH_WEIGHTS_FILE: &str = "pytorch_model.bin";
/// The index of a sharded `pytorch_model.bin`.
pub const PYTORCH_INDEX_FILE: &str = "pytorch_model.bin.index.json";
/// diffusers' names for the same four files (a model folder of a pipeline: `unet/`, `vae/`).
const DIFFUSERS_CHOICES: [&str; 4] = [
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.bin.index.json",
];
/// The largest index file read (transformers' indexes are a few hundred kB).
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// The weight files, in the order transformers prefers them.
const CHOICES: [&str; 4] = [WEIGHTS_FILE, INDEX_FILE, PYTORCH_WEIGHTS_FILE, PYTORCH_INDEX_FILE];

/// Every name looked for, in order: transformers', then diffusers'.
fn choices() -> impl Iterator<Item = &'static str> {
    CHOICES.into_iter().chain(DIFFUSERS_CHOICES)
}

/// The tensors of a checkpoint, unread, and what its files say about it.
pub(crate) struct Opened {
    pub tensors: TensorMap,
    /// Tensors the weight map's allow / ignore patterns leave unread.
    pub ignored: Vec<TensorOrigin>,
    /// The layout the files state (`hubmix_layout`, or `format: pt`), if any.
    pub stated_layout: Option<Layout>,
    /// Bytes read so far from the files' data (shared with every lazy tensor).
    pub bytes_read: Arc<AtomicU64>,
}

/// `weight_map` of an index file (its `metadata` is not needed).
#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

/// Opens the weights of `files`: the first of [`CHOICES`] present; safetensors files
/// memory-mapped when `mmap` (see [`mapped`](super::mapped)).
pub(crate) fn open(files: &ModelFiles, map: &Compiled, mmap: bool) -> Result<Opened, Error> {
    let what = files.describe();
    let bad = |reason: String| Error::Checkpoint {
        what: what.clone(),
        reason,
    };
    // Offline, a cache that has one of them (filled by Python, say) but never asked for the
    // others does not know they are absent: its "not cached" only counts when none is there.
    let mut not_cached = None;
    let mut found = None;
    for name in choices() {
        match files.find(name) {
            Ok(Some(path)) => {
                found = Some((name, path));
                break;
            }
            Ok(None) => {}
            Err(e @ HubError::NotCached { .. }) => {
                not_cached.get_or_insert(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Some((name, path)) = found else {
        if let Some(e) = not_cached {
            return Err(e.into());
        }
        return Err(bad(format!(
            "it has none of {}",
            choices().collect::<Vec<_>>().join(", ")
        )));
    };
    let mut opened = Opened {
        tensors: TensorMap::default(),
        ignored: Vec::new(),
        stated_layout: None,
        bytes_read: Arc::new(AtomicU64::new(0)),
    };
    let pickled = name.ends_with(".bin") || name.ends_with(".bin.index.json");
    let paths = if name.ends_with(".index.json") {
        shards(files, &path, name, map, &bad)?
    } else {
        vec![path]
    };
    for path in &paths {
        if pickled {
            open_pickle(path, map, &mut opened, &what)?;
        } else {
            open_safetensors(path, map, mmap, &mut opened, &what)?;
        }
    }
    if pickled {
        opened.stated_layout = Some(Layout::PyTorch);
    }
    Ok(opened)
}

/// The shard files of the index at `index_path` that hold a tensor the map keeps.
fn shards(
    files: &ModelFiles,
    index_path: &Path,
    index_name: &str,
    map: &Compiled,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<PathBuf>, Error> {
    let len = std::fs::metadata(index_path)
        .map_err(Error::io("reading", index_path))?
        .len();
    if len > MAX_INDEX_BYTES {
        return Err(bad(format!(
            "{index_name} is {len} bytes, more than the {MAX_INDEX_BYTES} an index can be: it is not a weight index"
        )));
    }
    let text = std::fs::read(index_path).map_err(Error::io("reading", index_path))?;
    let index: Index =
        serde_json::from_slice(&text).map_err(|e| bad(format!("{index_name} is malformed: {e}")))?;
    let names: BTreeSet<&String> = index
        .weight_map
        .iter()
        .filter(|(tensor, _)| map.keeps(tensor))
        .map(|(_, file)| file)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']);
            if !plain {
                return Err(bad(format!(
                    "{index_name} names the shard {name:?}, which is not a file name in the same folder"
                )));
            }
            files.find(name)?.ok_or_else(|| {
                bad(format!(
                    "{index_name} names the shard {name}, which the model does not have"
                ))
            })
        })
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The Burn dtype of a safetensors type (`None`: Burn has no such type).
fn burn_dtype_of(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U64 => DType::U64,
        Dtype::U32 => DType::U32,
        Dtype::U16 => DType::U16,
        Dtype::U8 => DType::U8,
        Dtype::Bool => DType::Bool(burn::tensor::BoolStore::Native),
        Dtype::F8E5M2 | Dtype::F8E4M3 => return None,
    })
}

/// The layout safetensors metadata states: hubmix's own key, else `format: pt` (what
/// transformers and `safetensors.torch` write).
fn stated_layout(metadata: &HashMap<String, String>) -> Option<Layout> {
    match metadata.get("hubmix_layout") {
        Some(l) => Layout::parse(l),
        None => (metadata.get("format").map(String::as_str) == Some("pt")).then_some(Layout::PyTorch),
    }
}

/// Adds the entries of one safetensors file, as lazy tensors reading from it (from a mapping
/// of it, when `mmap` and it can be mapped).
fn open_safetensors(
    path: &Path,
    map: &Compiled,
    mmap: bool,
    opened: &mut Opened,
    what: &str,
) -> Result<(), Error> {
    let name = file_name(path);
    let bad = |reason: String| Error::Checkpoint {
        what: format!("{what} ({name})"),
        reason,
    };
    let mut file = File::open(path).map_err(Error::io("opening", path))?;
    let file_len = file.metadata().map_err(Error::io("reading", path))?.len();
    let mut prefix = [0u8; 8];
    if file_len >= safetensors::PREFIX_BYTES {
        file.read_exact(&mut prefix).map_err(Error::io("reading", path))?;
    }
    let header_len = safetensors::header_len(prefix, file_len).map_err(|e| bad(e.to_string()))?;
    let mut header = vec![0u8; header_len];
    file.read_exact(&mut header).map_err(Error::io("reading", path))?;
    let data_start = safetensors::PREFIX_BYTES + header_len as u64;
    let header = Header::parse(&header, file_len - data_start).map_err(|e| bad(e.to_string()))?;
    if opened.stated_layout.is_none() {
        opened.stated_layout = stated_layout(&header.metadata);
    }
    // Mapped only now that the header is checked against the file's length. A file that
    // cannot be mapped (a file system without mmap) is read instead.
    let mapped = if mmap && !header.tensors.is_empty() {
        MappedFile::new(&file, file_len).map_err(bad)?
    } else {
        None
    };
    let file = Arc::new(file);
    for t in header.tensors {
        let origin = TensorOrigin {
            file: name.clone(),
            name: t.name.clone(),
            shape: t.shape.clone(),
            dtype: t.dtype.as_str().to_owned(),
        };
        if !map.keeps(&t.name) {
            opened.ignored.push(origin);
            continue;
        }
        let dtype = burn_dtype_of(t.dtype).ok_or_else(|| {
            bad(format!(
                "tensor {} has type {} which Burn cannot hold",
                t.name, t.dtype
            ))
        })?;
        let (file, offset) = (Arc::clone(&file), data_start + t.begin);
        let len = byte_len(dtype, &t.shape).map_err(bad)?;
        let in_map = mapped.as_ref().and_then(|m| m.tensor(offset, len, dtype));
        let read: ReadInto = Arc::new(move |buf: &mut [u8], at: usize| {
            hubmix_hub::files::read_exact_at(&file, buf, offset + at as u64)
        });
        insert(
            opened,
            t.name,
            LazyTensor::stored(origin, dtype, read, true, in_map, Arc::clone(&opened.bytes_read)),
            &bad,
        )?;
    }
    Ok(())
}

fn insert(
    opened: &mut Opened,
    name: String,
    t: LazyTensor,
    bad: &dyn Fn(String) -> Error,
) -> Result<(), Error> {
    if opened.tensors.insert(name.clone(), t).is_some() {
        return Err(bad(format!("two of its files hold a tensor named {name}")));
    }
    Ok(())
}

/// Refuses a pickle that calls anything but PyTorch's tensor rebuilders: such a file would run
/// that code in Python's `torch.load` (`posix.system`, `builtins.exec`, ...). burn-store's
/// reader never runs it either, but it leaves the call as an opaque value beside the tensors;
/// a state dict that holds one is not what it claims to be.
fn refuse_code(path: &Path, bad: &dyn Fn(String) -> Error) -> Result<(), Error> {
    use burn::store::pytorch_reader::PickleValue;
    let root = PytorchReader::read_pickle_data(path, None)
        .map_err(|e| bad(format!("it is not a PyTorch state dict hubmix can read ({e})")))?;
    let mut stack = vec![&root];
    while let Some(value) = stack.pop() {
        match value {
            PickleValue::List(items) => stack.extend(items),
            PickleValue::Dict(map) => stack.extend(map.values()),
            PickleValue::Unsupported(name) if !name.starts_with("torch.") => {
                return Err(bad(format!(
                    "its pickle calls `{name}`, code that Python's torch.load would run; hubmix runs none and refuses the file: ask for a safetensors version"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Adds the tensors of a pickled PyTorch state dict (`pytorch_model.bin`).
fn open_pickle(path: &Path, map: &Compiled, opened: &mut Opened, what: &str) -> Result<(), Error> {
    use burn::store::pytorch_reader::DType as PtDType;
    let name = file_name(path);
    let bad = |reason: String| Error::Checkpoint {
        what: format!("{what} ({name})"),
        reason,
    };
    refuse_code(path, &bad)?;
    let reader = PytorchReader::new(path).map_err(|e| {
        bad(format!(
            "it is not a PyTorch state dict hubmix can read ({e}); hubmix never runs a pickle's code, so a file that needs it cannot be loaded: ask for a safetensors version"
        ))
    })?;
    let mut tensors: Vec<_> = reader.into_tensors().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, t) in tensors {
        let dtype = match t.dtype() {
            PtDType::F64 => DType::F64,
            PtDType::F32 => DType::F32,
            PtDType::F16 => DType::F16,
            PtDType::BF16 => DType::BF16,
            PtDType::I64 => DType::I64,
            PtDType::I32 => DType::I32,
            PtDType::I16 => DType::I16,
            PtDType::I8 => DType::I8,
            PtDType::U64 => DType::U64,
            PtDType::U32 => DType::U32,
            PtDType::U16 => DType::U16,
            PtDType::U8 => DType::U8,
            PtDType::Bool => DType::Bool(burn::tensor::BoolStore::Native),
        };
        let origin = TensorOrigin {
            file: name.clone(),
            name: key.clone(),
            shape: t.shape().to_vec(),
            dtype: format!("{:?}", t.dtype()),
        };
        if !map.keeps(&key) {
            opened.ignored.push(origin);
            continue;
        }
        // The whole tensor at once: burn-store's reader has no reads of parts.
        let read: ReadInto = Arc::new(move |buf: &mut [u8], at: usize| {
            let bytes = t.read()?;
            if at != 0 || bytes.len() != buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} bytes stored where {} were expected", bytes.len(), buf.len()),
                ));
            }
            buf.copy_from_slice(&bytes);
            Ok(())
        });
        insert(
            opened,
            key,
            LazyTensor::stored(origin, dtype, read, false, None, Arc::clone(&opened.bytes_read)),
            &bad,
        )?;
    }
    Ok(())
}
