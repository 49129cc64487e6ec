//! The function API for any Burn module and its config, without the derive: the counterparts of
//! Keras' `save_pretrained_keras` / `push_to_hub_keras` / `from_pretrained_keras` and of fastai's
//! `push_to_hub_fastai` / `from_pretrained_fastai` (training checkpoints that resume).
//!
//! The [crate documentation](crate#any-module-without-the-derive) has a runnable example.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{DType, Device};
use serde_json::Value;

use super::options::{LoadOptions, SaveOptions};
use super::weights::{self, WEIGHT_FILES};
use super::{ModelInfo, load_module, save_module};
use crate::checkpoint::LoadReport;
use crate::error::Error;
use crate::plot::ModuleNode;
use crate::plot::tree;
use crate::training::{
    EpochMetrics, OPTIMIZER_FILE, OptimizerState, SCHEDULER_FILE, SchedulerState, TRAINING_FILE,
    TrainingInfo, TrainingRecord, TrainingState, last_metric, short_type_name,
};
use hubmix_hub::HubClient;
use hubmix_hub::HubError;
use hubmix_hub::card::{ModelCard, ModelCardData};
use hubmix_hub::files::Durability;
use hubmix_hub::mixin::{PushOptions, client_or, open_files, push_folder, save_folder};
use hubmix_hub::repo::RepoId;
use hubmix_hub::upload::CommitInfo;

/// The architecture picture `plot_model` writes.
pub const PLOT_FILE: &str = "model.svg";
/// The folder training logs are pushed to.
pub const LOGS_FOLDER: &str = "logs";

/// The files a save writes besides config and weights (when asked to): a save or push without
/// them removes those of an earlier one, so that no optimizer state outlives its weights.
const STATE_FILES: [&str; 4] = [OPTIMIZER_FILE, SCHEDULER_FILE, TRAINING_FILE, PLOT_FILE];

/// Options of [`save_pretrained_burn`] and [`push_to_hub_burn`]: the Keras helpers' options,
/// and a training state to resume from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BurnOptions {
    /// How the model is written: dtype, layout, shards, model-card metadata (tags, license...).
    pub save: SaveOptions,
    /// How it is pushed (client, privacy, branch, PR, commit message, patterns).
    pub push: PushOptions,
    /// Optimizer, scheduler, epoch, step, learning rate, hyperparameters, history.
    pub training: TrainingInfo,
    /// Write `model.svg`, a picture of the module tree, and show it in the model card.
    pub plot_model: bool,
    /// A folder of training logs pushed under `logs/`, replacing the remote logs.
    pub log_dir: Option<PathBuf>,
}

impl BurnOptions {
    /// With these save options.
    pub fn save(mut self, save: SaveOptions) -> Self {
        self.save = save;
        self
    }

    /// With these push options.
    pub fn push(mut self, push: PushOptions) -> Self {
        self.push = push;
        self
    }

    /// Model-card tags.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.save.card = std::mem::take(&mut self.save.card).tags(tags);
        self
    }

    /// Record `id` (a Hub model id) as the card's `base_model` ([`SaveOptions::base_model`]).
    pub fn base_model(mut self, id: impl Into<String>) -> Self {
        self.save = std::mem::take(&mut self.save).base_model(id);
        self
    }

    /// Record the repository `loaded` came from as the card's `base_model`; a model loaded
    /// from a folder records nothing ([`SaveOptions::derived_from`] for the derive's models).
    pub fn derived_from<M, C>(self, loaded: &BurnLoaded<M, C>) -> Self {
        match &loaded.repo {
            Some(repo) => self.base_model(repo.to_string()),
            None => self,
        }
    }

    /// Saves the optimizer's state with the model (`include_optimizer`), with its config (its
    /// type and settings are checked on restore and listed in the model card).
    pub fn include_optimizer<C: Config>(mut self, optimizer: &ModuleOptimizer, config: &C) -> Self {
        self.training.optimizer = Some(OptimizerState::new(optimizer, config));
        self
    }

    /// Saves the learning-rate scheduler's state, with its config.
    pub fn scheduler<C: Config>(mut self, scheduler: &ModuleLrScheduler, config: &C) -> Self {
        self.training.scheduler = Some(SchedulerState::new(scheduler, config));
        self
    }

    /// The epoch reached.
    pub fn epoch(mut self, epoch: usize) -> Self {
        self.training.epoch = Some(epoch);
        self
    }

    /// The optimizer step reached.
    pub fn step(mut self, step: u64) -> Self {
        self.training.step = Some(step);
        self
    }

    /// The learning rate.
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.training.learning_rate = Some(lr);
        self
    }

    /// Another hyperparameter for the model card (batch size, epochs, ...).
    pub fn hyperparameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.training.hyperparameters.insert(name.into(), value.into());
        self
    }

    /// The training history (metrics per epoch), shown in the model card.
    pub fn history(mut self, history: Vec<EpochMetrics>) -> Self {
        self.training.history = history;
        self
    }

    /// Draws the architecture into `model.svg`.
    pub fn plot_model(mut self, plot: bool) -> Self {
        self.plot_model = plot;
        self
    }

    /// Pushes this folder of training logs under `logs/`.
    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }
}

/// The model type recorded for a module without the derive: its Rust type name.
fn info_of<M>() -> ModelInfo {
    ModelInfo::new(short_type_name(std::any::type_name::<M>()))
}

/// Saves `model` and its `config` into `dir`: `config.json`, the weights, the training state
/// when one is given, `model.svg` with `plot_model`, and a model card if the folder has none.
/// Returns the files written.
pub fn save_pretrained_burn<M: Module, C: Config>(
    model: &M,
    config: &C,
    dir: impl AsRef<Path>,
    options: &BurnOptions,
) -> Result<Vec<PathBuf>, Error> {
    let save = Save::new(model, config, options);
    save_folder(
        dir.as_ref(),
        save.durability(),
        |dir| save.write(dir),
        |title| save.card(title),
    )
}

/// Pushes `model` and its `config` to `repo_id` in one commit: what [`save_pretrained_burn`]
/// writes plus the logs of `log_dir` under `logs/` (remote logs, and state files this push
/// does not include, are deleted in the same commit). Creates the repository if missing; an
/// edited model card keeps its text.
pub fn push_to_hub_burn<M: Module, C: Config>(
    model: &M,
    config: &C,
    repo_id: &str,
    options: &BurnOptions,
) -> Result<CommitInfo, Error> {
    let save = Save::new(model, config, options);
    let mut push = options.push.clone();
    let logs = match &options.log_dir {
        Some(dir) => {
            check_log_dir(dir)?;
            push.delete_patterns.push(format!("{LOGS_FOLDER}/*"));
            Some(dir.as_path())
        }
        None => None,
    };
    let replaced: Vec<&str> = WEIGHT_FILES.iter().chain(&STATE_FILES).copied().collect();
    let client = client_or(push.client.as_ref(), super::default_client)?;
    push_folder(
        &client,
        repo_id,
        &push,
        &replaced,
        |dir| {
            let mut files = save.write(dir)?;
            if let Some(logs) = logs {
                copy_tree(logs, &dir.join(LOGS_FOLDER), &mut files)?;
            }
            Ok(files)
        },
        |title| save.card(title),
    )
}

/// A model loaded by [`from_pretrained_burn`], with its config and its training state.
#[derive(Debug)]
pub struct BurnLoaded<M, C> {
    /// The model.
    pub model: M,
    /// Its config.
    pub config: C,
    /// What did not fit (with `strict(false)`), and warnings (restores add theirs).
    pub report: LoadReport,
    /// The commit the files came from (Hub sources).
    pub commit: Option<String>,
    /// The repository the files came from (Hub sources): the `base_model` of a model derived
    /// from this one ([`BurnOptions::derived_from`]).
    pub repo: Option<RepoId>,
    /// The saved training state, when the checkpoint has one.
    pub training: Option<TrainingState>,
}

impl<M: Module, C> BurnLoaded<M, C> {
    /// The saved progress: epoch, step, history, optimizer and scheduler configs, versions.
    pub fn progress(&self) -> Option<&TrainingRecord> {
        self.training.as_ref().map(|t| &t.record)
    }

    fn state(&self, part: &str) -> Result<&TrainingState, Error> {
        self.training.as_ref().ok_or_else(|| Error::TrainingState {
            what: "this checkpoint".into(),
            reason: format!(
                "it has no {TRAINING_FILE}, so no {part} state: it was saved without one (include_optimizer / scheduler)"
            ),
        })
    }

    /// Restores the saved optimizer state into `optimizer`, freshly built from `config`, for
    /// this model. An error when the checkpoint has no optimizer state, holds another
    /// optimizer's, or was written by a Burn whose state format differs; warnings (in
    /// `report.warnings`) for differences that restore fine.
    pub fn restore_optimizer<O: Config>(
        &mut self,
        optimizer: ModuleOptimizer,
        config: &O,
    ) -> Result<ModuleOptimizer, Error> {
        let (optimizer, warnings) =
            self.state("optimizer")?
                .restore_optimizer(optimizer, config, &self.model)?;
        self.warn(warnings);
        Ok(optimizer)
    }

    /// Restores the saved scheduler state into `scheduler`, freshly built from `config`.
    pub fn restore_scheduler<S: Config>(
        &mut self,
        scheduler: ModuleLrScheduler,
        config: &S,
    ) -> Result<ModuleLrScheduler, Error> {
        let (scheduler, warnings) = self.state("scheduler")?.restore_scheduler(scheduler, config)?;
        self.warn(warnings);
        Ok(scheduler)
    }

    fn warn(&mut self, warnings: Vec<String>) {
        for w in warnings {
            tracing::warn!("{w}");
            if !self.report.warnings.contains(&w) {
                self.report.warnings.push(w);
            }
        }
    }
}

/// Loads a model saved by [`save_pretrained_burn`] / [`push_to_hub_burn`] (or by the derive)
/// from a folder or a Hub repository (`"alice/mlp"`, `"alice/mlp@checkpoints"`, a commit...):
/// reads the config, builds the module with `init` (typically `MlpConfig::init`), and loads the
/// weights. Honours every [`LoadOptions`] (client, download options, dtype, layout, strict,
/// config overrides). The training state is read
/// when present; its optimizer and scheduler files are fetched, from the same commit, only when
/// restored.
pub fn from_pretrained_burn<M: Module, C: Config>(
    source: &str,
    device: &Device,
    init: impl FnOnce(&C, &Device) -> M,
    options: &LoadOptions,
) -> Result<BurnLoaded<M, C>, Error> {
    let files = open_files(source, options, super::default_client)?;
    let (loaded, config) = load_module(&files, &info_of::<M>(), device, options, init)?;
    let mut report = loaded.report;
    let training = match TrainingState::read(&files) {
        // Offline, with a cache that never saw this file (filled by Python, say): the model
        // loads; a restore then says there is no training state.
        Err(Error::Hub(HubError::NotCached { .. })) => {
            report.warnings.push(format!(
                "{TRAINING_FILE} is not in the cache and the Hub cannot be asked: no training state was read"
            ));
            None
        }
        other => other?,
    };
    Ok(BurnLoaded {
        model: loaded.model,
        config,
        report,
        commit: loaded.commit,
        repo: loaded.repo,
        training,
    })
}

/// Whether a new value of the monitored metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Lower is better (losses).
    Minimize,
    /// Higher is better (accuracies).
    Maximize,
}

/// Pushes a checkpoint per epoch to a branch of a repository and keeps a tag on the best one,
/// judged by a metric of the last history row:
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::Device;
/// use hubmix::{BurnOptions, EpochMetrics, Goal, HubCheckpoints};
/// # let dir = tempfile::tempdir()?;
/// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
/// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
/// # let client = hubmix::HubClient::builder().endpoint(server.url()).token("hf_alice")
/// #     .cache_dir(dir.path().join("cache")).build()?;
/// let device = Device::flex();
/// let config = LinearConfig::new(3, 1);
/// let model: Linear = config.init(&device);
///
/// let mut checkpoints = HubCheckpoints::new(client, "alice/linear", "checkpoints")
///     .monitor("valid_loss", Goal::Minimize);
/// let mut history = Vec::new();
/// for (epoch, loss) in [(1, 0.5), (2, 0.25), (3, 0.375)] {
///     // ... train an epoch ...
///     history.push(EpochMetrics::new(epoch, 10 * epoch as u64).metric("valid_loss", loss));
///     let options = BurnOptions::default().epoch(epoch).history(history.clone());
///     let pushed = checkpoints.push(&model, &config, &options)?;
///     assert_eq!(pushed.best, epoch != 3, "epoch 2 stays the best");
/// }
/// // Resume anywhere: from_pretrained_burn("alice/linear@checkpoints", ...) or "alice/linear@best".
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HubCheckpoints {
    client: HubClient,
    repo_id: String,
    branch: String,
    metric: Option<(String, Goal)>,
    best_tag: String,
    best: Option<f64>,
}

/// What [`HubCheckpoints::push`] did.
#[derive(Debug, Clone)]
pub struct CheckpointPush {
    /// The commit.
    pub commit: CommitInfo,
    /// Whether it is the best so far (and now carries the best tag).
    pub best: bool,
}

impl HubCheckpoints {
    /// Checkpoints of `repo_id` on `branch` (created from `main` when missing), pushed with
    /// `client`. The best tag is `best`.
    pub fn new(client: HubClient, repo_id: impl Into<String>, branch: impl Into<String>) -> Self {
        HubCheckpoints {
            client,
            repo_id: repo_id.into(),
            branch: branch.into(),
            metric: None,
            best_tag: "best".into(),
            best: None,
        }
    }

    /// Judges checkpoints by `metric` of the last history row.
    pub fn monitor(mut self, metric: impl Into<String>, goal: Goal) -> Self {
        self.metric = Some((metric.into(), goal));
        self
    }

    /// Names the best tag.
    pub fn best_tag(mut self, tag: impl Into<String>) -> Self {
        self.best_tag = tag.into();
        self
    }

    /// Pushes a checkpoint: `options` should carry the optimizer, scheduler, epoch and
    /// history. Moves the best tag to it when its monitored metric is the best so far (the
    /// best of an earlier run is read from the tagged checkpoint on the first push).
    pub fn push<M: Module, C: Config>(
        &mut self,
        model: &M,
        config: &C,
        options: &BurnOptions,
    ) -> Result<CheckpointPush, Error> {
        let value = match &self.metric {
            Some((name, _)) => Some(self.metric_of(&options.training.history, name)?),
            None => None,
        };
        let mut push = options
            .push
            .clone()
            .client(self.client.clone())
            .branch(&self.branch);
        if push.commit.message.is_empty() {
            let mut message = match options.training.epoch {
                Some(epoch) => format!("Checkpoint: epoch {epoch}"),
                None => "Checkpoint".to_owned(),
            };
            if let (Some((name, _)), Some(v)) = (&self.metric, value) {
                message.push_str(&format!(" ({name} {v:.6})"));
            }
            push = push.commit_message(message);
        }
        let commit = push_to_hub_burn(model, config, &self.repo_id, &options.clone().push(push))?;
        let best = match value {
            Some(v) => self.improves(v)?,
            None => false,
        };
        if best {
            let at = format!("{}@{}", self.repo_id, commit.oid);
            match self.client.delete_tag(self.repo_id.as_str(), &self.best_tag) {
                Ok(()) | Err(HubError::RevisionNotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            self.client
                .create_tag(at, &self.best_tag, Some("best checkpoint"), false)?;
            self.best = value;
        }
        Ok(CheckpointPush { commit, best })
    }

    fn metric_of(&self, history: &[EpochMetrics], name: &str) -> Result<f64, Error> {
        last_metric(history, name)
            .ok_or_else(|| Error::from(HubError::InvalidArgument {
                name: "history".into(),
                reason: format!(
                    "the checkpoints monitor `{name}`, but the last history row has no such metric: add it to the row"
                ),
            }))
    }

    /// Whether `value` beats the best so far; on the first push, the best is read from the
    /// checkpoint the best tag points to (if any).
    fn improves(&mut self, value: f64) -> Result<bool, Error> {
        let Some((name, goal)) = self.metric.clone() else {
            return Ok(false);
        };
        if self.best.is_none() {
            let source = format!("{}@{}", self.repo_id, self.best_tag);
            let options = hubmix_hub::DownloadOptions::default().revision(&self.best_tag);
            match self
                .client
                .hub_download(self.repo_id.as_str(), TRAINING_FILE, &options)
            {
                Ok(path) => self.best = TrainingRecord::read(&path, &source)?.last_metric(&name),
                Err(HubError::RevisionNotFound { .. } | HubError::EntryNotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(match self.best {
            None => true,
            Some(best) => match goal {
                Goal::Minimize => value < best,
                Goal::Maximize => value > best,
            },
        })
    }
}

/// One save of the function API: the model, its config, the options, and what they imply.
struct Save<'a, M, C> {
    model: &'a M,
    config: &'a C,
    options: &'a BurnOptions,
    info: ModelInfo,
    precision: &'static str,
    /// The module tree, for the picture and the card's architecture table.
    tree: ModuleNode,
}

impl<'a, M: Module, C: Config> Save<'a, M, C> {
    fn new(model: &'a M, config: &'a C, options: &'a BurnOptions) -> Self {
        let info = info_of::<M>();
        let precision = dtype_name(weights::module_float_dtype(model));
        Save {
            model,
            config,
            options,
            tree: tree::module_tree(model, info.type_name, precision),
            info,
            precision,
        }
    }

    /// A save with a training state is a checkpoint: durable unless the options say otherwise.
    fn durability(&self) -> Durability {
        self.options.save.durability(!self.options.training.is_empty())
    }

    /// Config, weights, training state and picture (stale ones of an earlier save removed).
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let checkpoint = !self.options.training.is_empty();
        let mut files = save_module(
            self.model,
            self.config,
            &self.info,
            dir,
            &self.options.save,
            checkpoint,
        )?;
        for stale in STATE_FILES {
            let path = dir.join(stale);
            if path.exists() {
                std::fs::remove_file(&path).map_err(Error::io("removing", &path))?;
            }
        }
        let training = &self.options.training;
        if !training.is_empty() {
            files.extend(training.save(self.model, self.precision, dir, self.durability())?);
        }
        if self.options.plot_model {
            let path = dir.join(PLOT_FILE);
            let svg = self.tree.to_svg(self.info.type_name);
            hubmix_hub::files::write_atomic_with(&path, svg.as_bytes(), self.durability())?;
            files.push(path);
        }
        Ok(files)
    }

    /// The model card: usage, architecture, hyperparameters and history.
    fn card(&self, title: &str) -> ModelCard {
        let data = self.options.save.card.clone();
        let mut card = ModelCard::new(title, data.or(&ModelCardData::default().library_name("burn")));
        let config_type = short_type_name(std::any::type_name::<C>());
        card.usage = Some(format!(
            "let device = burn::tensor::Device::default();\nlet loaded = hubmix::from_pretrained_burn(\"{title}\", &device, {config_type}::init, &hubmix::LoadOptions::default())?;\nlet model: {} = loaded.model;",
            self.info.type_name
        ));
        let mut architecture = String::new();
        if self.options.plot_model {
            architecture.push_str(&format!("![Model architecture](./{PLOT_FILE})\n\n"));
        }
        architecture.push_str(&self.tree.to_markdown());
        card = card.section("Model architecture", architecture);
        let training = &self.options.training;
        if !training.is_empty() {
            card = card.section(
                "Training hyperparameters",
                hyperparameter_table(training, self.precision),
            );
        }
        if !training.history.is_empty() {
            card = card.section("Training history", history_table(&training.history));
        }
        card
    }
}

/// The name of a float type, as in the model card and `training_state.json`.
fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F64 => "f64",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        _ => "f32",
    }
}

/// The hyperparameter table: optimizer and scheduler with their settings, learning rate,
/// precision, progress and the user's own.
fn hyperparameter_table(training: &TrainingInfo, precision: &str) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(o) = &training.optimizer {
        rows.push(("optimizer".into(), o.info().kind.clone()));
        flatten("optimizer", &o.info().config, &mut rows);
    }
    if let Some(s) = &training.scheduler {
        rows.push(("lr_scheduler".into(), s.info().kind.clone()));
        flatten("lr_scheduler", &s.info().config, &mut rows);
    }
    if let Some(lr) = training.learning_rate {
        rows.push(("learning_rate".into(), lr.to_string()));
    }
    rows.push(("training_precision".into(), precision.to_owned()));
    if let Some(epoch) = training.epoch {
        rows.push(("epoch".into(), epoch.to_string()));
    }
    if let Some(step) = training.step {
        rows.push(("step".into(), step.to_string()));
    }
    for (name, value) in &training.hyperparameters {
        rows.push((name.clone(), plain(value)));
    }
    let mut table = String::from("| Hyperparameter | Value |\n| --- | --- |\n");
    for (name, value) in rows {
        table.push_str(&format!("| {} | {} |\n", cell(&name), cell(&value)));
    }
    table
}

/// Config fields as `prefix.field` rows (nested objects flattened; nulls left out).
fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                flatten(&format!("{prefix}.{key}"), v, rows);
            }
        }
        Value::Null => {}
        other => rows.push((prefix.to_owned(), plain(other))),
    }
}

/// A JSON value as table text: strings without quotes, and numbers that are `f32`s (as Burn
/// configs hold them) in their shortest `f32` form (`0.9`, not `0.8999999761581421`).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let v = n.as_f64().unwrap_or_default();
            let single = v as f32;
            if f64::from(single) == v {
                single.to_string()
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Escapes a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The history table: one row per epoch, one column per metric.
fn history_table(history: &[EpochMetrics]) -> String {
    let mut names: Vec<&String> = history.iter().flat_map(|row| row.metrics.keys()).collect();
    names.sort();
    names.dedup();
    let mut table = String::from("| Epoch | Step |");
    for name in &names {
        table.push_str(&format!(" {} |", cell(name)));
    }
    table.push_str("\n| --- | --- |");
    table.push_str(&" --- |".repeat(names.len()));
    table.push('\n');
    for row in history {
        table.push_str(&format!("| {} | {} |", row.epoch, row.step));
        for name in &names {
            match row.metrics.get(*name) {
                Some(v) => table.push_str(&format!(" {v:.6} |")),
                None => table.push_str(" |"),
            }
        }
        table.push('\n');
    }
    table
}

/// A log folder must exist before anything is pushed.
fn check_log_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let reason = if dir.exists() {
        "log_dir is not a folder: pass the folder the training logs are written to"
    } else {
        "the log folder does not exist: pass the folder the training logs are written to, or no log_dir"
    };
    Err(HubError::UploadSource {
        path: dir.to_owned(),
        reason: reason.into(),
    }
    .into())
}

/// Copies the files under `from` into `to`: those `upload_folder` of `from` would upload.
fn copy_tree(from: &Path, to: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    for rel in hubmix_hub::upload::scan(from)? {
        let (source, target) = (from.join(&rel), to.join(&rel));
        let parent = target.parent().expect("a file below `to` has a parent");
        std::fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
        std::fs::copy(&source, &target).map_err(Error::io("copying", &source))?;
        files.push(target);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_flatten_configs_and_escape_cells() {
        let mut info = TrainingInfo {
            learning_rate: Some(0.01),
            epoch: Some(3),
            ..TrainingInfo::default()
        };
        info.hyperparameters.insert("batch|size".into(), 64.into());
        let table = hyperparameter_table(&info, "f32");
        assert!(table.contains("| learning_rate | 0.01 |"), "{table}");
        assert!(table.contains("| training_precision | f32 |"), "{table}");
        assert!(table.contains("| batch\\|size | 64 |"), "{table}");
        assert_eq!(plain(&json!(0.9f32)), "0.9");
        assert_eq!(plain(&json!(1e-5f32)), "0.00001");
        assert_eq!(plain(&json!(0.1f64)), "0.1");
        assert_eq!(plain(&json!("adam")), "adam");
        let mut rows = Vec::new();
        flatten(
            "optimizer",
            &serde_json::json!({"beta_1": 0.9, "weight_decay": null, "clip": {"norm": 1.0}}),
            &mut rows,
        );
        assert_eq!(
            rows,
            [
                ("optimizer.beta_1".to_owned(), "0.9".to_owned()),
                ("optimizer.clip.norm".to_owned(), "1".to_owned())
            ]
        );
        let history = [
            EpochMetrics::new(1, 10).metric("loss", 0.5),
            EpochMetrics::new(2, 20).metric("loss", 0.25).metric("acc", 0.9),
        ];
        let table = history_table(&history);
        assert!(
            table.starts_with("| Epoch | Step | acc | loss |\n| --- | --- | --- | --- |\n"),
            "{table}"
        );
        assert!(table.contains("| 1 | 10 | | 0.500000 |"), "{table}");
        assert!(table.contains("| 2 | 20 | 0.900000 | 0.250000 |"), "{table}");
    }

    #[test]
    fn a_missing_log_dir_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("runs");
        let err = check_log_dir(&missing).unwrap_err();
        assert!(matches!(err, Error::Hub(HubError::UploadSource { .. })), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        std::fs::write(&missing, "a file").unwrap();
        assert!(
            check_log_dir(&missing)
                .unwrap_err()
                .to_string()
                .contains("not a folder")
        );
        assert!(check_log_dir(dir.path()).is_ok());
    }
}
