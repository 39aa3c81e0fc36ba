//! The OpenAPI 3.1 document of the gateway, generated from the code: the
//! route table ([`crate::app::routes`]) registers each handler with its
//! `#[utoipa::path]`, the bodies are the types the handlers read
//! ([`crate::extract::Body`]) and answer, and each route's failures are the
//! [`ErrorCode`]s its `errors!` list names, each with the status
//! [`crate::error::http_status`] gives it. Served at `GET /api/openapi.json`;
//! `services/gateway/openapi.json` is the same document checked in, for
//! readers and tools (a test keeps the two equal).

use std::collections::BTreeMap;

use actas_shared::ErrorCode;
use serde_json::json;
use utoipa::{
    Modify, OpenApi, PartialSchema, ToSchema,
    openapi::{
        self, ContentBuilder, HeaderBuilder, Ref, RefOr, Required, ResponseBuilder,
        schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::http_status;

/// What the document says before any route.
const DESCRIPTION: &str = "The HTTP API of `actas-gateway`: Shopware-compatible login-as-customer (admin API, Store API, storefront), the public (coworker) API with team impersonation, and the operator API.

Errors use Shopware's envelope (`ErrorEnvelope`) with stable codes. Every route can also answer 503 `FRAMEWORK__SERVICE_UNAVAILABLE` when the request outlives its 15 s deadline; an unknown path answers 404 `FRAMEWORK__ROUTE_NOT_FOUND` and a known path with another method 405 `FRAMEWORK__METHOD_NOT_ALLOWED`. 401 answers carry `WWW-Authenticate: Bearer`. Request bodies are limited to 64 KiB (larger: 400 `FRAMEWORK__INVALID_REQUEST_BODY`) and must arrive within 10 s of being read (`ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`; slower: 408 `FRAMEWORK__REQUEST_TIMEOUT`). Text holding a control character, a Unicode line or paragraph separator or a bidirectional control is refused: in a body with 400 `FRAMEWORK__INVALID_REQUEST_BODY` (passwords refuse control characters only), in a query or path parameter with 400 `FRAMEWORK__INVALID_REQUEST_PARAMETER`, which also answers a query parameter that is repeated, malformed or of the wrong type.

Ids: requests accept Shopware's form (32 hex digits) and the dashed form; responses use Shopware's form.

Demo values (`cargo run --bin actas-dev`): admin `admin@example.com` / `admin-demo-password`; customer alice `018f8d3a5e007000800000000000c001`; sales channel Storefront EU `018f8d3a5e0070008000000000000e01`, access key `SWSCDEMOEU0000000000000000`; operator `ops@example.com` (`018f8d3a5e007000800000000000f001`).";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "actas gateway",
        description = DESCRIPTION,
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8080", description = "actas-dev")),
    tags(
        (name = "admin", description = "Admin API (Shopware)"),
        (name = "store-api", description = "Store API (headless storefront clients)"),
        (name = "storefront", description = "Storefront pages and forms"),
        (name = "pages", description = "The administration page and the pages' assets."),
        (name = "public", description = "Public (coworker) API"),
        (name = "operator", description = "Operator API"),
        (name = "probes", description = "Health probes"),
        (name = "meta", description = "This document, and the public keys that verify impersonation tokens"),
    ),
    components(schemas(
        crate::error::ErrorEnvelope,
        ErrorCodes,
        Id,
        ShopwareId,
        crate::ui::Lang,
        crate::ui::AssetName,
        crate::routes::storefront::Flag,
    )),
    modifiers(&Schemes),
)]
pub struct ApiDoc;

/// How callers authenticate, named by each route's `security(..)`.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)))
        };
        let schemes = [
            (
                "adminBearer",
                bearer("An admin session from `POST /api/oauth/token`."),
            ),
            (
                "publicBearer",
                bearer(
                    "A customer's public session from `POST /api/public/auth/login` or `POST /api/public/auth/login/{token}` (not a storefront context token).",
                ),
            ),
            (
                "operatorBearer",
                bearer("An operator session from `POST /api/sys/auth/login`."),
            ),
            (
                "accessKey",
                header(
                    "sw-access-key",
                    "The sales channel's access key, e.g. `SWSCDEMOEU0000000000000000`.",
                ),
            ),
            (
                "contextToken",
                header(
                    crate::extract::CONTEXT_TOKEN_HEADER,
                    "A storefront context token of a customer on the same sales channel.",
                ),
            ),
            (
                "storefrontCookie",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    crate::routes::storefront::COOKIE,
                    "The storefront session cookie set by `POST /account/login/imitate-customer`.",
                ))),
            ),
        ];
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
        }
    }
}

/// Every body is read by [`crate::extract::BodyObject`], which takes an
/// HTML form as well as JSON: each JSON body is offered as a form too.
struct FormBodies;

/// The form type of [`FormBodies`].
const FORM: &str = "application/x-www-form-urlencoded";

impl Modify for FormBodies {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.get,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
                    continue;
                };
                body.required = Some(Required::True);
                if let Some(RefOr::T(json)) = body.content.get("application/json").cloned() {
                    body.content
                        .entry(FORM.to_owned())
                        .or_insert_with(|| RefOr::T(ContentBuilder::new().schema(json.schema).build()));
                    body.description.get_or_insert_with(|| {
                        "Also accepted as `application/x-www-form-urlencoded` (every field a string). Any other content type is parsed as JSON.".to_owned()
                    });
                }
            }
        }
    }
}

/// `components.schemas.ErrorCode`: every stable code, from [`ErrorCode::ALL`].
pub struct ErrorCodes;

impl PartialSchema for ErrorCodes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The stable error codes (see README's error table)."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCodes {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
}

/// A UUID as requests may send it (`components.schemas.Id`).
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A UUID. Requests accept Shopware's form (32 hex digits, no dashes) and the dashed form (8-4-4-4-12); responses always use Shopware's form, lower case.",
            ))
            .pattern(Some(
                "^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
            ))
            .examples(["018f8d3a5e007000800000000000c001", "018f8d3a-5e00-7000-8000-00000000c001"])
            .into()
    }
}

impl ToSchema for Id {}

/// A UUID as answers carry it (`components.schemas.ShopwareId`).
pub struct ShopwareId;

impl PartialSchema for ShopwareId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A UUID in Shopware's form: 32 lower-case hex digits, no dashes.",
            ))
            .pattern(Some("^[0-9a-f]{32}$"))
            .examples(["018f8d3a5e007000800000000000c001"])
            .into()
    }
}

impl ToSchema for ShopwareId {}

/// What a code means on most routes; a route's `errors!` list may say
/// more precisely what it means there.
fn usual_meaning(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequestBody => {
            "the body is unreadable, malformed, not a JSON object, or a field has the wrong type"
        }
        ErrorCode::MissingParameter => "a required field is missing or blank",
        ErrorCode::UnsupportedGrantType => "grant_type is neither `password` nor `refresh_token`",
        ErrorCode::AdminBadCredentials => {
            "wrong username or password, or a refresh token that is unknown, used, or whose session ended"
        }
        ErrorCode::Internal => "an unexpected downstream answer",
        ErrorCode::Unavailable => {
            "a downstream service is down or slow, or the request outlived its 15 s deadline"
        }
        ErrorCode::Unauthorized => {
            "missing, invalid or expired bearer or context token, or one of another kind of principal"
        }
        ErrorCode::InvalidUuid => "an id is not a UUID",
        ErrorCode::ReasonRequired => "no reason while `ACTAS_REQUIRE_REASON` is on",
        ErrorCode::InvalidReason => "a reason is at most 500 characters of text, without control characters",
        ErrorCode::MissingPrivilege => {
            "the actor lacks the privilege; `meta.parameters.missingPrivileges` lists it"
        }
        ErrorCode::CustomerInactive => "the customer is inactive",
        ErrorCode::CustomerIsGuest => "the customer is a guest",
        ErrorCode::CustomerNotInSalesChannel => "the customer is not bound to the sales channel",
        ErrorCode::ImpersonationNotAllowed => "the rules do not allow this actor to act as this target",
        ErrorCode::ImpersonationChain => "the caller's session is itself an impersonation",
        ErrorCode::ImpersonationDisabled => "policy switched impersonation off for this sales channel",
        ErrorCode::CustomerNotFound => "no principal has this id",
        ErrorCode::SalesChannelNotFound => "no such sales channel",
        ErrorCode::TooManyRequests => {
            "this actor asked for more than `ACTAS_ISSUE_LIMIT_PER_MINUTE` tokens in a minute (per gateway replica); `Retry-After` says when to try again"
        }
        ErrorCode::CustomerBadCredentials => {
            "wrong email or password (also: inactive customer, or not on this sales channel)"
        }
        ErrorCode::InvalidRequestParameter => {
            "a query or path parameter is repeated, malformed, of the wrong type, or holds unusable characters"
        }
        ErrorCode::ImpersonationTokenRejected => "the token is used, expired, forged or revoked",
        ErrorCode::ProfileSwitchForbidden => {
            "not one of the person's profiles, or an impersonated team session leaving its profile"
        }
        ErrorCode::ImpersonationOptedOut => "the member refused their team administrators",
        ErrorCode::InvalidLimit | ErrorCode::InvalidPage => "out of range",
        ErrorCode::ForbiddenWhileImpersonating => "the bearer is itself an impersonation",
        ErrorCode::InvalidAccessKey => "`sw-access-key` missing or unknown",
        ErrorCode::InvalidImpersonationToken => {
            "the token is invalid, expired, reused, tampered or does not match customer, admin or sales channel (one code for all)"
        }
        ErrorCode::CustomerNotLoggedIn => "the context is a guest's, not a customer's",
        ErrorCode::ReadOnlyImpersonation => "an impersonation under a read-only policy changes nothing",
        ErrorCode::CrossSiteRequest => {
            "the form was posted from another site (`Sec-Fetch-Site` other than same-origin or none, or an `Origin` whose host is not this request's `Host`); nothing was changed"
        }
        ErrorCode::RouteNotFound => "no route matches this path",
        ErrorCode::InvalidPolicyScope => "the scope is not `sales_channel:<id>` or `team:<id>`",
        ErrorCode::PolicyScopeNotFound => "no sales channel or team has this id",
        ErrorCode::DeactivationNotAllowed => {
            "the principal holds rights the actor does not, the same rights, or is the actor"
        }
        ErrorCode::NotImpersonating => "the session is its principal's own, not an impersonation",
        ErrorCode::InvalidActionRecord => {
            "an action name, detail or outcome is too long or holds unusable characters"
        }
        ErrorCode::RequestTimeout => "the body did not arrive within `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`",
        ErrorCode::MethodNotAllowed => "the path does not take this method",
    }
}

/// The failure answers of a route: one response per status, listing the
/// codes the route answers with it (an `enum` over the envelope's `code`),
/// what each means there, and an example of each. 401 answers carry
/// `WWW-Authenticate`, 429 answers `Retry-After`.
pub fn error_responses(errors: &[(ErrorCode, Option<&str>)]) -> BTreeMap<String, RefOr<openapi::Response>> {
    let mut by_status: BTreeMap<u16, Vec<(ErrorCode, &str)>> = BTreeMap::new();
    for &(code, meaning) in errors {
        by_status
            .entry(http_status(code).as_u16())
            .or_default()
            .push((code, meaning.unwrap_or_else(|| usual_meaning(code))));
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let http = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let description = codes
                .iter()
                .map(|(code, meaning)| format!("`{code}`: {meaning}"))
                .collect::<Vec<_>>()
                .join("; ");
            let schema = AllOfBuilder::new()
                .item(Ref::from_schema_name("ErrorEnvelope"))
                .item(
                    ObjectBuilder::new().schema_type(SchemaType::AnyValue).property(
                        "errors",
                        ArrayBuilder::new().items(
                            ObjectBuilder::new().schema_type(SchemaType::AnyValue).property(
                                "code",
                                ObjectBuilder::new()
                                    .schema_type(SchemaType::AnyValue)
                                    .enum_values(Some(codes.iter().map(|(code, _)| code.as_str()))),
                            ),
                        ),
                    ),
                );
            let examples = codes.iter().map(|(code, meaning)| {
                let value = json!({ "errors": [{
                    "status": status.to_string(),
                    "code": code.as_str(),
                    "title": http.canonical_reason().unwrap_or("Error"),
                    "detail": sentence(meaning),
                }]});
                (
                    code.as_str(),
                    openapi::example::ExampleBuilder::new().value(Some(value)).build(),
                )
            });
            let content = ContentBuilder::new()
                .schema(Some(schema))
                .examples_from_iter(examples)
                .build();
            let mut response = ResponseBuilder::new()
                .description(format!("{description}."))
                .content("application/json", content);
            if status == 401 {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["Bearer"])),
                        ))
                        .description(Some("Always `Bearer` on a 401."))
                        .build(),
                );
            }
            if status == 429 {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)),
                        ))
                        .description(Some("Seconds until a request would be allowed again."))
                        .build(),
                );
            }
            (status.to_string(), response.build().into())
        })
        .collect()
}

/// `meaning` as a sentence: capital first letter, full stop.
fn sentence(meaning: &str) -> String {
    let mut chars = meaning.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// Declares the failures of one route as a type for its `responses(..)`:
/// `errors!(Name { Code, Other => "what it means here", .. })`.
macro_rules! errors {
    ($name:ident { $($code:ident $(=> $meaning:literal)?),+ $(,)? }) => {
        #[doc = concat!("The failures of one route: ", $(stringify!($code), " "),+)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::openapi::error_responses(&[
                    $((actas_shared::ErrorCode::$code, errors!(@meaning $($meaning)?))),+
                ])
            }
        }
    };
    (@meaning) => { None };
    (@meaning $meaning:literal) => { Some($meaning) };
}
pub(crate) use errors;

/// The document, as `GET /api/openapi.json` serves it.
pub fn document() -> openapi::OpenApi {
    let mut document = crate::app::routes().split_for_parts().1;
    // After the routes are in: `ApiDoc`'s own modifiers run before.
    FormBodies.modify(&mut document);
    document
}

/// The served document, generated at the first request.
static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapiDocument",
    summary = "This OpenAPI document",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document describing the gateway's routes.", body = serde_json::Value),
    ),
)]
pub async fn serve() -> impl axum::response::IntoResponse {
    let document = DOCUMENT.get_or_init(|| document().to_json().unwrap_or_default());
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        document.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in `openapi.json` is what the code generates. Rewrite it
    /// with `ACTAS_WRITE_OPENAPI=1 cargo test -p actas-gateway --lib openapi`.
    #[test]
    fn the_checked_in_document_is_the_generated_one() {
        let generated = document().to_pretty_json().expect("the document serializes") + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("ACTAS_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("openapi.json is writable");
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "services/gateway/openapi.json differs from the generated document: run \
             ACTAS_WRITE_OPENAPI=1 cargo test -p actas-gateway --lib openapi"
        );
    }

    #[test]
    fn every_error_code_has_a_usual_meaning_that_reads_as_a_phrase() {
        for &code in ErrorCode::ALL {
            let meaning = usual_meaning(code);
            assert!(!meaning.is_empty() && !meaning.ends_with('.'), "{code}");
        }
    }
}
