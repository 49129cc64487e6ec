//! Hostile input against the release build of the real binary, run under an address-space
//! limit so that a leak or an allocation sized by the attacker fails the test, not the machine:
//! YAML bombs by every route that parses YAML, crafted LFS sizes and replayed transfer URLs,
//! oversized, deep and malformed bodies, path tricks, commits of huge operation counts and
//! bodies, listings of a big repository, pull-request floods, and thousands of idle and slow
//! sockets on both ports. After each attack the process is alive, answers a normal request and a
//! download from its blob host within [`LIVENESS`], and the victim repository has the same head,
//! files and bytes as before.
//!
//! The binary is `$HUBMIX_SERVER_RELEASE_BIN` (`.ci/run` builds it first). Outside CI, when that
//! is not set, the first test builds it with `cargo build --release`; under CI a missing binary
//! fails the suite.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, SocketType};
use rustix::process::{Pid, Resource, Rlimit};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{
    ALICE, BOB, Body, Client, Drip, Proc, Reply, Repo, addr_of, assert_closed_by, case, file_line,
    files_below, header, lfs_line, ndjson, next_link, pattern, raise_fd_limit, sha256_hex,
};

/// The address space the server may map: several times what it maps under normal traffic
/// (about 200 MiB idle, 2 runtime workers and a blocking pool), far below what the attacks
/// would make it allocate.
const ADDRESS_SPACE: u64 = 2 << 30;
/// How soon a normal request must be answered, after or during an attack.
const LIVENESS: Duration = Duration::from_secs(5);
/// How long an attack request may take before the test gives up on its answer.
const ATTACK_TIMEOUT: Duration = Duration::from_secs(60);
/// Part size of multipart uploads: small, so that a crafted size means many parts.
const PART_SIZE: u64 = 1024;
/// The largest LFS object the server takes by default (50 GiB).
const MAX_LFS_OBJECT: u64 = 50 << 30;

/// The release build of `hubmix-server`.
fn release_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("HUBMIX_SERVER_RELEASE_BIN") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "HUBMIX_SERVER_RELEASE_BIN={} is not a file",
                path.display()
            );
            return path;
        }
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(
            !in_ci,
            "HUBMIX_SERVER_RELEASE_BIN is not set: in CI, build the release server first \
             (`cargo build --release -p hubmix-server --bin hubmix-server`, as .ci/run does) and name \
             it there; the hostile-input suite does not skip"
        );
        // The test binary's own build of the server is `<target>/debug/hubmix-server`.
        let target = Path::new(env!("CARGO_BIN_EXE_hubmix-server"))
            .parent()
            .and_then(Path::parent)
            .expect("the server binary lies in <target>/<profile>/");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "-p", "hubmix-server"])
            .args(["--bin", "hubmix-server"])
            .env("CARGO_TARGET_DIR", target)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build --release");
        assert!(status.success(), "cargo build --release failed: {status}");
        target.join("release").join("hubmix-server")
    })
}

/// Whether the release binary takes `flag` (the deadlines and caps of the network hardening).
fn supports(flag: &str) -> bool {
    static HELP: OnceLock<String> = OnceLock::new();
    let help = HELP.get_or_init(|| {
        let out = Command::new(release_binary())
            .arg("--help")
            .output()
            .expect("run hubmix-server --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '=')
        .any(|word| word == flag)
}

/// A file of the victim repository with its bytes.
type Files = Vec<(String, Vec<u8>)>;

/// The release server with a victim repository to protect.
struct Target {
    /// The test, for the memory line printed at the end.
    name: &'static str,
    server: Proc,
    dir: TempDir,
    alice: Client,
    victim: Repo,
    /// The victim's head and files before any attack.
    head: String,
    files: Files,
    /// A signed URL of the victim's LFS file on the blob host.
    blob_url: String,
}

impl Target {
    /// Starts the release binary with `--lfs-cdn` and `args` under [`ADDRESS_SPACE`], and fills
    /// the victim `alice/victim`: a card, two small files and an LFS file of 8 MiB (more than
    /// the socket buffers hold, for the slow readers).
    fn start(name: &'static str, args: &[&str]) -> Target {
        let dir = tempfile::tempdir().expect("temporary folder");
        let part = PART_SIZE.to_string();
        let mut all = vec!["--lfs-cdn", "--lfs-part-size", &part];
        all.extend_from_slice(args);
        let server = Proc::start_binary(release_binary(), dir.path(), None, &all);
        let pid = Pid::from_raw(server.pid() as i32).expect("a child's pid is positive");
        let limit = Rlimit {
            current: Some(ADDRESS_SPACE),
            maximum: Some(ADDRESS_SPACE),
        };
        rustix::process::prlimit(Some(pid), Resource::As, limit).expect("limit the server's address space");

        let alice = server.client(ALICE);
        let victim = Repo::model("alice/victim");
        alice.create(&victim);
        alice.commit_files(
            &victim,
            &[
                ("README.md", b"---\nlicense: mit\ntags: [victim]\n---\n# Victim\n"),
                ("a.txt", b"hello\n"),
                ("sub/b.txt", b"bee"),
            ],
        );
        let weights = pattern(8 << 20, 1);
        let oid = alice.upload_lfs(&victim, &weights);
        alice
            .commit(
                &victim,
                "main",
                &[
                    header("weights"),
                    lfs_line("weights.bin", &oid, weights.len() as u64),
                ],
            )
            .assert_status(200);
        let redirect = alice.get(&victim.resolve("main", "weights.bin"));
        redirect.assert_status(302);
        let blob_url = redirect.header("location").expect("Location").to_owned();
        let (head, files) = state(&alice, &victim);
        assert_eq!(
            files.len(),
            5,
            "{:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        Target {
            name,
            server,
            dir,
            alice,
            victim,
            head,
            files,
            blob_url,
        }
    }

    /// A client of the server as `token` (`None`: anonymous) whose requests give up after
    /// [`ATTACK_TIMEOUT`].
    fn client(&self, token: Option<&str>) -> Client {
        self.alice.with_token(token).timeout(ATTACK_TIMEOUT)
    }

    /// The server's main port.
    fn api_addr(&self) -> SocketAddr {
        addr_of(&self.server.url)
    }

    /// The blob host's port.
    fn blob_addr(&self) -> SocketAddr {
        addr_of(&self.blob_url)
    }

    /// The path and query of the blob URL.
    fn blob_target(&self) -> &str {
        let rest = self.blob_url.split_once("://").map_or("", |(_, r)| r);
        rest.find('/').map_or("/", |i| &rest[i..])
    }

    /// Asserts what every attack must leave: the process alive, a normal request and a blob
    /// download each answered within [`LIVENESS`], and the victim as it was.
    fn assert_alive(&mut self, after: &str) {
        if let Some(death) = self.death() {
            panic!("{after}: {death}");
        }
        self.assert_answers(after);
        let (head, files) = state(&self.alice, &self.victim);
        assert_eq!(head, self.head, "{after}: the victim's main moved");
        assert!(
            files == self.files,
            "{after}: the victim's files changed: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
    }

    /// Asserts that an anonymous repository info and a download from the blob host are each
    /// answered within [`LIVENESS`].
    fn assert_answers(&self, during: &str) {
        let quick = self.alice.with_token(None).timeout(LIVENESS);
        let started = Instant::now();
        let info = quick
            .try_send("GET", &self.victim.api(""), &[], Body::Empty)
            .unwrap_or_else(|e| panic!("{during}: no answer to a normal request within {LIVENESS:?}: {e}"));
        info.assert_status(200);
        assert_eq!(info.json()["sha"], self.head.as_str(), "{during}");
        let blob = quick
            .try_send("GET", &self.blob_url, &[], Body::Empty)
            .unwrap_or_else(|e| panic!("{during}: no download from the blob host within {LIVENESS:?}: {e}"));
        blob.assert_status(200);
        assert_eq!(blob.body.len(), 8 << 20, "{during}: blob length");
        eprintln!(
            "hostile/{}: {during}: normal request and download in {:.0} ms",
            self.name,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }

    /// How the server died and the end of what it wrote, if it has died.
    fn death(&mut self) -> Option<String> {
        let (status, stderr) = self.server.exited()?;
        let start = stderr.len().saturating_sub(2000);
        let start = (start..stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(0);
        Some(format!(
            "the server died ({status}); the end of its stderr:\n{}",
            &stderr[start..]
        ))
    }

    /// Every file of the blob store and of `tmp/`, to show that a refusal wrote nothing.
    fn stored_files(&self) -> Vec<PathBuf> {
        let mut files = files_below(&self.dir.path().join("blobs"));
        files.extend(files_below(&self.dir.path().join("tmp")));
        files.sort();
        files
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(death) = self.death() {
            eprintln!("hostile/{}: {death}", self.name);
            return;
        }
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.server.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or_else(|| "?".to_owned(), |kib| (kib / 1024).to_string())
        };
        eprintln!(
            "hostile/{}: server peak RSS {} MiB, peak address space {} MiB (limit {} MiB)",
            self.name,
            field("VmHWM:"),
            field("VmPeak:"),
            ADDRESS_SPACE >> 20
        );
    }
}

/// The head of `repo`'s `main` and every file there with its bytes (LFS files through the blob
/// host, as clients get them).
fn state(client: &Client, repo: &Repo) -> (String, Files) {
    let head = client.get(&repo.api("")).ok_json()["sha"]
        .as_str()
        .expect("sha")
        .to_owned();
    let files = client
        .files(repo, &head)
        .into_iter()
        .map(|path| {
            let reply = client.get(&repo.resolve(&head, &path));
            let reply = match reply.status {
                302 => client
                    .with_token(None)
                    .get(reply.header("location").expect("Location")),
                _ => reply,
            };
            reply.assert_status(200);
            (path, reply.body)
        })
        .collect();
    (head, files)
}

/// Sends a write of a test's setup (not its attack), waiting out the write rate limit.
fn patient(send: impl Fn() -> Reply) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = send();
        if reply.status != 429 {
            return reply;
        }
        let wait = reply
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 10);
        assert!(
            Instant::now() + Duration::from_secs(wait) < deadline,
            "the write rate limit held the setup back for a minute"
        );
        std::thread::sleep(Duration::from_secs(wait));
    }
}

/// `content` as a card README committed as an LFS file of `repo` (which skips the commit's card
/// check, or is refused by it), then every route that reads the card: each must answer in time.
fn card_by_lfs(target: &mut Target, repo: &Repo, content: &[u8], what: &str) {
    let alice = target.client(Some(ALICE));
    patient(|| alice.post("/api/repos/create", &repo.body())).assert_status(200);
    let oid = alice.upload_lfs(repo, content);
    let committed = patient(|| {
        alice.commit(
            repo,
            "main",
            &[header("card"), lfs_line("README.md", &oid, content.len() as u64)],
        )
    });
    if committed.status != 200 {
        assert_card_refused(&committed);
    }
    let quick = alice.with_token(None).timeout(LIVENESS);
    for url in [
        "/api/models".to_owned(),
        "/api/models?full=true".to_owned(),
        "/api/models?cardData=true".to_owned(),
        "/api/models?filter=victim".to_owned(),
        "/api/models?search=card".to_owned(),
        repo.api(""),
        repo.api("/revision/main"),
    ] {
        case(&format!("{what}: GET {url}"), || {
            quick
                .try_send("GET", &url, &[], Body::Empty)
                .unwrap_or_else(|e| panic!("no answer within {LIVENESS:?}: {e}"))
                .assert_status(200);
        });
    }
    target.assert_alive(what);
}

/// Asserts the refusal of a card by a limit: `400 BadRequest` (too deep), or `413
/// PayloadTooLarge` (too many values or bytes; the limits answer counts with it).
fn assert_card_refused(reply: &Reply) {
    match reply.status {
        413 => reply.assert_error(413, "PayloadTooLarge"),
        _ => reply.assert_error(400, "BadRequest"),
    };
}

/// The nested alias bomb of the issue: `levels` levels of ten aliases of the level below.
fn nested_alias_bomb(levels: usize) -> String {
    let mut yaml = String::from("---\na0: &a0 [x]\n");
    for level in 1..=levels {
        let refs = vec![format!("*a{}", level - 1); 10].join(",");
        yaml.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    yaml.push_str("---\n");
    yaml
}

/// A scalar of `bytes` bytes, aliased `count` times: each alias is one value, but as many
/// bytes as the scalar once loaded.
fn scalar_alias_bomb(bytes: usize, count: usize) -> String {
    let refs = vec!["*s"; count].join(",");
    format!("---\ns: &s {}\nb: [{refs}]\n---\n", "x".repeat(bytes))
}

/// Sends `card` as `README.md` through `/api/validate-yaml` and inline commits (to `main`
/// and as a pull request) of the victim: each a 400.
fn card_inline(target: &mut Target, card: &str, what: &str) {
    let anonymous = target.client(None);
    case(&format!("{what}: validate-yaml"), || {
        let reply = anonymous.post("/api/validate-yaml", &json!({"content": card}));
        // The validation's own answer, or the error of a limit.
        if reply.header("x-error-code").is_some() {
            assert_card_refused(&reply);
        } else {
            reply.assert_status(400);
            let errors = reply.json();
            assert!(errors["errors"][0]["message"].is_string(), "{errors}");
        }
    });
    target.assert_alive(&format!("{what} through validate-yaml"));
    let alice = target.client(Some(ALICE));
    for rev in ["main", "main?create_pr=1"] {
        case(&format!("{what}: commit to {rev}"), || {
            let reply = patient(|| {
                alice.commit(
                    &target.victim,
                    rev,
                    &[header("card"), file_line("README.md", card.as_bytes())],
                )
            });
            assert_card_refused(&reply);
        });
        target.assert_alive(&format!("{what} committed to {rev}"));
    }
}

#[test]
fn yaml_bombs_by_every_route_that_parses_yaml() {
    let mut target = Target::start("yaml", &[]);
    let deep = format!("---\na: {}1{}\n---\n", "[".repeat(50_000), "]".repeat(50_000));
    let wide = format!("---\na: [{}]\n---\n", vec!["1"; 300_000].join(","));
    let cards = [
        ("nested alias bomb", nested_alias_bomb(9)),
        ("deep nesting", deep),
        ("300,000 values", wide),
    ];
    for (what, card) in &cards {
        card_inline(&mut target, card, what);
    }
    // As an LFS file the card skips the commit's check: every read of it must stay bounded.
    for (n, (what, card)) in cards.iter().enumerate() {
        let repo = Repo::model(&format!("alice/card{n}"));
        card_by_lfs(
            &mut target,
            &repo,
            card.as_bytes(),
            &format!("{what} as an LFS README"),
        );
    }
}

#[test]
fn yaml_alias_of_a_large_scalar_is_refused() {
    // 256 KiB aliased 99,000 times: under the count of values, 25 GB once loaded.
    let card = scalar_alias_bomb(256 << 10, 99_000);
    assert!(card.len() < 1 << 20, "small enough to be read as a card");
    let mut target = Target::start("yaml-scalar", &[]);
    card_inline(&mut target, &card, "aliases of a large scalar");
    card_by_lfs(
        &mut target,
        &Repo::model("alice/scalar-card"),
        card.as_bytes(),
        "aliases of a large scalar as an LFS README",
    );
}

#[test]
fn crafted_lfs_sizes_and_replayed_transfer_urls() {
    let mut target = Target::start("lfs", &[]);
    let alice = target.client(Some(ALICE));
    let victim = target.victim.clone();
    let oid = "a".repeat(64);
    for transfers in [&["multipart"][..], &["basic"], &["basic", "multipart"]] {
        let what = format!("an object of 2^64-1 bytes by {transfers:?}");
        case(&what, || {
            let answer = patient(|| alice.batch(&victim, &[(&oid, u64::MAX)], transfers)).ok_json();
            let object = &answer["objects"][0];
            assert_eq!(object["error"]["code"], 422, "{answer}");
            assert!(object.get("actions").is_none_or(Value::is_null), "{answer}");
        });
        target.assert_alive(&what);
    }

    // 50,000 objects in one batch, and a completion listing a million parts.
    let many: Vec<String> = (0..50_000u32).map(|i| format!("{i:064x}")).collect();
    let objects: Vec<(&str, u64)> = many.iter().map(|o| (o.as_str(), 1)).collect();
    case("50,000 objects in one batch", || {
        let reply = patient(|| alice.batch(&victim, &objects, &["basic"]));
        if reply.status != 200 {
            reply.assert_error(413, "PayloadTooLarge");
        }
    });
    target.assert_alive("50,000 objects in one batch");
    let anonymous = target.client(None);
    let content = pattern(4 * PART_SIZE as usize, 2);
    let small = sha256_hex(&content);
    let answer =
        patient(|| alice.batch(&victim, &[(&small, content.len() as u64)], &["multipart"])).ok_json();
    let complete = answer["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("a multipart upload is offered: {answer}"))
        .to_owned();
    let parts: Vec<String> = (1..=1_000_000u32)
        .map(|n| format!("{{\"partNumber\":{n},\"etag\":\"x\"}}"))
        .collect();
    let body = format!("{{\"oid\":\"{small}\",\"parts\":[{}]}}", parts.join(","));
    case("a completion listing a million parts", || {
        let reply = anonymous.send(
            "POST",
            &complete,
            &[],
            Body::Bytes("application/vnd.git-lfs+json", body.as_bytes()),
        );
        assert!(
            matches!(reply.status, 400 | 413),
            "status {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    });
    target.assert_alive("a completion listing a million parts");

    // The basic upload URL of the largest object allowed, replayed as the completion of a
    // multipart upload (50 GiB in parts of 1 KiB: 52 million of them). Last, as it kills a
    // server whose signatures do not name the step.
    let answer = patient(|| alice.batch(&victim, &[(&oid, MAX_LFS_OBJECT)], &["basic"])).ok_json();
    let put = answer["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("a basic upload is offered: {answer}"))
        .to_owned();
    assert!(put.contains("/upload/"), "{put}");
    case("basic upload URL replayed as a completion", || {
        let body = json!({"oid": oid, "parts": [{"partNumber": 1, "etag": "x"}]}).to_string();
        anonymous
            .send(
                "POST",
                &put.replace("/upload/", "/complete/"),
                &[],
                Body::Bytes("application/vnd.git-lfs+json", body.as_bytes()),
            )
            .assert_error(403, "Forbidden");
    });
    target.assert_alive("basic upload URL replayed as a completion");
}

/// The JSON routes of the API, each as (name, method, URL, token).
fn json_routes(
    target: &Target,
    alice: &Client,
) -> Vec<(&'static str, &'static str, String, Option<&'static str>)> {
    let v = &target.victim;
    let content = pattern(4 * PART_SIZE as usize, 3);
    let oid = sha256_hex(&content);
    let answer = patient(|| alice.batch(v, &[(&oid, content.len() as u64)], &["multipart"])).ok_json();
    let actions = &answer["objects"][0]["actions"];
    let url = |a: &Value| a["href"].as_str().expect("transfer href").to_owned();
    vec![
        (
            "create repository",
            "POST",
            "/api/repos/create".into(),
            Some(ALICE),
        ),
        ("move repository", "POST", "/api/repos/move".into(), Some(ALICE)),
        (
            "delete repository",
            "DELETE",
            "/api/repos/delete".into(),
            Some(ALICE),
        ),
        ("settings", "PUT", v.api("/settings"), Some(ALICE)),
        ("preupload", "POST", v.api("/preupload/main"), Some(ALICE)),
        ("create branch", "POST", v.api("/branch/new"), Some(ALICE)),
        ("create tag", "POST", v.api("/tag/main"), Some(ALICE)),
        ("discussion", "POST", v.api("/discussions"), Some(BOB)),
        ("validate-yaml", "POST", "/api/validate-yaml".into(), None),
        ("LFS batch", "POST", v.batch(), Some(ALICE)),
        ("LFS completion", "POST", url(&actions["upload"]), None),
    ]
}

#[test]
fn oversized_deep_and_malformed_bodies() {
    let mut target = Target::start("bodies", &[]);
    let alice = target.client(Some(ALICE));
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(40 << 20));
    let deep = "[".repeat(100_000);
    let bodies: [(&str, &[u8], u16, &str); 4] = [
        ("40 MiB", huge.as_bytes(), 413, "PayloadTooLarge"),
        ("100,000 levels deep", deep.as_bytes(), 400, "BadRequest"),
        ("not UTF-8", b"\xff\xfe{}", 400, "BadRequest"),
        ("truncated", b"{\"title\": \"tr", 400, "BadRequest"),
    ];
    for (route, method, url, token) in json_routes(&target, &alice) {
        for (body_name, body, status, code) in &bodies {
            let what = format!("{route}: {body_name}");
            case(&what, || {
                patient(|| {
                    target
                        .client(token)
                        .send(method, &url, &[], Body::Bytes("application/json", body))
                })
                .assert_error(*status, code);
            });
        }
        target.assert_alive(route);
    }
    let victim = target.victim.clone();
    for (what, body, status, code) in [
        (
            "commit: a line 100,000 levels deep",
            format!("{}\n{deep}\n", header("deep")),
            400,
            "BadRequest",
        ),
        (
            "commit: a header 100,000 levels deep",
            format!("{{\"key\": \"header\", \"value\": {deep}\n"),
            400,
            "BadRequest",
        ),
    ] {
        case(what, || {
            patient(|| alice.commit_raw(&victim, "main", body.as_bytes())).assert_error(status, code);
        });
        target.assert_alive(what);
    }
    case("paths-info: a 40 MiB form", || {
        let form = format!("paths={}", "a".repeat(40 << 20));
        alice
            .send(
                "POST",
                &victim.api("/paths-info/main"),
                &[],
                Body::Bytes("application/x-www-form-urlencoded", form.as_bytes()),
            )
            .assert_error(413, "PayloadTooLarge");
    });
    target.assert_alive("paths-info: a 40 MiB form");

    // Broken HTTP on both ports: each answered with a 4xx or the connection closed, at once.
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(100_000));
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Long: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        (0..10_000).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
    );
    let post = "POST /api/validate-yaml HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n";
    let raw: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GARBAGE\r\n\r\n".to_vec()),
        ("NUL bytes", vec![0; 4096]),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("100 KB request target", long_target.into_bytes()),
        ("200 KB header", long_header.into_bytes()),
        ("10,000 headers", many_headers.into_bytes()),
        (
            "Content-Length beyond u64",
            format!("{post}Content-Length: 99999999999999999999999\r\n\r\n{{}}").into_bytes(),
        ),
        (
            "two Content-Lengths",
            format!("{post}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}").into_bytes(),
        ),
        (
            "bad chunk size",
            format!("{post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n").into_bytes(),
        ),
        (
            "chunk of 2^64-1 bytes",
            format!("{post}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{{}}").into_bytes(),
        ),
        (
            "a range from byte 2^64-1",
            format!(
                "GET {} HTTP/1.1\r\nHost: h\r\nRange: bytes=18446744073709551615-\r\n\r\n",
                target.blob_target()
            )
            .into_bytes(),
        ),
    ];
    for addr in [target.api_addr(), target.blob_addr()] {
        for (what, bytes) in &raw {
            let what = format!("{what} to {addr}");
            case(&what, || raw_exchange(addr, bytes));
        }
        target.assert_alive(&format!("broken HTTP to {addr}"));
    }
}

/// Sends `bytes` on a new connection, closes its sending side, and asserts that the server
/// answers with a 4xx (or nothing) and closes the connection within [`LIVENESS`].
fn raw_exchange(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_write_timeout(Some(LIVENESS)).expect("timeout");
    stream.set_read_timeout(Some(LIVENESS)).expect("timeout");
    // The server may answer and close before it has read everything.
    if stream.write_all(bytes).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let deadline = Instant::now() + LIVENESS;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if answer.len() < 4096 => answer.extend_from_slice(&buf[..n]),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("neither answered nor closed within {LIVENESS:?}: {e}"),
        }
        assert!(Instant::now() < deadline, "the connection stayed open");
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or("");
    assert!(
        status_line.is_empty()
            || status_line.starts_with("HTTP/1.1 4")
            || status_line.starts_with("HTTP/1.0 4"),
        "answered {status_line:?}"
    );
}

#[test]
fn path_tricks_are_refused_and_write_nothing() {
    let mut target = Target::start("paths", &[]);
    let alice = target.client(Some(ALICE));
    let victim = target.victim.clone();
    let lfs = target
        .files
        .iter()
        .find(|f| f.0 == "weights.bin")
        .expect("LFS file");
    let (lfs_oid, lfs_size) = (sha256_hex(&lfs.1), lfs.1.len() as u64);
    let long_name = "n".repeat(5000);
    let long_path = format!("{}x.txt", "d/".repeat(2500));
    let tricks: [(&str, &str); 13] = [
        ("dot-dot", ".."),
        ("escaping dot-dot", "../outside.txt"),
        ("inner dot-dot", "sub/../../x"),
        ("absolute", "/etc/passwd"),
        ("backslash", "sub\\b.txt"),
        ("windows escape", "..\\..\\x"),
        ("NUL byte", "a\u{0}.txt"),
        (".git folder", ".git/config"),
        ("nested .git", "sub/.git/hooks/pre-commit"),
        (".git itself", ".git"),
        ("5,000-byte name", &long_name),
        ("5,000-byte path", &long_path),
        ("5,000-byte name in a folder", &format!("sub/{long_name}")),
    ];
    let before = target.stored_files();
    for (name, path) in tricks {
        let lines: [(&str, Value); 4] = [
            ("file", file_line(path, b"evil")),
            ("lfsFile", lfs_line(path, &lfs_oid, lfs_size)),
            (
                "deletedFile",
                json!({"key": "deletedFile", "value": {"path": path}}),
            ),
            (
                "deletedFolder",
                json!({"key": "deletedFolder", "value": {"path": path}}),
            ),
        ];
        for (op, line) in lines {
            case(&format!("{name} as {op}"), || {
                patient(|| alice.commit(&victim, "main", &[header("trick"), line.clone()]))
                    .assert_error(400, "BadRequest");
            });
        }
        case(&format!("{name} in preupload"), || {
            patient(|| {
                alice.post(
                    &victim.api("/preupload/main"),
                    &json!({"files": [{"path": path, "size": 4, "sample": "ZXZpbA=="}]}),
                )
            })
            .assert_error(400, "BadRequest");
        });
    }
    assert_eq!(target.stored_files(), before, "a refused commit wrote files");
    target.assert_alive("path tricks in commits and preupload");

    // The same tricks in URLs read nothing outside the repository.
    let anonymous = target.client(None);
    for raw in [
        "..%2F..%2Fhub.sqlite3",
        "%2Fetc%2Fpasswd",
        "..%5C..%5Chub.sqlite3",
        "a%00.txt",
        ".git%2Fconfig",
        "sub/../../../hub.sqlite3",
        &"n".repeat(5000),
    ] {
        for url in [
            victim.resolve("main", raw),
            victim.api(&format!("/tree/main/{raw}")),
        ] {
            case(&url, || {
                let reply = anonymous.get(&url);
                assert!(
                    matches!(reply.status, 400 | 404),
                    "status {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                );
            });
        }
        case(&format!("paths-info {raw}"), || {
            let reply = anonymous.send(
                "POST",
                &victim.api("/paths-info/main"),
                &[],
                Body::Bytes(
                    "application/x-www-form-urlencoded",
                    format!("paths={raw}").as_bytes(),
                ),
            );
            if reply.status == 200 {
                assert_eq!(reply.json(), json!([]), "{raw}");
            } else {
                reply.assert_error(400, "BadRequest");
            }
        });
    }
    target.assert_alive("path tricks in URLs");
}

/// A reader of NDJSON lines made on demand: `line(i)` is line `i`, `None` after the last.
struct Lines<F> {
    line: F,
    next: usize,
    current: Vec<u8>,
    pos: usize,
}

impl<F: FnMut(usize) -> Option<Vec<u8>>> Read for Lines<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            match (self.line)(self.next) {
                Some(line) => {
                    self.current = line;
                    self.pos = 0;
                    self.next += 1;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn commits_of_a_million_operations_are_refused() {
    let mut target = Target::start("commit-ops", &[]);
    let alice = target.client(Some(ALICE));
    let victim = target.victim.clone();

    // A million operations in 40 MB.
    let mut body = ndjson(&[header("a million operations")]);
    for i in 0..1_000_000 {
        body.push_str(&format!(
            "{{\"key\":\"deletedFile\",\"value\":{{\"path\":\"g/{i}\"}}}}\n"
        ));
    }
    case("a million operations", || {
        alice
            .commit_raw(&victim, "main", body.as_bytes())
            .assert_error(413, "PayloadTooLarge");
    });
    target.assert_alive("a commit of a million operations");
}

#[test]
fn commit_bodies_of_gigabytes_are_refused() {
    // A limit well under the body, so that the refusal comes early, when the server has one.
    let limit = ["--max-commit-bytes", "67108864"];
    let args: &[&str] = if supports(limit[0]) { &limit } else { &[] };
    let mut target = Target::start("commit-body", args);
    let alice = target.client(Some(ALICE));
    let victim = target.victim.clone();
    // 1.5 GiB of inline files of 1 MiB each (the same bytes, so the disk holds one blob).
    let content = base64_of(&pattern(1 << 20, 4));
    let header_line = ndjson(&[header("1.5 GiB")]).into_bytes();
    let lines = Lines {
        line: move |i: usize| {
            match i {
            0 => Some(header_line.clone()),
            i if i <= 1536 => Some(
                format!(
                    "{{\"key\":\"file\",\"value\":{{\"path\":\"big/{i}.bin\",\"encoding\":\"base64\",\"content\":\"{content}\"}}}}\n"
                )
                .into_bytes(),
            ),
            _ => None,
        }
        },
        next: 0,
        current: Vec::new(),
        pos: 0,
    };
    case("a 1.5 GiB commit body", || {
        // Refused with a 413, or cut off once the server has read what it drains.
        if let Ok(reply) = alice.try_send(
            "POST",
            &victim.api("/commit/main"),
            &[],
            Body::Stream(Box::new(lines)),
        ) {
            reply.assert_error(413, "PayloadTooLarge");
        }
    });
    target.assert_alive("a 1.5 GiB commit body");
}

/// `bytes` in standard base64.
fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Commits one LFS object at each of `paths`, in commits as large as the server takes (inline
/// files would each cost a blob write).
fn commit_many(alice: &Client, repo: &Repo, paths: &[String]) {
    let oid = alice.upload_lfs(repo, b"x");
    let mut per_commit = 5000;
    let mut done = 0;
    while done < paths.len() {
        let chunk = &paths[done..(done + per_commit).min(paths.len())];
        let mut lines = vec![header("many files")];
        lines.extend(chunk.iter().map(|p| lfs_line(p, &oid, 1)));
        let reply = patient(|| alice.commit(repo, "main", &lines));
        if reply.status == 413 && per_commit > 1 {
            per_commit /= 2;
            continue;
        }
        reply.assert_status(200);
        done += chunk.len();
    }
}

#[test]
fn listings_of_a_big_repository_cost_a_page() {
    const FOLDERS: usize = 150;
    const PER_FOLDER: usize = 200;
    let mut target = Target::start("listings", &["--page-size", "50"]);
    let alice = target.client(Some(ALICE));
    let big = Repo::model("alice/big");
    patient(|| alice.post("/api/repos/create", &big.body())).assert_status(200);
    let paths: Vec<String> = (0..FOLDERS * PER_FOLDER)
        .map(|i| format!("f/{:03}/{:03}.txt", i / PER_FOLDER, i % PER_FOLDER))
        .collect();
    let started = Instant::now();
    commit_many(&alice, &big, &paths);
    eprintln!(
        "hostile/listings: {} files committed in {:.1} s",
        paths.len(),
        started.elapsed().as_secs_f64()
    );
    target.assert_alive("building a big repository");

    // Walking the whole listing page by page costs O(files), not O(files × pages).
    let anonymous = target.client(None);
    let bound = Duration::from_secs(10);
    let started = Instant::now();
    let mut url = big.api("/tree/main?recursive=true");
    let (mut items, mut pages) = (0, 0);
    loop {
        let reply = anonymous.get(&url);
        reply.assert_status(200);
        items += reply.json().as_array().expect("a page").len();
        pages += 1;
        assert!(
            started.elapsed() < bound,
            "{pages} pages of the tree ({items} entries) took more than {bound:?}"
        );
        match next_link(&reply) {
            Some(next) => url = next,
            None => break,
        }
    }
    // The files, each folder, `f`, and the `.gitattributes` a new repository starts with.
    assert_eq!(items, FOLDERS * PER_FOLDER + FOLDERS + 2, "{pages} pages");
    eprintln!(
        "hostile/listings: {items} entries in {pages} pages in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Many first pages at once.
    let callers: Vec<JoinHandle<u16>> = (0..16)
        .map(|_| {
            let (client, url) = (anonymous.clone(), big.api("/tree/main?recursive=true"));
            std::thread::spawn(move || client.get(&url).status)
        })
        .collect();
    target.assert_answers("16 tree listings of a big repository at once");
    for caller in callers {
        assert_eq!(caller.join().expect("tree caller"), 200);
    }
    target.assert_alive("16 tree listings of a big repository");

    // One folder of 30,000 files named ~500,000 times in a 4 MiB paths-info form.
    let form = "paths=f&".repeat((4 << 20) / 8 - 1);
    let asker = {
        let (client, url) = (anonymous.timeout(LIVENESS), big.api("/paths-info/main"));
        std::thread::spawn(move || {
            let started = Instant::now();
            let reply = client.try_send(
                "POST",
                &url,
                &[],
                Body::Bytes("application/x-www-form-urlencoded", form.as_bytes()),
            );
            (reply, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    target.assert_answers("a paths-info naming one folder 500,000 times");
    let (reply, took) = asker.join().expect("paths-info caller");
    let reply =
        reply.unwrap_or_else(|e| panic!("paths-info with 500,000 paths: no answer within {LIVENESS:?}: {e}"));
    if reply.status != 200 {
        reply.assert_error(413, "PayloadTooLarge");
    }
    eprintln!(
        "hostile/listings: paths-info with 500,000 paths answered {} in {took:?}",
        reply.status
    );
    target.assert_alive("a paths-info naming one folder 500,000 times");
}

#[test]
fn pull_request_floods_hit_the_write_rate_limit() {
    let mut target = Target::start("flood", &[]);
    let bob = target.client(Some(BOB));
    let victim = target.victim.clone();
    let started = Instant::now();
    let mut opened = 0;
    let mut limited = None;
    for i in 0..5000 {
        let reply = if i % 2 == 0 {
            bob.post(
                &victim.api("/discussions"),
                &json!({"title": format!("flood {i}"), "pullRequest": true}),
            )
        } else {
            bob.send(
                "POST",
                &victim.api("/commit/main?create_pr=1"),
                &[],
                Body::Bytes("application/x-ndjson", ndjson(&[header("flood")]).as_bytes()),
            )
        };
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        reply.assert_status(200);
        opened += 1;
        if started.elapsed() > ATTACK_TIMEOUT {
            break;
        }
    }
    eprintln!(
        "hostile/flood: {opened} pull requests opened in {:.1} s before the limit",
        started.elapsed().as_secs_f64()
    );
    let limited = limited.unwrap_or_else(|| panic!("{opened} pull requests opened without a 429"));
    limited.assert_error(429, "TooManyRequests");
    let retry = limited.header("retry-after").expect("Retry-After");
    assert!(retry.trim().parse::<u64>().is_ok(), "Retry-After: {retry:?}");
    // Another token still writes.
    let alice = target.client(Some(ALICE));
    alice
        .post("/api/repos/create", &Repo::model("alice/after-flood").body())
        .assert_status(200);
    target.assert_alive("a flood of pull requests");
}

/// Connections each attacking address makes to each port.
const PER_ATTACKER: usize = 32;

/// The loopback address of the attacker of socket `i`.
fn attacker(i: usize) -> IpAddr {
    let n = u8::try_from(i / PER_ATTACKER + 1).expect("at most 8,000 sockets per port");
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, n))
}

/// A connection to `to` from the address `from` (another loopback address, so that the cap on
/// connections per client address leaves the normal requests alone).
fn connect_from(from: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)?;
    rustix::net::bind(&fd, &SocketAddr::new(from, 0))?;
    rustix::net::connect(&fd, &to)?;
    Ok(TcpStream::from(fd))
}

/// What an attacking socket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// Connects and sends nothing.
    Idle,
    /// Sends a request head a byte at a time, never finishing it.
    SlowHead,
    /// Sends a request head, then its body a byte at a time.
    SlowBody,
    /// Makes one request, never reads the answer, and stays.
    Lingering,
}

#[test]
fn thousands_of_idle_and_slow_sockets_on_both_ports() {
    let open_files = raise_fd_limit();
    // Each socket is a descriptor here and one in the server (which inherits this limit), on two
    // ports; half the limit is left for everything else.
    let per_port = usize::try_from((open_files / 4).min(2000)).unwrap_or(2000);
    assert!(
        per_port >= 200,
        "the open-file limit ({open_files}) is too low for this test: raise it to 1000 or more"
    );
    // The attackers come from other loopback addresses than the normal requests, each with
    // fewer connections than the cap per address: the server holds them all.
    let separate = match connect_from(attacker(0), "127.0.0.1:9".parse().expect("address")) {
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::ConnectionRefused,
    };
    let from = |i: usize| {
        if separate {
            attacker(i)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    };
    let deadlines = supports("--header-timeout-secs") && supports("--idle-timeout-secs");
    let mut args: Vec<&str> = Vec::new();
    if deadlines {
        args.extend(["--header-timeout-secs", "2", "--idle-timeout-secs", "2"]);
    }
    let capped = supports("--max-connections-per-ip");
    // Twice what each attacker opens; attackers on the normal requests' address must not lock
    // them out.
    let cap = if separate {
        (2 * PER_ATTACKER).to_string()
    } else {
        "1000000".to_owned()
    };
    if capped {
        args.extend(["--max-connections-per-ip", &cap]);
    }
    eprintln!(
        "hostile/sockets: {per_port} sockets per port from {} (open-file limit {open_files}); \
         deadlines {deadlines}, per-address cap {}",
        if separate { "127.0.1.0/24" } else { "127.0.0.1" },
        if capped { cap.as_str() } else { "unsupported" }
    );
    let mut target = Target::start("sockets", &args);
    let blob_path = target.blob_target().to_owned();
    let kinds = [
        Peer::Idle,
        Peer::SlowHead,
        Peer::SlowHead,
        Peer::Idle,
        Peer::SlowBody,
        Peer::Lingering,
    ];
    let started = Instant::now();
    let mut sockets: Vec<(Peer, TcpStream)> = Vec::new();
    for (addr, blob_host) in [(target.api_addr(), false), (target.blob_addr(), true)] {
        for i in 0..per_port {
            let kind = kinds[i % kinds.len()];
            let mut socket = connect_from(from(i), addr).expect("connect");
            let head = match (kind, blob_host) {
                (Peer::Idle, _) => String::new(),
                (Peer::SlowHead, false) => "GET /api/models HTTP/1.1\r\nHost: h\r\nX-Slow: ".into(),
                (Peer::SlowHead, true) => format!("GET {blob_path} HTTP/1.1\r\nHost: h\r\nX-Slow: "),
                (Peer::SlowBody, _) => "POST /api/validate-yaml HTTP/1.1\r\nHost: h\r\n\
                    Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"content\": \""
                    .into(),
                (Peer::Lingering, false) => "GET /api/models/alice/victim HTTP/1.1\r\nHost: h\r\n\r\n".into(),
                (Peer::Lingering, true) => format!("GET {blob_path} HTTP/1.1\r\nHost: h\r\n\r\n"),
            };
            // Closed by a cap already: fine.
            let _ = socket.write_all(head.as_bytes());
            sockets.push((kind, socket));
        }
    }
    eprintln!(
        "hostile/sockets: {} sockets open in {:.1} s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );
    let (slow, still): (Vec<_>, Vec<_>) = sockets
        .into_iter()
        .partition(|(k, _)| matches!(k, Peer::SlowHead | Peer::SlowBody));
    let (slow_bodies, slow_heads): (Vec<_>, Vec<_>) =
        slow.into_iter().partition(|(k, _)| *k == Peer::SlowBody);
    let mut heads = Drip::over(
        slow_heads.into_iter().map(|(_, s)| s).collect(),
        std::iter::empty(),
    );
    let bodies = Drip::over(
        slow_bodies.into_iter().map(|(_, s)| s).collect(),
        std::iter::empty(),
    );
    let opened = Instant::now();
    target.assert_answers("with thousands of idle and slow sockets open");
    std::thread::sleep(Duration::from_secs(3));
    target.assert_answers("3 s later, with the sockets still open");
    if deadlines {
        // Past the head and idle deadlines (2 s), with room to spare: every socket that sends
        // no whole request in time, or reads nothing of its answer, is gone. A slow body is
        // left to the request deadline.
        let deadline = opened + Duration::from_secs(8);
        assert_closed_by(&mut heads.sockets, deadline, "slow head");
        for kind in [Peer::Idle, Peer::Lingering] {
            let mut of_kind: Vec<TcpStream> = still
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, s)| s.try_clone().expect("clone"))
                .collect();
            assert_closed_by(&mut of_kind, deadline, &format!("{kind:?}"));
        }
    }
    drop((heads, bodies, still));
    target.assert_alive("thousands of idle and slow sockets");
}
