//! The Git LFS batch API, Hugging Face flavour (`hub-protocol.md` §5.3): which objects to upload
//! and where — one `PUT` (`basic`), or parts plus a completion call (`multipart`) — and the
//! bodies of the completion and verify calls.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The header key of a multipart upload action that holds the part size.
const CHUNK_SIZE: &str = "chunk_size";

/// The body of `POST {endpoint}/{prefix}{repo}.git/info/lfs/objects/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// `upload` (clients download through `/resolve/`).
    pub operation: LfsOperation,
    /// The transfers the client can do: `basic`, `multipart` (and `xet`).
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    /// The objects.
    pub objects: Vec<LfsObject>,
    /// `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
    /// The branch the commit will go to (absent for a pull request).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<LfsRef>,
}

/// What a batch request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LfsOperation {
    /// Send objects.
    Upload,
    /// Fetch objects.
    Download,
}

/// An LFS transfer adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transfer {
    /// One `PUT` of the whole object.
    Basic,
    /// `PUT`s of parts, then a completion call.
    Multipart,
    /// Hugging Face's Xet storage (not through the batch URLs).
    Xet,
    /// Any other adapter a Git LFS client may offer (read only: it cannot be written).
    #[serde(other, skip_serializing)]
    Other,
}

/// An object by its SHA-256 and size: the items of a batch request, and the body of the
/// verify call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LfsObject {
    /// SHA-256 of the content, lowercase hex.
    pub oid: String,
    /// Size in bytes.
    pub size: u64,
}

/// The `ref` of a batch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LfsRef {
    /// The revision, not percent-encoded (`main`, `feature/x`).
    pub name: String,
}

/// The answer to a batch request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// The transfer the server chose (`basic` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Transfer>,
    /// One per requested object.
    pub objects: Vec<BatchObject>,
}

/// What to do with one object of a batch: no `actions` means the server has it already.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchObject {
    /// SHA-256 of the content.
    pub oid: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the action URLs authorise themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated: Option<bool>,
    /// Where to send the object, and where to confirm it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<LfsActions>,
    /// Why the object is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LfsObjectError>,
}

/// The actions of a [`BatchObject`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LfsActions {
    /// The upload: [`LfsAction::basic`] or [`LfsAction::multipart`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<LfsAction>,
    /// `POST` an [`LfsObject`] here (with the Hub's credentials) once uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<LfsAction>,
}

/// An URL to call, with its header map. Clients do not send the map's entries as HTTP headers:
/// `huggingface_hub` never did, so the URLs carry their own authorisation. For a multipart
/// upload the map holds the part size and the part URLs instead ([`LfsAction::multipart`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LfsAction {
    /// The URL: of the `PUT` (basic), of the completion call (multipart), of the verify call.
    pub href: String,
    /// The header map.
    #[serde(default)]
    pub header: Map<String, Value>,
}

/// The parts of a multipart upload, read from its action ([`LfsAction::multipart_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartParts {
    /// The size of every part but the last, in bytes.
    pub chunk_size: u64,
    /// Where to `PUT` each part, in part order: part `i + 1` holds bytes
    /// `[i * chunk_size, (i + 1) * chunk_size)`.
    pub urls: Vec<String>,
}

impl LfsAction {
    /// A call to `href` with an empty header map: a basic upload, or a verify call.
    pub fn basic(href: impl Into<String>) -> Self {
        LfsAction {
            href: href.into(),
            header: Map::new(),
        }
    }

    /// A multipart upload: `chunk_size` (as a string, as huggingface.co writes it) and one entry
    /// per part URL, keyed by its number from 1 zero-padded to 5 digits (`00001`); `href` is the
    /// completion URL.
    pub fn multipart(
        href: impl Into<String>,
        chunk_size: u64,
        part_urls: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut header = Map::new();
        header.insert(CHUNK_SIZE.into(), chunk_size.to_string().into());
        for (i, url) in part_urls.into_iter().enumerate() {
            header.insert(format!("{:05}", i + 1), url.into());
        }
        LfsAction {
            href: href.into(),
            header,
        }
    }

    /// The parts of a multipart upload action: `None` when the header has no `chunk_size` (a
    /// basic upload). `chunk_size` may be a string or a number; part keys are all digits, in
    /// any padding, ordered by their value. Errs on a malformed map.
    pub fn multipart_parts(&self) -> Option<Result<MultipartParts, String>> {
        let chunk = self.header.get(CHUNK_SIZE)?;
        let chunk_size = match chunk {
            Value::String(s) => s.parse().ok(),
            v => v.as_u64(),
        }
        .filter(|c| *c > 0);
        let Some(chunk_size) = chunk_size else {
            return Some(Err(format!("chunk_size {chunk} is not a positive number")));
        };
        let mut parts = Vec::new();
        for (key, url) in &self.header {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(number) = key.parse::<u64>() else {
                return Some(Err(format!("part number {key} is too large")));
            };
            let Some(url) = url.as_str() else {
                return Some(Err(format!("part {key} has no URL")));
            };
            parts.push((number, url.to_owned()));
        }
        parts.sort_by_key(|(n, _)| *n);
        Some(Ok(MultipartParts {
            chunk_size,
            urls: parts.into_iter().map(|(_, url)| url).collect(),
        }))
    }
}

/// Why a [`BatchObject`] is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LfsObjectError {
    /// An HTTP status (`422`).
    #[serde(default)]
    pub code: u16,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
}

/// The body of the completion call of a multipart upload (`POST` to the upload action's
/// `href`, once every part is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartCompletion {
    /// SHA-256 of the whole object.
    pub oid: String,
    /// Every part, in order.
    pub parts: Vec<CompletedPart>,
}

/// A part of a [`MultipartCompletion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedPart {
    /// The part's number, from 1.
    pub part_number: u64,
    /// The `ETag` the part's `PUT` answered.
    pub etag: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OID: &str = "da00082d9236990883af370ba33e5c1f0dede48f28726dcb9dcb8ccfffd3bbae";

    #[test]
    fn batch_request_as_the_clients_send_it() {
        let request = BatchRequest {
            operation: LfsOperation::Upload,
            transfers: vec![Transfer::Basic, Transfer::Multipart],
            objects: vec![LfsObject {
                oid: OID.into(),
                size: 300000,
            }],
            hash_algo: Some("sha256".into()),
            git_ref: Some(LfsRef { name: "main".into() }),
        };
        let json = json!({"operation": "upload", "transfers": ["basic", "multipart"],
                          "objects": [{"oid": OID, "size": 300000}],
                          "hash_algo": "sha256", "ref": {"name": "main"}});
        assert_eq!(serde_json::to_value(&request).unwrap(), json);
        assert_eq!(serde_json::from_value::<BatchRequest>(json).unwrap(), request);
        // A plain Git LFS client offers adapters of its own, and no ref.
        let git: BatchRequest = serde_json::from_value(json!({
            "operation": "upload", "transfers": ["lfs-standalone-file", "basic", "ssh"],
            "objects": [{"oid": OID, "size": 1}]
        }))
        .unwrap();
        assert_eq!(git.transfers, [Transfer::Other, Transfer::Basic, Transfer::Other]);
        assert_eq!(git.git_ref, None);
        assert!(serde_json::to_value(Transfer::Other).is_err());
    }

    #[test]
    fn basic_answer_and_already_stored_and_refused_objects() {
        let answer = BatchAnswer {
            transfer: Some(Transfer::Basic),
            objects: vec![
                BatchObject {
                    oid: OID.into(),
                    size: 300000,
                    authenticated: Some(true),
                    actions: Some(LfsActions {
                        upload: Some(LfsAction::basic("http://h/up?sig=1")),
                        verify: Some(LfsAction::basic("http://h/verify")),
                    }),
                    error: None,
                },
                BatchObject {
                    oid: "aa".into(),
                    size: 1,
                    authenticated: None,
                    actions: None,
                    error: None,
                },
                BatchObject {
                    oid: "bb".into(),
                    size: 2,
                    authenticated: None,
                    actions: None,
                    error: Some(LfsObjectError {
                        code: 422,
                        message: "Object too large".into(),
                    }),
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"transfer": "basic", "objects": [
                {"oid": OID, "size": 300000, "authenticated": true,
                 "actions": {"upload": {"href": "http://h/up?sig=1", "header": {}},
                             "verify": {"href": "http://h/verify", "header": {}}}},
                {"oid": "aa", "size": 1},
                {"oid": "bb", "size": 2, "error": {"code": 422, "message": "Object too large"}}
            ]})
        );
    }

    #[test]
    fn multipart_action_round_trip() {
        let urls: Vec<String> = (1..=3).map(|n| format!("http://h/up?part={n}")).collect();
        let action = LfsAction::multipart("http://h/complete", 100000, urls.clone());
        assert_eq!(
            serde_json::to_value(&action).unwrap(),
            json!({"href": "http://h/complete", "header": {"chunk_size": "100000",
                   "00001": "http://h/up?part=1", "00002": "http://h/up?part=2", "00003": "http://h/up?part=3"}})
        );
        let parts = action.multipart_parts().unwrap().unwrap();
        assert_eq!((parts.chunk_size, parts.urls), (100000, urls));
        assert_eq!(LfsAction::basic("http://h/up").multipart_parts(), None);
    }

    #[test]
    fn multipart_headers_huggingface_co_may_send() {
        // A numeric chunk size, unpadded keys ordered by value (10 after 9), extra keys ignored.
        let mut header = Map::new();
        header.insert("chunk_size".into(), json!(5));
        for n in [10, 9, 1, 2, 3, 4, 5, 6, 7, 8] {
            header.insert(n.to_string(), json!(format!("u{n}")));
        }
        header.insert("x-amz-meta".into(), json!("ignored"));
        let action: LfsAction =
            serde_json::from_value(json!({"href": "c", "header": header, "expires_in": 3600})).unwrap();
        let parts = action.multipart_parts().unwrap().unwrap();
        assert_eq!(parts.chunk_size, 5);
        assert_eq!(parts.urls.first().map(String::as_str), Some("u1"));
        assert_eq!(parts.urls.last().map(String::as_str), Some("u10"));
        let bad = |header: serde_json::Value| {
            serde_json::from_value::<LfsAction>(json!({"href": "c", "header": header}))
                .unwrap()
                .multipart_parts()
                .unwrap()
                .unwrap_err()
        };
        assert!(bad(json!({"chunk_size": "0"})).contains("positive"));
        assert!(bad(json!({"chunk_size": "ten"})).contains("positive"));
        assert!(bad(json!({"chunk_size": 1, "1": 7})).contains("no URL"));
    }

    #[test]
    fn completion_and_verify_bodies() {
        let completion = MultipartCompletion {
            oid: OID.into(),
            parts: vec![CompletedPart {
                part_number: 1,
                etag: "\"81f0055c0e5e60d3035c9e505682b749\"".into(),
            }],
        };
        let json =
            json!({"oid": OID, "parts": [{"partNumber": 1, "etag": "\"81f0055c0e5e60d3035c9e505682b749\""}]});
        assert_eq!(serde_json::to_value(&completion).unwrap(), json);
        assert_eq!(
            serde_json::from_value::<MultipartCompletion>(json).unwrap(),
            completion
        );
        let verify = LfsObject {
            oid: OID.into(),
            size: 300000,
        };
        assert_eq!(
            serde_json::to_value(&verify).unwrap(),
            json!({"oid": OID, "size": 300000})
        );
    }
}
