//! The admin and storefront pages in a real browser: Debian's headless
//! Chromium driven over WebDriver (chromedriver), against the whole system
//! on real PostgreSQL and Redis. Key screens are saved as PNG files under
//! `tests/artifacts/screenshots/`.
//!
//! `scripts/backends.sh` installs chromium and chromium-driver when they are
//! missing; without them these tests fail, they do not skip.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use actas_e2e::{Options, Sandbox};
use actas_permission::{seed, store::DirectoryStore as _};
use actas_shared::testing::{TestDatabase, free_port, redis_url, unique_prefix};
use fantoccini::{Client, Locator, elements::Element};
use serde_json::{Value, json};

mod console;
mod history;
mod operator;
mod portal;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Generous: two cores shared by the browser, the system and other tests.
const PATIENCE: Duration = Duration::from_secs(20);

fn simple(id: uuid::Uuid) -> String {
    id.simple().to_string()
}

/// A snippet text from the gateway's snippet files, so the tests check
/// that the page shows the texts of the language it claims.
fn snippet(lang: &str, key: &str) -> String {
    let source = match lang {
        "de-DE" => include_str!("../../../services/gateway/snippets/de-DE.json"),
        _ => include_str!("../../../services/gateway/snippets/en-GB.json"),
    };
    let tree: Value = serde_json::from_str(source).expect("snippet JSON");
    let mut node = &tree;
    for part in key.split('.') {
        node = &node[part];
    }
    node.as_str()
        .unwrap_or_else(|| panic!("snippet {key} missing in {lang}"))
        .to_owned()
}

/// The whole system plus a browser session; both end on drop.
struct Browsing {
    sandbox: Option<Sandbox>,
    database_url: String,
    _database: TestDatabase,
    port: u16,
    driver: Child,
    browser: Option<Client>,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browsing {
    async fn start() -> Browsing {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Options)) -> Browsing {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: run scripts/backends.sh (installs Debian's {package})"
            );
        }
        let database = TestDatabase::create().await.expect("a fresh PostgreSQL database");
        let mut options = Options::new(database.url.clone());
        options.redis_url = Some(redis_url());
        options.redis_key_prefix = unique_prefix();
        adjust(&mut options);
        let sandbox = Sandbox::start(options).await.expect("the system starts");
        let port = sandbox.gateway.port();

        let driver_port = free_port().expect("a free port");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = TempDir(std::env::temp_dir().join(format!("actas-chromium-{}", unique_prefix())));
        // Flags as this machine needs them: no sandbox as root, and no
        // background traffic to the (closed) internet.
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    "--lang=en-GB",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
                "prefs": { "intl.accept_languages": "en-GB,en" },
            }
        });
        let capabilities = capabilities.as_object().expect("an object").clone();
        let webdriver = format!("http://127.0.0.1:{driver_port}");
        let started = Instant::now();
        let browser = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match Client::with_capabilities_and_connector(&webdriver, &capabilities, connector).await {
                Ok(client) => break client,
                Err(error) if started.elapsed() < PATIENCE => {
                    tracing::debug!(%error, "chromedriver not ready");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("no browser session: {error}"),
            }
        };
        Browsing {
            sandbox: Some(sandbox),
            database_url: database.url.clone(),
            _database: database,
            port,
            driver,
            browser: Some(browser),
            _profile: profile,
        }
    }

    fn browser(&self) -> &Client {
        self.browser.as_ref().expect("a browser session")
    }

    /// The admin page and the EU storefront (seeded domain `127.0.0.1`).
    fn eu(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The CH storefront (seeded domain `localhost`): other cookies.
    fn ch(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    async fn stop(mut self) {
        if let Some(browser) = self.browser.take() {
            let _ = browser.close().await;
        }
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.stop().await.expect("clean shutdown");
        }
    }

    async fn find(&self, css: &str) -> Element {
        self.browser()
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css} never appeared: {error}"))
    }

    /// Polls until `check` holds, or fails saying what was awaited.
    async fn until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while !check().await {
            if started.elapsed() > PATIENCE {
                self.screenshot(&format!("failed-{}", what.replace(' ', "-")))
                    .await;
                panic!("waited {PATIENCE:?} for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn displayed(&self, css: &str) -> bool {
        match self.browser().find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    async fn url(&self) -> String {
        self.browser()
            .current_url()
            .await
            .expect("current url")
            .to_string()
    }

    async fn wait_for_url(&self, wanted: &str) {
        self.until(&format!("url {wanted}"), || async { self.url().await == wanted })
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("typing");
    }

    async fn click(&self, css: &str) {
        // Lists re-render while a search settles: a found element may go
        // stale before the click lands; find it again.
        let started = Instant::now();
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(error) if started.elapsed() > PATIENCE => {
                    self.screenshot("failed-click").await;
                    panic!("clicking {css}: {error}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Saves what the browser shows as a test artifact.
    async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/screenshots"));
        if let Ok(png) = self.browser().screenshot().await
            && std::fs::create_dir_all(&dir).is_ok()
        {
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, png).expect("screenshot written");
            println!("screenshot: {}", path.display());
        }
    }

    async fn admin_sign_in(&self, email: &str, password: &str) {
        self.browser().goto(&self.eu("/admin")).await.expect("admin page");
        self.type_into("#signin-username", email).await;
        self.type_into("#signin-password", password).await;
        self.click("#signin-submit").await;
        self.until("the workspace", || self.displayed("#workspace")).await;
    }

    /// Searches for `term` and opens the customer card of `customer`.
    async fn open_customer(&self, term: &str, customer: uuid::Uuid) {
        self.type_into("#search-term", term).await;
        self.click("#search-submit").await;
        let result = format!(".customer-result[data-customer-id=\"{}\"]", simple(customer));
        self.click(&result).await;
        self.until("the customer card", || self.displayed("#customer-card"))
            .await;
    }
}

impl Drop for Browsing {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_logs_in_as_alice_in_a_new_tab_and_stop_ends_only_that_session() {
    let b = Browsing::start().await;

    // Alice signs in herself on the CH storefront first.
    b.browser()
        .goto(&b.ch("/account/login"))
        .await
        .expect("login page");
    b.type_into("#login-email", "alice@example.com").await;
    b.type_into("#login-password", "wrong password").await;
    b.click("#login-submit").await;
    b.until("the credentials alert", || b.displayed("#credentials-error"))
        .await;
    b.type_into("#login-email", "alice@example.com").await;
    b.type_into("#login-password", "alice-demo-password").await;
    b.click("#login-submit").await;
    b.wait_for_url(&b.ch("/account")).await;
    assert_eq!(b.text("#customer-name").await, "Alice Example");
    assert!(
        !b.displayed("#imitation-banner").await,
        "her own session is not imitated"
    );
    b.screenshot("storefront-account").await;

    // The admin signs in, sees the privilege by its label, finds alice.
    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    assert_eq!(b.text("#me-name").await, "Ada Admin");
    assert_eq!(
        b.text("#privileges li[data-privilege=\"api_proxy_login-as-customer\"]")
            .await,
        snippet("en-GB", "privileges.api_proxy_login-as-customer")
    );
    b.open_customer("alice", seed::ALICE).await;
    assert_eq!(b.text("#customer-card-email").await, "alice@example.com");
    let button = b.find("#login-as-customer").await;
    assert!(button.is_enabled().await.expect("enabled state"), "the admin may");
    b.screenshot("admin-customer-card").await;

    // Two storefronts: the modal lists them by name; pick EU with a reason.
    button.click().await.expect("click");
    b.until("the channel modal", || b.displayed("#channel-modal"))
        .await;
    let mut offered = Vec::new();
    for radio in b
        .browser()
        .find_all(Locator::Css("#channel-modal input[name=\"salesChannelId\"]"))
        .await
        .expect("channel radios")
    {
        offered.push(radio.attr("value").await.expect("value").unwrap_or_default());
    }
    assert_eq!(
        offered,
        [simple(seed::STOREFRONT_CH), simple(seed::STOREFRONT_EU)],
        "Storefront CH, then Storefront EU"
    );
    b.click(&format!("#channel-{}", simple(seed::STOREFRONT_EU)))
        .await;
    b.type_into("#impersonation-reason", "Ticket 4711: checkout fails")
        .await;
    b.screenshot("admin-channel-modal").await;
    let admin_window = b.browser().window().await.expect("window");
    b.click("#channel-modal-confirm").await;

    // A new tab lands on the EU storefront's account page as alice.
    b.until("the new tab", || async {
        b.browser().windows().await.unwrap_or_default().len() == 2
    })
    .await;
    let tab = b
        .browser()
        .windows()
        .await
        .expect("windows")
        .into_iter()
        .find(|window| *window != admin_window)
        .expect("the new tab");
    b.browser().switch_to_window(tab).await.expect("switch");
    b.wait_for_url(&b.eu("/account")).await;
    assert_eq!(b.text("#customer-name").await, "Alice Example");
    let banner = b.text("#imitation-banner").await;
    assert!(
        banner.contains("Ada Admin") && banner.contains("Alice Example"),
        "the banner names the admin and alice: {banner}"
    );
    b.screenshot("storefront-imitated").await;

    // Stop ends the impersonated session: the account page now asks to log in.
    b.click("#imitation-stop").await;
    b.wait_for_url(&b.eu("/account/login")).await;
    b.browser().goto(&b.eu("/account")).await.expect("account page");
    b.wait_for_url(&b.eu("/account/login")).await;

    // Alice's own session on the CH storefront lives on, unmarked.
    b.browser().goto(&b.ch("/account")).await.expect("account page");
    b.wait_for_url(&b.ch("/account")).await;
    assert_eq!(b.text("#customer-name").await, "Alice Example");
    assert!(!b.displayed("#imitation-banner").await);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_admin_sees_the_button_disabled_with_the_reason() {
    let b = Browsing::start().await;
    b.admin_sign_in("viewer@example.com", "viewer-demo-password")
        .await;
    b.open_customer("alice", seed::ALICE).await;
    let button = b.find("#login-as-customer").await;
    assert!(!button.is_enabled().await.expect("enabled state"), "no privilege");
    let reason = snippet("en-GB", "admin.customer.disabledReason.missingPrivilege");
    assert_eq!(button.attr("title").await.expect("title"), Some(reason.clone()));
    assert_eq!(b.text("#login-as-customer-hint").await, reason);
    b.screenshot("admin-viewer-disabled").await;

    // Carol is inactive: even the admin gets a disabled button and says why.
    b.click("#signout").await;
    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    b.open_customer("carol", seed::CAROL).await;
    let button = b.find("#login-as-customer").await;
    assert!(!button.is_enabled().await.expect("enabled state"), "inactive");
    assert_eq!(
        b.text("#login-as-customer-hint").await,
        snippet("en-GB", "admin.customer.disabledReason.inactive")
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_languages_render_and_the_choice_sticks() {
    let b = Browsing::start().await;
    for lang in ["de-DE", "en-GB"] {
        b.browser()
            .goto(&b.eu(&format!("/admin?lang={lang}")))
            .await
            .expect("admin page");
        let html_lang = b.find("html").await.attr("lang").await.expect("lang");
        assert_eq!(html_lang.as_deref(), Some(lang));
        assert_eq!(
            b.text("#signin-submit").await,
            snippet(lang, "admin.signin.submit")
        );
        // The choice is remembered for the storefront pages too.
        b.browser()
            .goto(&b.eu("/account/login?loginError=true"))
            .await
            .expect("login page");
        assert_eq!(b.text("#login-submit").await, snippet(lang, "login.submit"));
        assert_eq!(b.text("#login-error").await, snippet(lang, "login.linkError"));
        b.screenshot(&format!("storefront-login-{lang}")).await;
    }
    assert_ne!(snippet("de-DE", "login.submit"), snippet("en-GB", "login.submit"));

    // The switch in the header changes the language of the page it is on.
    b.click("a.lang-switch[hreflang=\"de-DE\"]").await;
    b.until("the German page", || async {
        b.text("#login-submit").await == snippet("de-DE", "login.submit")
    })
    .await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_policy_requires_a_reason_the_dialog_asks_for_it() {
    let b = Browsing::start_with(|options| options.require_reason = true).await;
    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    b.open_customer("alice", seed::ALICE).await;
    b.click("#login-as-customer").await;
    b.until("the channel modal", || b.displayed("#channel-modal"))
        .await;
    assert_eq!(
        b.text("#impersonation-reason-label").await,
        snippet("en-GB", "admin.modal.reasonLabelRequired")
    );
    // Without a reason the dialog stays open and no tab opens.
    b.click("#channel-modal-confirm").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.displayed("#channel-modal").await,
        "the dialog waits for a reason"
    );
    assert_eq!(b.browser().windows().await.expect("windows").len(), 1);
    b.type_into("#impersonation-reason", "Ticket 4711").await;
    b.click("#channel-modal-confirm").await;
    b.until("the new tab", || async {
        b.browser().windows().await.unwrap_or_default().len() == 2
    })
    .await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_generation_shows_an_error_notification() {
    let b = Browsing::start().await;
    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    b.open_customer("alice", seed::ALICE).await;
    // Policy switches impersonation off on the EU storefront meanwhile.
    let url = b.database_url.clone();
    let pool = actas_shared::db::Pool::connect(&url, 1)
        .await
        .expect("the database");
    actas_permission::store::SqlDirectory::new(pool.clone())
        .set_impersonation_policy(
            &format!("sales_channel:{}", seed::STOREFRONT_EU),
            actas_permission::model::Policy {
                enabled: false,
                read_only: false,
            },
        )
        .await
        .expect("policy set");
    pool.close().await;

    b.click("#login-as-customer").await;
    b.until("the channel modal", || b.displayed("#channel-modal"))
        .await;
    b.click(&format!("#channel-{}", simple(seed::STOREFRONT_EU)))
        .await;
    b.click("#channel-modal-confirm").await;
    b.until("the error notification", || b.displayed(".notification-error"))
        .await;
    let text = b.text(".notification-error").await;
    assert!(
        text.contains("switched off"),
        "the server's reason is shown: {text}"
    );
    assert_eq!(
        b.browser().windows().await.expect("windows").len(),
        1,
        "no tab opened"
    );
    b.screenshot("admin-generation-refused").await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_storefront_the_page_goes_straight_on() {
    let b = Browsing::start().await;
    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    // Bob is bound to the US storefront only (seeded domain us.localhost).
    b.open_customer("bob", seed::BOB).await;
    let admin_window = b.browser().window().await.expect("window");
    b.click("#login-as-customer").await;
    b.until("the new tab", || async {
        b.browser().windows().await.unwrap_or_default().len() == 2
    })
    .await;
    assert!(
        !b.displayed("#channel-modal").await,
        "no dialog for one storefront"
    );
    let tab = b
        .browser()
        .windows()
        .await
        .expect("windows")
        .into_iter()
        .find(|window| *window != admin_window)
        .expect("the new tab");
    b.browser().switch_to_window(tab).await.expect("switch");
    b.wait_for_url(&format!("http://us.localhost:{}/account", b.port))
        .await;
    assert_eq!(b.text("#customer-name").await, "Bob Example");
    assert!(b.text("#imitation-banner").await.contains("Ada Admin"));
    b.stop().await;
}
