//! Checkpoints written by anything — hubmix, transformers, PyTorch, timm — loaded into Burn
//! modules: the formats ([`WEIGHTS_FILE`], its sharded [`INDEX_FILE`], [`PYTORCH_WEIGHTS_FILE`]
//! and its index), the name mapping and transforms ([`WeightMap`] over a lazy [`TensorMap`]),
//! and the [`LoadReport`] of what went where.
//!
//! Safetensors files of the Hub cache are memory-mapped, and the tensors stored as their
//! parameters hold them are the file's pages, not a copy (`LoadOptions::mmap`); the others
//! are read, cast and transposed on every core, a small cached part at a time.
//!
//! `#[derive(HubModel)]` models load through `from_pretrained` with the map of their
//! `#[hub(...)]` attributes; any module loads with [`load_weights`]:
//!
//! ```
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::Device;
//! use hubmix::checkpoint::{WeightMap, load_weights};
//! use hubmix::LoadOptions;
//! # let dir = tempfile::tempdir()?;
//! # let device = Device::flex();
//! # let saved: Linear = LinearConfig::new(3, 2).init(&device);
//! # hubmix::save_pretrained_burn(&saved, &LinearConfig::new(3, 2), dir.path(), &Default::default())?;
//! let mut linear: Linear = LinearConfig::new(3, 2).init(&Device::flex());
//! // A folder or "user/repo@rev"; the map renames, splits, ties (here: nothing to do).
//! let options = LoadOptions::default().weight_map(WeightMap::new().ignore("^optimizer\\."));
//! let report = load_weights(&mut linear, dir.path().to_str().unwrap(), &options)?;
//! assert!(report.is_clean());
//! assert_eq!(report.source_of("weight").unwrap().origin.name, "weight");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod assign;
pub(crate) mod cast;
mod format;
mod lazy;
mod map;
mod mapped;
pub(crate) mod params;
mod report;

use burn::module::Module;

pub use format::{INDEX_FILE, PYTORCH_INDEX_FILE, PYTORCH_WEIGHTS_FILE, WEIGHTS_FILE};
pub use lazy::{LazyTensor, TensorMap, TensorOrigin};
pub use map::{MapFn, WeightMap};
pub use report::{Assigned, LoadReport, Mismatch, Missing, ParamRef, TensorRef};

use crate::error::Error;
use crate::model::options::{LoadOptions, burn_dtype};
use crate::{Layout, ModelInfo};
use hubmix_hub::mixin::{ModelFiles, open_files};

/// Loads the weights of `source` (a folder, or `user/repo` with an optional `@rev`) into an
/// existing `module`, through `options.weight_map`, and returns what went where.
///
/// The layout is what the files state (`format: pt` for transformers and PyTorch), else
/// `options.layout`, else Burn's. Strict by default: a parameter left unset fails with
/// [`Error::WeightsMismatch`]; `strict(false)` returns the report instead.
pub fn load_weights<M: Module>(
    module: &mut M,
    source: &str,
    options: &LoadOptions,
) -> Result<LoadReport, Error> {
    let files = open_files(source, options, crate::model::default_client)?;
    let report = load(module, &files, &ModelInfo::new(""), options, options.layout)?;
    check(report, options.strict, false)
}

/// Loads the weights of `files` into `module`: the map of `options` (else the type's), the
/// layout `layout` (else the files', else the type's).
pub(crate) fn load<M: Module>(
    module: &mut M,
    files: &ModelFiles,
    info: &ModelInfo,
    options: &LoadOptions,
    layout: Option<Layout>,
) -> Result<LoadReport, Error> {
    let map = match &options.weight_map {
        Some(map) => map.clone(),
        None => info.weight_map.map(|f| f()).unwrap_or_default(),
    };
    let map = map.compile()?;
    // Mapped by default where the files keep the mapping's contract: the Hub cache's blobs.
    let mmap = options.mmap.unwrap_or(files.repo().is_some());
    let opened = format::open(files, &map, mmap)?;
    let layout = layout.or(opened.stated_layout).unwrap_or(info.layout);
    assign::assign(module, opened, &map, layout, options.dtype.map(burn_dtype))
}

/// The report, or the strict failure it amounts to: a parameter left unset always fails; an
/// unexpected tensor fails too when `own_format` (a hubmix checkpoint of this very type holds
/// exactly its parameters, so a stray tensor means another model).
pub(crate) fn check(report: LoadReport, strict: bool, own_format: bool) -> Result<LoadReport, Error> {
    let fails = !report.is_complete() || (own_format && !report.unexpected.is_empty());
    if strict && fails {
        return Err(Error::WeightsMismatch {
            report: Box::new(report),
        });
    }
    Ok(report)
}
