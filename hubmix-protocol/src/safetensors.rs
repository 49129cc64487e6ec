//! The header of a safetensors file — the format of the weights the Hub stores and describes
//! (`safetensors` in a model's info) — read bounded by the file it comes from: an 8-byte
//! little-endian length, that many bytes of JSON naming each tensor's type, shape and bytes,
//! then the data section.
//!
//! Reading one is two steps, so that nothing is allocated before the claimed sizes are checked
//! against the file: [`header_len`] checks the length prefix against the file's size and
//! [`MAX_HEADER_BYTES`], then [`Header::parse`] reads the JSON and checks every tensor against
//! the data section: in range, of the size its shape and type make, tensors end to end
//! covering the whole section.
//!
//! ```
//! use hubmix_protocol::safetensors::{Dtype, Header, header_len};
//!
//! let json = br#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#;
//! let mut file = (json.len() as u64).to_le_bytes().to_vec();
//! file.extend_from_slice(json);
//! file.extend_from_slice(&[0; 8]);
//!
//! let prefix: [u8; 8] = file[..8].try_into().unwrap();
//! let len = header_len(prefix, file.len() as u64)?;
//! let header = Header::parse(&file[8..8 + len], file.len() as u64 - 8 - len as u64)?;
//! assert_eq!(header.tensors[0].dtype, Dtype::F32);
//! assert_eq!((header.tensors[0].begin, header.tensors[0].end), (0, 8));
//! # Ok::<(), hubmix_protocol::safetensors::InvalidSafetensors>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// Bytes of the length prefix.
pub const PREFIX_BYTES: u64 = 8;
/// Largest header accepted, in bytes (the `safetensors` crate's limit).
pub const MAX_HEADER_BYTES: u64 = 100 * 1024 * 1024;
/// The header key of the file's free-form string metadata.
pub const METADATA_KEY: &str = "__metadata__";

/// Why bytes are not a safetensors file; the messages say what is wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSafetensors {
    /// Shorter than the length prefix.
    #[error("the file has {file_len} bytes: too short for a safetensors file (truncated download?)")]
    TooShort {
        /// The file's size.
        file_len: u64,
    },
    /// The length prefix claims more than the file has, or more than [`MAX_HEADER_BYTES`].
    #[error(
        "its header claims {claimed} bytes but the file has {file_len} (at most {MAX_HEADER_BYTES} are accepted): it is truncated or not a safetensors file"
    )]
    HeaderLength {
        /// The length the prefix claims.
        claimed: u64,
        /// The file's size.
        file_len: u64,
    },
    /// The header is not JSON.
    #[error("its header is not valid JSON: {0}")]
    NotJson(String),
    /// The header is JSON, but not an object of tensor entries (and `__metadata__`).
    #[error("its header is malformed: {0}")]
    Malformed(String),
    /// A tensor's entry is malformed, or claims bytes it cannot have.
    #[error("tensor {name}: {reason}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with its entry.
        reason: String,
    },
    /// The tensors do not cover the data section exactly.
    #[error("its tensors cover {covered} bytes of a {data_len}-byte data section: the file is corrupt")]
    Coverage {
        /// Bytes the tensors claim, end to end from the start.
        covered: u64,
        /// The data section's size.
        data_len: u64,
    },
}

/// Checks the 8-byte length prefix of a file of `file_len` bytes, and returns the header's
/// length: at most [`MAX_HEADER_BYTES`], and within the file.
pub fn header_len(prefix: [u8; 8], file_len: u64) -> Result<usize, InvalidSafetensors> {
    if file_len < PREFIX_BYTES {
        return Err(InvalidSafetensors::TooShort { file_len });
    }
    let claimed = u64::from_le_bytes(prefix);
    if claimed > MAX_HEADER_BYTES || claimed > file_len - PREFIX_BYTES {
        return Err(InvalidSafetensors::HeaderLength { claimed, file_len });
    }
    usize::try_from(claimed).map_err(|_| InvalidSafetensors::HeaderLength { claimed, file_len })
}

/// A tensor's element type, as safetensors names it (`F32`, `BF16`, `BOOL`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// `BOOL`, one byte.
    Bool,
    /// `U8`.
    U8,
    /// `I8`.
    I8,
    /// `F8_E5M2`.
    F8E5M2,
    /// `F8_E4M3`.
    F8E4M3,
    /// `I16`.
    I16,
    /// `U16`.
    U16,
    /// `F16`.
    F16,
    /// `BF16`.
    BF16,
    /// `I32`.
    I32,
    /// `U32`.
    U32,
    /// `F32`.
    F32,
    /// `F64`.
    F64,
    /// `I64`.
    I64,
    /// `U64`.
    U64,
}

impl Dtype {
    /// Every type, for parsing.
    const ALL: [Dtype; 15] = [
        Dtype::Bool,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8E5M2,
        Dtype::F8E4M3,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::F64,
        Dtype::I64,
        Dtype::U64,
    ];

    /// The name in a header.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::Bool => "BOOL",
            Dtype::U8 => "U8",
            Dtype::I8 => "I8",
            Dtype::F8E5M2 => "F8_E5M2",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::I16 => "I16",
            Dtype::U16 => "U16",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I32 => "I32",
            Dtype::U32 => "U32",
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
            Dtype::U64 => "U64",
        }
    }

    /// The type a header names; `None` for names this crate does not know.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 | Dtype::F8E5M2 | Dtype::F8E4M3 => 1,
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tensor of a [`Header`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name (`fc1.weight`).
    pub name: String,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Where its bytes start, from the start of the data section.
    pub begin: u64,
    /// Where its bytes end (exclusive): `end - begin` is the product of the shape times the
    /// type's size.
    pub end: u64,
}

/// A checked safetensors header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// The tensors, by name.
    pub tensors: Vec<TensorInfo>,
    /// The `__metadata__` strings (empty when the header has none).
    pub metadata: HashMap<String, String>,
}

impl Header {
    /// Parses `header` (the JSON after the length prefix) and checks it against a data section
    /// of `data_len` bytes. Memory is bounded by the header's length: nothing is built from
    /// the sizes it claims.
    pub fn parse(header: &[u8], data_len: u64) -> Result<Self, InvalidSafetensors> {
        let raw: RawHeader = serde_json::from_slice(header).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => InvalidSafetensors::Malformed(e.to_string()),
            _ => InvalidSafetensors::NotJson(e.to_string()),
        })?;
        let mut tensors = Vec::with_capacity(raw.tensors.len());
        for (name, entry) in raw.tensors {
            let bad = |reason: String| InvalidSafetensors::Tensor {
                name: name.clone(),
                reason,
            };
            let dtype = Dtype::parse(&entry.dtype)
                .ok_or_else(|| bad(format!("its type {} is not a safetensors type", entry.dtype)))?;
            let [begin, end] = entry.data_offsets;
            let elems = entry
                .shape
                .iter()
                .try_fold(1u64, |acc, d| acc.checked_mul(u64::try_from(*d).ok()?));
            let expected = elems.and_then(|n| n.checked_mul(dtype.size() as u64));
            if end < begin || end > data_len || expected != Some(end - begin) {
                return Err(bad(format!(
                    "it claims bytes {begin}..{end} for shape {:?} of {dtype}, but the data section has {data_len} bytes: the file is corrupt or truncated",
                    entry.shape
                )));
            }
            tensors.push(TensorInfo {
                name,
                dtype,
                shape: entry.shape,
                begin,
                end,
            });
        }
        check_end_to_end(&tensors, data_len)?;
        Ok(Header {
            tensors,
            metadata: raw.metadata,
        })
    }
}

/// Checks that the tensors, in the order of their bytes, follow each other from the start of
/// the data section to its end: no gap, no overlap.
fn check_end_to_end(tensors: &[TensorInfo], data_len: u64) -> Result<(), InvalidSafetensors> {
    let mut order: Vec<&TensorInfo> = tensors.iter().collect();
    order.sort_by_key(|t| (t.begin, t.end));
    let mut covered = 0;
    for t in order {
        if t.begin != covered {
            return Err(InvalidSafetensors::Tensor {
                name: t.name.clone(),
                reason: format!(
                    "it starts at byte {} of the data section, where the tensors before it end at {covered}: tensors overlap or leave a gap, the file is corrupt",
                    t.begin
                ),
            });
        }
        covered = t.end;
    }
    if covered != data_len {
        return Err(InvalidSafetensors::Coverage { covered, data_len });
    }
    Ok(())
}

/// A tensor's entry as the header writes it.
#[derive(Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// The header's JSON object: tensors by name, and `__metadata__`.
struct RawHeader {
    tensors: BTreeMap<String, RawEntry>,
    metadata: HashMap<String, String>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawHeaderVisitor)
    }
}

/// Reads a [`RawHeader`] entry by entry, straight into typed values (no `serde_json::Value`
/// of the whole header), refusing a name given twice.
struct RawHeaderVisitor;

impl<'de> Visitor<'de> for RawHeaderVisitor {
    type Value = RawHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of tensor entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader, A::Error> {
        let mut tensors = BTreeMap::new();
        let mut metadata = None;
        while let Some(name) = map.next_key::<String>()? {
            if name == METADATA_KEY {
                if metadata.is_some() {
                    return Err(de::Error::custom(format_args!("{METADATA_KEY} is given twice")));
                }
                let m: HashMap<String, String> = map
                    .next_value()
                    .map_err(|e| de::Error::custom(format_args!("its {METADATA_KEY} is malformed: {e}")))?;
                metadata = Some(m);
                continue;
            }
            let entry: RawEntry = map
                .next_value()
                .map_err(|e| de::Error::custom(format_args!("tensor {name}: malformed entry: {e}")))?;
            if tensors.contains_key(&name) {
                return Err(de::Error::custom(format_args!("tensor {name} is given twice")));
            }
            tensors.insert(name, entry);
        }
        Ok(RawHeader {
            tensors,
            metadata: metadata.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A whole file: prefix, `header` as JSON, `data_len` zero bytes.
    fn file(header: serde_json::Value, data_len: usize) -> Vec<u8> {
        let json = serde_json::to_vec(&header).unwrap();
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&json);
        bytes.resize(bytes.len() + data_len, 0);
        bytes
    }

    /// Reads a whole file as a loader does.
    fn read(bytes: &[u8]) -> Result<Header, InvalidSafetensors> {
        let prefix: [u8; 8] = bytes.get(..8).map_or([0; 8], |p| p.try_into().unwrap());
        let len = header_len(prefix, bytes.len() as u64)?;
        Header::parse(&bytes[8..8 + len], (bytes.len() - 8 - len) as u64)
    }

    #[test]
    fn reads_tensors_and_metadata() {
        let header = read(&file(
            json!({"__metadata__": {"format": "pt"},
                   "b": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [16, 28]},
                   "a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},
                   "empty": {"dtype": "BOOL", "shape": [0], "data_offsets": [28, 28]}}),
            28,
        ))
        .unwrap();
        assert_eq!(header.metadata["format"], "pt");
        let names: Vec<_> = header.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "empty"]);
        assert_eq!(header.tensors[1].dtype, Dtype::BF16);
        assert_eq!(header.tensors[1].shape, [2, 3]);
    }

    #[test]
    fn claimed_lengths_are_checked_before_anything_is_read() {
        assert_eq!(
            read(&[1, 2, 3]),
            Err(InvalidSafetensors::TooShort { file_len: 3 })
        );
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(matches!(
            read(&huge),
            Err(InvalidSafetensors::HeaderLength { .. })
        ));
        let over_cap = (MAX_HEADER_BYTES + 1).to_le_bytes();
        assert!(matches!(
            header_len(over_cap, u64::MAX),
            Err(InvalidSafetensors::HeaderLength { .. })
        ));
        assert_eq!(
            header_len(MAX_HEADER_BYTES.to_le_bytes(), u64::MAX),
            Ok(MAX_HEADER_BYTES as usize)
        );
    }

    #[test]
    fn says_what_is_wrong_with_a_tensor() {
        let err =
            |header: serde_json::Value, data_len| read(&file(header, data_len)).unwrap_err().to_string();
        let entry = |dtype: &str, shape: serde_json::Value, offsets: [u64; 2]| json!({"w": {"dtype": dtype, "shape": shape, "data_offsets": offsets}});
        assert!(err(entry("Q4", json!([2]), [0, 8]), 8).contains("Q4 is not a safetensors type"));
        assert!(err(entry("F32", json!([2]), [8, 0]), 8).contains("corrupt or truncated"));
        assert!(err(entry("F32", json!([3]), [0, 8]), 8).contains("corrupt or truncated"));
        assert!(err(entry("F32", json!([2]), [0, 8]), 7).contains("corrupt or truncated"));
        let overflow = entry("F32", json!([1u64 << 40, 1u64 << 40]), [0, 8]);
        assert!(err(overflow, 8).contains("corrupt or truncated"));
        assert!(err(entry("F32", json!([2]), [0, 8]), 24).contains("cover 8 bytes of a 24-byte"));
        assert!(err(json!({"w": {"dtype": "F32", "shape": [2]}}), 8).contains("tensor w: malformed entry"));
        assert!(err(json!({"__metadata__": {"a": 1}}), 0).contains("__metadata__ is malformed"));
        assert!(err(json!([1, 2]), 0).contains("malformed: invalid type: sequence"));
        for not_json in [&b"#{}"[..], b"{", b""] {
            assert!(matches!(
                Header::parse(not_json, 0),
                Err(InvalidSafetensors::NotJson(_))
            ));
        }
    }

    #[test]
    fn tensors_that_overlap_or_leave_a_gap_are_refused() {
        // Two tensors on the same bytes, and a gap after them of the same size: the bytes
        // claimed add up to the data section, but the tensors alias each other.
        let aliased = json!({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
                             "b": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}});
        let err = read(&file(aliased, 16)).unwrap_err().to_string();
        assert!(err.contains("tensors overlap or leave a gap"), "{err}");
        let gap = json!({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                         "b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}});
        let err = read(&file(gap, 12)).unwrap_err().to_string();
        assert!(err.contains("tensor b: it starts at byte 8"), "{err}");
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        let json = br#"{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
                        "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}"#;
        let err = Header::parse(json, 2).unwrap_err().to_string();
        assert!(err.contains("tensor w is given twice"), "{err}");
    }

    #[test]
    fn every_dtype_parses_back() {
        for d in Dtype::ALL {
            assert_eq!(Dtype::parse(d.as_str()), Some(d));
        }
        assert_eq!(Dtype::parse("f32"), None);
    }
}
