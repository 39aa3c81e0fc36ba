//! Storefront pages: the login-as-customer form target (sets the session
//! cookie and redirects), the account page with the banner that says who
//! is acting for the customer, the login form, and stopping an imitation.

use actas_shared::{
    ErrorCode,
    principal::PrincipalKind,
    proto::{GetPrincipalRequest, LoginRequest, LogoutRequest, SessionContext, SessionToken},
};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use serde::Deserialize;

use crate::{
    error::HttpError,
    exchange::{ImitateCustomerRequest, exchange},
    extract::{Body, Client, Query, SameOrigin, StorefrontHost, customer_context, forget_context},
    guard::Intent,
    history,
    openapi::errors,
    public_session::EmailPasswordRequest,
    state::AppState,
    ui::{Locale, Page},
};

/// The storefront session cookie.
pub const COOKIE: &str = "actas-context";

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> Result<HeaderValue, HttpError> {
    let secure = if state.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|_| HttpError(actas_shared::ApiError::internal()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    crate::ui::cookie(headers, COOKIE).map(str::to_owned)
}

errors!(StorefrontImitateCustomerErrors {
    TooManyRequests => "this client address redeemed more than `ACTAS_REDEEM_LIMIT_PER_MINUTE` tokens in a minute (per gateway replica); `Retry-After` says when to try again",
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/account/login/imitate-customer",
    tag = "storefront",
    operation_id = "storefrontImitateCustomer",
    summary = "Login-as-customer form target: exchange the token, set the session cookie, redirect",
    description = "The form carries no access key: the token's own signed audience names the sales channel. An outage is not the user's mistake: 503 (JSON envelope) rather than the login page. The token must be for the sales channel whose storefront domain is this request's host; a token for another channel fails (and is spent) like any mismatch. This form may be posted from another origin (the administration's): the one-time token protects it.",
    security(()),
    request_body = ImitateCustomerRequest,
    responses(
        (status = 303, description = "Success: `Location: /account` with the session cookie set. Any client-side failure (bad body, bad or used token, refused): `Location: /account/login?loginError=true`, no cookie.", headers(("Location" = String, description = "`/account` on success, `/account/login?loginError=true` on failure."), ("Set-Cookie" = String, description = "On success only: `actas-context=<token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<session lifetime>` (plus `; Secure` when `ACTAS_COOKIE_SECURE`)."))),
        StorefrontImitateCustomerErrors,
    ),
)]
/// `POST /account/login/imitate-customer` (form: token, customerId, userId):
/// the token must be for the sales channel whose storefront this host is.
pub async fn imitate_customer(
    State(state): State<AppState>,
    host: Result<StorefrontHost, HttpError>,
    client: Client,
    body: Result<Body<ImitateCustomerRequest>, HttpError>,
) -> Response {
    let channel = match host {
        Ok(StorefrontHost(channel)) => channel,
        Err(error) => return signed_out(error),
    };
    // A browser gets a page, not JSON: a missing or unreadable form is a
    // failed sign-in like a bad token.
    let Ok(Body(request)) = body else {
        return Redirect::to("/account/login?loginError=true").into_response();
    };
    match exchange(&state, request, Some(channel), client).await {
        Ok(issued) => signed_in(&state, issued),
        // An outage is not the user's mistake: say so rather than "login failed".
        Err(HttpError(error))
            if matches!(
                error.code,
                ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::TooManyRequests
            ) =>
        {
            HttpError(error).into_response()
        }
        Err(_) => Redirect::to("/account/login?loginError=true").into_response(),
    }
}

/// The page to go to when the storefront session is missing, expired or
/// ended; an outage is not a signed-out user and gets the error instead.
fn signed_out(error: HttpError) -> Response {
    if matches!(error.0.code, ErrorCode::Unavailable | ErrorCode::Internal) {
        return error.into_response();
    }
    Redirect::to("/account/login").into_response()
}

/// The cookie's session, when it is a customer's of the sales channel this
/// host serves; otherwise the way to the login page (or the outage).
async fn storefront_session(
    state: &AppState,
    host: Result<StorefrontHost, HttpError>,
    headers: &HeaderMap,
    intent: &Intent,
) -> Result<SessionContext, Response> {
    let StorefrontHost(channel) = host.map_err(signed_out)?;
    customer_context(state, cookie_token(headers), Some(channel), intent)
        .await
        .map(|(_, context)| context)
        .map_err(signed_out)
}

errors!(AccountPageErrors {
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/account",
    tag = "storefront",
    operation_id = "accountPage",
    summary = "Account page: who is signed in, and who is acting for them (HTML)",
    description = "The 503 answers (and 500) use the JSON envelope, not HTML: 503 when the customer's record cannot be read. Only a session of the sales channel whose storefront domain is this request's host is shown; another channel's session is sent to the login page.",
    security(("storefrontCookie" = []), ()),
    responses(
        (status = 200, description = "The account page; an impersonated session shows a banner naming the actor and a Stop button.", body = String, content_type = "text/html"),
        (status = 303, description = "No valid session cookie (missing, expired, ended, or the session service could not be asked): to the login page.", headers(("Location" = String, description = "`/account/login`"))),
        AccountPageErrors,
    ),
)]
/// `GET /account`: who is signed in, and who is acting for them; only a
/// session of the sales channel whose storefront this host is.
pub async fn account(
    State(state): State<AppState>,
    host: Result<StorefrontHost, HttpError>,
    locale: Locale,
    intent: Intent,
    headers: HeaderMap,
) -> Response {
    let context = match storefront_session(&state, host, &headers, &intent).await {
        Ok(context) => context,
        Err(signed_out) => return signed_out,
    };
    let mut permission = state.permission.clone();
    let customer = match permission
        .get_principal(GetPrincipalRequest {
            id: context.principal_id.clone(),
        })
        .await
    {
        Ok(customer) => customer.into_inner(),
        Err(status) => return HttpError::from(status).into_response(),
    };
    let imitation = if context.imitated {
        let actor = match permission
            .get_principal(GetPrincipalRequest {
                id: context.imitating_user_id.clone(),
            })
            .await
        {
            Ok(actor) => actor.into_inner().display_name,
            Err(status) => return HttpError::from(status).into_response(),
        };
        let since = chrono::DateTime::from_timestamp(context.created_at_unix, 0).unwrap_or_default();
        Some(context! {
            actor => actor,
            since_iso => since.to_rfc3339(),
            since_text => utc_text(context.created_at_unix),
        })
    } else {
        None
    };
    // Who accessed the account is the customer's own: never shown to
    // whoever acts as them. A failed read leaves the rest of the page up.
    let history = match (&imitation, cookie_token(&headers)) {
        (None, Some(token)) => match history::of_reader(&state, &token).await {
            Ok(accesses) => Some(accesses),
            Err(error) => {
                tracing::warn!(
                    code = error.0.code.as_str(),
                    "who accessed the account could not be read"
                );
                None
            }
        },
        _ => None,
    };
    Page {
        template: "account.html",
        title_key: "account.title",
        context: context! {
            customer => context! { name => customer.display_name, email => customer.email },
            imitation => imitation,
            own => imitation.is_none(),
            history => history.as_ref().map(|accesses| accesses
                .iter()
                .map(|access| context! {
                    session_id => access.session_id,
                    actor => access.actor,
                    started => utc_text(access.started_at),
                    reason => access.reason,
                    ending => access.ending,
                    minutes => access.minutes,
                    actions => access.actions,
                })
                .collect::<Vec<_>>()),
        },
    }
    .render(locale)
}

/// A time as the storefront pages print it (they know no time zone of the reader).
fn utc_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// A flag of the login page's query: present and `true`, or absent.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Flag {
    True,
}

#[derive(Deserialize, Default)]
pub struct LoginPageQuery {
    #[serde(rename = "loginError")]
    login_error: Option<String>,
    #[serde(rename = "credentialsError")]
    credentials_error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/account/login",
    tag = "storefront",
    operation_id = "loginPage",
    summary = "Login page (HTML): the login form; reports a failed impersonation",
    security(()),
    params(
        ("loginError" = Option<Flag>, Query, description = "`true` after a failed `POST /account/login/imitate-customer`."),
        ("credentialsError" = Option<Flag>, Query, description = "`true` after a wrong email or password in the form."),
        ("lang" = Option<crate::ui::Lang>, Query, description = "`en-GB` or `de-DE`.")
    ),
    responses(
        (status = 200, description = "The login page; with `loginError=true` an alert says the link may have expired or been used.", body = String, content_type = "text/html"),
    ),
)]
/// `GET /account/login`: the login form; `?loginError=true` after a failed
/// login-as-customer link (Shopware's parameter), `?credentialsError=true`
/// after a wrong password. A query that cannot be read (a repeated flag)
/// still shows the page, without its message: a browser gets a page.
/// Only on a storefront's host: another host names no storefront (404, as
/// its POST answers).
pub async fn login_page(
    StorefrontHost(_): StorefrontHost,
    locale: Locale,
    query: Result<Query<LoginPageQuery>, HttpError>,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    Page {
        template: "login.html",
        title_key: "login.title",
        context: context! {
            login_error => query.login_error.as_deref() == Some("true"),
            credentials_error => query.credentials_error.as_deref() == Some("true"),
            email => "",
        },
    }
    .render(locale)
}

errors!(StorefrontLoginErrors {
    CrossSiteRequest,
    SalesChannelNotFound => "the Host is no storefront domain",
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/account/login",
    tag = "storefront",
    operation_id = "storefrontLogin",
    summary = "Customer login form",
    description = "The sales channel is the one whose storefront domain the request came to (its `Host` header). A session cookie that was an imitation ends.",
    security(()),
    request_body(content = EmailPasswordRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the cookie is set and the browser sent to `/account`; wrong or missing credentials: sent to `/account/login?credentialsError=true`.", headers(("Location" = String), ("Set-Cookie" = String, description = "`actas-context=…; Path=/; HttpOnly; SameSite=Lax; Max-Age=…` on success."))),
        StorefrontLoginErrors,
    ),
)]
/// `POST /account/login` (form: email, password): a customer signs in on
/// the storefront of this host. A session that was an imitation ends.
pub async fn login(
    State(state): State<AppState>,
    StorefrontHost(channel): StorefrontHost,
    _: SameOrigin,
    headers: HeaderMap,
    body: Result<Body<EmailPasswordRequest>, HttpError>,
) -> Response {
    // No form, a malformed one or missing fields: the login page says the
    // credentials did not work, as a browser expects.
    let Ok(Body(EmailPasswordRequest { email, password })) = body else {
        return Redirect::to("/account/login?credentialsError=true").into_response();
    };
    let previous = cookie_token(&headers).unwrap_or_default();
    let issued = state
        .sessions
        .clone()
        .login(LoginRequest {
            kind: PrincipalKind::Customer.to_proto().into(),
            email,
            password,
            sales_channel_id: channel.to_string(),
            previous_token: previous.clone(),
            with_profile: false,
            with_refresh_token: false,
        })
        .await;
    // A login ends an imitation held in the previous token.
    forget_context(&state, &previous);
    match issued {
        Ok(issued) => signed_in(&state, issued.into_inner()),
        Err(status) => {
            let error = HttpError::from(status);
            if matches!(error.0.code, ErrorCode::Unavailable | ErrorCode::Internal) {
                return error.into_response();
            }
            Redirect::to("/account/login?credentialsError=true").into_response()
        }
    }
}

/// The cookie of a new storefront session and the way to the account page.
fn signed_in(state: &AppState, issued: SessionToken) -> Response {
    let max_age = issued
        .context
        .map(|context| context.expires_at_unix - chrono::Utc::now().timestamp())
        .unwrap_or_default()
        .max(0);
    match session_cookie(state, &issued.token, max_age) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/account")).into_response(),
        Err(error) => error.into_response(),
    }
}

errors!(StopImitationErrors {
    CrossSiteRequest,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/account/imitation/stop",
    tag = "storefront",
    operation_id = "stopImitation",
    summary = "Stop the imitation this browser holds",
    description = "Ends the impersonated session named by the cookie, and only it (the customer's own sessions elsewhere live on), and clears the cookie. Without an imitation, nothing ends.",
    security(("storefrontCookie" = [])),
    responses(
        (status = 303, description = "Ended: to `/account/login`; not an imitation: to `/account`; no valid session: to `/account/login`.", headers(("Location" = String))),
        StopImitationErrors,
    ),
)]
/// `POST /account/imitation/stop`: ends the impersonated session this
/// browser holds, and only it; the customer's own sessions elsewhere live
/// on. Without an imitation there is nothing to stop: back to the account.
pub async fn stop_imitation(
    State(state): State<AppState>,
    host: Result<StorefrontHost, HttpError>,
    _: SameOrigin,
    intent: Intent,
    headers: HeaderMap,
) -> Response {
    let context = match storefront_session(&state, host, &headers, &intent).await {
        Ok(context) => context,
        Err(signed_out) => return signed_out,
    };
    if !context.imitated {
        return Redirect::to("/account").into_response();
    }
    end_session(&state, &headers).await
}

errors!(StorefrontLogoutErrors { CrossSiteRequest });
#[utoipa::path(
    post,
    path = "/account/logout",
    tag = "storefront",
    operation_id = "storefrontLogout",
    summary = "End this storefront session and clear the cookie",
    description = "Ends the session named by the cookie. A failure to end it downstream is ignored.",
    security(("storefrontCookie" = []), ()),
    responses(
        (status = 303, description = "Always (also without a cookie, or when the session was already ended): the cookie is cleared and the browser sent to the login page.", headers(("Location" = String, description = "`/account/login`"), ("Set-Cookie" = String, description = "`actas-context=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` (plus `; Secure` when configured)."))),
        StorefrontLogoutErrors,
    ),
)]
/// `POST /account/logout`: ends this session only, clears the cookie.
pub async fn logout(State(state): State<AppState>, _: SameOrigin, headers: HeaderMap) -> Response {
    end_session(&state, &headers).await
}

/// Ends the cookie's session and clears the cookie.
async fn end_session(state: &AppState, headers: &HeaderMap) -> Response {
    let state = state.clone();
    let token = cookie_token(headers);
    let ended = match &token {
        Some(token) => {
            let ended = state
                .sessions
                .clone()
                .logout(LogoutRequest { token: token.clone() })
                .await;
            forget_context(&state, token);
            ended.map(|_| ())
        }
        None => Ok(()),
    };
    if let Err(status) = ended {
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
