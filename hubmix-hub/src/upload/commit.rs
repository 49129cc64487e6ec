//! Commits (`hub-protocol.md` §5): [`HubClient::create_commit`] and its operations.
//!
//! The flow of one commit: check everything local (paths, files) and that the token may write;
//! ask the Hub which files go through LFS (`preupload`); hash each file once, several at a time
//! (SHA-256 for LFS files, the git blob SHA-1 for the others, so that unchanged files are
//! skipped), or take an LFS file's SHA-256 known from when it was written
//! ([`CommitOperation::add_file_hashed`]); upload the LFS objects the Hub does not have yet ([`crate::lfs`]); then send one
//! NDJSON commit in which small files travel inline, base64-encoded. Files are streamed from
//! disk at every step: neither hashing, nor uploading, nor the commit body holds a whole file in
//! memory. Nothing is committed until that last request succeeds, so an interrupted push leaves
//! the branch as it was, and running it again only uploads what the Hub still lacks.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hubmix_protocol::types::{
    CommitFile, CommitHeader, CommitInfo as CommitAnswer, CommitLfsFile, CommitLine, DeletedPath,
    FileEncoding, PreuploadAnswer, PreuploadFile, PreuploadRequest, UploadMode, ValidateYamlAnswer,
    ValidateYamlRequest,
};
use sha2::{Digest, Sha256};
use ureq::http::Method;

use crate::cache_verify::git_blob_hasher;
use crate::client::HubClient;
use crate::error::HubError;
use crate::files::FileHash;
use crate::repo::{
    DEFAULT_REVISION, IntoRepoRef, RepoId, RepoRef, encode_revision, is_commit_id, revision_of,
};
use crate::transport::http::{Call, Context, OpenBody, Payload};
use crate::transport::parallel::try_map;
use crate::upload::content::{Content, MemoryFile, changed};
use crate::upload::lfs::LfsUpload;
use hubmix_protocol::card::README;

/// Bytes of a file's start sent to `preupload` as its `sample`.
const SAMPLE_BYTES: usize = 512;
/// Files per `preupload` call (as `huggingface_hub`).
const PREUPLOAD_BATCH: usize = 256;
/// Raw bytes encoded at a time in the commit body (a multiple of 3, so the pieces join).
const BASE64_CHUNK: usize = 3 << 16;
/// A `README.md` larger than this is not sent to `/api/validate-yaml` before a commit.
const MAX_CHECKED_CARD_BYTES: u64 = 16 * 1024 * 1024;
/// One change of a commit: add (or replace) a file, or delete a file or a folder.
///
/// ```
/// use hubmix_hub::CommitOperation;
/// let ops = vec![
///     CommitOperation::add_file("model.safetensors", "out/model.safetensors"),
///     CommitOperation::add_bytes("config.json", br#"{"d_in": 4}"#.as_slice()),
///     CommitOperation::delete_file("old.bin"),
///     CommitOperation::delete_folder("checkpoints/"),
/// ];
/// assert_eq!(ops[1].path_in_repo(), "config.json");
/// ```
#[derive(Debug, Clone)]
pub struct CommitOperation {
    path_in_repo: String,
    kind: OpKind,
}

#[derive(Debug, Clone)]
enum OpKind {
    /// The content, and its hash when known beforehand.
    Add(Content, Option<FileHash>),
    Delete,
    DeleteFolder,
}

impl CommitOperation {
    /// Adds the local file `local` as `path_in_repo`. The file is read when the commit is made
    /// (streamed, never loaded whole).
    pub fn add_file(path_in_repo: impl Into<String>, local: impl Into<PathBuf>) -> Self {
        Self::add(path_in_repo, Content::Path(local.into()))
    }

    /// Adds the local file `local` as `path_in_repo`, whose SHA-256 is known already (say, it
    /// was hashed while it was written, as a push does with the model it saves): a file going
    /// through LFS is then not read to be hashed, only to be uploaded when the Hub lacks it. The
    /// hash must be of the file's current content: a file whose size (or modification time,
    /// when the hash has one) differs from the hash's is hashed again, and the Hub checks what
    /// it receives against the hash.
    pub fn add_file_hashed(
        path_in_repo: impl Into<String>,
        local: impl Into<PathBuf>,
        hash: FileHash,
    ) -> Self {
        CommitOperation {
            path_in_repo: path_in_repo.into(),
            kind: OpKind::Add(Content::Path(local.into()), Some(hash)),
        }
    }

    /// Adds `bytes` as `path_in_repo`.
    pub fn add_bytes(path_in_repo: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Self::add(path_in_repo, Content::Bytes(bytes.into()))
    }

    /// Adds `content`, buffers already in memory, as `path_in_repo`: they are hashed and sent
    /// from where they are, never copied into one buffer or a file.
    pub fn add_memory(path_in_repo: impl Into<String>, content: MemoryFile) -> Self {
        Self::add(path_in_repo, Content::Memory(content))
    }

    /// Adds what `reader` yields as `path_in_repo`. The reader is consumed now, into a temporary
    /// file (in [`std::env::temp_dir`]) that is deleted when the last clone of this operation
    /// is dropped: a commit needs the content several times (hash, upload, retries).
    pub fn add_reader(path_in_repo: impl Into<String>, mut reader: impl Read) -> Result<Self, HubError> {
        let dir = std::env::temp_dir();
        let mut spool =
            tempfile::NamedTempFile::new_in(&dir).map_err(HubError::io("cannot create a file in", &dir))?;
        io::copy(&mut reader, &mut spool).map_err(HubError::io("cannot write", spool.path()))?;
        Ok(Self::add(path_in_repo, Content::Spooled(Arc::new(spool))))
    }

    /// Deletes the file `path_in_repo` (the commit fails if it does not exist).
    pub fn delete_file(path_in_repo: impl Into<String>) -> Self {
        CommitOperation {
            path_in_repo: path_in_repo.into(),
            kind: OpKind::Delete,
        }
    }

    /// Deletes the folder `path_in_repo` and everything below it.
    pub fn delete_folder(path_in_repo: impl Into<String>) -> Self {
        CommitOperation {
            path_in_repo: path_in_repo.into(),
            kind: OpKind::DeleteFolder,
        }
    }

    fn add(path_in_repo: impl Into<String>, source: Content) -> Self {
        CommitOperation {
            path_in_repo: path_in_repo.into(),
            kind: OpKind::Add(source, None),
        }
    }

    /// The path in the repository this operation changes.
    pub fn path_in_repo(&self) -> &str {
        &self.path_in_repo
    }
}

/// Checks a path in the repository as `huggingface_hub` does (leading `./` dropped), and
/// returns it in canonical form.
pub(crate) fn check_path_in_repo(path: &str) -> Result<&str, HubError> {
    let path = path.strip_prefix("./").unwrap_or(path);
    hubmix_protocol::path::validate_writable_path(path)?;
    Ok(path)
}

/// Options of [`HubClient::create_commit`] (and of the uploads built on it).
///
/// ```
/// let options = hubmix_hub::CommitOptions::new("Add weights")
///     .revision("dev")          // created from the default branch if missing
///     .parent_commit("0123abc"); // refuse if dev moved since
/// assert!(options.create_branch);
/// ```
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// The commit's title (required by `create_commit`; uploads supply a default when empty).
    pub message: String,
    /// The rest of the commit message.
    pub description: String,
    /// The branch (or `refs/pr/N`) to commit to, when the repo reference has none (both given
    /// and different is an error, see [`revision_of`]); default `main`.
    pub revision: Option<String>,
    /// Open a pull request against the revision instead of committing to it.
    pub create_pr: bool,
    /// The commit the change is based on: when the revision's head is another one, nothing is
    /// committed and the call fails with [`HubError::Conflict`].
    pub parent_commit: Option<String>,
    /// Create the branch from the default branch when it does not exist (default `true`).
    pub create_branch: bool,
}

impl Default for CommitOptions {
    fn default() -> Self {
        CommitOptions {
            message: String::new(),
            description: String::new(),
            revision: None,
            create_pr: false,
            parent_commit: None,
            create_branch: true,
        }
    }
}

impl CommitOptions {
    /// Options with this commit title.
    pub fn new(message: impl Into<String>) -> Self {
        CommitOptions {
            message: message.into(),
            ..Default::default()
        }
    }

    /// The commit title.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The rest of the commit message.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The branch (or `refs/pr/N`) to commit to.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    /// Open a pull request instead of committing to the revision.
    pub fn create_pr(mut self, create_pr: bool) -> Self {
        self.create_pr = create_pr;
        self
    }

    /// Commit only if the revision's head is still `commit`.
    pub fn parent_commit(mut self, commit: impl Into<String>) -> Self {
        self.parent_commit = Some(commit.into());
        self
    }

    /// Whether a missing branch is created from the default branch.
    pub fn create_branch(mut self, create: bool) -> Self {
        self.create_branch = create;
        self
    }
}

/// What a commit made: the Hub's answer ([`hubmix_protocol::types::CommitInfo`]) with the pull
/// request's number read from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitInfo {
    /// The commit id (the current head when nothing changed and no commit was made).
    pub oid: String,
    /// The commit's web URL.
    pub url: String,
    /// The pull request's number, when one was opened.
    pub pr_num: Option<u64>,
    /// The pull request's web URL, when one was opened.
    pub pr_url: Option<String>,
    /// Whether a commit was made: `false` when the revision already had every file added and
    /// nothing was deleted (`oid` is then the current head).
    pub created: bool,
    /// The paths added whose content the revision had already: left out of the commit.
    pub unchanged: Vec<String>,
}

impl CommitInfo {
    /// `refs/pr/N` when a pull request was opened: a revision to download it from.
    pub fn pr_revision(&self) -> Option<String> {
        self.pr_num.map(|n| format!("refs/pr/{n}"))
    }
}

/// An addition, as it goes through the flow.
pub(crate) struct Addition<'a> {
    path: &'a str,
    source: &'a Content,
    size: u64,
    /// The SHA-256 known beforehand, if any.
    known: Option<&'a FileHash>,
    /// Through LFS (else inline), as `preupload` decided.
    lfs: bool,
    /// The object now at that path, in the form of the chosen mode.
    remote_oid: Option<String>,
}

/// A checked operation.
pub(crate) enum Checked<'a> {
    Add(Addition<'a>),
    Delete(&'a str),
    DeleteFolder(&'a str),
}

/// One line of the commit body: text, or a file's content base64-encoded between two texts.
enum Piece {
    Text(Vec<u8>),
    Inline { source: Content, size: u64 },
}

/// The NDJSON commit body, generated as it is sent.
struct CommitBody {
    pieces: Arc<Vec<Piece>>,
    next: usize,
    content: Option<(Box<dyn Read + Send>, u64, PathBuf)>,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
}

impl CommitBody {
    fn new(pieces: Arc<Vec<Piece>>) -> Self {
        CommitBody {
            pieces,
            next: 0,
            content: None,
            raw: Vec::new(),
            out: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for CommitBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
            if let Some((reader, left, path)) = &mut self.content {
                if *left == 0 {
                    self.content = None;
                    continue;
                }
                let n = BASE64_CHUNK.min(*left as usize);
                self.raw.resize(n, 0);
                reader.read_exact(&mut self.raw).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => io::Error::other(changed(path).to_string()),
                    _ => e,
                })?;
                *left -= n as u64;
                let len = base64::encoded_len(n, true).expect("chunks are small");
                self.out.resize(len, 0);
                BASE64
                    .encode_slice(&self.raw, &mut self.out)
                    .expect("the buffer has the encoded length");
                continue;
            }
            let Some(piece) = self.pieces.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            match piece {
                Piece::Text(t) => self.out.extend_from_slice(t),
                Piece::Inline { source, size } => {
                    self.content = Some((source.open_at(0, *size)?, *size, source.describe()));
                }
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One line of the commit body, newline included.
fn ndjson_line(line: &CommitLine) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(line).expect("commit lines serialize");
    bytes.push(b'\n');
    bytes
}

/// The `file` line of `path` cut where its content goes: the text before the base64 content,
/// and the text after it (newline included). The content is streamed between the two.
fn file_line_around_content(path: &str) -> (Vec<u8>, Vec<u8>) {
    let line = ndjson_line(&CommitLine::File(CommitFile {
        content: String::new(),
        path: path.to_owned(),
        encoding: FileEncoding::Base64,
    }));
    // `content` is the value's first field, so its empty string is the first `"content":""`
    // (a quote inside the path would be escaped).
    const EMPTY: &[u8] = br#""content":"""#;
    let at = line
        .windows(EMPTY.len())
        .position(|w| w == EMPTY)
        .expect("a file line has a content field")
        + EMPTY.len()
        - 1;
    (line[..at].to_vec(), line[at..].to_vec())
}

/// The id preupload compares with: SHA-256 for LFS, the git blob SHA-1 otherwise. Reads the
/// content once, in chunks, unless its SHA-256 is known and it goes through LFS.
fn digest(a: &Addition<'_>) -> Result<String, HubError> {
    fn run<D: Digest>(mut hasher: D, a: &Addition<'_>) -> Result<String, HubError> {
        a.source.read_all(a.size, |b| hasher.update(b))?;
        Ok(hex::encode(hasher.finalize()))
    }
    if a.lfs
        && let Some(known) = a.known
    {
        let current = a.source.file().map(std::fs::metadata);
        if let Some(Ok(metadata)) = current
            && known.matches(&metadata)
        {
            return Ok(known.sha256_hex());
        }
        tracing::debug!(
            "{} changed since it was hashed: hashing it again",
            a.source.describe().display()
        );
    }
    if a.lfs {
        run(Sha256::new(), a)
    } else {
        run(git_blob_hasher(a.size), a)
    }
}

/// The lines of the commit body and the LFS objects they refer to, leaving out additions
/// whose content (`oids`, in operation order) the revision already has. `None` when nothing
/// is left to commit.
/// A commit's body, and the LFS objects it needs.
type Body = (Vec<Piece>, Vec<LfsUpload>);

/// The commit's body (`None` when it would change nothing), and the added paths left out
/// because the revision has their content already.
fn commit_lines(
    ops: &[Checked<'_>],
    oids: Vec<Option<String>>,
    options: &CommitOptions,
) -> (Option<Body>, Vec<String>) {
    let header = CommitLine::Header(CommitHeader {
        summary: options.message.clone(),
        description: options.description.clone(),
        parent_commit: options.parent_commit.clone(),
    });
    let mut lines = vec![Piece::Text(ndjson_line(&header))];
    let mut lfs_objects: Vec<LfsUpload> = Vec::new();
    let mut unchanged = Vec::new();
    for (op, oid) in ops.iter().zip(oids) {
        match (op, oid) {
            (Checked::Add(a), Some(oid)) if a.remote_oid.as_deref() == Some(oid.as_str()) => {
                tracing::info!("{} is unchanged: left out of the commit", a.path);
                unchanged.push(a.path.to_owned());
            }
            (Checked::Add(a), Some(oid)) if a.lfs => {
                lines.push(Piece::Text(ndjson_line(&CommitLine::LfsFile(CommitLfsFile {
                    path: a.path.to_owned(),
                    algo: "sha256".into(),
                    oid: oid.clone(),
                    size: Some(a.size),
                }))));
                if !lfs_objects.iter().any(|o| o.oid == oid) {
                    lfs_objects.push(LfsUpload {
                        oid,
                        size: a.size,
                        content: a.source.clone(),
                    });
                }
            }
            (Checked::Add(a), Some(_)) => {
                let (head, tail) = file_line_around_content(a.path);
                lines.push(Piece::Text(head));
                lines.push(Piece::Inline {
                    source: a.source.clone(),
                    size: a.size,
                });
                lines.push(Piece::Text(tail));
            }
            (Checked::Delete(p), _) => {
                lines.push(Piece::Text(ndjson_line(&CommitLine::DeletedFile(DeletedPath {
                    path: (*p).to_owned(),
                }))))
            }
            (Checked::DeleteFolder(p), _) => lines.push(Piece::Text(ndjson_line(
                &CommitLine::DeletedFolder(DeletedPath {
                    path: format!("{p}/"),
                }),
            ))),
            (Checked::Add(_), None) => unreachable!("every addition is hashed"),
        }
    }
    ((lines.len() > 1).then_some((lines, lfs_objects)), unchanged)
}

/// Where a commit goes.
struct Target<'a> {
    repo: &'a RepoId,
    revision: String,
    create_pr: bool,
    create_branch: bool,
}

impl Target<'_> {
    fn ctx(&self) -> Context {
        Context {
            repo: self.repo.to_string(),
            revision: Some(self.revision.clone()),
            path: None,
        }
    }

    /// `?create_pr=1` when opening a pull request.
    fn query(&self) -> &'static str {
        if self.create_pr { "?create_pr=1" } else { "" }
    }

    /// Whether a missing revision is a branch to create.
    fn may_create_branch(&self) -> bool {
        self.create_branch
            && !self.create_pr
            && !self.revision.starts_with("refs/")
            && !is_commit_id(&self.revision)
    }
}

impl HubClient {
    /// Asks the Hub whether it accepts the metadata of the `README.md` being committed (its
    /// `/api/validate-yaml`, as `huggingface_hub` does), before anything is uploaded: a card the
    /// Hub refuses would fail the commit after the large files were sent. Warnings are logged.
    /// A Hub without the endpoint is not asked.
    fn validate_card(&self, card: &Content, size: u64, repo: &RepoId) -> Result<(), HubError> {
        if size > MAX_CHECKED_CARD_BYTES {
            tracing::debug!("{README} is {size} bytes: left to the Hub's check at commit time");
            return Ok(());
        }
        let mut text = Vec::with_capacity(size as usize);
        card.read_all(size, |b| text.extend_from_slice(b))?;
        let text = String::from_utf8(text).map_err(|_| HubError::InvalidModelCard {
            reason: "it is not UTF-8 text".into(),
        })?;
        let url = format!("{}/api/validate-yaml", self.settings().endpoint);
        let request = ValidateYamlRequest {
            content: text,
            repo_type: Some(repo.repo_type.as_str().into()),
        };
        let body = serde_json::to_value(&request).expect("request bodies serialize");
        let mut response = self.http().send(&Call::new(Method::POST, &url).json(&body))?;
        let status = response.status().as_u16();
        if status != 200 && status != 400 {
            tracing::debug!(
                "{} answered {status}: the card is not checked before the commit",
                crate::error::strip_query(&url)
            );
            return Ok(());
        }
        let answer: ValidateYamlAnswer = crate::transport::http::read_json(&mut response, &url)?;
        for warning in &answer.warnings {
            tracing::warn!("{README} of {repo}: {}", warning.message);
        }
        let errors: Vec<String> = answer.errors.into_iter().map(|e| e.message).collect();
        match (status, errors) {
            (200, _) => Ok(()),
            (_, errors) if errors.is_empty() => Err(HubError::InvalidModelCard {
                reason: "the Hub refuses its metadata and gives no reason".into(),
            }),
            (_, errors) => Err(HubError::InvalidModelCard {
                reason: format!("the Hub refuses its metadata: {}", errors.join("; ")),
            }),
        }
    }

    /// Makes one commit of `operations` on the reference's revision (or `options.revision`,
    /// default `main`), or opens a pull request with it.
    ///
    /// Before anything is sent, local input is checked (each path in the repository is relative,
    /// without `..` and not under `.git/` or `.cache/`; each local file exists and is a file) and
    /// the token must be able to write ([`HubError::NotLoggedIn`] otherwise). Then the Hub says
    /// which files go through LFS (`preupload`; a missing branch is created from the default
    /// branch here, unless `options.create_branch` is false); each file is hashed once, several
    /// at a time; files whose content the revision already has are left out (when nothing is
    /// left, no commit is made and the current head is returned); the LFS objects the Hub lacks
    /// are uploaded (`basic` or `multipart`, parts in parallel, a failed part retried on its
    /// own) and verified; last, one NDJSON commit carries the small files inline. Files are
    /// streamed from disk at every step, never held whole in memory. Until that last request
    /// succeeds nothing is committed, so an interrupted push can simply be run again: objects
    /// the Hub already has are not sent twice.
    ///
    /// ```
    /// use hubmix_hub::{CommitOperation, CommitOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let server = hubmix_server::spawn(hubmix_server::ServerConfig::new(dir.path().join("hub"))
    /// #     .user("alice", "hf_alice", hubmix_server::Role::Write).org("team", &["alice"]))?;
    /// # let hub = hubmix_hub::HubClient::builder().endpoint(server.url()).token("hf_alice")
    /// #     .cache_dir(dir.path().join("cache")).build()?;
    /// # hub.create_repo("alice/mlp", &Default::default())?;
    /// # let weights = dir.path().join("model.safetensors");
    /// # std::fs::write(&weights, b"weights")?;
    /// let info = hub.create_commit(
    ///     "alice/mlp",
    ///     &[CommitOperation::add_file("model.safetensors", &weights)],
    ///     &CommitOptions::new("Update weights").create_pr(true),
    /// )?;
    /// assert_eq!(info.pr_num, Some(1));
    /// // main is untouched; the pull request's revision has the file.
    /// assert!(!hub.file_exists("alice/mlp", "model.safetensors")?);
    /// assert!(hub.file_exists("alice/mlp@refs/pr/1", "model.safetensors")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_commit(
        &self,
        repo: impl IntoRepoRef,
        operations: &[CommitOperation],
        options: &CommitOptions,
    ) -> Result<CommitInfo, HubError> {
        let r = repo.into_repo_ref()?;
        let target = Target {
            repo: &r.id,
            revision: revision_of(&r, options.revision.as_deref())?
                .unwrap_or_else(|| DEFAULT_REVISION.into()),
            create_pr: options.create_pr,
            create_branch: options.create_branch,
        };
        let mut ops = check_operations(operations, options)?;
        self.require_write(&format!("committing to {}", r.id))?;
        for op in &ops {
            if let Checked::Add(a) = op
                && a.path == README
            {
                self.validate_card(a.source, a.size, &r.id)?;
            }
        }

        let mut branch_created = false;
        let head = self.preupload(&target, &mut ops, &mut branch_created)?;
        if let (Some(parent), Some(head)) = (&options.parent_commit, &head)
            && !target.create_pr
            && !head.starts_with(&parent.to_ascii_lowercase())
        {
            return Err(HubError::Conflict {
                message: format!(
                    "parent commit {parent} is no longer the head of {} (now {head}): nothing was committed; fetch the new head and retry",
                    target.revision
                ),
            });
        }

        // Hash once (in parallel), and leave out what the revision already has.
        let workers = self.settings().max_workers;
        let oids = try_map(&ops, workers, |op| match op {
            Checked::Add(a) => digest(a).map(Some),
            _ => Ok(None),
        })?;
        let (body, unchanged) = commit_lines(&ops, oids, options);
        let Some((lines, lfs_objects)) = body else {
            tracing::info!("nothing changed in {}: no commit made", target.revision);
            let info = self.repo_info_at(target.repo, Some(&target.revision))?;
            let oid = info.sha.ok_or_else(|| HubError::InvalidResponse {
                url: self.api_url(target.repo, ""),
                reason: "the repository info has no \"sha\"".into(),
            })?;
            return Ok(CommitInfo {
                url: format!(
                    "{}/{}/commit/{oid}",
                    self.settings().endpoint,
                    target.repo.url_path()
                ),
                oid,
                pr_num: None,
                pr_url: None,
                created: false,
                unchanged,
            });
        };

        let ref_name = (!target.create_pr).then_some(target.revision.as_str());
        crate::upload::lfs::upload_objects(self, target.repo, ref_name, &lfs_objects)?;

        // The exact length, so that the body is not sent chunked (some proxies refuse that).
        let len = lines
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len() as u64,
                Piece::Inline { size, .. } => 4 * size.div_ceil(3),
            })
            .sum();
        let pieces = Arc::new(lines);
        let open: OpenBody = Arc::new(move || Ok(Box::new(CommitBody::new(Arc::clone(&pieces)))));
        let url = self.api_url(
            target.repo,
            &format!("/commit/{}{}", encode_revision(&target.revision), target.query()),
        );
        let mut call = Call::new(Method::POST, &url).no_retry();
        call.payload = Payload::Stream {
            open,
            len,
            content_type: Some("application/x-ndjson"),
        };
        let answer: CommitAnswer = self.on_missing_branch(&target, &mut branch_created, || {
            self.http().json(&call, &target.ctx())
        })?;
        let pr_num = answer.pull_request_url.as_deref().and_then(pr_number);
        if answer.pull_request_url.is_some() && pr_num.is_none() {
            return Err(HubError::InvalidResponse {
                url: crate::error::strip_query(&url),
                reason: "pullRequestUrl does not end with /discussions/<number>".into(),
            });
        }
        Ok(CommitInfo {
            oid: answer.commit_oid,
            url: answer.commit_url,
            pr_num,
            pr_url: answer.pull_request_url,
            created: true,
            unchanged,
        })
    }

    /// Runs `f`; if the revision is missing and may be created, creates the branch from the
    /// default branch (once) and runs `f` again.
    fn on_missing_branch<T>(
        &self,
        target: &Target<'_>,
        created: &mut bool,
        f: impl Fn() -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        match f() {
            Err(HubError::RevisionNotFound { .. }) if !*created && target.may_create_branch() => {
                tracing::info!(
                    "creating branch {} of {} from the default branch",
                    target.revision,
                    target.repo
                );
                self.create_branch(RepoRef::from(target.repo.clone()), &target.revision, true)?;
                *created = true;
                f()
            }
            other => other,
        }
    }

    /// Asks which additions go through LFS, drops those the Hub says to ignore, and returns the
    /// revision's head.
    fn preupload(
        &self,
        target: &Target<'_>,
        ops: &mut Vec<Checked<'_>>,
        branch_created: &mut bool,
    ) -> Result<Option<String>, HubError> {
        let additions: Vec<&Addition<'_>> = ops
            .iter()
            .filter_map(|op| match op {
                Checked::Add(a) => Some(a),
                _ => None,
            })
            .collect();
        if additions.is_empty() {
            return Ok(None);
        }
        let workers = self.settings().max_workers;
        let samples = try_map(&additions, workers, |a| {
            let mut sample = Vec::with_capacity(SAMPLE_BYTES);
            a.source
                .read_all(a.size.min(SAMPLE_BYTES as u64), |b| sample.extend_from_slice(b))?;
            Ok(BASE64.encode(sample))
        })?;
        let gitignore = match additions.iter().find(|a| a.path == ".gitignore") {
            Some(a) => {
                let mut text = Vec::new();
                a.source.read_all(a.size, |b| text.extend_from_slice(b))?;
                Some(String::from_utf8_lossy(&text).into_owned())
            }
            None => None,
        };
        let url = self.api_url(
            target.repo,
            &format!(
                "/preupload/{}{}",
                encode_revision(&target.revision),
                target.query()
            ),
        );
        let mut answers = std::collections::HashMap::new();
        let mut head = None;
        for (batch, samples) in additions
            .chunks(PREUPLOAD_BATCH)
            .zip(samples.chunks(PREUPLOAD_BATCH))
        {
            let request = PreuploadRequest {
                files: batch
                    .iter()
                    .zip(samples)
                    .map(|(a, sample)| PreuploadFile {
                        path: a.path.to_owned(),
                        sample: sample.clone(),
                        size: a.size,
                        sha: None,
                    })
                    .collect(),
                git_ignore: gitignore.clone(),
            };
            let body = serde_json::to_value(&request).expect("request bodies serialize");
            let call = Call::new(Method::POST, &url).json(&body);
            let answer: PreuploadAnswer =
                self.on_missing_branch(target, branch_created, || self.http().json(&call, &target.ctx()))?;
            head = head.or(answer.commit_oid);
            answers.extend(answer.files.into_iter().map(|f| (f.path.clone(), f)));
        }
        let mut checked = Vec::new();
        for op in ops.drain(..) {
            let Checked::Add(mut a) = op else {
                checked.push(op);
                continue;
            };
            let Some(answer) = answers.remove(a.path) else {
                return Err(HubError::InvalidResponse {
                    url: crate::error::strip_query(&url),
                    reason: format!("the preupload answer does not mention {}", a.path),
                });
            };
            if answer.should_ignore {
                tracing::info!(
                    "{} is ignored by the repository's .gitignore: not uploaded",
                    a.path
                );
                continue;
            }
            a.lfs = answer.upload_mode == UploadMode::Lfs && a.size > 0;
            a.remote_oid = answer.oid;
            checked.push(Checked::Add(a));
        }
        *ops = checked;
        Ok(head)
    }
}

/// Checks the options and operations before anything is sent.
pub(crate) fn check_operations<'a>(
    operations: &'a [CommitOperation],
    options: &CommitOptions,
) -> Result<Vec<Checked<'a>>, HubError> {
    if options.message.trim().is_empty() {
        return Err(HubError::InvalidArgument {
            name: "commit message".into(),
            reason: "it is empty: say what the commit changes".into(),
        });
    }
    if let Some(p) = &options.parent_commit
        && !((5..=40).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(HubError::InvalidArgument {
            name: "parent commit".into(),
            reason: format!("{p:?} is not a commit id (5 to 40 hex digits)"),
        });
    }
    let mut added = std::collections::HashSet::new();
    operations
        .iter()
        .map(|op| {
            Ok(match &op.kind {
                OpKind::Add(source, known) => {
                    let path = check_path_in_repo(&op.path_in_repo)?;
                    if !added.insert(path) {
                        return Err(HubError::InvalidPath {
                            path: path.to_owned(),
                            reason: "added twice in one commit".into(),
                        });
                    }
                    Checked::Add(Addition {
                        path,
                        source,
                        size: source.size()?,
                        known: known.as_ref(),
                        lfs: false,
                        remote_oid: None,
                    })
                }
                OpKind::Delete => Checked::Delete(check_path_in_repo(&op.path_in_repo)?),
                OpKind::DeleteFolder => {
                    let path = op.path_in_repo.strip_suffix('/').unwrap_or(&op.path_in_repo);
                    Checked::DeleteFolder(check_path_in_repo(path)?)
                }
            })
        })
        .collect()
}

/// The `N` of a `…/discussions/N` URL.
fn pr_number(url: &str) -> Option<u64> {
    let (_, tail) = url.rsplit_once("/discussions/")?;
    tail.split(['/', '?', '#']).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(pieces: Vec<Piece>) -> String {
        let mut body = CommitBody::new(Arc::new(pieces));
        let mut s = String::new();
        body.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn commit_body_streams_base64_content() {
        // Larger than one base64 chunk, and not a multiple of 3.
        let content: Vec<u8> = (0..BASE64_CHUNK * 2 + 7).map(|i| (i % 251) as u8).collect();
        let source = Content::Bytes(content.clone().into());
        let body = body_of(vec![
            Piece::Text(b"[".to_vec()),
            Piece::Inline {
                source,
                size: content.len() as u64,
            },
            Piece::Text(b"]".to_vec()),
        ]);
        assert_eq!(body, format!("[{}]", BASE64.encode(&content)));
    }

    #[test]
    fn an_inline_file_line_is_the_protocol_line() {
        let content = b"{\"d_in\": 4}\n".to_vec();
        for path in ["config.json", r#"odd "content":"" name.txt"#] {
            let (head, tail) = file_line_around_content(path);
            let body = body_of(vec![
                Piece::Text(head),
                Piece::Inline {
                    source: Content::Bytes(content.clone().into()),
                    size: content.len() as u64,
                },
                Piece::Text(tail),
            ]);
            let expected = CommitLine::File(CommitFile {
                content: BASE64.encode(&content),
                path: path.to_owned(),
                encoding: FileEncoding::Base64,
            });
            assert_eq!(body, String::from_utf8(ndjson_line(&expected)).unwrap());
            assert_eq!(serde_json::from_str::<CommitLine>(&body).unwrap(), expected);
        }
    }

    #[test]
    fn a_shrunken_file_fails_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let mut body = CommitBody::new(Arc::new(vec![Piece::Inline {
            source: Content::Path(path),
            size: 10,
        }]));
        let err = body.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
    }

    #[test]
    fn a_known_hash_spares_reading_an_lfs_file_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"weights").unwrap();
        let source = Content::Path(path.clone());
        // A hash the content does not have: what `digest` gives shows whether it read the file.
        let known = FileHash::new([7; 32], 7);
        let addition = |known, lfs| Addition {
            path: "model.safetensors",
            source: &source,
            size: 7,
            known,
            lfs,
            remote_oid: None,
        };
        let sha256 = hex::encode(Sha256::digest(b"weights"));
        assert_eq!(
            digest(&addition(Some(&known), true)).unwrap(),
            hex::encode([7; 32])
        );
        assert_eq!(digest(&addition(None, true)).unwrap(), sha256);
        // Not through LFS: the git blob id, which a SHA-256 does not give.
        let mut blob = git_blob_hasher(7);
        blob.update(b"weights");
        assert_eq!(
            digest(&addition(Some(&known), false)).unwrap(),
            hex::encode(blob.finalize())
        );
        // The file changed (another size): hashed again.
        std::fs::write(&path, b"weights!").unwrap();
        let changed = FileHash::new([7; 32], 7);
        let a = Addition {
            size: 8,
            ..addition(Some(&changed), true)
        };
        assert_eq!(digest(&a).unwrap(), hex::encode(Sha256::digest(b"weights!")));
    }

    #[test]
    fn paths_in_repo() {
        assert_eq!(check_path_in_repo("./a/b.txt").unwrap(), "a/b.txt");
        for bad in [
            "../x",
            "a/../b",
            "/abs",
            "",
            "a//b",
            ".git/config",
            "x/.cache/y",
            "a\\b",
        ] {
            assert!(
                matches!(check_path_in_repo(bad), Err(HubError::InvalidPath { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(pr_number("http://h/alice/m/discussions/12"), Some(12));
        assert_eq!(pr_number("http://h/alice/m/commit/1"), None);
    }
}
