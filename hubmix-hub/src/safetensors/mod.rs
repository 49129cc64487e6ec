//! safetensors checkpoints read by their headers alone: a local file, a local folder (with
//! `model.safetensors`, or the sharded index `model.safetensors.index.json` and its shards), or
//! a repository on the Hub, whose headers are read with HTTP `Range` requests and never its
//! tensor data ([`HubClient::inspect_checkpoint`](crate::HubClient::inspect_checkpoint)).
//!
//! Every header is checked before it is used (the rules are
//! [`hubmix_protocol::safetensors`]'s): its claimed length against [`MAX_HEADER_BYTES`] and
//! the file before anything is allocated, each tensor's bytes inside the data section, of the
//! size its shape and type make, the tensors end to end without gap or overlap. A sharded
//! index must name plain files of its folder, and agree with the shards on which holds what.
//! Errors name the file at fault ([`HubError::InvalidSafetensors`],
//! [`HubError::InvalidCheckpoint`]).
//!
//! ```
//! use hubmix_hub::safetensors::{Checkpoint, Dtype};
//!
//! // A file with one 2×3 F32 tensor.
//! let json = br#"{"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}"#;
//! let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
//! bytes.extend_from_slice(json);
//! bytes.extend_from_slice(&[0; 24]);
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("model.safetensors"), &bytes)?;
//!
//! let checkpoint = Checkpoint::open(dir.path())?;
//! assert_eq!(checkpoint.parameter_count(), 6);
//! assert_eq!(checkpoint.tensor_bytes(), 24);
//! let (_, w) = checkpoint.tensors()[0];
//! assert_eq!((w.name.as_str(), w.dtype, w.shape.as_slice()), ("w", Dtype::F32, &[2, 3][..]));
//! assert_eq!(checkpoint.metadata()["format"], "pt");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cast;
mod convert;
mod remote;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::HubError;
pub use convert::{
    ConvertOptions, Converted, FloatType, LAYOUT_KEY, Layout, PYTORCH_PLAN_KEY, PytorchPlan, convert,
    shard_name,
};
pub use hubmix_protocol::safetensors::{
    Dtype, Header, InvalidSafetensors, MAX_HEADER_BYTES, METADATA_KEY, PREFIX_BYTES, TensorInfo,
};
pub use remote::FIRST_READ_BYTES;

/// The single-file checkpoint of a folder or repository.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of a sharded checkpoint (transformers' name, and hubmix's).
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// Largest index accepted: transformers' indexes are a few hundred kB.
pub const MAX_INDEX_BYTES: u64 = 64 << 20;

/// The header of one safetensors file, checked against the file's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// The file: a local path, or its path in a repository.
    pub path: String,
    /// The file's size in bytes.
    pub size: u64,
    /// Bytes of the header's JSON (after the 8-byte length prefix).
    pub header_len: u64,
    /// The tensors and the metadata.
    pub header: Header,
    /// The file on this machine, when it was read from disk (a cached copy included): what
    /// [`convert`] reads the tensors from.
    pub local_path: Option<PathBuf>,
}

impl FileHeader {
    /// Where the data section starts: tensor offsets count from here.
    pub fn data_start(&self) -> u64 {
        PREFIX_BYTES + self.header_len
    }

    /// Reads the header of the local file at `path` (only the header: the tensors are not read).
    pub fn read(path: &Path) -> Result<FileHeader, HubError> {
        Self::read_as(path, &path.display().to_string())
    }

    /// [`FileHeader::read`], naming the file `label` in the header and in errors.
    pub(crate) fn read_as(path: &Path, label: &str) -> Result<FileHeader, HubError> {
        let mut file = File::open(path).map_err(HubError::io("opening", path))?;
        let size = file.metadata().map_err(HubError::io("reading", path))?.len();
        let mut prefix = [0u8; PREFIX_BYTES as usize];
        if size >= PREFIX_BYTES {
            file.read_exact(&mut prefix)
                .map_err(HubError::io("reading", path))?;
        }
        let header_len = header_len(label, prefix, size)?;
        let mut bytes = Vec::new();
        (&mut file)
            .take(header_len as u64)
            .read_to_end(&mut bytes)
            .map_err(HubError::io("reading", path))?;
        if bytes.len() != header_len {
            return Err(HubError::Io {
                action: "reading",
                path: path.to_owned(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        let mut header = parse(label, &bytes, size)?;
        header.local_path = Some(path.to_owned());
        Ok(header)
    }
}

/// The header length a file's prefix claims, checked against its `size`.
fn header_len(label: &str, prefix: [u8; 8], size: u64) -> Result<usize, HubError> {
    hubmix_protocol::safetensors::header_len(prefix, size).map_err(|source| HubError::InvalidSafetensors {
        file: label.to_owned(),
        source,
    })
}

/// Parses the header's JSON `bytes` of a file of `size` bytes.
fn parse(label: &str, bytes: &[u8], size: u64) -> Result<FileHeader, HubError> {
    let header_len = bytes.len() as u64;
    let header = Header::parse(bytes, size - PREFIX_BYTES - header_len).map_err(|source| {
        HubError::InvalidSafetensors {
            file: label.to_owned(),
            source,
        }
    })?;
    Ok(FileHeader {
        path: label.to_owned(),
        size,
        header_len,
        header,
        local_path: None,
    })
}

/// A sharded checkpoint's index: which shard holds each tensor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShardIndex {
    /// Its `metadata` object (transformers writes `total_size`), as it is.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Tensor name to shard file name (in the index's folder).
    pub weight_map: BTreeMap<String, String>,
}

impl ShardIndex {
    /// Parses an index file's `bytes`; `label` names it in errors. Shards must be plain file
    /// names (no folder, not `.` or `..`): they are read from the index's own folder.
    pub fn parse(label: &str, bytes: &[u8]) -> Result<ShardIndex, HubError> {
        let bad = |reason: String| HubError::InvalidCheckpoint {
            what: label.to_owned(),
            reason,
        };
        if bytes.len() as u64 > MAX_INDEX_BYTES {
            return Err(bad(format!(
                "it has {} bytes, more than the {MAX_INDEX_BYTES} an index can have: it is not a weight index",
                bytes.len()
            )));
        }
        let index: ShardIndex =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("it is not a safetensors index ({e})")))?;
        if let Some(name) = index.weight_map.values().find(|n| !is_plain_name(n)) {
            return Err(bad(format!(
                "it names the shard {name:?}, which is not a file name in its folder"
            )));
        }
        Ok(index)
    }

    /// The shard files, each once, in order.
    pub fn shards(&self) -> Vec<&str> {
        let names: BTreeSet<&str> = self.weight_map.values().map(String::as_str).collect();
        names.into_iter().collect()
    }
}

/// A file name without folders, not `.` or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

/// Reads a local index file, bounded by [`MAX_INDEX_BYTES`].
fn read_index(path: &Path, label: &str) -> Result<ShardIndex, HubError> {
    let file = File::open(path).map_err(HubError::io("opening", path))?;
    let mut bytes = Vec::new();
    file.take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(HubError::io("reading", path))?;
    ShardIndex::parse(label, &bytes)
}

/// One element type's share of a checkpoint ([`Checkpoint::dtypes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtypeSummary {
    /// The type.
    pub dtype: Dtype,
    /// Tensors of it.
    pub tensors: usize,
    /// Their elements.
    pub parameters: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The headers of a checkpoint: one safetensors file, or the shards of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The commit the headers were read at (for a repository).
    pub commit: Option<String>,
    /// The index and its path, for a sharded checkpoint.
    pub index: Option<(String, ShardIndex)>,
    /// The files, in order (the shards in the order of their names).
    pub files: Vec<FileHeader>,
}

impl Checkpoint {
    /// The checkpoint at a local `path`: a `.safetensors` file, an index file
    /// (`*.safetensors.index.json`) and its shards beside it, or a folder holding
    /// [`WEIGHTS_FILE`] or else [`INDEX_FILE`]. Only headers are read.
    pub fn open(path: &Path) -> Result<Checkpoint, HubError> {
        let meta = std::fs::metadata(path).map_err(HubError::io("reading", path))?;
        if meta.is_dir() {
            let single = path.join(WEIGHTS_FILE);
            let index = path.join(INDEX_FILE);
            return if single.is_file() {
                Ok(Self::single(FileHeader::read(&single)?))
            } else if index.is_file() {
                Self::open_index(&index)
            } else {
                Err(HubError::InvalidCheckpoint {
                    what: path.display().to_string(),
                    reason: format!("the folder has neither {WEIGHTS_FILE} nor {INDEX_FILE}"),
                })
            };
        }
        if path.to_string_lossy().ends_with(".index.json") {
            return Self::open_index(path);
        }
        Ok(Self::single(FileHeader::read(path)?))
    }

    fn open_index(index_path: &Path) -> Result<Checkpoint, HubError> {
        let label = index_path.display().to_string();
        let index = read_index(index_path, &label)?;
        let folder = index_path.parent().unwrap_or(Path::new("."));
        Self::sharded(label, index, |name| FileHeader::read(&folder.join(name)))
    }

    /// One file.
    pub(crate) fn single(file: FileHeader) -> Checkpoint {
        Checkpoint {
            commit: None,
            index: None,
            files: vec![file],
        }
    }

    /// The shards of `index` (named `label`), each header read by `header` from its name,
    /// checked against the index: each tensor in the shard the index names, each tensor of a
    /// shard listed.
    pub(crate) fn sharded(
        label: String,
        index: ShardIndex,
        mut header: impl FnMut(&str) -> Result<FileHeader, HubError>,
    ) -> Result<Checkpoint, HubError> {
        let bad = |reason: String| HubError::InvalidCheckpoint {
            what: label.clone(),
            reason,
        };
        let mut files = Vec::new();
        let mut found = BTreeSet::new();
        for shard in index.shards() {
            let file = header(shard)?;
            for t in &file.header.tensors {
                match index.weight_map.get(&t.name) {
                    Some(listed) if listed == shard => {
                        found.insert(t.name.as_str().to_owned());
                    }
                    Some(listed) => {
                        return Err(bad(format!(
                            "{shard} holds tensor {}, which the index places in {listed}",
                            t.name
                        )));
                    }
                    None => {
                        return Err(bad(format!(
                            "{shard} holds tensor {}, which the index does not list",
                            t.name
                        )));
                    }
                }
            }
            files.push(file);
        }
        if let Some((name, shard)) = index.weight_map.iter().find(|(name, _)| !found.contains(*name)) {
            return Err(bad(format!(
                "the index lists tensor {name} (in {shard}), which its shard does not hold"
            )));
        }
        Ok(Checkpoint {
            commit: None,
            index: Some((label, index)),
            files,
        })
    }

    /// Every tensor with its file, by name.
    pub fn tensors(&self) -> Vec<(&FileHeader, &TensorInfo)> {
        let mut all: Vec<_> = self
            .files
            .iter()
            .flat_map(|f| f.header.tensors.iter().map(move |t| (f, t)))
            .collect();
        all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        all
    }

    /// The number of elements of all tensors (the parameter count, buffers included).
    pub fn parameter_count(&self) -> u64 {
        self.tensors().iter().map(|(_, t)| elements(t)).sum()
    }

    /// The bytes of all tensors.
    pub fn tensor_bytes(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|f| &f.header.tensors)
            .map(|t| t.end - t.begin)
            .sum()
    }

    /// The size of all files, headers included.
    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Tensors, elements and bytes of each element type, by type name.
    pub fn dtypes(&self) -> Vec<DtypeSummary> {
        let mut by: BTreeMap<&'static str, DtypeSummary> = BTreeMap::new();
        for (_, t) in self.tensors() {
            let s = by.entry(t.dtype.as_str()).or_insert(DtypeSummary {
                dtype: t.dtype,
                tensors: 0,
                parameters: 0,
                bytes: 0,
            });
            s.tensors += 1;
            s.parameters += elements(t);
            s.bytes += t.end - t.begin;
        }
        by.into_values().collect()
    }

    /// The `__metadata__` of the first file (a sharded save writes the same in each), by key.
    pub fn metadata(&self) -> BTreeMap<&str, &str> {
        self.files
            .first()
            .map(|f| {
                f.header
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The bytes that open a safetensors file of `tensors` (name, type, shape; their data then
/// follows end to end, in this order) with `metadata`: the 8-byte length, then the JSON header
/// (`__metadata__`, then the tensors), padded with spaces to a multiple of 8 bytes so that the
/// data is aligned. As hubmix writes its checkpoints, and transformers its own.
///
/// ```
/// use hubmix_hub::safetensors::{Dtype, Header, header_bytes};
///
/// let metadata = [("format".to_owned(), "pt".to_owned())].into();
/// let bytes = header_bytes(&metadata, [("w", Dtype::F16, &[2, 2][..])]);
/// assert_eq!(bytes.len() % 8, 0);
/// let header = Header::parse(&bytes[8..], 8)?;
/// assert_eq!((header.tensors[0].begin, header.tensors[0].end), (0, 8));
/// # Ok::<(), hubmix_hub::safetensors::InvalidSafetensors>(())
/// ```
pub fn header_bytes<'a>(
    metadata: &BTreeMap<String, String>,
    tensors: impl IntoIterator<Item = (&'a str, Dtype, &'a [usize])>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert(
        METADATA_KEY.into(),
        serde_json::to_value(metadata).expect("strings serialize"),
    );
    let mut offset = 0u64;
    for (name, dtype, shape) in tensors {
        let len = shape.iter().map(|d| *d as u64).product::<u64>() * dtype.size() as u64;
        header.insert(
            name.to_owned(),
            serde_json::json!({"dtype": dtype.as_str(), "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let mut json = serde_json::to_vec(&header).expect("JSON values serialize");
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes
}

/// A tensor's number of elements.
pub fn elements(t: &TensorInfo) -> u64 {
    // Checked by the header's parser: the product times the type's size is the byte length.
    (t.end - t.begin) / t.dtype.size() as u64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A file: `header` as JSON after its length, then `data_len` zero bytes.
    pub(crate) fn file_bytes(header: serde_json::Value, data_len: usize) -> Vec<u8> {
        let json = serde_json::to_vec(&header).unwrap();
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&json);
        bytes.resize(bytes.len() + data_len, 0);
        bytes
    }

    fn entry(dtype: &str, shape: &[usize], begin: usize, end: usize) -> serde_json::Value {
        json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, end]})
    }

    #[test]
    fn a_folder_with_a_sharded_index_is_read_shard_by_shard() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("model-00001-of-00002.safetensors"),
            file_bytes(
                json!({"__metadata__": {"format": "pt"}, "a": entry("F32", &[2, 2], 0, 16)}),
                16,
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("model-00002-of-00002.safetensors"),
            file_bytes(
                json!({"b": entry("BF16", &[3], 0, 6), "c": entry("I64", &[1], 6, 14)}),
                14,
            ),
        )
        .unwrap();
        let index = json!({"metadata": {"total_size": 30}, "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors"}});
        std::fs::write(d.join(INDEX_FILE), index.to_string()).unwrap();
        let c = Checkpoint::open(d).unwrap();
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.parameter_count(), 4 + 3 + 1);
        assert_eq!(c.tensor_bytes(), 30);
        let names: Vec<_> = c.tensors().iter().map(|(_, t)| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let types: Vec<_> = c
            .dtypes()
            .iter()
            .map(|s| (s.dtype, s.tensors, s.parameters, s.bytes))
            .collect();
        assert_eq!(
            types,
            [
                (Dtype::BF16, 1, 3, 6),
                (Dtype::F32, 1, 4, 16),
                (Dtype::I64, 1, 1, 8)
            ]
        );
        assert_eq!(c.metadata()["format"], "pt");
        assert_eq!(c.index.as_ref().unwrap().1.metadata["total_size"], 30);

        // An index that disagrees with its shards, or names a file elsewhere.
        let mut wrong = index.clone();
        wrong["weight_map"]["b"] = json!("model-00001-of-00002.safetensors");
        std::fs::write(d.join(INDEX_FILE), wrong.to_string()).unwrap();
        let err = Checkpoint::open(d).unwrap_err().to_string();
        assert!(err.contains("which the index places in model-00001"), "{err}");
        let mut extra = index.clone();
        extra["weight_map"]["z"] = json!("model-00002-of-00002.safetensors");
        std::fs::write(d.join(INDEX_FILE), extra.to_string()).unwrap();
        let err = Checkpoint::open(d).unwrap_err().to_string();
        assert!(err.contains("lists tensor z (in model-00002"), "{err}");
        let mut escape = index;
        escape["weight_map"]["a"] = json!("../model.safetensors");
        std::fs::write(d.join(INDEX_FILE), escape.to_string()).unwrap();
        let err = Checkpoint::open(d).unwrap_err();
        assert!(
            matches!(&err, HubError::InvalidCheckpoint { reason, .. } if reason.contains("not a file name in its folder")),
            "{err}"
        );
        std::fs::remove_file(d.join(INDEX_FILE)).unwrap();
        let err = Checkpoint::open(d).unwrap_err().to_string();
        assert!(err.contains("neither model.safetensors nor"), "{err}");
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let whole = file_bytes(json!({"w": entry("F32", &[4], 0, 16)}), 16);
        // Cut in the data, in the header, in the prefix.
        for cut in [whole.len() - 1, 20, 5] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let err = Checkpoint::open(&path).unwrap_err();
            assert!(
                matches!(&err, HubError::InvalidSafetensors { file, .. } if file == &path.display().to_string()),
                "{err}"
            );
        }
        // A header whose length prefix claims more than the cap: refused before allocating.
        let mut huge = (u64::MAX / 2).to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        std::fs::write(&path, huge).unwrap();
        assert!(matches!(
            Checkpoint::open(&path),
            Err(HubError::InvalidSafetensors {
                source: InvalidSafetensors::HeaderLength { .. },
                ..
            })
        ));
        assert!(matches!(
            Checkpoint::open(&dir.path().join("missing.safetensors")),
            Err(HubError::Io { .. })
        ));
    }
}
