//! Checkpoint headers read from a repository with `Range` requests (`inspect_checkpoint`,
//! `safetensors_header`): the same headers as the local files, at one commit, for a fraction
//! of the bytes (the server's own counter says how many), through the blob host's redirects,
//! past a server that ignores ranges, from the cache offline; and refusals of lying files.

use hubmix_hub::safetensors::{Checkpoint, FIRST_READ_BYTES, INDEX_FILE};
use hubmix_hub::{DownloadOptions, HubError};
use serde_json::json;

use crate::proxy::{Fault, Proxy};
use crate::seed::{self, bytes};
use crate::support::{ALICE, Hub};

/// A safetensors file of `tensors` (name, dtype, shape; data from `seed::bytes`), tensors end
/// to end in name order.
fn safetensors(tensors: &[(&str, &str, Vec<usize>)]) -> Vec<u8> {
    let mut sorted: Vec<_> = tensors.iter().collect();
    sorted.sort_by_key(|t| t.0);
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0usize;
    for (name, dtype, shape) in &sorted {
        let width = match *dtype {
            "F32" | "I32" => 4,
            "BF16" | "F16" => 2,
            _ => 8,
        };
        let len = shape.iter().product::<usize>() * width;
        header.insert(
            (*name).into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let json = serde_json::to_vec(&header).unwrap();
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend(json);
    file.extend(bytes(offset, 3));
    file
}

/// Checks that `remote` describes the same tensors as the local `bytes` would.
fn same_as_local(remote: &Checkpoint, files: &[(&str, &[u8])]) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let local = Checkpoint::open(dir.path()).unwrap();
    let names = |c: &Checkpoint| -> Vec<(String, String, Vec<usize>, u64, u64)> {
        c.tensors()
            .into_iter()
            .map(|(f, t)| {
                (
                    f.path.rsplit('/').next().unwrap().to_owned(),
                    t.name.clone(),
                    t.shape.clone(),
                    t.begin,
                    t.end,
                )
            })
            .collect()
    };
    assert_eq!(names(remote), names(&local));
    assert_eq!(remote.file_bytes(), local.file_bytes());
    assert_eq!(remote.parameter_count(), local.parameter_count());
}

#[test]
fn headers_come_from_ranges_not_from_the_tensors() {
    for cdn in [false, true] {
        let hub = Hub::start_with(|c| c.lfs_cdn(cdn));
        seed::create_repo(&hub, "big", false);
        // 8 MiB of tensors, through LFS.
        let single = safetensors(&[
            ("embed.weight", "F32", vec![1024, 1024]),
            ("fc.weight", "BF16", vec![1024, 2048]),
            ("step", "I64", vec![1]),
        ]);
        let commit = seed::commit(&hub, "big", "main", &[("model.safetensors", &single)]);
        let client = hub.client(Some(ALICE));
        let before = hub.server.stats().response_body_bytes();
        let c = client
            .inspect_checkpoint("alice/big", None, &DownloadOptions::default())
            .unwrap();
        let sent = hub.server.stats().response_body_bytes() - before;
        assert!(
            sent < 64 * 1024 + 16 * 1024,
            "cdn {cdn}: {sent} bytes sent for the header"
        );
        assert_eq!(c.commit.as_deref(), Some(commit.as_str()));
        assert_eq!(c.parameter_count(), 1024 * 1024 + 2 * 1024 * 1024 + 1);
        same_as_local(&c, &[("model.safetensors", &single)]);
        // Nothing of it landed in the cache.
        assert!(
            client
                .hub_download(
                    "alice/big",
                    "model.safetensors",
                    &DownloadOptions::default().local_files_only(true)
                )
                .is_err()
        );
    }
}

#[test]
fn a_sharded_repository_is_read_through_its_index_at_one_commit() {
    let hub = Hub::start();
    seed::create_repo(&hub, "sharded", false);
    let one = safetensors(&[("a", "F32", vec![600, 600])]);
    let two = safetensors(&[("b", "F16", vec![700, 700]), ("c", "I32", vec![3])]);
    let index = json!({"metadata": {"total_size": 0}, "weight_map": {
        "a": "model-00001-of-00002.safetensors",
        "b": "model-00002-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors"}})
    .to_string();
    let files: [(&str, &[u8]); 3] = [
        ("model-00001-of-00002.safetensors", &one),
        ("model-00002-of-00002.safetensors", &two),
        (INDEX_FILE, index.as_bytes()),
    ];
    let first = seed::commit(&hub, "sharded", "main", &files);
    // main moves on; the tag stays.
    seed::create_ref(&hub, "sharded", "tag", "v1", &first);
    seed::commit(
        &hub,
        "sharded",
        "main",
        &[("model-00002-of-00002.safetensors", b"not a checkpoint")],
    );
    let client = hub.client(Some(ALICE));
    let c = client
        .inspect_checkpoint("alice/sharded@v1", None, &DownloadOptions::default())
        .unwrap();
    assert_eq!(c.commit.as_deref(), Some(first.as_str()));
    assert_eq!(c.files.len(), 2);
    same_as_local(&c, &files);
    // At main, the second shard is no checkpoint: the error names it.
    let err = client
        .inspect_checkpoint("alice/sharded", None, &DownloadOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, HubError::InvalidSafetensors { file, .. } if file == "model-00002-of-00002.safetensors of alice/sharded"),
        "{err}"
    );
}

#[test]
fn a_long_header_takes_a_second_range_and_a_server_ignoring_ranges_is_read_no_further() {
    let hub = Hub::start();
    seed::create_repo(&hub, "long", false);
    // Some 3000 tensors: a header of about 250 KB.
    let names: Vec<String> = (0..3000)
        .map(|i| format!("layers.{i}.attention.query.weight"))
        .collect();
    let tensors: Vec<(&str, &str, Vec<usize>)> =
        names.iter().map(|n| (n.as_str(), "F32", vec![4, 4])).collect();
    let file = safetensors(&tensors);
    seed::commit(&hub, "long", "main", &[("model.safetensors", &file)]);
    let header_len = u64::from_le_bytes(file[..8].try_into().unwrap());
    assert!(header_len > FIRST_READ_BYTES);

    let proxy = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::Pass);
    let client = hub.client_for(&proxy.url, Some(ALICE));
    let header = client
        .safetensors_header("alice/long", "model.safetensors", &DownloadOptions::default())
        .unwrap();
    assert_eq!(header.header.tensors.len(), 3000);
    assert_eq!(header.header_len, header_len);
    let ranges: Vec<String> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/resolve/"))
        .map(|s| s.range.unwrap_or_default())
        .collect();
    assert_eq!(
        ranges,
        [
            format!("bytes=0-{}", FIRST_READ_BYTES - 1),
            format!("bytes={FIRST_READ_BYTES}-{}", 8 + header_len - 1)
        ]
    );

    // The same through a proxy that drops the Range header: 200 and the whole file, of which
    // only the header is read.
    let deaf = Proxy::start("127.0.0.1", hub.url(), |_, _| Fault::DropRange);
    let client = hub.client_for(&deaf.url, Some(ALICE));
    let again = client
        .safetensors_header("alice/long", "model.safetensors", &DownloadOptions::default())
        .unwrap();
    assert_eq!(again.header, header.header);
}

#[test]
fn lying_files_missing_files_and_offline_reads() {
    let hub = Hub::start();
    seed::create_repo(&hub, "bad", false);
    let good = safetensors(&[("w", "F32", vec![300, 300])]);
    // Cut short, and a header that claims more data than the file has.
    let cut = &good[..good.len() - 4];
    let mut lying = good.clone();
    lying.extend_from_slice(&[0; 4]);
    seed::commit(
        &hub,
        "bad",
        "main",
        &[
            ("cut.safetensors", cut),
            ("lying.safetensors", &lying),
            ("model.safetensors", &good),
        ],
    );
    let client = hub.client(Some(ALICE));
    let options = DownloadOptions::default();
    for name in ["cut.safetensors", "lying.safetensors"] {
        let err = client
            .inspect_checkpoint("alice/bad", Some(name), &options)
            .unwrap_err();
        assert!(
            matches!(&err, HubError::InvalidSafetensors { file, .. } if file == &format!("{name} of alice/bad")),
            "{err}"
        );
    }
    let err = client
        .inspect_checkpoint("alice/bad", Some("nope.safetensors"), &options)
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err}");
    seed::create_repo(&hub, "empty", false);
    seed::commit(&hub, "empty", "main", &[("README.md", b"hi")]);
    let err = client
        .inspect_checkpoint("alice/empty", None, &options)
        .unwrap_err();
    assert!(
        matches!(&err, HubError::InvalidCheckpoint { reason, .. } if reason.contains("neither model.safetensors nor")),
        "{err}"
    );

    // Offline: what the cache holds is read from there; anything else is NotCached.
    client
        .hub_download("alice/bad", "model.safetensors", &options)
        .unwrap();
    let offline = options.clone().local_files_only(true);
    let before = hub.server.stats().responses(2);
    let c = client.inspect_checkpoint("alice/bad", None, &offline).unwrap();
    assert_eq!(c.parameter_count(), 300 * 300);
    assert!(c.files[0].local_path.is_some());
    assert_eq!(hub.server.stats().responses(2), before, "no request");
    let err = client
        .inspect_checkpoint("alice/bad", Some("lying.safetensors"), &offline)
        .unwrap_err();
    assert!(matches!(err, HubError::NotCached { .. }), "{err}");
}
