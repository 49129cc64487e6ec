//! Bad input: each refused with a 4xx, `X-Error-Code` and `X-Error-Message`, and the repository
//! left exactly as it was.

use serde_json::{Value, json};

use crate::support::{
    ALICE, ALICE_READ, BOB, Body, Client, Hub, Repo, case, file_line, files_below, header, lfs_line, pattern,
    sha256_hex,
};

/// A repository with history to protect: inline files, an LFS file, a branch `dev`, a tag `v1`.
struct Fixture {
    hub: Hub,
    alice: Client,
    repo: Repo,
    before: (Value, Vec<String>),
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(|c| c)
    }

    fn with(tune: impl FnOnce(hubmix_server::ServerConfig) -> hubmix_server::ServerConfig) -> Fixture {
        let hub = Hub::with(tune);
        let alice = hub.client(ALICE);
        let repo = Repo::model("alice/demo");
        alice.create(&repo);
        alice.commit_files(&repo, &[("a.txt", b"hello\n"), ("sub/b.txt", b"bee")]);
        let weights = pattern(3000, 7);
        let oid = alice.upload_lfs(&repo, &weights);
        alice
            .commit(&repo, "main", &[header("weights"), lfs_line("w.bin", &oid, 3000)])
            .assert_status(200);
        alice
            .post(&repo.api("/branch/dev"), &json!({}))
            .assert_status(200);
        alice
            .post(&repo.api("/tag/main"), &json!({"tag": "v1"}))
            .assert_status(200);
        let before = alice.snapshot(&repo);
        assert_eq!(before.1, [".gitattributes", "a.txt", "sub/b.txt", "w.bin"]);
        Fixture {
            hub,
            alice,
            repo,
            before,
        }
    }

    /// Asserts that the repository still has the refs and files it had.
    fn assert_unchanged(&self, case: &str) {
        assert_eq!(
            self.alice.snapshot(&self.repo),
            self.before,
            "{case}: the repository changed"
        );
    }

    /// Where the blob store would keep `oid`.
    fn blob_path(&self, oid: &str) -> std::path::PathBuf {
        self.hub
            .dir
            .path()
            .join("blobs")
            .join("sha256")
            .join(&oid[..2])
            .join(oid)
    }
}

fn line(key: &str, value: Value) -> Value {
    json!({"key": key, "value": value})
}

#[test]
fn malformed_commit_bodies_are_refused_without_change() {
    let f = Fixture::new();
    let other = Repo::model("alice/other");
    f.alice.create(&other);
    let elsewhere = f.alice.upload_lfs(&other, &pattern(500, 8));
    let uploaded = sha256_hex(&pattern(3000, 7));
    let never = sha256_hex(b"never uploaded");
    let ok_header = header("bad");
    let good_file = file_line("fine.txt", b"fine");

    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "truncated JSON",
            "{\"key\": \"header\", \"value\": {\"summ".into(),
            400,
            "BadRequest",
        ),
        ("not JSON", "hello\nworld\n".into(), 400, "BadRequest"),
        ("empty body", String::new(), 400, "BadRequest"),
        ("JSON array line", "[1, 2]\n".into(), 400, "BadRequest"),
        (
            "no header first",
            crate::support::ndjson(&[good_file.clone(), ok_header.clone()]),
            400,
            "BadRequest",
        ),
        (
            "two headers",
            crate::support::ndjson(&[ok_header.clone(), ok_header.clone()]),
            400,
            "BadRequest",
        ),
        (
            "empty summary",
            crate::support::ndjson(&[header("  "), good_file.clone()]),
            400,
            "BadRequest",
        ),
        (
            "bad parentCommit",
            crate::support::ndjson(&[
                line("header", json!({"summary": "x", "parentCommit": "not-hex"})),
                good_file.clone(),
            ]),
            400,
            "BadRequest",
        ),
        (
            "unknown operation",
            crate::support::ndjson(&[ok_header.clone(), line("copy", json!({"path": "a"}))]),
            400,
            "BadRequest",
        ),
        (
            "file line without content",
            crate::support::ndjson(&[ok_header.clone(), line("file", json!({"path": "x.txt"}))]),
            400,
            "BadRequest",
        ),
        (
            "invalid base64",
            crate::support::ndjson(&[
                ok_header.clone(),
                line(
                    "file",
                    json!({"path": "x.txt", "content": "%%%", "encoding": "base64"}),
                ),
            ]),
            400,
            "BadRequest",
        ),
        (
            "unknown encoding",
            crate::support::ndjson(&[
                ok_header.clone(),
                line(
                    "file",
                    json!({"path": "x.txt", "content": "x", "encoding": "rot13"}),
                ),
            ]),
            400,
            "BadRequest",
        ),
        (
            "parent segment",
            paths_case(&ok_header, "a/../b.txt"),
            400,
            "BadRequest",
        ),
        ("dot-dot alone", paths_case(&ok_header, ".."), 400, "BadRequest"),
        (
            "escaping dot-dot",
            paths_case(&ok_header, "../outside.txt"),
            400,
            "BadRequest",
        ),
        (
            "absolute path",
            paths_case(&ok_header, "/etc/passwd"),
            400,
            "BadRequest",
        ),
        (
            "backslash",
            paths_case(&ok_header, "sub\\b.txt"),
            400,
            "BadRequest",
        ),
        (
            "windows escape",
            paths_case(&ok_header, "..\\x"),
            400,
            "BadRequest",
        ),
        (
            "NUL byte",
            paths_case(&ok_header, "a\u{0}b.txt"),
            400,
            "BadRequest",
        ),
        (
            "control character",
            paths_case(&ok_header, "a\nb.txt"),
            400,
            "BadRequest",
        ),
        (
            ".git folder",
            paths_case(&ok_header, ".git/config"),
            400,
            "BadRequest",
        ),
        (
            "nested .git",
            paths_case(&ok_header, "sub/.git/hooks/x"),
            400,
            "BadRequest",
        ),
        (
            "empty segment",
            paths_case(&ok_header, "sub//b.txt"),
            400,
            "BadRequest",
        ),
        (
            "dot segment",
            paths_case(&ok_header, "./a.txt"),
            400,
            "BadRequest",
        ),
        ("empty path", paths_case(&ok_header, ""), 400, "BadRequest"),
        (
            "file below a file",
            paths_case(&ok_header, "a.txt/x"),
            400,
            "BadRequest",
        ),
        (
            "file over a folder",
            paths_case(&ok_header, "sub"),
            400,
            "BadRequest",
        ),
        (
            "lfsFile never uploaded",
            crate::support::ndjson(&[ok_header.clone(), lfs_line("x.bin", &never, 14)]),
            400,
            "BadRequest",
        ),
        (
            "lfsFile uploaded to another repository",
            crate::support::ndjson(&[ok_header.clone(), lfs_line("x.bin", &elsewhere, 500)]),
            400,
            "BadRequest",
        ),
        (
            "lfsFile with the wrong size",
            crate::support::ndjson(&[ok_header.clone(), lfs_line("x.bin", &uploaded, 2999)]),
            400,
            "BadRequest",
        ),
        (
            "lfsFile oid not a sha256",
            crate::support::ndjson(&[ok_header.clone(), lfs_line("x.bin", "abc123", 3)]),
            400,
            "BadRequest",
        ),
        (
            "lfsFile oid in upper case",
            crate::support::ndjson(&[
                ok_header.clone(),
                lfs_line("x.bin", &uploaded.to_uppercase(), 3000),
            ]),
            400,
            "BadRequest",
        ),
        (
            "lfsFile with a bad path",
            crate::support::ndjson(&[ok_header.clone(), lfs_line("../w.bin", &uploaded, 3000)]),
            400,
            "BadRequest",
        ),
        (
            "deletedFile missing",
            crate::support::ndjson(&[
                ok_header.clone(),
                line("deletedFile", json!({"path": "nope.txt"})),
            ]),
            404,
            "EntryNotFound",
        ),
        (
            "deletedFile with a bad path",
            crate::support::ndjson(&[
                ok_header.clone(),
                line("deletedFile", json!({"path": "../a.txt"})),
            ]),
            400,
            "BadRequest",
        ),
        (
            "deletedFolder missing",
            crate::support::ndjson(&[ok_header.clone(), line("deletedFolder", json!({"path": "nope/"}))]),
            404,
            "EntryNotFound",
        ),
        (
            "deletedFolder escaping",
            crate::support::ndjson(&[ok_header.clone(), line("deletedFolder", json!({"path": "../"}))]),
            400,
            "BadRequest",
        ),
        (
            "good lines then a bad one",
            crate::support::ndjson(&[
                ok_header.clone(),
                good_file.clone(),
                line("deletedFile", json!({"path": "a.txt"})),
                file_line("../evil", b"x"),
            ]),
            400,
            "BadRequest",
        ),
        (
            "good lines then a missing delete",
            crate::support::ndjson(&[
                ok_header.clone(),
                good_file.clone(),
                line("deletedFile", json!({"path": "nope.txt"})),
            ]),
            404,
            "EntryNotFound",
        ),
    ];
    for (name, body, status, code) in cases {
        case(name, || {
            f.alice
                .commit_raw(&f.repo, "main", body.as_bytes())
                .assert_error(status, code);
            f.assert_unchanged(name);
        });
    }
    // The same refusals through preupload, which checks paths before anything else.
    for path in ["a/../b", "/abs", "a\\b", ".git/x"] {
        case(&format!("preupload {path:?}"), || {
            f.alice
                .post(
                    &f.repo.api("/preupload/main"),
                    &json!({"files": [{"path": path, "size": 1}]}),
                )
                .assert_error(400, "BadRequest");
        });
    }
}

/// A commit that adds a file at `path`.
fn paths_case(header_line: &Value, path: &str) -> String {
    crate::support::ndjson(&[header_line.clone(), file_line(path, b"x")])
}

#[test]
fn over_long_lines_are_refused() {
    let f = Fixture::with(|c| c.max_line_bytes(1024));
    let long = file_line("long.txt", &pattern(3000, 9));
    let short = file_line("short.txt", b"short");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "long line followed by more lines",
            crate::support::ndjson(&[header("x"), long.clone(), short.clone()]).into_bytes(),
        ),
        (
            "long last line with its newline",
            crate::support::ndjson(&[header("x"), short.clone(), long.clone()]).into_bytes(),
        ),
        ("long last line without a newline", {
            let mut body = crate::support::ndjson(&[header("x"), short.clone()]);
            body.push_str(&long.to_string());
            body.into_bytes()
        }),
        (
            "long header",
            crate::support::ndjson(&[header(&"s".repeat(2000)), short.clone()]).into_bytes(),
        ),
        ("endless line of spaces", vec![b' '; 5000]),
    ];
    for (name, body) in cases {
        case(name, || {
            f.alice
                .commit_raw(&f.repo, "main", &body)
                .assert_error(413, "PayloadTooLarge");
            f.assert_unchanged(name);
        });
    }
    // A line under the limit is fine.
    f.alice
        .commit(
            &f.repo,
            "main",
            &[header("x"), file_line("ok.bin", &pattern(600, 10))],
        )
        .assert_status(200);
}

#[test]
fn lfs_put_with_wrong_size_or_hash_stores_nothing() {
    let f = Fixture::new();
    let content = pattern(4000, 11);
    let oid = sha256_hex(&content);
    let answer = f.alice.batch(&f.repo, &[(&oid, 4000)], &["basic"]).ok_json();
    let object = answer["objects"][0].clone();
    let put = object["actions"]["upload"]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let anonymous = f.alice.with_token(None);

    let mut longer = content.clone();
    longer.extend_from_slice(b"extra bytes");
    let mut wrong = content.clone();
    wrong[2000] ^= 1;
    let cases: Vec<(&str, &[u8])> = vec![
        ("one byte short", &content[..3999]),
        ("empty", &[]),
        ("too long", &longer),
        ("right size, wrong hash", &wrong),
    ];
    for (name, body) in cases {
        case(name, || {
            anonymous
                .send("PUT", &put, &[], Body::Bytes("application/octet-stream", body))
                .assert_error(400, "BadRequest");
            f.alice.verify(&object).assert_error(404, "NotFound");
            f.alice
                .commit(&f.repo, "main", &[header("x"), lfs_line("x.bin", &oid, 4000)])
                .assert_error(400, "BadRequest");
            assert!(!f.blob_path(&oid).exists(), "the object was stored");
            assert_eq!(
                files_below(&f.hub.dir.path().join("tmp")),
                Vec::<std::path::PathBuf>::new()
            );
            f.assert_unchanged(name);
        });
    }
    // The right bytes still go through afterwards.
    anonymous
        .send(
            "PUT",
            &put,
            &[],
            Body::Bytes("application/octet-stream", &content),
        )
        .assert_status(200);
    f.alice.verify(&object).assert_status(200);
}

#[test]
fn multipart_with_bad_parts_stores_nothing() {
    let f = Fixture::with(|c| c.lfs_part_size(1000));
    let content = pattern(2500, 12);
    let oid = sha256_hex(&content);
    let answer = f
        .alice
        .batch(&f.repo, &[(&oid, 2500)], &["basic", "multipart"])
        .ok_json();
    let object = answer["objects"][0].clone();
    let upload = &object["actions"]["upload"];
    let part_url = |n: &str| upload["header"][n].as_str().expect("part url").to_owned();
    let complete = upload["href"].as_str().expect("completion").to_owned();
    let anonymous = f.alice.with_token(None);
    let put = |url: &str, bytes: &[u8]| {
        anonymous.send("PUT", url, &[], Body::Bytes("application/octet-stream", bytes))
    };
    let completion = |parts: &[u64]| {
        let parts: Vec<Value> = parts
            .iter()
            .map(|n| json!({"partNumber": n, "etag": "x"}))
            .collect();
        let body = serde_json::to_vec(&json!({"oid": oid, "parts": parts})).expect("JSON");
        anonymous.send(
            "POST",
            &complete,
            &[],
            Body::Bytes("application/vnd.git-lfs+json", &body),
        )
    };

    // The part number is signed: out of range or not, another number fails the signature.
    case("part number changed", || {
        put(&part_url("00001").replace("part=1", "part=4"), &content[..500]).assert_error(403, "Forbidden");
        put(&part_url("00001").replace("part=1", "part=0"), &content[..1000]).assert_error(403, "Forbidden");
        put(
            &part_url("00001").replace("part=1", "part=2"),
            &content[1000..2000],
        )
        .assert_error(403, "Forbidden");
    });
    case("part longer than the part size", || {
        put(&part_url("00001"), &content[..1500]).assert_error(400, "BadRequest");
    });
    case("part shorter than the part size", || {
        put(&part_url("00001"), &content[..999]).assert_error(400, "BadRequest");
    });
    case("completion with a part missing", || {
        put(&part_url("00001"), &content[..1000]).assert_status(200);
        put(&part_url("00003"), &content[2000..]).assert_status(200);
        completion(&[1, 3]).assert_error(400, "BadRequest");
    });
    case("completion of parts with the wrong bytes", || {
        put(&part_url("00001"), &content[..1000]).assert_status(200);
        put(&part_url("00002"), &content[..1000]).assert_status(200);
        put(&part_url("00003"), &content[2000..]).assert_status(200);
        completion(&[1, 2, 3]).assert_error(400, "BadRequest");
        assert!(!f.blob_path(&oid).exists(), "the object was stored");
        f.alice.verify(&object).assert_error(404, "NotFound");
        f.alice
            .commit(&f.repo, "main", &[header("x"), lfs_line("x.bin", &oid, 2500)])
            .assert_error(400, "BadRequest");
    });
    case("completion naming another object", || {
        let other = sha256_hex(b"other");
        let body = serde_json::to_vec(&json!({"oid": other, "parts": []})).expect("JSON");
        anonymous
            .send(
                "POST",
                &complete,
                &[],
                Body::Bytes("application/vnd.git-lfs+json", &body),
            )
            .assert_error(400, "BadRequest");
    });
    assert_eq!(
        files_below(&f.hub.dir.path().join("tmp")),
        Vec::<std::path::PathBuf>::new()
    );
    f.assert_unchanged("multipart");
}

#[test]
fn tampered_transfer_urls_are_refused() {
    let f = Fixture::new();
    let content = pattern(1234, 13);
    let oid = sha256_hex(&content);
    let answer = f.alice.batch(&f.repo, &[(&oid, 1234)], &["basic"]).ok_json();
    let object = answer["objects"][0].clone();
    let put = object["actions"]["upload"]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let sig = put.split("sig=").nth(1).expect("signed URL").to_owned();
    let flipped: String = {
        let mut s: Vec<u8> = sig.clone().into_bytes();
        s[0] = if s[0] == b'0' { b'1' } else { b'0' };
        String::from_utf8(s).expect("hex")
    };
    let other_oid = sha256_hex(b"other object");
    let key = put
        .split("/upload/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("repository key")
        .to_owned();
    let cases: Vec<(&str, String)> = vec![
        ("flipped signature", put.replace(&sig, &flipped)),
        ("no signature", put.replace(&format!("&sig={sig}"), "")),
        ("empty signature", put.replace(&sig, "")),
        ("size changed", put.replace("size=1234", "size=1235")),
        ("oid changed", put.replace(&oid, &other_oid)),
        (
            "repository key changed",
            put.replace(
                &format!("/upload/{key}/"),
                &format!("/upload/{}/", key.parse::<i64>().expect("key") + 1),
            ),
        ),
        ("verify URL replayed on another object", {
            let verify = object["actions"]["verify"]["href"]
                .as_str()
                .expect("verify")
                .to_owned();
            verify.replace(&oid, &other_oid)
        }),
    ];
    let anonymous = f.alice.with_token(None);
    for (name, url) in cases {
        case(name, || {
            let method = if url.contains("/verify/") { "POST" } else { "PUT" };
            anonymous
                .send(
                    method,
                    &url,
                    &[],
                    Body::Bytes("application/octet-stream", &content),
                )
                .assert_error(403, "Forbidden");
            f.alice.verify(&object).assert_error(404, "NotFound");
            assert!(!f.blob_path(&oid).exists());
        });
    }
    f.assert_unchanged("tampered URLs");
}

#[test]
fn batch_refuses_bad_oids_and_callers() {
    let f = Fixture::new();
    let oid = sha256_hex(b"x");
    // A malformed oid is a per-object error, as Git LFS specifies.
    let answer = f
        .alice
        .batch(&f.repo, &[("not-a-sha", 1), (&oid, 1)], &["basic"])
        .ok_json();
    assert_eq!(answer["objects"][0]["error"]["code"], 422);
    assert!(answer["objects"][1]["actions"]["upload"].is_object());
    let download = serde_json::to_vec(&json!({"operation": "download", "objects": []})).expect("JSON");
    f.alice
        .send(
            "POST",
            &f.repo.batch(),
            &[],
            Body::Bytes("application/vnd.git-lfs+json", &download),
        )
        .assert_error(400, "BadRequest");
    f.hub
        .client(ALICE_READ)
        .batch(&f.repo, &[(&oid, 1)], &["basic"])
        .assert_error(403, "Forbidden");
    f.hub
        .anonymous()
        .batch(&f.repo, &[(&oid, 1)], &["basic"])
        .assert_error(401, "Unauthorized");
    f.hub
        .client("bad-token")
        .batch(&f.repo, &[(&oid, 1)], &["basic"])
        .assert_error(401, "Unauthorized");
    f.assert_unchanged("batch");
}

#[test]
fn write_calls_check_credentials() {
    let f = Fixture::new();
    let commit_body = crate::support::ndjson(&[header("x"), file_line("x.txt", b"x")]);
    type Call = Box<dyn Fn(&Client) -> crate::support::Reply>;
    let repo = f.repo.clone();
    let calls: Vec<(&str, Call)> = vec![
        ("commit", {
            let (repo, body) = (repo.clone(), commit_body.clone());
            Box::new(move |c: &Client| c.commit_raw(&repo, "main", body.as_bytes()))
        }),
        ("commit to dev", {
            let (repo, body) = (repo.clone(), commit_body.clone());
            Box::new(move |c: &Client| c.commit_raw(&repo, "dev", body.as_bytes()))
        }),
        ("preupload", {
            let repo = repo.clone();
            Box::new(move |c: &Client| {
                c.post(
                    &repo.api("/preupload/main"),
                    &json!({"files": [{"path": "x", "size": 1}]}),
                )
            })
        }),
        ("create branch", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.post(&repo.api("/branch/new"), &json!({})))
        }),
        ("delete branch", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.delete(&repo.api("/branch/dev")))
        }),
        ("create tag", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.post(&repo.api("/tag/main"), &json!({"tag": "v2"})))
        }),
        ("delete tag", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.delete(&repo.api("/tag/v1")))
        }),
        ("settings", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.json("PUT", &repo.api("/settings"), &json!({"private": true})))
        }),
        ("delete repository", {
            let repo = repo.clone();
            Box::new(move |c: &Client| c.json("DELETE", "/api/repos/delete", &repo.body()))
        }),
        ("create repository", {
            Box::new(move |c: &Client| {
                c.post(
                    "/api/repos/create",
                    &json!({"name": "new", "organization": "alice"}),
                )
            })
        }),
    ];
    let identities: [(&str, Client, u16, &str); 4] = [
        ("no token", f.hub.anonymous(), 401, "Unauthorized"),
        ("read token", f.hub.client(ALICE_READ), 403, "Forbidden"),
        ("bad token", f.hub.client("hf_not_a_token"), 401, "Unauthorized"),
        ("another user", f.hub.client(BOB), 403, "Forbidden"),
    ];
    for (call_name, call) in &calls {
        for (who, client, status, code) in &identities {
            let name = format!("{call_name} with {who}");
            case(&name, || {
                let message = call(client).assert_error(*status, code);
                if *who == "bad token" {
                    assert_eq!(message, "Invalid credentials in Authorization header");
                }
                f.assert_unchanged(&name);
            });
        }
    }
    f.alice
        .get("/api/models/alice/new")
        .assert_error(404, "RepoNotFound");
    // Opening a pull request changes refs: it needs a write token as well.
    for (who, client, status, code) in &identities[..3] {
        let name = format!("open a PR with {who}");
        case(&name, || {
            client
                .post(
                    &f.repo.api("/discussions"),
                    &json!({"title": "t", "pullRequest": true}),
                )
                .assert_error(*status, code);
            f.assert_unchanged(&name);
        });
    }
}

#[test]
fn invalid_repo_names_are_refused() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let long = "x".repeat(97);
    let bodies: Vec<(&str, Value)> = vec![
        ("double dash", json!({"name": "a--b"})),
        ("double dot", json!({"name": "a..b"})),
        ("leading dash", json!({"name": "-ab"})),
        ("trailing dot", json!({"name": "ab."})),
        ("space", json!({"name": "a b"})),
        ("empty", json!({"name": ""})),
        ("too long", json!({"name": long})),
        ("slash in the name", json!({"name": "alice/b/c"})),
        ("non-ASCII", json!({"name": "ünï"})),
        ("bad namespace", json!({"name": "ok", "organization": "bad ns"})),
        ("reserved namespace", json!({"name": "ok", "organization": "api"})),
        ("unknown type", json!({"name": "ok", "type": "kernel"})),
        (
            "unknown visibility",
            json!({"name": "ok", "visibility": "secret"}),
        ),
        ("name missing", json!({"private": true})),
    ];
    for (name, body) in bodies {
        case(name, || {
            alice
                .post("/api/repos/create", &body)
                .assert_error(400, "BadRequest");
        });
    }
    alice
        .send(
            "POST",
            "/api/repos/create",
            &[],
            Body::Bytes("application/json", b"{not json"),
        )
        .assert_error(400, "BadRequest");
    for url in [
        "/api/models/alice/a--b",
        "/api/models/al%20ice/demo/tree/main",
        "/alice/-x/resolve/main/a.txt",
        "/api/datasets/alice/x./refs",
    ] {
        case(url, || {
            alice.get(url).assert_error(400, "BadRequest");
        });
    }
    // None of them was created.
    let refs = alice.get("/api/models/alice/ok");
    refs.assert_error(404, "RepoNotFound");
}

#[test]
fn unknown_revisions_and_branches_are_refused() {
    let f = Fixture::new();
    let commit = f.alice.head_of(&f.repo, "main");
    let unknown_sha = "0123456789abcdef0123456789abcdef01234567";
    let elsewhere = Repo::model("alice/elsewhere");
    f.alice.create(&elsewhere);
    let foreign = f.alice.commit_files(&elsewhere, &[("a.txt", b"a")]);
    let body = crate::support::ndjson(&[header("x"), file_line("x.txt", b"x")]);
    let form = |c: &Client, url: &str| {
        c.send(
            "POST",
            url,
            &[],
            Body::Bytes("application/x-www-form-urlencoded", b"paths=a.txt"),
        )
    };
    let r = &f.repo;
    type Check<'a> = Box<dyn Fn() -> crate::support::Reply + 'a>;
    let a = &f.alice;
    let cases: Vec<(&str, Check<'_>, u16, &str)> = vec![
        (
            "resolve",
            Box::new(|| a.get(&r.resolve("nope", "a.txt"))),
            404,
            "RevisionNotFound",
        ),
        (
            "resolve unknown sha",
            Box::new(|| a.get(&r.resolve(unknown_sha, "a.txt"))),
            404,
            "RevisionNotFound",
        ),
        (
            "resolve unknown PR",
            Box::new(|| a.get(&r.resolve("refs%2Fpr%2F7", "a.txt"))),
            404,
            "RevisionNotFound",
        ),
        (
            "tree",
            Box::new(|| a.get(&r.api("/tree/nope"))),
            404,
            "RevisionNotFound",
        ),
        (
            "info",
            Box::new(|| a.get(&r.api("/revision/nope"))),
            404,
            "RevisionNotFound",
        ),
        (
            "commits",
            Box::new(|| a.get(&r.api("/commits/nope"))),
            404,
            "RevisionNotFound",
        ),
        (
            "paths-info",
            Box::new(|| form(a, &r.api("/paths-info/nope"))),
            404,
            "RevisionNotFound",
        ),
        (
            "preupload",
            Box::new(|| a.post(&r.api("/preupload/nope"), &json!({"files": []}))),
            404,
            "RevisionNotFound",
        ),
        (
            "commit to a missing branch",
            Box::new(|| a.commit_raw(r, "feature", body.as_bytes())),
            404,
            "RevisionNotFound",
        ),
        (
            "commit to a missing full branch ref",
            Box::new(|| a.commit_raw(r, "refs%2Fheads%2Ffeature", body.as_bytes())),
            404,
            "RevisionNotFound",
        ),
        (
            "PR from a missing base",
            Box::new(|| {
                a.send(
                    "POST",
                    &r.api("/commit/feature?create_pr=1"),
                    &[],
                    Body::Bytes("application/x-ndjson", body.as_bytes()),
                )
            }),
            404,
            "RevisionNotFound",
        ),
        (
            "commit to a tag",
            Box::new(|| a.commit_raw(r, "v1", body.as_bytes())),
            400,
            "BadRequest",
        ),
        (
            "commit to a commit id",
            Box::new(|| a.commit_raw(r, &commit, body.as_bytes())),
            400,
            "BadRequest",
        ),
        (
            "branch from a missing revision",
            Box::new(|| a.post(&r.api("/branch/x"), &json!({"startingPoint": "nope"}))),
            404,
            "RevisionNotFound",
        ),
        (
            "tag a missing revision",
            Box::new(|| a.post(&r.api("/tag/nope"), &json!({"tag": "t"}))),
            404,
            "RevisionNotFound",
        ),
        (
            "bad branch name",
            Box::new(|| a.post(&r.api("/branch/a..b"), &json!({}))),
            400,
            "BadRequest",
        ),
        (
            "bad tag name",
            Box::new(|| a.post(&r.api("/tag/main"), &json!({"tag": "a b"}))),
            400,
            "BadRequest",
        ),
        (
            "missing file",
            Box::new(|| a.get(&r.resolve("main", "nope.txt"))),
            404,
            "EntryNotFound",
        ),
        (
            "commit id of another repository",
            Box::new(|| a.get(&r.resolve(&foreign, "a.txt"))),
            404,
            "RevisionNotFound",
        ),
        (
            "missing repository",
            Box::new(|| a.get("/api/models/alice/nope/tree/main")),
            404,
            "RepoNotFound",
        ),
        (
            "missing repository download",
            Box::new(|| a.get("/alice/nope/resolve/main/a.txt")),
            404,
            "RepoNotFound",
        ),
        (
            "missing discussion",
            Box::new(|| a.get(&r.api("/discussions/9"))),
            404,
            "NotFound",
        ),
    ];
    for (name, call, status, code) in cases {
        case(name, || {
            call().assert_error(status, code);
            f.assert_unchanged(name);
        });
    }
    // The missing-file answer carries the commit; HEAD answers carry the code too.
    let missing = f.alice.head(&f.repo.resolve("main", "nope.txt"));
    missing.assert_status(404);
    assert_eq!(missing.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(missing.header("x-repo-commit"), Some(commit.as_str()));
    let head = f.alice.head(&f.repo.resolve("nope", "a.txt"));
    head.assert_status(404);
    assert_eq!(head.header("x-error-code"), Some("RevisionNotFound"));
    // The branch was not created by the commit attempts.
    let refs = f.alice.get(&f.repo.api("/refs")).ok_json();
    assert!(!refs.to_string().contains("feature"), "{refs}");
}

#[test]
fn refusals_of_large_bodies_reach_the_client() {
    let f = Fixture::with(|c| c.max_line_bytes(1024 * 1024));
    // Larger than any socket buffer: the server answers before it has read the body.
    let big = vec![b'x'; 24 * 1024 * 1024];
    let oid = sha256_hex(&big);
    let answer = f
        .alice
        .batch(&f.repo, &[(&oid, big.len() as u64)], &["basic"])
        .ok_json();
    let put = answer["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let tampered = put.replace("sig=", "sig=00");
    let mut json_body = b"{\"files\": [".to_vec();
    json_body.extend_from_slice(&big);

    let anonymous = f.hub.anonymous();
    let bob = f.hub.client(BOB);
    let commit = f.repo.api("/commit/main");
    let cases = [
        Refusal(
            "anonymous commit",
            &anonymous,
            "POST",
            &commit,
            &big,
            401,
            "Unauthorized",
        ),
        Refusal(
            "commit by another user",
            &bob,
            "POST",
            &commit,
            &big,
            403,
            "Forbidden",
        ),
        Refusal(
            "commit to a missing branch",
            &f.alice,
            "POST",
            &f.repo.api("/commit/nope"),
            &big,
            404,
            "RevisionNotFound",
        ),
        Refusal(
            "over-long first line",
            &f.alice,
            "POST",
            &commit,
            &big,
            413,
            "PayloadTooLarge",
        ),
        Refusal(
            "tampered LFS URL",
            &anonymous,
            "PUT",
            &tampered,
            &big,
            403,
            "Forbidden",
        ),
        Refusal(
            "oversized JSON",
            &f.alice,
            "POST",
            &f.repo.api("/preupload/main"),
            &json_body,
            413,
            "PayloadTooLarge",
        ),
    ];
    for Refusal(name, client, method, url, body, status, code) in cases {
        case(name, || {
            let reply = client
                .try_send(method, url, &[], Body::Bytes("application/octet-stream", body))
                .unwrap_or_else(|e| panic!("the answer was lost: {e}"));
            reply.assert_error(status, code);
            f.assert_unchanged(name);
        });
    }
}

/// A request that must be refused: name, client, method, URL, body, status, error code.
struct Refusal<'a>(&'a str, &'a Client, &'a str, &'a str, &'a [u8], u16, &'a str);

#[test]
fn lfs_objects_of_crafted_sizes_are_refused_in_the_batch_answer() {
    let f = Fixture::with(|c| c.max_lfs_object_bytes(1 << 30).lfs_part_size(1 << 10));
    let oid = "a".repeat(64);
    for (size, transfers, why) in [
        (u64::MAX, &["basic", "multipart"][..], "at most 1073741824 bytes"),
        (u64::MAX, &["basic"][..], "at most 1073741824 bytes"),
        ((1 << 30) + 1, &["multipart"][..], "at most 1073741824 bytes"),
        // Under the limit, but more parts than any upload is cut into.
        (
            (1 << 10) * 10_001,
            &["basic", "multipart"][..],
            "more than 10000 parts",
        ),
    ] {
        let started = std::time::Instant::now();
        let answer = f.alice.batch(&f.repo, &[(&oid, size)], transfers).ok_json();
        let object = &answer["objects"][0];
        assert_eq!(object["error"]["code"], 422, "{size}: {answer}");
        let message = object["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{size}: {message}");
        assert!(
            object.get("actions").is_none_or(Value::is_null),
            "{size}: {answer}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{size}");
    }
    // Within both limits, the upload is offered (in 8192 parts).
    let answer = f
        .alice
        .batch(&f.repo, &[(&oid, 1 << 23)], &["basic", "multipart"])
        .ok_json();
    assert!(answer["objects"][0]["error"].is_null(), "{answer}");
    assert!(
        answer["objects"][0]["actions"]["upload"]["href"].is_string(),
        "{answer}"
    );
}
