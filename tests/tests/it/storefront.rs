//! Storefront: the form target sets the session cookie and redirects; the
//! account page shows who is acting; a failed exchange lands on the login
//! page with `loginError=true`.

use actas_permission::seed;
use reqwest::StatusCode;

use crate::helpers::{TestSystem, assert_error, simple};

fn form(token: &str, customer: &str, user: &str) -> String {
    format!("token={token}&customerId={customer}&userId={user}")
}

/// What the admin page's hidden form posts to the storefront.
async fn post_imitation_form(system: &TestSystem, body: String) -> reqwest::Response {
    system
        .http
        .post(system.url("/account/login/imitate-customer"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_form_logs_the_admin_in_and_the_account_page_shows_the_banner() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let response =
        post_imitation_form(&system, form(&token, &simple(seed::ALICE), &simple(seed::ADMIN))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("actas-context="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "not Secure unless configured: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    let account = system
        .http
        .get(system.url("/account"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), StatusCode::OK);
    let page = account.text().await.unwrap();
    assert!(page.contains("imitation-banner"), "{page}");
    assert!(page.contains("Ada Admin is acting as Alice Example"), "{page}");

    // Stop ends this session only.
    let stop = system
        .http
        .post(system.url("/account/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), StatusCode::SEE_OTHER);
    assert!(
        stop.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = system
        .http
        .get(system.url("/account"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()["location"], "/account/login");
    system.stop().await;
}

#[tokio::test]
async fn a_failed_exchange_redirects_to_the_login_page_with_the_error() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    for body in [
        form("forged", &simple(seed::ALICE), &simple(seed::ADMIN)),
        form(&token, "0123456789abcdef0123456789abcdef", &simple(seed::ADMIN)),
        form(&token, "not-an-id", &simple(seed::ADMIN)),
        "customerId=1".to_owned(),
    ] {
        let response = post_imitation_form(&system, body).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/account/login?loginError=true");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let page = system
        .http
        .get(system.url("/account/login?loginError=true"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("login-error"), "{page}");
    system.stop().await;
}

/// The `actas-context=…` pair of a response's Set-Cookie.
fn session_of(response: &reqwest::Response) -> String {
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_login_form_signs_in_on_the_storefront_of_its_host() {
    let system = TestSystem::start().await;
    let port = system.sandbox().gateway.port();
    // Alice is bound to EU (127.0.0.1) and CH (localhost); bob to US only.
    let login = |host: String, email: &'static str, password: &'static str| {
        let http = system.http.clone();
        let url = system.url("/account/login");
        async move {
            http.post(url)
                .header("host", host)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("email={email}&password={password}"))
                .send()
                .await
                .unwrap()
        }
    };
    let alice = login(
        format!("localhost:{port}"),
        "alice%40example.com",
        "alice-demo-password",
    )
    .await;
    assert_eq!(alice.status(), StatusCode::SEE_OTHER);
    assert_eq!(alice.headers()["location"], "/account");
    let session = session_of(&alice);
    // The session is the CH storefront's: it is served on that host.
    let account = system
        .http
        .get(system.url("/account"))
        .header("host", format!("localhost:{port}"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let page = account.text().await.unwrap();
    assert!(
        page.contains("Alice Example") && !page.contains("imitation-banner"),
        "{page}"
    );

    for (host, email, password) in [
        (
            format!("localhost:{port}"),
            "bob%40example.com",
            "bob-demo-password",
        ),
        (format!("localhost:{port}"), "alice%40example.com", "wrong"),
        (format!("localhost:{port}"), "", ""),
    ] {
        let refused = login(host, email, password).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{email}");
        assert_eq!(
            refused.headers()["location"],
            "/account/login?credentialsError=true"
        );
        assert!(refused.headers().get("set-cookie").is_none());
    }
    let nowhere = login(
        "shop.invalid".into(),
        "alice%40example.com",
        "alice-demo-password",
    )
    .await;
    crate::helpers::assert_error(
        nowhere,
        StatusCode::NOT_FOUND,
        "FRAMEWORK__SALES_CHANNEL_NOT_FOUND",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn stop_ends_the_imitation_and_nothing_else() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let imitated =
        post_imitation_form(&system, form(&token, &simple(seed::ALICE), &simple(seed::ADMIN))).await;
    let imitated = session_of(&imitated);
    let own = system
        .http
        .post(system.url("/account/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=alice%40example.com&password=alice-demo-password")
        .send()
        .await
        .unwrap();
    let own = session_of(&own);
    let account_status = |session: String| {
        let request = system.http.get(system.url("/account")).header("cookie", session);
        async move { request.send().await.unwrap().status() }
    };
    let stop = |session: String| {
        let request = system
            .http
            .post(system.url("/account/imitation/stop"))
            .header("cookie", session);
        async move { request.send().await.unwrap() }
    };

    // Her own session is no imitation: stop leaves it be.
    let not_imitated = stop(own.clone()).await;
    assert_eq!(not_imitated.status(), StatusCode::SEE_OTHER);
    assert_eq!(not_imitated.headers()["location"], "/account");
    assert_eq!(account_status(own.clone()).await, StatusCode::OK);

    let stopped = stop(imitated.clone()).await;
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
    assert_eq!(stopped.headers()["location"], "/account/login");
    assert!(
        stopped.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(account_status(imitated.clone()).await, StatusCode::SEE_OTHER);
    assert_eq!(
        account_status(own).await,
        StatusCode::OK,
        "alice's own session lives on"
    );

    // Stopping again finds no session: to the login page.
    let ended = stop(imitated).await;
    assert_eq!(ended.headers()["location"], "/account/login");
    system.stop().await;
}

#[tokio::test]
async fn pages_carry_their_security_headers_and_language() {
    let system = TestSystem::start().await;
    let admin = system
        .http
        .get(system.url("/admin"))
        .header("accept-language", "de-CH, de;q=0.9, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
    let headers = admin.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let page = admin.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"de-DE\">"),
        "Accept-Language picks German"
    );
    assert!(!page.contains("<script>"), "no inline script");

    let chosen = system
        .http
        .get(system.url("/account/login?lang=en-GB"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert!(
        chosen.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("actas-lang=en-GB"),
        "the choice is remembered"
    );
    assert!(chosen.text().await.unwrap().contains("<html lang=\"en-GB\">"));
    let remembered = system
        .http
        .get(system.url("/account/login"))
        .header("accept-language", "de")
        .header("cookie", "actas-lang=en-GB")
        .send()
        .await
        .unwrap();
    assert!(remembered.text().await.unwrap().contains("<html lang=\"en-GB\">"));

    let script = system
        .http
        .get(system.url("/assets/admin.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let nothing = system
        .http
        .get(system.url("/assets/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), StatusCode::NOT_FOUND);
    let unknown = system
        .http
        .get(system.url("/assets/secrets.json"))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(unknown, StatusCode::NOT_FOUND, "FRAMEWORK__ROUTE_NOT_FOUND").await;
    system.stop().await;
}

/// The storefront's forms answer a browser with pages: a post without a
/// form body, or with one that is not a form, goes back to the login page
/// with its error, never to a JSON 400.
#[tokio::test]
async fn storefront_forms_without_a_form_body_redirect_to_the_login_page() {
    let system = TestSystem::start().await;
    for (path, location) in [
        ("/account/login", "/account/login?credentialsError=true"),
        (
            "/account/login/imitate-customer",
            "/account/login?loginError=true",
        ),
    ] {
        for (content_type, body) in [
            (None, ""),
            (Some("application/json"), "[1, 2]"),
            (Some("application/x-www-form-urlencoded"), "%zz=%"),
        ] {
            let mut request = system.http.post(system.url(path)).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} {body:?}");
            assert_eq!(response.headers()["location"], location, "{path} {body:?}");
            assert!(response.headers().get("set-cookie").is_none());
        }
    }
    system.stop().await;
}

/// A storefront accepts only tokens and sessions of the sales channel its
/// host names: a token for Storefront EU posted to Storefront CH's host
/// signs nobody in there, and an EU session is nobody on the CH host.
#[tokio::test]
async fn a_storefront_serves_only_tokens_and_sessions_of_its_own_channel() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let ch_host = format!("localhost:{}", system.sandbox().gateway.port());
    let post_to = |host: Option<String>, path: &'static str, body: String, cookie: Option<String>| {
        let mut request = system
            .http
            .post(system.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    // Alice is bound to both EU (127.0.0.1) and CH (localhost): only the
    // host tells which storefront the token was meant for.
    let token = system.alice_token(&admin).await;
    let elsewhere = post_to(
        Some(ch_host.clone()),
        "/account/login/imitate-customer",
        form(&token, &simple(seed::ALICE), &simple(seed::ADMIN)),
        None,
    )
    .await
    .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    assert_eq!(elsewhere.headers()["location"], "/account/login?loginError=true");
    assert!(elsewhere.headers().get("set-cookie").is_none());

    let token = system.alice_token(&admin).await;
    let here = post_to(
        None,
        "/account/login/imitate-customer",
        form(&token, &simple(seed::ALICE), &simple(seed::ADMIN)),
        None,
    )
    .await
    .unwrap();
    assert_eq!(here.headers()["location"], "/account");
    let session = session_of(&here);
    let account = |host: Option<String>| {
        let mut request = system.http.get(system.url("/account")).header("cookie", &session);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let on_ch = account(Some(ch_host.clone())).await.unwrap();
    assert_eq!(on_ch.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_ch.headers()["location"], "/account/login");
    // Stopping it from the other host stops nothing.
    let stop = post_to(
        Some(ch_host),
        "/account/imitation/stop",
        String::new(),
        Some(session.clone()),
    )
    .await
    .unwrap();
    assert_eq!(stop.headers()["location"], "/account/login");
    let on_eu = account(None).await.unwrap();
    assert_eq!(on_eu.status(), StatusCode::OK);
    assert!(on_eu.text().await.unwrap().contains("imitation-banner"));
    system.stop().await;
}

/// The storefront's own forms refuse posts from other sites (login CSRF,
/// forced logout); the login-as-customer form stays open to the
/// administration's origin, protected by its one-time token.
#[tokio::test]
async fn the_storefronts_own_forms_refuse_cross_site_posts() {
    let system = TestSystem::start().await;
    let own_origin = system.base.clone();
    let post =
        |path: &'static str, body: &'static str, headers: &[(&'static str, String)], cookie: Option<&str>| {
            let mut request = system
                .http
                .post(system.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
    let credentials = "email=alice%40example.com&password=alice-demo-password";
    for refused in [
        vec![("origin", "http://evil.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![
            ("sec-fetch-site", "same-site".to_owned()),
            ("origin", own_origin.clone()),
        ],
    ] {
        let response = post("/account/login", credentials, &refused, None).await.unwrap();
        assert!(response.headers().get("set-cookie").is_none(), "{refused:?}");
        assert_error(response, StatusCode::FORBIDDEN, "ACTAS__CROSS_SITE_REQUEST").await;
    }
    // The storefront's own page, and a client that is no browser, sign in.
    let own = post(
        "/account/login",
        credentials,
        &[
            ("origin", own_origin.clone()),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(own.headers()["location"], "/account");
    let session = session_of(&own);
    let plain = post("/account/login", credentials, &[], None).await.unwrap();
    assert_eq!(plain.headers()["location"], "/account");

    // A forced logout or stop from elsewhere ends nothing.
    for path in ["/account/logout", "/account/imitation/stop"] {
        let forced = post(
            path,
            "",
            &[("origin", "http://evil.example".to_owned())],
            Some(&session),
        )
        .await
        .unwrap();
        assert_error(forced, StatusCode::FORBIDDEN, "ACTAS__CROSS_SITE_REQUEST").await;
    }
    let account = system
        .http
        .get(system.url("/account"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), StatusCode::OK);

    // The administration posts the login-as-customer form from its origin.
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let imitation = system
        .http
        .post(system.url("/account/login/imitate-customer"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://admin.example")
        .header("sec-fetch-site", "cross-site")
        .body(form(&token, &simple(seed::ALICE), &simple(seed::ADMIN)))
        .send()
        .await
        .unwrap();
    assert_eq!(imitation.headers()["location"], "/account");
    system.stop().await;
}
