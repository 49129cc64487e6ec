//! Assignment: each parameter of the module takes the tensor the weight map named after it
//! (or PyTorch's name for it), transposed into Burn's layout where needed and cast to the
//! parameter's float type; shapes and kinds are checked before anything is read, and every
//! leftover is reported in both vocabularies.

use std::sync::atomic::Ordering;

use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ApplyError, ModuleSnapshot};
use burn::tensor::DType;

use super::format::Opened;
use super::lazy::{LazyTensor, TensorMap, byte_len};
use super::map::{Compiled, rename_all};
use super::params::{ModelParam, model_params};
use super::report::{Assigned, LoadReport, Mismatch, Missing, ParamRef, TensorRef, name_by_analogy};
use crate::Layout;
use crate::error::Error;

/// Loads `opened` into `module` through `map`, in `layout`, casting floats to `dtype` (default:
/// each parameter's own).
pub(crate) fn assign<M: Module>(
    module: &mut M,
    opened: Opened,
    map: &Compiled,
    layout: Layout,
    dtype: Option<DType>,
) -> Result<LoadReport, Error> {
    let pytorch = layout == Layout::PyTorch;
    let params = model_params(module, pytorch);
    let Opened {
        mut tensors,
        ignored,
        bytes_read,
        ..
    } = opened;
    if let Some(prefix) = &map.base_model_prefix {
        base_model_prefix(&mut tensors, &params, prefix)?;
    }
    map.apply(&mut tensors)?;

    let mut report = LoadReport {
        ignored,
        ..LoadReport::default()
    };
    let mut packs = Vec::new();
    for param in &params {
        let alias = if pytorch { param.pytorch_alias() } else { None };
        let found = tensors
            .remove(&param.path)
            .map(|t| (param.path.clone(), t))
            .or_else(|| {
                alias
                    .as_ref()
                    .and_then(|a| tensors.remove(a).map(|t| (a.clone(), t)))
            });
        let Some((name, tensor)) = found else {
            report.missing.push(Missing {
                param: param_ref(param),
                looked_for: std::iter::once(param.path.clone()).chain(alias).collect(),
                checkpoint_name: None,
            });
            continue;
        };
        let tensor = if pytorch && param.is_linear_weight() && !tensor.is_burn_layout() {
            tensor.transpose()?
        } else {
            tensor
        };
        let tensor_ref = tensor_ref(&name, &tensor);
        let fits = tensor.shape() == param.shape.as_slice() && same_kind(tensor.dtype(), param.dtype);
        if !fits {
            report.mismatched.push(Mismatch {
                param: param_ref(param),
                tensor: tensor_ref,
            });
            continue;
        }
        let target = if param.dtype.is_float() {
            dtype.unwrap_or(param.dtype)
        } else {
            tensor.dtype()
        };
        packs.push(pack(param.path.clone(), tensor, target)?);
        report.loaded.push(Assigned {
            param: param.path.clone(),
            tensor: tensor_ref,
        });
    }
    for m in &mut report.missing {
        m.checkpoint_name = name_by_analogy(&m.param.path, &report.loaded);
    }
    // PyTorch's BatchNorm counts its training steps in a `num_batches_tracked` buffer that
    // Burn's BatchNorm has no counterpart for: not a mismatch, next to loaded statistics.
    let loaded: std::collections::HashSet<&str> = report.loaded.iter().map(|a| a.param.as_str()).collect();
    let step_count = |name: &str| {
        pytorch
            && name
                .strip_suffix("num_batches_tracked")
                .is_some_and(|p| loaded.contains(format!("{p}running_mean").as_str()))
    };
    let unexpected = tensors
        .into_inner()
        .into_iter()
        .filter(|(name, _)| !step_count(name))
        .map(|(name, t)| tensor_ref(&name, &t))
        .collect();
    report.unexpected = unexpected;

    let result = module.apply(packs, None, None, pytorch);
    for e in result.errors {
        let (path, message) = match e {
            ApplyError::LoadError { path, message } => (path, message),
            other => (String::new(), other.to_string()),
        };
        let from = report
            .source_of(&path)
            .map(|t| format!(" (from {t})"))
            .unwrap_or_default();
        report.errors.push(format!("{path}{from}: {message}"));
        report.loaded.retain(|a| a.param != path);
    }
    report.bytes_read = bytes_read.load(Ordering::Relaxed);
    Ok(report)
}

/// transformers' base-model-prefix rule: strip `prefix.` from a checkpoint of a model with a
/// head when the module has no such prefix, add it to a base checkpoint when the module has.
fn base_model_prefix(tensors: &mut TensorMap, params: &[ModelParam], prefix: &str) -> Result<(), Error> {
    let dotted = format!("{prefix}.");
    let checkpoint_has = tensors.names().any(|n| n.starts_with(&dotted));
    let model_has = params.iter().any(|p| p.path.starts_with(&dotted));
    match (checkpoint_has, model_has) {
        (true, false) => rename_all(tensors, |n| n.strip_prefix(&dotted).map(str::to_owned)),
        (false, true) => rename_all(tensors, |n| Some(format!("{dotted}{n}"))),
        _ => Ok(()),
    }
}

/// Whether a tensor of `found` may fill a parameter of `expected`: the same kind (float,
/// integer, bool); widths are cast (floats) or kept.
fn same_kind(found: DType, expected: DType) -> bool {
    (found.is_float() && expected.is_float())
        || (found.is_int() && expected.is_int())
        || (found.is_uint() && expected.is_int())
        || (matches!(found, DType::Bool(_)) && matches!(expected, DType::Bool(_)))
}

fn param_ref(p: &ModelParam) -> ParamRef {
    ParamRef {
        path: p.path.clone(),
        shape: p.shape.clone(),
        dtype: format!("{:?}", p.dtype),
    }
}

fn tensor_ref(name: &str, t: &LazyTensor) -> TensorRef {
    TensorRef {
        origin: t.origin().clone(),
        name: name.to_owned(),
        shape: t.shape().to_vec(),
        steps: t.steps().to_vec(),
    }
}

/// The tensor as burn-store's applier takes it: named by the parameter, in its final type,
/// read when the parameter takes it.
fn pack(path: String, tensor: LazyTensor, target: DType) -> Result<PackTensor, Error> {
    let len = byte_len(target, tensor.shape()).map_err(|reason| Error::Checkpoint {
        what: tensor.origin().to_string(),
        reason,
    })?;
    let shape = tensor.shape().to_vec();
    Ok(PackTensor::deferred(path, target, shape, None, len, move || {
        tensor
            .materialize(target)
            .map_err(burn::store::burn_pack::Error::IoError)
    }))
}
