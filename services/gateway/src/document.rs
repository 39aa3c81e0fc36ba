//! The OpenAPI 3.1 document of the gateway, generated from the code: the
//! route table ([`crate::routes::table`]) registers each handler with its
//! `#[utoipa::path]`, the bodies are the types the handlers read
//! ([`crate::extract::Body`]) and answer, and each route's failures are the
//! [`actas_shared::ErrorCode`]s its `errors!` list names (see
//! [`crate::openapi`]). Served at `GET /api/openapi.json`;
//! `services/gateway/openapi.json` is the same document checked in, for
//! readers and tools (a test keeps the two equal).

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, ContentBuilder, RefOr, Required,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

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
        crate::error::ErrorCodes,
        crate::openapi::Id,
        crate::openapi::ShopwareId,
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

/// The document, as `GET /api/openapi.json` serves it.
pub fn document() -> openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let routes = crate::routes::table()
        .routes(utoipa_axum::routes!(serve))
        .split_for_parts()
        .1;
    document.merge(routes);
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
    fn the_checked_in_openapi_json_is_the_generated_document() {
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
}
