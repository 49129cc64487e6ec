//! Downloads through a fault-injecting proxy: cuts, stalls, error bursts, wrong bytes,
//! redirects to another host, and hostile names from the server.

use std::fs;
use std::time::Duration;

use hubmix_hub::{DownloadOptions, HubClient, HubError, SnapshotOptions, settings::RetryPolicy};
use sha2::{Digest, Sha256};

use crate::proxy::{Fault, Proxy};
use crate::seed::{self, bytes};
use crate::support::{ALICE, Hub};

const BIG: usize = 3 * 1024 * 1024 + 11;

/// A hub with `alice/f` holding a 3 MiB LFS file `big.bin` and a small `a.txt`.
fn seeded() -> (Hub, Vec<u8>) {
    let hub = Hub::start();
    seed::create_repo(&hub, "f", false);
    let big = bytes(BIG, 9);
    seed::commit(&hub, "f", "main", &[("big.bin", &big), ("a.txt", b"small")]);
    (hub, big)
}

/// Downloads `alice/f`'s `big.bin` with `client`; returns the SHA-256 of the file it landed.
fn download_big(client: &HubClient) -> Vec<u8> {
    let path = client
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap();
    Sha256::digest(fs::read(path).unwrap()).to_vec()
}

fn is_get_big(s: &crate::proxy::Seen) -> bool {
    s.method == "GET" && s.path.ends_with("/big.bin")
}

fn blobs_and_snapshots_clean(hub: &Hub) -> bool {
    let repo = hub.cache_dir().join("models--alice--f");
    let blobs_empty = fs::read_dir(repo.join("blobs"))
        .map(|d| d.count() == 0)
        .unwrap_or(true);
    let no_big = walk(&repo.join("snapshots"))
        .iter()
        .all(|p| !p.ends_with("big.bin"));
    blobs_empty && no_big
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

#[test]
fn resumes_after_cuts_at_several_offsets() {
    let (hub, big) = seeded();
    let offsets = [1u64, 65_537, 1_048_577, 3_000_000];
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if is_get_big(s) {
            // The n-th GET is cut at the n-th offset (counted over GETs of the file only).
            static GETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = GETS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(at) = offsets.get(n) {
                return Fault::CutAfter(at - offsets[..n].iter().max().copied().unwrap_or(0).min(*at));
            }
        }
        Fault::Pass
    });
    let client = hub.client_for(&proxy.url, None);
    assert_eq!(download_big(&client), Sha256::digest(&big)[..]);
    let gets: Vec<_> = proxy.seen().into_iter().filter(is_get_big).collect();
    assert!(gets.len() >= 5, "one GET per cut plus the last: {gets:?}");
    assert!(gets[0].range.is_none());
    assert!(
        gets[1..].iter().all(|g| g
            .range
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-")),
        "resumed with Range: {gets:?}"
    );
}

#[test]
fn a_server_that_ignores_the_range_makes_the_download_start_over() {
    let (hub, big) = seeded();
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if is_get_big(s) {
            // Cut the first GET inside the second block; answer the resume in full.
            return match s.range {
                None => Fault::CutAfter(1_500_000),
                Some(_) => Fault::DropRange,
            };
        }
        Fault::Pass
    });
    let client = hub.client_for(&proxy.url, None);
    assert_eq!(
        download_big(&client),
        Sha256::digest(&big)[..],
        "the file is whole, not the cut part twice"
    );
    let gets: Vec<_> = proxy.seen().into_iter().filter(is_get_big).collect();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].range.as_deref(), Some("bytes=1500000-"));
}

#[test]
fn a_stalled_read_times_out_and_resumes() {
    let (hub, big) = seeded();
    let proxy = Proxy::start("127.0.0.1", hub.url(), |s, _| {
        static FIRST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
        if is_get_big(s) && FIRST.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Fault::Stall {
                after: 500_000,
                pause: Duration::from_secs(5),
            }
        } else {
            Fault::Pass
        }
    });
    let client = HubClient::builder()
        .endpoint(&proxy.url)
        .no_token()
        .cache_dir(hub.cache_dir())
        .progress_bars(Some(false))
        .download_timeout(Duration::from_millis(400))
        .retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let digest = download_big(&client);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "did not wait out the stall: {:?}",
        started.elapsed()
    );
    assert_eq!(digest, Sha256::digest(&big)[..]);
    let gets: Vec<_> = proxy.seen().into_iter().filter(is_get_big).collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[1].range.as_deref(), Some("bytes=500000-"));
}

#[test]
fn bursts_of_500_and_429_are_retried() {
    let (hub, _) = seeded();
    let proxy = Proxy::start("127.0.0.1", hub.url(), |_, i| match i {
        0 => Fault::Status(500),
        1 => Fault::Status(429),
        2 => Fault::Status(503),
        _ => Fault::Pass,
    });
    let client = hub.client_for(&proxy.url, None);
    let path = client
        .hub_download("alice/f", "a.txt", &DownloadOptions::default())
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), b"small");
    assert!(
        proxy.seen().len() >= 5,
        "three refused requests, then HEAD and GET"
    );
    // Errors that persist are not retried for ever, and say what happened.
    let proxy = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::Status(500));
    let err = hub
        .client_for(&proxy.url, None)
        .hub_download(
            "alice/f",
            "a.txt",
            &DownloadOptions::default().force_download(true),
        )
        .unwrap_err();
    assert!(matches!(err, HubError::Http { status: 500, .. }), "{err}");
    assert_eq!(
        proxy.seen().len(),
        1 + 1 + 4,
        "one quick try, then the retried one with 4 retries"
    );
}

#[test]
fn wrong_too_many_or_too_few_bytes_are_integrity_errors_and_leave_nothing() {
    for fault in [Fault::Tamper(2_000_000), Fault::Extra(10), Fault::Short(10)] {
        let (hub, _) = seeded();
        let f = fault.clone();
        let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
            if is_get_big(s) { f.clone() } else { Fault::Pass }
        });
        let err = hub
            .client_for(&proxy.url, None)
            .hub_download("alice/f", "big.bin", &DownloadOptions::default())
            .unwrap_err();
        assert!(matches!(err, HubError::Integrity { .. }), "{fault:?}: {err}");
        assert!(
            blobs_and_snapshots_clean(&hub),
            "{fault:?}: nothing left in blobs/ or snapshots/"
        );
    }
}

#[test]
fn the_token_never_crosses_to_another_host() {
    let (hub, big) = seeded();
    // "cdn" is another origin (localhost instead of 127.0.0.1) that records what it gets.
    let cdn = Proxy::start("localhost", hub.url(), |_, _| Fault::Pass);
    let cdn_url = cdn.url.clone();
    let front = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if s.path.ends_with("/big.bin") {
            Fault::RedirectTo(cdn_url.clone())
        } else {
            Fault::Pass
        }
    });
    let client = hub.client_for(&front.url, Some(ALICE));
    assert_eq!(download_big(&client), Sha256::digest(&big)[..]);
    let at_cdn = cdn.seen();
    assert!(!at_cdn.is_empty(), "the bytes came from the other host");
    assert!(
        at_cdn.iter().all(|s| !s.authorized),
        "no token on the other host: {at_cdn:?}"
    );
    assert!(
        front.seen().iter().any(|s| s.authorized),
        "the endpoint itself gets the token"
    );
}

#[test]
fn hostile_names_from_the_server_are_refused() {
    let hub = Hub::start();
    seed::create_repo(&hub, "f", false);
    seed::commit(&hub, "f", "main", &[("a.txt", b"A")]);
    for evil in ["../../outside.txt", "/etc/passwd", "a\\\\..\\\\b", "a/../../x"] {
        let listing = format!(
            r#"[{{"type": "file", "path": "{evil}", "size": 1, "oid": "2e65efe2a145dda7ee51d1741299f848e5bf752e"}}]"#
        );
        let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
            if s.path.contains("/tree/") {
                Fault::Json(listing.clone())
            } else {
                Fault::Pass
            }
        });
        let cache = tempfile::tempdir().unwrap();
        let client = HubClient::builder()
            .endpoint(&proxy.url)
            .no_token()
            .cache_dir(cache.path())
            .progress_bars(Some(false))
            .build()
            .unwrap();
        let err = client
            .snapshot_download("alice/f", &SnapshotOptions::default())
            .unwrap_err();
        assert!(matches!(err, HubError::InvalidPath { .. }), "{evil}: {err}");
        assert!(!cache.path().parent().unwrap().join("outside.txt").exists());
        assert!(walk(cache.path()).iter().all(|p| p.starts_with(cache.path())));
    }
}

/// Retries of the test clients ([`Hub::client_for`]'s): 4 after the first attempt.
const RETRIES: usize = 4;

/// A client for `endpoint` that fetches `big.bin` in 3 parallel ranges.
fn ranged_client(hub: &Hub, endpoint: &str) -> HubClient {
    client_for(hub, endpoint, true)
}

/// A client for `endpoint` with [`RETRIES`] fast retries; `ranged`: large files in 3 parallel
/// ranges, else in one stream.
fn client_for(hub: &Hub, endpoint: &str, ranged: bool) -> HubClient {
    let builder = HubClient::builder()
        .endpoint(endpoint)
        .no_token()
        .cache_dir(hub.cache_dir())
        .progress_bars(Some(false))
        .retry(RetryPolicy {
            max_retries: RETRIES as u32,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        });
    let builder = if ranged {
        builder.parallel_threshold(1024 * 1024).max_workers(3)
    } else {
        builder
    };
    builder.build().unwrap()
}

/// `(start, end)` (end inclusive) of a `bytes=start-end` header.
fn range_of(seen: &crate::proxy::Seen) -> (u64, u64) {
    let r = seen.range.as_deref().expect("a ranged GET");
    let (a, b) = r.trim_start_matches("bytes=").split_once('-').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// How many GETs of `big.bin` asked for each `Range` (none: the whole file).
fn gets_per_range(proxy: &Proxy) -> std::collections::BTreeMap<Option<String>, usize> {
    let mut parts = std::collections::BTreeMap::new();
    for g in proxy.seen().into_iter().filter(is_get_big) {
        *parts.entry(g.range).or_insert(0) += 1;
    }
    parts
}

#[test]
fn a_416_on_a_range_is_final_and_typed() {
    let (hub, _) = seeded();
    let proxy = Proxy::start("127.0.0.1", hub.url(), |s, _| {
        if is_get_big(s) {
            Fault::Status(416)
        } else {
            Fault::Pass
        }
    });
    let err = ranged_client(&hub, &proxy.url)
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    assert!(matches!(err, HubError::Http { status: 416, .. }), "{err}");
    assert_eq!(err.status(), Some(416));
    let parts = gets_per_range(&proxy);
    assert!(!parts.is_empty());
    assert!(
        parts.values().all(|&n| n == 1),
        "no part was asked twice: {parts:?}"
    );
    assert!(
        blobs_and_snapshots_clean(&hub),
        "nothing left in blobs/ or snapshots/"
    );
}

#[test]
fn a_416_on_a_resume_is_final_and_the_next_call_starts_over() {
    let (hub, big) = seeded();
    let refuse = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let r = std::sync::Arc::clone(&refuse);
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        match (is_get_big(s), &s.range) {
            (true, None) => Fault::CutAfter(1_500_000),
            (true, Some(_)) if r.load(std::sync::atomic::Ordering::SeqCst) => Fault::Status(416),
            _ => Fault::Pass,
        }
    });
    let client = hub.client_for(&proxy.url, None);
    let err = client
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    assert_eq!(err.status(), Some(416), "{err}");
    let gets: Vec<_> = proxy.seen().into_iter().filter(is_get_big).collect();
    assert_eq!(
        gets.len(),
        2,
        "the cut, then one resume that is not retried: {gets:?}"
    );
    assert_eq!(gets[1].range.as_deref(), Some("bytes=1500000-"));
    // The partial file the server cannot continue is dropped: the next call starts over.
    refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    let before = proxy.seen().len();
    assert_eq!(download_big(&client), Sha256::digest(&big)[..]);
    let again: Vec<_> = proxy.seen()[before..]
        .iter()
        .filter(|s| is_get_big(s))
        .cloned()
        .collect();
    assert!(again[0].range.is_none(), "{again:?}");
}

#[test]
fn a_503_that_outlasts_the_retries_is_reported_as_http_503_with_the_servers_message() {
    let (hub, _) = seeded();
    let busy = || Fault::StatusWithMessage(503, "the hub is busy, come back later".into());
    // Ranged: every part is refused, each until its retries are spent.
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if is_get_big(s) { busy() } else { Fault::Pass }
    });
    let err = ranged_client(&hub, &proxy.url)
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    match &err {
        HubError::Http {
            status: 503,
            message,
            url,
        } => {
            assert_eq!(message, "the hub is busy, come back later");
            assert!(url.ends_with("/big.bin"), "{url}");
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert_eq!(err.status(), Some(503));
    assert!(
        err.to_string().contains("503") && err.to_string().contains("busy"),
        "{err}"
    );
    let parts = gets_per_range(&proxy);
    assert!(
        !parts.is_empty() && parts.values().all(|&n| n == 1 + RETRIES),
        "one budget per part, not retries of retries: {parts:?}"
    );
    // Sequential: the same, through one budget for the requests and the body.
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        if is_get_big(s) { busy() } else { Fault::Pass }
    });
    let err = hub
        .client_for(&proxy.url, None)
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, HubError::Http { status: 503, message, .. } if message.contains("busy")),
        "{err}"
    );
    let gets = proxy.seen().into_iter().filter(is_get_big).count();
    assert_eq!(gets, 1 + RETRIES);
}

#[test]
fn the_last_attempt_decides_the_error_and_network_errors_keep_their_source() {
    let (hub, _) = seeded();
    // Per part: lost answers first, then 503s; the last attempt is a 503.
    let count = |lost_first: bool| {
        let tries = std::sync::Mutex::new(std::collections::HashMap::<Option<String>, usize>::new());
        move |s: &crate::proxy::Seen, _: usize| {
            if !is_get_big(s) {
                return Fault::Pass;
            }
            let mut tries = tries.lock().unwrap();
            let n = tries.entry(s.range.clone()).or_insert(0);
            *n += 1;
            if (*n <= 2) == lost_first {
                Fault::LoseResponse
            } else {
                Fault::Status(503)
            }
        }
    };
    let proxy = Proxy::start("127.0.0.1", hub.url(), count(true));
    let err = ranged_client(&hub, &proxy.url)
        .hub_download("alice/f", "big.bin", &DownloadOptions::default())
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    // 503s first, then lost answers: a network error, whose source says what broke.
    for ranged in [true, false] {
        let proxy = Proxy::start("127.0.0.1", hub.url(), count(false));
        let err = client_for(&hub, &proxy.url, ranged)
            .hub_download("alice/f", "big.bin", &DownloadOptions::default())
            .unwrap_err();
        let HubError::Network { url, .. } = &err else {
            panic!("ranged {ranged}: expected a network error, got {err:?}");
        };
        assert!(url.ends_with("/big.bin"), "{url}");
        assert_eq!(err.status(), None);
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert!(source.downcast_ref::<ureq::Error>().is_some(), "{source:?}");
        assert!(err.to_string().contains(&source.to_string()), "{err}");
        assert!(err.to_string().contains("HF_ENDPOINT"), "says what to do: {err}");
        let parts = gets_per_range(&proxy);
        assert!(
            !parts.is_empty() && parts.values().all(|&n| n == 1 + RETRIES),
            "ranged {ranged}: {parts:?}"
        );
    }
}

#[test]
fn a_cut_range_resumes_from_the_bytes_it_received() {
    let (hub, big) = seeded();
    const CUT: u64 = 300_000;
    let cut = std::sync::Mutex::new(std::collections::HashSet::new());
    let proxy = Proxy::start("127.0.0.1", hub.url(), move |s, _| {
        // Every GET of a part is cut after CUT bytes: each resume must ask for what is missing.
        if is_get_big(s) && s.range.is_some() {
            let (start, end) = range_of(s);
            let mut cut = cut.lock().unwrap();
            if cut.insert((start, end)) {
                return Fault::CutAfter(CUT);
            }
        }
        Fault::Pass
    });
    assert_eq!(
        download_big(&ranged_client(&hub, &proxy.url)),
        Sha256::digest(&big)[..]
    );
    let gets: Vec<_> = proxy.seen().into_iter().filter(is_get_big).collect();
    let mut by_end = std::collections::BTreeMap::<u64, Vec<u64>>::new();
    for (start, end) in gets.iter().map(range_of) {
        by_end.entry(end).or_default().push(start);
    }
    assert_eq!(by_end.len(), 3, "three parts: {by_end:?}");
    for (end, starts) in &by_end {
        // Each resume starts where the bytes stopped: CUT further on every cut.
        let expected: Vec<u64> = (0..starts.len() as u64).map(|i| starts[0] + i * CUT).collect();
        assert_eq!(starts, &expected, "part ending at {end}");
        assert_eq!(
            starts.len(),
            4,
            "part ending at {end}: 3 cuts, then the rest: {starts:?}"
        );
    }
}
