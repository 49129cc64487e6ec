//! API behaviour through HTTP: what the Python client and hubmix rely on.

use serde_json::json;

use crate::support::{
    ALICE, ALICE_READ, BOB, Body, Client, Hub, Repo, all_pages, file_line, git_sha1, header,
    header_with_parent, lfs_line, next_link, pattern, sha256_hex,
};

/// A hub with `alice/demo` created, and alice's client.
fn demo() -> (Hub, Client, Repo) {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    (hub, alice, repo)
}

#[test]
fn create_repo_answers_url_and_409_with_url() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let base = hub.server.url().to_owned();

    let created = alice.create(&Repo::model("alice/demo"));
    assert_eq!(created["url"], format!("{base}/alice/demo"));
    assert_eq!(created["name"], "alice/demo");

    let again = alice.post("/api/repos/create", &Repo::model("alice/demo").body());
    again.assert_error(409, "Conflict");
    assert_eq!(again.json()["url"], format!("{base}/alice/demo"));

    // A new repository holds one commit with .gitattributes.
    let repo = Repo::model("alice/demo");
    assert_eq!(alice.files(&repo, "main"), [".gitattributes"]);
    let info = alice.get(&repo.api("")).ok_json();
    assert_eq!(info["id"], "alice/demo");
    assert_eq!(info["private"], false);
    assert_eq!(info["sha"], alice.head_of(&repo, "main"));
    assert_eq!(info["siblings"], json!([{"rfilename": ".gitattributes"}]));

    // `name` may also carry the namespace (0.20 clients), and organisations work for members.
    let org = alice
        .post("/api/repos/create", &json!({"name": "team/shared"}))
        .ok_json();
    assert_eq!(org["url"], format!("{base}/team/shared"));
    hub.client(BOB)
        .post("/api/repos/create", &json!({"name": "x", "organization": "team"}))
        .assert_error(403, "Forbidden");
}

#[test]
fn private_dataset_is_invisible_to_others() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let base = hub.server.url().to_owned();
    let ds = Repo::dataset("alice/ds");
    let mut body = ds.body();
    body["visibility"] = "private".into();
    let created = alice.post("/api/repos/create", &body).ok_json();
    assert_eq!(created["url"], format!("{base}/datasets/alice/ds"));
    alice.commit_files(&ds, &[("data/train.csv", b"a,b\n1,2\n")]);

    let info = alice.get(&ds.api("")).ok_json();
    assert_eq!(info["private"], true);
    assert!(info.get("modelId").is_none(), "a dataset has no modelId: {info}");
    assert_eq!(alice.download(&ds, "main", "data/train.csv"), b"a,b\n1,2\n");
    // The read token of the owner sees it too.
    hub.client(ALICE_READ).get(&ds.api("")).assert_status(200);

    // Dataset and model namespaces are separate.
    alice
        .get("/api/models/alice/ds")
        .assert_error(404, "RepoNotFound");

    for other in [hub.client(BOB), hub.anonymous()] {
        other.get(&ds.api("")).assert_error(404, "RepoNotFound");
        other
            .head(&ds.resolve("main", "data/train.csv"))
            .assert_status(404);
        other
            .get(&ds.resolve("main", "data/train.csv"))
            .assert_error(404, "RepoNotFound");
        other.get(&ds.api("/tree/main")).assert_error(404, "RepoNotFound");
        other.get(&ds.api("/refs")).assert_error(404, "RepoNotFound");
    }
}

#[test]
fn settings_private_hides_and_public_shows_again() {
    let (hub, alice, repo) = demo();
    alice.commit_files(&repo, &[("a.txt", b"hello\n")]);
    let anonymous = hub.anonymous();
    anonymous.get(&repo.resolve("main", "a.txt")).assert_status(200);

    // The 0.20 form, then the 2.x form.
    alice
        .json("PUT", &repo.api("/settings"), &json!({"private": true}))
        .assert_status(200);
    for other in [hub.client(BOB), anonymous.clone()] {
        other.get(&repo.api("")).assert_error(404, "RepoNotFound");
        other
            .get(&repo.resolve("main", "a.txt"))
            .assert_error(404, "RepoNotFound");
        other
            .get(&repo.api("/tree/main"))
            .assert_error(404, "RepoNotFound");
        other
            .commit(&repo, "main", &[header("x"), file_line("x", b"x")])
            .assert_error(404, "RepoNotFound");
    }
    // Bob cannot make it public again: for him it does not exist.
    hub.client(BOB)
        .json("PUT", &repo.api("/settings"), &json!({"visibility": "public"}))
        .assert_error(404, "RepoNotFound");
    assert_eq!(alice.get(&repo.api("")).ok_json()["private"], true);

    alice
        .json("PUT", &repo.api("/settings"), &json!({"visibility": "public"}))
        .assert_status(200);
    assert_eq!(anonymous.download(&repo, "main", "a.txt"), b"hello\n");
}

#[test]
fn settings_gated_is_stored_and_reported() {
    let (hub, alice, repo) = demo();
    let gated = |client: &Client| client.get(&repo.api("")).ok_json()["gated"].clone();
    assert_eq!(gated(&alice), json!(false));
    for (sent, shown) in [
        (json!("auto"), json!("auto")),
        (json!("manual"), json!("manual")),
        (json!(false), json!(false)),
        (json!("manual"), json!("manual")),
    ] {
        alice
            .json("PUT", &repo.api("/settings"), &json!({ "gated": sent }))
            .assert_status(200);
        assert_eq!(gated(&alice), shown, "{sent}");
        assert_eq!(gated(&hub.anonymous()), shown, "{sent}: as everyone sees it");
    }
    // The listings show it too.
    let listed = hub.anonymous().get("/api/models?author=alice").ok_json();
    assert_eq!(listed[0]["gated"], "manual", "{listed}");
    // Visibility and gate in one body; a setting left out is left as it is.
    alice
        .json(
            "PUT",
            &repo.api("/settings"),
            &json!({"visibility": "private", "gated": "auto"}),
        )
        .assert_status(200);
    let info = alice.get(&repo.api("")).ok_json();
    assert_eq!((&info["private"], &info["gated"]), (&json!(true), &json!("auto")));
    alice
        .json("PUT", &repo.api("/settings"), &json!({"visibility": "public"}))
        .assert_status(200);
    assert_eq!(gated(&alice), "auto");
    // Values the Hub does not have are refused, and change nothing.
    for bad in [json!(true), json!("sometimes"), json!(1), json!(null)] {
        let body = json!({ "gated": bad, "visibility": "private" });
        if bad.is_null() {
            // `null` is "not given".
            alice
                .json("PUT", &repo.api("/settings"), &body)
                .assert_status(200);
            alice
                .json("PUT", &repo.api("/settings"), &json!({"visibility": "public"}))
                .assert_status(200);
            continue;
        }
        let reply = alice.json("PUT", &repo.api("/settings"), &body);
        let message = reply.assert_error(400, "BadRequest");
        assert!(message.to_lowercase().contains("gated"), "{bad}: {message}");
    }
    let info = alice.get(&repo.api("")).ok_json();
    assert_eq!(
        (&info["private"], &info["gated"]),
        (&json!(false), &json!("auto"))
    );
    // Only writers of the namespace.
    hub.client(BOB)
        .json("PUT", &repo.api("/settings"), &json!({"gated": false}))
        .assert_error(403, "Forbidden");
    assert_eq!(gated(&alice), "auto");
}

#[test]
fn inline_commit_and_resolve_headers() {
    let (_hub, alice, repo) = demo();
    let commit = alice.commit_files(&repo, &[("a.txt", b"hello\n"), ("sub/b.txt", b"bee")]);
    assert_eq!(commit.len(), 40);
    assert_eq!(alice.head_of(&repo, "main"), commit);

    let head = alice.head(&repo.resolve("main", "a.txt"));
    head.assert_status(200);
    assert_eq!(
        head.header("etag"),
        Some("\"ce013625030ba8dba906f756967f9e9ca394464a\"")
    );
    assert_eq!(head.header("x-repo-commit"), Some(commit.as_str()));
    assert_eq!(
        head.header("content-length"),
        Some("6"),
        "HEAD must carry the real length"
    );
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    assert!(head.header("x-linked-etag").is_none());
    assert!(head.header("x-linked-size").is_none());

    let get = alice.get(&repo.resolve("main", "a.txt"));
    get.assert_status(200);
    assert_eq!(get.body, b"hello\n");
    assert_eq!(get.header("etag"), head.header("etag"));
    assert_eq!(get.header("x-repo-commit"), Some(commit.as_str()));

    // By commit id (full and short) and in a folder.
    assert_eq!(alice.download(&repo, &commit, "sub/b.txt"), b"bee");
    assert_eq!(alice.download(&repo, &commit[..8], "sub/b.txt"), b"bee");

    // A missing file: EntryNotFound, with the commit so the client can cache the absence.
    let missing = alice.head(&repo.resolve("main", "nope.txt"));
    missing.assert_status(404);
    assert_eq!(missing.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(missing.header("x-repo-commit"), Some(commit.as_str()));

    // The commit answer carries an absolute commitUrl on the client's host.
    let reply = alice
        .commit(&repo, "main", &[header("more"), file_line("c.txt", b"c")])
        .ok_json();
    let oid = reply["commitOid"].as_str().expect("commitOid");
    assert_eq!(
        reply["commitUrl"],
        format!("{}/alice/demo/commit/{oid}", alice.base)
    );
    assert_eq!(reply["success"], true);
}

#[test]
fn lfs_basic_upload_then_commit_serves_sha256_etag() {
    let (_hub, alice, repo) = demo();
    let content = pattern(5000, 1);
    let oid = sha256_hex(&content);

    let answer = alice.batch(&repo, &[(&oid, 5000)], &["basic", "multipart"]);
    answer.assert_status(200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.git-lfs+json")
    );
    let answer = answer.json();
    assert_eq!(answer["transfer"], "basic");
    let object = &answer["objects"][0];
    assert_eq!(object["oid"], oid.as_str());
    assert_eq!(object["size"], 5000);
    let put = object["actions"]["upload"]["href"].as_str().expect("href");
    assert!(put.starts_with(&alice.base), "upload href is not absolute: {put}");
    assert!(
        object["actions"]["verify"]["href"]
            .as_str()
            .is_some_and(|v| v.starts_with(&alice.base))
    );

    // Not there yet.
    alice.verify(object).assert_error(404, "NotFound");
    // The PUT carries no credentials, as the Python client sends it.
    let put_reply =
        alice
            .with_token(None)
            .send("PUT", put, &[], Body::Bytes("application/octet-stream", &content));
    put_reply.assert_status(200);
    alice.verify(object).assert_status(200);
    // Asked again, the object needs no upload.
    let again = alice.batch(&repo, &[(&oid, 5000)], &["basic"]).ok_json();
    assert!(again["objects"][0].get("actions").is_none(), "{again}");

    let commit = alice
        .commit(&repo, "main", &[header("weights"), lfs_line("w.bin", &oid, 5000)])
        .ok_json()["commitOid"]
        .as_str()
        .expect("commitOid")
        .to_owned();

    let head = alice.head(&repo.resolve("main", "w.bin"));
    head.assert_status(200);
    let quoted = format!("\"{oid}\"");
    assert_eq!(head.header("etag"), Some(quoted.as_str()));
    assert_eq!(head.header("x-linked-etag"), Some(quoted.as_str()));
    assert_eq!(head.header("x-linked-size"), Some("5000"));
    assert_eq!(head.header("content-length"), Some("5000"));
    assert_eq!(head.header("x-repo-commit"), Some(commit.as_str()));
    assert_eq!(alice.download(&repo, "main", "w.bin"), content);

    // The tree shows the git id of the pointer and the LFS details.
    let tree = alice.get(&repo.api("/tree/main")).ok_json();
    let item = tree
        .as_array()
        .expect("tree")
        .iter()
        .find(|i| i["path"] == "w.bin")
        .expect("w.bin listed");
    let pointer = format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 5000\n");
    assert_eq!(item["oid"], git_sha1(pointer.as_bytes()));
    assert_eq!(item["size"], 5000);
    assert_eq!(
        item["lfs"],
        json!({"oid": oid, "size": 5000, "pointerSize": pointer.len()})
    );

    // Repo info with blobs lists the LFS details too.
    let info = alice.get(&repo.api("/revision/main?blobs=true")).ok_json();
    let sibling = info["siblings"]
        .as_array()
        .expect("siblings")
        .iter()
        .find(|s| s["rfilename"] == "w.bin")
        .expect("w.bin sibling")
        .clone();
    assert_eq!(sibling["lfs"]["sha256"], oid.as_str());
    assert_eq!(sibling["size"], 5000);
}

#[test]
fn lfs_multipart_upload_assembles_parts() {
    let hub = Hub::with(|c| c.lfs_part_size(1000));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    let content = pattern(2500, 2);
    let oid = sha256_hex(&content);

    // Without "multipart" in the transfers, a single PUT is offered.
    let basic = alice.batch(&repo, &[(&oid, 2500)], &["basic"]).ok_json();
    assert_eq!(basic["transfer"], "basic");
    assert_eq!(basic["objects"][0]["actions"]["upload"]["header"], json!({}));

    let answer = alice
        .batch(&repo, &[(&oid, 2500)], &["basic", "multipart"])
        .ok_json();
    assert_eq!(answer["transfer"], "multipart");
    let object = &answer["objects"][0];
    let upload = &object["actions"]["upload"];
    let header_map = upload["header"].as_object().expect("header");
    assert_eq!(header_map["chunk_size"], "1000");
    let mut part_urls: Vec<(u64, String)> = header_map
        .iter()
        .filter(|(k, _)| k.bytes().all(|b| b.is_ascii_digit()))
        .map(|(k, v)| (k.parse().expect("part"), v.as_str().expect("url").to_owned()))
        .collect();
    part_urls.sort();
    assert_eq!(part_urls.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3]);

    let anonymous = alice.with_token(None);
    let mut parts = Vec::new();
    for (n, url) in &part_urls {
        let start = (*n as usize - 1) * 1000;
        let bytes = &content[start..(start + 1000).min(content.len())];
        let reply = anonymous.send("PUT", url, &[], Body::Bytes("application/octet-stream", bytes));
        reply.assert_status(200);
        let etag = reply.header("etag").expect("each part answer carries an ETag");
        assert!(etag.trim_matches('"').len() > 1, "empty ETag {etag:?}");
        parts.push(json!({"partNumber": n, "etag": etag}));
    }
    let complete = upload["href"].as_str().expect("completion href");
    let body = serde_json::to_vec(&json!({"oid": oid, "parts": parts})).expect("JSON");
    anonymous
        .send(
            "POST",
            complete,
            &[],
            Body::Bytes("application/vnd.git-lfs+json", &body),
        )
        .assert_status(200);
    alice.verify(object).assert_status(200);

    alice
        .commit(&repo, "main", &[header("big"), lfs_line("big.bin", &oid, 2500)])
        .assert_status(200);
    assert_eq!(alice.download(&repo, "main", "big.bin"), content);
    // The parts are gone once assembled.
    assert_eq!(
        crate::support::files_below(&hub.dir.path().join("tmp")),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn ranges_answer_206_and_416() {
    let (_hub, alice, repo) = demo();
    let content = pattern(100, 3);
    alice.commit_files(&repo, &[("r.bin", &content)]);
    let oid = alice.upload_lfs(&repo, &content);
    alice
        .commit(&repo, "main", &[header("lfs"), lfs_line("l.bin", &oid, 100)])
        .assert_status(200);

    for path in ["r.bin", "l.bin"] {
        let url = repo.resolve("main", path);
        for (range, start, end) in [
            ("bytes=10-19", 10, 19),
            ("bytes=90-", 90, 99),
            ("bytes=-5", 95, 99),
            ("bytes=95-500", 95, 99),
            ("bytes=0-0", 0, 0),
        ] {
            let reply = alice.send("GET", &url, &[("range", range)], Body::Empty);
            reply.assert_status(206);
            assert_eq!(
                reply.header("content-range"),
                Some(format!("bytes {start}-{end}/100").as_str()),
                "{path} {range}"
            );
            assert_eq!(reply.body, &content[start..=end], "{path} {range}");
            let len = (end - start + 1).to_string();
            assert_eq!(reply.header("content-length"), Some(len.as_str()));
            let head = alice.send("HEAD", &url, &[("range", range)], Body::Empty);
            head.assert_status(206);
            assert_eq!(head.header("content-length"), Some(len.as_str()));
        }
        for range in ["bytes=100-", "bytes=150-160", "bytes=-0"] {
            let reply = alice.send("GET", &url, &[("range", range)], Body::Empty);
            reply.assert_error(416, "RangeNotSatisfiable");
            assert_eq!(
                reply.header("content-range"),
                Some("bytes */100"),
                "{path} {range}"
            );
        }
    }
}

#[test]
fn tree_lists_children_recursively_by_folder_and_in_pages() {
    let hub = Hub::with(|c| c.page_size(2));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    alice.commit_files(
        &repo,
        &[
            ("a.txt", b"a"),
            ("b/c.txt", b"c"),
            ("b/d/e.txt", b"e"),
            ("f.txt", b"f"),
            ("b/d/g h#.txt", b"g"),
        ],
    );
    let listing = |url: &str| -> Vec<(String, String)> {
        let (items, _) = all_pages(&alice, url);
        let mut out: Vec<(String, String)> = items
            .iter()
            .map(|i| {
                (
                    i["type"].as_str().expect("type").to_owned(),
                    i["path"].as_str().expect("path").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let dir = |p: &str| ("directory".to_owned(), p.to_owned());
    let file = |p: &str| ("file".to_owned(), p.to_owned());

    assert_eq!(
        listing(&repo.api("/tree/main?recursive=false&expand=false")),
        [dir("b"), file(".gitattributes"), file("a.txt"), file("f.txt")]
    );
    let (recursive, pages) = all_pages(&alice, &repo.api("/tree/main?recursive=true&expand=false"));
    assert_eq!(recursive.len(), 8);
    assert_eq!(pages, 4, "8 entries in pages of 2");
    assert_eq!(
        listing(&repo.api("/tree/main?recursive=true")),
        [
            dir("b"),
            dir("b/d"),
            file(".gitattributes"),
            file("a.txt"),
            file("b/c.txt"),
            file("b/d/e.txt"),
            file("b/d/g h#.txt"),
            file("f.txt")
        ]
    );
    assert_eq!(listing(&repo.api("/tree/main/b")), [dir("b/d"), file("b/c.txt")]);
    // One %2F-encoded segment, as the Python client sends it.
    assert_eq!(
        listing(&repo.api("/tree/main/b%2Fd?recursive=false")),
        [file("b/d/e.txt"), file("b/d/g h#.txt")]
    );

    // The next-page link keeps the query and is absolute.
    let first = alice.get(&repo.api("/tree/main?recursive=true&expand=false"));
    let next = next_link(&first).expect("a second page");
    assert!(
        next.starts_with(&format!("{}/api/models/alice/demo/tree/main?", alice.base)),
        "{next}"
    );
    assert!(
        next.contains("recursive=true") && next.contains("expand=false"),
        "{next}"
    );

    // A folder's id changes when something below it changes.
    let folder_b = || {
        let (items, _) = all_pages(&alice, &repo.api("/tree/main"));
        let b = items.into_iter().find(|i| i["path"] == "b");
        b.expect("folder b")["oid"].clone()
    };
    let b_before = folder_b();
    alice.commit_files(&repo, &[("b/d/e.txt", b"changed")]);
    assert_ne!(b_before, folder_b());

    let missing = alice.get(&repo.api("/tree/main/nope"));
    let message = missing.assert_error(404, "EntryNotFound");
    assert_eq!(message, "nope does not exist on \"main\"");
    assert_eq!(
        missing.header("x-repo-commit"),
        Some(alice.head_of(&repo, "main").as_str())
    );
    alice
        .get(&repo.api("/tree/nope"))
        .assert_error(404, "RevisionNotFound");
}

#[test]
fn paths_info_returns_files_and_folders_that_exist() {
    let (_hub, alice, repo) = demo();
    alice.commit_files(&repo, &[("a.txt", b"hello\n"), ("b/c.txt", b"c")]);
    let form = b"paths=a.txt&paths=b&paths=nope&paths=b%2Fc.txt&expand=false";
    let reply = alice.send(
        "POST",
        &repo.api("/paths-info/main"),
        &[],
        Body::Bytes("application/x-www-form-urlencoded", form),
    );
    let items = reply.ok_json();
    let items = items.as_array().expect("array");
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0]["path"], "a.txt");
    assert_eq!(items[0]["type"], "file");
    assert_eq!(items[0]["oid"], "ce013625030ba8dba906f756967f9e9ca394464a");
    assert_eq!(items[0]["size"], 6);
    assert_eq!(items[1]["path"], "b");
    assert_eq!(items[1]["type"], "directory");
    assert_eq!(items[2]["path"], "b/c.txt");
}

#[test]
fn refs_and_paged_commit_history() {
    let hub = Hub::with(|c| c.page_size(2));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    let initial = alice.head_of(&repo, "main");
    let mut made = vec![initial];
    for i in 0..4 {
        made.push(alice.commit_files(&repo, &[(&format!("f{i}.txt"), format!("{i}").as_bytes())]));
    }
    let (history, pages) = all_pages(&alice, &repo.api("/commits/main"));
    assert_eq!(pages, 3);
    let ids: Vec<&str> = history.iter().map(|c| c["id"].as_str().expect("id")).collect();
    let mut newest_first: Vec<&str> = made.iter().map(String::as_str).collect();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert_eq!(history[0]["title"], "add files");
    assert_eq!(history[0]["authors"][0]["user"], "alice");
    assert_eq!(history[0]["parents"], json!([made[3]]));
    assert_eq!(history[4]["title"], "initial commit");
    let date = history[0]["date"].as_str().expect("date");
    assert!(
        date.len() == 24 && date.ends_with('Z') && &date[19..20] == ".",
        "{date}"
    );

    // History of an older commit starts there.
    let (older, _) = all_pages(&alice, &repo.api(&format!("/commits/{}", made[2])));
    assert_eq!(older.len(), 3);

    let refs = alice.get(&repo.api("/refs")).ok_json();
    assert_eq!(
        refs,
        json!({"branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": made[4]}],
               "converts": [], "tags": []})
    );
    let with_prs = alice.get(&repo.api("/refs?include_prs=1")).ok_json();
    assert_eq!(with_prs["pullRequests"], json!([]));
}

#[test]
fn branches_and_tags_from_any_revision() {
    let (_hub, alice, repo) = demo();
    let c1 = alice.commit_files(&repo, &[("a.txt", b"one")]);
    let c2 = alice.commit_files(&repo, &[("a.txt", b"two")]);

    // A branch with '/' in its name, percent-encoded, from the default (main).
    alice
        .post(&repo.api("/branch/feature%2Fx"), &json!({}))
        .assert_status(200);
    assert_eq!(alice.head_of(&repo, "feature/x"), c2);
    let refs = alice.get(&repo.api("/refs")).ok_json();
    assert!(
        refs["branches"]
            .as_array()
            .expect("branches")
            .contains(&json!({"name": "feature/x", "ref": "refs/heads/feature/x", "targetCommit": c2}))
    );
    // Commit to it and read from it.
    let c3 = alice
        .commit(&repo, "feature%2Fx", &[header("on x"), file_line("x.txt", b"x")])
        .ok_json()["commitOid"]
        .as_str()
        .expect("oid")
        .to_owned();
    assert_eq!(alice.download(&repo, "feature%2Fx", "x.txt"), b"x");
    assert_eq!(alice.download(&repo, "refs%2Fheads%2Ffeature%2Fx", "x.txt"), b"x");
    assert_eq!(alice.head_of(&repo, "main"), c2, "main did not move");

    // From a commit id, a short one, and a tag.
    alice
        .post(&repo.api("/branch/old"), &json!({"startingPoint": c1}))
        .assert_status(200);
    assert_eq!(alice.download(&repo, "old", "a.txt"), b"one");
    alice
        .post(
            &repo.api("/tag/feature%2Fx"),
            &json!({"tag": "v1", "message": "first"}),
        )
        .assert_status(200);
    alice
        .post(&repo.api(&format!("/tag/{}", &c1[..7])), &json!({"tag": "v0"}))
        .assert_status(200);
    alice
        .post(&repo.api("/branch/from-tag"), &json!({"startingPoint": "v1"}))
        .assert_status(200);
    assert_eq!(alice.head_of(&repo, "from-tag"), c3);
    let tags = alice.get(&repo.api("/refs")).ok_json()["tags"].clone();
    assert_eq!(
        tags,
        json!([{"name": "v0", "ref": "refs/tags/v0", "targetCommit": c1},
               {"name": "v1", "ref": "refs/tags/v1", "targetCommit": c3}])
    );
    assert_eq!(alice.download(&repo, "v0", "a.txt"), b"one");
    assert_eq!(alice.download(&repo, "refs%2Ftags%2Fv1", "x.txt"), b"x");

    // Conflicts and unknowns.
    alice
        .post(&repo.api("/branch/feature%2Fx"), &json!({}))
        .assert_error(409, "Conflict");
    alice
        .post(&repo.api("/tag/main"), &json!({"tag": "v1"}))
        .assert_error(409, "Conflict");
    alice
        .post(&repo.api("/branch/y"), &json!({"startingPoint": "nope"}))
        .assert_error(404, "RevisionNotFound");
    alice
        .post(&repo.api("/tag/nope"), &json!({"tag": "v9"}))
        .assert_error(404, "RevisionNotFound");
    // Commits go to branches, not tags.
    alice
        .commit(&repo, "v1", &[header("x"), file_line("y", b"y")])
        .assert_error(400, "BadRequest");

    // Deletion.
    alice.delete(&repo.api("/tag/v1")).assert_status(200);
    alice.delete(&repo.api("/branch/feature%2Fx")).assert_status(200);
    alice
        .delete(&repo.api("/branch/feature%2Fx"))
        .assert_error(404, "RevisionNotFound");
    alice
        .delete(&repo.api("/tag/v1"))
        .assert_error(404, "RevisionNotFound");
    alice
        .delete(&repo.api("/branch/main"))
        .assert_error(403, "Forbidden");
    alice
        .get(&repo.resolve("feature%2Fx", "x.txt"))
        .assert_error(404, "RevisionNotFound");
    // The commit stays reachable by id.
    assert_eq!(alice.download(&repo, &c3, "x.txt"), b"x");
}

#[test]
fn pull_requests_by_create_pr_and_by_discussion() {
    let (hub, alice, repo) = demo();
    let main = alice.commit_files(&repo, &[("a.txt", b"a")]);

    // 1. commit?create_pr=1, by someone who cannot write to the repository.
    let bob = hub.client(BOB);
    bob.send(
        "POST",
        &repo.api("/preupload/main?create_pr=1"),
        &[],
        Body::Bytes("application/json", br#"{"files":[{"path":"b.txt","size":1}]}"#),
    )
    .assert_status(200);
    let reply = bob
        .send(
            "POST",
            &repo.api("/commit/main?create_pr=1"),
            &[],
            Body::Bytes(
                "application/x-ndjson",
                crate::support::ndjson(&[header("bob's change"), file_line("b.txt", b"b")]).as_bytes(),
            ),
        )
        .ok_json();
    assert_eq!(
        reply["pullRequestUrl"],
        format!("{}/alice/demo/discussions/1", alice.base)
    );
    let pr1 = reply["commitOid"].as_str().expect("oid").to_owned();
    assert_eq!(alice.head_of(&repo, "main"), main, "a PR does not move main");
    assert_eq!(alice.download(&repo, "refs%2Fpr%2F1", "b.txt"), b"b");
    alice
        .get(&repo.resolve("main", "b.txt"))
        .assert_error(404, "EntryNotFound");
    let prs = alice.get(&repo.api("/refs?include_prs=1")).ok_json()["pullRequests"].clone();
    assert_eq!(
        prs,
        json!([{"name": "1", "ref": "refs/pr/1", "targetCommit": pr1}])
    );
    // Bob may add to his PR; not directly to main.
    bob.commit(
        &repo,
        "refs%2Fpr%2F1",
        &[header("more"), file_line("b2.txt", b"b2")],
    )
    .assert_status(200);
    bob.commit(&repo, "main", &[header("no"), file_line("z.txt", b"z")])
        .assert_error(403, "Forbidden");

    // 2. POST discussions with pullRequest, then commits to refs/pr/2.
    let created = alice
        .post(
            &repo.api("/discussions"),
            &json!({"title": "Upload folder", "description": "d", "pullRequest": true}),
        )
        .ok_json();
    assert_eq!(created["num"], 2);
    let details = alice.get(&repo.api("/discussions/2?diff=1")).ok_json();
    assert_eq!(details["isPullRequest"], true);
    assert_eq!(details["changes"]["base"], "refs/heads/main");
    assert_eq!(details["author"]["name"], "alice");
    let prs = alice.get(&repo.api("/refs?include_prs=1")).ok_json()["pullRequests"].clone();
    assert_eq!(
        prs[1],
        json!({"name": "2", "ref": "refs/pr/2", "targetCommit": main})
    );
    for i in 0..2 {
        alice
            .commit(
                &repo,
                "refs%2Fpr%2F2",
                &[header("part"), file_line(&format!("p{i}"), b"p")],
            )
            .assert_status(200);
    }
    assert_eq!(
        alice.files(&repo, "refs%2Fpr%2F2"),
        [".gitattributes", "a.txt", "p0", "p1"]
    );
    assert_eq!(alice.head_of(&repo, "main"), main);
    // Bob may not add to alice's PR.
    bob.commit(&repo, "refs%2Fpr%2F2", &[header("no"), file_line("z.txt", b"z")])
        .assert_error(403, "Forbidden");
    let list = alice.get(&repo.api("/discussions")).ok_json();
    assert_eq!(list["count"], 2);
    // Unknown PR numbers are unknown revisions.
    alice
        .commit(&repo, "refs%2Fpr%2F9", &[header("x"), file_line("z", b"z")])
        .assert_error(404, "RevisionNotFound");
    // A tag from a PR revision.
    alice
        .post(&repo.api("/tag/refs%2Fpr%2F1"), &json!({"tag": "from-pr"}))
        .assert_status(200);
    assert_eq!(alice.download(&repo, "from-pr", "b.txt"), b"b");
}

#[test]
fn stale_parent_commit_is_refused_and_changes_nothing() {
    let (_hub, alice, repo) = demo();
    let base = alice.head_of(&repo, "main");
    let first = alice
        .commit(
            &repo,
            "main",
            &[header_with_parent("first", &base), file_line("a.txt", b"1")],
        )
        .ok_json()["commitOid"]
        .as_str()
        .expect("oid")
        .to_owned();
    // A short prefix of the head works too.
    let second = alice
        .commit(
            &repo,
            "main",
            &[
                header_with_parent("second", &first[..7]),
                file_line("b.txt", b"2"),
            ],
        )
        .ok_json()["commitOid"]
        .as_str()
        .expect("oid")
        .to_owned();

    let before = alice.snapshot(&repo);
    let stale = alice.commit(
        &repo,
        "main",
        &[header_with_parent("stale", &first), file_line("c.txt", b"3")],
    );
    stale.assert_error(412, "Conflict");
    assert_eq!(alice.snapshot(&repo), before);
    assert_eq!(alice.head_of(&repo, "main"), second);

    // With create_pr, parentCommit is where the PR starts.
    let pr = alice
        .send(
            "POST",
            &repo.api("/commit/main?create_pr=1"),
            &[],
            Body::Bytes(
                "application/x-ndjson",
                crate::support::ndjson(&[header_with_parent("pr", &first), file_line("p.txt", b"p")])
                    .as_bytes(),
            ),
        )
        .ok_json();
    assert!(
        pr["pullRequestUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/discussions/1"))
    );
    assert_eq!(
        alice.files(&repo, "refs%2Fpr%2F1"),
        [".gitattributes", "a.txt", "p.txt"]
    );
}

#[test]
fn deleted_file_and_deleted_folder() {
    let (_hub, alice, repo) = demo();
    alice.commit_files(
        &repo,
        &[
            ("keep.txt", b"k"),
            ("gone.txt", b"g"),
            ("dir/a", b"a"),
            ("dir/sub/b", b"b"),
            ("dirx", b"x"),
        ],
    );
    alice
        .commit(
            &repo,
            "main",
            &[
                header("delete"),
                serde_json::json!({"key": "deletedFile", "value": {"path": "gone.txt"}}),
                serde_json::json!({"key": "deletedFolder", "value": {"path": "dir/"}}),
            ],
        )
        .assert_status(200);
    assert_eq!(alice.files(&repo, "main"), [".gitattributes", "dirx", "keep.txt"]);

    let before = alice.snapshot(&repo);
    let missing = alice.commit(
        &repo,
        "main",
        &[
            header("again"),
            serde_json::json!({"key": "deletedFile", "value": {"path": "gone.txt"}}),
        ],
    );
    let message = missing.assert_error(404, "EntryNotFound");
    assert!(
        message.contains("A file with this name doesn't exist"),
        "{message}"
    );
    alice
        .commit(
            &repo,
            "main",
            &[
                header("again"),
                serde_json::json!({"key": "deletedFolder", "value": {"path": "dir"}}),
            ],
        )
        .assert_error(404, "EntryNotFound");
    assert_eq!(alice.snapshot(&repo), before);
}

#[test]
fn preupload_chooses_lfs_by_size_and_reports_remote_oids() {
    let hub = Hub::with(|c| c.lfs_threshold(100));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    alice.commit_files(&repo, &[("small.txt", b"hello\n")]);
    let big = pattern(200, 4);
    let oid = alice.upload_lfs(&repo, &big);
    alice
        .commit(&repo, "main", &[header("big"), lfs_line("big.bin", &oid, 200)])
        .assert_status(200);
    let body = json!({"files": [
        {"path": "small.txt", "size": 6, "sample": ""},
        {"path": "big.bin", "size": 200, "sample": ""},
        {"path": "new.bin", "size": 500, "sample": ""},
        {"path": "empty", "size": 0, "sample": ""},
    ]});
    let answer = alice.post(&repo.api("/preupload/main"), &body).ok_json();
    assert_eq!(
        answer["files"],
        json!([
            {"path": "small.txt", "uploadMode": "regular", "shouldIgnore": false, "oid": "ce013625030ba8dba906f756967f9e9ca394464a"},
            {"path": "big.bin", "uploadMode": "lfs", "shouldIgnore": false, "oid": oid},
            {"path": "new.bin", "uploadMode": "lfs", "shouldIgnore": false, "oid": null},
            {"path": "empty", "uploadMode": "regular", "shouldIgnore": false, "oid": null},
        ])
    );
    assert_eq!(answer["commitOid"], alice.head_of(&repo, "main"));
}

#[test]
fn delete_repo_then_recreate_starts_fresh() {
    let (_hub, alice, repo) = demo();
    alice.commit_files(&repo, &[("a.txt", b"a")]);
    alice
        .json("DELETE", "/api/repos/delete", &repo.body())
        .assert_status(200);
    alice.get(&repo.api("")).assert_error(404, "RepoNotFound");
    alice
        .json("DELETE", "/api/repos/delete", &repo.body())
        .assert_error(404, "RepoNotFound");
    alice.create(&repo);
    assert_eq!(alice.files(&repo, "main"), [".gitattributes"]);
}

#[test]
fn whoami_reports_user_orgs_and_role() {
    let hub = Hub::start();
    let me = hub.client(ALICE).get("/api/whoami-v2").ok_json();
    assert_eq!(me["name"], "alice");
    assert_eq!(me["type"], "user");
    assert_eq!(me["orgs"][0]["name"], "team");
    assert_eq!(me["auth"]["accessToken"]["role"], "write");
    let read = hub.client(ALICE_READ).get("/api/whoami-v2").ok_json();
    assert_eq!(read["auth"]["accessToken"]["role"], "read");
    assert_eq!(hub.client(BOB).get("/api/whoami-v2").ok_json()["orgs"], json!([]));
    hub.anonymous()
        .get("/api/whoami-v2")
        .assert_error(401, "Unauthorized");
    let bad = hub.client("not-a-token").get("/api/whoami-v2");
    assert_eq!(
        bad.assert_error(401, "Unauthorized"),
        "Invalid credentials in Authorization header"
    );
}

#[test]
fn validate_yaml_agent_harnesses_and_xet_answers() {
    let (hub, alice, repo) = demo();
    let ok = alice.post(
        "/api/validate-yaml",
        &json!({"content": "---\nlicense: mit\n---\n# card\n", "repoType": "model"}),
    );
    assert_eq!(ok.ok_json(), json!({"errors": [], "warnings": []}));
    let open = alice.post(
        "/api/validate-yaml",
        &json!({"content": "---\nlicense: mit\n# card\n"}),
    );
    open.assert_status(400);
    assert_eq!(open.json()["errors"].as_array().map(Vec::len), Some(1));

    // A few hundred bytes of nested aliases (~10^9 nodes once expanded), sent anonymously: a
    // 400 that says why, at once, and the server still answers.
    let mut bomb = String::from("---\na0: &a0 [x]\n");
    for level in 1..=9 {
        let refs = vec![format!("*a{}", level - 1); 10].join(",");
        bomb.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    bomb.push_str("---\n");
    let refused = hub
        .anonymous()
        .post("/api/validate-yaml", &json!({"content": bomb}));
    refused.assert_status(400);
    assert!(
        refused.json()["errors"][0]["message"]
            .as_str()
            .is_some_and(|e| e.contains("expands to more than")),
        "{}",
        refused.json()
    );
    assert_eq!(
        alice
            .post(
                "/api/validate-yaml",
                &json!({"content": "---\nlicense: mit\n---\n"})
            )
            .status,
        200
    );

    // Unauthenticated, as 2.x sends it.
    let harnesses = hub.anonymous().get("/api/agent-harnesses").ok_json();
    assert_eq!(harnesses, json!({"standardEnvVars": [], "harnesses": {}}));

    for path in [
        "/xet-write-token/main",
        "/xet-read-token/main",
        "/xet-write-token/main?create_pr=1",
    ] {
        let reply = alice.get(&repo.api(path));
        assert!(reply.status >= 400, "{path}: {}", reply.status);
        let message = reply
            .header("x-error-message")
            .expect("X-Error-Message")
            .to_owned();
        assert!(message.contains("HF_HUB_DISABLE_XET"), "{path}: {message}");
        assert!(
            reply.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("HF_HUB_DISABLE_XET"))
        );
    }
}
