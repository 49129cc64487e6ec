//! Commits: preupload (which files go through LFS) and the NDJSON commit itself.
//!
//! The commit body is read as a stream, one line at a time (each bounded by
//! `max_line_bytes`, all by `max_commit_bytes`, the number of operations by
//! `max_commit_operations`): file contents are decoded and written to the blob store as their
//! line arrives; the commit is made in one transaction after the last line, so a request that
//! fails half-way commits nothing.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use base64::Engine;
use futures_util::StreamExt;
use hubmix_protocol::types::{
    CommitFile, CommitHeader, CommitInfo, CommitLfsFile, CommitLine, FileEncoding, PreuploadAnswer,
    PreuploadRequest, PreuploadResult, UploadMode,
};

use super::{Ctx, json, read_json};
use crate::app::App;
use crate::error::ApiError;
use crate::failpoint::{self, Point};
use crate::gitignore::{GITIGNORE, Rules};
use crate::limits::{Limit, Limits};
use crate::repo_id::RepoId;
use crate::storage::{CommitTarget, Entry, FileOp, NewCommit, RefKind, RepoRow, StoreError, parse_full_ref};
use hubmix_protocol::card::{CardError, README};
use hubmix_protocol::path::validate_writable_path;

/// Where a commit to `rev` goes.
fn commit_target(rev: &str, create_pr: bool) -> Result<CommitTarget, ApiError> {
    if create_pr {
        return Ok(CommitTarget::NewPr { base: rev.to_owned() });
    }
    match parse_full_ref(rev) {
        Some((RefKind::Pr, n)) => Ok(CommitTarget::Pr(
            n.parse().map_err(|_| ApiError::RevisionNotFound(rev.into()))?,
        )),
        Some((RefKind::Branch, b)) => Ok(CommitTarget::Branch(b.to_owned())),
        Some((RefKind::Tag, _)) => Err(not_a_branch(rev)),
        None => Ok(CommitTarget::Branch(rev.to_owned())),
    }
}

fn not_a_branch(rev: &str) -> ApiError {
    ApiError::BadRequest(not_a_branch_message(rev))
}

fn not_a_branch_message(rev: &str) -> String {
    format!("{rev} is not a branch: commits go to a branch or to refs/pr/N (create the branch first)")
}

/// The repository, if the caller may make this commit, and the commit it would build on.
/// Writers of the namespace may commit anywhere; anyone who can see the repository may open a
/// pull request and add to their own.
async fn committable(
    app: &Arc<App>,
    ctx: &Ctx,
    id: &RepoId,
    target: &CommitTarget,
) -> Result<(RepoRow, String), ApiError> {
    let repo = app.readable_repo(id, ctx.who.as_ref()).await?;
    let writer = app.auth.check_write(ctx.who.as_ref(), &repo.id.namespace);
    match target {
        CommitTarget::NewPr { .. } | CommitTarget::Pr(_) if writer.is_err() => {
            let who = app.auth.check_contributor(ctx.who.as_ref())?;
            if let CommitTarget::Pr(num) = target {
                let row = repo.clone();
                let num = *num;
                let author = app
                    .run(move |a| a.store.discussion(&row, num))
                    .await?
                    .map(|d| d.author);
                if author.as_deref() != Some(who.user.as_str()) {
                    return Err(ApiError::Forbidden(format!(
                        "only the author of refs/pr/{num} and writers of the repository can add to it"
                    )));
                }
            }
        }
        _ => writer?,
    }
    let row = repo.clone();
    let target = target.clone();
    let head = app
        .run(move |a| match &target {
            CommitTarget::Branch(b) => match a.store.ref_head(&row, RefKind::Branch, b)? {
                Some(head) => Ok(head),
                // A tag or a commit is not something to commit to; anything else is unknown.
                None => a
                    .store
                    .resolve(&row, b)
                    .and_then(|_| Err(StoreError::Invalid(not_a_branch_message(b)))),
            },
            CommitTarget::Pr(n) => a.store.resolve(&row, &format!("refs/pr/{n}")),
            CommitTarget::NewPr { base } | CommitTarget::NewBranch(base) => a.store.resolve(&row, base),
        })
        .await?;
    Ok((repo, head))
}

/// `POST /api/{type}/{repo}/preupload/{rev}`: for each file, `lfs` or `regular`, whether the
/// `.gitignore` excludes it (the one sent as `gitIgnore`, else the revision's), and the object
/// now at that path (so the client can skip unchanged files).
pub(super) async fn preupload(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    body: Body,
) -> Result<Response, ApiError> {
    let req: PreuploadRequest = read_json(&app.config.limits, body).await?;
    for f in &req.files {
        validate_writable_path(&f.path).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let target = commit_target(&rev, ctx.flag("create_pr"))?;
    let (_, head) = committable(app, ctx, &id, &target).await?;
    let threshold = app.config.lfs_threshold;
    let commit = head.clone();
    let files = app
        .run(move |a| {
            let rules = match req.git_ignore {
                Some(text) => Some(text),
                None => a.store.small_text(&commit, GITIGNORE)?,
            }
            .map(|text| Rules::parse(&text));
            req.files
                .into_iter()
                .map(|f| {
                    let lfs = f.size > 0 && f.size >= threshold;
                    let remote = a.store.entry(&commit, &f.path)?;
                    let oid = remote.and_then(|e| match (lfs, e.lfs) {
                        (true, _) => Some(e.sha256),
                        (false, false) => Some(e.git_oid),
                        (false, true) => None,
                    });
                    Ok(PreuploadResult {
                        should_ignore: rules.as_ref().is_some_and(|r| r.ignores(&f.path)),
                        path: f.path,
                        upload_mode: if lfs { UploadMode::Lfs } else { UploadMode::Regular },
                        oid,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await?;
    Ok(json(PreuploadAnswer {
        files,
        commit_oid: Some(head),
    }))
}

/// `POST /api/{type}/{repo}/commit/{rev}[?create_pr=1]` with an NDJSON body.
pub(super) async fn commit(
    app: &Arc<App>,
    ctx: &Ctx,
    id: RepoId,
    rev: String,
    body: Body,
) -> Result<Response, ApiError> {
    let target = commit_target(&rev, ctx.flag("create_pr"))?;
    let (repo, _) = committable(app, ctx, &id, &target).await?;
    let author = ctx.user()?.to_owned();

    let mut header: Option<CommitHeader> = None;
    let mut ops = Vec::new();
    let limits = &app.config.limits;
    let mut lines = LineReader::new(body, limits);
    while let Some(line) = lines.next().await? {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        limits.check_json_depth(&line, format_args!("line {} of the commit", lines.count))?;
        let line: CommitLine = serde_json::from_slice(&line).map_err(|e| {
            ApiError::BadRequest(format!(
                "line {} of the commit is not a valid operation: {e}",
                lines.count
            ))
        })?;
        if !matches!(line, CommitLine::Header(_)) && ops.len() == limits.max_commit_operations {
            return Err(limits.exceeded(
                Limit::CommitOperations,
                "the commit has too many operations (split it into several commits)",
            ));
        }
        match line {
            CommitLine::Header(h) => {
                if header.is_some() || !ops.is_empty() {
                    return Err(ApiError::BadRequest(
                        "the header must be the first line, and only once".into(),
                    ));
                }
                if h.summary.trim().is_empty() {
                    return Err(ApiError::BadRequest(
                        "the commit summary (header.summary) is empty".into(),
                    ));
                }
                if let Some(p) = &h.parent_commit
                    && !((5..=40).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(ApiError::BadRequest(format!(
                        "parentCommit {p:?} is not a commit id (5 to 40 hex digits)"
                    )));
                }
                header = Some(h);
                continue;
            }
            _ if header.is_none() => {
                return Err(ApiError::BadRequest(
                    "the first line of a commit must be its header".into(),
                ));
            }
            CommitLine::File(f) => ops.push(FileOp::Add(store_inline(app, f).await?)),
            CommitLine::LfsFile(l) => ops.push(FileOp::Add(lfs_entry(app, &repo, l).await?)),
            CommitLine::DeletedFile(p) => {
                validate_writable_path(&p.path).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                ops.push(FileOp::Delete(p.path));
            }
            CommitLine::DeletedFolder(p) => {
                let folder = p.path.trim_end_matches('/').to_owned();
                validate_writable_path(&folder).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                ops.push(FileOp::DeleteFolder(folder));
            }
        }
    }
    let header = header
        .ok_or_else(|| ApiError::BadRequest("the commit body is empty: it needs a header line".into()))?;
    failpoint::hit(Point::CommitBlobsWritten);

    let new = NewCommit {
        author,
        title: header.summary,
        message: header.description,
        parent_commit: header.parent_commit,
        ops,
    };
    let outcome = app.run(move |a| a.store.commit(&repo, target, &new)).await?;
    let repo_url = format!("{}/{}", ctx.base, id.url_path());
    Ok(json(CommitInfo {
        success: true,
        commit_url: format!("{repo_url}/commit/{}", outcome.oid),
        commit_oid: outcome.oid,
        hook_output: String::new(),
        pull_request_url: outcome.pr_num.map(|num| format!("{repo_url}/discussions/{num}")),
    }))
}

/// Decodes an inline `file` line and writes its content to the blob store.
async fn store_inline(app: &Arc<App>, f: CommitFile) -> Result<Entry, ApiError> {
    validate_writable_path(&f.path).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let content = match f.encoding {
        FileEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(f.content.as_bytes())
            .map_err(|e| ApiError::BadRequest(format!("content of {} is not valid base64: {e}", f.path)))?,
        FileEncoding::Utf8 => f.content.into_bytes(),
    };
    if f.path == README {
        check_card(&app.config.limits, &content)?;
    }
    let path = f.path;
    app.run(move |a| {
        let sha = a.store.blobs.put_bytes(&content)?;
        Ok(Entry::regular(path, &content, sha))
    })
    .await
}

/// Refuses a `README.md` whose metadata the Hub would refuse (the real Hub answers such a
/// commit with `400` too), or whose front matter goes over the hub's card limits.
fn check_card(limits: &Limits, content: &[u8]) -> Result<(), ApiError> {
    let text = std::str::from_utf8(content)
        .map_err(|_| ApiError::BadRequest(format!("{README} is not UTF-8 text")))?;
    match hubmix_protocol::card::card_data_within(text, &limits.card) {
        Ok(_) => Ok(()),
        Err(CardError::FrontMatter(e)) => match limits.front_matter_limit(&e) {
            Some(limit) => Err(limits.exceeded(limit, format_args!("{README}: {e}"))),
            None => Err(ApiError::BadRequest(format!("Invalid metadata in {README}: {e}"))),
        },
        Err(CardError::Fields(errors)) => Err(ApiError::BadRequest(format!(
            "Invalid metadata in {README}: {}",
            errors.join("; ")
        ))),
    }
}

/// Checks the card of a `README.md` committed as an LFS object, as an inline one is checked.
/// The check depends only on the front matter, which is at most `limits.card.max_bytes` long,
/// so only that much of the object (plus its `---` lines) is read.
async fn check_lfs_card(app: &Arc<App>, oid: &str, size: u64) -> Result<(), ApiError> {
    let limits = &app.config.limits;
    // A byte-order mark, the opening and the closing `---` lines, with `\r\n`.
    let window = limits.card.max_bytes as u64 + 16;
    let path = app.store.blobs.path(oid);
    let head = app
        .run(move |_| {
            let mut head = Vec::new();
            std::fs::File::open(path)?.take(window).read_to_end(&mut head)?;
            Ok(head)
        })
        .await?;
    let text = match std::str::from_utf8(&head) {
        Ok(text) => text,
        // Cut in the middle of a character by the window: the whole characters before it.
        Err(e) if e.error_len().is_none() && size > window => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Err(ApiError::BadRequest(format!("{README} is not UTF-8 text"))),
    };
    check_card(limits, text.as_bytes())
}

/// Checks an `lfsFile` line against the objects uploaded to this repository.
async fn lfs_entry(app: &Arc<App>, repo: &RepoRow, l: CommitLfsFile) -> Result<Entry, ApiError> {
    validate_writable_path(&l.path).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !super::lfs::is_sha256(&l.oid) {
        return Err(ApiError::BadRequest(format!(
            "lfsFile {}: oid {:?} is not a sha256 (64 lowercase hex)",
            l.path, l.oid
        )));
    }
    let row = repo.clone();
    let oid = l.oid.clone();
    let stored = app
        .run(move |a| {
            Ok(a.store
                .lfs_object(&row, &oid)?
                .filter(|_| a.store.blobs.exists(&oid)))
        })
        .await?;
    let Some(size) = stored else {
        return Err(ApiError::BadRequest(format!(
            "lfsFile {}: object {} was never uploaded to this repository (upload it through the LFS batch API first)",
            l.path, l.oid
        )));
    };
    if l.size.is_some_and(|s| s != size) {
        return Err(ApiError::BadRequest(format!(
            "lfsFile {}: size {:?} does not match the uploaded object ({size} bytes)",
            l.path, l.size
        )));
    }
    if l.path == README {
        check_lfs_card(app, &l.oid, size).await?;
    }
    Ok(Entry::lfs(l.path, l.oid, size))
}

/// Splits a streamed body into lines of at most `max_line_bytes`, refusing a body longer than
/// `max_commit_bytes` as soon as it is, in time linear in the body: each byte is copied once
/// into the buffer, once into its line, and at most once more when the lines before it are
/// dropped from the buffer.
struct LineReader<'a> {
    stream: axum::body::BodyDataStream,
    buf: Vec<u8>,
    /// Where the next line starts in `buf` (what is before it was returned).
    start: usize,
    limits: &'a Limits,
    /// Bytes of the body received so far.
    received: u64,
    done: bool,
    /// Lines returned so far (for error messages).
    count: usize,
}

impl<'a> LineReader<'a> {
    fn new(body: Body, limits: &'a Limits) -> Self {
        LineReader {
            stream: body.into_data_stream(),
            buf: Vec::new(),
            start: 0,
            limits,
            received: 0,
            done: false,
            count: 0,
        }
    }

    fn too_long(&self) -> ApiError {
        self.limits.exceeded(
            Limit::LineBytes,
            format_args!(
                "line {} of the commit is too long (send large files through LFS)",
                self.count + 1
            ),
        )
    }

    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let max = self.limits.max_line_bytes;
        let mut scanned = self.start;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|b| *b == b'\n') {
                let end = scanned + i;
                if end - self.start > max {
                    return Err(self.too_long());
                }
                let line = self.buf[self.start..end].to_vec();
                self.start = end + 1;
                self.count += 1;
                return Ok(Some(line));
            }
            scanned = self.buf.len();
            if self.buf.len() - self.start > max {
                return Err(self.too_long());
            }
            if self.done {
                if self.start == self.buf.len() {
                    return Ok(None);
                }
                self.count += 1;
                let line = self.buf[self.start..].to_vec();
                self.start = self.buf.len();
                return Ok(Some(line));
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.received > self.limits.max_commit_bytes {
                        return Err(self.limits.exceeded(
                            Limit::CommitBytes,
                            "the commit body is too long (send large files through LFS)",
                        ));
                    }
                    // Drop the lines already returned (copying the partial one to the front)
                    // before the buffer grows: not once per line, which was quadratic.
                    self.buf.drain(..self.start);
                    scanned -= self.start;
                    self.start = 0;
                    self.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => {
                    return Err(ApiError::BadRequest(format!("the commit body was cut off: {e}")));
                }
                None => self.done = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(body: &'static [u8], max: usize) -> Vec<Result<Vec<u8>, u16>> {
        let limits = Limits {
            max_line_bytes: max,
            max_commit_bytes: 40,
            ..Limits::default()
        };
        read_lines(Body::from(body), &limits).await
    }

    async fn read_lines(body: Body, limits: &Limits) -> Vec<Result<Vec<u8>, u16>> {
        let mut reader = LineReader::new(body, limits);
        let mut out = Vec::new();
        loop {
            match reader.next().await {
                Ok(Some(line)) => out.push(Ok(line)),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(axum::response::IntoResponse::into_response(e)
                        .status()
                        .as_u16()));
                    return out;
                }
            }
        }
    }

    #[tokio::test]
    async fn line_limit_holds_wherever_the_newline_is() {
        // The whole body arrives as one chunk: the long line's newline is already buffered.
        assert_eq!(
            lines(b"short\n0123456789ab\nafter\n", 10).await,
            [Ok(b"short".to_vec()), Err(413)]
        );
        assert_eq!(lines(b"0123456789ab", 10).await, [Err(413)]);
        // Exactly at the limit is fine, with or without a final newline.
        assert_eq!(
            lines(b"0123456789\n0123456789", 10).await,
            [Ok(b"0123456789".to_vec()), Ok(b"0123456789".to_vec())]
        );
        // The body as a whole is held to its own limit (40 bytes here).
        assert_eq!(
            lines(b"0123456789\n0123456789\n0123456789\n0123456789\n", 10).await,
            [Err(413)]
        );
    }

    /// What the reader must answer: the body's lines, up to the first longer than `max` (a
    /// 413), whatever the chunks it arrives in.
    fn expected(body: &[u8], max: usize) -> Vec<Result<Vec<u8>, u16>> {
        let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
        if body.is_empty() || body.ends_with(b"\n") {
            lines.pop();
        }
        let mut out = Vec::new();
        for line in lines {
            if line.len() > max {
                out.push(Err(413));
                break;
            }
            out.push(Ok(line.to_vec()));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn lines_are_the_same_in_any_chunks(
            body in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'\n'), proptest::prelude::any::<u8>()], 0..200),
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..8),
            max in 0usize..24,
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(body.len());
            let mut chunks = Vec::new();
            let mut at = 0;
            for cut in cuts {
                chunks.push(Ok::<_, std::convert::Infallible>(body[at..cut].to_vec()));
                at = cut;
            }
            let stream = futures_util::stream::iter(chunks);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let limits = Limits { max_line_bytes: max, ..Limits::default() };
            let got = runtime.block_on(read_lines(Body::from_stream(stream), &limits));
            proptest::prop_assert_eq!(got, expected(&body, max));
        }
    }

    #[tokio::test]
    async fn many_short_lines_split_in_linear_time() {
        // 1 MiB of empty lines in one chunk: copying the rest of the buffer after each line
        // took 18 s (a 400 kB chunk, as hyper hands them, 3 s of an async worker); copying
        // each byte once takes milliseconds.
        let limits = Limits {
            max_line_bytes: 10,
            ..Limits::default()
        };
        let mut reader = LineReader::new(Body::from(vec![b'\n'; 1 << 20]), &limits);
        let started = std::time::Instant::now();
        let mut count = 0;
        while let Some(line) = reader.next().await.unwrap() {
            assert!(line.is_empty());
            count += 1;
        }
        assert_eq!(count, 1 << 20);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
