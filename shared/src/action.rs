//! What an impersonation allows, in one spelling: the proto enum
//! (`actas.v1.Action`) is the type; these are its words in the rule table,
//! the token's `scope` claim, the grant, the session and the audit trail.

use crate::proto::Action;

impl Action {
    /// The word stored in SQL and carried in tokens; empty for unspecified.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ImitateCustomer => "imitate_customer",
            Action::ImpersonateTeamMember => "impersonate_team_member",
            Action::ImpersonateUser => "impersonate_user",
            Action::Unspecified => "",
        }
    }

    /// The action a stored word names; `None` for anything else.
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "imitate_customer" => Some(Action::ImitateCustomer),
            "impersonate_team_member" => Some(Action::ImpersonateTeamMember),
            "impersonate_user" => Some(Action::ImpersonateUser),
            _ => None,
        }
    }

    /// The action a wire value names, unspecified and unknown values excluded.
    pub fn from_wire(value: i32) -> Option<Action> {
        Action::try_from(value)
            .ok()
            .filter(|action| *action != Action::Unspecified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_word() {
        for action in [
            Action::ImitateCustomer,
            Action::ImpersonateTeamMember,
            Action::ImpersonateUser,
        ] {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert_eq!(Action::from_wire(action.into()), Some(action));
        }
        assert_eq!(Action::parse(""), None);
        assert_eq!(Action::from_wire(0), None);
        assert_eq!(Action::from_wire(99), None);
    }
}
