//! The client against a hostile or broken server: waits it asks for, redirects that would carry
//! the token away, signed URLs in errors, pagination that never ends, bodies longer than asked
//! for, and links planted in the cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use hubmix_hub::repo::RepoId;
use hubmix_hub::{DownloadOptions, HubClient, HubError, SnapshotOptions, settings::RetryPolicy};
use sha2::{Digest, Sha256};

use crate::proxy::{Fault, Proxy, Seen};
use crate::seed::{self, bytes};
use crate::support::{ALICE, Hub};

const BIG: usize = 3 * 1024 * 1024 + 11;

/// `alice/f` (private when asked) with a 3 MiB LFS file `big.bin` and a small `a.txt`.
fn seed_f(hub: &Hub, private: bool) -> Vec<u8> {
    seed::create_repo(hub, "f", private);
    let big = bytes(BIG, 5);
    seed::commit(hub, "f", "main", &[("big.bin", &big), ("a.txt", b"small")]);
    big
}

/// A client of `endpoint` with `token`, its own `cache`, `retry`, and large files in 3 parallel
/// ranges when `ranged`.
fn client(endpoint: &str, token: Option<&str>, cache: &Path, ranged: bool, retry: RetryPolicy) -> HubClient {
    let builder = HubClient::builder()
        .endpoint(endpoint)
        .cache_dir(cache)
        .progress_bars(Some(false))
        .retry(retry);
    let builder = match token {
        Some(t) => builder.token(t),
        None => builder.no_token(),
    };
    let builder = if ranged {
        builder.parallel_threshold(1024 * 1024).max_workers(3)
    } else {
        builder
    };
    builder.build().unwrap()
}

/// Fast retries: 4 of them, 20 ms to 200 ms apart.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Fault {
    Fault::Answer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Runs `f` on a thread and gives its result, or fails the test after `limit` (a client that
/// loops for ever must fail the test, not hang it).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || done.send(f()));
    result
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no answer within {limit:?}: the client does not stop"))
}

#[test]
fn waits_the_server_asks_for_are_capped_by_the_policy_and_never_panic() {
    let hub = Hub::start();
    seed_f(&hub, false);
    let asks = [
        (503, "retry-after", "1e20"),
        (429, "retry-after", "99999999999999999999999999999"),
        (503, "retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
        (429, "ratelimit", "\"api\";r=0;t=999999999999999"),
        (503, "retry-after", "NaN, -1 or garbage"),
    ];
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |_, i| match asks.get(i) {
        Some((status, name, value)) => answer(*status, &[(name, value)], ""),
        None => Fault::Pass,
    });
    let cache = tempfile::tempdir().unwrap();
    let client = client(&proxy.url, None, cache.path(), false, fast());
    let started = Instant::now();
    let path = within(Duration::from_secs(30), move || {
        client.hub_download("alice/f", "a.txt", &DownloadOptions::default())
    })
    .unwrap();
    assert_eq!(fs::read(path).unwrap(), b"small");
    // One quick try, then the retried metadata request: four waits of at most 200 ms.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.seen().len(), asks.len() + 2, "then HEAD and GET");
}

#[test]
fn a_rate_limit_reset_and_a_retry_after_date_are_waited_for() {
    let hub = Hub::start();
    seed_f(&hub, false);
    let proxy = Proxy::start("127.0.0.1", hub.url(), |_, i| match i {
        // The first (quick, unretried) metadata request, then its retried twin.
        0 | 1 => answer(429, &[("ratelimit", "\"api\";r=0;t=1")], ""),
        2 => {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
            answer(503, &[("retry-after", &at)], "")
        }
        _ => Fault::Pass,
    });
    let cache = tempfile::tempdir().unwrap();
    let patient = RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(10),
    };
    let client = client(&proxy.url, None, cache.path(), false, patient);
    let started = Instant::now();
    let path = client
        .hub_download("alice/f", "a.txt", &DownloadOptions::default())
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), b"small");
    // The reset (1 s) plus a second, then until the date (2 to 3 s: dates have whole seconds).
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(3900) && waited < Duration::from_secs(9),
        "{waited:?}"
    );
}

/// A free port on 127.0.0.1 (for a listener that starts later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_token_never_goes_to_the_blob_host_on_another_port_of_the_same_host() {
    // The blob host listens on 127.0.0.1:<port>; its URLs go through a recording proxy on
    // 127.0.0.1 as well: the same host as the endpoint, another port.
    let blob_port = free_port();
    let blobs = Proxy::start("127.0.0.1", &format!("http://127.0.0.1:{blob_port}"), |_, _| {
        Fault::Pass
    });
    let blobs_url = blobs.url.clone();
    let hub = Hub::start_with(move |c| {
        c.lfs_cdn_bind(format!("127.0.0.1:{blob_port}").parse().unwrap())
            .lfs_cdn_url(blobs_url)
    });
    let big = seed_f(&hub, true);
    let front = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::Pass);
    for ranged in [false, true] {
        let one = tempfile::tempdir().unwrap();
        let path = client(&front.url, Some(ALICE), one.path(), ranged, fast())
            .hub_download("alice/f", "big.bin", &DownloadOptions::default())
            .unwrap();
        assert_eq!(
            sha(&fs::read(path).unwrap()),
            sha(&big),
            "hub_download, ranged {ranged}"
        );
        let all = tempfile::tempdir().unwrap();
        let dir = client(&front.url, Some(ALICE), all.path(), ranged, fast())
            .snapshot_download("alice/f", &SnapshotOptions::default())
            .unwrap();
        assert_eq!(
            sha(&fs::read(dir.join("big.bin")).unwrap()),
            sha(&big),
            "snapshot, ranged {ranged}"
        );
    }
    let at_blobs = blobs.seen();
    let gets = at_blobs.iter().filter(|s| s.method == "GET").count();
    assert!(
        gets >= 2 + 2 * 3,
        "every download came from the blob host: {at_blobs:?}"
    );
    let leaked: Vec<&Seen> = at_blobs.iter().filter(|s| s.authorized).collect();
    assert!(leaked.is_empty(), "the token went to the blob host: {leaked:?}");
    assert!(
        front.seen().iter().all(|s| s.authorized),
        "the endpoint gets the token (the repository is private)"
    );
}

#[test]
fn redirects_are_followed_by_hand_with_the_token_only_at_the_endpoint() {
    let hub = Hub::start();
    let big = seed_f(&hub, false);
    // Every download of big.bin is sent to another port of the same host: the sequential,
    // ranged, snapshot and metadata paths all meet this redirect.
    let other = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::Pass);
    let other_url = other.url.clone();
    let front = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.path.ends_with("/big.bin") {
            Fault::RedirectTo(other_url.clone())
        } else {
            Fault::Pass
        }
    });
    for ranged in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let c = client(&front.url, Some(ALICE), cache.path(), ranged, fast());
        let path = c
            .hub_download("alice/f", "big.bin", &DownloadOptions::default())
            .unwrap();
        assert_eq!(sha(&fs::read(path).unwrap()), sha(&big));
        let cache = tempfile::tempdir().unwrap();
        let c = client(&front.url, Some(ALICE), cache.path(), ranged, fast());
        let dir = c
            .snapshot_download("alice/f", &SnapshotOptions::default())
            .unwrap();
        assert_eq!(sha(&fs::read(dir.join("big.bin")).unwrap()), sha(&big));
    }
    let at_other = other.seen();
    assert!(!at_other.is_empty());
    assert!(at_other.iter().all(|s| !s.authorized), "{at_other:?}");
}

#[test]
fn errors_never_show_a_signed_urls_query() {
    let hub = Hub::start();
    seed_f(&hub, false);
    const SECRET: &str = "sig=SECRET&X-Amz-Signature=SECRET";
    // Metadata: same-origin redirects to signed URLs, in a loop.
    let proxy = Proxy::start("127.0.0.1", hub.url(), |s, _| {
        if s.path.contains("/resolve/") {
            let to = format!("/alice/f/resolve/main/a.txt?{SECRET}&n={}", s.path.len());
            answer(302, &[("location", &to)], "")
        } else {
            Fault::Pass
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let err = client(&proxy.url, None, cache.path(), false, fast())
        .hub_download("alice/f", "a.txt", &DownloadOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidResponse { .. }), "{err}");
    let mut errors = vec![err];
    // The blob host refuses its signed URLs (through a proxy), or cannot be reached.
    let refusing = Proxy::start("127.0.0.1", "http://127.0.0.1:9", |_, _| {
        Fault::StatusWithMessage(403, "signature expired".into())
    });
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    for blob_url in [refusing.url.clone(), unreachable] {
        let blob_port = free_port();
        let hub = Hub::start_with(move |c| {
            c.lfs_cdn_bind(format!("127.0.0.1:{blob_port}").parse().unwrap())
                .lfs_cdn_url(blob_url)
        });
        seed_f(&hub, false);
        for ranged in [false, true] {
            let cache = tempfile::tempdir().unwrap();
            let c = client(hub.url(), None, cache.path(), ranged, fast());
            errors.push(
                c.hub_download("alice/f", "big.bin", &DownloadOptions::default())
                    .unwrap_err(),
            );
            errors.push(
                c.snapshot_download("alice/f", &SnapshotOptions::default())
                    .unwrap_err(),
            );
        }
    }
    assert!(
        refusing.seen().iter().any(|s| s.path.contains("sig=")),
        "signed URLs were asked"
    );
    for e in errors {
        let (shown, debug) = (e.to_string(), format!("{e:?}"));
        assert!(!shown.contains("SECRET") && !shown.contains("sig="), "{shown}");
        assert!(!debug.contains("SECRET") && !debug.contains("sig="), "{debug}");
    }
}

/// `list_tree` of `alice/f` through a proxy whose tree pages are all `[]` with `link`.
fn list_with_links(
    hub: &Hub,
    link: impl Fn(&Seen, &str) -> String + Send + Sync + 'static,
) -> (HubError, Proxy) {
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.path.contains("/tree/") {
            answer(200, &[("link", &link(s, &s.path))], "[]")
        } else {
            Fault::Pass
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let c = client(&proxy.url, Some(ALICE), cache.path(), false, fast());
    let err = within(Duration::from_secs(30), move || {
        c.list_tree(&RepoId::new("alice/f").unwrap(), "main", None, true)
    })
    .unwrap_err();
    (err, proxy)
}

fn pagination_reason(err: HubError) -> String {
    match err {
        HubError::Pagination { url, reason } => {
            assert!(url.ends_with("/api/models/alice/f/tree/main"), "{url}");
            reason
        }
        other => panic!("expected a pagination error, got {other:?}"),
    }
}

#[test]
fn pagination_that_loops_or_leaves_the_endpoint_is_refused() {
    let hub = Hub::start();
    seed_f(&hub, false);
    // A page that links to itself, absolutely or relatively.
    let (err, proxy) = list_with_links(&hub, |_, path| format!("<{path}>; rel=\"next\""));
    assert!(pagination_reason(err).contains("a loop"));
    assert_eq!(proxy.seen().len(), 1, "the page was not asked again");
    let (err, _) = list_with_links(&hub, |_, _| "<>; rel=\"next\"".into());
    assert!(pagination_reason(err).contains("a loop"));
    // Two pages that link to each other.
    let (err, proxy) = list_with_links(&hub, |_, path| {
        let other = if path.contains("cursor=1") {
            path.replace("&cursor=1", "")
        } else {
            format!("{path}&cursor=1")
        };
        format!("<{other}>; rel=\"next\"")
    });
    assert!(pagination_reason(err).contains("a loop"));
    assert_eq!(proxy.seen().len(), 2);
    // A next page at another origin (which would get the token): not asked at all.
    let elsewhere = Proxy::start("localhost", hub.url(), |_, _| Fault::Pass);
    let target = format!("{}/api/models/alice/f/tree/main?cursor=1", elsewhere.url);
    let (err, _) = list_with_links(&hub, move |_, _| format!("<{target}>; rel=\"next\""));
    assert!(pagination_reason(err).contains("outside the endpoint"));
    assert!(elsewhere.seen().is_empty());
}

#[test]
fn range_reads_stop_at_the_ranges_end() {
    let hub = Hub::start();
    let big = seed_f(&hub, false);
    let longer = |announced| Fault::Trailing {
        extra: 1024 * 1024,
        pause: Duration::from_secs(4),
        announced,
    };
    // Parallel ranges whose bodies go on past the range: the range's bytes are kept, the rest
    // is neither read nor waited for.
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.method == "GET" && s.path.ends_with("/big.bin") {
            longer(true)
        } else {
            Fault::Pass
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let path = client(&proxy.url, None, cache.path(), true, fast())
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap();
    assert_eq!(sha(&fs::read(path).unwrap()), sha(&big));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let ranges = proxy.seen().iter().filter(|s| s.range.is_some()).count();
    assert_eq!(ranges, 3, "one request per part");

    // One stream: a body longer than the file ends at the file's size when its length is not
    // announced (and verified), and is refused at once when it announces more.
    for announced in [false, true] {
        let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
            if s.method == "GET" && s.path.ends_with("/big.bin") {
                longer(announced)
            } else {
                Fault::Pass
            }
        });
        let cache = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let got = client(&proxy.url, None, cache.path(), false, fast()).hub_download(
            "alice/f",
            "big.bin",
            &DownloadOptions::default(),
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        match (announced, got) {
            (false, Ok(path)) => assert_eq!(sha(&fs::read(path).unwrap()), sha(&big)),
            (true, Err(HubError::Integrity { actual, .. })) => {
                assert!(
                    actual.contains(&format!("{} bytes", BIG + 1024 * 1024)),
                    "{actual}"
                )
            }
            (announced, other) => panic!("announced {announced}: {other:?}"),
        }
    }
}

/// The cache folder of `alice/f`.
fn repo_dir(cache: &Path) -> PathBuf {
    cache.join("models--alice--f")
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_cache_are_never_written_through() {
    use std::os::unix::fs::symlink;

    let hub = Hub::start();
    let big = seed_f(&hub, false);
    let etag = hex::encode(sha(&big));
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    // `.incomplete` -> a file elsewhere (a download would resume into it, or truncate it), or
    // -> a path that does not exist yet (a parallel download would create it): sequential,
    // parallel and snapshot downloads all refuse it.
    for (ranged, dangling, snapshot) in [
        (false, false, false),
        (true, false, false),
        (true, true, false),
        (false, true, false),
        (false, false, true),
        (true, true, true),
    ] {
        let _ = fs::remove_file(&victim);
        if !dangling {
            fs::write(&victim, b"victim").unwrap();
        }
        let cache = tempfile::tempdir().unwrap();
        let blobs = repo_dir(cache.path()).join("blobs");
        fs::create_dir_all(&blobs).unwrap();
        symlink(&victim, blobs.join(format!("{etag}.incomplete"))).unwrap();
        let c = client(hub.url(), None, cache.path(), ranged, fast());
        let err = if snapshot {
            c.snapshot_download("alice/f", &SnapshotOptions::default())
                .unwrap_err()
        } else {
            c.hub_download("alice/f", "big.bin", &DownloadOptions::default())
                .unwrap_err()
        };
        let case = format!("ranged {ranged}, dangling {dangling}, snapshot {snapshot}");
        assert!(
            matches!(&err, HubError::Io { .. }) && err.to_string().contains("symbolic link"),
            "{case}: {err}"
        );
        if dangling {
            assert!(!victim.exists(), "{case}: the link's target was created");
        } else {
            assert_eq!(fs::read(&victim).unwrap(), b"victim", "{case}");
        }
    }

    // The lock file, and the marker of a missing file.
    let cache = tempfile::tempdir().unwrap();
    let locks = cache.path().join(".locks/models--alice--f");
    fs::create_dir_all(&locks).unwrap();
    let _ = fs::remove_file(&victim);
    symlink(&victim, locks.join(format!("{etag}.lock"))).unwrap();
    let err = client(hub.url(), None, cache.path(), false, fast())
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(!victim.exists(), "the lock's target was created");

    let commit = hubmix_hub::HubClient::builder()
        .endpoint(hub.url())
        .no_token()
        .cache_dir(cache.path())
        .build()
        .unwrap()
        .resolve_commit("alice/f", &DownloadOptions::default())
        .unwrap();
    let markers = repo_dir(cache.path()).join(".no_exist").join(&commit);
    fs::create_dir_all(&markers).unwrap();
    fs::write(&victim, b"victim").unwrap();
    symlink(&victim, markers.join("missing.txt")).unwrap();
    let err = client(hub.url(), None, cache.path(), false, fast())
        .hub_download("alice/f", "missing.txt", &DownloadOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(
        fs::read(&victim).unwrap(),
        b"victim",
        "the marker's target was not truncated"
    );
}
