//! Saving weights as safetensors: `model.safetensors`, or shards plus
//! `model.safetensors.index.json` (the layout transformers uses). Loading is
//! [`checkpoint`](crate::checkpoint)'s.
//!
//! Saving streams: the header is planned from shapes and types alone, then each tensor is read
//! back from its device and written straight from the buffer it is read into (one copy, the
//! backend's read-back; no write buffer), small tensors several at once (`writev`), so that at
//! most one large tensor is in host memory at a time. Running statistics (BatchNorm's) are
//! synced first: the file holds what the model computes with.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{BurnToPyTorchAdapter, FloatCastAdapter, IdentityAdapter, ModuleAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType, Tensor};
use serde::Serialize;

use super::host::{HostBuffer, host_buffers};
use super::options::{Layout, StorageType};
use crate::checkpoint::params::model_params;
use crate::checkpoint::{INDEX_FILE, WEIGHTS_FILE};
use crate::error::Error;
use hubmix_hub::files::{AtomicFile, Durability};
use hubmix_hub::safetensors::{PYTORCH_PLAN_KEY, PytorchPlan, header_bytes};
use hubmix_hub::upload::{MemoryFile, SharedBuffer};
use hubmix_protocol::safetensors::Dtype;

/// The names of shards (`model-00001-of-00003.safetensors`), as a pattern.
pub(crate) const SHARD_PATTERN: &str = "model-*-of-*.safetensors";
/// Every file a save of the weights may write, as patterns: what a new save replaces.
pub(crate) const WEIGHT_FILES: &[&str] = &[WEIGHTS_FILE, INDEX_FILE, SHARD_PATTERN];
/// Tensors read back and written together (one `writev`) while their bytes total less.
const BATCH_BYTES: usize = 8 << 20;
/// At most this many tensors in one `writev` (Linux allows 1024 pieces).
const BATCH_TENSORS: usize = 256;

/// `model.safetensors.index.json`.
#[derive(Debug, Serialize)]
struct Index {
    metadata: IndexMetadata,
    weight_map: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct IndexMetadata {
    total_size: u64,
}

/// The safetensors type of a dtype.
fn st_dtype(dtype: DType) -> Result<Dtype, String> {
    Ok(match dtype {
        DType::F64 => Dtype::F64,
        DType::F32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::I16 => Dtype::I16,
        DType::I8 => Dtype::I8,
        DType::U64 => Dtype::U64,
        DType::U32 => Dtype::U32,
        DType::U16 => Dtype::U16,
        DType::U8 => Dtype::U8,
        DType::Bool(_) => Dtype::Bool,
        other => return Err(format!("{other:?} has no safetensors equivalent")),
    })
}

/// The float type the module's parameters have (F32 when it has none).
///
/// Found without materialising anything: a parameter not initialized yet (a module fresh from
/// its config, which is what a load fills) will be created in its device's default float type,
/// which is what Burn's initializers use. Asking such a parameter for its value instead (as
/// `Module::collect` does) would draw its random initial values only for the load to replace
/// them: for a 200 MB model (`benches/model.rs`) that was 0.9 s of a 1.15 s load, and 64 MB
/// of its peak memory (the drawn weights, replaced one by one, outlived the first loaded ones).
pub(crate) fn module_float_dtype<M: Module>(module: &M) -> DType {
    struct FirstFloat(Option<DType>);
    impl ModuleVisitor for FirstFloat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.0.is_some() {
                return;
            }
            self.0 = Some(if param.is_initialized() {
                // As saved (`collect` reads the same), so a save mapper's type counts.
                param.transform_for_save().val().dtype()
            } else {
                param.lazy_device().settings().float_dtype.into()
            });
        }
    }
    let mut first = FirstFloat(None);
    module.visit(&mut first);
    first.0.filter(|d| d.is_float()).unwrap_or(DType::F32)
}

/// Removes the weight files of an earlier save (single file, index and shards).
fn remove_stale(dir: &Path) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(Error::io("listing", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let shard = name.starts_with("model-") && name.contains("-of-") && name.ends_with(".safetensors");
        if name == WEIGHTS_FILE || name == INDEX_FILE || shard {
            std::fs::remove_file(entry.path()).map_err(Error::io("removing", entry.path()))?;
        }
    }
    Ok(())
}

/// What a save wrote, and the float type it stored.
pub(crate) struct Saved {
    pub files: Vec<PathBuf>,
    pub dtype: StorageType,
}

/// How [`save_weights`] writes: layout, float type, shards, durability.
pub(crate) struct WeightOptions {
    pub layout: Layout,
    pub storage: Option<StorageType>,
    pub max_shard_size: Option<u64>,
    pub durability: Durability,
}

/// Writes the module's weights into `dir`, replacing those of an earlier save.
pub(crate) fn save_weights<M: Module>(
    module: &M,
    dir: &Path,
    options: &WeightOptions,
    type_name: &str,
) -> Result<Saved, Error> {
    let WeightOptions {
        layout,
        storage,
        max_shard_size,
        durability,
    } = *options;
    let stored = match storage {
        Some(s) => s,
        None => match module_float_dtype(module) {
            DType::F16 => StorageType::F16,
            DType::BF16 => StorageType::BF16,
            _ => StorageType::F32,
        },
    };
    let cast = FloatCastAdapter::to(super::options::burn_dtype(stored));
    let adapter: Box<dyn ModuleAdapter> = match layout {
        Layout::Burn => Box::new(IdentityAdapter.chain(cast)),
        Layout::PyTorch => Box::new(BurnToPyTorchAdapter.chain(cast)),
    };
    // Running statistics keep their last update pending until synced, which `valid` does (for
    // the module itself: they are shared); its snapshot, without autodiff, is what is written.
    let module = module.valid();
    let mut tensors = module.collect(None, Some(adapter), layout == Layout::PyTorch);
    // In Burn's layout, a tensor stored as the module holds it is written from its own buffer.
    let host = match layout {
        Layout::Burn => host_buffers(&module, false),
        Layout::PyTorch => HashMap::new(),
    };
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let bad = |reason: String| Error::Checkpoint {
        what: format!("the weights of {type_name}"),
        reason,
    };
    for pair in tensors.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(bad(format!("two tensors are named {}", pair[0].name)));
        }
    }

    // Plan the shards: consecutive tensors while they fit (a larger tensor gets its own).
    let mut shards: Vec<Vec<&PackTensor>> = vec![Vec::new()];
    let mut size = 0u64;
    for t in &tensors {
        let len = t.byte_len() as u64;
        let limit = max_shard_size.unwrap_or(u64::MAX);
        if size > 0 && size + len > limit {
            shards.push(Vec::new());
            size = 0;
        }
        shards.last_mut().expect("there is a current shard").push(t);
        size += len;
    }
    remove_stale(dir)?;
    let names: BTreeSet<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let metadata = BTreeMap::from([
        ("format".to_owned(), "pt".to_owned()),
        ("hubmix_layout".to_owned(), layout.as_str().to_owned()),
        ("hubmix_model_type".to_owned(), type_name.to_owned()),
        (
            PYTORCH_PLAN_KEY.to_owned(),
            pytorch_plan(&module, layout, &names).to_json(),
        ),
    ]);
    let mut files = Vec::new();
    if shards.len() == 1 {
        let path = dir.join(WEIGHTS_FILE);
        write_file(&path, &shards[0], &host, &metadata, durability, &bad)?;
        files.push(path);
    } else {
        let n = shards.len();
        let mut index = Index {
            metadata: IndexMetadata { total_size: 0 },
            weight_map: BTreeMap::new(),
        };
        for (i, shard) in shards.iter().enumerate() {
            let name = format!("model-{:05}-of-{n:05}.safetensors", i + 1);
            let path = dir.join(&name);
            write_file(&path, shard, &host, &metadata, durability, &bad)?;
            for t in shard {
                index.metadata.total_size += t.byte_len() as u64;
                index.weight_map.insert(t.name.clone(), name.clone());
            }
            files.push(path);
        }
        let path = dir.join(INDEX_FILE);
        let text = serde_json::to_string_pretty(&index).expect("the index serializes");
        hubmix_hub::files::write_atomic_with(&path, text.as_bytes(), durability)?;
        files.push(path);
    }
    Ok(Saved { files, dtype: stored })
}

/// What a change of this file's layout does (recorded under [`PYTORCH_PLAN_KEY`], so that
/// `hubmix convert --layout` can apply it without the model): the `Linear` weights to
/// transpose, named as in the file (`layout`'s names), and the tensors whose PyTorch name
/// differs from Burn's (norms' `gamma` / `beta`, enum variants left out), Burn name to PyTorch
/// name. Only tensors the file holds (`names`) are listed.
fn pytorch_plan<M: Module>(module: &M, layout: Layout, names: &BTreeSet<&str>) -> PytorchPlan {
    let mut plan = PytorchPlan::default();
    // The same visit twice, so the parameters come in the same order: Burn's paths (with enum
    // variants) and PyTorch's (without).
    let burn = model_params(module, false);
    let pytorch = model_params(module, true);
    for (b, p) in burn.iter().zip(&pytorch) {
        let torch_name = p.pytorch_alias().unwrap_or_else(|| p.path.clone());
        let in_file = match layout {
            Layout::Burn => &b.path,
            Layout::PyTorch => &torch_name,
        };
        if !names.contains(in_file.as_str()) {
            continue;
        }
        if b.is_linear_weight() {
            plan.transpose.insert(in_file.clone());
        }
        if b.path != torch_name {
            plan.rename.insert(b.path.clone(), torch_name);
        }
    }
    plan
}

/// One tensor's bytes on their way to the file.
enum Chunk<'a> {
    /// The module's own buffer ([`host_buffers`]).
    Host(&'a [u8]),
    /// Read back from its device.
    Read(Bytes),
}

impl Chunk<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Host(bytes) => bytes,
            Chunk::Read(bytes) => bytes,
        }
    }
}

/// Writes one safetensors file through a temporary sibling, streaming tensor by tensor: each is
/// written from the module's own buffer when `host` has it as stored, else read back from its
/// device and written from that buffer; small ones together.
fn write_file(
    path: &Path,
    tensors: &[&PackTensor],
    host: &HashMap<String, HostBuffer>,
    metadata: &BTreeMap<String, String>,
    durability: Durability,
    bad: &impl Fn(String) -> Error,
) -> Result<(), Error> {
    let dtypes = tensors
        .iter()
        .map(|t| st_dtype(t.dtype).map_err(bad))
        .collect::<Result<Vec<_>, _>>()?;
    let head = header_bytes(
        metadata,
        tensors
            .iter()
            .zip(dtypes)
            .map(|(t, dtype)| (t.name.as_str(), dtype, t.shape.as_slice())),
    );

    // When every tensor is the module's own buffer, a push uploads them from where they are
    // (the file is never written).
    let own = |t: &PackTensor| {
        host.get(&t.name)
            .filter(|h| h.dtype == t.dtype && h.shape.as_slice() == t.shape.as_slice())
    };
    if tensors.iter().all(|t| own(t).is_some()) {
        let held = hubmix_hub::files::hold(path, || {
            let head: SharedBuffer = Arc::new(head.clone());
            let buffers = tensors
                .iter()
                .filter_map(|t| own(t))
                .map(|h| -> SharedBuffer { Arc::new(h.clone()) });
            MemoryFile::new(std::iter::once(head).chain(buffers).collect())
        });
        if held {
            return Ok(());
        }
    }
    let mut out = AtomicFile::create(path)?;
    out.write_all(&head)?;
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for (i, t) in tensors.iter().enumerate() {
        let chunk = match own(t) {
            Some(h) => Chunk::Host(h.bytes()),
            None => Chunk::Read(
                t.to_bytes()
                    .map_err(|e| bad(format!("tensor {} cannot be read back: {e}", t.name)))?,
            ),
        };
        batch_bytes += chunk.as_slice().len();
        batch.push(chunk);
        let last = i + 1 == tensors.len();
        if last || batch_bytes >= BATCH_BYTES || batch.len() == BATCH_TENSORS {
            let slices: Vec<&[u8]> = batch.iter().map(Chunk::as_slice).collect();
            out.write_vectored_all(&slices)?;
            batch.clear();
            batch_bytes = 0;
        }
    }
    out.finish(durability)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    use super::*;

    #[test]
    fn the_float_type_of_a_fresh_module_is_found_without_drawing_its_weights() {
        let device = Device::flex();
        let linear = LinearConfig::new(64, 32).init(&device);
        assert_eq!(module_float_dtype(&linear), DType::F32);
        assert!(!linear.weight.is_initialized(), "the weight was drawn");
        assert!(
            !linear.bias.as_ref().expect("a bias").is_initialized(),
            "the bias was drawn"
        );
        let _ = linear.weight.val();
        assert_eq!(module_float_dtype(&linear), DType::F32);
    }

    #[test]
    fn a_push_uploads_the_weights_from_the_tensors_and_never_writes_them() {
        use hubmix_hub::card::{ModelCard, ModelCardData};
        use hubmix_hub::mixin::{PushOptions, push_folder};
        use hubmix_hub::{DownloadOptions, HubClient};

        let dir = tempfile::tempdir().unwrap();
        let server = hubmix_server::spawn(
            hubmix_server::ServerConfig::new(dir.path().join("hub"))
                .user("alice", "hf_alice", hubmix_server::Role::Write)
                .lfs_threshold(1),
        )
        .unwrap();
        let client = HubClient::builder()
            .endpoint(server.url())
            .token("hf_alice")
            .cache_dir(dir.path().join("cache"))
            .build()
            .unwrap();
        let linear = LinearConfig::new(64, 32).init(&Device::flex());
        let options = |max_shard_size| WeightOptions {
            layout: Layout::Burn,
            storage: None,
            max_shard_size,
            durability: Durability::PageCache,
        };
        let card = |title: &str| ModelCard::new(title, ModelCardData::default());
        // One file, and shards (the bias alone in the second: 64*32*4 = 8192 bytes the first).
        for (repo, shard) in [("alice/one", None), ("alice/shards", Some(8192))] {
            let reference = dir.path().join(repo);
            std::fs::create_dir_all(&reference).unwrap();
            let saved = save_weights(&linear, &reference, &options(shard), "Linear").unwrap();
            let push = |folder: &Path| -> Result<Vec<PathBuf>, Error> {
                let files = save_weights(&linear, folder, &options(shard), "Linear")?.files;
                for file in &files {
                    let weights = file.extension().is_some_and(|e| e == "safetensors");
                    assert_eq!(
                        file.exists(),
                        !weights,
                        "{}: held in memory, never written",
                        file.display()
                    );
                }
                Ok(files)
            };
            push_folder(&client, repo, &PushOptions::default(), &[], push, card).unwrap();
            for file in &saved.files {
                let name = file.file_name().unwrap().to_str().unwrap();
                let got = client
                    .hub_download(repo, name, &DownloadOptions::default())
                    .unwrap();
                assert_eq!(
                    std::fs::read(got).unwrap(),
                    std::fs::read(file).unwrap(),
                    "{repo} {name}"
                );
            }
            assert_eq!(saved.files.len(), if shard.is_some() { 3 } else { 1 });
        }
    }
}
