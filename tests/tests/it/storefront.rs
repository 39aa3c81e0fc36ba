//! Storefront: the form target sets the session cookie and redirects; the
//! account page shows who is acting; a failed exchange lands on the login
//! page with `loginError=true`.

use actas_permission::seed;
use reqwest::StatusCode;

use crate::helpers::{TestSystem, simple};

fn form(token: &str, customer: &str, user: &str) -> String {
    format!("token={token}&customerId={customer}&userId={user}")
}

#[tokio::test]
async fn the_form_logs_the_admin_in_and_the_account_page_shows_the_banner() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let response = system
        .http
        .post(system.url("/account/login/imitate-customer"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&token, &simple(seed::ALICE), &simple(seed::ADMIN)))
        .send()
        .await
        .unwrap();
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
    assert!(page.contains("Ada Admin is acting for Alice Example"), "{page}");

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
        let response = system
            .http
            .post(system.url("/account/login/imitate-customer"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
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
