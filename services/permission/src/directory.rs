//! The permission service's domain: authenticate principals and decide who
//! may act as whom. The rules live in the store as data; this module only
//! evaluates them, in an order that never tells an unprivileged actor
//! whether a target exists.

use std::{sync::Arc, time::Duration};

use actas_shared::{
    ApiError, ErrorCode,
    audience::Audience,
    cache::TtlCache,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};
use async_trait::async_trait;

use crate::{
    error::Error,
    model::{
        Action, CUSTOMER_READ, ContextOption, CustomerPage, DEACTIVATE_PRINCIPALS, Decision, MANAGE_POLICY,
        Policy, PolicyScope, Principal, Profile, Relation, ResolvedTarget, Rule, SYS_IMPERSONATE_USERS,
        SalesChannel, Target, UserPage, a_kind, normalize_email,
    },
    password,
    store::DirectoryStore,
};

/// What the permission service does; the gRPC adapter and tests call this.
#[async_trait]
pub trait Permission: Send + Sync + 'static {
    async fn authenticate(
        &self,
        kind: PrincipalKind,
        email: &str,
        password: &str,
        sales_channel: Option<SalesChannelId>,
    ) -> Result<Principal, Error>;

    /// Decides whether `actor` may perform `action` on `target`. For
    /// [`Action::ImitateCustomer`], `audience` is the sales channel.
    async fn authorize(
        &self,
        actor: PrincipalId,
        action: Action,
        target: Target,
        audience: Option<SalesChannelId>,
    ) -> Result<Decision, Error>;

    /// The profiles a person holds, by id.
    async fn profiles(&self, person: PrincipalId) -> Result<Vec<Profile>, Error>;

    /// The profiles of a team (its members), by id.
    async fn team_profiles(&self, team: i64) -> Result<Vec<Profile>, Error>;

    async fn profile(&self, id: i64) -> Result<Profile, Error>;

    async fn principal(&self, id: PrincipalId) -> Result<Principal, Error>;

    async fn resolve_sales_channel(&self, access_key: &str) -> Result<SalesChannel, Error>;

    /// The sales channel served on a storefront host (`host[:port]`).
    async fn sales_channel_by_host(&self, host: &str) -> Result<SalesChannel, Error>;

    /// A page (1-based) of the customers whose email or name contains
    /// `term`, for an admin holding [`CUSTOMER_READ`].
    async fn search_customers(
        &self,
        actor: PrincipalId,
        term: &str,
        page: i64,
        limit: i64,
    ) -> Result<CustomerPage, Error>;

    /// A page (1-based) of the users an operator holding
    /// [`SYS_IMPERSONATE_USERS`] may act as (admins and customers, never
    /// another operator) whose email or name contains `term`.
    async fn search_users(
        &self,
        actor: PrincipalId,
        term: &str,
        page: i64,
        limit: i64,
    ) -> Result<UserPage, Error>;

    /// What a sales channel offers a storefront context (an unknown
    /// channel offers nothing).
    async fn context_options(&self, channel: SalesChannelId) -> Result<Vec<ContextOption>, Error>;

    /// Whether the person lets their team administrators act as them.
    async fn team_impersonation_consent(&self, person: PrincipalId) -> Result<bool, Error>;
    async fn set_team_impersonation_consent(&self, person: PrincipalId, allowed: bool)
    -> Result<bool, Error>;

    /// Deactivates (or reactivates) `target`, for an admin or operator
    /// holding [`DEACTIVATE_PRINCIPALS`] who outranks it: nobody switches
    /// off an equal or a superior, nor themself. The principal as it is now.
    async fn set_principal_active(
        &self,
        actor: PrincipalId,
        target: PrincipalId,
        active: bool,
    ) -> Result<Principal, Error>;

    /// The policy of `scope`, for an admin or operator holding [`MANAGE_POLICY`].
    async fn impersonation_policy(
        &self,
        actor: PrincipalId,
        scope: &str,
    ) -> Result<(PolicyScope, Policy), Error>;
    /// Sets the policy of an existing sales channel or team. Live
    /// impersonations follow within the session service's re-check interval.
    async fn set_impersonation_policy(
        &self,
        actor: PrincipalId,
        scope: &str,
        policy: Policy,
    ) -> Result<(PolicyScope, Policy), Error>;
}

/// The largest page a customer search returns.
pub const MAX_SEARCH_LIMIT: i64 = 100;

/// [`Permission`] over a [`DirectoryStore`].
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn DirectoryStore>,
    /// The rules and the sales channels are configuration, read by every
    /// decision and changed by deployments, not by users: trusted for
    /// [`CONFIGURATION_TTL`]. Who the actor and the target are, their
    /// rights and the policy are read fresh each time.
    rules: Arc<TtlCache<(Action, PrincipalKind), Vec<Rule>>>,
    channels: Arc<TtlCache<SalesChannelId, SalesChannel>>,
}

/// How long a decision may use a rule or sales channel read before.
const CONFIGURATION_TTL: Duration = Duration::from_secs(1);

impl Directory {
    pub fn new(store: Arc<dyn DirectoryStore>) -> Self {
        Self {
            store,
            rules: Arc::new(TtlCache::new("rules", CONFIGURATION_TTL, 64)),
            channels: Arc::new(TtlCache::new("sales_channel", CONFIGURATION_TTL, 1_024)),
        }
    }

    async fn rules(&self, action: Action, actor_kind: PrincipalKind) -> Result<Vec<Rule>, Error> {
        if let Some(rules) = self.rules.get(&(action, actor_kind)) {
            return Ok(rules);
        }
        let rules = self.store.rules(action, actor_kind).await?;
        self.rules.put((action, actor_kind), rules.clone());
        Ok(rules)
    }

    async fn sales_channel(&self, id: SalesChannelId) -> Result<Option<SalesChannel>, Error> {
        if let Some(channel) = self.channels.get(&id) {
            return Ok(Some(channel));
        }
        // Only channels that exist are kept: unknown ids cannot fill the cache.
        let channel = self.store.sales_channel(id).await?;
        if let Some(channel) = &channel {
            self.channels.put(id, channel.clone());
        }
        Ok(channel)
    }

    /// The actor, when it is active, of one of `kinds`, and holds
    /// `privilege`: unknown or inactive is unauthorized, anything else
    /// misses the privilege (and learns nothing more).
    async fn privileged(
        &self,
        actor_id: PrincipalId,
        kinds: &[PrincipalKind],
        privilege: &str,
    ) -> Result<Principal, Error> {
        let Some(actor) = self.store.principal(actor_id).await?.filter(|a| a.active) else {
            return Err(Error::Denied(ApiError::unauthorized()));
        };
        if !kinds.contains(&actor.kind) || !actor.holds(privilege) {
            return Err(Error::Denied(ApiError::missing_privileges(vec![
                privilege.to_owned(),
            ])));
        }
        Ok(actor)
    }

    /// The scope named by `text`, once the actor is found to hold
    /// [`MANAGE_POLICY`] (privilege first: nobody else learns which
    /// channels or teams exist) and the scope to exist.
    async fn policy_scope(&self, actor_id: PrincipalId, text: &str) -> Result<PolicyScope, Error> {
        self.privileged(
            actor_id,
            &[PrincipalKind::Admin, PrincipalKind::Operator],
            MANAGE_POLICY,
        )
        .await?;
        let scope = PolicyScope::parse(text).ok_or(Error::InvalidScope)?;
        let exists = match scope {
            PolicyScope::SalesChannel(id) => self.store.sales_channel(id).await?.is_some(),
            PolicyScope::Team(id) => self.store.team_exists(id).await?,
        };
        if !exists {
            return Err(Error::ScopeNotFound);
        }
        Ok(scope)
    }

    /// Whether `actor` stands in `relation` to the target; `Err` carries the denial.
    async fn check_relation(
        &self,
        relation: Relation,
        actor: &Principal,
        target_profile: Option<&Profile>,
    ) -> Result<Result<(), ApiError>, Error> {
        match relation {
            Relation::AdministersTeamOfMember => {
                let Some(target) = target_profile else {
                    return Ok(Err(not_allowed("This action targets a team profile.".into())));
                };
                let administers = self
                    .store
                    .profiles_of(actor.id)
                    .await?
                    .iter()
                    .any(|own| own.team_id == target.team_id && own.role.administers());
                if !administers {
                    return Ok(Err(not_allowed(format!(
                        "Only administrators of team {:?} may impersonate its members.",
                        target.team_name
                    ))));
                }
                if target.role.administers() {
                    return Ok(Err(not_allowed(
                        "Administrators and owners of a team cannot be impersonated.".into(),
                    )));
                }
                Ok(Ok(()))
            }
        }
    }

    pub fn store(&self) -> &Arc<dyn DirectoryStore> {
        &self.store
    }
}

#[async_trait]
impl Permission for Directory {
    #[tracing::instrument(skip(self, email, password))]
    async fn authenticate(
        &self,
        kind: PrincipalKind,
        email: &str,
        password: &str,
        sales_channel: Option<SalesChannelId>,
    ) -> Result<Principal, Error> {
        let email = normalize_email(email);
        let credential = self.store.credential(kind, &email).await?;
        let stored_hash = credential.as_ref().map(|c| c.password_hash.clone());
        // Always verify, even for an unknown email, so timing does not tell.
        let verified = password::verify_blocking(password.to_owned(), stored_hash).await?;
        let Some(credential) = credential.filter(|_| verified) else {
            return Err(Error::BadCredentials(kind));
        };
        let principal = self
            .store
            .principal(credential.principal_id)
            .await?
            .ok_or(Error::BadCredentials(kind))?;
        // An inactive principal, or a customer on a channel they are not bound
        // to, gets the same answer as a wrong password: nothing to learn.
        let channel_ok = match (kind, sales_channel) {
            (PrincipalKind::Customer, Some(channel)) => principal.sales_channel_ids.contains(&channel),
            // The public (coworker) API signs customers in without a channel.
            (PrincipalKind::Customer, None) => true,
            _ => true,
        };
        if !principal.active || principal.guest || !channel_ok {
            return Err(Error::BadCredentials(kind));
        }
        Ok(principal)
    }

    #[tracing::instrument(skip(self))]
    async fn authorize(
        &self,
        actor_id: PrincipalId,
        action: Action,
        target: Target,
        audience: Option<SalesChannelId>,
    ) -> Result<Decision, Error> {
        // A team impersonation names a profile: it says who the person is
        // and whose team's policy applies (the one read before the others).
        let profile = match target {
            Target::Profile(id) => self.store.profile(id).await?,
            Target::Principal(_) => None,
        };
        let target_id = match target {
            Target::Principal(id) => Some(id),
            Target::Profile(_) => profile.as_ref().map(|p| p.person_id),
        };
        let scope = match (action, audience, &profile) {
            (Action::ImitateCustomer, Some(audience), _) => Some(format!("sales_channel:{audience}")),
            (Action::ImitateCustomer, None, _) => None,
            (_, _, Some(profile)) => Some(format!("team:{}", profile.team_id)),
            (_, _, None) => None,
        };
        // Actor, target and policy in one round trip. What the answer
        // tells still follows the order below: an actor without the
        // privilege learns nothing about the target.
        let reads = self
            .store
            .decision_reads(actor_id, target_id.unwrap_or(actor_id), scope.as_deref())
            .await?;
        let Some(actor) = reads.actor.filter(|a| a.active) else {
            return Ok(Decision::deny(ApiError::unauthorized()));
        };
        let rules = self.rules(action, actor.kind).await?;
        if rules.is_empty() {
            return Ok(Decision::deny(not_allowed(format!(
                "{} may not {} anyone.",
                capitalized(&a_kind(actor.kind)),
                action.in_words()
            ))));
        }
        // Privileges first: an actor without them learns nothing about targets.
        let usable: Vec<&Rule> = rules
            .iter()
            .filter(|rule| rule.required_privilege.as_deref().is_none_or(|p| actor.holds(p)))
            .collect();
        if usable.is_empty() {
            let mut missing: Vec<String> = rules
                .iter()
                .filter_map(|r| r.required_privilege.clone())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            return Ok(Decision::deny(ApiError::missing_privileges(missing)));
        }

        let channel = match (action, audience) {
            (Action::ImitateCustomer, Some(audience)) => match self.sales_channel(audience).await? {
                Some(channel) => Some(channel),
                None => {
                    return Ok(Decision::deny(ApiError::new(
                        ErrorCode::SalesChannelNotFound,
                        "No sales channel has this id.",
                    )));
                }
            },
            (Action::ImitateCustomer, None) => {
                return Ok(Decision::deny(ApiError::new(
                    ErrorCode::MissingParameter,
                    "salesChannelId is required.",
                )));
            }
            _ => None,
        };

        let target = target_id.and(reads.target);
        let rule = target
            .as_ref()
            .and_then(|t| usable.iter().find(|rule| rule.target_kind == t.kind));
        let (Some(target), Some(rule)) = (target.as_ref(), rule) else {
            return Ok(Decision::deny(match (action, &target) {
                // "Customer" routes: anything that is not a customer does not exist.
                (Action::ImitateCustomer | Action::ImpersonateTeamMember, _) | (_, None) => {
                    ApiError::new(ErrorCode::CustomerNotFound, "No customer has this id.")
                }
                (Action::ImpersonateUser, Some(target)) => not_allowed(format!(
                    "{} may not {} {}.",
                    capitalized(&a_kind(actor.kind)),
                    action.in_words(),
                    a_kind(target.kind)
                )),
            }));
        };
        if target.id == actor.id {
            return Ok(Decision::deny(not_allowed(
                "Nobody impersonates themself.".into(),
            )));
        }
        if let Err(denial) = outranks(&actor, target) {
            return Ok(Decision::deny(denial));
        }
        if let Some(relation) = rule.relation
            && let Err(denial) = self.check_relation(relation, &actor, profile.as_ref()).await?
        {
            return Ok(Decision::deny(denial));
        }
        if !target.active {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerInactive,
                "The target is inactive.",
            )));
        }
        if target.guest {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerIsGuest,
                "Guest customers cannot be logged in as.",
            )));
        }
        if let Some(channel) = &channel
            && !target.sales_channel_ids.contains(&channel.id)
        {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerNotInSalesChannel,
                "The customer may not use this sales channel.",
            )));
        }
        // Policy as data, last: it says where impersonation happens at all,
        // and whether this person let their team administrators in.
        let policy = reads.policy;
        if !policy.enabled {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::ImpersonationDisabled,
                format!("Impersonation is switched off for {}.", scope.unwrap_or_default()),
            )));
        }
        if profile.is_some() && self.store.team_impersonation_opted_out(target.id).await? {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::ImpersonationOptedOut,
                "This person does not allow their team administrators to act as them.",
            )));
        }

        let mut reason = format!("{} {} -> {}", action.as_str(), actor.kind, target.kind);
        if let Some(privilege) = &rule.required_privilege {
            reason.push_str(&format!("; actor holds {privilege}"));
        }
        let audience = match (&channel, &profile) {
            (Some(channel), _) => {
                reason.push_str(&format!(
                    "; target active and bound to sales channel {:?}",
                    channel.name
                ));
                Audience::SalesChannel(channel.id)
            }
            (None, Some(profile)) => {
                reason.push_str(&format!(
                    "; actor administers team {:?}, target profile {} is a member",
                    profile.team_name, profile.id
                ));
                Audience::Team(profile.team_id)
            }
            (None, None) => Audience::System,
        };
        if policy.read_only {
            reason.push_str("; read-only by policy");
        }
        Ok(Decision {
            read_only: policy.read_only,
            ..Decision::allow(
                reason,
                ResolvedTarget {
                    principal_id: target.id,
                    kind: target.kind,
                    profile_id: profile.map(|p| p.id),
                },
                audience,
            )
        })
    }

    async fn profiles(&self, person: PrincipalId) -> Result<Vec<Profile>, Error> {
        Ok(self.store.profiles_of(person).await?)
    }

    async fn team_profiles(&self, team: i64) -> Result<Vec<Profile>, Error> {
        Ok(self.store.team_profiles(team).await?)
    }

    async fn profile(&self, id: i64) -> Result<Profile, Error> {
        self.store.profile(id).await?.ok_or(Error::ProfileNotFound)
    }

    async fn principal(&self, id: PrincipalId) -> Result<Principal, Error> {
        self.store.principal(id).await?.ok_or(Error::PrincipalNotFound)
    }

    async fn resolve_sales_channel(&self, access_key: &str) -> Result<SalesChannel, Error> {
        if access_key.is_empty() {
            return Err(Error::UnknownAccessKey);
        }
        self.store
            .sales_channel_by_access_key(access_key)
            .await?
            .ok_or(Error::UnknownAccessKey)
    }

    async fn sales_channel_by_host(&self, host: &str) -> Result<SalesChannel, Error> {
        self.store
            .sales_channel_by_host(&host.to_ascii_lowercase())
            .await?
            .ok_or(Error::UnknownDomain)
    }

    async fn context_options(&self, channel: SalesChannelId) -> Result<Vec<ContextOption>, Error> {
        Ok(self.store.context_options(channel).await?)
    }

    async fn team_impersonation_consent(&self, person: PrincipalId) -> Result<bool, Error> {
        Ok(!self.store.team_impersonation_opted_out(person).await?)
    }

    async fn set_team_impersonation_consent(
        &self,
        person: PrincipalId,
        allowed: bool,
    ) -> Result<bool, Error> {
        let principal = self.principal(person).await?;
        if principal.kind != PrincipalKind::Customer {
            return Err(Error::PrincipalNotFound);
        }
        self.store
            .set_team_impersonation_opt_out(person, !allowed)
            .await?;
        Ok(allowed)
    }

    async fn impersonation_policy(
        &self,
        actor: PrincipalId,
        scope: &str,
    ) -> Result<(PolicyScope, Policy), Error> {
        let scope = self.policy_scope(actor, scope).await?;
        let policy = self.store.impersonation_policy(&scope.to_string()).await?;
        Ok((scope, policy))
    }

    #[tracing::instrument(skip(self))]
    async fn set_principal_active(
        &self,
        actor_id: PrincipalId,
        target_id: PrincipalId,
        active: bool,
    ) -> Result<Principal, Error> {
        let actor = self
            .privileged(
                actor_id,
                &[PrincipalKind::Admin, PrincipalKind::Operator],
                DEACTIVATE_PRINCIPALS,
            )
            .await?;
        // The privilege is checked before the target is looked up: an
        // admin without it learns nothing about who exists.
        let mut target = self.principal(target_id).await?;
        let refused =
            |detail: String| Error::Denied(ApiError::new(ErrorCode::DeactivationNotAllowed, detail));
        if target.id == actor.id {
            return Err(refused("Nobody deactivates themself.".into()));
        }
        // Operators stand above admins: an admin never switches one off.
        if actor.kind == PrincipalKind::Admin && target.kind == PrincipalKind::Operator {
            return Err(refused("An admin does not deactivate an operator.".into()));
        }
        // The ranking of impersonation: nobody switches off an equal or a superior.
        outranks(&actor, &target).map_err(|denied| refused(denied.detail))?;
        if !self.store.set_principal_active(target_id, active).await? {
            return Err(Error::PrincipalNotFound);
        }
        target.active = active;
        tracing::info!(principal = %target_id, active, "principal active flag set");
        Ok(target)
    }

    #[tracing::instrument(skip(self))]
    async fn set_impersonation_policy(
        &self,
        actor: PrincipalId,
        scope: &str,
        policy: Policy,
    ) -> Result<(PolicyScope, Policy), Error> {
        let scope = self.policy_scope(actor, scope).await?;
        self.store
            .set_impersonation_policy(&scope.to_string(), policy)
            .await?;
        tracing::info!(%scope, enabled = policy.enabled, read_only = policy.read_only, "impersonation policy set");
        Ok((scope, policy))
    }

    #[tracing::instrument(skip(self, term))]
    async fn search_customers(
        &self,
        actor_id: PrincipalId,
        term: &str,
        page: i64,
        limit: i64,
    ) -> Result<CustomerPage, Error> {
        let offset = search_offset(page, limit)?;
        self.privileged(actor_id, &[PrincipalKind::Admin], CUSTOMER_READ)
            .await?;
        let (total, customers) = self.store.search_customers(term.trim(), offset, limit).await?;
        let mut channel_ids: Vec<SalesChannelId> = customers
            .iter()
            .flat_map(|customer| customer.sales_channel_ids.iter().copied())
            .collect();
        channel_ids.sort_unstable();
        channel_ids.dedup();
        let sales_channels = self.store.storefront_channels(&channel_ids).await?;
        Ok(CustomerPage {
            total,
            customers,
            sales_channels,
        })
    }

    #[tracing::instrument(skip(self, term))]
    async fn search_users(
        &self,
        actor_id: PrincipalId,
        term: &str,
        page: i64,
        limit: i64,
    ) -> Result<UserPage, Error> {
        let offset = search_offset(page, limit)?;
        self.privileged(actor_id, &[PrincipalKind::Operator], SYS_IMPERSONATE_USERS)
            .await?;
        // Operators act as admins and customers only: nobody acts as an equal.
        let kinds = [PrincipalKind::Admin, PrincipalKind::Customer];
        let (total, users) = self
            .store
            .search_principals(&kinds, term.trim(), offset, limit)
            .await?;
        Ok(UserPage { total, users })
    }
}

/// The offset of a search page, or why the page or limit is refused.
fn search_offset(page: i64, limit: i64) -> Result<i64, Error> {
    if page < 1 {
        return Err(Error::InvalidPage);
    }
    if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
        return Err(Error::InvalidLimit {
            max: MAX_SEARCH_LIMIT,
        });
    }
    Ok((page - 1).saturating_mul(limit))
}

/// Privilege ordering: an actor only acts as someone with strictly fewer
/// rights. A target holding a privilege the actor lacks would let the actor
/// climb (the class of Keycloak's impersonation CVE); a target with exactly
/// the actor's rights is a peer, whose acts the actor could not make their
/// own. Principals without any privileges (customers, team members) are
/// ordered by the rules' relations instead.
fn outranks(actor: &Principal, target: &Principal) -> Result<(), ApiError> {
    let missing: Vec<&str> = target
        .privileges
        .iter()
        .filter(|privilege| !actor.holds(privilege))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(not_allowed(format!(
            "The target holds rights the actor does not ({}).",
            missing.join(", ")
        )));
    }
    // Privileges are distinct, and all of the target's are the actor's.
    if !target.privileges.is_empty() && target.privileges.len() == actor.privileges.len() {
        return Err(not_allowed(
            "The target holds the same rights as the actor.".into(),
        ));
    }
    Ok(())
}

fn not_allowed(detail: String) -> ApiError {
    ApiError::new(ErrorCode::ImpersonationNotAllowed, detail)
}

/// `text` with its first letter upper case, to start a sentence.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
