//! What an impersonated session may not do, as data in one place.
//!
//! Someone acting as another person may look and help, but never change
//! who the person is or who may act for them, never climb further, and,
//! under a read-only policy, never change anything but ending the
//! impersonation. Every route that verifies a session runs [`check`] on the
//! verified context before it acts, so a new route is covered by adding
//! one line here (the tests check every line names a real route).

use std::sync::{Arc, Mutex};

use actas_shared::{ApiError, ErrorCode, proto::SessionContext};
use axum::{
    extract::{FromRequestParts, MatchedPath},
    http::{Method, request::Parts},
};

use crate::error::HttpError;

/// A route an impersonated session is refused, with the code it gets.
#[derive(Clone, Copy, Debug)]
pub struct Sensitive {
    pub method: &'static str,
    /// The route as the router names it.
    pub route: &'static str,
    pub code: ErrorCode,
    /// What the route does, in the refusal's words.
    pub action: &'static str,
}

const fn sensitive(
    method: &'static str,
    route: &'static str,
    code: ErrorCode,
    action: &'static str,
) -> Sensitive {
    Sensitive {
        method,
        route,
        code,
        action,
    }
}

/// Refused to every impersonated session, read-only or not.
pub const SENSITIVE: &[Sensitive] = &[
    sensitive(
        "POST",
        "/api/_proxy/generate-imitate-customer-token",
        ErrorCode::ImpersonationChain,
        "starting another impersonation",
    ),
    sensitive(
        "GET",
        "/api/public/coworkers/{coworkerId}/impersonate",
        ErrorCode::ImpersonationChain,
        "starting another impersonation",
    ),
    sensitive(
        "GET",
        "/api/sys/users/impersonate",
        ErrorCode::ImpersonationChain,
        "starting another impersonation",
    ),
    sensitive(
        "PUT",
        "/api/public/account/impersonation-consent",
        ErrorCode::ForbiddenWhileImpersonating,
        "changing who may act for this account",
    ),
    sensitive(
        "GET",
        "/api/public/coworkers/team",
        ErrorCode::ForbiddenWhileImpersonating,
        "listing the team's members",
    ),
    sensitive(
        "GET",
        "/api/public/account/impersonations",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading who accessed this account",
    ),
    sensitive(
        "POST",
        "/api/_action/impersonations/revoke",
        ErrorCode::ForbiddenWhileImpersonating,
        "ending others' impersonations",
    ),
    sensitive(
        "POST",
        "/api/sys/impersonations/revoke",
        ErrorCode::ForbiddenWhileImpersonating,
        "ending others' impersonations",
    ),
    sensitive(
        "POST",
        "/api/_action/principals/{principalId}/deactivate",
        ErrorCode::ForbiddenWhileImpersonating,
        "deactivating principals",
    ),
    sensitive(
        "POST",
        "/api/_action/principals/{principalId}/reactivate",
        ErrorCode::ForbiddenWhileImpersonating,
        "reactivating principals",
    ),
    sensitive(
        "POST",
        "/api/sys/principals/{principalId}/deactivate",
        ErrorCode::ForbiddenWhileImpersonating,
        "deactivating principals",
    ),
    sensitive(
        "POST",
        "/api/sys/principals/{principalId}/reactivate",
        ErrorCode::ForbiddenWhileImpersonating,
        "reactivating principals",
    ),
    sensitive(
        "GET",
        "/api/_action/audit-records",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading the audit trail",
    ),
    sensitive(
        "GET",
        "/api/sys/audit-records",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading the audit trail",
    ),
    sensitive(
        "GET",
        "/api/_action/action-records",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading the audit trail",
    ),
    sensitive(
        "GET",
        "/api/sys/action-records",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading the audit trail",
    ),
    sensitive(
        "GET",
        "/api/public/account/impersonations/actions",
        ErrorCode::ForbiddenWhileImpersonating,
        "reading what was done as this account",
    ),
    sensitive(
        "GET",
        "/api/_action/impersonation-policies/{scope}",
        ErrorCode::ForbiddenWhileImpersonating,
        "managing impersonation policy",
    ),
    sensitive(
        "PUT",
        "/api/_action/impersonation-policies/{scope}",
        ErrorCode::ForbiddenWhileImpersonating,
        "managing impersonation policy",
    ),
    sensitive(
        "GET",
        "/api/sys/impersonation-policies/{scope}",
        ErrorCode::ForbiddenWhileImpersonating,
        "managing impersonation policy",
    ),
    sensitive(
        "PUT",
        "/api/sys/impersonation-policies/{scope}",
        ErrorCode::ForbiddenWhileImpersonating,
        "managing impersonation policy",
    ),
];

/// The changes a read-only impersonation may still make: ending itself.
pub const ENDS_IMPERSONATION: &[(&str, &str)] = &[
    ("POST", "/store-api/account/logout"),
    ("POST", "/account/logout"),
    ("POST", "/account/imitation/stop"),
    ("POST", "/api/public/auth/logout"),
];

/// The method and matched route of a request: what [`check`] judges.
#[derive(Clone, Debug)]
pub struct Intent {
    pub method: Method,
    pub route: String,
    /// Where a state-changing request notes the impersonated session it
    /// acts in ([`ActingSession`]).
    pub acting: Option<ActingSession>,
}

/// The impersonated session a state-changing request acted in, noted by
/// [`admit`] for [`crate::app::record_actions`], which puts the request on
/// that session's trail once it is answered ("what was done as me").
#[derive(Clone, Debug, Default)]
pub struct ActingSession(Arc<Mutex<Option<String>>>);

impl ActingSession {
    fn note(&self, token: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(token.to_owned());
        }
    }

    /// The noted session's token, if the request acted in one.
    pub fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl Intent {
    pub fn of(parts: &Parts) -> Self {
        Self {
            method: parts.method.clone(),
            route: parts
                .extensions
                .get::<MatchedPath>()
                .map_or_else(String::new, |path| path.as_str().to_owned()),
            acting: parts.extensions.get::<ActingSession>().cloned(),
        }
    }

    fn changes_something(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Intent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Intent::of(parts))
    }
}

/// [`check`], for the session behind `token`; an impersonated one is noted
/// for the trail first, so a refused attempt is recorded with its answer.
pub fn admit(intent: &Intent, token: &str, context: &SessionContext) -> Result<(), HttpError> {
    if context.imitated
        && let Some(acting) = &intent.acting
    {
        acting.note(token);
    }
    check(intent, context)
}

/// Whether `method route` ends the impersonation it is made in.
pub fn ends_impersonation(method: &str, route: &str) -> bool {
    ENDS_IMPERSONATION
        .iter()
        .any(|(ends_method, ends_route)| *ends_route == route && *ends_method == method)
}

/// Refuses what `context` may not do as `intent`; sessions that are not
/// impersonations pass.
pub fn check(intent: &Intent, context: &SessionContext) -> Result<(), HttpError> {
    if !context.imitated {
        return Ok(());
    }
    if let Some(rule) = SENSITIVE
        .iter()
        .find(|rule| rule.route == intent.route && rule.method == intent.method.as_str())
    {
        return Err(HttpError(ApiError::new(
            rule.code,
            format!("An impersonated session may not do this: {}.", rule.action),
        )));
    }
    let ends_it = ends_impersonation(intent.method.as_str(), &intent.route);
    if context.read_only && intent.changes_something() && !ends_it {
        return Err(HttpError(ApiError::new(
            ErrorCode::ReadOnlyImpersonation,
            "This impersonation is read-only: it may look, and end itself, nothing else.",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(method: Method, route: &str) -> Intent {
        Intent {
            method,
            route: route.to_owned(),
            acting: None,
        }
    }

    fn impersonated(read_only: bool) -> SessionContext {
        SessionContext {
            imitated: true,
            read_only,
            ..SessionContext::default()
        }
    }

    #[test]
    fn own_sessions_pass_everything() {
        for rule in SENSITIVE {
            let method = Method::from_bytes(rule.method.as_bytes()).expect("a method");
            assert!(check(&intent(method, rule.route), &SessionContext::default()).is_ok());
        }
    }

    #[test]
    fn sensitive_routes_are_refused_to_every_impersonation_with_their_code() {
        for read_only in [false, true] {
            for rule in SENSITIVE {
                let method = Method::from_bytes(rule.method.as_bytes()).expect("a method");
                let refused =
                    check(&intent(method, rule.route), &impersonated(read_only)).expect_err(rule.route);
                assert_eq!(refused.0.code, rule.code);
            }
        }
    }

    #[test]
    fn read_only_refuses_changes_but_not_looking_or_ending() {
        let context = impersonated(true);
        assert!(check(&intent(Method::GET, "/store-api/context"), &context).is_ok());
        let change = check(&intent(Method::PATCH, "/store-api/context"), &context).expect_err("a change");
        assert_eq!(change.0.code, ErrorCode::ReadOnlyImpersonation);
        for (method, route) in ENDS_IMPERSONATION {
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            assert!(check(&intent(method, route), &context).is_ok(), "{route}");
        }
        assert!(
            check(&intent(Method::PATCH, "/store-api/context"), &impersonated(false)).is_ok(),
            "read-write impersonations change the context"
        );
    }
}
