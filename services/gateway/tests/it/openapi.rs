//! The OpenAPI document the gateway generates from its route table: what
//! it promises for every operation, and that the served and checked-in
//! copies are that document.

use serde_json::Value;

const CHECKED_IN: &str = include_str!("../../openapi.json");
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];
const ERROR_ENVELOPE: &str = "#/components/schemas/ErrorEnvelope";

/// Operations without a JSON error answer: probes, this document, HTML pages.
const NO_ENVELOPE_NEEDED: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/openapi.json",
    "/account",
    "/account/login",
    "/account/logout",
    "/account/login/imitate-customer",
    "/account/imitation/stop",
    "/admin",
    "/portal",
    "/operator",
    "/assets/{file}",
];

fn spec() -> Value {
    serde_json::to_value(actas_gateway::document::document()).expect("the document serializes")
}

fn spec_routes(spec: &Value) -> Vec<(String, String)> {
    let paths = spec["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            METHODS
                .iter()
                .filter(|method| item.contains_key(**method))
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn references_error_envelope(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("$ref").and_then(Value::as_str) == Some(ERROR_ENVELOPE)
                || map.values().any(references_error_envelope)
        }
        Value::Array(items) => items.iter().any(references_error_envelope),
        _ => false,
    }
}

#[test]
fn openapi_document_is_version_3_1() {
    let spec = spec();
    let version = spec["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3.1"), "openapi is {version}");
    assert!(spec["components"]["schemas"]["ErrorEnvelope"].is_object());
}

#[test]
fn the_document_has_the_routes_users_call() {
    let routes = spec_routes(&spec());
    let has = |method: &str, path: &str| routes.contains(&(method.to_owned(), path.to_owned()));
    assert!(has("GET", "/store-api/context"), "{routes:?}");
    assert!(has("PATCH", "/store-api/context"), "{routes:?}");
    assert!(has("GET", "/healthz"), "{routes:?}");
    assert!(has("POST", "/api/public/auth/login/{token}"), "{routes:?}");
    assert!(has("GET", "/api/openapi.json"), "{routes:?}");
    assert!(has("GET", "/api/public/coworkers/team"), "{routes:?}");
    assert!(has("POST", "/api/public/auth/logout"), "{routes:?}");
    assert!(has("GET", "/portal"), "{routes:?}");
    assert!(has("GET", "/operator"), "{routes:?}");
    assert!(has("POST", "/api/sys/search/user"), "{routes:?}");
    assert_eq!(routes.len(), 53, "{routes:?}");
}

#[test]
fn every_operation_documents_success_and_errors() {
    let spec = spec();
    for (method, path) in spec_routes(&spec) {
        let operation = &spec["paths"][&path][method.to_lowercase()];
        let what = format!("{method} {path}");
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: no summary"
        );
        assert!(operation["security"].is_array(), "{what}: no security");
        let responses = operation["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status.starts_with('3')),
            "{what}: no 2xx or 3xx response"
        );
        if NO_ENVELOPE_NEEDED.contains(&path.as_str()) {
            continue;
        }
        let has_error = responses.iter().any(|(status, response)| {
            (status.starts_with('4') || status.starts_with('5')) && references_error_envelope(response)
        });
        assert!(has_error, "{what}: no 4xx/5xx response with ErrorEnvelope");
        assert!(
            responses.get("503").is_some_and(references_error_envelope),
            "{what}: calls downstream, so 503 FRAMEWORK__SERVICE_UNAVAILABLE belongs"
        );
    }
}

#[test]
fn the_handler_serves_the_document_as_json_and_the_checked_in_copy_is_it() {
    use axum::response::IntoResponse as _;

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let response = runtime.block_on(actas_gateway::document::serve()).into_response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = runtime
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("the body");
    let served: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(served, spec());
    let checked_in: Value = serde_json::from_str(CHECKED_IN).expect("openapi.json is JSON");
    assert_eq!(
        checked_in, served,
        "regenerate openapi.json (see actas_gateway::openapi)"
    );
}

/// The enumerations the code owns are the document's, word for word: an
/// error code or an audit kind added in code and not here fails this.
#[test]
fn the_documented_error_codes_and_audit_kinds_are_the_codes() {
    let spec = spec();
    let words = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .expect("an enum")
            .iter()
            .map(|word| word.as_str().expect("a string").to_owned())
            .collect()
    };
    let codes: Vec<String> = actas_shared::ErrorCode::ALL
        .iter()
        .map(|code| code.as_str().to_owned())
        .collect();
    assert_eq!(words(&spec["components"]["schemas"]["ErrorCode"]["enum"]), codes);
    let kinds: Vec<String> = actas_shared::proto::AuditKind::ALL
        .iter()
        .map(|kind| kind.as_str().to_owned())
        .collect();
    assert_eq!(words(&spec["components"]["schemas"]["AuditKind"]["enum"]), kinds);
}

/// The guard's lists name routes the table serves, with their methods.
#[test]
fn every_listed_route_is_a_documented_route_and_method() {
    let document: Value =
        serde_json::to_value(actas_gateway::document::document()).expect("the OpenAPI document");
    let listed = actas_gateway::guard::SENSITIVE
        .iter()
        .map(|rule| (rule.method, rule.route))
        .chain(actas_gateway::guard::ENDS_IMPERSONATION.iter().copied());
    for (method, route) in listed {
        let documented = document["paths"][route][method.to_ascii_lowercase()].is_object();
        assert!(documented, "{method} {route} is listed but is no route");
    }
}
