//! Calls about the caller and the server itself: whoami, YAML validation, agent harnesses, Xet.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde_json::json;

use super::{Ctx, json, read_body};
use crate::app::App;
use crate::error::ApiError;

/// `GET /api/whoami-v2`: who the token belongs to.
pub fn whoami(app: &Arc<App>, ctx: &Ctx) -> Result<Response, ApiError> {
    let user = ctx.user()?;
    let role = ctx.who.as_ref().map(|p| p.role.as_str()).unwrap_or("read");
    let orgs: Vec<_> = app
        .auth
        .orgs_of(user)
        .into_iter()
        .map(|name| json!({"type": "org", "name": name, "fullname": name, "roleInOrg": role}))
        .collect();
    Ok(json(json!({
        "type": "user",
        "id": user,
        "name": user,
        "fullname": user,
        "email": null,
        "emailVerified": false,
        "canPay": false,
        "isPro": false,
        "periodEnd": null,
        "avatarUrl": "",
        "orgs": orgs,
        "auth": {
            "type": "access_token",
            "accessToken": {"displayName": "hubmix-server token", "role": role, "createdAt": "1970-01-01T00:00:00.000Z"}
        }
    })))
}

/// `GET /api/agent-harnesses`: the neutral answer (no harness detection).
pub fn agent_harnesses() -> Response {
    json(json!({"standardEnvVars": [], "harnesses": {}}))
}

/// `POST /api/validate-yaml`: checks a card's front matter as commits are checked
/// ([`crate::card::card_data`]); `400` with the errors when it is wrong.
pub async fn validate_yaml(body: Body) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Req {
        content: String,
    }
    let bytes = read_body(body, super::MAX_JSON_BODY).await?;
    let req: Req = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let errors: Vec<_> = crate::card::card_data(&req.content)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|message| json!({"message": message}))
        .collect();
    let mut response = json(json!({"errors": errors, "warnings": []}));
    if !errors.is_empty() {
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// The answer to the Xet token endpoints: this server stores files itself.
pub fn xet_unsupported() -> ApiError {
    ApiError::NotImplemented(
        "Xet storage is not supported by this server: set HF_HUB_DISABLE_XET=1 so that large files go through Git LFS".into(),
    )
}
