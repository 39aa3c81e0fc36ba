//! The kinds of principal, the same words in proto, Rust and SQL.

use std::fmt;

use crate::proto;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A back-office user of the administration.
    Admin,
    /// A shop customer.
    Customer,
    /// Platform operations staff.
    Operator,
}

impl PrincipalKind {
    /// The text stored in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Admin => "admin",
            PrincipalKind::Customer => "customer",
            PrincipalKind::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<PrincipalKind> {
        match text {
            "admin" => Some(PrincipalKind::Admin),
            "customer" => Some(PrincipalKind::Customer),
            "operator" => Some(PrincipalKind::Operator),
            _ => None,
        }
    }

    pub fn from_proto(value: i32) -> Option<PrincipalKind> {
        match proto::PrincipalKind::try_from(value).ok()? {
            proto::PrincipalKind::Admin => Some(PrincipalKind::Admin),
            proto::PrincipalKind::Customer => Some(PrincipalKind::Customer),
            proto::PrincipalKind::Operator => Some(PrincipalKind::Operator),
            proto::PrincipalKind::Unspecified => None,
        }
    }

    pub fn to_proto(self) -> proto::PrincipalKind {
        match self {
            PrincipalKind::Admin => proto::PrincipalKind::Admin,
            PrincipalKind::Customer => proto::PrincipalKind::Customer,
            PrincipalKind::Operator => proto::PrincipalKind::Operator,
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
