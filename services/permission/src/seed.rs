//! The demo directory that `actas-dev` seeds into an empty directory. The
//! README walk-through and the acceptance checks rely on these exact values.

use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};
use uuid::Uuid;

use crate::{
    error::Error,
    model::{
        ContextOption, DEACTIVATE_PRINCIPALS, LOGIN_AS_CUSTOMER, MANAGE_POLICY, NewPrincipal, OptionKind,
        Profile, SalesChannel, TeamRole,
    },
    password,
    store::DirectoryStore,
};

const fn id(value: u128) -> Uuid {
    Uuid::from_u128(value)
}

pub const STOREFRONT_EU: Uuid = id(0x018f8d3a_5e00_7000_8000_000000000e01);
pub const STOREFRONT_US: Uuid = id(0x018f8d3a_5e00_7000_8000_000000000e02);
pub const STOREFRONT_CH: Uuid = id(0x018f8d3a_5e00_7000_8000_000000000e03);
pub const STOREFRONT_EU_ACCESS_KEY: &str = "SWSCDEMOEU0000000000000000";
pub const STOREFRONT_US_ACCESS_KEY: &str = "SWSCDEMOUS0000000000000000";
pub const STOREFRONT_CH_ACCESS_KEY: &str = "SWSCDEMOCH0000000000000000";

/// The storefront domains of the demo channels, all served by the one
/// gateway on `port`: distinct hosts, so each has its own cookies and the
/// login form finds its channel by the Host header. Browsers and curl
/// resolve `*.localhost` to loopback.
pub fn demo_domains(port: u16) -> [(Uuid, String); 3] {
    [
        (STOREFRONT_EU, format!("http://127.0.0.1:{port}")),
        (STOREFRONT_CH, format!("http://localhost:{port}")),
        (STOREFRONT_US, format!("http://us.localhost:{port}")),
    ]
}
/// Shopware's system language (English, en-GB) and default currency (euro):
/// fixed ids in every Shopware installation.
pub const LANGUAGE_EN_GB: Uuid = id(0x2fbb5fe2_e29a_4d70_aa58_54ce7ce3e20b);
pub const CURRENCY_EUR: Uuid = id(0xb7d2554b_0ce8_47cd_82f3_ac9bd1c0dfca);
/// The demo's other languages, currencies, countries and methods.
pub const LANGUAGE_DE_DE: Uuid = id(0x018f8d3a_5e00_7000_8000_000000001002);
pub const CURRENCY_USD: Uuid = id(0x018f8d3a_5e00_7000_8000_000000002002);
pub const CURRENCY_CHF: Uuid = id(0x018f8d3a_5e00_7000_8000_000000002003);
pub const COUNTRY_DE: Uuid = id(0x018f8d3a_5e00_7000_8000_000000003001);
pub const COUNTRY_US: Uuid = id(0x018f8d3a_5e00_7000_8000_000000003002);
pub const COUNTRY_CH: Uuid = id(0x018f8d3a_5e00_7000_8000_000000003003);
pub const PAYMENT_INVOICE: Uuid = id(0x018f8d3a_5e00_7000_8000_000000004001);
pub const SHIPPING_STANDARD: Uuid = id(0x018f8d3a_5e00_7000_8000_000000005001);

/// What each demo channel offers a context; the first of a kind is its default.
fn demo_options(channel: Uuid) -> Vec<(OptionKind, Uuid)> {
    use OptionKind::*;
    let (languages, currencies, country): (&[Uuid], &[Uuid], Uuid) = match channel {
        STOREFRONT_US => (&[LANGUAGE_EN_GB], &[CURRENCY_USD], COUNTRY_US),
        STOREFRONT_CH => (
            &[LANGUAGE_DE_DE, LANGUAGE_EN_GB],
            &[CURRENCY_CHF, CURRENCY_EUR],
            COUNTRY_CH,
        ),
        _ => (&[LANGUAGE_EN_GB, LANGUAGE_DE_DE], &[CURRENCY_EUR], COUNTRY_DE),
    };
    let mut options: Vec<(OptionKind, Uuid)> = Vec::new();
    options.extend(languages.iter().map(|id| (Language, *id)));
    options.extend(currencies.iter().map(|id| (Currency, *id)));
    options.extend([
        (Country, country),
        (PaymentMethod, PAYMENT_INVOICE),
        (ShippingMethod, SHIPPING_STANDARD),
    ]);
    options
}

pub const ADMIN: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000a001);
pub const VIEWER: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000a002);
pub const ALICE: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000c001);
pub const BOB: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000c002);
pub const CAROL: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000c003);
pub const TINA: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000d001);
pub const MAX: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000d002);
pub const MIA: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000d003);
pub const OTTO: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000d004);
pub const OPS: Uuid = id(0x018f8d3a_5e00_7000_8000_00000000f001);

/// The privilege that lets an admin or operator end others' impersonations.
pub const REVOKE_IMPERSONATIONS: &str = "impersonation:revoke";
/// The privilege that lets an admin or operator read the audit trail.
pub const AUDIT_IMPERSONATIONS: &str = "impersonation:audit";

pub use crate::model::SYS_IMPERSONATE_USERS;

pub const TEAM_ACME: i64 = 1;
pub const TEAM_GLOBEX: i64 = 2;
/// Coworker profile ids (numeric, stable).
pub const PROFILE_TINA_ACME: i64 = 1001;
pub const PROFILE_MAX_ACME: i64 = 1002;
pub const PROFILE_MIA_ACME: i64 = 1003;
pub const PROFILE_OTTO_GLOBEX: i64 = 2001;
pub const PROFILE_MAX_GLOBEX: i64 = 2002;

const PROFILES: &[(i64, Uuid, i64, TeamRole, &str)] = &[
    (PROFILE_TINA_ACME, TINA, TEAM_ACME, TeamRole::Admin, "Tina Acme"),
    (
        PROFILE_MAX_ACME,
        MAX,
        TEAM_ACME,
        TeamRole::Member,
        "Max Mustermann",
    ),
    (PROFILE_MIA_ACME, MIA, TEAM_ACME, TeamRole::Member, "Mia Acme"),
    (
        PROFILE_OTTO_GLOBEX,
        OTTO,
        TEAM_GLOBEX,
        TeamRole::Member,
        "Otto Globex",
    ),
    (
        PROFILE_MAX_GLOBEX,
        MAX,
        TEAM_GLOBEX,
        TeamRole::Member,
        "Max Mustermann",
    ),
];

struct Person {
    id: Uuid,
    kind: PrincipalKind,
    email: &'static str,
    password: &'static str,
    name: &'static str,
    active: bool,
    roles: &'static [&'static str],
    channels: &'static [Uuid],
}

const PEOPLE: &[Person] = &[
    Person {
        id: ADMIN,
        kind: PrincipalKind::Admin,
        email: "admin@example.com",
        password: "admin-demo-password",
        name: "Ada Admin",
        active: true,
        roles: &["support"],
        channels: &[],
    },
    Person {
        id: VIEWER,
        kind: PrincipalKind::Admin,
        email: "viewer@example.com",
        password: "viewer-demo-password",
        name: "Vic Viewer",
        active: true,
        roles: &["viewer"],
        channels: &[],
    },
    Person {
        id: ALICE,
        kind: PrincipalKind::Customer,
        email: "alice@example.com",
        password: "alice-demo-password",
        name: "Alice Example",
        active: true,
        roles: &[],
        channels: &[STOREFRONT_EU, STOREFRONT_CH],
    },
    Person {
        id: BOB,
        kind: PrincipalKind::Customer,
        email: "bob@example.com",
        password: "bob-demo-password",
        name: "Bob Example",
        active: true,
        roles: &[],
        channels: &[STOREFRONT_US],
    },
    Person {
        id: TINA,
        kind: PrincipalKind::Customer,
        email: "tina@example.com",
        password: "tina-demo-password",
        name: "Tina Acme",
        active: true,
        roles: &[],
        channels: &[],
    },
    Person {
        id: MAX,
        kind: PrincipalKind::Customer,
        email: "max@example.com",
        password: "max-demo-password",
        name: "Max Mustermann",
        active: true,
        roles: &[],
        channels: &[],
    },
    Person {
        id: MIA,
        kind: PrincipalKind::Customer,
        email: "mia@example.com",
        password: "mia-demo-password",
        name: "Mia Acme",
        active: true,
        roles: &[],
        channels: &[],
    },
    Person {
        id: OTTO,
        kind: PrincipalKind::Customer,
        email: "otto@example.com",
        password: "otto-demo-password",
        name: "Otto Globex",
        active: true,
        roles: &[],
        channels: &[],
    },
    Person {
        id: OPS,
        kind: PrincipalKind::Operator,
        email: "ops@example.com",
        password: "ops-demo-password",
        name: "Oli Operator",
        active: true,
        roles: &["operator"],
        channels: &[],
    },
    Person {
        id: CAROL,
        kind: PrincipalKind::Customer,
        email: "carol@example.com",
        password: "carol-demo-password",
        name: "Carol Example",
        active: false,
        roles: &[],
        channels: &[STOREFRONT_EU],
    },
];

/// Points the demo storefronts of a directory seeded earlier at the port
/// this run serves on: a `.actas/` seeded on one port and started on
/// another would otherwise send the admin page and the storefront login to
/// the old one. Channels that are not the demo's are left alone.
pub async fn follow_port(store: &dyn DirectoryStore, storefront_port: u16) -> Result<(), Error> {
    for (channel, url) in demo_domains(storefront_port) {
        let channel = SalesChannelId::from_uuid(channel);
        if store.sales_channel(channel).await?.is_some() {
            store.replace_sales_channel_domains(channel, &[url]).await?;
        }
    }
    Ok(())
}

/// Seeds the demo directory when the directory is empty, its storefront
/// domains on the gateway's `storefront_port`. Returns whether it seeded.
/// Safe to call on every start.
pub async fn seed_demo(store: &dyn DirectoryStore, storefront_port: u16) -> Result<bool, Error> {
    if !store.is_empty().await? {
        return Ok(false);
    }
    for (channel, name, key) in [
        (STOREFRONT_EU, "Storefront EU", STOREFRONT_EU_ACCESS_KEY),
        (STOREFRONT_US, "Storefront US", STOREFRONT_US_ACCESS_KEY),
        (STOREFRONT_CH, "Storefront CH", STOREFRONT_CH_ACCESS_KEY),
    ] {
        let channel = SalesChannel {
            id: SalesChannelId::from_uuid(channel),
            name: name.to_owned(),
        };
        store.insert_sales_channel(&channel, key).await?;
        let mut seen = Vec::new();
        for (kind, option) in demo_options(channel.id.as_uuid()) {
            store
                .insert_context_option(
                    channel.id,
                    &ContextOption {
                        kind,
                        id: option,
                        is_default: !seen.contains(&kind),
                    },
                )
                .await?;
            seen.push(kind);
        }
    }
    for (channel, url) in demo_domains(storefront_port) {
        store
            .insert_sales_channel_domain(SalesChannelId::from_uuid(channel), &url)
            .await?;
    }
    store
        .insert_role(
            "support",
            "Support: log in as customer",
            &[
                LOGIN_AS_CUSTOMER,
                "customer:read",
                REVOKE_IMPERSONATIONS,
                AUDIT_IMPERSONATIONS,
            ],
        )
        .await?;
    store.insert_role("viewer", "Viewer", &["customer:read"]).await?;
    store
        .insert_role(
            "operator",
            "Operator: impersonate users",
            // Operators act as admins, so they hold every admin right and
            // more (privilege ordering: nobody acts as an equal or a superior).
            &[
                SYS_IMPERSONATE_USERS,
                LOGIN_AS_CUSTOMER,
                "customer:read",
                REVOKE_IMPERSONATIONS,
                AUDIT_IMPERSONATIONS,
                MANAGE_POLICY,
                DEACTIVATE_PRINCIPALS,
            ],
        )
        .await?;
    for person in PEOPLE {
        store
            .insert_principal(&NewPrincipal {
                id: PrincipalId::from_uuid(person.id),
                kind: person.kind,
                email: person.email.to_owned(),
                display_name: person.name.to_owned(),
                password_hash: password::hash_blocking(person.password.to_owned()).await?,
                active: person.active,
                guest: false,
                roles: person.roles.iter().map(|r| (*r).to_owned()).collect(),
                sales_channel_ids: person
                    .channels
                    .iter()
                    .map(|c| SalesChannelId::from_uuid(*c))
                    .collect(),
            })
            .await?;
    }
    store.insert_team(TEAM_ACME, "Acme").await?;
    store.insert_team(TEAM_GLOBEX, "Globex").await?;
    for &(profile_id, person, team_id, role, full_name) in PROFILES {
        store
            .insert_profile(&Profile {
                id: profile_id,
                person_id: PrincipalId::from_uuid(person),
                team_id,
                team_name: String::new(),
                role,
                full_name: full_name.to_owned(),
            })
            .await?;
    }
    tracing::info!("seeded the demo directory");
    Ok(true)
}
