//! Micro-benchmarks of the permission decision (`Permission::authorize`) over
//! the demo directory in SQLite: an allowed login-as-customer, an allowed
//! team impersonation, and a denial for a missing privilege. Also one argon2id
//! verification, which is what makes every password login slow on purpose.
//!
//! `cargo bench -p actas-permission`

use std::{hint::black_box, path::PathBuf, sync::Arc};

use actas_permission::{
    Directory, Permission,
    model::{Action, Target},
    password, seed,
    store::{self, SqlDirectory},
};
use actas_shared::{
    db::Pool,
    ids::{PrincipalId, SalesChannelId},
};
use criterion::{Criterion, criterion_group, criterion_main};

/// A scratch SQLite file, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn decision(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let scratch = Scratch(std::env::temp_dir().join(format!("actas-bench-{}.db", std::process::id())));
    let directory = runtime.block_on(async {
        let url = format!("sqlite://{}", scratch.0.display());
        let pool = Pool::connect(&url, 1).await.expect("a SQLite pool");
        pool.migrate(&store::MIGRATIONS).await.expect("migrations");
        let store = SqlDirectory::new(pool);
        seed::seed_demo(&store, 8080).await.expect("the demo directory");
        Directory::new(Arc::new(store))
    });

    let admin = PrincipalId::from_uuid(seed::ADMIN);
    let viewer = PrincipalId::from_uuid(seed::VIEWER);
    let tina = PrincipalId::from_uuid(seed::TINA);
    let alice = Target::Principal(PrincipalId::from_uuid(seed::ALICE));
    let eu = Some(SalesChannelId::from_uuid(seed::STOREFRONT_EU));
    let cases = [
        (
            "authorize/imitate_customer_allowed",
            admin,
            Action::ImitateCustomer,
            alice,
            eu,
            true,
        ),
        (
            "authorize/team_member_allowed",
            tina,
            Action::ImpersonateTeamMember,
            Target::Profile(seed::PROFILE_MAX_ACME),
            None,
            true,
        ),
        (
            "authorize/missing_privilege_denied",
            viewer,
            Action::ImitateCustomer,
            alice,
            eu,
            false,
        ),
    ];
    for (name, actor, action, target, audience, allowed) in cases {
        // Check once that the case decides as its name says, so the numbers mean what they claim.
        let first = runtime
            .block_on(directory.authorize(actor, action, target, audience))
            .expect("a decision");
        assert_eq!(first.denial.is_none(), allowed, "{name}: {:?}", first.denial);
        c.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter(|| directory.authorize(black_box(actor), action, black_box(target), audience))
        });
    }
}

fn argon2(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let stored = password::hash("admin-demo-password").expect("a hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id_verify", |b| {
        b.to_async(&runtime).iter(|| {
            password::verify_blocking(black_box("admin-demo-password".to_owned()), Some(stored.clone()))
        })
    });
    group.finish();
}

criterion_group!(benches, decision, argon2);
criterion_main!(benches);
