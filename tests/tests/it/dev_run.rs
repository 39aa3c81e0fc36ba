//! What the local run needs from the sandbox it is built on: a directory
//! seeded on one port serves its demo storefronts on the port of the next
//! run, and an address that is taken stops the start naming the variable
//! that sets it.

use actas_e2e::{Options, Sandbox};
use actas_shared::testing::{TestDatabase, redis_url, unique_prefix};
use reqwest::StatusCode;

fn options(database: &TestDatabase) -> Options {
    let mut options = Options::new(database.url.clone());
    options.redis_url = Some(redis_url());
    options.redis_key_prefix = unique_prefix();
    options
}

async fn login_page_status(sandbox: &Sandbox, host: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/account/login", sandbox.gateway_url()))
        .header("host", host)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_directory_seeded_on_one_port_serves_its_storefronts_on_the_next_runs_port() {
    let database = TestDatabase::create().await.unwrap();
    let first = Sandbox::start(options(&database)).await.unwrap();
    let old = first.gateway.port();
    assert_eq!(
        login_page_status(&first, &format!("127.0.0.1:{old}")).await,
        StatusCode::OK
    );
    first.stop().await.unwrap();

    // Held, so that the next run cannot land on the same port by chance.
    let _held = tokio::net::TcpListener::bind(("127.0.0.1", old)).await.unwrap();
    let second = Sandbox::start(options(&database)).await.unwrap();
    let new = second.gateway.port();
    for host in [
        format!("127.0.0.1:{new}"),
        format!("localhost:{new}"),
        format!("us.localhost:{new}"),
    ] {
        assert_eq!(login_page_status(&second, &host).await, StatusCode::OK, "{host}");
    }
    // The old domains are gone, and an unknown host names no storefront,
    // for the page as for its form.
    assert_eq!(
        login_page_status(&second, &format!("127.0.0.1:{old}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        login_page_status(&second, "shop.example").await,
        StatusCode::NOT_FOUND
    );
    second.stop().await.unwrap();
}

#[tokio::test]
async fn a_taken_address_stops_the_start_naming_its_variable() {
    let database = TestDatabase::create().await.unwrap();
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for (variable, set) in [
        (
            "ACTAS_HTTP_ADDR",
            (|o: &mut Options, a: String| o.http_addr = a) as fn(&mut Options, String),
        ),
        ("ACTAS_PERMISSION_ADDR", |o, a| o.permission_addr = a),
        ("ACTAS_TOKEN_ISSUER_ADDR", |o, a| o.token_issuer_addr = a),
        ("ACTAS_SESSION_ADDR", |o, a| o.session_addr = a),
    ] {
        let mut options = options(&database);
        set(&mut options, addr.clone());
        let error = match Sandbox::start(options).await {
            Ok(_) => panic!("{variable} on a taken address started"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains(&format!("{variable}={addr}")), "{error}");
        assert!(error.contains("port 0"), "{error}");
    }
}
