//! Concurrent commits to one branch: serialised without `parentCommit`, compare-and-swap with it.

use std::sync::{Arc, Barrier};

use crate::support::{ALICE, Hub, Repo, file_line, header, header_with_parent};

const WRITERS: usize = 8;

#[test]
fn concurrent_commits_without_parent_all_land() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    let base = alice.head_of(&repo, "main");

    let barrier = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (client, repo, barrier) = (alice.clone(), repo.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let lines = [
                    header(&format!("writer {i}")),
                    file_line(&format!("w{i}.txt"), format!("from writer {i}").as_bytes()),
                    file_line("shared.txt", format!("last writer was {i}").as_bytes()),
                ];
                barrier.wait();
                let reply = client.commit(&repo, "main", &lines);
                reply.ok_json()["commitOid"]
                    .as_str()
                    .expect("commitOid")
                    .to_owned()
            })
        })
        .collect();
    let mut oids: Vec<String> = writers.into_iter().map(|w| w.join().expect("writer")).collect();

    // Every file is there, and the history is one chain of N new commits on top of the base.
    let mut expected: Vec<String> = (0..WRITERS).map(|i| format!("w{i}.txt")).collect();
    expected.extend([".gitattributes".to_owned(), "shared.txt".to_owned()]);
    expected.sort();
    assert_eq!(alice.files(&repo, "main"), expected);
    for i in 0..WRITERS {
        assert_eq!(
            alice.download(&repo, "main", &format!("w{i}.txt")),
            format!("from writer {i}").as_bytes()
        );
    }
    let log = alice.get(&repo.api("/commits/main")).ok_json();
    let log = log.as_array().expect("log");
    assert_eq!(log.len(), WRITERS + 1);
    assert_eq!(log[WRITERS]["id"], base.as_str());
    for pair in log.windows(2) {
        assert_eq!(pair[0]["parents"][0], pair[1]["id"], "history is a chain");
    }
    let mut logged: Vec<String> = log[..WRITERS]
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    logged.sort();
    oids.sort();
    assert_eq!(logged, oids);
    // shared.txt holds what the last commit in the chain wrote.
    let last = log[0]["title"]
        .as_str()
        .expect("title")
        .trim_start_matches("writer ")
        .to_owned();
    assert_eq!(
        alice.download(&repo, "main", "shared.txt"),
        format!("last writer was {last}").as_bytes()
    );
}

#[test]
fn concurrent_commits_with_the_same_parent_exactly_one_wins() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    let base = alice.head_of(&repo, "main");

    let barrier = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (client, repo, barrier, base) =
                (alice.clone(), repo.clone(), Arc::clone(&barrier), base.clone());
            std::thread::spawn(move || {
                let lines = [
                    header_with_parent(&format!("writer {i}"), &base),
                    file_line(&format!("w{i}.txt"), b"x"),
                ];
                barrier.wait();
                let reply = client.commit(&repo, "main", &lines);
                (i, reply)
            })
        })
        .collect();
    let replies: Vec<_> = writers.into_iter().map(|w| w.join().expect("writer")).collect();

    let winners: Vec<_> = replies.iter().filter(|(_, r)| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "statuses: {:?}",
        replies.iter().map(|(_, r)| r.status).collect::<Vec<_>>()
    );
    for (_, reply) in replies.iter().filter(|(_, r)| r.status != 200) {
        reply.assert_error(412, "Conflict");
    }
    let (winner, reply) = winners[0];
    let oid = reply.json()["commitOid"].as_str().expect("commitOid").to_owned();
    assert_eq!(alice.head_of(&repo, "main"), oid);
    assert_eq!(
        alice.files(&repo, "main"),
        [".gitattributes".to_owned(), format!("w{winner}.txt")]
    );
    let log = alice.get(&repo.api("/commits/main")).ok_json();
    assert_eq!(log.as_array().map(Vec::len), Some(2));
    assert_eq!(log[1]["id"], base.as_str());

    // The losers retry on the new head, and nothing is lost.
    for (i, _) in replies.iter().filter(|(_, r)| r.status != 200) {
        let head = alice.head_of(&repo, "main");
        alice
            .commit(
                &repo,
                "main",
                &[
                    header_with_parent("retry", &head),
                    file_line(&format!("w{i}.txt"), b"x"),
                ],
            )
            .assert_status(200);
    }
    assert_eq!(alice.files(&repo, "main").len(), WRITERS + 1);
}
