//! `POST /api/validate-yaml` (`hub-protocol.md` §3.7): whether the Hub accepts a card's
//! metadata, asked before committing a `README.md`.

use serde::{Deserialize, Serialize};

use super::Message;

/// The body of a validate-yaml call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateYamlRequest {
    /// The whole `README.md`.
    pub content: String,
    /// `model`, `dataset`, `space` (kept as text: servers do not refuse a type they do not know
    /// here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_type: Option<String>,
}

/// The answer: `200` with no errors, `400` with the errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateYamlAnswer {
    /// Why the metadata is refused.
    #[serde(default)]
    pub errors: Vec<Message>,
    /// What is accepted but doubtful.
    #[serde(default)]
    pub warnings: Vec<Message>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_and_answers() {
        let request = ValidateYamlRequest {
            content: "---\nlicense: mit\n---\n".into(),
            repo_type: Some("model".into()),
        };
        let json = json!({"content": "---\nlicense: mit\n---\n", "repoType": "model"});
        assert_eq!(serde_json::to_value(&request).unwrap(), json);
        assert_eq!(
            serde_json::from_value::<ValidateYamlRequest>(json).unwrap(),
            request
        );
        let old: ValidateYamlRequest = serde_json::from_value(json!({"content": "x"})).unwrap();
        assert_eq!(old.repo_type, None);

        assert_eq!(
            serde_json::to_value(ValidateYamlAnswer::default()).unwrap(),
            json!({"errors": [], "warnings": []})
        );
        let refused: ValidateYamlAnswer = serde_json::from_value(json!({
            "errors": [{"message": "\"license\" must be a string", "path": ["license"]}]
        }))
        .unwrap();
        assert_eq!(refused.errors, [Message::new("\"license\" must be a string")]);
        assert!(refused.warnings.is_empty());
    }
}
