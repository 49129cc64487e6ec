//! Scanning and deleting in the download cache shared with Python's `huggingface_hub`
//! (`HF_HUB_CACHE`), with the figures `hf cache ls` shows for the same folder.
//!
//! [`scan_cache`] reads `<cache>/{models,datasets,spaces}--<owner>--<name>/{blobs,refs,snapshots}`
//! into [`CachedRepo`]s and their [`CachedRevision`]s: sizes count each blob once per repo, the
//! times are the blobs' latest access and modification. A repository folder Python would call
//! corrupted (its `CorruptedCacheException` cases), or one hubmix refuses to follow (a snapshot
//! entry pointing outside the cache, a name that is not UTF-8), is left out of the scan with a
//! [`CacheWarning`]; the scan never fails on the content of a folder, only when the cache folder
//! itself cannot be listed.
//!
//! [`CacheInfo::delete_revisions`] plans a deletion as Python's `delete_revisions` does (a whole
//! repository folder when every revision goes, else the snapshots, their refs and the blobs no
//! other revision uses); [`DeletePlan::execute`] carries it out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::HubError;
use crate::repo::RepoType;

/// Top-level entries of the cache that are not repositories.
const IGNORED_TOP_LEVEL: [&str; 5] = [".DS_Store", "Thumbs.db", "desktop.ini", ".locks", "CACHEDIR.TAG"];

/// Files under `refs/` that are not refs (Python's `FILES_TO_IGNORE`).
const IGNORED_FILES: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];

/// The largest ref file read: a ref holds a 40-hex commit.
const MAX_REF_BYTES: u64 = 1024;

/// The deepest folder nesting followed inside a snapshot or `refs/`.
const MAX_DEPTH: usize = 64;

/// What a scan of the cache found.
#[derive(Debug, Clone, Default)]
pub struct CacheInfo {
    /// The repositories, sorted by [`CachedRepo::cache_id`] (case-sensitive, as `hf` sorts them).
    pub repos: Vec<CachedRepo>,
    /// The bytes of every distinct blob of the scanned repositories (a blob shared by two
    /// repositories counts once).
    pub size_on_disk: u64,
    /// The repository folders left out of the scan, and why.
    pub warnings: Vec<CacheWarning>,
    /// Interrupted downloads (`<cache>/*/blobs/*.incomplete`), sorted by path.
    pub incomplete_files: Vec<IncompleteFile>,
}

/// An interrupted download left in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteFile {
    /// `<cache>/<repo>/blobs/<etag>.incomplete`.
    pub path: PathBuf,
    /// Its size.
    pub size_on_disk: u64,
}

/// A repository folder left out of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheWarning {
    /// The repository folder (or the top-level entry).
    pub path: PathBuf,
    /// What is wrong, in Python's words where Python has a message for it.
    pub message: String,
}

/// One cached repository.
#[derive(Debug, Clone)]
pub struct CachedRepo {
    /// Its type.
    pub repo_type: RepoType,
    /// `owner/name` (or `name`).
    pub repo_id: String,
    /// Its folder, `<cache>/<type>s--<owner>--<name>`.
    pub repo_path: PathBuf,
    /// The bytes of its distinct blobs referenced by a snapshot.
    pub size_on_disk: u64,
    /// The number of its distinct blobs referenced by a snapshot.
    pub nb_files: usize,
    /// Its revisions, sorted by commit hash.
    pub revisions: Vec<CachedRevision>,
    /// The latest access time of its blobs (the folder's own when it has none).
    pub last_accessed: SystemTime,
    /// The latest modification time of its blobs (the folder's own when it has none).
    pub last_modified: SystemTime,
}

impl CachedRepo {
    /// `"{type}/{repo_id}"`, e.g. `model/gpt2`, as `hf cache ls` names repositories.
    pub fn cache_id(&self) -> String {
        format!("{}/{}", self.repo_type.as_str(), self.repo_id)
    }

    /// Every ref of every revision, sorted.
    pub fn refs(&self) -> BTreeSet<String> {
        self.revisions
            .iter()
            .flat_map(|r| r.refs.iter().cloned())
            .collect()
    }
}

/// One cached revision (a snapshot folder).
#[derive(Debug, Clone)]
pub struct CachedRevision {
    /// The commit hash (the snapshot folder's name).
    pub commit_hash: String,
    /// `<repo>/snapshots/<commit>`.
    pub snapshot_path: PathBuf,
    /// The refs naming this commit (`main`, `refs/pr/1`).
    pub refs: BTreeSet<String>,
    /// Its files, sorted by path.
    pub files: Vec<CachedFileInfo>,
    /// The bytes of its distinct blobs.
    pub size_on_disk: u64,
    /// The latest modification time of its blobs (the snapshot folder's own when it is empty).
    pub last_modified: SystemTime,
}

/// One file of a cached revision.
#[derive(Debug, Clone)]
pub struct CachedFileInfo {
    /// Its path in the repository (`/`-separated).
    pub path_in_repo: String,
    /// The snapshot entry, `<repo>/snapshots/<commit>/<path>`.
    pub file_path: PathBuf,
    /// The blob it resolves to (the entry itself when it is not a symlink).
    pub blob_path: PathBuf,
    /// The blob's size.
    pub size_on_disk: u64,
    /// The blob's last access time.
    pub blob_last_accessed: SystemTime,
    /// The blob's last modification time.
    pub blob_last_modified: SystemTime,
}

/// Scans the cache folder `cache_dir`.
///
/// # Errors
///
/// [`HubError::Io`] when `cache_dir` cannot be listed (it is missing, or not a folder).
pub fn scan_cache(cache_dir: &Path) -> Result<CacheInfo, HubError> {
    let cache_root = fs::canonicalize(cache_dir).map_err(HubError::io("scanning the cache", cache_dir))?;
    let entries = fs::read_dir(&cache_root).map_err(HubError::io("scanning the cache", cache_dir))?;
    let mut info = CacheInfo::default();
    let mut all_blobs: HashMap<PathBuf, u64> = HashMap::new();
    for entry in entries {
        let entry = entry.map_err(HubError::io("scanning the cache", cache_dir))?;
        let path = entry.path();
        incomplete_in(&path.join("blobs"), &mut info.incomplete_files);
        if is_not_a_repo(&path) {
            continue;
        }
        match scan_repo(&cache_root, &path) {
            Ok((repo, blobs)) => {
                all_blobs.extend(blobs);
                info.repos.push(repo);
            }
            Err(message) => info.warnings.push(CacheWarning { path, message }),
        }
    }
    info.repos.sort_by_key(CachedRepo::cache_id);
    info.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    info.incomplete_files.sort_by(|a, b| a.path.cmp(&b.path));
    info.size_on_disk = all_blobs.values().sum();
    Ok(info)
}

/// Whether a top-level entry of the cache is one that is not a repository and not a problem
/// (`.locks`, `CACHEDIR.TAG`, the shared blob store, ...).
pub(crate) fn is_not_a_repo(path: &Path) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| IGNORED_TOP_LEVEL.contains(&name) || (name == "blobs" && is_shared_store(path)))
}

/// The regular `*.incomplete` files of a `blobs` folder (none when it cannot be listed).
pub(crate) fn incomplete_in(blobs: &Path, out: &mut Vec<IncompleteFile>) {
    let Ok(entries) = fs::read_dir(blobs) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension() == Some(OsStr::new("incomplete"))
            && let Ok(meta) = fs::symlink_metadata(&path)
            && meta.is_file()
        {
            out.push(IncompleteFile {
                path,
                size_on_disk: meta.len(),
            });
        }
    }
}

impl CacheInfo {
    /// The bytes of the interrupted downloads.
    pub fn incomplete_size_on_disk(&self) -> u64 {
        self.incomplete_files.iter().map(|f| f.size_on_disk).sum()
    }
}

/// Whether a top-level `blobs` folder is the shared blob store (its marker reads `1\n`).
fn is_shared_store(path: &Path) -> bool {
    read_bounded(&path.join(".huggingface-shared-blobs")).is_ok_and(|c| c == b"1\n")
}

/// Reads a small file, refusing one larger than [`MAX_REF_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
    let mut content = Vec::new();
    file.take(MAX_REF_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
    if content.len() as u64 > MAX_REF_BYTES {
        return Err(format!("File too large for a ref: {}", path.display()));
    }
    Ok(content)
}

/// Blob stats of one repository, by canonical blob path.
type BlobStats = BTreeMap<PathBuf, (u64, SystemTime, SystemTime)>;

/// Scans one repository folder; the error is the warning's message.
fn scan_repo(cache_root: &Path, repo_path: &Path) -> Result<(CachedRepo, HashMap<PathBuf, u64>), String> {
    let shown = repo_path.display();
    let meta = fs::metadata(repo_path).map_err(|e| format!("Cannot read repo path {shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("Repo path is not a directory: {shown}"));
    }
    let (repo_type, repo_id) = parse_repo_folder(repo_path)?;
    let snapshots_path = repo_path.join("snapshots");
    if !snapshots_path.is_dir() {
        return Err(format!(
            "Snapshots dir doesn't exist in cached repo: {}",
            snapshots_path.display()
        ));
    }
    let mut refs_by_hash = read_refs(&repo_path.join("refs"))?;

    let mut blob_stats = BlobStats::new();
    let mut revisions = Vec::new();
    let snapshot_entries = fs::read_dir(&snapshots_path)
        .map_err(|e| format!("Cannot list {}: {e}", snapshots_path.display()))?;
    for entry in snapshot_entries {
        let entry = entry.map_err(|e| format!("Cannot list {}: {e}", snapshots_path.display()))?;
        let revision_path = entry.path();
        let revision_meta = fs::metadata(&revision_path)
            .map_err(|e| format!("Cannot read {}: {e}", revision_path.display()))?;
        if !revision_meta.is_dir() {
            return Err(format!(
                "Snapshots folder corrupted. Found a file: {}",
                revision_path.display()
            ));
        }
        let commit_hash = entry
            .file_name()
            .to_str()
            .ok_or_else(|| format!("Snapshot name is not valid UTF-8: {}", revision_path.display()))?
            .to_owned();
        let mut entries = Vec::new();
        walk(&revision_path, &revision_path, 0, &mut entries)?;
        let mut files = Vec::new();
        for (path_in_repo, file_path) in entries {
            let blob_path = fs::canonicalize(&file_path)
                .map_err(|_| format!("Blob missing (broken symlink): {}", file_path.display()))?;
            if !blob_path.starts_with(cache_root) {
                return Err(format!(
                    "Snapshot file points outside the cache: {} -> {}",
                    file_path.display(),
                    blob_path.display()
                ));
            }
            let blob_meta = fs::metadata(&blob_path)
                .map_err(|_| format!("Blob missing (broken symlink): {}", blob_path.display()))?;
            if blob_meta.is_dir() {
                continue;
            }
            let (size, accessed, modified) = *blob_stats
                .entry(blob_path.clone())
                .or_insert_with(|| (blob_meta.len(), accessed(&blob_meta), modified(&blob_meta)));
            files.push(CachedFileInfo {
                path_in_repo,
                file_path,
                blob_path,
                size_on_disk: size,
                blob_last_accessed: accessed,
                blob_last_modified: modified,
            });
        }
        files.sort_by(|a, b| a.path_in_repo.cmp(&b.path_in_repo));
        let unique: BTreeMap<&Path, (u64, SystemTime)> = files
            .iter()
            .map(|f| (f.blob_path.as_path(), (f.size_on_disk, f.blob_last_modified)))
            .collect();
        let last_modified = unique
            .values()
            .map(|v| v.1)
            .max()
            .unwrap_or_else(|| modified(&revision_meta));
        revisions.push(CachedRevision {
            refs: refs_by_hash.remove(&commit_hash).unwrap_or_default(),
            commit_hash,
            snapshot_path: revision_path,
            size_on_disk: unique.values().map(|v| v.0).sum(),
            files,
            last_modified,
        });
    }
    if !refs_by_hash.is_empty() {
        let missing: Vec<String> = refs_by_hash
            .iter()
            .map(|(hash, refs)| format!("{hash:?}: {refs:?}"))
            .collect();
        return Err(format!(
            "Reference(s) refer to missing commit hashes: {{{}}} ({shown}).",
            missing.join(", ")
        ));
    }
    revisions.sort_by(|a, b| a.commit_hash.cmp(&b.commit_hash));
    let (last_accessed, last_modified) = if blob_stats.is_empty() {
        (accessed(&meta), modified(&meta))
    } else {
        (
            blob_stats
                .values()
                .map(|s| s.1)
                .max()
                .unwrap_or(SystemTime::UNIX_EPOCH),
            blob_stats
                .values()
                .map(|s| s.2)
                .max()
                .unwrap_or(SystemTime::UNIX_EPOCH),
        )
    };
    let sizes: HashMap<PathBuf, u64> = blob_stats.iter().map(|(p, s)| (p.clone(), s.0)).collect();
    let repo = CachedRepo {
        repo_type,
        repo_id,
        repo_path: repo_path.to_path_buf(),
        size_on_disk: sizes.values().sum(),
        nb_files: sizes.len(),
        revisions,
        last_accessed,
        last_modified,
    };
    Ok((repo, sizes))
}

/// The type and id of a repository folder (`models--alice--mlp` -> model, `alice/mlp`); the
/// error is the warning's message, in Python's words.
pub(crate) fn parse_repo_folder(repo_path: &Path) -> Result<(RepoType, String), String> {
    let shown = repo_path.display();
    let name = repo_path
        .file_name()
        .and_then(OsStr::to_str)
        .ok_or_else(|| format!("Repo path is not valid UTF-8: {shown}"))?;
    let Some((prefix, id)) = name.split_once("--") else {
        return Err(format!(
            "Repo path is not a valid HuggingFace cache directory: {shown}"
        ));
    };
    let repo_type = match prefix {
        "models" => RepoType::Model,
        "datasets" => RepoType::Dataset,
        "spaces" => RepoType::Space,
        other => {
            // Python drops the last character of the prefix (`models` -> `model`).
            let found = other.char_indices().last().map_or(other, |(i, _)| &other[..i]);
            return Err(format!(
                "Repo type must be `dataset`, `model` or `space`, found `{found}` ({shown})."
            ));
        }
    };
    Ok((repo_type, id.replace("--", "/")))
}

/// The refs of a repository's `refs` folder, by the commit they name (none when there is no
/// such folder); the error is the warning's message.
pub(crate) fn read_refs(refs_path: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut refs_by_hash: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if !refs_path.exists() {
        return Ok(refs_by_hash);
    }
    if !refs_path.is_dir() {
        return Err(format!(
            "Refs directory cannot be a file: {}",
            refs_path.display()
        ));
    }
    let mut ref_files = Vec::new();
    walk(refs_path, refs_path, 0, &mut ref_files)?;
    for (ref_name, ref_path) in ref_files {
        let file_name = ref_name.rsplit('/').next().unwrap_or(&ref_name);
        if IGNORED_FILES.contains(&file_name) || ref_path.is_dir() {
            continue;
        }
        let content = read_bounded(&ref_path)?;
        let commit = String::from_utf8(content)
            .map_err(|_| format!("Ref is not valid UTF-8: {}", ref_path.display()))?;
        refs_by_hash.entry(commit).or_default().insert(ref_name);
    }
    Ok(refs_by_hash)
}

/// Lists the non-folder entries under `dir` (symlinks included, not followed into folders),
/// as (`/`-joined path relative to `root`, path).
pub(crate) fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("Folders nested too deep: {}", dir.display()));
    }
    let entries = fs::read_dir(dir).map_err(|e| format!("Cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("Cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
        if kind.is_dir() {
            walk(root, &path, depth + 1, out)?;
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .ok()
            .and_then(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_str())
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| format!("File name is not valid UTF-8: {}", path.display()))?
            .join("/");
        out.push((relative, path));
    }
    Ok(())
}

/// A file's access time (the epoch where the platform has none).
fn accessed(meta: &Metadata) -> SystemTime {
    meta.accessed().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A file's modification time (the epoch where the platform has none).
fn modified(meta: &Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// What a deletion of cached revisions removes, as Python's `DeleteCacheStrategy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletePlan {
    /// Whole repository folders (every revision of the repository was selected).
    pub repos: BTreeSet<PathBuf>,
    /// Snapshot folders of partly deleted repositories.
    pub snapshots: BTreeSet<PathBuf>,
    /// Ref files naming a deleted revision.
    pub refs: BTreeSet<PathBuf>,
    /// Blobs no remaining revision of their repository uses.
    pub blobs: BTreeSet<PathBuf>,
    /// Interrupted downloads (see [`CacheInfo::prune`]).
    pub incomplete: BTreeSet<PathBuf>,
    /// The bytes the deletion frees.
    pub expected_freed_size: u64,
}

impl CacheInfo {
    /// Plans the deletion of the revisions with these commit hashes. Hashes found in no
    /// repository are returned beside the plan.
    pub fn delete_revisions<S: AsRef<str>>(&self, commit_hashes: &[S]) -> (DeletePlan, Vec<String>) {
        let mut wanted: BTreeSet<&str> = commit_hashes.iter().map(AsRef::as_ref).collect();
        let mut plan = DeletePlan::default();
        for repo in &self.repos {
            let (gone, kept): (Vec<&CachedRevision>, Vec<&CachedRevision>) = repo
                .revisions
                .iter()
                .partition(|r| wanted.contains(r.commit_hash.as_str()));
            if gone.is_empty() {
                continue;
            }
            for revision in &gone {
                wanted.remove(revision.commit_hash.as_str());
            }
            if kept.is_empty() {
                plan.repos.insert(repo.repo_path.clone());
                plan.expected_freed_size += repo.size_on_disk;
                continue;
            }
            let kept_blobs: BTreeSet<&Path> = kept
                .iter()
                .flat_map(|r| r.files.iter().map(|f| f.blob_path.as_path()))
                .collect();
            for revision in gone {
                plan.snapshots.insert(revision.snapshot_path.clone());
                for name in &revision.refs {
                    plan.refs.insert(repo.repo_path.join("refs").join(name));
                }
                for file in &revision.files {
                    if !kept_blobs.contains(file.blob_path.as_path())
                        && plan.blobs.insert(file.blob_path.clone())
                    {
                        plan.expected_freed_size += file.size_on_disk;
                    }
                }
            }
        }
        (plan, wanted.into_iter().map(str::to_owned).collect())
    }

    /// Plans what `hf cache prune` deletes: every revision no ref names (detached), and every
    /// interrupted download.
    pub fn prune(&self) -> DeletePlan {
        let detached: Vec<&str> = self
            .repos
            .iter()
            .flat_map(|repo| &repo.revisions)
            .filter(|revision| revision.refs.is_empty())
            .map(|revision| revision.commit_hash.as_str())
            .collect();
        let (mut plan, _) = self.delete_revisions(&detached);
        plan.incomplete = self.incomplete_files.iter().map(|f| f.path.clone()).collect();
        plan.expected_freed_size += self.incomplete_size_on_disk();
        plan
    }
}

impl DeletePlan {
    /// Deletes what the plan names. Paths already gone are not an error.
    ///
    /// # Errors
    ///
    /// [`HubError::Io`] for the first path that cannot be removed (the rest are still tried).
    pub fn execute(&self) -> Result<(), HubError> {
        let mut first_error = None;
        let mut record = |result: std::io::Result<()>, path: &Path| {
            if let Err(e) = result
                && e.kind() != std::io::ErrorKind::NotFound
                && first_error.is_none()
            {
                first_error = Some(HubError::io("deleting", path)(e));
            }
        };
        for path in &self.repos {
            record(fs::remove_dir_all(path), path);
        }
        for path in &self.snapshots {
            record(fs::remove_dir_all(path), path);
        }
        for path in self.refs.iter().chain(&self.blobs).chain(&self.incomplete) {
            record(fs::remove_file(path), path);
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// Writes a blob and links `snapshots/<commit>/<path>` to it, as downloads do.
    fn add_file(repo: &Path, commit: &str, path: &str, etag: &str, content: &[u8]) {
        fs::create_dir_all(repo.join("blobs")).unwrap();
        fs::write(repo.join("blobs").join(etag), content).unwrap();
        let link = repo.join("snapshots").join(commit).join(path);
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        let depth = path.matches('/').count() + 2;
        let target = format!("{}blobs/{etag}", "../".repeat(depth));
        std::os::unix::fs::symlink(target, link).unwrap();
    }

    fn add_ref(repo: &Path, name: &str, commit: &str) {
        let path = repo.join("refs").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, commit).unwrap();
    }

    #[test]
    fn repos_revisions_sizes_and_refs_are_read_as_python_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let gpt2 = dir.path().join("models--gpt2");
        add_file(&gpt2, A, "config.json", "e1", &[0; 1000]);
        add_file(&gpt2, A, "sub/w.bin", "e2", &[0; 2000]);
        add_file(&gpt2, B, "config.json", "e1", &[0; 1000]);
        add_file(&gpt2, B, "dup.json", "e1", &[0; 1000]);
        add_ref(&gpt2, "main", A);
        add_ref(&gpt2, "refs/pr/1", B);
        fs::write(gpt2.join("blobs/orphan"), [0; 500]).unwrap();
        fs::write(gpt2.join("blobs/e9.incomplete"), [0; 7]).unwrap();
        let ds = dir.path().join("datasets--org--ds");
        add_file(&ds, A, "data.csv", "e3", b"12345");
        fs::create_dir_all(dir.path().join(".locks")).unwrap();
        fs::write(dir.path().join("CACHEDIR.TAG"), "x").unwrap();

        let info = scan_cache(dir.path()).unwrap();
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
        let ids: Vec<String> = info.repos.iter().map(CachedRepo::cache_id).collect();
        assert_eq!(ids, ["dataset/org/ds", "model/gpt2"]);
        let gpt2 = &info.repos[1];
        assert_eq!(
            gpt2.size_on_disk, 3000,
            "orphan blobs are not counted, shared ones once"
        );
        assert_eq!(gpt2.nb_files, 2);
        assert_eq!(gpt2.refs().into_iter().collect::<Vec<_>>(), ["main", "refs/pr/1"]);
        assert_eq!(gpt2.revisions[0].commit_hash, A);
        assert_eq!(gpt2.revisions[0].size_on_disk, 3000);
        assert_eq!(
            gpt2.revisions[1].size_on_disk, 1000,
            "a blob twice in a revision counts once"
        );
        assert_eq!(gpt2.revisions[1].files.len(), 2);
        assert_eq!(gpt2.revisions[0].files[1].path_in_repo, "sub/w.bin");
        assert_eq!(info.repos[0].revisions[0].refs.len(), 0, "a detached revision");
        assert_eq!(info.size_on_disk, 3005);
        assert_eq!(info.incomplete_files.len(), 1);
        assert_eq!(
            info.incomplete_size_on_disk(),
            7,
            "counted apart from the repo's size"
        );
    }

    #[test]
    fn corrupt_and_hostile_repos_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "x").unwrap();
        let root = dir.path();
        fs::write(root.join("models--file"), "").unwrap();
        fs::create_dir_all(root.join("nodashes")).unwrap();
        fs::create_dir_all(root.join("bogus--x/snapshots")).unwrap();
        fs::create_dir_all(root.join("models--nosnap")).unwrap();
        let broken = root.join("models--broken");
        fs::create_dir_all(broken.join("snapshots").join(A)).unwrap();
        std::os::unix::fs::symlink("../../blobs/missing", broken.join("snapshots").join(A).join("f"))
            .unwrap();
        let escape = root.join("models--escape");
        fs::create_dir_all(escape.join("snapshots").join(A)).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            escape.join("snapshots").join(A).join("f"),
        )
        .unwrap();
        let dangling = root.join("models--dangling");
        add_file(&dangling, A, "f", "e", b"x");
        add_ref(&dangling, "main", B);
        let file_in_snapshots = root.join("models--flat");
        fs::create_dir_all(file_in_snapshots.join("snapshots")).unwrap();
        fs::write(file_in_snapshots.join("snapshots/oops"), "").unwrap();
        let huge_ref = root.join("models--hugeref");
        add_file(&huge_ref, A, "f", "e", b"x");
        add_ref(&huge_ref, "main", &"a".repeat(5000));
        {
            use std::os::unix::ffi::OsStrExt;
            let bad = root.join(OsStr::from_bytes(b"models--bad\xff"));
            add_file(&bad, A, "f", "e", b"x");
        }
        let good = root.join("models--good");
        add_file(&good, A, "f", "e", b"x");

        let info = scan_cache(root).unwrap();
        assert_eq!(info.repos.len(), 1);
        assert_eq!(info.repos[0].repo_id, "good");
        let messages: Vec<&str> = info.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 10, "{messages:#?}");
        for expected in [
            "Repo path is not a directory",
            "Repo path is not a valid HuggingFace cache directory",
            "Repo type must be",
            "Snapshots dir doesn't exist",
            "Blob missing (broken symlink)",
            "points outside the cache",
            "Reference(s) refer to missing commit hashes",
            "Snapshots folder corrupted. Found a file",
            "File too large for a ref",
            "not valid UTF-8",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{expected}: {messages:#?}"
            );
        }
    }

    #[test]
    fn pruning_deletes_detached_revisions_and_interrupted_downloads() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--o--m");
        add_file(&repo, A, "old", "e1", &[0; 10]);
        add_file(&repo, B, "new", "e2", &[0; 20]);
        add_ref(&repo, "main", B);
        fs::write(repo.join("blobs/e3.incomplete"), [0; 5]).unwrap();
        let plan = scan_cache(dir.path()).unwrap().prune();
        assert_eq!(plan.expected_freed_size, 15);
        plan.execute().unwrap();
        let after = scan_cache(dir.path()).unwrap();
        assert!(after.incomplete_files.is_empty());
        assert_eq!(after.repos[0].revisions.len(), 1);
        assert_eq!(after.repos[0].revisions[0].commit_hash, B);
        assert_eq!(after.repos[0].size_on_disk, 20);
        assert_eq!(after.prune(), DeletePlan::default(), "nothing left to prune");
    }

    #[test]
    fn a_missing_cache_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan_cache(&dir.path().join("nope")),
            Err(HubError::Io { .. })
        ));
    }

    #[test]
    fn deleting_some_revisions_keeps_the_blobs_others_use() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--o--m");
        add_file(&repo, A, "shared", "e1", &[0; 10]);
        add_file(&repo, A, "own", "e2", &[0; 20]);
        add_file(&repo, B, "shared", "e1", &[0; 10]);
        add_ref(&repo, "main", B);
        add_ref(&repo, "refs/pr/1", A);
        let other = dir.path().join("datasets--o--d");
        add_file(&other, B.replace('b', "c").as_str(), "x", "e3", &[0; 7]);
        let info = scan_cache(dir.path()).unwrap();

        let (plan, missing) = info.delete_revisions(&[A, "dddd"]);
        assert_eq!(missing, ["dddd"]);
        assert_eq!(plan.expected_freed_size, 20);
        assert!(plan.repos.is_empty());
        plan.execute().unwrap();
        let after = scan_cache(dir.path()).unwrap();
        assert!(after.warnings.is_empty(), "{:?}", after.warnings);
        let m = after.repos.iter().find(|r| r.repo_id == "o/m").unwrap();
        assert_eq!(m.revisions.len(), 1);
        assert_eq!(m.revisions[0].commit_hash, B);
        assert_eq!(m.size_on_disk, 10);
        assert!(repo.join("blobs/e1").exists() && !repo.join("blobs/e2").exists());

        let (plan, _) = after.delete_revisions(&[B]);
        assert_eq!(plan.expected_freed_size, 10);
        assert_eq!(plan.repos.len(), 1);
        plan.execute().unwrap();
        assert!(!repo.exists());
        assert_eq!(scan_cache(dir.path()).unwrap().repos.len(), 1);
    }
}
