//! Safetensors files memory-mapped read-only (`LoadOptions::mmap`),
//! so that a tensor stored as its parameter holds it (same type, no transpose, no cast) is
//! backed by the file's own pages instead of a copy: Burn's `Bytes` can own such memory
//! (`Bytes::from_shared`), and the `flex` backend keeps the `Bytes` it is given as the
//! tensor's storage. A load then costs the headers and a mapping per file; the pages are read
//! when a computation first touches them, and shared with the page cache (and with every
//! process that maps the same file). The first write to such a tensor (a training step, an
//! in-place operation) copies that tensor into memory of its own: the file is mapped
//! read-only and is never written.
//!
//! Tensors that need a cast or a transpose are computed from the mapping too (no read into
//! a buffer first), and then own their result.
//!
//! The contract of a mapping: the file is not truncated or rewritten in place while a model
//! loaded from it lives (replacing it by a rename, or deleting it, is fine: the mapping keeps
//! the old file). A truncated file's missing pages would fault (`SIGBUS`) when touched, and a
//! rewritten one would change the model's weights under it. The Hub cache keeps that contract
//! (its blobs are named by their hash, written aside and renamed into place, never changed),
//! and so do hubmix's own saves (written aside and renamed); a folder of the user's may not,
//! so there mapping is off unless asked for. The sizes of every file's header are checked
//! against the file's length before it is mapped: a file truncated before the load is a typed
//! error, not a fault.

use std::fs::File;

use burn::tensor::{AllocationProperty, Bytes, DType};

/// A read-only mapping of a whole weight file, shared (reference-counted) by the tensors that
/// live in it: it is unmapped when the last of them is dropped or copied.
pub(crate) struct MappedFile {
    map: bytes::Bytes,
}

impl MappedFile {
    /// Maps the first `len` bytes of `file`: the length its header was checked against.
    /// An error when the file is now shorter (it changed since); `None` when it cannot be
    /// mapped (a file system without mmap), for the caller to read it instead.
    pub(crate) fn new(file: &File, len: u64) -> Result<Option<Self>, String> {
        let now = file
            .metadata()
            .map_err(|e| format!("cannot read its length: {e}"))?
            .len();
        if now < len {
            return Err(format!(
                "it is now {now} bytes, shorter than the {len} its header was checked against: it changed during the load; load it again"
            ));
        }
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        // SAFETY: the mapping is read-only, and its length was just checked against the
        // file's. What a mapping cannot guard against, a file truncated or rewritten in place
        // while it is mapped, is the contract this module documents and `LoadOptions::mmap`
        // restricts to files that keep it by default (the Hub cache's).
        match unsafe { memmap2::MmapOptions::new().len(len).map(file) } {
            Ok(map) => Ok(Some(MappedFile {
                map: bytes::Bytes::from_owner(map),
            })),
            Err(e) => {
                tracing::debug!("reading a weight file instead of mapping it: {e}");
                Ok(None)
            }
        }
    }

    /// The `len` bytes at `offset` of the file as a tensor of `dtype`, without a copy; `None`
    /// when they are out of the mapping or not aligned for `dtype`'s elements (Burn's CPU
    /// backends read the elements in place, so they must be aligned), for the caller to read.
    pub(crate) fn tensor(&self, offset: u64, len: usize, dtype: DType) -> Option<MappedTensor> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(len).filter(|end| *end <= self.map.len())?;
        let aligned = (self.map.as_ptr() as usize + start).is_multiple_of(dtype.size().max(1));
        aligned.then(|| MappedTensor(self.map.slice(start..end)))
    }
}

/// One tensor's bytes inside a [`MappedFile`]: a cheap, shared view.
#[derive(Clone)]
pub(crate) struct MappedTensor(bytes::Bytes);

impl MappedTensor {
    /// The bytes as Burn holds a tensor's storage: the mapping itself, copied on first write.
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::from_shared(self.0.clone(), AllocationProperty::File)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{AllocationProperty, Device, TensorData};

    use super::MappedFile;
    use crate::LoadOptions;
    use crate::checkpoint::load_weights;
    use burn::tensor::DType;

    /// A parameter's data, taken out of the module (no copy on `flex` when nothing else
    /// holds it), and whether it is still a mapping.
    fn taken(linear: Linear) -> (TensorData, bool) {
        let data = linear.weight.into_value().into_data();
        let mapped = data.bytes().property() == AllocationProperty::File;
        (data, mapped)
    }

    #[test]
    fn a_mapped_load_keeps_the_file_as_the_parameters_and_equals_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let config = LinearConfig::new(64, 48);
        let saved: Linear = config.init(&device);
        crate::save_pretrained_burn(&saved, &config, dir.path(), &Default::default()).unwrap();
        let expected = saved.weight.val().into_data();
        let source = dir.path().to_str().unwrap();
        for mmap in [true, false] {
            let mut linear: Linear = config.init(&device);
            let report = load_weights(&mut linear, source, &LoadOptions::default().mmap(mmap)).unwrap();
            assert_eq!(report.bytes_read, (64 * 48 + 48) * 4);
            let (data, mapped) = taken(linear);
            assert_eq!(data, expected, "mmap {mmap}");
            assert_eq!(mapped, mmap, "the parameter is the mapping exactly when mapped");
        }
        // A local folder is read unless asked for.
        let mut linear: Linear = config.init(&device);
        load_weights(&mut linear, source, &LoadOptions::default()).unwrap();
        assert!(!taken(linear).1);
    }

    #[test]
    fn only_what_the_checked_length_covers_and_aligned_elements_are_mapped() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[7u8; 64]).unwrap();
        let err = MappedFile::new(&file, 65).err().expect("shorter than checked");
        assert!(err.contains("changed during the load"), "{err}");
        let map = MappedFile::new(&file, 64).unwrap().expect("a mapping");
        assert!(map.tensor(8, 16, DType::F32).is_some());
        assert!(map.tensor(2, 8, DType::F32).is_none(), "unaligned f32");
        assert!(map.tensor(2, 8, DType::BF16).is_some());
        assert!(map.tensor(60, 8, DType::U8).is_none(), "past the end");
        let bytes = map.tensor(8, 4, DType::U8).unwrap().to_bytes();
        assert_eq!(&bytes[..], &[7u8; 4]);
    }
}
