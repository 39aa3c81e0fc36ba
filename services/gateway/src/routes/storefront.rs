//! Storefront pages: the login-as-customer form target (sets the session
//! cookie and redirects), a minimal account page that shows who is acting,
//! and the login page that reports a failed impersonation.

use actas_shared::{
    ErrorCode,
    proto::{GetPrincipalRequest, LogoutRequest},
};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::HttpError,
    extract::{BodyObject, Client, customer_context},
    routes::store::exchange,
};

/// The storefront session cookie.
const COOKIE: &str = "actas-context";

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> Result<HeaderValue, HttpError> {
    let secure = if state.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|_| HttpError(actas_shared::ApiError::internal()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// `POST /account/login/imitate-customer` (form: token, customerId, userId)
pub async fn imitate_customer(State(state): State<AppState>, client: Client, body: BodyObject) -> Response {
    match exchange(&state, &body, None, client).await {
        Ok(issued) => {
            let max_age = issued
                .context
                .map(|context| context.expires_at_unix - chrono::Utc::now().timestamp())
                .unwrap_or_default()
                .max(0);
            match session_cookie(&state, &issued.token, max_age) {
                Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/account")).into_response(),
                Err(error) => error.into_response(),
            }
        }
        // An outage is not the user's mistake: say so rather than "login failed".
        Err(HttpError(error)) if matches!(error.code, ErrorCode::Unavailable | ErrorCode::Internal) => {
            HttpError(error).into_response()
        }
        Err(_) => Redirect::to("/account/login?loginError=true").into_response(),
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main>{body}</main></body></html>",
        escape(title)
    ))
}

/// `GET /account`: who is signed in, and who is acting for them.
pub async fn account(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let context = match customer_context(&state, cookie_token(&headers), None).await {
        Ok((_, context)) => context,
        // An outage is not a signed-out user: say so instead of asking to log in.
        Err(HttpError(error)) if matches!(error.code, ErrorCode::Unavailable | ErrorCode::Internal) => {
            return HttpError(error).into_response();
        }
        Err(_) => return Redirect::to("/account/login").into_response(),
    };
    let mut permission = state.permission.clone();
    let Ok(customer) = permission
        .get_principal(GetPrincipalRequest {
            id: context.principal_id.clone(),
        })
        .await
    else {
        return HttpError(actas_shared::ApiError::unavailable()).into_response();
    };
    let customer = customer.into_inner();
    let mut body = String::new();
    if context.imitated {
        let actor = permission
            .get_principal(GetPrincipalRequest {
                id: context.imitating_user_id.clone(),
            })
            .await
            .map(|r| r.into_inner().display_name)
            .unwrap_or_else(|_| context.imitating_user_id.clone());
        let since = chrono::DateTime::from_timestamp(context.created_at_unix, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        body.push_str(&format!(
            "<div role=\"alert\" id=\"imitation-banner\">{} is acting for {} since {}. \
             <form method=\"post\" action=\"/account/logout\"><button type=\"submit\">Stop</button></form></div>",
            escape(&actor),
            escape(&customer.display_name),
            escape(&since),
        ));
    }
    body.push_str(&format!(
        "<h1>Your account</h1><p id=\"customer\">{} ({})</p>\
         <form method=\"post\" action=\"/account/logout\"><button type=\"submit\">Log out</button></form>",
        escape(&customer.display_name),
        escape(&customer.email),
    ));
    page("Account", &body).into_response()
}

#[derive(Deserialize)]
pub struct LoginPageQuery {
    #[serde(rename = "loginError")]
    login_error: Option<String>,
}

/// `GET /account/login`
pub async fn login_page(Query(query): Query<LoginPageQuery>) -> Html<String> {
    let alert = if query.login_error.as_deref() == Some("true") {
        "<div role=\"alert\" id=\"login-error\">Could not log you in. The link may have expired or been used already.</div>"
    } else {
        ""
    };
    page("Log in", &format!("<h1>Log in</h1>{alert}"))
}

/// `POST /account/logout`: ends this session only, clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie_token(&headers)
        && let Err(status) = state.sessions.clone().logout(LogoutRequest { token }).await
    {
        let error = actas_shared::ApiError::from_status(&status);
        // Already ended or unknown is the outcome the user wanted; an outage
        // is not: the session would live on while the page says it ended.
        if error.code != ErrorCode::Unauthorized {
            return HttpError(error).into_response();
        }
    }
    match session_cookie(&state, "", 0) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/account/login")).into_response(),
        Err(error) => error.into_response(),
    }
}
