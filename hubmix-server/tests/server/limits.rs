//! The hub's limits: each refused with the Hub's error shape and a message naming the limit, its
//! value and the flag that raises it, before the work it bounds; the per-token write limit; the
//! LFS transfer URLs' steps, expiry and repository; secrets kept out of `Debug` and the auth file.

use std::io::Cursor;
use std::time::{Duration, Instant};

use hubmix_server::{Role, ServerConfig};
use serde_json::{Value, json};

use crate::support::{
    ALICE, BOB, Body, Client, Hub, Proc, Reply, Repo, file_line, header, lfs_line, ndjson, pattern,
    sha256_hex,
};

/// A hub tuned by `tune`, alice's client and her public model `alice/demo` with one file.
fn demo(tune: impl FnOnce(ServerConfig) -> ServerConfig) -> (Hub, Client, Repo) {
    let hub = Hub::with(tune);
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    alice.commit_files(&repo, &[("a.txt", b"a")]);
    (hub, alice, repo)
}

/// Asserts a refusal that names `flag` and `value`, and returns its message.
fn assert_limit(reply: &Reply, status: u16, code: &str, flag: &str, value: &str) -> String {
    let message = reply.assert_error(status, code);
    assert!(message.contains(flag), "{message}");
    assert!(message.contains(&format!("at most {value} ")), "{message}");
    message
}

#[test]
fn a_commit_of_more_operations_than_the_limit_is_refused_before_any_is_applied() {
    let (_hub, alice, repo) = demo(|c| c.max_commit_operations(1000));
    let before = alice.snapshot(&repo);
    let mut lines = vec![header("many")];
    lines.extend((0..5000).map(|i| file_line(&format!("f/{i}.txt"), b"x")));
    let message = assert_limit(
        &alice.commit(&repo, "main", &lines),
        413,
        "PayloadTooLarge",
        "--max-commit-operations",
        "1000",
    );
    assert!(message.contains("operations per commit"), "{message}");
    assert_eq!(alice.snapshot(&repo), before);
    // At the limit, the commit goes through.
    lines.truncate(1001);
    alice.commit(&repo, "main", &lines).assert_status(200);
    let info = alice.get(&repo.api("")).ok_json();
    assert_eq!(info["siblings"].as_array().map(Vec::len), Some(1002));
}

#[test]
fn commit_bodies_over_the_limit_are_refused_declared_or_streamed() {
    let (_hub, alice, repo) = demo(|c| c.max_commit_bytes(10_000));
    let before = alice.snapshot(&repo);
    let body = ndjson(&[header("big"), file_line("big.bin", &pattern(20_000, 1))]);
    // With a Content-Length: refused before the body is read.
    assert_limit(
        &alice.commit_raw(&repo, "main", body.as_bytes()),
        413,
        "PayloadTooLarge",
        "--max-commit-bytes",
        "10000",
    );
    // Chunked, without one: refused as soon as the bytes pass the limit.
    let streamed = alice.send(
        "POST",
        &repo.api("/commit/main"),
        &[],
        Body::Stream(Box::new(Cursor::new(body.into_bytes()))),
    );
    assert_limit(&streamed, 413, "PayloadTooLarge", "--max-commit-bytes", "10000");
    assert_eq!(alice.snapshot(&repo), before);
}

#[test]
fn json_bodies_over_the_size_or_depth_limit_are_refused() {
    let small = Hub::with(|c| c.max_json_bytes(1024));
    let alice = small.client(ALICE);
    let big = serde_json::to_vec(&json!({"name": "x".repeat(2000)})).expect("JSON");
    for body in [
        Body::Bytes("application/json", &big),
        Body::Stream(Box::new(Cursor::new(big.clone()))),
    ] {
        let reply = alice.send("POST", "/api/repos/create", &[], body);
        assert_limit(&reply, 413, "PayloadTooLarge", "--max-json-bytes", "1024");
    }

    // A hundred thousand levels, sent anonymously (validate-yaml needs no token) and by a
    // writer: refused at once, before a parser recurses into it.
    let hub = Hub::start();
    let repo2 = Repo::model("alice/deep");
    let alice2 = hub.client(ALICE);
    alice2.create(&repo2);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let started = Instant::now();
    for (client, path) in [
        (hub.anonymous(), "/api/validate-yaml".to_owned()),
        (alice2.clone(), repo2.api("/preupload/main")),
        (alice2.clone(), repo2.batch()),
    ] {
        let reply = client.send(
            "POST",
            &path,
            &[],
            Body::Bytes("application/json", deep.as_bytes()),
        );
        let message = assert_limit(&reply, 400, "BadRequest", "--max-json-depth", "64");
        assert!(message.contains("levels of JSON nesting"), "{path}: {message}");
    }
    // A commit line, the same.
    let line = format!("{{\"key\": \"header\", \"value\": {deep}}}\n");
    let reply = alice2.commit_raw(&repo2, "main", line.as_bytes());
    let message = assert_limit(&reply, 400, "BadRequest", "--max-json-depth", "64");
    assert!(message.contains("line 1 of the commit"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn paths_info_takes_at_most_the_limit_of_paths() {
    let (_hub, alice, repo) = demo(|c| c.max_paths_per_request(1000));
    // Distinct paths count; a repeated one is asked once (and costs nothing more).
    let form = |n: usize| -> String {
        (0..n)
            .map(|i| format!("paths=p{i}.txt"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let post = |body: &str| {
        alice.send(
            "POST",
            &repo.api("/paths-info/main"),
            &[],
            Body::Bytes("application/x-www-form-urlencoded", body.as_bytes()),
        )
    };
    assert_limit(
        &post(&form(2000)),
        413,
        "PayloadTooLarge",
        "--max-paths-per-request",
        "1000",
    );
    post(&form(1000)).assert_status(200);
    let repeated = vec!["paths=a.txt"; 2000].join("&");
    assert_eq!(post(&repeated).ok_json().as_array().map(Vec::len), Some(1));
    // Bytes that are not paths do not count; a form larger than the form cap is refused whole.
    let filler = format!("{}&paths=a.txt", "expand=false&".repeat(10_000));
    assert_eq!(post(&filler).ok_json().as_array().map(Vec::len), Some(1));
    let huge = "x".repeat(5 * 1024 * 1024);
    post(&huge).assert_error(413, "PayloadTooLarge");
}

#[test]
fn page_sizes_are_clamped_to_the_page_size() {
    let (_hub, alice, repo) = demo(|c| c.page_size(2));
    alice.create(&Repo::model("alice/two"));
    alice.create(&Repo::model("alice/three"));
    alice.commit_files(&repo, &[("b.txt", b"b"), ("c.txt", b"c")]);

    let first = alice.get("/api/models?limit=100000");
    let items = first.ok_json();
    assert_eq!(items.as_array().map(Vec::len), Some(2), "{items}");
    let next = first.header("link").expect("a link to the next page").to_owned();
    assert!(
        next.contains("rel=\"next\"") && next.contains("cursor="),
        "{next}"
    );
    let url = next.trim_start_matches('<').split('>').next().expect("URL");
    let rest = alice.get(url).ok_json();
    assert_eq!(rest.as_array().map(Vec::len), Some(1), "{rest}");

    // Fewer than the page size when asked; never zero.
    let one = alice.get("/api/models?limit=1");
    assert_eq!(one.ok_json().as_array().map(Vec::len), Some(1));
    assert!(one.header("link").is_some());
    let zero = alice.get(&repo.api("/tree/main?limit=0"));
    assert_eq!(zero.ok_json().as_array().map(Vec::len), Some(1));
    let tree = alice.get(&repo.api("/tree/main?limit=100000"));
    assert_eq!(tree.ok_json().as_array().map(Vec::len), Some(2));
    let commits = alice.get(&repo.api("/commits/main?limit=100000"));
    assert_eq!(commits.ok_json().as_array().map(Vec::len), Some(2));
    alice
        .get("/api/models?limit=many")
        .assert_error(400, "BadRequest");
}

/// A card whose front matter nests aliases nine deep: ~10^9 values once expanded.
fn alias_bomb() -> String {
    let mut card = String::from("---\na0: &a0 [x]\n");
    for level in 1..=9 {
        let refs = vec![format!("*a{}", level - 1); 10].join(",");
        card.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    card.push_str("---\n# bomb\n");
    card
}

#[test]
fn card_limits_hold_for_every_route_that_reads_yaml() {
    let (hub, alice, repo) = demo(|c| c.max_card_yaml_depth(3).max_card_yaml_bytes(4096));
    let before = alice.snapshot(&repo);
    let deep = "---\nx: [[[[1]]]]\n---\n";
    let large = format!("---\nx: {}\n---\n", "y".repeat(5000));

    // Inline README.md.
    let reply = alice.commit(
        &repo,
        "main",
        &[header("card"), file_line("README.md", deep.as_bytes())],
    );
    assert_limit(&reply, 400, "BadRequest", "--max-card-yaml-depth", "3");
    let reply = alice.commit(
        &repo,
        "main",
        &[header("card"), file_line("README.md", large.as_bytes())],
    );
    assert_limit(&reply, 413, "PayloadTooLarge", "--max-card-yaml-bytes", "4096");
    let reply = alice.commit(
        &repo,
        "main",
        &[header("card"), file_line("README.md", alias_bomb().as_bytes())],
    );
    assert_limit(&reply, 413, "PayloadTooLarge", "--max-card-yaml-values", "100000");

    // README.md committed as an LFS object: checked the same way (it used to skip the check,
    // and every listing parsed it again).
    for (card, status, code, flag) in [
        (alias_bomb(), 413, "PayloadTooLarge", "--max-card-yaml-values"),
        (deep.to_owned(), 400, "BadRequest", "--max-card-yaml-depth"),
        (large.clone(), 413, "PayloadTooLarge", "--max-card-yaml-bytes"),
    ] {
        let oid = alice.upload_lfs(&repo, card.as_bytes());
        let reply = alice.commit(
            &repo,
            "main",
            &[header("lfs card"), lfs_line("README.md", &oid, card.len() as u64)],
        );
        let message = reply.assert_error(status, code);
        assert!(message.contains(flag), "{message}");
    }
    assert_eq!(alice.snapshot(&repo), before);
    // An LFS card larger than the front matter limit whose front matter is small is fine: only
    // the front matter is read, and the listing shows it.
    let card = format!("---\nlicense: mit\n---\n{}", "body text\n".repeat(2000));
    let oid = alice.upload_lfs(&repo, card.as_bytes());
    alice
        .commit(
            &repo,
            "main",
            &[header("card"), lfs_line("README.md", &oid, card.len() as u64)],
        )
        .assert_status(200);
    let listed = hub.anonymous().get("/api/models?cardData=true").ok_json();
    let demo = listed
        .as_array()
        .and_then(|l| l.iter().find(|r| r["id"] == "alice/demo"))
        .expect("alice/demo listed");
    assert_eq!(demo["cardData"]["license"], "mit", "{demo}");

    // validate-yaml names the flag too.
    let refused = hub
        .anonymous()
        .post("/api/validate-yaml", &json!({"content": deep}));
    refused.assert_status(400);
    let error = refused.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("--max-card-yaml-depth"), "{error}");
}

#[test]
fn a_pull_request_flood_is_stopped_with_429_and_recovers() {
    // 10 writes a second on average, 3 at once.
    let (hub, alice, repo) = demo(|c| c.write_rate_limit(600, 3));
    std::thread::sleep(Duration::from_millis(400)); // the bucket refills after the setup's writes
    let open_pr = |client: &Client| {
        client.post(
            &repo.api("/discussions"),
            &json!({"title": "flood", "description": "", "pullRequest": true}),
        )
    };
    let started = Instant::now();
    let mut accepted = 0;
    let throttled = loop {
        let reply = open_pr(&alice);
        if reply.status != 200 {
            break reply;
        }
        accepted += 1;
        assert!(accepted < 50, "never throttled");
    };
    assert!(started.elapsed() < Duration::from_secs(2));
    let message = throttled.assert_error(429, "TooManyRequests");
    assert!(message.contains("--writes-per-minute"), "{message}");
    let retry: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert_eq!(retry, 1);
    assert_eq!(throttled.header("ratelimit"), Some("\"api\";r=0;t=1"));
    let policy = throttled.header("ratelimit-policy").expect("RateLimit-Policy");
    assert!(policy.contains("q=600;w=60"), "{policy}");
    // Header-only pull requests through a commit are writes too.
    alice
        .send(
            "POST",
            &repo.api("/commit/main?create_pr=1"),
            &[],
            Body::Bytes("application/x-ndjson", ndjson(&[header("pr")]).as_bytes()),
        )
        .assert_error(429, "TooManyRequests");
    // Reads go on; another token has its own bucket.
    alice.get(&repo.api("/refs")).assert_status(200);
    open_pr(&hub.client(BOB)).assert_status(200);
    // After the wait it said, the token writes again.
    std::thread::sleep(Duration::from_secs(retry) + Duration::from_millis(100));
    open_pr(&alice).assert_status(200);
    let refs = alice.get(&repo.api("/refs?include_prs=1")).ok_json();
    assert_eq!(
        refs["pullRequests"].as_array().map(Vec::len),
        Some(accepted + 2),
        "{refs}"
    );
}

/// A batch answer's object for `content` in `repo`, with the given transfers.
fn batch_object(alice: &Client, repo: &Repo, content: &[u8], transfers: &[&str]) -> Value {
    let oid = sha256_hex(content);
    let answer = alice
        .batch(repo, &[(&oid, content.len() as u64)], transfers)
        .ok_json();
    answer["objects"][0].clone()
}

fn href(action: &Value) -> String {
    action["href"].as_str().expect("href").to_owned()
}

#[test]
fn transfer_urls_are_good_for_their_one_step() {
    let (hub, alice, repo) = demo(|c| c.lfs_part_size(1000));
    let anonymous = hub.anonymous();
    let put = |url: &str, bytes: &[u8]| {
        anonymous.send("PUT", url, &[], Body::Bytes("application/octet-stream", bytes))
    };
    let post = |url: &str, body: &Value| anonymous.post(url, body);

    let small = pattern(500, 3);
    let object = batch_object(&alice, &repo, &small, &["basic"]);
    let upload = href(&object["actions"]["upload"]);
    let verify = href(&object["actions"]["verify"]);
    // The verify URL's signature does not upload, the upload URL's does not verify.
    put(&verify.replace("/verify/", "/upload/"), &small).assert_error(403, "Forbidden");
    post(
        &upload.replace("/upload/", "/verify/"),
        &json!({"oid": object["oid"], "size": 500}),
    )
    .assert_error(403, "Forbidden");
    // Nor does the whole-object upload URL take a part.
    put(&format!("{upload}&part=1"), &small).assert_error(403, "Forbidden");

    let big = pattern(2500, 4);
    let multi = batch_object(&alice, &repo, &big, &["basic", "multipart"]);
    let parts = &multi["actions"]["upload"]["header"];
    let part1 = parts["00001"].as_str().expect("part 1").to_owned();
    let complete = href(&multi["actions"]["upload"]);
    // Part 1's URL is not part 2's, and a part's URL does not upload the whole object.
    put(&part1.replace("part=1", "part=2"), &big[1000..2000]).assert_error(403, "Forbidden");
    put(&part1.replace("&part=1", ""), &big).assert_error(403, "Forbidden");
    // The completion URL does not verify.
    post(
        &complete.replace("/complete/", "/verify/"),
        &json!({"oid": multi["oid"], "size": 2500}),
    )
    .assert_error(403, "Forbidden");
    // Each URL does its own step.
    put(&upload, &small).assert_status(200);
    post(&verify, &json!({"oid": object["oid"], "size": 500})).assert_status(200);
}

#[test]
fn expired_transfer_urls_say_to_ask_the_batch_api_again() {
    let (hub, alice, repo) = demo(|c| c.lfs_url_lifetime(Duration::ZERO));
    let content = pattern(700, 5);
    let object = batch_object(&alice, &repo, &content, &["basic"]);
    let upload = href(&object["actions"]["upload"]);
    std::thread::sleep(Duration::from_millis(1100));
    let message = hub
        .anonymous()
        .send(
            "PUT",
            &upload,
            &[],
            Body::Bytes("application/octet-stream", &content),
        )
        .assert_error(403, "Forbidden");
    assert!(
        message.contains("expired") && message.contains("batch API"),
        "{message}"
    );
    // A tampered expiry fails the signature.
    let now_plus = upload.replace("exp=", "exp=9");
    let message = hub
        .anonymous()
        .send(
            "PUT",
            &now_plus,
            &[],
            Body::Bytes("application/octet-stream", &content),
        )
        .assert_error(403, "Forbidden");
    assert!(message.contains("signature"), "{message}");
}

#[test]
fn transfer_urls_of_a_deleted_repository_do_not_work_for_its_successor() {
    let (hub, alice, repo) = demo(|c| c);
    let content = pattern(900, 6);
    let object = batch_object(&alice, &repo, &content, &["basic"]);
    let upload = href(&object["actions"]["upload"]);
    let verify = href(&object["actions"]["verify"]);
    alice
        .json("DELETE", "/api/repos/delete", &repo.body())
        .assert_status(200);
    // The same name again (and, without AUTOINCREMENT, the same database key).
    alice.create(&repo);
    let anonymous = hub.anonymous();
    anonymous
        .send(
            "PUT",
            &upload,
            &[],
            Body::Bytes("application/octet-stream", &content),
        )
        .assert_error(403, "Forbidden");
    anonymous
        .post(&verify, &json!({"oid": object["oid"], "size": 900}))
        .assert_error(403, "Forbidden");
    // The new repository's own URLs work.
    assert_eq!(alice.upload_lfs(&repo, &content), sha256_hex(&content));
}

#[test]
fn debug_output_shows_no_token() {
    let secret = "hf_do_not_print_me";
    let hashed = "tok-only-the-hash-is-configured";
    let digest = sha256_hex(hashed.as_bytes());
    let config = ServerConfig::new("/tmp/nowhere")
        .user("alice", secret, Role::Write)
        .user("bob", format!("sha256:{digest}"), Role::Read);
    let shown = format!("{config:?} {config:#?}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(!shown.contains(&sha256_hex(secret.as_bytes())), "{shown}");
    assert!(!shown.contains(&digest), "{shown}");
    assert!(shown.contains("alice") && shown.contains("redacted"), "{shown}");
}

#[test]
fn tokens_given_by_their_hash_authenticate() {
    let carol = "tok-carol-write";
    let hash = format!("sha256:{}", sha256_hex(carol.as_bytes()));
    let hub = Hub::with(|c| c.user("carol", &hash, Role::Write));
    let me = hub.client(carol).get("/api/whoami-v2").ok_json();
    assert_eq!(me["name"], "carol");
    assert_eq!(me["auth"]["accessToken"]["role"], "write");
    hub.client(&hash)
        .get("/api/whoami-v2")
        .assert_error(401, "Unauthorized");
    hub.client(carol).create(&Repo::model("carol/demo"));

    // From an auth file, shared without the token.
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("users.toml");
    let text = format!("[users.carol]\ntokens = [{{ token = \"{hash}\", role = \"read\" }}]\n");
    std::fs::write(&file, text).expect("auth file");
    let config = ServerConfig::new(dir.path().join("data"))
        .with_auth_file(&file)
        .expect("the auth file is valid");
    let server = hubmix_server::spawn(config).expect("server starts");
    let me = Client::new(server.url(), Some(carol))
        .get("/api/whoami-v2")
        .ok_json();
    assert_eq!(me["auth"]["accessToken"]["role"], "read");
    // A typo in a hash is an error, not a plain-text token nobody has.
    std::fs::write(
        &file,
        "[users.carol]\ntokens = [{ token = \"sha256:abc\", role = \"read\" }]\n",
    )
    .expect("auth file");
    let error = ServerConfig::new(dir.path().join("data"))
        .with_auth_file(&file)
        .expect_err("a bad hash is refused")
        .to_string();
    assert!(error.contains("carol") && error.contains("sha256sum"), "{error}");

    // On the command line: the binary takes USER:sha256:<hex>:ROLE, and refuses a bad hash.
    let root = tempfile::tempdir().expect("temporary folder");
    let proc = Proc::start(root.path(), None, &["--token", &format!("carol:{hash}:write")]);
    let me = proc.client(carol).get("/api/whoami-v2").ok_json();
    assert_eq!(me["name"], "carol");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_hubmix-server"))
        .arg("--root")
        .arg(root.path())
        .args(["--token", "carol:sha256:abc:write"])
        .output()
        .expect("run hubmix-server");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("sha256sum"), "{stderr}");
}
