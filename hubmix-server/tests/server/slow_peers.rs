//! Slow and idle peers, connection caps and graceful shutdown: hundreds of sockets that send
//! nothing or a byte at a time, on the API's port and on the blob host, neither stop normal
//! requests nor stay open past the deadlines; a stalled upload is cut off and keeps nothing; a
//! client over a cap is refused at once; `SIGTERM` lets the request in flight finish and the
//! process exit 0.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use hubmix_server::ServerConfig;

use crate::support::*;

/// The deadlines the tests configure: short, so that the tests are.
const HEADER: Duration = Duration::from_secs(2);
const IDLE: Duration = Duration::from_secs(2);
/// Sockets of each kind per attack.
const SOCKETS: usize = 300;
/// How long a normal request may take while the attack goes on.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Short deadlines, and caps high enough for every attacking socket of a test (they all come
/// from 127.0.0.1).
fn short_deadlines(config: ServerConfig) -> ServerConfig {
    config
        .header_timeout(HEADER)
        .idle_timeout(IDLE)
        .max_connections_per_ip(4 * SOCKETS)
        .max_connections(4 * SOCKETS)
}

/// Runs `call` and asserts it took less than [`ANSWER_WITHIN`].
fn promptly<T>(what: &str, call: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = call();
    assert!(
        started.elapsed() < ANSWER_WITHIN,
        "{what} took {:?} during the attack",
        started.elapsed()
    );
    out
}

/// Uploads `content` as `path` to `main` through LFS.
fn commit_lfs(alice: &Client, repo: &Repo, path: &str, content: &[u8]) {
    let oid = alice.upload_lfs(repo, content);
    alice
        .commit(
            repo,
            "main",
            &[header("lfs"), lfs_line(path, &oid, content.len() as u64)],
        )
        .ok_json();
}

/// The signed blob-host URL a download of `path` is redirected to.
fn blob_location(client: &Client, repo: &Repo, path: &str) -> String {
    let reply = client.head(&repo.resolve("main", path));
    reply.assert_status(302);
    reply.header("location").expect("Location").to_owned()
}

/// Storage calls on the blocking pool: a commit of several files (each written and synced),
/// then the listing of the tree.
fn commit_many(alice: &Client, repo: &Repo, seed: u64) {
    let files: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| (format!("many/{seed}/{i}.bin"), pattern(4096, seed * 100 + i)))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    alice.commit_files(repo, &files);
    assert!(alice.files(repo, "main").len() >= 10);
}

#[test]
fn idle_and_slow_sockets_on_the_api_port_are_closed_and_do_not_stop_it() {
    raise_fd_limit();
    let hub = Hub::with(short_deadlines);
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/busy");
    alice.create(&repo);

    let attack = Instant::now();
    let mut idle = idle_sockets(hub.server.addr(), SOCKETS);
    let mut drip = Drip::start(hub.server.addr(), SOCKETS);
    let opened = Instant::now();
    promptly("a listing", || {
        hub.anonymous().get("/api/models").assert_status(200);
    });
    promptly("a commit", || commit_many(&alice, &repo, 1));
    promptly("a download", || {
        assert_eq!(alice.download(&repo, "main", "many/1/0.bin"), pattern(4096, 100));
    });

    // Each socket is closed within the header deadline (and some slack) of its connecting.
    let deadline = opened + HEADER + Duration::from_secs(3);
    assert_closed_by(&mut idle, deadline, "idle");
    assert_closed_by(&mut drip.sockets, deadline, "slow");
    // Closed by the header deadline, not earlier.
    assert!(attack.elapsed() >= HEADER, "closed after {:?}", attack.elapsed());
}

#[test]
fn idle_and_slow_sockets_on_the_blob_host_are_closed_and_do_not_stop_the_api() {
    raise_fd_limit();
    let hub = Hub::with(|c| short_deadlines(c).lfs_cdn(true));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/blobs");
    alice.create(&repo);
    let big = pattern(2 << 20, 7);
    commit_lfs(&alice, &repo, "big.bin", &big);
    let location = blob_location(&alice, &repo, "big.bin");
    let blob_host = addr_of(&location);

    let attack = Instant::now();
    // More than the 512 threads of tokio's blocking pool, which each connection of the blob
    // host used to hold, starving the API's storage calls.
    let mut idle = idle_sockets(blob_host, SOCKETS);
    let mut drip = Drip::start(blob_host, SOCKETS);
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    promptly("a listing", || {
        hub.anonymous().get("/api/models").assert_status(200);
    });
    promptly("a commit", || commit_many(&alice, &repo, 2));
    promptly("a blob download", || {
        assert_eq!(hub.anonymous().get(&location).body, big);
    });

    // Each socket is closed within the header deadline (and some slack) of its connecting.
    let deadline = opened + HEADER + Duration::from_secs(3);
    assert_closed_by(&mut idle, deadline, "idle");
    assert_closed_by(&mut drip.sockets, deadline, "slow");
    assert!(attack.elapsed() >= HEADER, "closed after {:?}", attack.elapsed());
}

/// Asserts that `addr` takes `allowed` connections and answers the next one `503` at once; and
/// that `probe` (a normal request) succeeds again once one of them is closed.
fn assert_capped(addr: SocketAddr, allowed: usize, probe: impl Fn() -> u16, what: &str) {
    let mut held = idle_sockets(addr, allowed);
    let mut extra = TcpStream::connect(addr).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("read timeout");
    let mut answer = Vec::new();
    let read = extra.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        read.is_ok() && text.starts_with("HTTP/1.1 503 ") && text.contains("Retry-After: 1\r\n"),
        "{what}: connection {} over the cap: {read:?} {text}",
        allowed + 1
    );
    assert_eq!(probe(), 503, "{what}: a normal request over the cap");
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match probe() {
            200 => break,
            status => assert!(
                Instant::now() < deadline,
                "{what}: still {status} after a connection closed"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The held connections stay served: the cap closed only the extra ones.
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let e = s.read(&mut [0u8; 1]).expect_err("nothing to read yet");
        assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{what}: {e}"
        );
    }
}

#[test]
fn connections_over_a_cap_are_refused_at_once_on_both_ports() {
    for (what, tune) in [
        (
            "per address",
            (|c: ServerConfig| c.max_connections_per_ip(4)) as fn(ServerConfig) -> ServerConfig,
        ),
        ("overall", |c: ServerConfig| c.max_connections(4)),
    ] {
        let hub = Hub::with(|c| tune(c.lfs_cdn(true)));
        let location = {
            let alice = hub.client(ALICE);
            let repo = Repo::model("alice/capped");
            alice.create(&repo);
            commit_lfs(&alice, &repo, "big.bin", &pattern(1 << 20, 3));
            blob_location(&alice, &repo, "big.bin")
        };
        // The server sees alice's kept-alive connection close.
        std::thread::sleep(Duration::from_millis(200));
        let anonymous = hub.anonymous();
        let status = |path: &str| match anonymous.try_send("GET", path, &[], Body::Empty) {
            Ok(reply) => reply.status,
            // Refused while the request was on its way: the 503 may be lost to a reset.
            Err(_) => 503,
        };
        assert_capped(
            hub.server.addr(),
            4,
            || status("/api/models"),
            &format!("API, {what}"),
        );
        assert_capped(
            addr_of(&location),
            4,
            || status(&location),
            &format!("blob host, {what}"),
        );
    }
}

/// Reads one HTTP answer (head and `Content-Length` body) within `within`; `None` if the
/// connection ended first.
fn read_answer(conn: &mut TcpStream, within: Duration) -> Option<(u16, String)> {
    let deadline = Instant::now() + within;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().expect("Content-Length"));
            if raw.len() >= end + 4 + length {
                let text = String::from_utf8_lossy(&raw).into_owned();
                let status = text[9..12].parse().expect("status");
                return Some((status, text));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no answer within {within:?}: {}",
            String::from_utf8_lossy(&raw)
        );
        conn.set_read_timeout(Some(left)).expect("read timeout");
        match conn.read(&mut buf) {
            Ok(0) => return None,
            Err(e) if closed_by_peer(&e) => {
                return None;
            }
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
}

/// The head of a raw request with a body of `length` bytes.
fn request_head(method: &str, url: &str, token: Option<&str>, length: usize) -> String {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

#[test]
fn a_stalled_upload_is_cut_off_after_the_idle_time_and_keeps_nothing() {
    let hub = Hub::with(|c| c.idle_timeout(Duration::from_secs(1)));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/stalled");
    alice.create(&repo);
    alice.commit_files(&repo, &[("a.txt", b"a")]);
    let before = alice.snapshot(&repo);

    // An LFS upload that stops halfway.
    let content = pattern(1 << 20, 9);
    let oid = sha256_hex(&content);
    let answer = alice
        .batch(&repo, &[(&oid, content.len() as u64)], &["basic"])
        .ok_json();
    let object = &answer["objects"][0];
    let put = object["actions"]["upload"]["href"].as_str().expect("upload href");
    let mut conn = TcpStream::connect(hub.server.addr()).expect("connect");
    conn.write_all(request_head("PUT", put, None, content.len()).as_bytes())
        .expect("head");
    conn.write_all(&content[..content.len() / 2])
        .expect("half the body");
    let stalled = Instant::now();
    let (status, text) = read_answer(&mut conn, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("sent nothing for 1 s"), "{text}");
    assert!(
        stalled.elapsed() >= Duration::from_millis(900),
        "{:?}",
        stalled.elapsed()
    );
    assert!(
        read_answer(&mut conn, Duration::from_secs(5)).is_none(),
        "the connection closes"
    );
    alice.verify(object).assert_status(404);
    let root = hub.dir.path();
    assert!(
        files_below(&root.join("tmp")).is_empty(),
        "no temporary file left"
    );
    assert!(
        !files_below(root).iter().any(|p| p.ends_with(&oid)),
        "no blob stored"
    );

    // An NDJSON commit that stops in the middle of a line.
    let body = ndjson(&[header("stalled"), file_line("b.txt", &pattern(100_000, 4))]);
    let mut conn = TcpStream::connect(hub.server.addr()).expect("connect");
    let url = format!("{}{}", hub.server.url(), repo.api("/commit/main"));
    conn.write_all(request_head("POST", &url, Some(ALICE), body.len()).as_bytes())
        .expect("head");
    conn.write_all(&body.as_bytes()[..body.len() / 2])
        .expect("half the body");
    let (status, text) = read_answer(&mut conn, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("sent nothing for 1 s"), "{text}");
    assert_eq!(alice.snapshot(&repo), before, "the repository is unchanged");
    assert!(
        files_below(&root.join("tmp")).is_empty(),
        "no temporary file left"
    );
}

#[test]
fn a_request_over_the_request_deadline_is_answered_408_and_changes_nothing() {
    let hub = Hub::with(|c| c.request_timeout(Duration::from_secs(1)).idle_timeout(IDLE));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/slowbody");
    alice.create(&repo);
    let before = alice.snapshot(&repo);
    // A commit body that keeps coming, a byte every 100 ms: never idle, but never done.
    let body = ndjson(&[header("slow"), file_line("c.txt", b"c")]);
    let mut conn = TcpStream::connect(hub.server.addr()).expect("connect");
    let url = format!("{}{}", hub.server.url(), repo.api("/commit/main"));
    conn.write_all(request_head("POST", &url, Some(ALICE), body.len()).as_bytes())
        .expect("head");
    let mut writer = conn.try_clone().expect("clone");
    let bytes = body.into_bytes();
    let drip = std::thread::spawn(move || {
        for b in bytes {
            if writer.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    let (status, text) = read_answer(&mut conn, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("took longer"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(conn);
    let _ = drip.join();
    assert_eq!(alice.snapshot(&repo), before, "the repository is unchanged");
}

/// Asserts that a client that stops reading an answer is cut off after the idle time: what it
/// reads afterwards ends before the whole file.
fn assert_slow_reader_cut_off(url: &str, size: usize, idle: Duration) {
    let mut conn = TcpStream::connect(addr_of(url)).expect("connect");
    conn.write_all(request_head("GET", url, None, 0).as_bytes())
        .expect("request");
    std::thread::sleep(idle + Duration::from_secs(2));
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    // The answer's head and the whole file: all of it came, the connection was not cut.
    while received <= size {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) if closed_by_peer(&e) => {
                break;
            }
            Err(e) => panic!("{url}: reading after the pause: {e}"),
        }
    }
    assert!(
        received < size,
        "{url}: the whole answer ({received} bytes with its head) came through after the client paused"
    );
}

#[test]
fn a_client_that_stops_reading_a_download_is_cut_off() {
    // More than the socket buffers of both ends hold.
    let size = 32 << 20;
    let big = pattern(size, 11);
    let idle = Duration::from_secs(1);
    let direct = Hub::with(|c| c.idle_timeout(idle));
    let alice = direct.client(ALICE);
    let repo = Repo::model("alice/reader");
    alice.create(&repo);
    commit_lfs(&alice, &repo, "big.bin", &big);
    let url = format!("{}{}", direct.server.url(), repo.resolve("main", "big.bin"));
    assert_slow_reader_cut_off(&url, size, idle);

    let cdn = Hub::with(|c| c.idle_timeout(idle).lfs_cdn(true));
    let alice = cdn.client(ALICE);
    alice.create(&repo);
    commit_lfs(&alice, &repo, "big.bin", &big);
    assert_slow_reader_cut_off(&blob_location(&alice, &repo, "big.bin"), size, idle);
}

/// Sends `SIGTERM` to process `pid`.
#[cfg(unix)]
fn terminate(pid: u32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a process id");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
}

/// Starts a commit of `late.txt` on the server at `url` and sends half its body.
#[cfg(unix)]
fn half_a_commit(url: &str, repo: &Repo) -> (TcpStream, Vec<u8>) {
    let mut body = ndjson(&[
        header("in flight"),
        file_line("late.txt", b"finished after SIGTERM"),
    ])
    .into_bytes();
    let mut conn = TcpStream::connect(addr_of(url)).expect("connect");
    let target = format!("{url}{}", repo.api("/commit/main"));
    conn.write_all(request_head("POST", &target, Some(ALICE), body.len()).as_bytes())
        .expect("head");
    let rest = body.split_off(body.len() / 2);
    conn.write_all(&body).expect("half the body");
    (conn, rest)
}

#[cfg(unix)]
#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let root = tempfile::tempdir().expect("temporary folder");
    let repo = Repo::model("alice/graceful");
    let mut server = Proc::start(root.path(), None, &["--shutdown-grace-secs", "20"]);
    server.client(ALICE).create(&repo);
    let (mut conn, rest) = half_a_commit(&server.url, &repo);
    let mut idle = TcpStream::connect(addr_of(&server.url)).expect("connect");
    std::thread::sleep(Duration::from_millis(300));

    terminate(server.pid());
    // It stops accepting at once, and closes the connection that has no request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr_of(&server.url)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_closed_by(std::slice::from_mut(&mut idle), deadline, "idle");
    // The request in flight finishes, and its answer comes back.
    std::thread::sleep(Duration::from_millis(500));
    conn.write_all(&rest).expect("the rest of the body");
    let (status, text) = read_answer(&mut conn, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 200, "{text}");
    let (exit, stderr) = server.wait_for_exit();
    assert_eq!(exit.code(), Some(0), "{exit:?}: {stderr}");
    drop(server);

    let server = Proc::start(root.path(), None, &[]);
    let files = server.client(ALICE).files(&repo, "main");
    assert!(files.contains(&"late.txt".to_owned()), "{files:?}");
}

#[cfg(unix)]
#[test]
fn sigterm_exits_0_after_the_grace_period_when_a_request_does_not_finish() {
    let root = tempfile::tempdir().expect("temporary folder");
    let repo = Repo::model("alice/impatient");
    let mut server = Proc::start(root.path(), None, &["--shutdown-grace-secs", "1"]);
    let alice = server.client(ALICE);
    alice.create(&repo);
    let before = alice.snapshot(&repo);
    let (mut conn, _rest) = half_a_commit(&server.url, &repo);
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    terminate(server.pid());
    let (exit, stderr) = server.wait_for_exit();
    assert_eq!(exit.code(), Some(0), "{exit:?}: {stderr}");
    let took = signalled.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(8)).contains(&took),
        "exited {took:?} after SIGTERM"
    );
    assert!(
        read_answer(&mut conn, Duration::from_secs(5)).is_none(),
        "cut off"
    );
    drop(server);

    let server = Proc::start(root.path(), None, &[]);
    assert_eq!(server.client(ALICE).snapshot(&repo), before, "nothing committed");
}
