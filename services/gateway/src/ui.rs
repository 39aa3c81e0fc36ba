//! The pages' shared machinery: snippet files per language, the language a
//! request gets, server-rendered templates, and the headers every page
//! carries. Templates and snippets are compiled into the binary, so a
//! gateway needs no files beside it.

use std::{collections::HashMap, sync::LazyLock};

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Response},
};
use minijinja::{Environment, State, Value, value::Kwargs};
use serde_json::Value as Json;

use crate::openapi::errors;

/// The languages pages are offered in; the first is the fallback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, utoipa::ToSchema)]
pub enum Lang {
    #[schema(rename = "en-GB")]
    EnGb,
    #[schema(rename = "de-DE")]
    DeDe,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::EnGb, Lang::DeDe];

    pub fn code(self) -> &'static str {
        match self {
            Lang::EnGb => "en-GB",
            Lang::DeDe => "de-DE",
        }
    }

    /// The language's name in itself, for the switch.
    fn label(self) -> &'static str {
        match self {
            Lang::EnGb => "English",
            Lang::DeDe => "Deutsch",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::EnGb => include_str!("../snippets/en-GB.json"),
            Lang::DeDe => include_str!("../snippets/de-DE.json"),
        }
    }

    /// `de-DE`, `de`, `DE-at`... by the primary subtag.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::EnGb),
            "de" => Some(Lang::DeDe),
            _ => None,
        }
    }

    /// The best offered language of an `Accept-Language` header, by q-value.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            if let (Some(lang), Some(quality)) = (Lang::parse(tag), quality)
                && quality > 0.0
                && best.is_none_or(|(_, q)| quality > q)
            {
                best = Some((lang, quality));
            }
        }
        best.map(|(lang, _)| lang)
    }
}

/// One language's snippets: the tree (for the admin page's script) and the
/// same texts by dotted key (for templates).
pub struct Snippets {
    tree: Json,
    flat: HashMap<String, String>,
}

fn flatten(prefix: &str, value: &Json, into: &mut HashMap<String, String>) {
    match value {
        Json::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, child, into);
            }
        }
        Json::String(text) => {
            into.insert(prefix.to_owned(), text.clone());
        }
        _ => {}
    }
}

impl Snippets {
    fn load(lang: Lang) -> Snippets {
        // The files are part of the binary and checked by tests; a broken
        // one renders keys instead of texts rather than taking pages down.
        let tree: Json = serde_json::from_str(lang.source()).unwrap_or_else(|error| {
            tracing::error!(lang = lang.code(), %error, "snippet file is not JSON");
            Json::Object(Default::default())
        });
        let mut flat = HashMap::new();
        flatten("", &tree, &mut flat);
        Snippets { tree, flat }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.flat.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flat.keys().map(String::as_str)
    }

    /// The tree as JSON that is safe inside a `<script>` element: no `<`
    /// (so no `</script>`), no `&`, no line separators.
    pub fn script_json(&self) -> String {
        self.tree
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    }
}

static SNIPPETS: LazyLock<[Snippets; 2]> = LazyLock::new(|| Lang::ALL.map(Snippets::load));

pub fn snippets(lang: Lang) -> &'static Snippets {
    &SNIPPETS[match lang {
        Lang::EnGb => 0,
        Lang::DeDe => 1,
    }]
}

/// The page templates, by name.
pub const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("../templates/base.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("portal.html", include_str!("../templates/portal.html")),
    ("operator.html", include_str!("../templates/operator.html")),
    ("console.html", include_str!("../templates/console.html")),
    (
        "history_head.html",
        include_str!("../templates/history_head.html"),
    ),
];

/// `t("key", name=value...)`: the snippet of the page's language with each
/// `{name}` replaced; the output is escaped like any other value. A missing
/// key renders as the key (tests fail on that, pages do not).
fn translate(state: &State, key: &str, params: Kwargs) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .and_then(|value| value.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::EnGb);
    let mut text = snippets(lang).get(key).unwrap_or(key).to_owned();
    for name in params.args() {
        let value: Value = params.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

static TEMPLATE_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(template = name, %error, "template does not compile");
        }
    }
    env.add_function("t", translate);
    env
});

/// Pages run no third-party code and post forms only to storefront
/// domains; nobody frames them (clickjacking the impersonation button).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'";

/// The cookie that remembers a language picked with `?lang=`.
const LANG_COOKIE: &str = "actas-lang";

/// The language of this request: `?lang=` first (and remembered in a
/// cookie), then that cookie, then `Accept-Language`, then en-GB.
#[derive(Clone, Copy, Debug)]
pub struct Locale {
    pub lang: Lang,
    /// Picked by `?lang=` on this request: the response sets the cookie.
    chosen: bool,
}

/// A cookie's value from the request's `Cookie` headers; empty counts as absent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let picked = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .find(|(key, _)| key == "lang")
            .and_then(|(_, value)| Lang::parse(&value));
        if let Some(lang) = picked {
            return Ok(Locale { lang, chosen: true });
        }
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .and_then(Lang::parse)
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::EnGb);
        Ok(Locale { lang, chosen: false })
    }
}

/// A rendered page: the template, its language and its own context.
pub struct Page {
    pub template: &'static str,
    pub title_key: &'static str,
    pub context: Value,
}

impl Page {
    pub fn render(self, locale: Locale) -> Response {
        let languages: Vec<Value> = Lang::ALL
            .iter()
            .map(|lang| {
                minijinja::context! {
                    code => lang.code(),
                    label => lang.label(),
                    current => *lang == locale.lang,
                }
            })
            .collect();
        let context = minijinja::context! {
            lang => locale.lang.code(),
            languages => languages,
            title_key => self.title_key,
            ..self.context
        };
        let rendered = TEMPLATE_ENV
            .get_template(self.template)
            .and_then(|template| template.render(context));
        let html = match rendered {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(template = self.template, %error, "page did not render");
                return crate::error::HttpError(actas_shared::ApiError::internal()).into_response();
            }
        };
        let mut response = Html(html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
        if locale.chosen
            && let Ok(cookie) = HeaderValue::from_str(&format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                locale.lang.code()
            ))
        {
            headers.append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// A page whose script reads its texts from the snippets of its language
/// (the admin page, the portal).
pub fn scripted_page(template: &'static str, title_key: &'static str, locale: Locale) -> Response {
    Page {
        template,
        title_key,
        context: minijinja::context! {
            snippets_json => snippets(locale.lang).script_json(),
        },
    }
    .render(locale)
}

/// The pages' assets: name, body, content type.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "admin.js",
        include_str!("../assets/admin.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "console.js",
        include_str!("../assets/console.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "history.js",
        include_str!("../assets/history.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "operator.js",
        include_str!("../assets/operator.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "page.js",
        include_str!("../assets/page.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "portal.js",
        include_str!("../assets/portal.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "actas.css",
        include_str!("../assets/actas.css"),
        "text/css; charset=utf-8",
    ),
];

/// The names of [`ASSETS`], for the OpenAPI document.
pub struct AssetName;

impl utoipa::PartialSchema for AssetName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(ASSETS.iter().map(|(name, _, _)| *name)))
            .into()
    }
}

impl utoipa::ToSchema for AssetName {}

errors!(AssetErrors {
    InvalidRequestParameter,
    RouteNotFound,
});
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "pages",
    operation_id = "asset",
    summary = "The pages' script and stylesheet",
    security(()),
    params(
        ("file" = AssetName, Path, description = "The asset's file name.")
    ),
    responses(
        (status = 200, description = "The file.", content((String = "text/javascript"), (String = "text/css"))),
        AssetErrors,
    ),
)]
/// `GET /assets/{file}`: the pages' script and stylesheet.
pub async fn asset(crate::extract::Path(file): crate::extract::Path<String>) -> Response {
    let Some(&(_, body, kind)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return crate::error::HttpError::new(
            actas_shared::ErrorCode::RouteNotFound,
            "No asset has this name.",
        )
        .into_response();
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}
