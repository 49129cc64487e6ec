//! Who a token belongs to (`GET /api/whoami-v2`, `hub-protocol.md` §3.6).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The owner of the token, and the token itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// `user`, or `org` for an organisation's token.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The Hub's id of the account.
    #[serde(default)]
    pub id: String,
    /// The user (or organisation) name: the namespace of its repositories.
    pub name: String,
    /// The full name.
    #[serde(default)]
    pub fullname: String,
    /// The e-mail address (`null` when not shared).
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the e-mail address is verified.
    #[serde(default)]
    pub email_verified: bool,
    /// Whether the account can pay.
    #[serde(default)]
    pub can_pay: bool,
    /// Whether the account has a PRO subscription.
    #[serde(default)]
    pub is_pro: bool,
    /// The end of the current billing period, as the Hub writes it (`null`: none).
    #[serde(default)]
    pub period_end: Option<Value>,
    /// The URL of the avatar.
    #[serde(default)]
    pub avatar_url: String,
    /// The organisations the user belongs to.
    #[serde(default)]
    pub orgs: Vec<Org>,
    /// How the call was authenticated.
    #[serde(default)]
    pub auth: AuthInfo,
}

impl WhoAmI {
    /// The role of the token the call was made with (`read`, `write`, `fineGrained`), when the
    /// answer says.
    pub fn token_role(&self) -> Option<&str> {
        self.auth.access_token.as_ref().map(|t| t.role.as_str())
    }
}

/// An organisation a user belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    /// `org`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The organisation's name: the namespace of its repositories.
    pub name: String,
    /// Its full name.
    #[serde(default)]
    pub fullname: String,
    /// The user's role in it (`read`, `contributor`, `write`, `admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_in_org: Option<String>,
}

/// How a [`WhoAmI`] call was authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    /// `access_token`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The token, when authenticated by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
}

/// The access token of a [`WhoAmI`] call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// The name its owner gave it.
    #[serde(default)]
    pub display_name: String,
    /// `read`, `write` or `fineGrained`.
    #[serde(default)]
    pub role: String,
    /// When it was created.
    #[serde(default)]
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serializes_the_documented_answer() {
        let who = WhoAmI {
            kind: "user".into(),
            id: "6551a1b2c3d4e5f6a7b8c9d0".into(),
            name: "alice".into(),
            fullname: "Alice".into(),
            email: Some("alice@example.invalid".into()),
            email_verified: true,
            orgs: vec![Org {
                kind: "org".into(),
                name: "team".into(),
                fullname: "team".into(),
                role_in_org: Some("write".into()),
            }],
            auth: AuthInfo {
                kind: "access_token".into(),
                access_token: Some(AccessToken {
                    display_name: "my-token".into(),
                    role: "write".into(),
                    created_at: "2024-05-01T12:00:00.000Z".into(),
                }),
            },
            ..WhoAmI::default()
        };
        assert_eq!(
            serde_json::to_value(&who).unwrap(),
            json!({
                "type": "user", "id": "6551a1b2c3d4e5f6a7b8c9d0", "name": "alice", "fullname": "Alice",
                "email": "alice@example.invalid", "emailVerified": true, "canPay": false, "isPro": false,
                "periodEnd": null, "avatarUrl": "",
                "orgs": [{"type": "org", "name": "team", "fullname": "team", "roleInOrg": "write"}],
                "auth": {"type": "access_token",
                         "accessToken": {"displayName": "my-token", "role": "write", "createdAt": "2024-05-01T12:00:00.000Z"}}
            })
        );
    }

    #[test]
    fn parses_a_huggingface_co_answer_with_a_fine_grained_token() {
        let who: WhoAmI = serde_json::from_value(json!({
            "type": "user", "id": "6551a1b2c3d4e5f6a7b8c9d0", "name": "alice", "fullname": "Alice",
            "isPro": true, "periodEnd": 1_717_200_000, "avatarUrl": "https://cdn/x.png",
            "orgs": [{"type": "org", "name": "team", "fullname": "Team", "isEnterprise": false,
                      "roleInOrg": "admin", "avatarUrl": "/a.png", "id": "65"}],
            "auth": {"type": "access_token",
                     "accessToken": {"displayName": "ci", "role": "fineGrained",
                                     "fineGrained": {"canReadGatedRepos": true, "scoped": []}}}
        }))
        .unwrap();
        assert_eq!(who.email, None);
        assert_eq!(who.period_end, Some(json!(1_717_200_000)));
        assert_eq!(who.orgs[0].role_in_org.as_deref(), Some("admin"));
        assert_eq!(who.auth.access_token.unwrap().role, "fineGrained");
        assert!(serde_json::from_value::<WhoAmI>(json!({"type": "user"})).is_err());
    }

    #[test]
    fn token_role() {
        let read = |v| serde_json::from_value::<WhoAmI>(v).unwrap();
        let who =
            read(json!({"name": "alice", "auth": {"type": "access_token", "accessToken": {"role": "read"}}}));
        assert_eq!(who.token_role(), Some("read"));
        assert_eq!(read(json!({"name": "alice"})).token_role(), None);
    }
}
