//! The directory's domain types.

use std::fmt;

use actas_shared::{
    ApiError,
    audience::Audience,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};

/// The privilege an admin needs to log in as a customer: the name of the
/// seed and of early guides; Shopware shipped it (6.6.5) as
/// [`IMITATE_CUSTOMER`], and either name grants it.
pub const LOGIN_AS_CUSTOMER: &str = "api_proxy_login-as-customer";
/// The same privilege, by the name Shopware ships.
pub const IMITATE_CUSTOMER: &str = "api_proxy_imitate-customer";

/// Privileges that are one right under two names.
const SAME_RIGHT: &[(&str, &str)] = &[(LOGIN_AS_CUSTOMER, IMITATE_CUSTOMER)];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub id: PrincipalId,
    pub kind: PrincipalKind,
    pub email: String,
    pub display_name: String,
    pub active: bool,
    pub guest: bool,
    /// Every privilege of every role the principal holds, sorted.
    pub privileges: Vec<String>,
    /// Customers: the sales channels they may use, sorted.
    pub sales_channel_ids: Vec<SalesChannelId>,
}

impl Principal {
    /// Whether the principal holds `privilege`, under either of its names.
    pub fn holds(&self, privilege: &str) -> bool {
        let names = SAME_RIGHT
            .iter()
            .find(|(one, other)| privilege == *one || privilege == *other)
            .map_or([privilege, privilege], |(one, other)| [*one, *other]);
        self.privileges.iter().any(|held| names.contains(&held.as_str()))
    }
}

/// The privilege an admin needs to search and read customers (Shopware's name).
pub const CUSTOMER_READ: &str = "customer:read";
/// The privilege that lets an admin or operator read and set impersonation policy.
pub const MANAGE_POLICY: &str = "impersonation:policy";
/// The privilege an operator needs to find and impersonate users.
pub const SYS_IMPERSONATE_USERS: &str = "sys_impersonate-users";
/// The privilege to deactivate (and reactivate) admins and customers, which
/// ends their sessions.
pub const DEACTIVATE_PRINCIPALS: &str = "principal:deactivate";

/// What a sales channel offers a storefront context: one of its languages,
/// currencies, … by id (the shop in front owns the rest of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextOption {
    pub kind: OptionKind,
    pub id: uuid::Uuid,
    /// The channel's default of this kind.
    pub is_default: bool,
}

/// The kinds of [`ContextOption`], in the words of the SQL and the proto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    Language,
    Currency,
    Country,
    PaymentMethod,
    ShippingMethod,
}

impl OptionKind {
    pub const ALL: [OptionKind; 5] = [
        OptionKind::Language,
        OptionKind::Currency,
        OptionKind::Country,
        OptionKind::PaymentMethod,
        OptionKind::ShippingMethod,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OptionKind::Language => "language",
            OptionKind::Currency => "currency",
            OptionKind::Country => "country",
            OptionKind::PaymentMethod => "payment_method",
            OptionKind::ShippingMethod => "shipping_method",
        }
    }

    pub fn parse(text: &str) -> Option<OptionKind> {
        OptionKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn to_proto(self) -> actas_shared::proto::ContextOptionKind {
        use actas_shared::proto::ContextOptionKind as Wire;
        match self {
            OptionKind::Language => Wire::Language,
            OptionKind::Currency => Wire::Currency,
            OptionKind::Country => Wire::Country,
            OptionKind::PaymentMethod => Wire::PaymentMethod,
            OptionKind::ShippingMethod => Wire::ShippingMethod,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesChannel {
    pub id: SalesChannelId,
    pub name: String,
}

/// A sales channel with the storefront domains (URLs) it is served on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorefrontChannel {
    pub id: SalesChannelId,
    pub name: String,
    /// Sorted.
    pub domain_urls: Vec<String>,
}

/// One page of an operator's user search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    /// Matches on all pages.
    pub total: i64,
    /// Admins and customers ordered by name; privileges are not loaded.
    pub users: Vec<Principal>,
}

/// One page of a customer search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerPage {
    /// Matches on all pages.
    pub total: i64,
    /// Ordered by name; privileges are not loaded (customers act through none).
    pub customers: Vec<Principal>,
    /// Every channel a customer on this page is bound to, by id.
    pub sales_channels: Vec<StorefrontChannel>,
}

/// The authority (`host[:port]`, lowercase) of an `http` or `https` URL: what
/// a request's Host header says when it arrives on that domain.
pub fn domain_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(authority.to_ascii_lowercase())
}

/// What an actor asks to do to a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// An admin logs in as a shop customer on a sales channel.
    ImitateCustomer,
    /// A team administrator signs in as a member of the team (a profile).
    ImpersonateTeamMember,
    /// An operator signs in as any admin or customer.
    ImpersonateUser,
}

impl Action {
    /// The text the rule table (and the audit trail) keys on: the words of
    /// `actas_shared::action`.
    pub fn as_str(self) -> &'static str {
        let wire = match self {
            Action::ImitateCustomer => actas_shared::proto::Action::ImitateCustomer,
            Action::ImpersonateTeamMember => actas_shared::proto::Action::ImpersonateTeamMember,
            Action::ImpersonateUser => actas_shared::proto::Action::ImpersonateUser,
        };
        wire.as_str()
    }

    /// The action in words, for the details people read.
    pub fn in_words(self) -> &'static str {
        match self {
            Action::ImitateCustomer => "log in as",
            Action::ImpersonateTeamMember => "sign in on behalf of",
            Action::ImpersonateUser => "impersonate",
        }
    }
}

/// `kind` with its article, as a sentence says it: "an admin", "a customer".
pub fn a_kind(kind: PrincipalKind) -> String {
    let name = kind.as_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The relations a rule may require, each one function of the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The actor administers (admin or owner) the team in which the target
    /// profile is a plain member.
    AdministersTeamOfMember,
}

impl Relation {
    pub fn parse(text: &str) -> Option<Relation> {
        match text {
            "administers_team_of_member" => Some(Relation::AdministersTeamOfMember),
            _ => None,
        }
    }
}

/// One row of the rule table: an actor of some kind may perform an action on
/// a target of `target_kind`, holding `required_privilege` and standing in
/// `relation` when those are set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub target_kind: PrincipalKind,
    pub required_privilege: Option<String>,
    pub relation: Option<Relation>,
}

/// Whom an action is aimed at: a principal, or one of a person's profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Principal(PrincipalId),
    Profile(i64),
}

/// A person's role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamRole {
    Member,
    Admin,
    Owner,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Admin => "admin",
            TeamRole::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<TeamRole> {
        match text {
            "member" => Some(TeamRole::Member),
            "admin" => Some(TeamRole::Admin),
            "owner" => Some(TeamRole::Owner),
            _ => None,
        }
    }

    pub fn administers(self) -> bool {
        matches!(self, TeamRole::Admin | TeamRole::Owner)
    }
}

/// One of a person's profiles (a coworker, in Nexudus' words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub person_id: PrincipalId,
    pub team_id: i64,
    pub team_name: String,
    pub role: TeamRole,
    pub full_name: String,
}

/// Where an impersonation policy applies: a sales channel (for admins
/// logging in as customers) or a team (for team administrators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyScope {
    SalesChannel(SalesChannelId),
    Team(i64),
}

impl PolicyScope {
    /// `sales_channel:<uuid>` (either UUID form) or `team:<id>`.
    pub fn parse(text: &str) -> Option<PolicyScope> {
        match text.split_once(':')? {
            ("sales_channel", id) => id.parse().ok().map(PolicyScope::SalesChannel),
            ("team", id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                id.parse().ok().map(PolicyScope::Team)
            }
            _ => None,
        }
    }
}

/// The stored form (dashed UUIDs), as the policy table keys it.
impl fmt::Display for PolicyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyScope::SalesChannel(id) => write!(f, "sales_channel:{id}"),
            PolicyScope::Team(id) => write!(f, "team:{id}"),
        }
    }
}

/// How impersonation goes in one scope (a sales channel or a team). Without
/// a policy row it is on and read-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Whether impersonations may start (and live ones go on) there.
    pub enabled: bool,
    /// Whether impersonated sessions there may only look: every change but
    /// ending the impersonation is refused.
    pub read_only: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: true,
            read_only: false,
        }
    }
}

/// The target a decision resolved: the principal, its kind, and the profile
/// when the action targets one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTarget {
    pub principal_id: PrincipalId,
    pub kind: PrincipalKind,
    pub profile_id: Option<i64>,
}

/// The answer to "may actor do action to target": allowed with a reason, or
/// denied with the error the caller will see. Either way the reason is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub reason: String,
    pub denial: Option<ApiError>,
    /// When allowed: whom, and the audience the grant is for.
    pub target: Option<ResolvedTarget>,
    pub audience: Option<Audience>,
    /// When allowed: the impersonated session may only look.
    pub read_only: bool,
}

impl Decision {
    pub fn allow(reason: impl Into<String>, target: ResolvedTarget, audience: Audience) -> Self {
        Self {
            reason: reason.into(),
            denial: None,
            target: Some(target),
            audience: Some(audience),
            read_only: false,
        }
    }

    pub fn deny(error: ApiError) -> Self {
        Self {
            reason: error.detail.clone(),
            denial: Some(error),
            target: None,
            audience: None,
            read_only: false,
        }
    }

    pub fn allowed(&self) -> bool {
        self.denial.is_none()
    }
}

/// A principal to create, with its password already hashed.
#[derive(Clone, Debug)]
pub struct NewPrincipal {
    pub id: PrincipalId,
    pub kind: PrincipalKind,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub active: bool,
    pub guest: bool,
    pub roles: Vec<String>,
    pub sales_channel_ids: Vec<SalesChannelId>,
}

/// Emails compare case-insensitively and without surrounding blanks.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(privileges: &[&str]) -> Principal {
        Principal {
            id: PrincipalId::new_random(),
            kind: PrincipalKind::Admin,
            email: "a@example.com".into(),
            display_name: "A".into(),
            active: true,
            guest: false,
            privileges: privileges.iter().map(|p| (*p).to_owned()).collect(),
            sales_channel_ids: Vec::new(),
        }
    }

    #[test]
    fn either_name_of_the_imitate_right_grants_it_and_nothing_else() {
        for held in [LOGIN_AS_CUSTOMER, IMITATE_CUSTOMER] {
            let admin = holding(&[held]);
            assert!(
                admin.holds(LOGIN_AS_CUSTOMER) && admin.holds(IMITATE_CUSTOMER),
                "{held}"
            );
            assert!(!admin.holds(CUSTOMER_READ));
        }
        assert!(!holding(&[CUSTOMER_READ]).holds(IMITATE_CUSTOMER));
    }
}
