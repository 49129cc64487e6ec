//! Scheduled commits of a folder ([`CommitScheduler`]): the mirror of `huggingface_hub`'s
//! `CommitScheduler`, for a training run that writes checkpoints and logs into a folder while
//! they are pushed every few minutes (`hubmix upload --every N`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use globset::GlobSet;

use crate::client::HubClient;
use crate::error::HubError;
use crate::patterns::glob_set;
use crate::repo::{IntoRepoRef, RepoRef, revision_of};
use crate::upload::commit::{CommitInfo, CommitOperation, CommitOptions, check_operations};
use crate::upload::folder::{Selection, UploadFolderOptions, scan, with_message};

/// The default [`CommitScheduler::settle_time`].
pub const DEFAULT_SETTLE_TIME: Duration = Duration::from_millis(200);
/// How long [`CommitScheduler::finish`] waits at most for files that are being written.
const FINAL_WAIT: Duration = Duration::from_secs(10);
/// The commit message when the options give none (`huggingface_hub`'s).
const DEFAULT_MESSAGE: &str = "Scheduled Commit";

/// What tells a file changed: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    /// The stamp of the file at `path`; `None` when there is no file there (any more).
    fn of(path: &Path) -> Result<Option<Stamp>, HubError> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(Some(Stamp {
                len: m.len(),
                modified: m.modified().ok(),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(HubError::io("cannot read", path)(e)),
        }
    }
}

/// What one round of a [`CommitScheduler`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerRound {
    /// The commit made; `None` when nothing changed (no commit is ever made then).
    pub commit: Option<CommitInfo>,
    /// The paths in the repository of the files the commit adds or replaces: those new or changed
    /// since the last commit (by size and modification time) whose content the Hub did not
    /// have.
    pub added: Vec<String>,
    /// The paths in the repository the commit deletes.
    pub deleted: Vec<String>,
    /// Files (relative to the folder) left for the next round because they were being written.
    pub deferred: Vec<String>,
}

/// Commits a folder to a repository now and then: each round (a [`push`](Self::push)) commits
/// the files that are new or changed since the last commit, and makes no commit when nothing
/// changed. The mirror of `huggingface_hub`'s `CommitScheduler`, and what `hubmix upload
/// --every N` runs.
///
/// - **Which files**: those [`HubClient::upload_folder`] would take with the same
///   [`UploadFolderOptions`] (`allow`, `ignore` and [`DEFAULT_IGNORE_PATTERNS`](crate::upload::DEFAULT_IGNORE_PATTERNS),
///   under `path_in_repo`).
/// - **Changed** means another size or modification time than when the file was last committed
///   (as `huggingface_hub`, which compares times only). The first round takes every file; files
///   whose content the Hub has already are then hashed and not sent again, and when all of them
///   are, no commit is made: restarting a scheduler on a folder already pushed commits nothing.
/// - **Deletions**: with `delete_patterns`, each round also deletes the remote files under
///   `path_in_repo` that match one and that the folder no longer has (or never had), so that
///   `delete_patterns(["*"])` mirrors the folder. Without them, a file deleted locally stays on
///   the Hub (as with `huggingface_hub`, which has no such option).
/// - **Files being written**: a changed file is stat'ed twice, [`settle_time`](Self::settle_time)
///   apart; one whose size or time moved in between is being written, and is left for the next
///   round rather than committed half-written (a file still moving in the next round is then
///   committed as it is, so that a log appended to without pause still goes out). A file that
///   changes while it is uploaded is committed again in the next round. A writer that pauses
///   for longer than the settle time in the middle of a file can still be caught half-way:
///   writing to a temporary name (excluded with `ignore`) and renaming it into place is the
///   sure way.
/// - The commit message is `options.commit`'s, `Scheduled Commit` when it has none; the branch
///   is created from the default branch when missing. The repository must exist
///   ([`HubClient::create_repo`] with `exist_ok`).
///
/// A failed round changes nothing: its files count as changed in the next round.
///
/// ```
/// use std::time::Duration;
/// use hubmix_hub::UploadFolderOptions;
/// use hubmix_hub::upload::CommitScheduler;
/// # let dir = tempfile::tempdir()?;
/// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
/// #     .user("alice", "hf_alice", hubmix_server::Role::Write))?;
/// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
/// #     .cache_dir(dir.path().join("cache")).build()?;
/// hub.create_repo("alice/run", &Default::default())?;
/// let logs = dir.path().join("logs");
/// let options = UploadFolderOptions::default().ignore(["*.tmp"]);
/// let mut scheduler = CommitScheduler::new(&hub, "alice/run", &logs, &options)?;
///
/// std::fs::write(logs.join("metrics.csv"), "step,loss\n1,0.9\n")?;
/// std::fs::write(logs.join("scratch.tmp"), "not pushed")?;
/// let round = scheduler.push()?;
/// assert_eq!(round.added, ["metrics.csv"]);
/// assert!(scheduler.push()?.commit.is_none()); // nothing changed: no commit
///
/// // In the background, every 5 minutes, until told to stop; then a last commit.
/// let (stop, stopped) = std::sync::mpsc::channel();
/// let worker = std::thread::spawn(move || {
///     scheduler.run(Duration::from_secs(300), &stopped, |round| {
///         if let Err(e) = round {
///             eprintln!("scheduled commit failed, retried later: {e}");
///         }
///     })
/// });
/// std::fs::write(logs.join("metrics.csv"), "step,loss\n1,0.9\n2,0.7\n")?;
/// stop.send(()).unwrap();
/// worker.join().unwrap()?;
/// let pushed = hub.hub_download("alice/run", "metrics.csv", &Default::default())?;
/// assert_eq!(std::fs::read_to_string(pushed)?, "step,loss\n1,0.9\n2,0.7\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CommitScheduler {
    hub: HubClient,
    repo: RepoRef,
    folder: PathBuf,
    selection: Selection,
    deletions: Option<GlobSet>,
    commit: CommitOptions,
    settle: Duration,
    /// The files as the commits made hold them: path relative to the folder → stamp then.
    committed: BTreeMap<String, Stamp>,
    /// The files the last round left out because they were being written.
    deferred: BTreeSet<String>,
}

impl CommitScheduler {
    /// A scheduler of `folder` (created when missing, as `huggingface_hub` does) into `repo`,
    /// with `options`' selection, deletions and commit options; nothing is committed yet.
    ///
    /// Fails on patterns or a `path_in_repo` that cannot be used, on a file in place of the
    /// folder, and on commit options a schedule cannot keep: `create_pr` (every round would
    /// open a pull request) and `parent_commit` (the head moves with every commit).
    pub fn new(
        hub: &HubClient,
        repo: impl IntoRepoRef,
        folder: impl Into<PathBuf>,
        options: &UploadFolderOptions,
    ) -> Result<Self, HubError> {
        let folder = folder.into();
        let repo = repo.into_repo_ref()?;
        let unfit = |name: &str, reason: &str| HubError::InvalidArgument {
            name: name.into(),
            reason: reason.into(),
        };
        if options.commit.create_pr {
            return Err(unfit(
                "create_pr",
                "scheduled commits go to a branch; open a pull request from that branch instead",
            ));
        }
        if options.commit.parent_commit.is_some() {
            return Err(unfit(
                "parent_commit",
                "the head moves with every scheduled commit; leave it unset",
            ));
        }
        let commit = with_message(&options.commit, || DEFAULT_MESSAGE.into());
        check_operations(&[], &commit)?;
        revision_of(&repo, commit.revision.as_deref())?;
        if !folder.exists() {
            std::fs::create_dir_all(&folder).map_err(HubError::io("cannot create", &folder))?;
        }
        Ok(CommitScheduler {
            hub: hub.clone(),
            repo,
            selection: Selection::new(&folder, options)?,
            folder,
            deletions: glob_set(&options.delete_patterns)?,
            commit,
            settle: DEFAULT_SETTLE_TIME,
            committed: BTreeMap::new(),
            deferred: BTreeSet::new(),
        })
    }

    /// How long a changed file must keep its size and modification time to be committed
    /// (default [`DEFAULT_SETTLE_TIME`]; zero commits files as they are found). Each round with
    /// changes waits this long once.
    pub fn settle_time(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// The folder it commits.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// One round now: commits what changed since the last commit, if anything (files being
    /// written are left for the next round).
    pub fn push(&mut self) -> Result<SchedulerRound, HubError> {
        self.round(false)
    }

    /// The last round: like [`push`](Self::push), but files being written are waited for (up to
    /// 10 seconds) and then committed as they are.
    pub fn finish(&mut self) -> Result<SchedulerRound, HubError> {
        self.round(true)
    }

    /// Runs a round now and then every `every` (a round that takes longer delays the next one)
    /// until `stop` receives a message or its sender is dropped; then the last round
    /// ([`finish`](Self::finish)), whose result it returns. `report` is given every other round's
    /// result. An error in the first round ends the run (a wrong token or repository shows at
    /// once); a later failed round is reported and its changes go with the next one.
    pub fn run(
        &mut self,
        every: Duration,
        stop: &Receiver<()>,
        mut report: impl FnMut(Result<&SchedulerRound, &HubError>),
    ) -> Result<SchedulerRound, HubError> {
        let mut first = true;
        loop {
            let started = Instant::now();
            match self.push() {
                Ok(round) => report(Ok(&round)),
                Err(e) if first => return Err(e),
                Err(e) => report(Err(&e)),
            }
            first = false;
            match stop.recv_timeout(every.saturating_sub(started.elapsed())) {
                Err(RecvTimeoutError::Timeout) => continue,
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return self.finish(),
            }
        }
    }

    /// Splits `changed` files into those at rest (with their stamp) and those being written
    /// (their size or time moved during the settle time); files gone meanwhile are dropped.
    fn at_rest(&self, changed: Vec<(String, Stamp)>) -> Result<[Vec<(String, Stamp)>; 2], HubError> {
        if self.settle.is_zero() || changed.is_empty() {
            return Ok([changed, Vec::new()]);
        }
        std::thread::sleep(self.settle);
        let (mut rest, mut moving) = (Vec::new(), Vec::new());
        for (rel, before) in changed {
            match Stamp::of(&self.folder.join(&rel))? {
                None => {}
                Some(now) if now == before => rest.push((rel, now)),
                Some(now) => moving.push((rel, now)),
            }
        }
        Ok([rest, moving])
    }

    fn round(&mut self, last: bool) -> Result<SchedulerRound, HubError> {
        // What the folder holds, and what changed since it was committed.
        let mut present = BTreeMap::new();
        for rel in scan(&self.folder)? {
            if self.selection.filter.matches(&rel)
                && let Some(stamp) = Stamp::of(&self.folder.join(&rel))?
            {
                present.insert(rel, stamp);
            }
        }
        self.committed.retain(|rel, _| present.contains_key(rel));
        let changed: Vec<(String, Stamp)> = present
            .iter()
            .filter(|(rel, stamp)| self.committed.get(*rel) != Some(*stamp))
            .map(|(rel, stamp)| (rel.clone(), *stamp))
            .collect();

        // Files being written wait for the next round, once; the last round waits for them.
        let [mut taken, mut moving] = self.at_rest(changed)?;
        let started = Instant::now();
        while last && !moving.is_empty() && started.elapsed() < FINAL_WAIT {
            let [rest, still] = self.at_rest(moving)?;
            taken.extend(rest);
            moving = still;
        }
        let mut deferred = BTreeSet::new();
        for (rel, stamp) in moving {
            if last || self.deferred.contains(&rel) {
                taken.push((rel, stamp));
            } else {
                deferred.insert(rel);
            }
        }
        taken.sort_by(|a, b| a.0.cmp(&b.0));
        self.deferred = deferred;
        let deferred: Vec<String> = self.deferred.iter().cloned().collect();

        let prefix = &self.selection.prefix;
        let mut operations = match &self.deletions {
            Some(patterns) => {
                let local = |path: &str| {
                    path.strip_prefix(prefix.as_str())
                        .is_some_and(|rel| present.contains_key(rel))
                };
                self.hub
                    .remote_deletions(&self.repo, &self.commit, prefix, patterns, local)?
            }
            None => Vec::new(),
        };
        let deleted: Vec<String> = operations.iter().map(|op| op.path_in_repo().to_owned()).collect();
        let added: Vec<String> = taken.iter().map(|(rel, _)| format!("{prefix}{rel}")).collect();
        operations.extend(
            taken
                .iter()
                .zip(&added)
                .map(|((rel, _), path)| CommitOperation::add_file(path.clone(), self.folder.join(rel))),
        );
        if operations.is_empty() {
            return Ok(SchedulerRound {
                deferred,
                ..SchedulerRound::default()
            });
        }
        let info = self.hub.create_commit(&self.repo, &operations, &self.commit)?;

        // A file that changed while it was uploaded goes again in the next round.
        for (rel, stamp) in taken {
            if Stamp::of(&self.folder.join(&rel))? == Some(stamp) {
                self.committed.insert(rel, stamp);
            }
        }
        if !info.created {
            tracing::debug!("the Hub has every changed file already: no commit made");
            return Ok(SchedulerRound {
                deferred,
                ..SchedulerRound::default()
            });
        }
        let unchanged: BTreeSet<&String> = info.unchanged.iter().collect();
        let added = added
            .into_iter()
            .filter(|path| !unchanged.contains(path))
            .collect();
        Ok(SchedulerRound {
            commit: Some(info),
            added,
            deleted,
            deferred,
        })
    }
}
