//! What the route modules use to document themselves: the `errors!` list
//! of a route's failures (each [`ErrorCode`] with the status
//! [`crate::error::http_status`] gives it, and an example envelope), and
//! the id schemas. The document itself is assembled in [`crate::document`].

use std::collections::BTreeMap;

use actas_shared::{ErrorCode, proto::Action};
use serde_json::json;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        self, ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder,
        schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type},
    },
};

use crate::error::http_status;

/// A UUID as requests may send it (`components.schemas.Id`).
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A UUID. Requests accept Shopware's form (32 hex digits, no dashes) and the dashed form (8-4-4-4-12); responses always use Shopware's form, lower case.",
            ))
            .pattern(Some(
                "^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
            ))
            .examples(["018f8d3a5e007000800000000000c001", "018f8d3a-5e00-7000-8000-00000000c001"])
            .into()
    }
}

impl ToSchema for Id {}

/// A UUID as answers carry it (`components.schemas.ShopwareId`).
pub struct ShopwareId;

impl PartialSchema for ShopwareId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A UUID in Shopware's form: 32 lower-case hex digits, no dashes.",
            ))
            .pattern(Some("^[0-9a-f]{32}$"))
            .examples(["018f8d3a5e007000800000000000c001"])
            .into()
    }
}

impl ToSchema for ShopwareId {}

/// What a code means on most routes; a route's `errors!` list may say
/// more precisely what it means there.
fn usual_meaning(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequestBody => {
            "the body is unreadable, malformed, not a JSON object, or a field has the wrong type"
        }
        ErrorCode::MissingParameter => "a required field is missing or blank",
        ErrorCode::UnsupportedGrantType => "grant_type is neither `password` nor `refresh_token`",
        ErrorCode::AdminBadCredentials => {
            "wrong username or password, or a refresh token that is unknown, used, or whose session ended"
        }
        ErrorCode::Internal => "an unexpected downstream answer",
        ErrorCode::Unavailable => {
            "a downstream service is down or slow, or the request outlived its 15 s deadline"
        }
        ErrorCode::Unauthorized => {
            "missing, invalid or expired bearer or context token, or one of another kind of principal"
        }
        ErrorCode::InvalidUuid => "an id is not a UUID",
        ErrorCode::ReasonRequired => "no reason while `ACTAS_REQUIRE_REASON` is on",
        ErrorCode::InvalidReason => "a reason is at most 500 characters of text, without control characters",
        ErrorCode::MissingPrivilege => {
            "the actor lacks the privilege; `meta.parameters.missingPrivileges` lists it"
        }
        ErrorCode::CustomerInactive => "the customer is inactive",
        ErrorCode::CustomerIsGuest => "the customer is a guest",
        ErrorCode::CustomerNotInSalesChannel => "the customer is not bound to the sales channel",
        ErrorCode::ImpersonationNotAllowed => "the rules do not allow this actor to act as this target",
        ErrorCode::ImpersonationChain => "the caller's session is itself an impersonation",
        ErrorCode::ImpersonationDisabled => "policy switched impersonation off for this sales channel",
        ErrorCode::CustomerNotFound => "no principal has this id",
        ErrorCode::SalesChannelNotFound => "no such sales channel",
        ErrorCode::TooManyRequests => {
            "this actor asked for more than `ACTAS_ISSUE_LIMIT_PER_MINUTE` tokens in a minute (per gateway replica); `Retry-After` says when to try again"
        }
        ErrorCode::CustomerBadCredentials => {
            "wrong email or password (also: inactive customer, or not on this sales channel)"
        }
        ErrorCode::InvalidRequestParameter => {
            "a query or path parameter is repeated, malformed, of the wrong type, or holds unusable characters"
        }
        ErrorCode::ImpersonationTokenRejected => "the token is used, expired, forged or revoked",
        ErrorCode::ProfileSwitchForbidden => {
            "not one of the person's profiles, or an impersonated team session leaving its profile"
        }
        ErrorCode::ImpersonationOptedOut => "the member refused their team administrators",
        ErrorCode::InvalidLimit | ErrorCode::InvalidPage => "out of range",
        ErrorCode::ForbiddenWhileImpersonating => "the bearer is itself an impersonation",
        ErrorCode::InvalidAccessKey => "`sw-access-key` missing or unknown",
        ErrorCode::InvalidImpersonationToken => {
            "the token is invalid, expired, reused, tampered or does not match customer, admin or sales channel (one code for all)"
        }
        ErrorCode::CustomerNotLoggedIn => "the context is a guest's, not a customer's",
        ErrorCode::ReadOnlyImpersonation => "an impersonation under a read-only policy changes nothing",
        ErrorCode::CrossSiteRequest => {
            "the form was posted from another site (`Sec-Fetch-Site` other than same-origin or none, or an `Origin` whose host is not this request's `Host`); nothing was changed"
        }
        ErrorCode::RouteNotFound => "no route matches this path",
        ErrorCode::InvalidPolicyScope => "the scope is not `sales_channel:<id>` or `team:<id>`",
        ErrorCode::PolicyScopeNotFound => "no sales channel or team has this id",
        ErrorCode::DeactivationNotAllowed => {
            "the principal holds rights the actor does not, the same rights, or is the actor"
        }
        ErrorCode::NotImpersonating => "the session is its principal's own, not an impersonation",
        ErrorCode::InvalidActionRecord => {
            "an action name, detail or outcome is too long or holds unusable characters"
        }
        ErrorCode::RequestTimeout => "the body did not arrive within `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`",
        ErrorCode::MethodNotAllowed => "the path does not take this method",
    }
}

/// The failure answers of a route: one response per status, listing the
/// codes the route answers with it (an `enum` over the envelope's `code`),
/// what each means there, and an example of each. 401 answers carry
/// `WWW-Authenticate`, 429 answers `Retry-After`.
pub fn error_responses(errors: &[(ErrorCode, Option<&str>)]) -> BTreeMap<String, RefOr<openapi::Response>> {
    let mut by_status: BTreeMap<u16, Vec<(ErrorCode, &str)>> = BTreeMap::new();
    for &(code, meaning) in errors {
        by_status
            .entry(http_status(code).as_u16())
            .or_default()
            .push((code, meaning.unwrap_or_else(|| usual_meaning(code))));
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let http = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let description = codes
                .iter()
                .map(|(code, meaning)| format!("`{code}`: {meaning}"))
                .collect::<Vec<_>>()
                .join("; ");
            let schema = AllOfBuilder::new()
                .item(Ref::from_schema_name("ErrorEnvelope"))
                .item(
                    ObjectBuilder::new().schema_type(SchemaType::AnyValue).property(
                        "errors",
                        ArrayBuilder::new().items(
                            ObjectBuilder::new().schema_type(SchemaType::AnyValue).property(
                                "code",
                                ObjectBuilder::new()
                                    .schema_type(SchemaType::AnyValue)
                                    .enum_values(Some(codes.iter().map(|(code, _)| code.as_str()))),
                            ),
                        ),
                    ),
                );
            let examples = codes.iter().map(|(code, meaning)| {
                let value = json!({ "errors": [{
                    "status": status.to_string(),
                    "code": code.as_str(),
                    "title": http.canonical_reason().unwrap_or("Error"),
                    "detail": sentence(meaning),
                }]});
                (
                    code.as_str(),
                    openapi::example::ExampleBuilder::new().value(Some(value)).build(),
                )
            });
            let content = ContentBuilder::new()
                .schema(Some(schema))
                .examples_from_iter(examples)
                .build();
            let mut response = ResponseBuilder::new()
                .description(format!("{description}."))
                .content("application/json", content);
            if status == 401 {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["Bearer"])),
                        ))
                        .description(Some("Always `Bearer` on a 401."))
                        .build(),
                );
            }
            if status == 429 {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)),
                        ))
                        .description(Some("Seconds until a request would be allowed again."))
                        .build(),
                );
            }
            (status.to_string(), response.build().into())
        })
        .collect()
}

/// `meaning` as a sentence: capital first letter, full stop.
fn sentence(meaning: &str) -> String {
    let mut chars = meaning.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// Declares the failures of one route as a type for its `responses(..)`:
/// `errors!(Name { Code, Other => "what it means here", .. })`.
macro_rules! errors {
    ($name:ident { $($code:ident $(=> $meaning:literal)?),+ $(,)? }) => {
        #[doc = concat!("The failures of one route: ", $(stringify!($code), " "),+)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::openapi::error_responses(&[
                    $((actas_shared::ErrorCode::$code, errors!(@meaning $($meaning)?))),+
                ])
            }
        }
    };
    (@meaning) => { None };
    (@meaning $meaning:literal) => { Some($meaning) };
}
pub(crate) use errors;

/// The actions an impersonation is for, from [`Action`] itself; empty on
/// records of no impersonation (a deactivation).
pub struct ActionName;

impl utoipa::PartialSchema for ActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let actions = (0..)
            .map_while(|number| Action::try_from(number).ok())
            .map(|action| action.as_str());
        string_enum(actions)
    }
}

impl ToSchema for ActionName {
    fn name() -> std::borrow::Cow<'static, str> {
        "Action".into()
    }
}

pub fn string_enum<'a>(
    values: impl Iterator<Item = &'a str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.collect::<Vec<_>>()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_usual_meaning_that_reads_as_a_phrase() {
        for &code in ErrorCode::ALL {
            let meaning = usual_meaning(code);
            assert!(!meaning.is_empty() && !meaning.ends_with('.'), "{code}");
        }
    }
}
