//! Listings that cost their page: tree pages resumed from a path, paths-info, repository
//! listings and commit history paged with cursors.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ALICE, BOB, Body, Client, Hub, Repo, all_pages, header, next_link, pages};

/// The `cursor` parameter of a next-page URL, decoded.
fn cursor_of(url: &str) -> String {
    let query = url.split_once('?').expect("a query").1;
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("cursor="))
        .unwrap_or_else(|| panic!("no cursor in {url}"));
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .expect("UTF-8")
        .into_owned()
}

/// A listing item as its cursor names it: the path, with a `/` appended for a folder.
fn sort_key(item: &Value) -> String {
    let path = item["path"].as_str().expect("path");
    match item["type"].as_str() {
        Some("directory") => format!("{path}/"),
        _ => path.to_owned(),
    }
}

/// Commits `paths`, all with the same small content, to `main` in one commit.
fn commit_paths(client: &Client, repo: &Repo, paths: &[String]) {
    let mut lines = vec![header("many files")];
    lines.extend(paths.iter().map(|p| crate::support::file_line(p, b"x")));
    client.commit(repo, "main", &lines).assert_status(200);
}

#[test]
fn recursive_tree_pages_list_every_entry_once_in_path_order() {
    let hub = Hub::with(|c| c.page_size(7));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/many");
    alice.create(&repo);
    let mut files: Vec<String> = (0..1500)
        .map(|i| format!("d{}/e{}/f{i:04}.txt", i % 5, i % 7))
        .collect();
    files.extend(["a.txt", "a/x", "a0", "a!b", "d1/e1.txt"].map(str::to_owned));
    commit_paths(&alice, &repo, &files);
    files.push(".gitattributes".into());

    let replies = pages(&alice, &repo.api("/tree/main?recursive=true&expand=false"));
    let mut listed: Vec<Value> = Vec::new();
    for (i, reply) in replies.iter().enumerate() {
        let page = reply.json();
        let page = page.as_array().expect("page");
        listed.extend(page.iter().cloned());
        match next_link(reply) {
            Some(next) => {
                assert_eq!(page.len(), 7, "page {i} is not full");
                assert_eq!(cursor_of(&next), sort_key(page.last().expect("an item")));
            }
            None => assert!(!page.is_empty() && page.len() <= 7),
        }
    }
    // Every folder and file once, depth-first in git's order: paths in byte order, folders as
    // "path/".
    let keys: Vec<String> = listed.iter().map(sort_key).collect();
    let mut expected: BTreeSet<String> = files.iter().cloned().collect();
    for file in &files {
        let mut end = 0;
        while let Some(i) = file[end..].find('/') {
            end += i + 1;
            expected.insert(file[..end].to_owned());
        }
    }
    assert_eq!(keys, expected.into_iter().collect::<Vec<_>>());
    assert_eq!(replies.len(), keys.len().div_ceil(7));

    // One folder's children, in pages too.
    let (children, _) = all_pages(&alice, &repo.api("/tree/main/d1"));
    let keys: Vec<String> = children.iter().map(sort_key).collect();
    let mut expected: Vec<String> = (0..7).map(|e| format!("d1/e{e}/")).collect();
    expected.push("d1/e1.txt".into());
    expected.sort();
    assert_eq!(keys, expected);

    // A cursor from another folder is refused.
    alice
        .get(&repo.api("/tree/main/d1?cursor=d2%2Fe0%2F"))
        .assert_error(400, "BadRequest");
}

#[test]
fn paths_info_answers_each_path_once_however_often_asked() {
    let hub = Hub::start();
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/many");
    alice.create(&repo);
    let files: Vec<String> = (0..2000).map(|i| format!("big/f{i:04}.txt")).collect();
    commit_paths(&alice, &repo, &files);

    // 100,000 paths: a folder with 2,000 files below it and a file, each asked 50,000 times.
    let form = "paths=big&paths=big%2Ff0007.txt&".repeat(50_000);
    let started = Instant::now();
    let reply = alice.send(
        "POST",
        &repo.api("/paths-info/main"),
        &[],
        Body::Bytes("application/x-www-form-urlencoded", form.as_bytes()),
    );
    let elapsed = started.elapsed();
    let items = reply.ok_json();
    let found: Vec<(&str, &str)> = items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["path"].as_str().expect("path"),
                i["type"].as_str().expect("type"),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "each path once");
    assert_eq!(found, [("big", "directory"), ("big/f0007.txt", "file")]);
    assert!(
        elapsed < Duration::from_secs(10),
        "100,000 paths took {elapsed:?}"
    );
}

/// The ids of a repository listing, following every page.
fn listed_ids(client: &Client, url: &str) -> Vec<String> {
    all_pages(client, url)
        .0
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn repository_listings_page_with_a_cursor_and_honour_limit() {
    let hub = Hub::with(|c| c.page_size(3));
    let alice = hub.client(ALICE);
    let bob = hub.client(BOB);
    let anon = hub.anonymous();
    let names: Vec<String> = (0..8).map(|i| format!("alice/r{i}")).collect();
    for name in &names {
        alice.create(&Repo::model(name));
    }
    alice.create(&Repo::dataset("alice/not-a-model"));
    let mut private = Repo::model("bob/secret").body();
    private["private"] = true.into();
    bob.post("/api/repos/create", &private).assert_status(200);

    // Pages of the page size, by id; bob's private repository for bob only.
    let replies = pages(&anon, "/api/models");
    assert_eq!(replies.len(), 3, "8 repositories in pages of 3");
    assert!(
        replies
            .iter()
            .all(|r| r.json().as_array().expect("page").len() <= 3)
    );
    assert_eq!(listed_ids(&anon, "/api/models"), names);
    let mut with_secret = names.clone();
    with_secret.push("bob/secret".into());
    assert_eq!(listed_ids(&bob, "/api/models"), with_secret);

    // `limit` is the page (clamped to the page size); the next page goes on after it.
    let first = anon.get("/api/models?limit=2");
    assert_eq!(first.ok_json().as_array().expect("page").len(), 2);
    assert!(next_link(&first).is_some());
    assert_eq!(listed_ids(&anon, "/api/models?limit=2"), names);
    let (_, page_count) = all_pages(&anon, "/api/models?limit=100");
    assert_eq!(page_count, 3);

    // Newest first, by creation or by last commit; `direction=1` reverses.
    let mut newest_first = names.clone();
    newest_first.reverse();
    assert_eq!(listed_ids(&anon, "/api/models?sort=createdAt"), newest_first);
    assert_eq!(listed_ids(&anon, "/api/models?sort=createdAt&direction=1"), names);
    alice.commit_files(&Repo::model("alice/r2"), &[("new.txt", b"new")]);
    let by_commit = listed_ids(&anon, "/api/models?sort=lastModified&limit=2");
    assert_eq!(by_commit[0], "alice/r2");
    assert_eq!(by_commit.len(), 8);

    // Filters leave out what they do not match, across pages.
    assert_eq!(listed_ids(&anon, "/api/models?search=R5"), ["alice/r5"]);
    assert_eq!(listed_ids(&bob, "/api/models?author=bob"), ["bob/secret"]);
    assert!(listed_ids(&anon, "/api/models?author=bob").is_empty());

    anon.get("/api/models?cursor=not-a-cursor")
        .assert_error(400, "BadRequest");
}

#[test]
fn commit_history_pages_carry_the_next_commit() {
    let hub = Hub::with(|c| c.page_size(2));
    let alice = hub.client(ALICE);
    let repo = Repo::model("alice/demo");
    alice.create(&repo);
    for i in 0..4 {
        alice.commit_files(&repo, &[("n.txt", format!("{i}").as_bytes())]);
    }
    let (history, _) = all_pages(&alice, &repo.api("/commits/main"));
    let ids: Vec<&str> = history.iter().map(|c| c["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 5);

    let first = alice.get(&repo.api("/commits/main"));
    assert_eq!(cursor_of(&next_link(&first).expect("a next page")), ids[2]);
    // `p=N`, the Hub's page number, still works; its next link is a cursor.
    let page = |p: u32| -> Vec<String> {
        let reply = alice.get(&repo.api(&format!("/commits/main?p={p}")));
        let items = reply.ok_json();
        items
            .as_array()
            .expect("page")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(page(1), ids[2..4]);
    assert_eq!(page(2), ids[4..]);
    assert!(page(9).is_empty());
    let second = alice.get(&repo.api("/commits/main?p=1"));
    let next = next_link(&second).expect("a third page");
    assert!(!next.contains("p=1"), "{next}");
    assert_eq!(cursor_of(&next), ids[4]);

    alice
        .get(&repo.api("/commits/main?cursor=xyz"))
        .assert_error(400, "BadRequest");
}
