//! Property tests of every parser of outside input in this crate: arbitrary input never panics,
//! what it builds (errors included) is bounded by its length, and valid input round-trips.
//! The fuzz targets in `fuzz/` drive the same parsers with coverage guidance.

use std::str::FromStr;

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::card::{self, MAX_FRONT_MATTER_ALIAS_BYTES, MAX_FRONT_MATTER_DEPTH, MAX_FRONT_MATTER_NODES};
use crate::path::{FORBIDDEN_FOLDERS, MAX_PATH_BYTES, validate_path, validate_writable_path};
use crate::repo::{
    RepoId, RepoRef, RepoType, encode_path, encode_revision, parse_hf_uri, validate_id_part,
    validate_ref_name, validate_revision,
};
use crate::safetensors::{Dtype, Header, InvalidSafetensors, MAX_HEADER_BYTES, header_len};
use crate::types::{
    BatchAnswer, BatchObject, BatchRequest, CommitFile, CommitHeader, CommitInfo, CommitLfsFile, CommitLine,
    CompletedPart, DeletedPath, DiscussionDetails, DiscussionList, EntryKind, ErrorBody, FileEncoding,
    GitCommit, LfsAction, LfsActions, LfsInfo, LfsObject, LfsObjectError, LfsOperation, LfsRef,
    MultipartCompletion, PreuploadAnswer, PreuploadFile, PreuploadRequest, PreuploadResult, Refs, RepoInfo,
    Transfer, TreeEntry, UploadMode, ValidateYamlRequest, WhoAmI,
};

/// An error message may quote its input, escaped (`{:?}` writes a control character in up to
/// 10 bytes): it stays within this many bytes per input byte, plus [`MESSAGE_SLACK`].
const MESSAGE_BYTES_PER_INPUT_BYTE: usize = 24;
/// The fixed part of an error message.
const MESSAGE_SLACK: usize = 1024;

fn assert_message_bounded(input: &str, message: &str) {
    assert!(
        message.len() <= MESSAGE_BYTES_PER_INPUT_BYTE * input.len() + MESSAGE_SLACK,
        "a {}-byte input made a {}-byte message",
        input.len(),
        message.len()
    );
}

/// Text that looks like ids, references, URIs and paths more often than random text does.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(hf://)?((models|datasets|spaces)/)?[a-zA-Z0-9._/@%-]{0,40}",
        "[a-z]{1,4}/[a-z.-]{1,6}(@[a-z0-9/.%@{}~^: -]{0,12})?(/[a-z./]{0,8})?",
        "[a./\\\\\u{0}-]{0,12}",
    ]
}

/// A valid part of an id: letters, digits and `_`, with single `-` or `.` between them.
fn id_part() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]([-.]?[A-Za-z0-9_]){0,20}"
}

/// A valid revision: segments of a branch, tag or commit name.
fn revision() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,8}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,8}){0,3}"
        .prop_filter("no '..'", |r| !r.contains(".."))
}

fn repo_type() -> impl Strategy<Value = RepoType> {
    prop_oneof![
        Just(RepoType::Model),
        Just(RepoType::Dataset),
        Just(RepoType::Space)
    ]
}

proptest! {
    #[test]
    fn repo_parsers_never_panic_and_quote_their_input_bounded(s in id_like()) {
        let mut messages = Vec::new();
        messages.extend(RepoRef::from_str(&s).err().map(|e| e.to_string()));
        messages.extend(parse_hf_uri(&s).err().map(|e| e.to_string()));
        messages.extend(RepoId::new(&s).err().map(|e| e.to_string()));
        messages.extend(validate_revision(&s).err().map(|e| e.to_string()));
        messages.extend(validate_ref_name(&s).err().map(|e| e.to_string()));
        messages.extend(validate_id_part(&s, "the name").err());
        for m in &messages {
            assert_message_bounded(&s, m);
        }
    }

    #[test]
    fn what_parses_prints_back_to_itself(s in id_like()) {
        if let Ok(r) = RepoRef::from_str(&s) {
            let again = RepoRef::from_str(&r.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&r), "{:?} printed as {}", s, r);
            check_id_invariants(&r.id);
            if let Some(rev) = &r.revision {
                prop_assert!(validate_revision(rev).is_ok());
            }
        }
        if let Ok((r, path)) = parse_hf_uri(&s) {
            prop_assert_eq!(RepoRef::from_str(&r.to_string()), Ok(r));
            prop_assert!(path.is_none_or(|p| !p.is_empty()));
        }
    }

    #[test]
    fn valid_ids_and_revisions_round_trip(
        t in repo_type(),
        ns in proptest::option::of(id_part()),
        name in id_part(),
        rev in proptest::option::of(revision()),
    ) {
        let id_text = match &ns {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        let id = RepoId::with_type(&id_text, t).unwrap();
        prop_assert_eq!(id.to_string(), id_text.clone());
        let r = RepoRef { id, revision: rev.clone() };
        prop_assert_eq!(RepoRef::from_str(&r.to_string()), Ok(r.clone()));
        if let (Some(ns), Some(rev)) = (&ns, &rev) {
            // As huggingface_hub writes it: the revision as one percent-encoded segment.
            let uri = format!("hf://{}s/{ns}/{name}@{}/a/b.txt", t.as_str(), encode_revision(rev));
            let (parsed, path) = parse_hf_uri(&uri).unwrap();
            prop_assert_eq!(parsed, r);
            prop_assert_eq!(path.as_deref(), Some("a/b.txt"));
        }
    }

    #[test]
    fn a_ref_name_that_can_be_created_can_be_named(name in id_like()) {
        if validate_ref_name(&name).is_ok() {
            prop_assert!(validate_revision(&name).is_ok());
            let r = RepoRef::from_str(&format!("alice/mlp@{name}")).unwrap();
            prop_assert_eq!(r.revision.as_deref(), Some(name.as_str()));
        }
    }

    #[test]
    fn encodings_decode_back(s in any::<String>()) {
        let decode = |e: String| percent_encoding::percent_decode_str(&e).decode_utf8().unwrap().into_owned();
        prop_assert_eq!(decode(encode_revision(&s)), s.clone());
        prop_assert!(!encode_revision(&s).contains('/'));
        prop_assert_eq!(decode(encode_path(&s)), s);
    }

    #[test]
    fn accepted_paths_have_no_escape(p in id_like()) {
        let valid = validate_path(&p);
        let writable = validate_writable_path(&p);
        for e in [&valid, &writable].into_iter().filter_map(|r| r.as_ref().err()) {
            assert_message_bounded(&p, &e.to_string());
        }
        if valid.is_ok() {
            prop_assert!(!p.is_empty() && p.len() <= MAX_PATH_BYTES);
            prop_assert!(!p.starts_with('/') && !p.contains('\\'));
            prop_assert!(!p.chars().any(char::is_control));
            prop_assert!(p.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
        }
        if writable.is_ok() {
            prop_assert!(valid.is_ok());
            prop_assert!(p.split('/').all(|s| !FORBIDDEN_FOLDERS.contains(&s)));
        }
    }

    #[test]
    fn ordinary_paths_are_accepted(segments in proptest::collection::vec("[^/\\\\\\p{Cc}]{1,12}", 1..6)) {
        prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
        let p = segments.join("/");
        prop_assume!(p.len() <= MAX_PATH_BYTES);
        prop_assert!(validate_path(&p).is_ok(), "{:?}", p);
    }
}

/// What every accepted id satisfies, whichever way it was written.
fn check_id_invariants(id: &RepoId) {
    for part in id.namespace.iter().chain([&id.name]) {
        assert!(!part.is_empty() && part.len() <= 96, "{part:?}");
        assert!(
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{part:?}"
        );
        assert!(!part.contains("--") && !part.contains(".."), "{part:?}");
        assert!(
            !part.starts_with(['-', '.']) && !part.ends_with(['-', '.']),
            "{part:?}"
        );
    }
}

/// Nodes of a JSON value counted as the card's budget counts them: every scalar, key and
/// collection is one.
fn nodes(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(|v| 1 + nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Bytes of text in a JSON value (keys included).
fn text_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_bytes).sum(),
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + text_bytes(v)).sum(),
        Value::Number(n) => n.to_string().len(),
        _ => 0,
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A YAML front matter with anchors, aliases to them (the bomb's shape: each level repeats the
/// one before), long strings and nesting.
fn front_matter() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        "[a-z]{0,8}",
        (1usize..5000).prop_map(|n| "x".repeat(n)),
        Just("3".to_owned()),
        Just("0.5".to_owned()),
        Just("null".to_owned()),
    ];
    (
        scalar,
        1usize..12,
        1usize..12,
        0usize..80,
        proptest::collection::vec("[a-z_:\\[\\]{}, &*-]{0,16}", 0..2),
    )
        .prop_map(|(leaf, levels, fanout, nesting, noise)| {
            let mut yaml = format!("---\nl0: &l0 {leaf}\n");
            for level in 1..levels {
                let refs = vec![format!("*l{}", level - 1); fanout].join(", ");
                yaml.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
            }
            yaml.push_str(&format!(
                "deep: {}1{}\n",
                "[".repeat(nesting),
                "]".repeat(nesting)
            ));
            for (i, n) in noise.iter().enumerate() {
                yaml.push_str(&format!("n{i}: {n}\n"));
            }
            yaml.push_str("---\nbody\n");
            yaml
        })
}

proptest! {
    #[test]
    fn cards_never_panic(s in prop_oneof![any::<String>(), "(\u{feff})?---\r?\n[ -~\n]{0,200}(---\n)?[ -~]{0,20}"]) {
        let _ = card::split_front_matter(&s);
        if let Err(errors) = card::card_data(&s) {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                assert_message_bounded(&s, e);
            }
        }
    }

    #[test]
    fn front_matter_never_builds_more_than_the_budget(yaml in front_matter()) {
        match card::card_data(&yaml) {
            Ok(data) => {
                let data = Value::Object(data.unwrap());
                prop_assert!(nodes(&data) <= MAX_FRONT_MATTER_NODES + 1);
                prop_assert!(depth(&data) <= MAX_FRONT_MATTER_DEPTH);
                // Text: the card's own, plus what aliases repeat (numbers print at most a few
                // bytes longer than they were written). The 1 MiB is written out: a bound read
                // from the card module could not catch that module's limit going away.
                prop_assert_eq!(MAX_FRONT_MATTER_ALIAS_BYTES, 1 << 20);
                prop_assert!(text_bytes(&data) <= 2 * yaml.len() + (1 << 20));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    assert_message_bounded(&yaml, e);
                }
            }
        }
    }
}

/// A JSON value of any shape, with the wire's field names as keys more often than not.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "key",
            "value",
            "summary",
            "description",
            "parentCommit",
            "content",
            "path",
            "encoding",
            "oid",
            "size",
            "algo",
            "operation",
            "transfers",
            "objects",
            "hash_algo",
            "ref",
            "name",
            "transfer",
            "actions",
            "upload",
            "verify",
            "href",
            "header",
            "chunk_size",
            "00001",
            "error",
            "code",
            "message",
            "files",
            "sample",
            "uploadMode",
            "shouldIgnore",
            "type",
            "lfs",
            "pointerSize",
            "lastCommit",
            "id",
            "parts",
            "partNumber",
            "etag",
            "siblings",
            "cardData",
            "tags",
            "gated",
            "authors",
        ])
        .prop_map(str::to_owned),
        "[a-z]{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "header",
            "file",
            "lfsFile",
            "deletedFile",
            "deletedFolder",
            "upload",
            "download",
            "basic",
            "multipart",
            "xet",
            "base64",
            "utf-8",
            "lfs",
            "regular",
            "file",
            "directory",
            "sha256",
            "",
        ])
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Reads `bytes` and `value` as a `T`; what reads must write and read back to itself.
fn read_any<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(bytes: &[u8], value: &Value) {
    for parsed in [
        serde_json::from_slice::<T>(bytes).ok(),
        serde_json::from_value::<T>(value.clone()).ok(),
    ]
    .into_iter()
    .flatten()
    {
        // Only `Transfer::Other` (an adapter the reader does not know) cannot be written.
        if let Ok(text) = serde_json::to_string(&parsed) {
            assert_eq!(serde_json::from_str::<T>(&text).unwrap(), parsed, "{text}");
        }
    }
}

/// Reads `bytes` and `value` as every body either side reads.
fn read_every_body(bytes: &[u8], value: &Value) {
    read_any::<CommitLine>(bytes, value);
    read_any::<BatchRequest>(bytes, value);
    read_any::<BatchAnswer>(bytes, value);
    read_any::<MultipartCompletion>(bytes, value);
    read_any::<LfsObject>(bytes, value);
    read_any::<PreuploadRequest>(bytes, value);
    read_any::<PreuploadAnswer>(bytes, value);
    read_any::<Vec<TreeEntry>>(bytes, value);
    read_any::<RepoInfo>(bytes, value);
    read_any::<Vec<GitCommit>>(bytes, value);
    read_any::<CommitInfo>(bytes, value);
    read_any::<Refs>(bytes, value);
    read_any::<ErrorBody>(bytes, value);
    read_any::<WhoAmI>(bytes, value);
    read_any::<DiscussionList>(bytes, value);
    read_any::<DiscussionDetails>(bytes, value);
    read_any::<ValidateYamlRequest>(bytes, value);
    if let Ok(action) = serde_json::from_value::<LfsAction>(value.clone())
        && let Some(Ok(parts)) = action.multipart_parts()
    {
        assert!(parts.chunk_size > 0);
        assert!(parts.urls.len() < action.header.len());
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9/._-]{0,20}", any::<String>()]
}

fn commit_line() -> impl Strategy<Value = CommitLine> {
    prop_oneof![
        (text(), text(), proptest::option::of("[0-9a-f]{5,40}")).prop_map(
            |(summary, description, parent_commit)| {
                CommitLine::Header(CommitHeader {
                    summary,
                    description,
                    parent_commit,
                })
            }
        ),
        (
            text(),
            text(),
            prop_oneof![Just(FileEncoding::Base64), Just(FileEncoding::Utf8)]
        )
            .prop_map(|(content, path, encoding)| CommitLine::File(CommitFile {
                content,
                path,
                encoding
            })),
        (text(), text(), "[0-9a-f]{64}", proptest::option::of(any::<u64>())).prop_map(
            |(path, algo, oid, size)| CommitLine::LfsFile(CommitLfsFile {
                path,
                algo,
                oid,
                size
            })
        ),
        text().prop_map(|path| CommitLine::DeletedFile(DeletedPath { path })),
        text().prop_map(|path| CommitLine::DeletedFolder(DeletedPath { path })),
    ]
}

fn lfs_object() -> impl Strategy<Value = LfsObject> {
    ("[0-9a-f]{64}", any::<u64>()).prop_map(|(oid, size)| LfsObject { oid, size })
}

fn batch_request() -> impl Strategy<Value = BatchRequest> {
    (
        prop_oneof![Just(LfsOperation::Upload), Just(LfsOperation::Download)],
        proptest::collection::vec(
            prop_oneof![
                Just(Transfer::Basic),
                Just(Transfer::Multipart),
                Just(Transfer::Xet)
            ],
            0..4,
        ),
        proptest::collection::vec(lfs_object(), 0..8),
        proptest::option::of(text()),
        proptest::option::of(text().prop_map(|name| LfsRef { name })),
    )
        .prop_map(
            |(operation, transfers, objects, hash_algo, git_ref)| BatchRequest {
                operation,
                transfers,
                objects,
                hash_algo,
                git_ref,
            },
        )
}

fn batch_answer() -> impl Strategy<Value = BatchAnswer> {
    let action = prop_oneof![
        text().prop_map(LfsAction::basic),
        (text(), 1u64..u64::MAX, proptest::collection::vec(text(), 0..12))
            .prop_map(|(href, chunk, urls)| LfsAction::multipart(href, chunk, urls)),
    ];
    let object = (
        lfs_object(),
        proptest::option::of(any::<bool>()),
        proptest::option::of((proptest::option::of(action.clone()), proptest::option::of(action))),
        proptest::option::of((any::<u16>(), text())),
    )
        .prop_map(|(o, authenticated, actions, error)| BatchObject {
            oid: o.oid,
            size: o.size,
            authenticated,
            actions: actions.map(|(upload, verify)| LfsActions { upload, verify }),
            error: error.map(|(code, message)| LfsObjectError { code, message }),
        });
    (
        proptest::option::of(prop_oneof![Just(Transfer::Basic), Just(Transfer::Multipart)]),
        proptest::collection::vec(object, 0..6),
    )
        .prop_map(|(transfer, objects)| BatchAnswer { transfer, objects })
}

fn preupload() -> impl Strategy<Value = (PreuploadRequest, PreuploadAnswer)> {
    let file =
        (text(), text(), any::<u64>(), proptest::option::of(text())).prop_map(|(path, sample, size, sha)| {
            PreuploadFile {
                path,
                sample,
                size,
                sha,
            }
        });
    let result = (text(), any::<bool>(), any::<bool>(), proptest::option::of(text())).prop_map(
        |(path, lfs, should_ignore, oid)| PreuploadResult {
            path,
            upload_mode: if lfs { UploadMode::Lfs } else { UploadMode::Regular },
            should_ignore,
            oid,
        },
    );
    (
        proptest::collection::vec(file, 0..6),
        proptest::option::of(text()),
        proptest::collection::vec(result, 0..6),
        proptest::option::of("[0-9a-f]{40}"),
    )
        .prop_map(|(files, git_ignore, results, commit_oid)| {
            (
                PreuploadRequest { files, git_ignore },
                PreuploadAnswer {
                    files: results,
                    commit_oid,
                },
            )
        })
}

fn tree_entry() -> impl Strategy<Value = TreeEntry> {
    (
        any::<bool>(),
        "[0-9a-f]{40}",
        any::<u64>(),
        text(),
        proptest::option::of(("[0-9a-f]{64}", any::<u64>(), any::<u64>())),
    )
        .prop_map(|(file, oid, size, path, lfs)| TreeEntry {
            kind: if file {
                EntryKind::File
            } else {
                EntryKind::Directory
            },
            oid,
            size,
            path,
            lfs: lfs.map(|(oid, size, pointer_size)| LfsInfo {
                oid,
                size,
                pointer_size,
            }),
            last_commit: None,
        })
}

/// Writes `value` as JSON and reads it back.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value, "{text}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_any_body(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        read_every_body(&bytes, &Value::Null);
    }

    #[test]
    fn arbitrary_json_never_panics_any_body(value in json_value()) {
        read_every_body(&serde_json::to_vec(&value).unwrap(), &value);
    }

    #[test]
    fn deep_json_is_refused_not_overflowed(depth in 100usize..5000, open in prop::sample::select(vec!["[", "{\"a\":"])) {
        let body = open.repeat(depth);
        read_every_body(body.as_bytes(), &Value::Null);
    }

    #[test]
    fn commit_lines_round_trip_as_ndjson(lines in proptest::collection::vec(commit_line(), 0..8)) {
        let body: String = lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
        prop_assert_eq!(body.lines().count(), lines.len(), "a line's JSON holds no newline");
        let read: Vec<CommitLine> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(read, lines);
    }

    #[test]
    fn lfs_bodies_round_trip(request in batch_request(), answer in batch_answer()) {
        round_trip(&request);
        round_trip(&answer);
        let completion = MultipartCompletion {
            oid: request.objects.first().map_or(String::new(), |o| o.oid.clone()),
            parts: (1..=request.objects.len() as u64)
                .map(|part_number| CompletedPart { part_number, etag: format!("\"{part_number}\"") })
                .collect(),
        };
        round_trip(&completion);
    }

    #[test]
    fn multipart_parts_read_back_in_order(href in text(), chunk in 1u64..u64::MAX, urls in proptest::collection::vec(text(), 0..40)) {
        let action = LfsAction::multipart(href, chunk, urls.clone());
        let parts = action.multipart_parts().unwrap().unwrap();
        prop_assert_eq!((parts.chunk_size, parts.urls), (chunk, urls));
    }

    #[test]
    fn multipart_headers_of_any_shape_never_panic(header in proptest::collection::vec(
        (prop_oneof!["[0-9]{1,25}", Just("chunk_size".to_owned()), "[a-z_]{0,6}"], json_value()), 0..16)
    ) {
        let action = LfsAction { href: String::new(), header: header.into_iter().collect::<Map<_, _>>() };
        if let Some(Ok(parts)) = action.multipart_parts() {
            prop_assert!(parts.chunk_size > 0);
            prop_assert!(parts.urls.len() < action.header.len());
        }
    }

    #[test]
    fn preupload_and_tree_bodies_round_trip((request, answer) in preupload(), entries in proptest::collection::vec(tree_entry(), 0..6)) {
        round_trip(&request);
        round_trip(&answer);
        round_trip(&entries);
    }
}

/// A tensor to lay out: type, shape.
fn tensors() -> impl Strategy<Value = Vec<(Dtype, Vec<usize>)>> {
    let dtype = prop::sample::select(vec![
        Dtype::Bool,
        Dtype::U8,
        Dtype::F8E4M3,
        Dtype::BF16,
        Dtype::F16,
        Dtype::I32,
        Dtype::F32,
        Dtype::F64,
        Dtype::U64,
    ]);
    proptest::collection::vec((dtype, proptest::collection::vec(0usize..6, 0..4)), 0..8)
}

/// A safetensors file of `tensors`, laid out end to end in a shuffled order, with metadata.
fn safetensors_file(tensors: &[(Dtype, Vec<usize>)], order: &[usize]) -> (Vec<u8>, Header) {
    let mut header = Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut infos = Vec::new();
    let mut offset = 0u64;
    for &i in order {
        let (dtype, shape) = &tensors[i];
        let len = shape.iter().product::<usize>() as u64 * dtype.size() as u64;
        let name = format!("layer{i}.weight");
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype.as_str(), "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        infos.push(crate::safetensors::TensorInfo {
            name,
            dtype: *dtype,
            shape: shape.clone(),
            begin: offset,
            end: offset + len,
        });
        offset += len;
    }
    let json = serde_json::to_vec(&header).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    bytes.resize(bytes.len() + offset as usize, 0xA5);
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    let metadata = [("format".to_owned(), "pt".to_owned())].into();
    (
        bytes,
        Header {
            tensors: infos,
            metadata,
        },
    )
}

/// Reads a whole file as a loader does.
fn read_safetensors(bytes: &[u8]) -> Result<Header, InvalidSafetensors> {
    let prefix: [u8; 8] = bytes.get(..8).map_or([0; 8], |p| p.try_into().unwrap());
    let len = header_len(prefix, bytes.len() as u64)?;
    Header::parse(&bytes[8..8 + len], (bytes.len() - 8 - len) as u64)
}

/// What every accepted header satisfies.
fn check_header_invariants(header: &Header, header_bytes: usize, data_len: u64) {
    let mut spans: Vec<(u64, u64)> = header.tensors.iter().map(|t| (t.begin, t.end)).collect();
    spans.sort();
    let mut at = 0;
    for (begin, end) in spans {
        assert_eq!(begin, at);
        at = end;
    }
    assert_eq!(at, data_len);
    for t in &header.tensors {
        let elems: u64 = t.shape.iter().map(|d| *d as u64).product();
        assert_eq!(elems * t.dtype.size() as u64, t.end - t.begin);
    }
    // Each tensor's entry takes at least `{"dtype":"U8","shape":[],"data_offsets":[0,0]}` and
    // each dimension two bytes: what was built is proportional to the header.
    let dims: usize = header.tensors.iter().map(|t| t.shape.len()).sum();
    assert!(header.tensors.len() * 40 + dims * 2 <= header_bytes + 40);
}

proptest! {
    #[test]
    fn valid_safetensors_headers_read_back(t in tensors(), seed in any::<u64>()) {
        let mut order: Vec<usize> = (0..t.len()).collect();
        // A deterministic shuffle from the seed: the layout order differs from the name order.
        order.sort_by_key(|i| (*i as u64).wrapping_mul(seed | 1).rotate_left(17));
        let (bytes, expected) = safetensors_file(&t, &order);
        let header = read_safetensors(&bytes).unwrap();
        prop_assert_eq!(&header, &expected);
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        check_header_invariants(&header, len, (bytes.len() - 8 - len) as u64);
        // Any cut is refused, wherever it falls.
        for cut in [0, 4, 8, 8 + len / 2, bytes.len().saturating_sub(1)] {
            if cut < bytes.len() {
                prop_assert!(read_safetensors(&bytes[..cut]).is_err(), "cut at {}", cut);
            }
        }
    }

    #[test]
    fn damaged_safetensors_never_panic(
        t in tensors(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        extra in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let order: Vec<usize> = (0..t.len()).collect();
        let (mut bytes, _) = safetensors_file(&t, &order);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.extend_from_slice(&extra);
        if let Ok(header) = read_safetensors(&bytes) {
            let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            check_header_invariants(&header, len, (bytes.len() - 8 - len) as u64);
        }
    }

    #[test]
    fn arbitrary_safetensors_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(header) = read_safetensors(&bytes) {
            let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            check_header_invariants(&header, len, (bytes.len() - 8 - len) as u64);
        }
    }

    #[test]
    fn header_lengths_are_bounded_by_the_file_and_the_cap(claimed in any::<u64>(), file_len in any::<u64>()) {
        match header_len(claimed.to_le_bytes(), file_len) {
            Ok(len) => {
                prop_assert_eq!(len as u64, claimed);
                prop_assert!(claimed <= MAX_HEADER_BYTES && claimed + 8 <= file_len);
            }
            Err(_) => prop_assert!(claimed > MAX_HEADER_BYTES || file_len < 8 || claimed > file_len - 8),
        }
    }
}
