//! Training state saved beside a model: the optimizer's state (`optimizer.bpk`), the
//! learning-rate scheduler's (`scheduler.bpk`) and `training_state.json` — epoch, step, metrics
//! history, the optimizer and scheduler types with their configs, and the hubmix, Burn and Rust
//! versions that wrote them, checked when the state is restored.
//!
//! Burn keys optimizer state by [`ParamId`](burn::module::ParamId), a number that lives only as
//! long as the module instance. The file keys it by parameter path instead
//! (`fc1.weight/moment_1`), so the state restores into a freshly built model on another machine:
//! on restore, each path is mapped to that model's parameter ids. Both files are burnpack
//! (tensors and scalars, no code).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::lr_scheduler::LrSchedulerRecord;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleSnapshot;
use burn::store::burn_pack::{Reader, Scalar, Tensor as PackTensor, Writer};
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::model::config::{BURN_VERSION, FORMAT, minor};
use hubmix_hub::files::{Durability, write_atomic_with};
use hubmix_hub::mixin::ModelFiles;

/// The optimizer state file.
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The learning-rate scheduler state file.
pub const SCHEDULER_FILE: &str = "scheduler.bpk";
/// The training progress and provenance file.
pub const TRAINING_FILE: &str = "training_state.json";
/// The Rust compiler that built this hubmix (`rustc --version`).
pub const RUST_VERSION: &str = env!("HUBMIX_RUSTC_VERSION");

/// Separates a parameter path from a state field in the optimizer file (paths never hold it).
const FIELD_SEPARATOR: char = '/';

/// An optimizer or scheduler: its type (from its config type, e.g. `Adam` for `AdamConfig`) and
/// its config as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// The type, e.g. `Adam`, `LinearLrScheduler`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The Rust path of the config type.
    pub config_type: String,
    /// The config.
    pub config: Value,
}

impl Component {
    /// Describes the component built from `config`.
    pub fn of<C: Config>(config: &C) -> Self {
        let config_type = std::any::type_name::<C>();
        let short = short_type_name(config_type);
        Component {
            kind: short.strip_suffix("Config").unwrap_or(short).to_owned(),
            config_type: config_type.to_owned(),
            config: serde_json::to_value(config).unwrap_or(Value::Null),
        }
    }
}

/// `a::b::Name<T>` → `Name`.
pub fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// An optimizer to save with a model (`include_optimizer`): its state and its config.
#[derive(Clone)]
pub struct OptimizerState {
    optimizer: ModuleOptimizer,
    info: Component,
}

impl OptimizerState {
    /// Captures `optimizer` (a cheap clone: tensors are shared) built from `config`.
    pub fn new<C: Config>(optimizer: &ModuleOptimizer, config: &C) -> Self {
        OptimizerState {
            optimizer: optimizer.clone(),
            info: Component::of(config),
        }
    }

    /// The optimizer's type and config.
    pub fn info(&self) -> &Component {
        &self.info
    }
}

impl std::fmt::Debug for OptimizerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptimizerState")
            .field("info", &self.info)
            .finish()
    }
}

/// A learning-rate scheduler to save with a model: its state and its config.
#[derive(Clone)]
pub struct SchedulerState {
    record: LrSchedulerRecord,
    info: Component,
}

impl SchedulerState {
    /// Captures the state of `scheduler`, built from `config`.
    pub fn new<C: Config>(scheduler: &ModuleLrScheduler, config: &C) -> Self {
        SchedulerState {
            record: scheduler.to_record(),
            info: Component::of(config),
        }
    }

    /// The scheduler's type and config.
    pub fn info(&self) -> &Component {
        &self.info
    }
}

impl std::fmt::Debug for SchedulerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerState")
            .field("info", &self.info)
            .finish()
    }
}

/// The metrics of one epoch (or any point of a run), e.g. `train_loss`, `valid_loss`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch (1-based, as users count).
    pub epoch: usize,
    /// The optimizer step at its end.
    pub step: u64,
    /// Metric values by name.
    pub metrics: BTreeMap<String, f64>,
}

impl EpochMetrics {
    /// The metrics of `epoch`, ending at `step`.
    pub fn new(epoch: usize, step: u64) -> Self {
        EpochMetrics {
            epoch,
            step,
            metrics: BTreeMap::new(),
        }
    }

    /// With `name` = `value`.
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.insert(name.into(), value);
        self
    }
}

/// Who wrote a training state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenBy {
    /// Checkpoint format.
    pub format: u32,
    /// hubmix version.
    pub hubmix: String,
    /// Burn version.
    pub burn: String,
    /// `rustc --version` of the build.
    pub rust: String,
}

/// `training_state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Who wrote it.
    pub written_by: WrittenBy,
    /// The epoch reached.
    pub epoch: Option<usize>,
    /// The optimizer step reached.
    pub step: Option<u64>,
    /// The learning rate (the base one, when a scheduler sets it).
    pub learning_rate: Option<f64>,
    /// The float type the model trained in.
    pub precision: String,
    /// The optimizer, when its state is saved.
    pub optimizer: Option<Component>,
    /// The scheduler, when its state is saved.
    pub scheduler: Option<Component>,
    /// Other hyperparameters (batch size, ...).
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, Value>,
    /// Metrics per epoch.
    #[serde(default)]
    pub history: Vec<EpochMetrics>,
}

impl TrainingRecord {
    /// Reads `training_state.json` at `path` (of the checkpoint `what`, for messages).
    pub(crate) fn read(path: &Path, what: &str) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(Error::io("reading", path))?;
        serde_json::from_slice(&text)
            .map_err(|e| bad_state(what, format!("{TRAINING_FILE} is malformed: {e}")))
    }

    /// The value of `metric` in the last history row, if it has one.
    pub fn last_metric(&self, metric: &str) -> Option<f64> {
        last_metric(&self.history, metric)
    }
}

/// The value of `metric` in the last row of `history`, if it has one.
pub(crate) fn last_metric(history: &[EpochMetrics], metric: &str) -> Option<f64> {
    history.last().and_then(|row| row.metrics.get(metric).copied())
}

impl WrittenBy {
    fn now() -> Self {
        WrittenBy {
            format: FORMAT,
            hubmix: env!("CARGO_PKG_VERSION").to_owned(),
            burn: BURN_VERSION.to_owned(),
            rust: RUST_VERSION.to_owned(),
        }
    }
}

/// What a run has besides the model, as given to a save.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TrainingInfo {
    /// The optimizer, whose state is saved (`include_optimizer`).
    pub optimizer: Option<OptimizerState>,
    /// The learning-rate scheduler, whose state is saved.
    pub scheduler: Option<SchedulerState>,
    /// The epoch reached.
    pub epoch: Option<usize>,
    /// The optimizer step reached.
    pub step: Option<u64>,
    /// The learning rate.
    pub learning_rate: Option<f64>,
    /// Other hyperparameters, for the model card.
    pub hyperparameters: BTreeMap<String, Value>,
    /// Metrics per epoch.
    pub history: Vec<EpochMetrics>,
}

impl TrainingInfo {
    /// Whether there is anything to save.
    pub fn is_empty(&self) -> bool {
        self.optimizer.is_none()
            && self.scheduler.is_none()
            && self.epoch.is_none()
            && self.step.is_none()
            && self.learning_rate.is_none()
            && self.hyperparameters.is_empty()
            && self.history.is_empty()
    }

    /// Writes the state files into `dir`, as durable as `durability` says; returns them.
    pub fn save<M: Module>(
        &self,
        model: &M,
        precision: &str,
        dir: &Path,
        durability: Durability,
    ) -> Result<Vec<PathBuf>, Error> {
        let mut files = Vec::new();
        if let Some(optimizer) = &self.optimizer {
            let bytes = optimizer_to_paths(&optimizer.optimizer, model)?;
            let path = dir.join(OPTIMIZER_FILE);
            write_atomic_with(&path, &bytes, durability)?;
            files.push(path);
        }
        if let Some(scheduler) = &self.scheduler {
            let bytes = scheduler
                .record
                .clone()
                .into_bytes()
                .map_err(|e| Error::Checkpoint {
                    what: "the scheduler state".into(),
                    reason: format!("it does not serialize: {e}"),
                })?;
            let path = dir.join(SCHEDULER_FILE);
            write_atomic_with(&path, &bytes, durability)?;
            files.push(path);
        }
        let record = TrainingRecord {
            written_by: WrittenBy::now(),
            epoch: self.epoch,
            step: self.step,
            learning_rate: self.learning_rate,
            precision: precision.to_owned(),
            optimizer: self.optimizer.as_ref().map(|o| o.info.clone()),
            scheduler: self.scheduler.as_ref().map(|s| s.info.clone()),
            hyperparameters: self.hyperparameters.clone(),
            history: self.history.clone(),
        };
        let mut text = serde_json::to_string_pretty(&record).expect("JSON values serialize");
        text.push('\n');
        let path = dir.join(TRAINING_FILE);
        write_atomic_with(&path, text.as_bytes(), durability)?;
        files.push(path);
        Ok(files)
    }
}

/// The parameter ids of `model` by path (`fc1.weight` → id).
fn param_ids<M: Module>(model: &M) -> BTreeMap<String, u64> {
    model
        .collect(None, None, false)
        .into_iter()
        .filter_map(|t| Some((t.name.clone(), t.param_id?)))
        .collect()
}

fn bad_state(what: &str, reason: String) -> Error {
    Error::TrainingState {
        what: what.to_owned(),
        reason,
    }
}

/// A burnpack file of `tensors`, `scalars` and `metadata`.
fn burnpack(
    tensors: Vec<PackTensor>,
    scalars: Vec<(String, Scalar)>,
    metadata: &BTreeMap<String, String>,
) -> Result<Bytes, burn::store::burn_pack::Error> {
    let mut writer = Writer::new(tensors);
    for (k, v) in scalars {
        writer = writer.with_scalar(&k, v);
    }
    for (k, v) in metadata {
        writer = writer.with_metadata(k, v);
    }
    writer.into_bytes()
}

/// The optimizer's state as burnpack bytes keyed by `path/field` instead of `id.field`.
fn optimizer_to_paths<M: Module>(optimizer: &ModuleOptimizer, model: &M) -> Result<Bytes, Error> {
    let what = "the optimizer state";
    let pack = |e: &dyn std::fmt::Display| bad_state(what, format!("it does not serialize: {e}"));
    let paths: BTreeMap<u64, String> = param_ids(model).into_iter().map(|(p, id)| (id, p)).collect();
    let reader = Reader::from_bytes(optimizer.to_record().into_bytes().map_err(|e| pack(&e))?)
        .map_err(|e| pack(&e))?;
    let mut unknown = 0usize;
    let mut rename = |key: &str| -> Option<String> {
        let (id, field) = key.split_once('.')?;
        match id.parse::<u64>().ok().and_then(|id| paths.get(&id)) {
            Some(path) => Some(format!("{path}{FIELD_SEPARATOR}{field}")),
            None => {
                unknown += 1;
                None
            }
        }
    };
    let scalars: Vec<_> = reader
        .scalars()
        .iter()
        .filter_map(|(k, v)| Some((rename(k)?, *v)))
        .collect();
    let mut tensors = Vec::new();
    for t in reader.into_tensors().map_err(|e| pack(&e))? {
        let (name, dtype, shape, _, bytes) = t.into_parts().map_err(|e| pack(&e))?;
        if let Some(name) = rename(&name) {
            tensors.push(PackTensor::new(name, dtype, shape, None, bytes));
        }
    }
    if unknown > 0 {
        return Err(bad_state(
            what,
            format!(
                "the optimizer holds state for {unknown} entries of parameters that are not in this model: save it with the model it optimizes"
            ),
        ));
    }
    burnpack(tensors, scalars, &BTreeMap::new()).map_err(|e| pack(&e))
}

/// Rebuilds an [`OptimizerRecord`] for `model` from a path-keyed optimizer file.
/// Also returns a warning naming the model's parameters the state has nothing for.
fn optimizer_from_paths<M: Module>(
    bytes: Bytes,
    model: &M,
    what: &str,
) -> Result<(OptimizerRecord, Option<String>), Error> {
    let corrupt = |e: &dyn std::fmt::Display| {
        bad_state(
            what,
            format!("{OPTIMIZER_FILE} is not a valid optimizer state: {e}"),
        )
    };
    let ids = param_ids(model);
    let reader = Reader::from_bytes(bytes).map_err(|e| corrupt(&e))?;
    let mut missing = std::collections::BTreeSet::new();
    let mut rename = |key: &str| -> Result<(u64, String, String), Error> {
        let Some((path, field)) = key.split_once(FIELD_SEPARATOR) else {
            return Err(corrupt(&format!(
                "entry {key:?} is not `path{FIELD_SEPARATOR}field`"
            )));
        };
        match ids.get(path) {
            Some(id) => Ok((*id, format!("{id}.{field}"), path.to_owned())),
            None => {
                missing.insert(path.to_owned());
                Ok((0, String::new(), String::new()))
            }
        }
    };
    let mut scalars = Vec::new();
    let mut paths = BTreeMap::new();
    for (k, v) in reader.scalars() {
        let (id, name, path) = rename(k)?;
        if !name.is_empty() {
            scalars.push((name, *v));
            paths.insert(id.to_string(), path);
        }
    }
    let mut tensors = Vec::new();
    for t in reader.into_tensors().map_err(|e| corrupt(&e))? {
        let (name, dtype, shape, _, bytes) = t.into_parts().map_err(|e| corrupt(&e))?;
        let (id, name, _) = rename(&name)?;
        if !name.is_empty() {
            tensors.push(PackTensor::new(name, dtype, shape, Some(id), bytes));
        }
    }
    if !missing.is_empty() {
        let list: Vec<_> = missing.into_iter().collect();
        return Err(bad_state(
            what,
            format!(
                "the optimizer state is for parameters this model does not have ({}): restore it into the model it was saved with",
                list.join(", ")
            ),
        ));
    }
    let bytes = burnpack(tensors, scalars, &paths).map_err(|e| corrupt(&e))?;
    let record = OptimizerRecord::from_bytes(bytes).map_err(|e| corrupt(&e))?;
    let restored: std::collections::BTreeSet<&String> = paths.values().collect();
    let fresh: Vec<&str> = ids
        .keys()
        .filter(|p| !restored.contains(p))
        .map(String::as_str)
        .collect();
    let warning = (!fresh.is_empty()).then(|| {
        format!(
            "the saved optimizer state has nothing for {} of the model's parameters ({}): their state starts afresh",
            fresh.len(),
            fresh.join(", ")
        )
    });
    Ok((record, warning))
}

/// A training state read back: the record and where its state files are.
#[derive(Debug, Clone)]
pub struct TrainingState {
    /// `training_state.json`.
    pub record: TrainingRecord,
    /// Where it comes from, for messages.
    what: String,
    /// The checkpoint's files: the state files are fetched when restored.
    files: ModelFiles,
}

impl TrainingState {
    /// Reads the `training_state.json` of `files`, if it has one.
    pub(crate) fn read(files: &ModelFiles) -> Result<Option<Self>, Error> {
        let Some(path) = files.find(TRAINING_FILE)? else {
            return Ok(None);
        };
        let what = files.describe();
        let record = TrainingRecord::read(&path, &what)?;
        if record.written_by.format > FORMAT {
            return Err(bad_state(
                &what,
                format!(
                    "it was written by hubmix {} (checkpoint format {}), but this is hubmix {} which reads format {FORMAT} at most: upgrade hubmix",
                    record.written_by.hubmix,
                    record.written_by.format,
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        Ok(Some(TrainingState {
            record,
            what,
            files: files.clone(),
        }))
    }

    /// The Burn state records change between Burn minor versions: an error then. Other
    /// differences (Burn patch, hubmix, rustc) restore fine and are returned as warnings.
    fn check_versions(&self) -> Result<Vec<String>, Error> {
        let w = &self.record.written_by;
        if minor(&w.burn) != minor(BURN_VERSION) {
            return Err(bad_state(
                &self.what,
                format!(
                    "its optimizer and scheduler state was written by Burn {} and this is Burn {BURN_VERSION}, whose state format differs: resume with Burn {} or start the optimizer afresh (the model's weights still load)",
                    w.burn,
                    minor(&w.burn)
                ),
            ));
        }
        let mut warnings = Vec::new();
        if w.burn != BURN_VERSION {
            warnings.push(format!(
                "written by Burn {}, restored by Burn {BURN_VERSION}",
                w.burn
            ));
        }
        if w.hubmix != env!("CARGO_PKG_VERSION") {
            warnings.push(format!(
                "written by hubmix {}, restored by hubmix {}",
                w.hubmix,
                env!("CARGO_PKG_VERSION")
            ));
        }
        if w.rust != RUST_VERSION {
            warnings.push(format!(
                "written by a build with {}, restored by one with {RUST_VERSION}: results may differ in the last bits",
                w.rust
            ));
        }
        Ok(warnings)
    }

    /// Checks that the saved `component` is of the same type as the one built from `config`.
    fn check_component<C: Config>(
        &self,
        saved: Option<&Component>,
        config: &C,
        file: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        let running = Component::of(config);
        let Some(saved) = saved else {
            return Err(bad_state(
                &self.what,
                format!(
                    "it has no {} state ({file} was not saved): save with the {} included, or build a fresh one",
                    running.kind, running.kind
                ),
            ));
        };
        if saved.config_type != running.config_type {
            return Err(bad_state(
                &self.what,
                format!(
                    "its {file} holds the state of a {} ({}), not of a {} ({}): restore it into a {} built from its config",
                    saved.kind, saved.config_type, running.kind, running.config_type, saved.kind
                ),
            ));
        }
        if saved.config != running.config {
            warnings.push(format!(
                "the {} config differs from the saved one (saved {}, now {}): the state restores, but the run will not match the original",
                saved.kind, saved.config, running.config
            ));
        }
        Ok(())
    }

    /// Checks versions and the component type, then reads its state `file`: the bytes and the
    /// warnings so far.
    fn state_file<C: Config>(
        &self,
        saved: Option<&Component>,
        config: &C,
        file: &str,
    ) -> Result<(Bytes, Vec<String>), Error> {
        let mut warnings = self.check_versions()?;
        self.check_component(saved, config, file, &mut warnings)?;
        let Some(path) = self.files.find(file)? else {
            return Err(bad_state(
                &self.what,
                format!(
                    "{TRAINING_FILE} names its state but {file} is missing: the checkpoint is incomplete, push it again"
                ),
            ));
        };
        let bytes = std::fs::read(&path).map_err(Error::io("reading", &path))?;
        Ok((Bytes::from_bytes_vec(bytes), warnings))
    }

    /// Restores the optimizer state into `optimizer` (built from `config`) for `model`, which
    /// must be the model loaded with this state. Returns it with any warnings.
    pub fn restore_optimizer<M: Module, C: Config>(
        &self,
        optimizer: ModuleOptimizer,
        config: &C,
        model: &M,
    ) -> Result<(ModuleOptimizer, Vec<String>), Error> {
        let (bytes, mut warnings) =
            self.state_file(self.record.optimizer.as_ref(), config, OPTIMIZER_FILE)?;
        let (record, warning) = optimizer_from_paths(bytes, model, &self.what)?;
        warnings.extend(warning);
        Ok((optimizer.load_record(record), warnings))
    }

    /// Restores the scheduler state into `scheduler` (built from `config`).
    pub fn restore_scheduler<C: Config>(
        &self,
        scheduler: ModuleLrScheduler,
        config: &C,
    ) -> Result<(ModuleLrScheduler, Vec<String>), Error> {
        let (bytes, warnings) = self.state_file(self.record.scheduler.as_ref(), config, SCHEDULER_FILE)?;
        let record = LrSchedulerRecord::from_bytes(bytes).map_err(|e| {
            bad_state(
                &self.what,
                format!("{SCHEDULER_FILE} is not a valid scheduler state: {e}"),
            )
        })?;
        Ok((scheduler.load_record(record), warnings))
    }
}
