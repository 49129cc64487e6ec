//! Small bodies several calls share: the empty answer and a lone message.

use serde::{Deserialize, Serialize};

/// The empty object `{}`: the answer of calls whose answer says nothing (deleting a branch,
/// a tag or a repository, changing settings, an LFS `PUT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `{"message": "..."}`: an item of the `errors` and `warnings` lists of `/api/validate-yaml`
/// and of an error body, and the answer of the LFS completion and verify calls (`"ok"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The text.
    #[serde(default)]
    pub message: String,
}

impl Message {
    /// A message with this text.
    pub fn new(message: impl Into<String>) -> Self {
        Message {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_is_an_object_not_null() {
        assert_eq!(serde_json::to_value(Empty {}).unwrap(), json!({}));
        assert_eq!(
            serde_json::from_value::<Empty>(json!({"anything": 1})).unwrap(),
            Empty {}
        );
    }

    #[test]
    fn message_round_trip() {
        assert_eq!(
            serde_json::to_value(Message::new("ok")).unwrap(),
            json!({"message": "ok"})
        );
        let read: Message = serde_json::from_value(json!({"message": "bad", "code": 3})).unwrap();
        assert_eq!(read, Message::new("bad"));
    }
}
