//! Where an impersonation applies: one sales channel (an admin as a
//! customer), one team (a team administrator as a member), or the whole
//! system (an operator as anyone). One Rust type for the proto message
//! (`actas.v1.Audience`) and the text the token's `aud` claim and the audit
//! trail keep: the sales channel's dashed id, `team:<id>`, or `sys`.

use std::{fmt, str::FromStr};

use crate::{
    ids::{InvalidId, SalesChannelId},
    proto::{self, audience::Scope},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    SalesChannel(SalesChannelId),
    Team(i64),
    System,
}

impl Audience {
    pub fn to_proto(self) -> proto::Audience {
        proto::Audience {
            scope: Some(match self {
                Audience::SalesChannel(id) => Scope::SalesChannelId(id.to_string()),
                Audience::Team(id) => Scope::TeamId(id),
                Audience::System => Scope::System(true),
            }),
        }
    }

    /// The audience a message names; `None` for an empty or invalid one.
    pub fn from_proto(message: Option<&proto::Audience>) -> Option<Audience> {
        match message?.scope.as_ref()? {
            Scope::SalesChannelId(id) => id.parse().ok().map(Audience::SalesChannel),
            Scope::TeamId(id) if *id > 0 => Some(Audience::Team(*id)),
            Scope::System(true) => Some(Audience::System),
            Scope::TeamId(_) | Scope::System(false) => None,
        }
    }

    /// The sales channel, for an admin's customer impersonation.
    pub fn sales_channel(self) -> Option<SalesChannelId> {
        match self {
            Audience::SalesChannel(id) => Some(id),
            Audience::Team(_) | Audience::System => None,
        }
    }
}

/// The text form the `aud` claim and the audit trail keep.
impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::SalesChannel(id) => fmt::Display::fmt(id, f),
            Audience::Team(id) => write!(f, "team:{id}"),
            Audience::System => f.write_str("sys"),
        }
    }
}

impl FromStr for Audience {
    type Err = InvalidId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "sys" {
            return Ok(Audience::System);
        }
        if let Some(team) = text.strip_prefix("team:") {
            return match team.parse::<i64>() {
                Ok(id) if id > 0 && team == id.to_string() => Ok(Audience::Team(id)),
                _ => Err(InvalidId),
            };
        }
        text.parse().map(Audience::SalesChannel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audience_reads_back_from_its_text_and_its_message() {
        for audience in [
            Audience::SalesChannel(SalesChannelId::new_random()),
            Audience::Team(42),
            Audience::System,
        ] {
            assert_eq!(audience.to_string().parse(), Ok(audience));
            assert_eq!(Audience::from_proto(Some(&audience.to_proto())), Some(audience));
        }
        for bad in ["", "team:", "team:0", "team:-1", "team:01", "system", "nope"] {
            assert!(bad.parse::<Audience>().is_err(), "{bad:?}");
        }
        assert_eq!(Audience::from_proto(None), None);
        assert_eq!(Audience::from_proto(Some(&proto::Audience { scope: None })), None);
    }
}
