//! The lazy tensor map: a checkpoint's tensors by name, each a recipe (read these bytes, take
//! this slice, transpose, join) that runs only when the tensor is assigned to a parameter.
//! Renaming, splitting, tying or dropping a tensor reads nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::tensor::{Bytes, DType};

use super::cast;
use super::mapped::MappedTensor;
use crate::error::Error;

/// Reads a stored tensor's bytes from the given byte of it into a buffer, filling it.
pub(crate) type ReadInto = Arc<dyn Fn(&mut [u8], usize) -> std::io::Result<()> + Send + Sync>;

/// Where a tensor comes from, as the checkpoint has it: what a report names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TensorOrigin {
    /// The file that holds it (`model-00001-of-00002.safetensors`).
    pub file: String,
    /// Its name in that file.
    pub name: String,
    /// Its shape in that file.
    pub shape: Vec<usize>,
    /// Its storage type in that file (`F32`, `BF16`, `I64`, ...).
    pub dtype: String,
}

impl fmt::Display for TensorOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {} in {}",
            self.name, self.shape, self.dtype, self.file
        )
    }
}

/// One tensor of a checkpoint, not read yet: its origin, its type and shape as they are now,
/// and the steps that produce its bytes.
#[derive(Clone)]
pub struct LazyTensor {
    origin: Arc<TensorOrigin>,
    dtype: DType,
    shape: Vec<usize>,
    /// Already in Burn's `[in, out]` layout: a PyTorch-layout load does not transpose it.
    burn_layout: bool,
    /// What was done to it, for the report (`split 1/3 of axis 1`, `transposed`).
    steps: Vec<String>,
    source: Source,
}

#[derive(Clone)]
enum Source {
    Stored {
        read: ReadInto,
        /// Whether `read` reads parts cheaply (a file at an offset): a large tensor is then
        /// read by several threads at once, each its own band.
        in_parts: bool,
        /// The bytes in a mapping of the file, when it is mapped: the tensor itself when no
        /// cast is needed.
        mapped: Option<MappedTensor>,
        bytes_read: Arc<AtomicU64>,
    },
    Narrow {
        base: Box<LazyTensor>,
        axis: usize,
        start: usize,
    },
    Transpose(Box<LazyTensor>),
    Concat {
        parts: Vec<LazyTensor>,
        axis: usize,
    },
}

impl fmt::Debug for LazyTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyTensor")
            .field("origin", &self.origin.name)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("steps", &self.steps)
            .finish()
    }
}

fn bad(reason: String) -> Error {
    Error::Checkpoint {
        what: "the checkpoint's tensor map".into(),
        reason,
    }
}

impl LazyTensor {
    /// A stored tensor of `byte_len(dtype, shape)` bytes, which `read` reads (in parts, when
    /// `in_parts`), unless they are `mapped` and needed as they are.
    pub(crate) fn stored(
        origin: TensorOrigin,
        dtype: DType,
        read: ReadInto,
        in_parts: bool,
        mapped: Option<MappedTensor>,
        bytes_read: Arc<AtomicU64>,
    ) -> Self {
        LazyTensor {
            dtype,
            shape: origin.shape.clone(),
            origin: Arc::new(origin),
            burn_layout: false,
            steps: Vec::new(),
            source: Source::Stored {
                read,
                in_parts,
                mapped,
                bytes_read,
            },
        }
    }

    /// Its storage type now.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Its shape now.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The checkpoint tensor it comes from (the first one, for a join).
    pub fn origin(&self) -> &TensorOrigin {
        &self.origin
    }

    /// What was done to it since it was read (empty: as stored).
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// Whether it is marked as already in Burn's layout.
    pub fn is_burn_layout(&self) -> bool {
        self.burn_layout
    }

    /// Marks it as already in Burn's `[in, out]` layout (GPT-2's `Conv1D`): a PyTorch-layout
    /// load does not transpose it into a `Linear`.
    pub fn burn_layout(mut self) -> Self {
        self.burn_layout = true;
        self
    }

    fn axis(&self, axis: isize) -> Result<usize, Error> {
        let rank = self.shape.len() as isize;
        let a = if axis < 0 { rank + axis } else { axis };
        if a < 0 || a >= rank {
            return Err(bad(format!(
                "axis {axis} is out of range for {} of shape {:?}",
                self.origin.name, self.shape
            )));
        }
        Ok(a as usize)
    }

    fn derived(&self, shape: Vec<usize>, step: String, source: Source) -> Self {
        let mut steps = self.steps.clone();
        steps.push(step);
        LazyTensor {
            origin: Arc::clone(&self.origin),
            dtype: self.dtype,
            shape,
            burn_layout: self.burn_layout,
            steps,
            source,
        }
    }

    /// `len` entries of `axis` (negative: from the end) from `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Self, Error> {
        let a = self.axis(axis)?;
        if start.checked_add(len).is_none_or(|end| end > self.shape[a]) {
            return Err(bad(format!(
                "cannot take {len} entries from {start} of axis {a} of {} (shape {:?})",
                self.origin.name, self.shape
            )));
        }
        let mut shape = self.shape.clone();
        shape[a] = len;
        Ok(self.derived(
            shape,
            format!("entries {start}..{} of axis {a}", start + len),
            Source::Narrow {
                base: Box::new(self.clone()),
                axis: a,
                start,
            },
        ))
    }

    /// `n` equal parts along `axis` (negative: from the end), as GPT-2's fused `c_attn`.
    pub fn chunk(&self, axis: isize, n: usize) -> Result<Vec<Self>, Error> {
        let a = self.axis(axis)?;
        if n == 0 || !self.shape[a].is_multiple_of(n) {
            return Err(bad(format!(
                "cannot split axis {a} of {} (shape {:?}) into {n} equal parts",
                self.origin.name, self.shape
            )));
        }
        let len = self.shape[a] / n;
        (0..n).map(|i| self.narrow(a as isize, i * len, len)).collect()
    }

    /// The transpose of a 2-D tensor.
    pub fn transpose(&self) -> Result<Self, Error> {
        let [rows, cols] = self.shape[..] else {
            return Err(bad(format!(
                "cannot transpose {}: it has shape {:?}, not two axes",
                self.origin.name, self.shape
            )));
        };
        Ok(self.derived(
            vec![cols, rows],
            "transposed".into(),
            Source::Transpose(Box::new(self.clone())),
        ))
    }

    /// Joins tensors of one type along `axis`, their other axes equal.
    pub fn concat(parts: Vec<LazyTensor>, axis: isize) -> Result<Self, Error> {
        let Some(first) = parts.first() else {
            return Err(bad("cannot join no tensors".into()));
        };
        let a = first.axis(axis)?;
        let mut shape = first.shape.clone();
        shape[a] = 0;
        for p in &parts {
            let same_rest = p.shape.len() == first.shape.len()
                && p.shape
                    .iter()
                    .zip(&first.shape)
                    .enumerate()
                    .all(|(i, (x, y))| i == a || x == y);
            if p.dtype != first.dtype || !same_rest {
                return Err(bad(format!(
                    "cannot join {} ({:?} {:?}) with {} ({:?} {:?}) along axis {a}",
                    first.origin.name, first.dtype, first.shape, p.origin.name, p.dtype, p.shape
                )));
            }
            shape[a] += p.shape[a];
        }
        let names: Vec<&str> = parts.iter().map(|p| p.origin.name.as_str()).collect();
        let step = format!("joined from {} along axis {a}", names.join(", "));
        Ok(first.derived(
            shape,
            step,
            Source::Concat {
                parts: parts.clone(),
                axis: a,
            },
        ))
    }

    /// Reads it (in its own storage type).
    pub fn read(&self) -> Result<Bytes, Error> {
        self.materialize(self.dtype).map_err(bad)
    }

    /// Its bytes as `target` (a float type, when the tensor is a float; otherwise its own). A
    /// mapped tensor that needs no cast is the mapping itself.
    pub(crate) fn materialize(&self, target: DType) -> Result<Bytes, String> {
        self.produce(target, true)
    }

    /// Its bytes as `target`; the mapping itself only when `may_map`. The bytes a transform
    /// starts from are read, not mapped: the pages of a mapping stay in the process's memory
    /// until the load ends, beside the transformed tensors.
    fn produce(&self, target: DType, may_map: bool) -> Result<Bytes, String> {
        let width = self.dtype.size();
        match &self.source {
            Source::Stored {
                read,
                in_parts,
                mapped,
                bytes_read,
            } => {
                let len = byte_len(self.dtype, &self.shape)?;
                bytes_read.fetch_add(len as u64, Ordering::Relaxed);
                match mapped {
                    Some(mapped) if may_map && !cast::casts(self.dtype, target) => Ok(mapped.to_bytes()),
                    _ => {
                        let threads = if *in_parts {
                            cast::threads_for(len / width)
                        } else {
                            1
                        };
                        cast::read_as(self.dtype, target, len, threads, |buf, at| read(buf, at))
                    }
                }
                .map_err(|e| format!("cannot read {}: {e}", self.origin))
            }
            Source::Narrow { base, axis, start } => {
                let src = base.produce(base.dtype, false)?;
                let outer: usize = base.shape[..*axis].iter().product();
                let inner: usize = base.shape[axis + 1..].iter().product::<usize>() * width;
                let (from, take) = (base.shape[*axis] * inner, self.shape[*axis] * inner);
                let mut out = cast::zeroed(outer * take, width);
                for o in 0..outer {
                    let at = o * from + start * inner;
                    out[o * take..(o + 1) * take].copy_from_slice(&src[at..at + take]);
                }
                cast::convert(out, self.dtype, target)
            }
            Source::Transpose(base) => {
                let (rows, cols) = (base.shape[0], base.shape[1]);
                // A stored matrix is transposed as it is read, a stripe at a time; anything
                // else is produced first.
                if let Source::Stored {
                    read,
                    in_parts: true,
                    bytes_read,
                    ..
                } = &base.source
                {
                    let len = byte_len(base.dtype, &base.shape)?;
                    bytes_read.fetch_add(len as u64, Ordering::Relaxed);
                    return cast::transpose(self.dtype, rows, cols, target, |buf, at| read(buf, at))
                        .map_err(|e| format!("cannot read {}: {e}", base.origin));
                }
                let src = base.produce(base.dtype, false)?;
                cast::transpose(self.dtype, rows, cols, target, cast::in_memory(&src))
            }
            Source::Concat { parts, axis } => {
                let outer: usize = self.shape[..*axis].iter().product();
                let inner: usize = self.shape[axis + 1..].iter().product::<usize>() * width;
                let total = self.shape[*axis] * inner;
                let mut out = cast::zeroed(outer * total, width);
                let mut at = 0;
                for p in parts {
                    let src = p.produce(p.dtype, false)?;
                    let take = p.shape[*axis] * inner;
                    for o in 0..outer {
                        out[o * total + at..o * total + at + take]
                            .copy_from_slice(&src[o * take..(o + 1) * take]);
                    }
                    at += take;
                }
                cast::convert(out, self.dtype, target)
            }
        }
    }
}

/// Bytes of a tensor of `dtype` and `shape`, checked for overflow.
pub(crate) fn byte_len(dtype: DType, shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(dtype.size(), |n, d| n.checked_mul(*d))
        .ok_or_else(|| format!("a tensor of shape {shape:?} is larger than memory"))
}

/// A checkpoint's tensors by name, lazily: what a [`WeightMap`](super::WeightMap)'s rules and
/// its [`with`](super::WeightMap::with) function work on before the tensors are assigned. Only
/// the tensors assigned to a parameter (or [`read`](LazyTensor::read) by the function) are
/// ever read from disk.
///
/// ```
/// # use hubmix::checkpoint::TensorMap;
/// # fn f(map: &mut TensorMap) -> Result<(), hubmix::Error> {
/// // Merge separate q/k/v projections into one fused parameter, drop a buffer.
/// let parts = ["q", "k", "v"].map(|p| map.remove(&format!("attn.{p}.weight")));
/// if let [Some(q), Some(k), Some(v)] = parts {
///     map.insert("attn.qkv.weight", hubmix::checkpoint::LazyTensor::concat(vec![q, k, v], 0)?);
/// }
/// map.remove("embeddings.position_ids");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TensorMap {
    tensors: BTreeMap<String, LazyTensor>,
}

impl TensorMap {
    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&LazyTensor> {
        self.tensors.get(name)
    }

    /// Whether there is a tensor named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Takes the tensor named `name` out (dropping it, unless it is inserted again).
    pub fn remove(&mut self, name: &str) -> Option<LazyTensor> {
        self.tensors.remove(name)
    }

    /// Puts `tensor` under `name`, returning the tensor it replaces.
    pub fn insert(&mut self, name: impl Into<String>, tensor: LazyTensor) -> Option<LazyTensor> {
        self.tensors.insert(name.into(), tensor)
    }

    /// Renames `from` to `to`; an error when there is no `from` or already a `to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Error> {
        if from == to {
            return Ok(());
        }
        if self.tensors.contains_key(to) {
            return Err(bad(format!(
                "cannot rename {from} to {to}: there is already a tensor named {to}"
            )));
        }
        let t = self
            .tensors
            .remove(from)
            .ok_or_else(|| bad(format!("cannot rename {from}: there is no such tensor")))?;
        self.tensors.insert(to.to_owned(), t);
        Ok(())
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub(crate) fn into_inner(self) -> BTreeMap<String, LazyTensor> {
        self.tensors
    }

    pub(crate) fn inner_mut(&mut self) -> &mut BTreeMap<String, LazyTensor> {
        &mut self.tensors
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored f32 tensor of `shape` holding 0, 1, 2, ... and a counter of bytes read.
    pub(crate) fn counting(name: &str, shape: &[usize]) -> (LazyTensor, Arc<AtomicU64>) {
        let n: usize = shape.iter().product();
        let bytes: Vec<u8> = (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let counter = Arc::new(AtomicU64::new(0));
        let origin = TensorOrigin {
            file: "m.safetensors".into(),
            name: name.into(),
            shape: shape.to_vec(),
            dtype: "F32".into(),
        };
        let read: ReadInto = Arc::new(move |buf: &mut [u8], at: usize| {
            buf.copy_from_slice(&bytes[at..at + buf.len()]);
            Ok(())
        });
        (
            LazyTensor::stored(origin, DType::F32, read, true, None, Arc::clone(&counter)),
            counter,
        )
    }

    fn floats(b: &Bytes) -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn chunks_transposes_and_joins_give_the_right_elements() {
        let (t, counter) = counting("c_attn", &[2, 6]);
        let parts = t.chunk(-1, 3).unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 0, "nothing read yet");
        assert_eq!(parts[1].shape(), &[2, 2]);
        assert_eq!(floats(&parts[1].read().unwrap()), [2.0, 3.0, 8.0, 9.0]);
        assert_eq!(
            floats(&parts[2].transpose().unwrap().read().unwrap()),
            [4.0, 10.0, 5.0, 11.0]
        );
        let joined = LazyTensor::concat(vec![parts[2].clone(), parts[0].clone()], 1).unwrap();
        assert_eq!(
            floats(&joined.read().unwrap()),
            [4.0, 5.0, 0.0, 1.0, 10.0, 11.0, 6.0, 7.0]
        );
        // A stored matrix transposes as it is read, counted once.
        let before = counter.load(Ordering::Relaxed);
        assert_eq!(
            floats(&t.transpose().unwrap().read().unwrap()),
            [0.0, 6.0, 1.0, 7.0, 2.0, 8.0, 3.0, 9.0, 4.0, 10.0, 5.0, 11.0]
        );
        assert_eq!(counter.load(Ordering::Relaxed) - before, 12 * 4);
        let rows = t.chunk(0, 2).unwrap();
        assert_eq!(floats(&rows[1].read().unwrap()), [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        assert!(t.chunk(1, 4).is_err() && t.chunk(2, 1).is_err() && t.narrow(0, 1, 2).is_err());
        let (v, _) = counting("v", &[3]);
        assert!(v.transpose().is_err());
        assert!(LazyTensor::concat(vec![t.clone(), v], 0).is_err());
    }

    #[test]
    fn a_map_renames_and_drops_without_reading() {
        let mut map = TensorMap::default();
        let (a, ca) = counting("a", &[4]);
        let (b, cb) = counting("b", &[4]);
        map.insert("a", a);
        map.insert("b", b);
        map.rename("a", "x").unwrap();
        assert!(map.rename("b", "x").is_err() && map.rename("nope", "y").is_err());
        map.remove("b");
        assert_eq!(map.names().collect::<Vec<_>>(), ["x"]);
        assert_eq!(ca.load(Ordering::Relaxed) + cb.load(Ordering::Relaxed), 0);
        map.get("x").unwrap().read().unwrap();
        assert_eq!((ca.load(Ordering::Relaxed), cb.load(Ordering::Relaxed)), (16, 0));
    }
}
