//! The server's byte and response counters (`RunningServer::stats`, `GET /metrics`): a
//! download adds exactly the bytes of its body, on the API and on the blob host alike.

use crate::support::{ALICE, Hub, Repo, header, lfs_line, pattern};

/// Runs `f` and returns the response-body bytes the server sent meanwhile.
fn sent_during(hub: &Hub, f: impl FnOnce()) -> u64 {
    let before = hub.server.stats().response_body_bytes();
    f();
    hub.server.stats().response_body_bytes() - before
}

#[test]
fn downloads_and_ranges_are_counted_exactly() {
    let hub = Hub::with(|c| c.lfs_cdn(true));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/counted");
    alice.create(&repo);
    let small = pattern(300_000, 1);
    alice.commit_files(&repo, &[("small.bin", &small)]);
    let big = pattern(3 << 20, 2);
    let oid = alice.upload_lfs(&repo, &big);
    alice
        .commit(
            &repo,
            "main",
            &[header("lfs"), lfs_line("big.bin", &oid, big.len() as u64)],
        )
        .ok_json();

    // Streamed by the API.
    let sent = sent_during(&hub, || {
        assert_eq!(alice.download(&repo, "main", "small.bin"), small);
    });
    assert_eq!(sent, small.len() as u64);
    let sent = sent_during(&hub, || {
        let reply = alice.send(
            "GET",
            &repo.resolve("main", "small.bin"),
            &[("range", "bytes=100-1123")],
            crate::support::Body::Empty,
        );
        reply.assert_status(206);
        assert_eq!(reply.body, small[100..1124]);
    });
    assert_eq!(sent, 1024);
    // A HEAD sends no body, whatever its Content-Length says.
    let sent = sent_during(&hub, || {
        alice.head(&repo.resolve("main", "small.bin")).assert_status(200);
    });
    assert_eq!(sent, 0);

    // Redirected to the blob host (an empty 302), which sends the blob with sendfile.
    let sent = sent_during(&hub, || {
        let reply = alice.get(&repo.resolve("main", "big.bin"));
        reply.assert_status(302);
        let location = reply.header("location").expect("Location").to_owned();
        assert_eq!(hub.anonymous().get(&location).body, big);
    });
    assert_eq!(sent, big.len() as u64);

    // The same figures over HTTP, in Prometheus' text format.
    let responses_2xx = hub.server.stats().responses(2);
    let reply = hub.anonymous().get("/metrics");
    reply.assert_status(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{reply:?}"
    );
    let text = String::from_utf8(reply.body).expect("text");
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .expect("a count")
    };
    let counted = value("hubmix_http_response_body_bytes_total");
    assert!(counted >= small.len() as u64 + 1024 + big.len() as u64, "{text}");
    // The answer is written before it is sent: the bytes up to it, not its own.
    assert_eq!(
        counted + text.len() as u64,
        hub.server.stats().response_body_bytes()
    );
    assert_eq!(value("hubmix_http_responses_total{class=\"2xx\"}"), responses_2xx);
    assert!(value("hubmix_http_responses_total{class=\"3xx\"}") >= 1, "{text}");
}
