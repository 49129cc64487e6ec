//! The body of an error answer (`hub-protocol.md` §1.3).
//!
//! A server sends `{"error": "<message>"}`, plus the repository's `url` on the `409` of
//! `/api/repos/create`. A client accepts every shape huggingface.co uses: `error` as a string
//! or a list of strings, an OAuth-style `error_description`, and `errors: [{"message"}]`.

use serde::{Deserialize, Serialize};

use super::Message;

/// An error answer's JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorText>,
    /// The details of an OAuth-style error (`{"error": "invalid_grant", "error_description": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Several problems, each with its message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Message>,
    /// The repository's URL, on the `409` of a repository that exists already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The `error` field: one message or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorText {
    /// `"error": "Repository not found"`.
    One(String),
    /// `"error": ["first problem", "second problem"]`.
    Many(Vec<String>),
}

impl ErrorBody {
    /// `{"error": message}`.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorBody {
            error: Some(ErrorText::One(message.into())),
            ..ErrorBody::default()
        }
    }

    /// Every message the body holds, joined by `; ` (`None`: it holds none).
    pub fn message(&self) -> Option<String> {
        let mut parts: Vec<&str> = match &self.error {
            Some(ErrorText::One(text)) => vec![text.as_str()],
            Some(ErrorText::Many(texts)) => texts.iter().map(String::as_str).collect(),
            None => Vec::new(),
        };
        parts.extend(self.error_description.as_deref());
        parts.extend(self.errors.iter().map(|e| e.message.as_str()));
        parts.retain(|p| !p.is_empty());
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn server_bodies() {
        assert_eq!(
            serde_json::to_value(ErrorBody::new("Repository not found")).unwrap(),
            json!({"error": "Repository not found"})
        );
        let conflict = ErrorBody {
            url: Some("http://127.0.0.1:35421/alice/demo".into()),
            ..ErrorBody::new("You already created this model repo")
        };
        assert_eq!(
            serde_json::to_value(conflict).unwrap(),
            json!({"error": "You already created this model repo", "url": "http://127.0.0.1:35421/alice/demo"})
        );
    }

    #[test]
    fn every_shape_the_hub_uses_reads() {
        let read = |v: serde_json::Value| serde_json::from_value::<ErrorBody>(v).unwrap().message();
        assert_eq!(read(json!({"error": "nope"})).as_deref(), Some("nope"));
        assert_eq!(
            read(json!({"error": ["first problem", "second problem"]})).as_deref(),
            Some("first problem; second problem")
        );
        assert_eq!(
            read(json!({"error": "invalid_grant", "error_description": "token expired"})).as_deref(),
            Some("invalid_grant; token expired")
        );
        assert_eq!(
            read(json!({"errors": [{"message": "first"}, {"message": "second"}]})).as_deref(),
            Some("first; second")
        );
        assert_eq!(read(json!({"detail": "x", "requestId": "r"})), None);
        let conflict: ErrorBody =
            serde_json::from_value(json!({"error": "exists", "url": "https://huggingface.co/a/b"})).unwrap();
        assert_eq!(conflict.url.as_deref(), Some("https://huggingface.co/a/b"));
    }
}
