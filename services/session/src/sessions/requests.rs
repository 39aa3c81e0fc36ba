//! What callers ask the session service and what it answers: the requests
//! and results of [`super::Sessions`].

use actas_shared::{
    ids::{PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::Action,
};

use crate::{guests::GuestContext, model::Session};

#[derive(Debug)]
pub struct Activation {
    /// The actor's own session token, verified here.
    pub actor_token: String,
    pub principal: PrincipalId,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// Whom an impersonation is for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// An admin logs in as a customer on a sales channel.
    Customer {
        customer: PrincipalId,
        sales_channel: SalesChannelId,
    },
    /// A team administrator signs in as a member's profile.
    Profile(i64),
    /// An operator signs in as any admin or customer.
    User(PrincipalId),
}

impl Target {
    /// The action that reaches this kind of target.
    pub fn action(self) -> Action {
        match self {
            Target::Customer { .. } => Action::ImitateCustomer,
            Target::Profile(_) => Action::ImpersonateTeamMember,
            Target::User(_) => Action::ImpersonateUser,
        }
    }
}

#[derive(Debug)]
pub struct IssueToken {
    /// The actor's own session token, verified here.
    pub actor_token: String,
    pub target: Target,
    /// The actor's stated reason (may be empty unless required).
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// A one-time token, shown once to the actor who asked.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: i64,
}

#[derive(Debug)]
pub struct Revoke {
    /// The revoker's own session token, verified here.
    pub revoker_token: String,
    pub actor: Option<PrincipalId>,
    pub target: Option<PrincipalId>,
    /// Only this impersonated session.
    pub session: Option<SessionId>,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(Debug)]
pub struct Login {
    pub kind: PrincipalKind,
    pub email: String,
    pub password: String,
    pub sales_channel: Option<SalesChannelId>,
    pub previous_token: Option<String>,
    /// Public (coworker) API: the session starts on the person's first profile.
    pub with_profile: bool,
    /// Admins (OAuth password grant): hand out a refresh token too.
    pub with_refresh_token: bool,
}

#[derive(Debug)]
pub struct Exchange {
    pub token: String,
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(Debug)]
pub struct ImitateCustomer {
    pub token: String,
    /// The customer and the admin the client names; `None`: the token's own
    /// (Shopware 6.7 deprecates sending them, 6.8 takes them from the token).
    /// Given, they must match the token.
    pub customer: Option<PrincipalId>,
    pub user: Option<PrincipalId>,
    /// `None`: the sales channel the token was issued for.
    pub sales_channel: Option<SalesChannelId>,
    pub client_ip: String,
    pub user_agent: String,
}

/// A new session and the token its client holds (shown once, stored hashed).
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub session: Session,
    /// Logins that asked for one, and refreshes: single use, stored hashed.
    pub refresh_token: Option<String>,
}

/// What a Store API token stands for.
#[derive(Debug)]
pub enum StoreContext {
    Session(Session),
    Guest(GuestContext),
}
