//! Domain ids. Every id is a UUID; clients may send Shopware's form (32
//! lowercase hex digits) or the dashed form, and HTTP routes answer in
//! Shopware's form. Inside the system (proto, SQL) ids are dashed.

use std::{fmt, str::FromStr};

use uuid::Uuid;

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID (32 hex digits, dashed or not)")]
pub struct InvalidId;

/// Parses the two accepted spellings of a UUID: 32 hex digits, or the
/// 8-4-4-4-12 dashed form. Braces, `urn:uuid:` and other spellings the uuid
/// crate tolerates are refused, so one id has one accepted text per form.
pub fn parse_uuid(text: &str) -> Result<Uuid, InvalidId> {
    let well_formed = match text.len() {
        32 => text.bytes().all(|b| b.is_ascii_hexdigit()),
        36 => text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    };
    if !well_formed {
        return Err(InvalidId);
    }
    Uuid::parse_str(text).map_err(|_| InvalidId)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Shopware's form: 32 lowercase hex digits, as HTTP routes answer.
            pub fn simple(&self) -> String {
                self.0.simple().to_string()
            }
        }

        /// The dashed form, used inside the system (proto, SQL).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(text: &str) -> Result<Self, InvalidId> {
                parse_uuid(text).map(Self)
            }
        }
    };
}

id_type!(
    /// Any principal of the directory: admin user, customer or operator.
    PrincipalId
);
id_type!(
    /// A storefront sales channel; the audience of a login-as-customer token.
    SalesChannelId
);
id_type!(
    /// A session (and its context).
    SessionId
);
id_type!(
    /// An audit record.
    AuditRecordId
);
id_type!(
    /// An action record: something done on an impersonated session's behalf.
    ActionRecordId
);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn both_forms_name_the_same_id() {
        let dashed: PrincipalId = "0191d6a8-5b1e-7c3a-9f00-0123456789ab".parse().unwrap();
        let simple: PrincipalId = "0191d6a85b1e7c3a9f000123456789ab".parse().unwrap();
        assert_eq!(dashed, simple);
        assert_eq!(simple.simple(), "0191d6a85b1e7c3a9f000123456789ab");
        assert_eq!(dashed.to_string(), "0191d6a8-5b1e-7c3a-9f00-0123456789ab");
    }

    #[test]
    fn other_spellings_are_refused() {
        for text in [
            "",
            "not-a-uuid",
            "{0191d6a8-5b1e-7c3a-9f00-0123456789ab}",
            "urn:uuid:0191d6a8-5b1e-7c3a-9f00-0123456789ab",
            "0191d6a85b1e7c3a9f000123456789a",
            "0191d6a8-5b1e7c3a-9f00-0123456789ab0",
            "0191d6a85b1e7c3a9f000123456789ag",
        ] {
            assert_eq!(parse_uuid(text), Err(InvalidId), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_uuid_round_trips_through_both_forms(bytes in any::<[u8; 16]>()) {
            let uuid = Uuid::from_bytes(bytes);
            let id = SalesChannelId::from_uuid(uuid);
            prop_assert_eq!(id.simple().parse::<SalesChannelId>(), Ok(id));
            prop_assert_eq!(id.to_string().parse::<SalesChannelId>(), Ok(id));
            prop_assert_eq!(id.to_string().to_uppercase().parse::<SalesChannelId>(), Ok(id));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,64}") {
            let _ = parse_uuid(&text);
        }
    }
}
