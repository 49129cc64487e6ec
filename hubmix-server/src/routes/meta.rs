//! Calls about the caller and the server itself: whoami, YAML validation, agent harnesses, Xet.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use hubmix_protocol::card::CardError;
use hubmix_protocol::types::{
    AccessToken, AgentHarnesses, AuthInfo, Message, Org, ValidateYamlAnswer, ValidateYamlRequest, WhoAmI,
};

use super::{Ctx, json, read_json};
use crate::app::App;
use crate::error::ApiError;

/// `GET /metrics`: the counters of [`crate::stats`], in Prometheus' text format. They say
/// nothing of repositories or users, so no token is asked for.
pub(super) fn metrics(app: &Arc<App>) -> Response {
    let mut response = Response::new(Body::from(app.stats.prometheus()));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /api/whoami-v2`: who the token belongs to.
pub(super) fn whoami(app: &Arc<App>, ctx: &Ctx) -> Result<Response, ApiError> {
    let user = ctx.user()?;
    let role = ctx.who.as_ref().map(|p| p.role.as_str()).unwrap_or("read");
    let orgs = app
        .auth
        .orgs_of(user)
        .into_iter()
        .map(|name| Org {
            kind: "org".into(),
            fullname: name.clone(),
            name,
            role_in_org: Some(role.to_owned()),
        })
        .collect();
    Ok(json(WhoAmI {
        kind: "user".into(),
        id: user.to_owned(),
        name: user.to_owned(),
        fullname: user.to_owned(),
        orgs,
        auth: AuthInfo {
            kind: "access_token".into(),
            access_token: Some(AccessToken {
                display_name: "hubmix-server token".into(),
                role: role.to_owned(),
                created_at: "1970-01-01T00:00:00.000Z".into(),
            }),
        },
        ..WhoAmI::default()
    }))
}

/// `GET /api/agent-harnesses`: the neutral answer (no harness detection).
pub(super) fn agent_harnesses() -> Response {
    json(AgentHarnesses::default())
}

/// `POST /api/validate-yaml`: checks a card's front matter as commits are checked
/// ([`hubmix_protocol::card::card_data_within`] and the hub's card limits); `400` with the
/// errors when it is wrong.
pub(super) async fn validate_yaml(app: &Arc<App>, body: Body) -> Result<Response, ApiError> {
    let req: ValidateYamlRequest = read_json(&app.config.limits, body).await?;
    let limits = &app.config.limits;
    let errors: Vec<_> = match hubmix_protocol::card::card_data_within(&req.content, &limits.card) {
        Ok(_) => Vec::new(),
        Err(CardError::FrontMatter(e)) => vec![limits.front_matter_message(&e)],
        Err(CardError::Fields(errors)) => errors,
    }
    .into_iter()
    .map(Message::new)
    .collect();
    let refused = !errors.is_empty();
    let mut response = json(ValidateYamlAnswer {
        errors,
        warnings: Vec::new(),
    });
    if refused {
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// The answer to the Xet token endpoints: this server stores files itself.
pub(super) fn xet_unsupported() -> ApiError {
    ApiError::NotImplemented(
        "Xet storage is not supported by this server: set HF_HUB_DISABLE_XET=1 so that large files go through Git LFS".into(),
    )
}
