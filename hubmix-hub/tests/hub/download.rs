//! The download side: hub_download, snapshot_download, the shared cache, offline mode, errors.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use hubmix_hub::{DownloadOptions, HubError, SnapshotOptions};
use sha2::{Digest, Sha256};

use crate::seed::{self, bytes};
use crate::support::{ALICE, BOB, Hub};

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn git_sha1(data: &[u8]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

/// A client builder for `hub` without a token, with its own `cache`, no progress bars.
fn anonymous(hub: &Hub, cache: &Path) -> hubmix_hub::HubClientBuilder {
    hubmix_hub::HubClient::builder()
        .endpoint(hub.url())
        .no_token()
        .cache_dir(cache)
        .progress_bars(Some(false))
}

fn opts() -> DownloadOptions {
    DownloadOptions::default()
}

#[test]
fn downloads_at_branch_tag_commit_and_pr_into_the_python_layout() {
    let hub = Hub::start();
    seed::create_repo(&hub, "dl", false);
    let small = b"{\"d\": 1}\n".to_vec();
    let big = bytes(3 * 1024 * 1024 + 17, 1);
    let c1 = seed::commit(
        &hub,
        "dl",
        "main",
        &[("config.json", &small), ("w/big.bin", &big)],
    );
    seed::create_ref(&hub, "dl", "tag", "v1", "main");
    seed::create_ref(&hub, "dl", "branch", "feature/x", "main");
    let c2 = seed::commit(&hub, "dl", "main", &[("config.json", b"{\"d\": 2}\n")]);
    let pr = seed::pull_request(&hub, "dl", &[("config.json", b"{\"d\": 3}\n")]);
    let client = hub.client(None);

    let at = |rev: &str| {
        fs::read(
            client
                .hub_download("alice/dl", "config.json", &opts().revision(rev))
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(at("main"), b"{\"d\": 2}\n");
    assert_eq!(at("v1"), small);
    assert_eq!(at("feature/x"), small);
    assert_eq!(at(&c1), small);
    assert_eq!(at(&format!("refs/pr/{pr}")), b"{\"d\": 3}\n");
    // repo@rev works too.
    assert_eq!(
        fs::read(
            client
                .hub_download("alice/dl@v1", "config.json", &opts())
                .unwrap()
        )
        .unwrap(),
        small
    );

    let path = client.hub_download("alice/dl@v1", "w/big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), sha(&big));

    // The layout huggingface_hub uses.
    let repo_dir = hub.cache_dir().join("models--alice--dl");
    assert_eq!(fs::read_to_string(repo_dir.join("refs/main")).unwrap(), c2);
    assert_eq!(fs::read_to_string(repo_dir.join("refs/feature/x")).unwrap(), c1);
    assert_eq!(fs::read_to_string(repo_dir.join("refs/v1")).unwrap(), c1);
    assert!(repo_dir.join(format!("refs/refs/pr/{pr}")).is_file());
    assert!(
        !repo_dir.join("refs").join(&c1).exists(),
        "a commit id is never written as a ref"
    );
    assert_eq!(path, repo_dir.join("snapshots").join(&c1).join("w/big.bin"));
    assert_eq!(
        fs::read_link(&path).unwrap(),
        Path::new("../../../blobs").join(sha(&big))
    );
    let cfg = repo_dir.join("snapshots").join(&c1).join("config.json");
    assert_eq!(
        fs::read_link(&cfg).unwrap(),
        Path::new("../../blobs").join(git_sha1(&small))
    );
    assert!(hub.cache_dir().join("CACHEDIR.TAG").is_file());
    assert!(
        hub.cache_dir()
            .join(".locks/models--alice--dl")
            .join(format!("{}.lock", sha(&big)))
            .is_file()
    );
    let leftovers: Vec<_> = fs::read_dir(repo_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn snapshot_filters_and_records_the_tree() {
    let hub = Hub::start();
    seed::create_repo(&hub, "snap", false);
    let big = bytes(2 * 1024 * 1024, 2);
    let commit = seed::commit(
        &hub,
        "snap",
        "main",
        &[
            ("config.json", b"{}"),
            ("model.safetensors", &big),
            ("logs/a.txt", b"a"),
            ("logs/b.txt", b"b"),
        ],
    );
    let client = hub.client(None);
    let dir = client
        .snapshot_download("alice/snap", &SnapshotOptions::default().ignore(["logs/"]))
        .unwrap();
    assert_eq!(
        dir,
        hub.cache_dir()
            .join("models--alice--snap/snapshots")
            .join(&commit)
    );
    assert_eq!(fs::read(dir.join("model.safetensors")).unwrap(), big);
    assert!(dir.join("config.json").exists() && dir.join(".gitattributes").exists());
    assert!(!dir.join("logs").exists());
    let tree: serde_json::Value = serde_json::from_slice(
        &fs::read(
            hub.cache_dir()
                .join("models--alice--snap/trees")
                .join(format!("{commit}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(tree["format_version"], 1);
    assert_eq!(tree["files"]["model.safetensors"]["lfs_sha256"], sha(&big));

    let only = client
        .snapshot_download("alice/snap", &SnapshotOptions::default().allow(["*.txt"]))
        .unwrap();
    assert!(only.join("logs/a.txt").exists());

    // Offline, the complete snapshot is served; one asking for more than was fetched fails.
    let offline = hub.client(None).with_token(None).unwrap();
    let offline = hubmix_hub::HubClient::from_settings(hubmix_hub::Settings {
        offline: true,
        ..offline.settings().clone()
    })
    .unwrap();
    assert_eq!(
        offline
            .snapshot_download("alice/snap", &SnapshotOptions::default().ignore(["logs/"]))
            .unwrap(),
        dir
    );
    fs::remove_file(dir.join("config.json")).unwrap();
    let err = offline
        .snapshot_download("alice/snap", &SnapshotOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::NotCached { .. }), "{err}");
    // A call that needs the Hub sends nothing, and says how to reach it.
    let err = offline.repo_info("alice/snap").unwrap_err();
    assert!(matches!(err, HubError::Offline { .. }), "{err}");
    assert!(err.to_string().contains("unset HF_HUB_OFFLINE"), "{err}");
}

#[test]
fn offline_serves_the_cache_or_says_what_is_missing() {
    let hub = Hub::start();
    seed::create_repo(&hub, "off", false);
    let commit = seed::commit(&hub, "off", "main", &[("a.txt", b"A")]);
    let client = hub.client(None);
    let online = client.hub_download("alice/off", "a.txt", &opts()).unwrap();

    let local = opts().local_files_only(true);
    assert_eq!(client.hub_download("alice/off", "a.txt", &local).unwrap(), online);
    assert_eq!(
        client
            .hub_download("alice/off", "a.txt", &local.clone().revision(&commit))
            .unwrap(),
        online
    );
    let err = client.hub_download("alice/off", "b.txt", &local).unwrap_err();
    match &err {
        HubError::NotCached {
            repo, revision, what, ..
        } => {
            assert_eq!(
                (repo.as_str(), revision.as_str(), what.as_str()),
                ("alice/off", "main", "b.txt")
            );
        }
        other => panic!("expected NotCached, got {other}"),
    }
    assert!(err.to_string().contains("b.txt") && err.to_string().contains("alice/off"));

    // With the server gone, the cached copy still answers; an uncached file is a network error.
    drop(hub.server);
    let got = client.hub_download("alice/off", "a.txt", &opts()).unwrap();
    assert_eq!(fs::read(got).unwrap(), b"A");
    let err = client.hub_download("alice/off", "nope.txt", &opts()).unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err}");
    let source = std::error::Error::source(&err).expect("the connection error is kept");
    assert!(source.downcast_ref::<ureq::Error>().is_some(), "{source:?}");
}

#[test]
fn typed_errors_for_missing_things() {
    let hub = Hub::start();
    seed::create_repo(&hub, "err", false);
    seed::create_repo(&hub, "secret", true);
    let commit = seed::commit(&hub, "err", "main", &[("a.txt", b"A")]);
    let client = hub.client(None);
    let err = client
        .hub_download("alice/missing", "a.txt", &opts())
        .unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err}");
    let err = client
        .hub_download("alice/err", "a.txt", &opts().revision("nope"))
        .unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err}");
    let err = client.hub_download("alice/err", "nope.txt", &opts()).unwrap_err();
    assert!(
        matches!(err, HubError::EntryNotFound { ref path, .. } if path == "nope.txt"),
        "{err}"
    );
    // The absence is cached, as huggingface_hub does.
    assert!(
        hub.cache_dir()
            .join("models--alice--err/.no_exist")
            .join(&commit)
            .join("nope.txt")
            .is_file()
    );
    // Offline, the marker answers "entry not found" rather than "not cached".
    let err = client
        .hub_download("alice/err", "nope.txt", &opts().local_files_only(true))
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err}");
    // A private repository is invisible to anonymous callers and to other users.
    let err = client
        .hub_download("alice/secret", ".gitattributes", &opts())
        .unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err}");
    let err = hub
        .client(Some(BOB))
        .hub_download("alice/secret", ".gitattributes", &opts())
        .unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err}");
    assert!(!err.to_string().contains(BOB), "errors never show the token");
    assert!(
        hub.client(Some(ALICE))
            .hub_download("alice/secret", ".gitattributes", &opts())
            .is_ok()
    );
    // Another token for one call: the same client with that token.
    assert!(
        client
            .with_token(Some(ALICE))
            .unwrap()
            .hub_download("alice/secret", ".gitattributes", &opts().force_download(true))
            .is_ok()
    );
    // Bad input is refused before any request.
    let err = client
        .hub_download("alice/err", "../../etc/passwd", &opts())
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidPath { .. }), "{err}");
    let err = client.hub_download("alice/e--rr", "a.txt", &opts()).unwrap_err();
    assert!(matches!(err, HubError::InvalidRepoId { .. }), "{err}");
}

#[test]
fn a_revision_resolves_to_one_commit() {
    let hub = Hub::start();
    seed::create_repo(&hub, "once", false);
    let first = seed::commit(&hub, "once", "main", &[("a.txt", b"1"), ("b.txt", b"1")]);
    let client = hub.client(None);
    let commit = client.resolve_commit("alice/once", &opts()).unwrap();
    assert_eq!(commit, first);
    seed::commit(&hub, "once", "main", &[("b.txt", b"2")]);
    // Files fetched at the resolved commit all come from it, although main moved on.
    let b = client
        .hub_download("alice/once", "b.txt", &opts().revision(&commit))
        .unwrap();
    assert_eq!(fs::read(b).unwrap(), b"1");
    assert_eq!(client.resolve_commit("alice/once", &opts()).unwrap().len(), 40);
    assert_ne!(client.resolve_commit("alice/once", &opts()).unwrap(), first);
}

#[test]
fn resumes_a_partial_download_and_rejects_a_corrupt_one() {
    let hub = Hub::start();
    seed::create_repo(&hub, "res", false);
    let big = bytes(3 * 1024 * 1024, 3);
    seed::commit(&hub, "res", "main", &[("big.bin", &big)]);
    let client = hub.client(None);
    let blobs = hub.cache_dir().join("models--alice--res/blobs");
    fs::create_dir_all(&blobs).unwrap();
    let etag = sha(&big);

    // A correct partial file is completed from where it stopped.
    fs::write(blobs.join(format!("{etag}.incomplete")), &big[..1_000_000]).unwrap();
    let path = client.hub_download("alice/res", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), etag);
    assert!(!blobs.join(format!("{etag}.incomplete")).exists());

    // A partial file with wrong bytes gives an integrity error and leaves nothing behind.
    fs::remove_dir_all(hub.cache_dir().join("models--alice--res")).unwrap();
    fs::create_dir_all(&blobs).unwrap();
    let mut wrong = big[..1_000_000].to_vec();
    wrong[10] ^= 0xff;
    fs::write(blobs.join(format!("{etag}.incomplete")), &wrong).unwrap();
    let err = client.hub_download("alice/res", "big.bin", &opts()).unwrap_err();
    assert!(matches!(err, HubError::Integrity { .. }), "{err}");
    assert_eq!(fs::read_dir(&blobs).unwrap().count(), 0, "nothing left in blobs/");
    assert!(
        !hub.cache_dir().join("models--alice--res/snapshots").exists()
            || fs::read_dir(hub.cache_dir().join("models--alice--res/snapshots"))
                .unwrap()
                .all(|d| fs::read_dir(d.unwrap().path()).unwrap().count() == 0)
    );
    // Running again succeeds.
    let path = client.hub_download("alice/res", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), etag);
}

#[test]
fn a_blob_cut_short_is_fetched_again_and_durable_downloads_land_the_same_bytes() {
    let hub = Hub::start();
    seed::create_repo(&hub, "cut", false);
    let big = bytes(3 * 1024 * 1024, 5);
    seed::commit(&hub, "cut", "main", &[("big.bin", &big)]);
    let client = hub.client(None);
    assert!(
        !client.settings().durable_downloads,
        "off by default, as in huggingface_hub"
    );
    let path = client.hub_download("alice/cut", "big.bin", &opts()).unwrap();
    let blob = fs::canonicalize(&path).unwrap();
    // What a power loss can leave of a blob that was never flushed: its start.
    fs::write(&blob, &big[..1000]).unwrap();
    let path = client.hub_download("alice/cut", "big.bin", &opts()).unwrap();
    assert!(fs::read(&path).unwrap() == big, "the cut blob was fetched again");

    // With durable downloads (fsync before landing), sequential and in parallel ranges.
    for threshold in [u64::MAX, 1024 * 1024] {
        let cache = tempfile::tempdir().unwrap();
        let durable = hubmix_hub::HubClient::builder()
            .endpoint(hub.url())
            .no_token()
            .cache_dir(cache.path())
            .progress_bars(Some(false))
            .parallel_threshold(threshold)
            .durable_downloads(true)
            .build()
            .unwrap();
        assert!(durable.settings().durable_downloads);
        let path = durable.hub_download("alice/cut", "big.bin", &opts()).unwrap();
        assert!(fs::read(&path).unwrap() == big, "threshold {threshold}");
    }
}

#[test]
fn parallel_ranges_give_the_same_bytes() {
    let hub = Hub::start();
    seed::create_repo(&hub, "par", false);
    let big = bytes(5 * 1024 * 1024 + 3, 4);
    seed::commit(&hub, "par", "main", &[("big.bin", &big)]);
    let client = anonymous(&hub, &hub.cache_dir())
        .parallel_threshold(1024 * 1024)
        .max_workers(4)
        .build()
        .unwrap();
    let path = client.hub_download("alice/par", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(path).unwrap()), sha(&big));
}

/// Environment variables that turn [`child_downloader`] into a real download.
const CHILD_ENV: &str = "HUBMIX_TEST_CHILD_DOWNLOAD";

/// Run only as a child process by [`concurrent_processes_share_one_blob`].
#[test]
#[ignore = "run as a child process by concurrent_processes_share_one_blob"]
fn child_downloader() {
    let spec = std::env::var(CHILD_ENV).expect("started by the parent test");
    let mut it = spec.splitn(3, '\n');
    let (endpoint, cache, expected) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let client = hubmix_hub::HubClient::builder()
        .endpoint(endpoint)
        .no_token()
        .cache_dir(cache)
        .progress_bars(Some(false))
        .build()
        .unwrap();
    let path = client.hub_download("alice/conc", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(path).unwrap()), expected);
}

#[test]
fn concurrent_processes_share_one_blob() {
    let hub = Hub::start();
    seed::create_repo(&hub, "conc", false);
    let big = bytes(4 * 1024 * 1024, 5);
    seed::commit(&hub, "conc", "main", &[("big.bin", &big)]);
    let exe = std::env::current_exe().unwrap();
    for n in [2, 8] {
        let cache = tempfile::tempdir().unwrap();
        let spec = format!("{}\n{}\n{}", hub.url(), cache.path().display(), sha(&big));
        let children: Vec<_> = (0..n)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--ignored",
                        "--exact",
                        "download::child_downloader",
                        "--test-threads=1",
                    ])
                    .env(CHILD_ENV, &spec)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "every process succeeds");
        }
        let blobs: Vec<_> = fs::read_dir(cache.path().join("models--alice--conc/blobs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(blobs.len(), 1, "one blob and no leftovers: {blobs:?}");
    }
}

#[test]
fn lfs_files_come_from_the_blob_host_whole_in_ranges_and_resumed() {
    let hub = Hub::start_with(|c| c.lfs_cdn(true));
    seed::create_repo(&hub, "cdn", false);
    let big = bytes(3 * 1024 * 1024 + 5, 7);
    seed::commit(&hub, "cdn", "main", &[("big.bin", &big), ("small.txt", b"small")]);
    let etag = sha(&big);

    // The Hub's answer: a 302 to a signed URL on another port, with the file's metadata.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let resolve = format!("{}/alice/cdn/resolve/main/big.bin", hub.url());
    let answer = agent.head(&resolve).call().unwrap();
    assert_eq!(answer.status(), 302);
    let header = |name: &str| answer.headers()[name].to_str().unwrap().to_owned();
    let location = header("location");
    assert!(
        location.contains("/_hubmix/cdn/") && !location.starts_with(hub.url()),
        "{location}"
    );
    assert_eq!(header("x-linked-etag"), format!("\"{etag}\""));
    assert_eq!(header("x-linked-size"), big.len().to_string());
    assert_eq!(header("x-repo-commit").len(), 40);
    let small = agent
        .get(format!("{}/alice/cdn/resolve/main/small.txt", hub.url()))
        .call()
        .unwrap();
    assert_eq!(small.status(), 200, "regular files are served directly");

    // The blob host: the whole file, a range, a HEAD; a URL whose signature or expiry was
    // changed is refused.
    let mut whole = agent.get(&location).call().unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap(),
        big
    );
    let mut part = agent
        .get(&location)
        .header("range", "bytes=10-19")
        .call()
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-19/{}", big.len())
    );
    assert_eq!(part.body_mut().read_to_vec().unwrap(), &big[10..20]);
    let head = agent.head(&location).call().unwrap();
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        big.len().to_string()
    );
    let beyond = agent
        .get(&location)
        .header("range", "bytes=99999999-")
        .call()
        .unwrap();
    assert_eq!(beyond.status(), 416);
    let forged = location.replace("sig=", "sig=00");
    assert_eq!(agent.get(&forged).call().unwrap().status(), 403);
    let (base, query) = location.split_once('?').unwrap();
    let later = query.replace("exp=", "exp=9");
    assert_eq!(agent.get(format!("{base}?{later}")).call().unwrap().status(), 403);
    let other = location.replacen(&etag, &sha(b"other"), 1);
    assert_eq!(agent.get(&other).call().unwrap().status(), 403);

    // Raw HTTP/1.1 on one kept-alive connection: two requests answered in turn, then a method
    // it does not serve and garbage, which close the connection.
    let host = location.split('/').nth(2).unwrap().to_owned();
    let target = &location[location.find("/_hubmix/").unwrap()..];
    let mut conn = std::net::TcpStream::connect(&host).unwrap();
    write!(
        conn,
        "HEAD {target} HTTP/1.1\r\nHost: {host}\r\n\r\nGET {target} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-3\r\n\r\nPOST {target} HTTP/1.1\r\nHost: {host}\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("HTTP/1.1 206 Partial Content\r\n"), "{text}");
    assert!(raw.windows(4).any(|w| w == &big[..4]), "the range's bytes");
    assert!(text.contains("HTTP/1.1 405 Method Not Allowed\r\n"), "{text}");
    let mut conn = std::net::TcpStream::connect(&host).unwrap();
    conn.write_all(b"NOT HTTP\r\n\r\n").unwrap();
    raw.clear();
    conn.read_to_end(&mut raw).unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );

    // hubmix follows the redirect: one stream, parallel ranges, and a resumed partial file.
    let client = hub.client(None);
    let path = client.hub_download("alice/cdn", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), etag);
    let ranged = tempfile::tempdir().unwrap();
    let parallel = anonymous(&hub, ranged.path())
        .parallel_threshold(1024 * 1024)
        .max_workers(4)
        .build()
        .unwrap();
    let path = parallel.hub_download("alice/cdn", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), etag);
    let resumed = tempfile::tempdir().unwrap();
    let blobs = resumed.path().join("models--alice--cdn/blobs");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(blobs.join(format!("{etag}.incomplete")), &big[..1_500_000]).unwrap();
    let client = anonymous(&hub, resumed.path()).build().unwrap();
    let path = client.hub_download("alice/cdn", "big.bin", &opts()).unwrap();
    assert_eq!(sha(&fs::read(&path).unwrap()), etag);
}

#[test]
fn the_blob_host_can_have_its_own_address_and_public_url() {
    let head_location = |hub: &Hub| {
        seed::create_repo(hub, "where", false);
        seed::commit(hub, "where", "main", &[("big.bin", &bytes(2 * 1024 * 1024, 8))]);
        let agent: ureq::Agent = ureq::Agent::config_builder().max_redirects(0).build().into();
        let answer = agent
            .head(format!("{}/alice/where/resolve/main/big.bin", hub.url()))
            .call()
            .unwrap();
        answer.headers()["location"].to_str().unwrap().to_owned()
    };
    // Behind a reverse proxy: the URLs start with the proxy's address for the blob host.
    let proxied = Hub::start_with(|c| c.lfs_cdn_url("https://blobs.example.com/"));
    let location = head_location(&proxied);
    assert!(
        location.starts_with("https://blobs.example.com/_hubmix/cdn/"),
        "{location}"
    );
    // An address of its own: the URLs name it, and downloads work.
    let bound = Hub::start_with(|c| c.lfs_cdn_bind("127.0.0.1:0".parse().unwrap()));
    let location = head_location(&bound);
    let port = location.split('/').nth(2).unwrap().rsplit(':').next().unwrap();
    assert_ne!(Some(port), bound.url().rsplit(':').next(), "{location}");
    let path = bound
        .client(None)
        .hub_download("alice/where", "big.bin", &opts())
        .unwrap();
    assert_eq!(fs::read(path).unwrap().len(), 2 * 1024 * 1024);
}

/// Whether `err` says the revision was given twice, differently.
fn is_revision_conflict(err: &HubError) -> bool {
    matches!(err, HubError::InvalidArgument { name, .. } if name == "revision")
}

#[test]
fn a_revision_given_twice_must_be_the_same() {
    let hub = Hub::start();
    seed::create_repo(&hub, "twice", false);
    let first = seed::commit(&hub, "twice", "main", &[("a.txt", b"1")]);
    seed::create_ref(&hub, "twice", "tag", "v1", "main");
    seed::commit(&hub, "twice", "main", &[("a.txt", b"2")]);
    let client = hub.client(None);
    let v1 = || opts().revision("v1");

    // In the reference, in the option, or in both when they agree.
    for (repo, options) in [
        ("alice/twice@v1", opts()),
        ("alice/twice", v1()),
        ("alice/twice@v1", v1()),
    ] {
        let path = client.hub_download(repo, "a.txt", &options).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"1", "{repo} {options:?}");
    }
    let upper = format!("alice/twice@{}", first.to_uppercase());
    assert_eq!(
        client
            .resolve_commit(upper.as_str(), &opts().revision(&first))
            .unwrap(),
        first
    );

    // Different: refused, by every call, before anything is fetched.
    let err = client
        .hub_download("alice/twice@v1", "a.txt", &opts().revision("main"))
        .unwrap_err();
    assert!(is_revision_conflict(&err), "{err}");
    assert!(
        err.to_string().contains("\"v1\"") && err.to_string().contains("\"main\""),
        "{err}"
    );
    let err = client.resolve_commit("alice/twice@main", &v1()).unwrap_err();
    assert!(is_revision_conflict(&err), "{err}");
    let err = client
        .snapshot_download("alice/twice@main", &SnapshotOptions::default().revision("v1"))
        .unwrap_err();
    assert!(is_revision_conflict(&err), "{err}");
    // Nothing asked the Hub about main: the cache has no ref for it.
    assert!(hub.cache_dir().join("models--alice--twice/refs/v1").is_file());
    assert!(!hub.cache_dir().join("models--alice--twice/refs/main").exists());
}

/// A loopback forwarder to `upstream` that passes bytes both ways untouched (keep-alive
/// included) and counts the connections made through it; returns its URL and the count.
fn counting_forwarder(upstream: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let target = upstream.trim_start_matches("http://").to_owned();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let accepted = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            accepted.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    (url, count)
}

#[test]
fn a_snapshot_reuses_its_connections() {
    let hub = Hub::start();
    seed::create_repo(&hub, "many", false);
    let files: Vec<(String, Vec<u8>)> = (0..40u8)
        .map(|i| (format!("part/{i:02}.txt"), bytes(100 + usize::from(i) * 37, i)))
        .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    seed::commit(&hub, "many", "main", &refs);
    let (url, connections) = counting_forwarder(hub.url());
    let cache = tempfile::tempdir().unwrap();
    let client = hubmix_hub::HubClient::builder()
        .endpoint(&url)
        .no_token()
        .cache_dir(cache.path())
        .progress_bars(Some(false))
        .max_workers(4)
        .build()
        .unwrap();
    let dir = client
        .snapshot_download("alice/many", &SnapshotOptions::default())
        .unwrap();
    for (path, content) in &files {
        assert_eq!(&fs::read(dir.join(path)).unwrap(), content, "{path}");
    }
    // 40 files and the revision's metadata: a connection per worker (and the one that listed
    // the files), not one per file.
    let made = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(made <= 5, "{made} connections for 40 files with 4 workers");
}
