//! The directory's domain types.

use actas_shared::{
    ApiError,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};

/// The privilege an admin needs to log in as a customer (Shopware's name).
pub const LOGIN_AS_CUSTOMER: &str = "api_proxy_login-as-customer";

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
    pub fn holds(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|held| held == privilege)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesChannel {
    pub id: SalesChannelId,
    pub name: String,
}

/// What an actor asks to do to a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ImitateCustomer,
}

impl Action {
    /// The text the rule table keys on.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ImitateCustomer => "imitate_customer",
        }
    }
}

/// One row of the rule table: which kind of principal an actor of some kind
/// may target with an action, and the privilege it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub target_kind: PrincipalKind,
    pub required_privilege: String,
}

/// The answer to "may actor do action to target": allowed with a reason, or
/// denied with the error the caller will see. Either way the reason is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub reason: String,
    pub denial: Option<ApiError>,
}

impl Decision {
    pub fn allow(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            denial: None,
        }
    }

    pub fn deny(error: ApiError) -> Self {
        Self {
            reason: error.detail.clone(),
            denial: Some(error),
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
