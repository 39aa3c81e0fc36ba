//! Typed request parts: who is calling (admin bearer, sales channel access
//! key, storefront context token) and request bodies that fail with a
//! stable code instead of axum's plain-text rejections.

use actas_shared::{
    ErrorCode,
    ids::{PrincipalId, SalesChannelId, parse_uuid},
    principal::PrincipalKind,
    proto::{GetContextOptionsRequest, GetContextRequest, ResolveSalesChannelRequest, SessionContext},
    secret::hash_token,
};
use axum::{
    body::Bytes,
    extract::{FromRef, FromRequest, FromRequestParts, Request},
    http::{HeaderMap, request::Parts},
};
use std::{net::IpAddr, sync::Arc};

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::{
    error::HttpError,
    guard::{self, Intent},
    state::{AppState, StoreChannel},
};

/// Header carrying the storefront context token (Shopware's name).
pub const CONTEXT_TOKEN_HEADER: &str = "sw-context-token";
const ACCESS_KEY_HEADER: &str = "sw-access-key";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A request body of named fields: a JSON object, or an HTML form
/// (`application/x-www-form-urlencoded`, as OAuth clients and storefront
/// forms send). Anything else is a 400 with `FRAMEWORK__INVALID_REQUEST_BODY`;
/// fields are read with [`BodyObject::string`] and friends.
pub struct BodyObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for BodyObject
where
    AppState: FromRef<S>,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let is_form = header(request.headers(), http::header::CONTENT_TYPE.as_str())
            .is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"));
        let timeout = AppState::from_ref(state).body_read_timeout;
        // A body trickling in would hold its connection and its handler
        // until the request deadline; it gets a bounded time, then 408.
        let bytes = match tokio::time::timeout(timeout, Bytes::from_request(request, state)).await {
            Err(_) => {
                return Err(HttpError::new(
                    ErrorCode::RequestTimeout,
                    "The request body did not arrive in time.",
                ));
            }
            Ok(read) => read.map_err(|_| {
                HttpError::new(
                    ErrorCode::InvalidRequestBody,
                    "The request body could not be read.",
                )
            })?,
        };
        if is_form {
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|_| HttpError::new(ErrorCode::InvalidRequestBody, "The form body is malformed."))?;
            return Ok(BodyObject(
                fields
                    .into_iter()
                    .map(|(key, value)| (key, Value::String(value)))
                    .collect(),
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(BodyObject(object)),
            _ => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                "The request body must be a JSON object.",
            )),
        }
    }
}

/// A request body a handler takes: read from a [`BodyObject`] field by
/// field, so a missing field and a mistyped one keep their own codes, and
/// described by its `ToSchema`, which is what the OpenAPI document says the
/// route accepts.
pub trait FromBody: Sized {
    fn from_body(body: BodyObject) -> Result<Self, HttpError>;
}

/// The extractor of a [`FromBody`] type.
pub struct Body<T>(pub T);

impl<T: FromBody, S: Send + Sync> FromRequest<S> for Body<T>
where
    AppState: FromRef<S>,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        T::from_body(BodyObject::from_request(request, state).await?).map(Body)
    }
}

/// A body string, refused when it holds a character no text here means:
/// control characters, and the line and paragraph separators and
/// bidirectional controls that forge lines or reorder text where the text
/// is shown ([`actas_shared::reason::forges_lines`]). PostgreSQL could not
/// store a NUL at all; the rest would reach the audit trail and the
/// consoles. Passwords have their own rule ([`BodyObject::password`]).
fn plain_text(field: &str, text: &str) -> Result<String, HttpError> {
    if text.chars().any(actas_shared::reason::forges_lines) {
        return Err(HttpError::new(
            ErrorCode::InvalidRequestBody,
            format!("{field} must not contain control, line-separator or bidirectional characters."),
        ));
    }
    Ok(text.to_owned())
}

impl BodyObject {
    /// A required, non-blank string field.
    pub fn string(&self, field: &str) -> Result<String, HttpError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(missing(field)),
            Some(Value::String(text)) if text.trim().is_empty() => Err(missing(field)),
            Some(Value::String(text)) => plain_text(field, text),
            Some(_) => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                format!("{field} must be a string."),
            )),
        }
    }

    /// A required password: any characters but control characters (C0, DEL,
    /// C1). Spaces, symbols and every script are allowed, as NIST SP 800-63B
    /// asks; a control character is no key anyone types, only a form that
    /// was tampered with. The password is only ever hashed, never stored.
    pub fn password(&self, field: &str) -> Result<String, HttpError> {
        match self.0.get(field) {
            Some(Value::String(text)) if text.chars().any(char::is_control) => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                format!("{field} must not contain control characters."),
            )),
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            _ => self.string(field),
        }
    }

    /// An optional string field: absent or null is `None`.
    pub fn optional_string(&self, field: &str) -> Result<Option<String>, HttpError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            _ => self.string(field).map(Some),
        }
    }

    /// An optional string field that may be blank (a search term).
    pub fn text_or_empty(&self, field: &str) -> Result<String, HttpError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => plain_text(field, text),
            Some(_) => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                format!("{field} must be a string."),
            )),
        }
    }

    /// The optional `reason` field, as sent: the session service checks it
    /// with [`actas_shared::reason::check`] (the same characters refused,
    /// and its length), answering `ACTAS__INVALID_REASON`, the code
    /// clients of the reason expect.
    pub fn reason(&self) -> Result<String, HttpError> {
        match self.0.get("reason") {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                "reason must be a string.",
            )),
        }
    }

    /// An optional whole number: a JSON integer, or digits in a form.
    pub fn optional_integer(&self, field: &str) -> Result<Option<i64>, HttpError> {
        let invalid = || {
            HttpError::new(
                ErrorCode::InvalidRequestBody,
                format!("{field} must be a whole number."),
            )
        };
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number.as_i64().map(Some).ok_or_else(invalid),
            Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }

    /// An optional flag: a JSON boolean, or `true`/`false` in a form.
    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, HttpError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text.trim() == "true" => Ok(Some(true)),
            Some(Value::String(text)) if text.trim() == "false" => Ok(Some(false)),
            Some(_) => Err(HttpError::new(
                ErrorCode::InvalidRequestBody,
                format!("{field} must be true or false."),
            )),
        }
    }

    /// A required id field, in either accepted UUID form.
    pub fn id<T: std::str::FromStr>(&self, field: &str) -> Result<T, HttpError> {
        parse_id(&self.string(field)?, field)
    }
}

/// `axum::extract::Query` with its rejection in the error envelope: a
/// repeated, malformed or mistyped parameter is a 400 with
/// `FRAMEWORK__INVALID_REQUEST_PARAMETER`, not axum's plain text. The
/// detail names no value: query strings may carry what a user typed.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map_err(|_| unreadable_query())?;
        if pairs.iter().any(|(name, value)| {
            name.chars()
                .chain(value.chars())
                .any(actas_shared::reason::forges_lines)
        }) {
            return Err(HttpError::new(
                ErrorCode::InvalidRequestParameter,
                "A query parameter holds control, line-separator or bidirectional characters.",
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(query)) => Ok(Query(query)),
            Err(_) => Err(unreadable_query()),
        }
    }
}

fn unreadable_query() -> HttpError {
    HttpError::new(
        ErrorCode::InvalidRequestParameter,
        "The query string could not be read: a parameter is repeated, malformed or of the wrong type.",
    )
}

/// `axum::extract::Path` with its rejection in the error envelope (a path
/// segment that does not decode to UTF-8, say).
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let unreadable = || {
            HttpError::new(
                ErrorCode::InvalidRequestParameter,
                "A path parameter could not be read.",
            )
        };
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| unreadable())?;
        if raw
            .iter()
            .any(|(_, value)| value.chars().any(actas_shared::reason::forges_lines))
        {
            return Err(HttpError::new(
                ErrorCode::InvalidRequestParameter,
                "A path parameter holds control, line-separator or bidirectional characters.",
            ));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(path)) => Ok(Path(path)),
            Err(_) => Err(unreadable()),
        }
    }
}

pub fn missing(field: &str) -> HttpError {
    HttpError::new(ErrorCode::MissingParameter, format!("{field} is required."))
}

pub fn parse_id<T: std::str::FromStr>(text: &str, field: &str) -> Result<T, HttpError> {
    if parse_uuid(text).is_err() {
        return Err(HttpError::new(
            ErrorCode::InvalidUuid,
            format!("{field} is not a valid UUID."),
        ));
    }
    text.parse()
        .map_err(|_| HttpError::new(ErrorCode::InvalidUuid, format!("{field} is not a valid UUID.")))
}

/// The session behind `Authorization: Bearer …`, verified by the session
/// service. Each session kind checks it is the right kind (401), then that
/// it may do what the request asks ([`guard::check`], 403).
async fn bearer_session(parts: &Parts, state: &AppState) -> Result<(String, SessionContext), HttpError> {
    let token = header(&parts.headers, http::header::AUTHORIZATION.as_str())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| HttpError(actas_shared::ApiError::unauthorized()))?;
    let context = session_context(state, &token).await?;
    Ok((token, context))
}

/// The live session behind `token`, from this gateway's cache when the
/// session service answered for it within [`crate::state::CONTEXT_TTL`]
/// and it has not reached its maximum since; otherwise asked (and kept).
/// Refusals are not kept: a bad token is asked about each time.
pub async fn session_context(state: &AppState, token: &str) -> Result<SessionContext, HttpError> {
    context_of(state, token, false).await
}

/// The context behind `token`, from the cache or the session service;
/// guest contexts only when `include_guests` (the Store API's own routes):
/// a cached guest is refused to everyone else as well.
async fn context_of(
    state: &AppState,
    token: &str,
    include_guests: bool,
) -> Result<SessionContext, HttpError> {
    let key = hash_token(token);
    let now = chrono::Utc::now().timestamp();
    let cached = state
        .contexts
        .get(&key)
        .filter(|context| context.expires_at_unix > now);
    let context = match cached {
        Some(context) => context,
        None => {
            let context = state
                .sessions
                .clone()
                .get_context(GetContextRequest {
                    token: token.to_owned(),
                    include_guests,
                })
                .await?
                .into_inner();
            state.contexts.put(key, context.clone());
            context
        }
    };
    if context.guest && !include_guests {
        return Err(HttpError(actas_shared::ApiError::unauthorized()));
    }
    Ok(context)
}

/// Keeps the context of a session the session service just started and
/// answered with (an exchange), so its first request asks nothing: it is
/// as fresh as any context this gateway read.
pub fn remember_context(state: &AppState, token: &str, context: &SessionContext) {
    state.contexts.put(hash_token(token), context.clone());
}

/// Drops what this gateway knows of `token`'s session: call it after any
/// change made to that session through this gateway, so the next request
/// sees the change.
pub fn forget_context(state: &AppState, token: &str) {
    state.contexts.forget(&hash_token(token));
}

fn principal_of(context: &SessionContext) -> Result<PrincipalId, HttpError> {
    context
        .principal_id
        .parse()
        .map_err(|_| HttpError(actas_shared::ApiError::internal()))
}

/// A verified admin session (`Authorization: Bearer …`). It may be an
/// operator's impersonation of the admin: what it may then do is decided
/// downstream (no chains, at the session service).
pub struct AdminSession {
    pub token: String,
    pub admin_id: PrincipalId,
}

impl<S> FromRequestParts<S> for AdminSession
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let (token, context) = bearer_session(parts, &AppState::from_ref(state)).await?;
        if PrincipalKind::from_proto(context.principal_kind) != Some(PrincipalKind::Admin) {
            return Err(HttpError(actas_shared::ApiError::unauthorized()));
        }
        guard::admit(&Intent::of(parts), &token, &context)?;
        Ok(AdminSession {
            admin_id: principal_of(&context)?,
            token,
        })
    }
}

/// A verified public-API (coworker) session of a customer: a bearer from
/// `POST /api/public/auth/login` or a token exchange, not a storefront context.
pub struct CoworkerSession {
    pub token: String,
    pub person_id: PrincipalId,
    pub context: SessionContext,
}

impl<S> FromRequestParts<S> for CoworkerSession
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let (token, context) = bearer_session(parts, &AppState::from_ref(state)).await?;
        let customer = PrincipalKind::from_proto(context.principal_kind) == Some(PrincipalKind::Customer);
        if !customer || !context.sales_channel_id.is_empty() {
            return Err(HttpError(actas_shared::ApiError::unauthorized()));
        }
        guard::admit(&Intent::of(parts), &token, &context)?;
        Ok(CoworkerSession {
            person_id: principal_of(&context)?,
            token,
            context,
        })
    }
}

/// A verified session outside a sales channel, by its bearer: a
/// customer's or an operator's own, or an impersonation exchanged at
/// `POST /api/public/auth/login/{token}` (of a customer or an admin); not
/// an admin's own OAuth session. Only logout takes it: ending the session
/// one holds is never an escalation.
pub struct BearerSession {
    pub token: String,
}

impl<S> FromRequestParts<S> for BearerSession
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let (token, context) = bearer_session(parts, &AppState::from_ref(state)).await?;
        // A storefront's or the Store API's session ends at their own logout;
        // an admin's own session (OAuth) ends when it expires, as Shopware's.
        let admin_own = PrincipalKind::from_proto(context.principal_kind) == Some(PrincipalKind::Admin)
            && !context.imitated;
        if !context.sales_channel_id.is_empty() || admin_own {
            return Err(HttpError(actas_shared::ApiError::unauthorized()));
        }
        guard::admit(&Intent::of(parts), &token, &context)?;
        Ok(BearerSession { token })
    }
}

/// A verified operator session (never an impersonated one).
pub struct OperatorSession {
    pub token: String,
    pub operator_id: PrincipalId,
}

impl<S> FromRequestParts<S> for OperatorSession
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let (token, context) = bearer_session(parts, &AppState::from_ref(state)).await?;
        if PrincipalKind::from_proto(context.principal_kind) != Some(PrincipalKind::Operator)
            || context.imitated
        {
            return Err(HttpError(actas_shared::ApiError::unauthorized()));
        }
        guard::admit(&Intent::of(parts), &token, &context)?;
        Ok(OperatorSession {
            operator_id: principal_of(&context)?,
            token,
        })
    }
}

/// The sales channel named by the `sw-access-key` header.
pub struct SalesChannelKey(pub SalesChannelId);

/// The sales channel of the request's `sw-access-key`, from the cache or
/// the directory (then kept for [`crate::state::AppState::access_keys`]' second).
pub async fn store_channel(parts: &Parts, state: &AppState) -> Result<Arc<StoreChannel>, HttpError> {
    let Some(access_key) = header(&parts.headers, ACCESS_KEY_HEADER) else {
        return Err(HttpError::new(
            ErrorCode::InvalidAccessKey,
            "The sw-access-key header is required.",
        ));
    };
    if let Some(channel) = state.access_keys.get(access_key) {
        return Ok(channel);
    }
    let channel = state
        .permission
        .clone()
        .resolve_sales_channel(ResolveSalesChannelRequest {
            access_key: access_key.to_owned(),
            domain_host: String::new(),
        })
        .await?
        .into_inner();
    let options = match state
        .permission
        .clone()
        .get_context_options(GetContextOptionsRequest {
            sales_channel_id: channel.id.clone(),
        })
        .await
    {
        Ok(answer) => answer.into_inner().options,
        // A permission service older than this gateway (a rolling
        // upgrade): the channel's defaults are unknown, nothing else is.
        Err(status) if status.code() == tonic::Code::Unimplemented => Vec::new(),
        Err(status) => return Err(status.into()),
    };
    let channel = Arc::new(StoreChannel {
        id: channel
            .id
            .parse()
            .map_err(|_| HttpError(actas_shared::ApiError::internal()))?,
        name: channel.name,
        defaults: options.into_iter().filter(|option| option.is_default).collect(),
    });
    state.access_keys.put(access_key.to_owned(), channel.clone());
    Ok(channel)
}

impl<S> FromRequestParts<S> for SalesChannelKey
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let state = AppState::from_ref(state);
        Ok(SalesChannelKey(store_channel(parts, &state).await?.id))
    }
}

impl<S> FromRequestParts<S> for StoreChannel
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let state = AppState::from_ref(state);
        Ok(store_channel(parts, &state).await?.as_ref().clone())
    }
}

/// The sales channel whose storefront domain this request came to, by its
/// `Host` header (behind a proxy: the proxy must pass the original Host).
pub struct StorefrontHost(pub SalesChannelId);

impl<S> FromRequestParts<S> for StorefrontHost
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let host = header(&parts.headers, http::header::HOST.as_str())
            .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::SalesChannelNotFound,
                    "The request names no host, so no storefront.",
                )
            })?;
        let channel = AppState::from_ref(state)
            .permission
            .clone()
            .resolve_sales_channel(ResolveSalesChannelRequest {
                access_key: String::new(),
                domain_host: host.to_ascii_lowercase(),
            })
            .await?
            .into_inner();
        let id = channel
            .id
            .parse()
            .map_err(|_| HttpError(actas_shared::ApiError::internal()))?;
        Ok(StorefrontHost(id))
    }
}

/// A request sent by a page of this very origin, for the storefront's own
/// forms (login, logout, stopping an imitation): a browser on another site
/// could otherwise post them, signing the victim in to the attacker's
/// account (login CSRF) or out of their own. Browsers say where a request
/// comes from: `Sec-Fetch-Site` (same-origin, or none for what the user
/// did themself) and, on every POST, `Origin`, whose host must be this
/// request's `Host`. A client that sends neither is no browser, and no
/// browser can be made to send its cookie through it. The login-as-customer
/// form is not among these: the administration posts it from its own
/// origin, and the one-time token is its protection.
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        let refused = || {
            HttpError::new(
                ErrorCode::CrossSiteRequest,
                "This form may only be sent from this storefront's own pages.",
            )
        };
        if let Some(site) = header(&parts.headers, "sec-fetch-site") {
            return match site {
                "same-origin" | "none" => Ok(SameOrigin),
                _ => Err(refused()),
            };
        }
        let Some(origin) = header(&parts.headers, http::header::ORIGIN.as_str()) else {
            return Ok(SameOrigin);
        };
        let host = header(&parts.headers, http::header::HOST.as_str())
            .or_else(|| parts.uri.authority().map(|authority| authority.as_str()));
        let origin_host = origin.parse::<http::Uri>().ok().and_then(|uri| {
            uri.authority()
                .map(|authority| authority.as_str().to_ascii_lowercase())
        });
        match (origin_host, host) {
            (Some(origin), Some(host)) if origin == host.to_ascii_lowercase() => Ok(SameOrigin),
            _ => Err(refused()),
        }
    }
}

/// The header that states why an impersonation starts, on the routes that
/// issue tokens by GET. Not the query string: URLs end up in access logs.
pub const REASON_HEADER: &str = "x-impersonation-reason";

/// The `X-Impersonation-Reason` header: UTF-8 text, absent means none.
/// Its content is checked by the token issuer against the policy.
///
/// Browsers send header values as Latin-1 only, so a reason in German or
/// any other script also comes as an RFC 8187 value: `UTF-8''` followed by
/// the percent-encoded UTF-8 bytes (`UTF-8''Pr%C3%BCfung`).
pub struct StatedReason(pub String);

/// The RFC 8187 `ext-value` prefix of a percent-encoded UTF-8 reason.
const EXT_VALUE_PREFIX: &str = "utf-8''";

impl<S: Send + Sync> FromRequestParts<S> for StatedReason {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        let Some(value) = parts.headers.get(REASON_HEADER) else {
            return Ok(StatedReason(String::new()));
        };
        let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
            HttpError::new(
                ErrorCode::InvalidReason,
                "The X-Impersonation-Reason header is not UTF-8 text.",
            )
        })?;
        let text = match text.get(..EXT_VALUE_PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(EXT_VALUE_PREFIX) => {
                percent_encoding::percent_decode_str(&text[EXT_VALUE_PREFIX.len()..])
                    .decode_utf8()
                    .map_err(|_| {
                        HttpError::new(
                            ErrorCode::InvalidReason,
                            "The X-Impersonation-Reason header's UTF-8'' value is not percent-encoded UTF-8.",
                        )
                    })?
            }
            _ => text.into(),
        };
        Ok(StatedReason(text.trim().to_owned()))
    }
}

/// The `sw-context-token` header, when present.
pub struct ContextToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ContextToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        Ok(ContextToken(
            header(&parts.headers, CONTEXT_TOKEN_HEADER).map(str::to_owned),
        ))
    }
}

/// Looks up a storefront context, checks it belongs to `channel` and may
/// do what `intent` asks ([`guard::check`]).
pub async fn customer_context(
    state: &AppState,
    token: Option<String>,
    channel: Option<SalesChannelId>,
    intent: &Intent,
) -> Result<(String, SessionContext), HttpError> {
    let (token, context) = store_context(state, token, channel, intent).await?;
    // The storefront's cookie only ever holds a customer's session.
    if context.guest {
        return Err(HttpError(actas_shared::ApiError::unauthorized()));
    }
    Ok((token, context))
}

/// A guest holds a context but is nobody: what needs a customer says so
/// (Shopware's answer), instead of calling the token unknown.
pub fn not_logged_in() -> HttpError {
    HttpError::new(
        ErrorCode::CustomerNotLoggedIn,
        "This needs a signed-in customer; the context is a guest's.",
    )
}

/// The Store API context behind `token` on `channel`: a customer's
/// session or a guest context (`guest`), checked against `intent`.
pub async fn store_context(
    state: &AppState,
    token: Option<String>,
    channel: Option<SalesChannelId>,
    intent: &Intent,
) -> Result<(String, SessionContext), HttpError> {
    let token = token.ok_or_else(|| HttpError(actas_shared::ApiError::unauthorized()))?;
    let context = context_of(state, &token, true).await?;
    let is_customer = PrincipalKind::from_proto(context.principal_kind) == Some(PrincipalKind::Customer);
    let same_channel = channel.is_none_or(|channel| context.sales_channel_id == channel.to_string());
    if !(is_customer || context.guest) || !same_channel {
        return Err(HttpError(actas_shared::ApiError::unauthorized()));
    }
    guard::admit(intent, &token, &context)?;
    Ok((token, context))
}

/// Who sent the request, for the audit record.
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy
/// (the ones to its left are the client's word, not the proxies').
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

impl<S> FromRequestParts<S> for Client
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let trusted = AppState::from_ref(state).trusted_proxies;
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| client_ip(info.0.ip(), &parts.headers, &trusted).to_string())
            .unwrap_or_default();
        let user_agent = header(&parts.headers, http::header::USER_AGENT.as_str())
            // Kept in the trail: nothing in it may forge a line (a tab is
            // the one control character a header value can hold).
            .map(|agent| {
                agent
                    .chars()
                    .map(|c| {
                        if actas_shared::reason::forges_lines(c) {
                            ' '
                        } else {
                            c
                        }
                    })
                    .take(512)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Client { ip, user_agent })
    }
}
