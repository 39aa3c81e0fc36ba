//! `services/gateway/openapi.json` describes exactly the routes the router
//! serves (read from `app.rs` as text: the router is not introspectable),
//! and documents each operation's answers.

use std::collections::BTreeSet;

use serde_json::Value;

const SPEC: &str = include_str!("../../openapi.json");
const APP_RS: &str = include_str!("../../src/app.rs");
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
    "/assets/{file}",
];

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("openapi.json is valid JSON")
}

/// Skips a string literal starting at `chars[i] == '"'`; returns the index after it.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    i += 1;
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Every `.route("PATH", get(..).patch(..))` of `source`, as (METHOD, PATH).
fn router_routes(source: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (start, _) in source.match_indices(".route(") {
        let chars: Vec<char> = source[start + ".route(".len()..].chars().collect();
        let mut i = 0;
        while chars[i].is_whitespace() {
            i += 1;
        }
        assert_eq!(chars[i], '"', "a .route( whose path is not a string literal");
        let end = skip_string(&chars, i);
        let path: String = chars[i + 1..end - 1].iter().collect();
        i = end;
        // The method router: identifiers followed by `(` at depth 0, first
        // or after a `.` (`get(a).patch(b)`), until `.route(`'s own `)`.
        let mut depth = 0usize;
        let mut found = 0;
        while i < chars.len() {
            match chars[i] {
                '"' => {
                    i = skip_string(&chars, i);
                    continue;
                }
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' if depth == 0 => break,
                ')' | '}' | ']' => depth -= 1,
                c if depth == 0 && c.is_ascii_alphabetic() => {
                    let word_end = (i..chars.len())
                        .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                        .unwrap_or(chars.len());
                    let word: String = chars[i..word_end].iter().collect();
                    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
                    if METHODS.contains(&word.as_str())
                        && chars.get(word_end) == Some(&'(')
                        && matches!(before, Some(',' | '.'))
                    {
                        routes.insert((word.to_uppercase(), path.clone()));
                        found += 1;
                    }
                    i = word_end;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        assert!(found > 0, "no method found for route {path}");
    }
    routes
}

fn spec_routes(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            METHODS
                .iter()
                .chain(&["head", "options", "trace"])
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
fn the_route_parser_reads_the_router() {
    let routes = router_routes(APP_RS);
    let has = |method: &str, path: &str| routes.contains(&(method.to_owned(), path.to_owned()));
    assert!(has("GET", "/store-api/context"), "{routes:?}");
    assert!(
        has("PATCH", "/store-api/context"),
        "chained .patch( missed: {routes:?}"
    );
    assert!(has("GET", "/healthz"), "{routes:?}");
    assert!(has("POST", "/api/public/auth/login/{token}"), "{routes:?}");
    assert!(has("GET", "/api/openapi.json"), "{routes:?}");
    assert!(!routes.iter().any(|(_, path)| path.is_empty()), "{routes:?}");
}

#[test]
fn openapi_paths_match_the_router() {
    let router = router_routes(APP_RS);
    let documented = spec_routes(&spec());
    let undocumented: Vec<_> = router.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&router).collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "openapi.json and the router differ:\n  served but not documented: {undocumented:?}\n  documented but not served: {not_served:?}"
    );
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
fn the_handler_serves_the_document_as_json() {
    use axum::response::IntoResponse as _;

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let response = runtime
        .block_on(actas_gateway::routes::openapi::document())
        .into_response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(actas_gateway::routes::openapi::DOCUMENT, SPEC);
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
    assert_eq!(
        words(&spec["components"]["schemas"]["AuditRecord"]["properties"]["kind"]["enum"]),
        kinds
    );
}
