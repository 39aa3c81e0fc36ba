//! The demo directory through the `Permission` trait: seeding happens once,
//! authentication refuses what it should, and every authorization outcome
//! the walk-through relies on comes out with its stable code.

use std::sync::Arc;

use actas_permission::{
    Directory, Error, Permission,
    model::Target,
    model::{Action, Decision},
    seed::{self, seed_demo},
    store::DirectoryStore,
};
use actas_shared::{
    ErrorCode,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};

use crate::Check;

pub const CHECKS: &[Check] = &[
    ("seeding_happens_once", |store| {
        Box::pin(seeding_happens_once(store))
    }),
    ("demo_authentication", |store| {
        Box::pin(demo_authentication(store))
    }),
    ("demo_authorization", |store| Box::pin(demo_authorization(store))),
    ("demo_customer_search", |store| {
        Box::pin(demo_customer_search(store))
    }),
    ("demo_user_search", |store| Box::pin(demo_user_search(store))),
];

/// The operator finds admins and customers, never an operator; nobody
/// else searches users.
async fn demo_user_search(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let directory = seeded(store.clone()).await?;
    // An operator whose roles lack sys_impersonate-users searches nobody.
    let unprivileged = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000f0b2);
    store
        .insert_principal(&actas_permission::model::NewPrincipal {
            id: principal(unprivileged),
            kind: PrincipalKind::Operator,
            email: "nia@example.com".to_owned(),
            display_name: "Nia Nopriv".to_owned(),
            password_hash: String::new(),
            active: true,
            guest: false,
            roles: vec!["viewer".to_owned()],
            sales_channel_ids: Vec::new(),
        })
        .await?;
    let refused = directory
        .search_users(principal(unprivileged), "", 1, 10)
        .await
        .expect_err("refused");
    assert_eq!(
        actas_shared::ApiError::from(refused).code,
        ErrorCode::MissingPrivilege
    );
    let page = directory.search_users(principal(seed::OPS), "a", 1, 100).await?;
    let kinds: Vec<PrincipalKind> = page.users.iter().map(|user| user.kind).collect();
    assert!(
        kinds.contains(&PrincipalKind::Admin) && kinds.contains(&PrincipalKind::Customer),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&PrincipalKind::Operator),
        "never an operator: {kinds:?}"
    );
    assert_eq!(page.total, i64::try_from(page.users.len())?);
    let ada = directory.search_users(principal(seed::OPS), "ADA", 1, 10).await?;
    assert_eq!(
        ada.users
            .iter()
            .map(|user| (user.id, user.kind))
            .collect::<Vec<_>>(),
        [(principal(seed::ADMIN), PrincipalKind::Admin)]
    );
    let oli = directory
        .search_users(principal(seed::OPS), "ops@example.com", 1, 10)
        .await?;
    assert_eq!(oli.total, 0, "the operator is not in it");
    for outsider in [seed::ADMIN, seed::ALICE, uuid::Uuid::from_u128(7)] {
        let refused = directory
            .search_users(principal(outsider), "", 1, 10)
            .await
            .expect_err("refused");
        let code = actas_shared::ApiError::from(refused).code;
        assert!(
            matches!(code, ErrorCode::MissingPrivilege | ErrorCode::Unauthorized),
            "{outsider}: {code:?}"
        );
    }
    for (page, limit) in [(0, 10), (1, 0), (1, 101)] {
        let refused = directory
            .search_users(principal(seed::OPS), "", page, limit)
            .await;
        assert!(
            matches!(refused, Err(Error::InvalidPage | Error::InvalidLimit { .. })),
            "{page}/{limit}"
        );
    }
    Ok(())
}

/// Admins with customer:read search customers; nobody else does.
async fn demo_customer_search(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let directory = seeded(store).await?;
    for admin in [seed::ADMIN, seed::VIEWER] {
        let page = directory
            .search_customers(principal(admin), "alice", 1, 10)
            .await?;
        assert_eq!(page.total, 1);
        assert_eq!(page.customers[0].id, principal(seed::ALICE));
        let names: Vec<_> = page.sales_channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Storefront EU", "Storefront CH"], "by id");
        assert_eq!(page.sales_channels[0].domain_urls, ["http://127.0.0.1:8080"]);
    }
    for outsider in [seed::ALICE, seed::OPS, uuid::Uuid::from_u128(7)] {
        let refused = directory
            .search_customers(principal(outsider), "", 1, 10)
            .await
            .expect_err("refused");
        let code = actas_shared::ApiError::from(refused).code;
        assert!(
            matches!(code, ErrorCode::MissingPrivilege | ErrorCode::Unauthorized),
            "{outsider}: {code:?}"
        );
    }
    for (page, limit) in [(0, 10), (1, 0), (1, 101)] {
        let refused = directory
            .search_customers(principal(seed::ADMIN), "", page, limit)
            .await;
        assert!(
            matches!(refused, Err(Error::InvalidPage | Error::InvalidLimit { .. })),
            "{page}/{limit}"
        );
    }
    Ok(())
}

fn principal(uuid: uuid::Uuid) -> PrincipalId {
    PrincipalId::from_uuid(uuid)
}

fn eu() -> SalesChannelId {
    SalesChannelId::from_uuid(seed::STOREFRONT_EU)
}

fn us() -> SalesChannelId {
    SalesChannelId::from_uuid(seed::STOREFRONT_US)
}

async fn seeded(store: Arc<dyn DirectoryStore>) -> anyhow::Result<Directory> {
    assert!(
        seed_demo(store.as_ref(), 8080).await?,
        "an empty directory gets seeded"
    );
    Ok(Directory::new(store))
}

fn denial_code(decision: &Decision) -> Option<ErrorCode> {
    decision.denial.as_ref().map(|denial| denial.code)
}

async fn seeding_happens_once(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    assert!(seed_demo(store.as_ref(), 8080).await?, "first seeding");
    assert!(
        !seed_demo(store.as_ref(), 8080).await?,
        "second seeding finds the directory full"
    );
    let alice = store.principal(principal(seed::ALICE)).await?.expect("alice");
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(
        alice.sales_channel_ids,
        [eu(), SalesChannelId::from_uuid(seed::STOREFRONT_CH)]
    );
    assert_eq!(
        store
            .sales_channel_by_host("localhost:8080")
            .await?
            .map(|c| c.name),
        Some("Storefront CH".to_owned())
    );
    let eu_channel = store
        .sales_channel_by_access_key(seed::STOREFRONT_EU_ACCESS_KEY)
        .await?
        .expect("the EU storefront");
    assert_eq!(eu_channel.id, eu());
    Ok(())
}

async fn demo_authentication(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let directory = seeded(store).await?;

    let admin = directory
        .authenticate(
            PrincipalKind::Admin,
            "admin@example.com",
            "admin-demo-password",
            None,
        )
        .await?;
    assert_eq!(admin.id, principal(seed::ADMIN));
    assert_eq!(admin.kind, PrincipalKind::Admin);
    let admin_again = directory
        .authenticate(
            PrincipalKind::Admin,
            " Admin@Example.COM ",
            "admin-demo-password",
            None,
        )
        .await?;
    assert_eq!(admin_again.id, admin.id, "emails compare normalized");

    let refused = [
        (PrincipalKind::Admin, "admin@example.com", "wrong-password", None),
        (PrincipalKind::Admin, "admin@example.com", "", None),
        (
            PrincipalKind::Admin,
            "nobody@example.com",
            "admin-demo-password",
            None,
        ),
        // Right email and password, wrong kind.
        (
            PrincipalKind::Customer,
            "admin@example.com",
            "admin-demo-password",
            Some(eu()),
        ),
        // Carol is inactive.
        (
            PrincipalKind::Customer,
            "carol@example.com",
            "carol-demo-password",
            Some(eu()),
        ),
        // Alice is bound to EU only.
        (
            PrincipalKind::Customer,
            "alice@example.com",
            "alice-demo-password",
            Some(us()),
        ),
    ];
    for (kind, email, password, channel) in refused {
        let result = directory.authenticate(kind, email, password, channel).await;
        assert!(
            matches!(result, Err(Error::BadCredentials(refused_kind)) if refused_kind == kind),
            "{kind} {email} on {channel:?}: got {result:?}"
        );
    }

    // Without a channel (the public coworker API) a customer signs in as a person.
    let tina = directory
        .authenticate(
            PrincipalKind::Customer,
            "tina@example.com",
            "tina-demo-password",
            None,
        )
        .await?;
    assert_eq!(tina.id, principal(seed::TINA));

    let alice = directory
        .authenticate(
            PrincipalKind::Customer,
            "alice@example.com",
            "alice-demo-password",
            Some(eu()),
        )
        .await?;
    assert_eq!(alice.id, principal(seed::ALICE));
    assert!(alice.active);
    Ok(())
}

async fn demo_authorization(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let directory = seeded(store).await?;
    let admin = principal(seed::ADMIN);
    let imitate = Action::ImitateCustomer;

    let allowed = directory
        .authorize(
            admin,
            imitate,
            Target::Principal(principal(seed::ALICE)),
            Some(eu()),
        )
        .await?;
    assert!(allowed.allowed(), "admin may act as alice on EU: {allowed:?}");
    assert!(!allowed.reason.is_empty());

    let viewer = directory
        .authorize(
            principal(seed::VIEWER),
            imitate,
            Target::Principal(principal(seed::ALICE)),
            Some(eu()),
        )
        .await?;
    assert!(!viewer.allowed());
    let denial = viewer.denial.expect("the viewer is denied");
    assert_eq!(denial.code, ErrorCode::MissingPrivilege);
    assert_eq!(denial.missing_privileges, ["api_proxy_login-as-customer"]);

    let denied = [
        (admin, principal(seed::CAROL), eu(), ErrorCode::CustomerInactive),
        (
            admin,
            principal(seed::BOB),
            eu(),
            ErrorCode::CustomerNotInSalesChannel,
        ),
        (
            admin,
            PrincipalId::new_random(),
            eu(),
            ErrorCode::CustomerNotFound,
        ),
        (
            admin,
            principal(seed::ALICE),
            SalesChannelId::new_random(),
            ErrorCode::SalesChannelNotFound,
        ),
        // A customer may not act as anyone.
        (
            principal(seed::ALICE),
            principal(seed::BOB),
            us(),
            ErrorCode::ImpersonationNotAllowed,
        ),
        // An unknown actor is not authenticated.
        (
            PrincipalId::new_random(),
            principal(seed::ALICE),
            eu(),
            ErrorCode::Unauthorized,
        ),
    ];
    for (actor, target, channel, code) in denied {
        let decision = directory
            .authorize(actor, imitate, Target::Principal(target), Some(channel))
            .await?;
        assert_eq!(
            denial_code(&decision),
            Some(code),
            "{actor} -> {target} on {channel}: {decision:?}"
        );
        assert!(!decision.allowed());
    }

    // Admins are not customers: nobody logs in as an admin, not even themself.
    for target in [admin, principal(seed::VIEWER)] {
        let decision = directory
            .authorize(admin, imitate, Target::Principal(target), Some(eu()))
            .await?;
        assert!(!decision.allowed(), "admin -> {target}: {decision:?}");
    }

    let bob_on_us = directory
        .authorize(
            admin,
            imitate,
            Target::Principal(principal(seed::BOB)),
            Some(us()),
        )
        .await?;
    assert!(bob_on_us.allowed(), "{bob_on_us:?}");
    Ok(())
}
