//! What any `DirectoryStore` must do: store and find sales channels, roles,
//! principals and credentials, refuse duplicates without leaving half a
//! principal behind, and serve the impersonation rules the migration seeds.

use std::sync::Arc;

use actas_permission::{
    model::{
        Action, ContextOption, LOGIN_AS_CUSTOMER, NewPrincipal, OptionKind, Policy, Principal, Profile,
        Relation, Rule, SalesChannel, StorefrontChannel, TeamRole,
    },
    store::{DecisionReads, DirectoryStore, Error},
};
use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};

use crate::Check;

macro_rules! checks {
    ($($check:ident),+ $(,)?) => {
        &[$((stringify!($check), |store| Box::pin($check(store)))),+]
    };
}

pub const CHECKS: &[Check] = checks![
    empty_store_is_empty,
    sales_channel_by_id_and_access_key,
    duplicate_access_key_conflicts,
    duplicate_role_conflicts,
    principal_has_sorted_distinct_privileges_and_channels,
    principal_without_roles_has_no_privileges,
    the_active_flag_changes_for_that_principal_only,
    decision_reads_bring_actor_target_and_policy_together,
    credential_matches_kind_and_email,
    duplicate_credential_conflicts_and_leaves_nothing,
    failed_principal_insert_leaves_no_partial_rows,
    rules_come_from_the_migration,
    storefront_domains_find_their_channel,
    customer_search_matches_pages_and_escapes,
    a_principal_search_finds_the_kinds_asked_only,
    policy_defaults_to_on_and_opt_outs_toggle,
    context_options_belong_to_their_channel,
    replaced_domains_are_the_channels_only_ones,
    a_teams_profiles_are_its_members_with_their_roles,
];

fn channel(name: &str) -> SalesChannel {
    SalesChannel {
        id: SalesChannelId::new_random(),
        name: name.to_owned(),
    }
}

fn new_principal(kind: PrincipalKind, email: &str) -> NewPrincipal {
    NewPrincipal {
        id: PrincipalId::new_random(),
        kind,
        email: email.to_owned(),
        display_name: format!("Name of {email}"),
        password_hash: format!("hash-of-{email}"),
        active: true,
        guest: false,
        roles: Vec::new(),
        sales_channel_ids: Vec::new(),
    }
}

async fn empty_store_is_empty(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    assert!(store.is_empty().await?, "a fresh store holds no principal");
    store
        .insert_principal(&new_principal(PrincipalKind::Admin, "first@example.com"))
        .await?;
    assert!(!store.is_empty().await?, "a store with a principal is not empty");
    Ok(())
}

async fn sales_channel_by_id_and_access_key(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let eu = channel("Storefront EU");
    let us = channel("Storefront US");
    store.insert_sales_channel(&eu, "KEY-EU").await?;
    store.insert_sales_channel(&us, "KEY-US").await?;

    assert_eq!(store.sales_channel(eu.id).await?, Some(eu.clone()));
    assert_eq!(store.sales_channel(us.id).await?, Some(us.clone()));
    assert_eq!(store.sales_channel_by_access_key("KEY-EU").await?, Some(eu));
    assert_eq!(store.sales_channel_by_access_key("KEY-US").await?, Some(us));
    assert_eq!(store.sales_channel_by_access_key("KEY-XX").await?, None);
    assert_eq!(
        store.sales_channel_by_access_key("key-eu").await?,
        None,
        "keys are exact"
    );
    assert_eq!(store.sales_channel_by_access_key("").await?, None);
    assert_eq!(store.sales_channel(SalesChannelId::new_random()).await?, None);
    Ok(())
}

async fn duplicate_access_key_conflicts(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let first = channel("First");
    let second = channel("Second");
    store.insert_sales_channel(&first, "SAME-KEY").await?;

    let duplicate = store.insert_sales_channel(&second, "SAME-KEY").await;
    assert!(matches!(duplicate, Err(Error::Conflict)), "got {duplicate:?}");
    assert_eq!(store.sales_channel(second.id).await?, None);
    assert_eq!(
        store.sales_channel_by_access_key("SAME-KEY").await?,
        Some(first.clone())
    );

    let same_id = SalesChannel {
        id: first.id,
        name: "Other".to_owned(),
    };
    let duplicate_id = store.insert_sales_channel(&same_id, "OTHER-KEY").await;
    assert!(
        matches!(duplicate_id, Err(Error::Conflict)),
        "got {duplicate_id:?}"
    );
    assert_eq!(store.sales_channel(first.id).await?, Some(first));
    Ok(())
}

async fn duplicate_role_conflicts(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    store.insert_role("support", "Support", &["a"]).await?;
    let duplicate = store.insert_role("support", "Support again", &["b"]).await;
    assert!(matches!(duplicate, Err(Error::Conflict)), "got {duplicate:?}");

    // The first role kept its privileges and gained none of the duplicate's.
    let mut holder = new_principal(PrincipalKind::Admin, "holder@example.com");
    holder.roles = vec!["support".to_owned()];
    store.insert_principal(&holder).await?;
    let loaded = store.principal(holder.id).await?.expect("holder exists");
    assert_eq!(loaded.privileges, ["a"]);
    Ok(())
}

async fn decision_reads_bring_actor_target_and_policy_together(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let eu = channel("EU");
    store.insert_sales_channel(&eu, "K1").await?;
    store
        .insert_role("support", "Support", &[LOGIN_AS_CUSTOMER, "customer:read"])
        .await?;
    let admin = NewPrincipal {
        roles: vec!["support".to_owned()],
        ..new_principal(PrincipalKind::Admin, "ada@example.com")
    };
    let customer = NewPrincipal {
        sales_channel_ids: vec![eu.id],
        ..new_principal(PrincipalKind::Customer, "alice@example.com")
    };
    store.insert_principal(&admin).await?;
    store.insert_principal(&customer).await?;
    let scope = format!("sales_channel:{}", eu.id);

    // No policy row: on and read-write; each principal as `principal` loads it.
    let reads = store.decision_reads(admin.id, customer.id, Some(&scope)).await?;
    assert_eq!(
        reads,
        DecisionReads {
            actor: store.principal(admin.id).await?,
            target: store.principal(customer.id).await?,
            policy: Policy::default(),
        }
    );
    let actor = reads.actor.expect("the admin");
    assert_eq!(actor.privileges, [LOGIN_AS_CUSTOMER, "customer:read"]);
    assert_eq!(reads.target.expect("the customer").sales_channel_ids, [eu.id]);

    // The scope's policy row, and only that scope's.
    let read_only = Policy {
        enabled: true,
        read_only: true,
    };
    store.set_impersonation_policy(&scope, read_only).await?;
    store
        .set_impersonation_policy(
            "team:7",
            Policy {
                enabled: false,
                read_only: false,
            },
        )
        .await?;
    let reads = store.decision_reads(admin.id, customer.id, Some(&scope)).await?;
    assert_eq!(reads.policy, read_only);
    assert_eq!(
        store.decision_reads(admin.id, customer.id, None).await?.policy,
        Policy::default()
    );

    // One principal as both; an unknown one is none.
    let same = store.decision_reads(admin.id, admin.id, None).await?;
    assert_eq!(same.actor, same.target);
    assert!(same.actor.is_some());
    let unknown = store
        .decision_reads(admin.id, PrincipalId::new_random(), Some(&scope))
        .await?;
    assert!(unknown.actor.is_some() && unknown.target.is_none());
    assert_eq!(unknown.policy, read_only);
    Ok(())
}

async fn principal_has_sorted_distinct_privileges_and_channels(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let eu = channel("EU");
    let us = channel("US");
    let unused = channel("Unused");
    store.insert_sales_channel(&eu, "K1").await?;
    store.insert_sales_channel(&us, "K2").await?;
    store.insert_sales_channel(&unused, "K3").await?;
    store
        .insert_role(
            "support",
            "Support",
            &["order:read", LOGIN_AS_CUSTOMER, "customer:read"],
        )
        .await?;
    store
        .insert_role("viewer", "Viewer", &["customer:read", "audit:read"])
        .await?;
    store.insert_role("other", "Not held", &["secret:write"]).await?;

    let new = NewPrincipal {
        active: false,
        guest: true,
        roles: vec!["viewer".to_owned(), "support".to_owned()],
        sales_channel_ids: vec![us.id, eu.id],
        ..new_principal(PrincipalKind::Customer, "dana@example.com")
    };
    store.insert_principal(&new).await?;

    let mut channels = vec![eu.id, us.id];
    channels.sort();
    let expected = Principal {
        id: new.id,
        kind: PrincipalKind::Customer,
        email: "dana@example.com".to_owned(),
        display_name: new.display_name.clone(),
        active: false,
        guest: true,
        privileges: vec![
            LOGIN_AS_CUSTOMER.to_owned(),
            "audit:read".to_owned(),
            "customer:read".to_owned(),
            "order:read".to_owned(),
        ],
        sales_channel_ids: channels,
    };
    assert_eq!(store.principal(new.id).await?, Some(expected));

    let flags = NewPrincipal {
        active: true,
        guest: false,
        ..new_principal(PrincipalKind::Customer, "erin@example.com")
    };
    store.insert_principal(&flags).await?;
    let loaded = store.principal(flags.id).await?.expect("erin exists");
    assert!(loaded.active && !loaded.guest);
    assert_eq!(store.principal(PrincipalId::new_random()).await?, None);
    Ok(())
}

async fn principal_without_roles_has_no_privileges(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    store
        .insert_role("support", "Support", &[LOGIN_AS_CUSTOMER])
        .await?;
    let plain = new_principal(PrincipalKind::Admin, "plain@example.com");
    store.insert_principal(&plain).await?;
    let loaded = store.principal(plain.id).await?.expect("plain exists");
    assert!(loaded.privileges.is_empty(), "got {:?}", loaded.privileges);
    assert!(loaded.sales_channel_ids.is_empty());
    assert!(!loaded.holds(LOGIN_AS_CUSTOMER));
    Ok(())
}

async fn the_active_flag_changes_for_that_principal_only(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let leaving = new_principal(PrincipalKind::Admin, "leaving@example.com");
    let staying = new_principal(PrincipalKind::Customer, "staying@example.com");
    store.insert_principal(&leaving).await?;
    store.insert_principal(&staying).await?;
    assert!(store.set_principal_active(leaving.id, false).await?);
    assert!(!store.principal(leaving.id).await?.expect("kept").active);
    assert!(store.principal(staying.id).await?.expect("kept").active);
    assert!(store.set_principal_active(leaving.id, true).await?);
    assert!(store.principal(leaving.id).await?.expect("kept").active);
    assert!(
        !store
            .set_principal_active(PrincipalId::new_random(), false)
            .await?,
        "nobody has that id"
    );
    Ok(())
}

async fn credential_matches_kind_and_email(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let admin = new_principal(PrincipalKind::Admin, "sam@example.com");
    store.insert_principal(&admin).await?;

    let found = store
        .credential(PrincipalKind::Admin, "sam@example.com")
        .await?
        .expect("the admin's credential");
    assert_eq!(found.principal_id, admin.id);
    assert_eq!(found.password_hash, admin.password_hash);
    assert!(
        store
            .credential(PrincipalKind::Customer, "sam@example.com")
            .await?
            .is_none(),
        "same email, other kind"
    );
    assert!(
        store
            .credential(PrincipalKind::Admin, "nobody@example.com")
            .await?
            .is_none()
    );

    // The same email may belong to one principal of each kind.
    let customer = new_principal(PrincipalKind::Customer, "sam@example.com");
    store.insert_principal(&customer).await?;
    let found_customer = store
        .credential(PrincipalKind::Customer, "sam@example.com")
        .await?
        .expect("the customer's credential");
    assert_eq!(found_customer.principal_id, customer.id);
    let found_admin = store
        .credential(PrincipalKind::Admin, "sam@example.com")
        .await?
        .expect("the admin's credential");
    assert_eq!(found_admin.principal_id, admin.id);
    Ok(())
}

async fn duplicate_credential_conflicts_and_leaves_nothing(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let eu = channel("EU");
    store.insert_sales_channel(&eu, "K1").await?;
    store
        .insert_role("support", "Support", &[LOGIN_AS_CUSTOMER])
        .await?;
    let first = new_principal(PrincipalKind::Customer, "twin@example.com");
    store.insert_principal(&first).await?;

    let second = NewPrincipal {
        roles: vec!["support".to_owned()],
        sales_channel_ids: vec![eu.id],
        ..new_principal(PrincipalKind::Customer, "twin@example.com")
    };
    let duplicate = store.insert_principal(&second).await;
    assert!(matches!(duplicate, Err(Error::Conflict)), "got {duplicate:?}");
    assert_eq!(store.principal(second.id).await?, None);
    let credential = store
        .credential(PrincipalKind::Customer, "twin@example.com")
        .await?
        .expect("the first twin's credential");
    assert_eq!(credential.principal_id, first.id);
    let first_loaded = store.principal(first.id).await?.expect("first exists");
    assert!(first_loaded.privileges.is_empty() && first_loaded.sales_channel_ids.is_empty());

    let same_id = NewPrincipal {
        id: first.id,
        ..new_principal(PrincipalKind::Customer, "other@example.com")
    };
    let duplicate_id = store.insert_principal(&same_id).await;
    assert!(
        matches!(duplicate_id, Err(Error::Conflict)),
        "got {duplicate_id:?}"
    );
    assert!(
        store
            .credential(PrincipalKind::Customer, "other@example.com")
            .await?
            .is_none()
    );
    Ok(())
}

async fn failed_principal_insert_leaves_no_partial_rows(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let eu = channel("EU");
    store.insert_sales_channel(&eu, "K1").await?;
    store
        .insert_role("support", "Support", &[LOGIN_AS_CUSTOMER])
        .await?;

    let missing_role = NewPrincipal {
        roles: vec!["support".to_owned(), "no-such-role".to_owned()],
        sales_channel_ids: vec![eu.id],
        ..new_principal(PrincipalKind::Admin, "half@example.com")
    };
    assert!(store.insert_principal(&missing_role).await.is_err());
    assert_eq!(store.principal(missing_role.id).await?, None);
    assert!(
        store
            .credential(PrincipalKind::Admin, "half@example.com")
            .await?
            .is_none()
    );
    assert!(store.is_empty().await?);

    let missing_channel = NewPrincipal {
        roles: vec!["support".to_owned()],
        sales_channel_ids: vec![eu.id, SalesChannelId::new_random()],
        ..new_principal(PrincipalKind::Customer, "half@example.com")
    };
    assert!(store.insert_principal(&missing_channel).await.is_err());
    assert_eq!(store.principal(missing_channel.id).await?, None);
    assert!(store.is_empty().await?);

    // Nothing of the failed attempts is left: the same ids, roles and
    // channels insert cleanly, and only what this insert names shows up.
    let retried = NewPrincipal {
        roles: vec!["support".to_owned()],
        sales_channel_ids: Vec::new(),
        ..missing_role.clone()
    };
    store.insert_principal(&retried).await?;
    let loaded = store.principal(retried.id).await?.expect("retried exists");
    assert_eq!(loaded.privileges, [LOGIN_AS_CUSTOMER]);
    assert!(
        loaded.sales_channel_ids.is_empty(),
        "got {:?}",
        loaded.sales_channel_ids
    );

    let retried_customer = NewPrincipal {
        sales_channel_ids: vec![eu.id],
        ..missing_channel.clone()
    };
    store.insert_principal(&retried_customer).await?;
    let loaded = store
        .principal(retried_customer.id)
        .await?
        .expect("retried customer exists");
    assert_eq!(loaded.sales_channel_ids, [eu.id]);
    Ok(())
}

async fn rules_come_from_the_migration(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    assert_eq!(
        store.rules(Action::ImitateCustomer, PrincipalKind::Admin).await?,
        [Rule {
            target_kind: PrincipalKind::Customer,
            required_privilege: Some("api_proxy_login-as-customer".to_owned()),
            relation: None,
        }]
    );
    assert_eq!(
        store
            .rules(Action::ImpersonateTeamMember, PrincipalKind::Customer)
            .await?,
        [Rule {
            target_kind: PrincipalKind::Customer,
            required_privilege: None,
            relation: Some(Relation::AdministersTeamOfMember),
        }]
    );
    let mut operator_targets: Vec<PrincipalKind> = store
        .rules(Action::ImpersonateUser, PrincipalKind::Operator)
        .await?
        .into_iter()
        .map(|rule| rule.target_kind)
        .collect();
    operator_targets.sort_by_key(|kind| kind.as_str());
    // Admins and customers; no rule lets an operator act as an operator.
    assert_eq!(operator_targets, [PrincipalKind::Admin, PrincipalKind::Customer]);
    for (action, actor) in [
        (Action::ImitateCustomer, PrincipalKind::Customer),
        (Action::ImitateCustomer, PrincipalKind::Operator),
        (Action::ImpersonateUser, PrincipalKind::Admin),
        (Action::ImpersonateTeamMember, PrincipalKind::Admin),
    ] {
        assert_eq!(store.rules(action, actor).await?, [], "{action:?} by {actor}");
    }
    Ok(())
}

async fn storefront_domains_find_their_channel(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let eu = channel("Storefront EU");
    let headless = channel("Headless");
    store.insert_sales_channel(&eu, "KEY-EU").await?;
    store.insert_sales_channel(&headless, "KEY-HL").await?;
    store
        .insert_sales_channel_domain(eu.id, "https://Shop.Example.EU/")
        .await?;
    store
        .insert_sales_channel_domain(eu.id, "http://127.0.0.1:8080")
        .await?;

    assert_eq!(
        store.sales_channel_by_host("shop.example.eu").await?,
        Some(eu.clone())
    );
    assert_eq!(
        store.sales_channel_by_host("127.0.0.1:8080").await?,
        Some(eu.clone())
    );
    assert_eq!(
        store.sales_channel_by_host("127.0.0.1").await?,
        None,
        "the port counts"
    );
    assert_eq!(store.sales_channel_by_host("").await?, None);

    // A host serves one channel.
    let taken = store
        .insert_sales_channel_domain(headless.id, "http://shop.example.eu")
        .await;
    assert!(matches!(taken, Err(Error::Conflict)), "got {taken:?}");
    for bad in [
        "ftp://shop.example",
        "shop.example",
        "https://",
        "https://user@shop.example",
    ] {
        let refused = store.insert_sales_channel_domain(headless.id, bad).await;
        assert!(matches!(refused, Err(Error::InvalidDomain)), "{bad}: {refused:?}");
    }

    let mut ids = vec![headless.id, eu.id];
    ids.sort();
    let mut expected = vec![
        StorefrontChannel {
            id: eu.id,
            name: eu.name.clone(),
            domain_urls: vec!["http://127.0.0.1:8080".into(), "https://Shop.Example.EU".into()],
        },
        StorefrontChannel {
            id: headless.id,
            name: headless.name.clone(),
            domain_urls: Vec::new(),
        },
    ];
    expected.sort_by_key(|channel| channel.id);
    assert_eq!(store.storefront_channels(&ids).await?, expected);
    assert_eq!(store.storefront_channels(&[]).await?, Vec::new());
    assert_eq!(
        store.storefront_channels(&[SalesChannelId::new_random()]).await?,
        Vec::new()
    );
    Ok(())
}

async fn customer_search_matches_pages_and_escapes(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let eu = channel("EU");
    store.insert_sales_channel(&eu, "KEY-EU").await?;
    let mut inserted = Vec::new();
    for (email, name) in [
        ("zoe@example.com", "Zoë Zimmer"),
        ("adam@example.com", "adam lower"),
        ("ben@shop.test", "Ben 100% Real"),
        ("cleo_x@example.com", "Cleo"),
    ] {
        let customer = NewPrincipal {
            display_name: name.to_owned(),
            sales_channel_ids: vec![eu.id],
            ..new_principal(PrincipalKind::Customer, email)
        };
        store.insert_principal(&customer).await?;
        inserted.push(customer);
    }
    // Admins are never found by a customer search.
    store
        .insert_principal(&new_principal(PrincipalKind::Admin, "admin@example.com"))
        .await?;

    let names = |found: &[Principal]| found.iter().map(|p| p.display_name.clone()).collect::<Vec<_>>();
    let (total, all) = store.search_customers("", 0, 10).await?;
    assert_eq!(total, 4);
    assert_eq!(
        names(&all),
        ["adam lower", "Ben 100% Real", "Cleo", "Zoë Zimmer"],
        "by name, any case"
    );
    assert!(
        all.iter()
            .all(|p| p.kind == PrincipalKind::Customer && p.sales_channel_ids == [eu.id])
    );

    let (total, page) = store.search_customers("", 1, 2).await?;
    assert_eq!(
        (total, names(&page)),
        (4, vec!["Ben 100% Real".to_owned(), "Cleo".to_owned()])
    );
    let (total, past) = store.search_customers("", 8, 2).await?;
    assert_eq!((total, past.len()), (4, 0));

    assert_eq!(
        store.search_customers("EXAMPLE.COM", 0, 10).await?.0,
        3,
        "email, any case"
    );
    assert_eq!(
        store.search_customers("LOWER", 0, 10).await?.0,
        1,
        "name, any case"
    );
    assert_eq!(store.search_customers("100%", 0, 10).await?.0, 1);
    assert_eq!(
        store.search_customers("%", 0, 10).await?.0,
        1,
        "only the name with a %"
    );
    assert_eq!(
        store.search_customers("o_x", 0, 10).await?.0,
        1,
        "_ is no wildcard"
    );
    assert_eq!(store.search_customers("e_x", 0, 10).await?.0, 0);
    assert_eq!(store.search_customers("nobody", 0, 10).await?, (0, Vec::new()));
    Ok(())
}

async fn a_principal_search_finds_the_kinds_asked_only(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let eu = channel("EU");
    store.insert_sales_channel(&eu, "KEY-EU").await?;
    let customer = NewPrincipal {
        display_name: "Carla Customer".to_owned(),
        sales_channel_ids: vec![eu.id],
        ..new_principal(PrincipalKind::Customer, "carla@example.com")
    };
    let admin = NewPrincipal {
        display_name: "Anna Admin".to_owned(),
        ..new_principal(PrincipalKind::Admin, "anna@example.com")
    };
    let operator = NewPrincipal {
        display_name: "Otto Operator".to_owned(),
        ..new_principal(PrincipalKind::Operator, "otto@example.com")
    };
    for principal in [&customer, &admin, &operator] {
        store.insert_principal(principal).await?;
    }
    let found = |kinds: &'static [PrincipalKind], term: &'static str| {
        let store = store.clone();
        async move {
            let (total, page) = store.search_principals(kinds, term, 0, 10).await?;
            let ids: Vec<(PrincipalId, PrincipalKind)> = page.iter().map(|p| (p.id, p.kind)).collect();
            anyhow::Ok((total, ids, page))
        }
    };
    let (total, ids, page) = found(&[PrincipalKind::Admin, PrincipalKind::Customer], "example.com").await?;
    assert_eq!(
        (total, ids),
        (
            2,
            vec![
                (admin.id, PrincipalKind::Admin),
                (customer.id, PrincipalKind::Customer)
            ]
        ),
        "by name, never the operator"
    );
    assert_eq!(page[1].sales_channel_ids, [eu.id], "a customer with its channels");
    assert!(page[0].sales_channel_ids.is_empty());
    let (total, ids, _) = found(&[PrincipalKind::Operator], "OTTO").await?;
    assert_eq!((total, ids), (1, vec![(operator.id, PrincipalKind::Operator)]));
    let (total, ids, _) = found(&[PrincipalKind::Admin], "carla").await?;
    assert_eq!((total, ids), (0, Vec::new()), "a customer is no admin");
    assert_eq!(found(&[], "").await?.0, 0, "no kind, nobody");
    Ok(())
}

async fn policy_defaults_to_on_and_opt_outs_toggle(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let on = Policy {
        enabled: true,
        read_only: false,
    };
    assert_eq!(
        store.impersonation_policy("sales_channel:x").await?,
        on,
        "no row: on, read-write"
    );
    let off = Policy {
        enabled: false,
        read_only: false,
    };
    store.set_impersonation_policy("sales_channel:x", off).await?;
    assert_eq!(store.impersonation_policy("sales_channel:x").await?, off);
    assert_eq!(
        store.impersonation_policy("team:1").await?,
        on,
        "scopes are separate"
    );
    let read_only = Policy {
        enabled: true,
        read_only: true,
    };
    store
        .set_impersonation_policy("sales_channel:x", read_only)
        .await?;
    assert_eq!(
        store.impersonation_policy("sales_channel:x").await?,
        read_only,
        "both flags are kept"
    );
    store.set_impersonation_policy("sales_channel:x", on).await?;
    assert_eq!(store.impersonation_policy("sales_channel:x").await?, on);
    store.insert_team(77, "Initech").await?;
    assert!(store.team_exists(77).await?);
    assert!(!store.team_exists(78).await?);

    let person = new_principal(PrincipalKind::Customer, "pia@example.com");
    store.insert_principal(&person).await?;
    assert!(!store.team_impersonation_opted_out(person.id).await?);
    store.set_team_impersonation_opt_out(person.id, true).await?;
    store.set_team_impersonation_opt_out(person.id, true).await?;
    assert!(store.team_impersonation_opted_out(person.id).await?, "idempotent");
    store.set_team_impersonation_opt_out(person.id, false).await?;
    assert!(!store.team_impersonation_opted_out(person.id).await?);
    Ok(())
}

async fn context_options_belong_to_their_channel(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let (eu, us) = (channel("EU"), channel("US"));
    store.insert_sales_channel(&eu, "OPTIONS-EU").await?;
    store.insert_sales_channel(&us, "OPTIONS-US").await?;
    assert!(
        store.context_options(eu.id).await?.is_empty(),
        "nothing offered yet"
    );
    let option = |kind, is_default| ContextOption {
        kind,
        id: uuid::Uuid::new_v4(),
        is_default,
    };
    let offered = [
        option(OptionKind::Language, true),
        option(OptionKind::Language, false),
        option(OptionKind::Currency, true),
        option(OptionKind::PaymentMethod, false),
    ];
    for one in &offered {
        store.insert_context_option(eu.id, one).await?;
    }
    let us_only = option(OptionKind::Currency, true);
    store.insert_context_option(us.id, &us_only).await?;

    let mut found = store.context_options(eu.id).await?;
    let mut expected = offered.to_vec();
    let order = |o: &ContextOption| (o.kind.as_str(), o.id);
    found.sort_by_key(order);
    expected.sort_by_key(order);
    assert_eq!(found, expected);
    assert_eq!(store.context_options(us.id).await?, vec![us_only]);
    assert!(
        store
            .context_options(SalesChannelId::new_random())
            .await?
            .is_empty()
    );
    let twice = store.insert_context_option(eu.id, &offered[0]).await;
    assert!(matches!(twice, Err(Error::Conflict)), "got {twice:?}");
    Ok(())
}

async fn replaced_domains_are_the_channels_only_ones(store: Arc<dyn DirectoryStore>) -> anyhow::Result<()> {
    let (eu, ch) = (channel("EU"), channel("CH"));
    store.insert_sales_channel(&eu, "DOMAINS-EU").await?;
    store.insert_sales_channel(&ch, "DOMAINS-CH").await?;
    store
        .insert_sales_channel_domain(eu.id, "http://127.0.0.1:8080")
        .await?;
    store
        .insert_sales_channel_domain(eu.id, "http://eu.localhost:8080")
        .await?;
    store
        .insert_sales_channel_domain(ch.id, "http://localhost:8080")
        .await?;

    store
        .replace_sales_channel_domains(eu.id, &["http://127.0.0.1:9090/".to_owned()])
        .await?;
    let found = |host: &'static str| {
        let store = store.clone();
        async move { store.sales_channel_by_host(host).await.map(|c| c.map(|c| c.id)) }
    };
    assert_eq!(found("127.0.0.1:9090").await?, Some(eu.id));
    assert_eq!(found("127.0.0.1:8080").await?, None);
    assert_eq!(found("eu.localhost:8080").await?, None);
    assert_eq!(
        found("localhost:8080").await?,
        Some(ch.id),
        "other channels keep theirs"
    );

    // All or nothing: a host another channel holds leaves the old domains.
    let taken = store
        .replace_sales_channel_domains(
            eu.id,
            &[
                "http://127.0.0.1:7070".to_owned(),
                "http://localhost:8080".to_owned(),
            ],
        )
        .await;
    assert!(matches!(taken, Err(Error::Conflict)), "got {taken:?}");
    assert_eq!(found("127.0.0.1:9090").await?, Some(eu.id));
    assert_eq!(found("127.0.0.1:7070").await?, None);
    Ok(())
}

async fn a_teams_profiles_are_its_members_with_their_roles(
    store: Arc<dyn DirectoryStore>,
) -> anyhow::Result<()> {
    let (ann, ben) = (
        new_principal(PrincipalKind::Customer, "ann@example.com"),
        new_principal(PrincipalKind::Customer, "ben@example.com"),
    );
    store.insert_principal(&ann).await?;
    store.insert_principal(&ben).await?;
    store.insert_team(41, "Initrode").await?;
    store.insert_team(42, "Hooli").await?;
    let profile = |id, person: &NewPrincipal, team_id, team_name: &str, role| Profile {
        id,
        person_id: person.id,
        team_id,
        team_name: team_name.to_owned(),
        role,
        full_name: person.display_name.clone(),
    };
    let ann_admin = profile(4102, &ann, 41, "Initrode", TeamRole::Admin);
    let ben_member = profile(4101, &ben, 41, "Initrode", TeamRole::Member);
    let ann_elsewhere = profile(4201, &ann, 42, "Hooli", TeamRole::Owner);
    for profile in [&ann_admin, &ben_member, &ann_elsewhere] {
        store.insert_profile(profile).await?;
    }
    assert_eq!(
        store.team_profiles(41).await?,
        [ben_member, ann_admin],
        "by id, roles and names kept"
    );
    assert_eq!(store.team_profiles(42).await?, [ann_elsewhere]);
    assert_eq!(store.team_profiles(43).await?, []);
    Ok(())
}
