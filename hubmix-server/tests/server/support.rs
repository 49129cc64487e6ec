//! Shared test machinery: a server per test (in-process or the real binary), an HTTP client
//! that never turns statuses into errors, and helpers for the Hub calls the tests make.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use hubmix_server::{Role, RunningServer, ServerConfig};
use serde_json::{Value, json};
use sha1::Digest as _;
use tempfile::TempDir;
use ureq::Agent;
use ureq::http::HeaderMap;

/// Write token of `alice`, who is also a member of the organisation `team`.
pub const ALICE: &str = "tok-alice-write";
/// Read-only token of `alice`.
pub const ALICE_READ: &str = "tok-alice-read";
/// Write token of `bob`, who is not a member of anything.
pub const BOB: &str = "tok-bob-write";

/// The users every test server knows.
pub fn users(config: ServerConfig) -> ServerConfig {
    config
        .user("alice", ALICE, Role::Write)
        .user("alice", ALICE_READ, Role::Read)
        .user("bob", BOB, Role::Write)
        .org("team", &["alice"])
}

/// An in-process server on its own temporary root.
pub struct Hub {
    /// The running server.
    pub server: RunningServer,
    /// Keeps the data folder alive as long as the server.
    pub dir: TempDir,
}

impl Hub {
    /// A server with the test users and default limits.
    pub fn start() -> Hub {
        Hub::with(|c| c)
    }

    /// A server with the test users and the limits `tune` sets.
    pub fn with(tune: impl FnOnce(ServerConfig) -> ServerConfig) -> Hub {
        let dir = tempfile::tempdir().expect("temporary folder");
        let server = hubmix_server::spawn(tune(users(ServerConfig::new(dir.path())))).expect("server starts");
        Hub { server, dir }
    }

    /// A client that authenticates with `token`.
    pub fn client(&self, token: &str) -> Client {
        Client::new(self.server.url(), Some(token))
    }

    /// A client that sends no credentials.
    pub fn anonymous(&self) -> Client {
        Client::new(self.server.url(), None)
    }
}

/// A repository of one type, and the URL paths of its calls.
#[derive(Debug, Clone)]
pub struct Repo {
    /// `models` or `datasets`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub id: String,
}

impl Repo {
    /// A model repository.
    pub fn model(id: &str) -> Repo {
        Repo {
            kind: "models",
            id: id.to_owned(),
        }
    }

    /// A dataset repository.
    pub fn dataset(id: &str) -> Repo {
        Repo {
            kind: "datasets",
            id: id.to_owned(),
        }
    }

    /// `/api/{type}/{id}{rest}`.
    pub fn api(&self, rest: &str) -> String {
        format!("/api/{}/{}{rest}", self.kind, self.id)
    }

    fn web_prefix(&self) -> &'static str {
        if self.kind == "datasets" { "/datasets" } else { "" }
    }

    /// `/{prefix}{id}/resolve/{rev}/{path}` (`rev` percent-encoded by the caller if needed).
    pub fn resolve(&self, rev: &str, path: &str) -> String {
        format!("{}/{}/resolve/{rev}/{path}", self.web_prefix(), self.id)
    }

    /// The LFS batch endpoint.
    pub fn batch(&self) -> String {
        format!("{}/{}.git/info/lfs/objects/batch", self.web_prefix(), self.id)
    }

    /// The body of a create or delete call.
    pub fn body(&self) -> Value {
        let (ns, name) = self.id.split_once('/').expect("namespace/name");
        let mut body = json!({"name": name, "organization": ns});
        if self.kind == "datasets" {
            body["type"] = "dataset".into();
        }
        body
    }
}

/// A whole answer, read.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body (empty for `HEAD`).
    pub body: Vec<u8>,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a success status and returns the JSON body.
    pub fn ok_json(&self) -> Value {
        self.assert_status(200);
        self.json()
    }

    /// Asserts the status, showing the body otherwise.
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; X-Error-Message: {:?}; body: {}",
            self.header("x-error-message"),
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an error answer as the Hub shapes it: `status`, `X-Error-Code: code`, a non-empty
    /// `X-Error-Message` and the same message as `{"error"}` in a JSON body. Returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        self.assert_status(status);
        assert_eq!(self.header("x-error-code"), Some(code), "X-Error-Code");
        let message = self
            .header("x-error-message")
            .expect("X-Error-Message")
            .to_owned();
        assert!(!message.is_empty(), "empty X-Error-Message");
        let body = self.json();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "no error in body: {body}"
        );
        message
    }
}

/// An HTTP client for one server and one identity.
#[derive(Clone)]
pub struct Client {
    agent: Agent,
    /// The server's URL, without a trailing slash.
    pub base: String,
    token: Option<String>,
}

/// The body of a request.
pub enum Body<'a> {
    /// No body.
    Empty,
    /// A content type and the bytes.
    Bytes(&'a str, &'a [u8]),
    /// Bytes streamed (chunked) from a reader.
    Stream(Box<dyn Read + Send>),
}

impl Client {
    /// A client of the server at `base`.
    pub fn new(base: &str, token: Option<&str>) -> Client {
        Client {
            agent: agent(Duration::from_secs(120)),
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        }
    }

    /// The same client, on a connection pool of its own, giving up on a request after `limit`.
    pub fn timeout(&self, limit: Duration) -> Client {
        Client {
            agent: agent(limit),
            ..self.clone()
        }
    }

    /// The same server with another identity (`None`: anonymous).
    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }

    /// An absolute URL: `path_or_url` as is if it has a scheme, else under the base.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// Sends a request; `Err` only when no answer came back.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Reply, ureq::Error> {
        let url = self.url(path);
        let request = ureq::http::Request::builder().method(method).uri(&url);
        let mut request = match &self.token {
            Some(t) => request.header("authorization", format!("Bearer {t}")),
            None => request,
        };
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = match body {
            Body::Empty => self.agent.run(request.body(()).expect("request"))?,
            Body::Bytes(content_type, bytes) => self.agent.run(
                request
                    .header("content-type", content_type)
                    .body(bytes.to_vec())
                    .expect("request"),
            )?,
            Body::Stream(reader) => self.agent.run(
                request
                    .header("content-type", "application/octet-stream")
                    .body(ureq::SendBody::from_owned_reader(reader))
                    .expect("request"),
            )?,
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            response.body_mut().with_config().limit(u64::MAX).read_to_vec()?
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends a request and reads the answer.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Body<'_>) -> Reply {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// `GET`.
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Body::Empty)
    }

    /// `HEAD`.
    pub fn head(&self, path: &str) -> Reply {
        self.send("HEAD", path, &[], Body::Empty)
    }

    /// `DELETE` without a body.
    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], Body::Empty)
    }

    /// `method` with a JSON body.
    pub fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("JSON");
        self.send(method, path, &[], Body::Bytes("application/json", &bytes))
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.json("POST", path, body)
    }

    /// Creates `repo` (public) and asserts success.
    pub fn create(&self, repo: &Repo) -> Value {
        self.post("/api/repos/create", &repo.body()).ok_json()
    }

    /// Sends an NDJSON commit made of `lines` to `rev` (percent-encoded by the caller).
    pub fn commit(&self, repo: &Repo, rev: &str, lines: &[Value]) -> Reply {
        self.commit_raw(repo, rev, ndjson(lines).as_bytes())
    }

    /// Sends raw bytes as an NDJSON commit body.
    pub fn commit_raw(&self, repo: &Repo, rev: &str, body: &[u8]) -> Reply {
        self.send(
            "POST",
            &repo.api(&format!("/commit/{rev}")),
            &[],
            Body::Bytes("application/x-ndjson", body),
        )
    }

    /// Commits `files` (inline) to `main` and returns the new commit id.
    pub fn commit_files(&self, repo: &Repo, files: &[(&str, &[u8])]) -> String {
        let mut lines = vec![header("add files")];
        lines.extend(files.iter().map(|(p, c)| file_line(p, c)));
        let reply = self.commit(repo, "main", &lines).ok_json();
        reply["commitOid"].as_str().expect("commitOid").to_owned()
    }

    /// The head of `branch`, through the refs listing.
    pub fn head_of(&self, repo: &Repo, branch: &str) -> String {
        let refs = self.get(&repo.api("/refs?include_prs=1")).ok_json();
        refs["branches"]
            .as_array()
            .expect("branches")
            .iter()
            .find(|b| b["name"] == branch)
            .unwrap_or_else(|| panic!("no branch {branch} in {refs}"))["targetCommit"]
            .as_str()
            .expect("targetCommit")
            .to_owned()
    }

    /// Every file path of `rev`, sorted.
    pub fn files(&self, repo: &Repo, rev: &str) -> Vec<String> {
        let items = self
            .get(&repo.api(&format!("/tree/{rev}?recursive=true")))
            .ok_json();
        let mut paths: Vec<String> = items
            .as_array()
            .expect("tree array")
            .iter()
            .filter(|i| i["type"] == "file")
            .map(|i| i["path"].as_str().expect("path").to_owned())
            .collect();
        paths.sort();
        paths
    }

    /// The state of `repo` that a refused request must leave alone: every ref with its target,
    /// and the file list of `main`.
    pub fn snapshot(&self, repo: &Repo) -> (Value, Vec<String>) {
        (
            self.get(&repo.api("/refs?include_prs=1")).ok_json(),
            self.files(repo, "main"),
        )
    }

    /// Downloads a file and asserts success.
    pub fn download(&self, repo: &Repo, rev: &str, path: &str) -> Vec<u8> {
        let reply = self.get(&repo.resolve(rev, path));
        reply.assert_status(200);
        reply.body
    }

    /// Asks the LFS batch API where to upload `objects` (oid, size) with these `transfers`.
    pub fn batch(&self, repo: &Repo, objects: &[(&str, u64)], transfers: &[&str]) -> Reply {
        let objects: Vec<Value> = objects
            .iter()
            .map(|(o, s)| json!({"oid": o, "size": s}))
            .collect();
        let body =
            json!({"operation": "upload", "transfers": transfers, "objects": objects, "hash_algo": "sha256"});
        let bytes = serde_json::to_vec(&body).expect("JSON");
        self.send(
            "POST",
            &repo.batch(),
            &[("accept", "application/vnd.git-lfs+json")],
            Body::Bytes("application/vnd.git-lfs+json", &bytes),
        )
    }

    /// Uploads `content` through a basic LFS transfer, verifies it, and returns its oid.
    pub fn upload_lfs(&self, repo: &Repo, content: &[u8]) -> String {
        let oid = sha256_hex(content);
        let answer = self
            .batch(repo, &[(&oid, content.len() as u64)], &["basic"])
            .ok_json();
        let object = &answer["objects"][0];
        if object.get("actions").is_none() {
            return oid; // already there
        }
        let put = object["actions"]["upload"]["href"].as_str().expect("upload href");
        // The Python client sends the PUT without credentials.
        let anonymous = self.with_token(None);
        anonymous
            .send("PUT", put, &[], Body::Bytes("application/octet-stream", content))
            .assert_status(200);
        self.verify(object).assert_status(200);
        oid
    }

    /// Calls the verify action of a batch object.
    pub fn verify(&self, object: &Value) -> Reply {
        let href = object["actions"]["verify"]["href"].as_str().expect("verify href");
        self.post(href, &json!({"oid": object["oid"], "size": object["size"]}))
    }
}

/// An agent that never turns statuses into errors nor follows redirects, giving up after `limit`.
fn agent(limit: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(limit))
        .build()
        .into()
}

/// Runs `check` and names the case if it panics.
pub fn case(name: &str, check: impl FnOnce()) {
    if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
        let why = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        panic!("case {name:?} failed: {why}");
    }
}

/// The `Link` next URL of a page, if any.
pub fn next_link(reply: &Reply) -> Option<String> {
    let link = reply.header("link")?;
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(
        link.trim_start_matches('<')
            .split('>')
            .next()
            .expect("<url>")
            .to_owned(),
    )
}

/// Every page of a listing from `first`, following the `Link`s (asserting that each is absolute
/// on the server's URL).
pub fn pages(client: &Client, first: &str) -> Vec<Reply> {
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    loop {
        let reply = client.get(&url);
        reply.assert_status(200);
        let next = next_link(&reply);
        pages.push(reply);
        match next {
            Some(next) => {
                assert!(next.starts_with(&client.base), "Link is not absolute: {next}");
                url = next;
            }
            None => return pages,
        }
    }
}

/// Follows `Link` pages from `first`: every item, and how many pages there were.
pub fn all_pages(client: &Client, first: &str) -> (Vec<Value>, usize) {
    let pages = pages(client, first);
    let items = pages
        .iter()
        .flat_map(|p| p.json().as_array().expect("page").clone())
        .collect();
    (items, pages.len())
}

/// NDJSON text of `lines`.
pub fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A commit header line.
pub fn header(summary: &str) -> Value {
    json!({"key": "header", "value": {"summary": summary, "description": ""}})
}

/// A commit header line with `parentCommit`.
pub fn header_with_parent(summary: &str, parent: &str) -> Value {
    json!({"key": "header", "value": {"summary": summary, "description": "", "parentCommit": parent}})
}

/// An inline file line (base64).
pub fn file_line(path: &str, content: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(content);
    json!({"key": "file", "value": {"path": path, "content": b64, "encoding": "base64"}})
}

/// An `lfsFile` line.
pub fn lfs_line(path: &str, oid: &str, size: u64) -> Value {
    json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}})
}

/// SHA-256 in hex.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(content))
}

/// The git blob id of `content`.
pub fn git_sha1(content: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())
}

/// `n` bytes of a fixed pseudo-random pattern (distinct per `seed`).
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A random number below `bound`.
pub fn random_below(bound: u64) -> u64 {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).expect("random bytes");
    u64::from_le_bytes(buf) % bound.max(1)
}

/// Every regular file below `dir` (recursively).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The `hubmix-server` binary, run as a child process on a fixed root.
pub struct Proc {
    child: Child,
    /// The server's URL.
    pub url: String,
    /// The thread that collects what the process writes to stderr, until it exits.
    stderr: Option<JoinHandle<String>>,
}

impl Proc {
    /// Starts the binary on `root` with the test users and `args`, with `failpoint` set (or
    /// not), and waits until it listens.
    pub fn start(root: &Path, failpoint: Option<&str>, args: &[&str]) -> Proc {
        Proc::start_binary(
            Path::new(env!("CARGO_BIN_EXE_hubmix-server")),
            root,
            failpoint,
            args,
        )
    }

    /// [`start`](Self::start) with another build of the binary (the release build, say).
    pub fn start_binary(binary: &Path, root: &Path, failpoint: Option<&str>, args: &[&str]) -> Proc {
        let mut cmd = Command::new(binary);
        cmd.arg("--root")
            .arg(root)
            .args(["--bind", "127.0.0.1:0"])
            .args(["--token", &format!("alice:{ALICE}:write")])
            .args(["--token", &format!("alice:{ALICE_READ}:read")])
            .args(["--token", &format!("bob:{BOB}:write")])
            .args(["--org", "team:alice"])
            .args(args)
            .env("RUST_LOG", "hubmix_server=info")
            .env("NO_COLOR", "1")
            .env_remove("HUBMIX_SERVER_FAILPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(point) = failpoint {
            cmd.env("HUBMIX_SERVER_FAILPOINT", point);
        }
        let mut child = cmd.spawn().expect("start hubmix-server");
        let pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(pipe).read_to_string(&mut text);
            text
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(rest) = line.split("hubmix-server listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(addr);
                    sent = true;
                }
                // Keep draining so that logging never blocks the server.
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hubmix-server did not start: {}",
                    stderr.join().unwrap_or_default()
                );
            }
        };
        Proc {
            child,
            url: format!("http://{addr}"),
            stderr: Some(stderr),
        }
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of this process.
    pub fn client(&self, token: &str) -> Client {
        Client::new(&self.url, Some(token))
    }

    /// How the process ended and what it wrote to stderr, if it has ended.
    pub fn exited(&mut self) -> Option<(ExitStatus, String)> {
        let ended = self.child.try_wait().expect("try_wait");
        ended.map(|_| self.wait_for_exit())
    }

    /// Waits (bounded) for the process to end by itself; returns how it ended and what it
    /// wrote to stderr.
    pub fn wait_for_exit(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let stderr = self.stderr.take().map(|t| t.join().unwrap_or_default());
                return (status, stderr.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "hubmix-server did not die");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `kill -9`, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Asserts what a crash must never break, for every repository in `repos`: every ref resolves;
/// every file of every ref's tree downloads with the commit in `X-Repo-Commit`, its bytes hash to
/// its `ETag` and match the tree's ids; nothing is left in `<root>/tmp`. Returns the head of
/// each repository's `main`.
pub fn assert_consistent(client: &Client, root: &Path, repos: &[Repo]) -> BTreeMap<String, String> {
    let leftovers = files_below(&root.join("tmp"));
    assert!(leftovers.is_empty(), "files left in tmp/: {leftovers:?}");
    let mut heads = BTreeMap::new();
    for repo in repos {
        let refs = client.get(&repo.api("/refs?include_prs=1")).ok_json();
        for kind in ["branches", "tags", "pullRequests"] {
            for r in refs[kind].as_array().expect("ref list") {
                let target = r["targetCommit"].as_str().expect("targetCommit");
                let name = r["name"].as_str().expect("name");
                if kind == "branches" && name == "main" {
                    heads.insert(repo.id.clone(), target.to_owned());
                }
                let full = r["ref"].as_str().expect("ref").replace('/', "%2F");
                let info = client.get(&repo.api(&format!("/revision/{full}"))).ok_json();
                assert_eq!(info["sha"], target, "{} {name} does not resolve", repo.id);
                let tree = client
                    .get(&repo.api(&format!("/tree/{target}?recursive=true")))
                    .ok_json();
                for item in tree
                    .as_array()
                    .expect("tree")
                    .iter()
                    .filter(|i| i["type"] == "file")
                {
                    let path = item["path"].as_str().expect("path");
                    let reply = client.get(&repo.resolve(target, path));
                    reply.assert_status(200);
                    assert_eq!(reply.header("x-repo-commit"), Some(target));
                    let etag = reply.header("etag").expect("ETag").trim_matches('"').to_owned();
                    if item.get("lfs").is_some() {
                        assert_eq!(sha256_hex(&reply.body), etag, "{path} at {target}: bytes vs ETag");
                        assert_eq!(item["lfs"]["oid"], etag.as_str());
                    } else {
                        assert_eq!(git_sha1(&reply.body), etag, "{path} at {target}: bytes vs ETag");
                        assert_eq!(item["oid"], etag.as_str());
                    }
                    assert_eq!(item["size"], reply.body.len() as u64, "{path}: size");
                }
            }
        }
    }
    heads
}

/// Raises the open-file limit of the test process as far as it goes (the processes it starts
/// inherit it): the socket attacks open more sockets than a default limit of 1024 allows.
/// Returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
            && soft < hard
        {
            let raised = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            setrlimit(Resource::Nofile, raised).expect("raise the open-file limit");
        }
        getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
    }
    #[cfg(not(unix))]
    u64::MAX
}

/// `n` connections that send nothing.
pub fn idle_sockets(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect()
}

/// Connections that send a byte every 200 ms until dropped.
pub struct Drip {
    /// The connections.
    pub sockets: Vec<TcpStream>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drip {
    /// `n` new connections to `addr` that send a request head a byte at a time, never
    /// finishing it: each read of the server gets something, but the head never completes.
    pub fn start(addr: SocketAddr, n: usize) -> Drip {
        let head = b"GET /api/models HTTP/1.1\r\nX-Slow: ";
        Drip::over(idle_sockets(addr, n), head.iter().copied())
    }

    /// `sockets` (which may have sent part of a request already) that send `first`, then `a`
    /// after `a`.
    pub fn over(sockets: Vec<TcpStream>, first: impl Iterator<Item = u8> + Send + 'static) -> Drip {
        let writers: Vec<TcpStream> = sockets.iter().map(|s| s.try_clone().expect("clone")).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                for byte in first.chain(std::iter::repeat(b'a')) {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    for mut w in &writers {
                        // Closed by the server: fine, that is what the tests wait for.
                        let _ = w.write_all(&[byte]);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        Drip {
            sockets,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Drip {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether a read failed because the server closed the connection (a reset, not a timeout).
pub fn closed_by_peer(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// Asserts that the server closes every socket by `deadline`: reads end (end of stream or
/// reset) rather than time out.
pub fn assert_closed_by(sockets: &mut [TcpStream], deadline: Instant, what: &str) {
    for (i, s) in sockets.iter_mut().enumerate() {
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if closed_by_peer(&e) => {
                    break;
                }
                Err(e) => panic!("{what} socket {i} is still open past the deadline: {e}"),
            }
        }
    }
}

/// The address of a URL (`http://host:port/...`).
pub fn addr_of(url: &str) -> SocketAddr {
    let host = url.trim_start_matches("http://").split('/').next().expect("host");
    host.parse().expect("an address")
}
