//! The gRPC adapter: parse the request, call [`TokenIssuer`], map the error;
//! under mutual TLS, issuing and redeeming answer the session service only.

use actas_shared::{
    audience::Audience,
    grpc::tls::require_caller,
    principal::PrincipalKind,
    proto::{self, Action, token_issuer_server},
};
use tonic::{Request, Response, Status};

use crate::{
    error::Error,
    issuer::{IssueRequest, RedeemRequest, Redeemed, TokenIssuer},
    store::StoredGrant,
};

pub struct TokenIssuerGrpc<T> {
    inner: T,
    /// Mutual TLS is on: the calling service is known from its certificate.
    check_callers: bool,
}

impl<T: TokenIssuer> TokenIssuerGrpc<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            check_callers: false,
        }
    }

    /// Under mutual TLS: tokens are issued and redeemed for the session
    /// service only, which decided and records them.
    pub fn check_callers(self, check: bool) -> Self {
        Self {
            check_callers: check,
            ..self
        }
    }

    fn require_session_service<M>(&self, request: &Request<M>) -> Result<(), Status> {
        require_caller(request, self.check_callers, "session").map_err(Status::from)
    }
}

fn parse_id<I: std::str::FromStr>(text: &str, field: &'static str) -> Result<I, Error> {
    if text.is_empty() {
        return Err(Error::Missing { field });
    }
    text.parse().map_err(|_| Error::InvalidId { field })
}

/// An expectation: empty means "the token's own binding stands".
fn optional_id<I: std::str::FromStr>(text: &str, field: &'static str) -> Result<Option<I>, Error> {
    match text {
        "" => Ok(None),
        text => parse_id(text, field).map(Some),
    }
}

fn grant_message(grant: StoredGrant, token_id_hash: String) -> proto::Grant {
    proto::Grant {
        actor_id: grant.actor_id,
        target_id: grant.target_id,
        // A stored audience that does not parse names nothing: the caller
        // refuses a grant without one.
        audience: grant.audience.parse::<Audience>().ok().map(Audience::to_proto),
        reason: grant.reason,
        token_id_hash,
        issued_at_unix: grant.issued_at,
        expires_at_unix: grant.expires_at,
        action: Action::parse(&grant.action).unwrap_or(Action::Unspecified).into(),
        target_kind: PrincipalKind::parse(&grant.target_kind)
            .map_or(proto::PrincipalKind::Unspecified, PrincipalKind::to_proto)
            .into(),
        target_profile_id: grant.target_profile_id.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<T: TokenIssuer> token_issuer_server::TokenIssuer for TokenIssuerGrpc<T> {
    async fn issue_token(
        &self,
        request: Request<proto::IssueTokenRequest>,
    ) -> Result<Response<proto::IssuedToken>, Status> {
        self.require_session_service(&request)?;
        let request = request.into_inner();
        let action = Action::from_wire(request.action).ok_or(Error::Missing { field: "action" })?;
        let target_kind =
            PrincipalKind::from_proto(request.target_kind).ok_or(Error::Missing { field: "targetKind" })?;
        let issued = self
            .inner
            .issue(IssueRequest {
                actor: parse_id(&request.actor_id, "actorId")?,
                target: parse_id(&request.target_id, "targetId")?,
                audience: Audience::from_proto(request.audience.as_ref())
                    .ok_or(Error::Missing { field: "audience" })?,
                action,
                target_kind,
                target_profile_id: Some(request.target_profile_id).filter(|id| *id > 0),
                reason: request.reason,
            })
            .await?;
        Ok(Response::new(proto::IssuedToken {
            token: issued.token,
            expires_at_unix: issued.expires_at,
            token_id_hash: issued.token_id_hash,
        }))
    }

    async fn redeem_token(
        &self,
        request: Request<proto::RedeemTokenRequest>,
    ) -> Result<Response<proto::RedeemTokenResponse>, Status> {
        self.require_session_service(&request)?;
        let request = request.into_inner();
        if request.token.is_empty() {
            return Err(Error::Missing { field: "token" }.into());
        }
        let redeemed = self
            .inner
            .redeem(RedeemRequest {
                expected_target: optional_id(&request.expected_target_id, "customerId")?,
                expected_actor: optional_id(&request.expected_actor_id, "userId")?,
                expected_sales_channel: optional_id(&request.expected_sales_channel_id, "salesChannelId")?,
                expected_actions: request
                    .expected_actions
                    .iter()
                    .map(|action| Action::try_from(*action).unwrap_or(Action::Unspecified))
                    .collect(),
                token: request.token,
            })
            .await?;
        let outcome = match redeemed {
            Redeemed::Grant { grant, token_id_hash } => {
                proto::redeem_token_response::Outcome::Grant(grant_message(grant, token_id_hash))
            }
            Redeemed::Refused {
                claimed,
                token_id_hash,
                why,
            } => proto::redeem_token_response::Outcome::Refused(proto::RedeemRefusal {
                claimed: Some(grant_message(claimed, token_id_hash)),
                why: why.to_owned(),
            }),
        };
        Ok(Response::new(proto::RedeemTokenResponse {
            outcome: Some(outcome),
        }))
    }

    async fn get_jwks(
        &self,
        _request: Request<proto::GetJwksRequest>,
    ) -> Result<Response<proto::Jwks>, Status> {
        let keys = self
            .inner
            .jwks()
            .into_iter()
            .map(|jwk| proto::Jwk {
                kty: jwk.kty.to_owned(),
                crv: jwk.crv.to_owned(),
                x: jwk.x,
                kid: jwk.kid,
                alg: jwk.alg.to_owned(),
                r#use: jwk.use_.to_owned(),
            })
            .collect();
        Ok(Response::new(proto::Jwks { keys }))
    }
}
