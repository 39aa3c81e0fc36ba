//! The gRPC adapter: parse the request, call [`TokenIssuer`], map the error.

use actas_shared::{
    principal::PrincipalKind,
    proto::{self, token_issuer_server},
};
use tonic::{Request, Response, Status};

use crate::{
    error::Error,
    issuer::{IssueRequest, RedeemRequest, Target, TokenIssuer},
};

pub struct TokenIssuerGrpc<T> {
    inner: T,
}

impl<T: TokenIssuer> TokenIssuerGrpc<T> {
    pub fn new(inner: T) -> Self {
        Self { inner }
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

#[tonic::async_trait]
impl<T: TokenIssuer> token_issuer_server::TokenIssuer for TokenIssuerGrpc<T> {
    async fn issue_impersonation_token(
        &self,
        request: Request<proto::IssueRequest>,
    ) -> Result<Response<proto::IssueResponse>, Status> {
        let request = request.into_inner();
        if request.actor_session_token.is_empty() {
            return Err(Error::MissingCredential.into());
        }
        let target = match proto::Action::try_from(request.action) {
            Ok(proto::Action::Unspecified | proto::Action::ImitateCustomer) => Target::Customer {
                customer: parse_id(&request.target_id, "customerId")?,
                sales_channel: parse_id(&request.audience, "salesChannelId")?,
            },
            Ok(proto::Action::ImpersonateTeamMember) if request.target_profile_id > 0 => {
                Target::Profile(request.target_profile_id)
            }
            Ok(proto::Action::ImpersonateTeamMember) => {
                return Err(Error::Missing { field: "coworkerId" }.into());
            }
            Ok(proto::Action::ImpersonateUser) => Target::User(parse_id(&request.target_id, "userId")?),
            Err(_) => return Err(Error::Missing { field: "action" }.into()),
        };
        let issued = self
            .inner
            .issue(IssueRequest {
                actor_session_token: request.actor_session_token,
                target,
                reason: request.reason,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(proto::IssueResponse {
            token: issued.token,
            expires_at_unix: issued.expires_at,
        }))
    }

    async fn redeem_impersonation_token(
        &self,
        request: Request<proto::RedeemRequest>,
    ) -> Result<Response<proto::Grant>, Status> {
        let request = request.into_inner();
        if request.token.is_empty() {
            return Err(Error::Missing { field: "token" }.into());
        }
        let grant = self
            .inner
            .redeem(RedeemRequest {
                expected_target: optional_id(&request.expected_target_id, "customerId")?,
                expected_actor: optional_id(&request.expected_actor_id, "userId")?,
                expected_audience: optional_id(&request.expected_audience, "salesChannelId")?,
                expected_actions: request
                    .expected_actions
                    .iter()
                    .map(|action| proto::Action::try_from(*action).unwrap_or(proto::Action::Unspecified))
                    .collect(),
                token: request.token,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(proto::Grant {
            actor_id: grant.actor_id,
            target_id: grant.target_id,
            audience: grant.audience,
            reason: grant.reason,
            token_id_hash: String::new(),
            issued_at_unix: grant.issued_at,
            expires_at_unix: grant.expires_at,
            action: action_of(&grant.action).into(),
            target_kind: PrincipalKind::parse(&grant.target_kind)
                .map_or(proto::PrincipalKind::Unspecified, PrincipalKind::to_proto)
                .into(),
            target_profile_id: grant.target_profile_id.unwrap_or_default(),
        }))
    }

    async fn get_issue_policy(
        &self,
        _request: Request<proto::GetIssuePolicyRequest>,
    ) -> Result<Response<proto::IssuePolicy>, Status> {
        Ok(Response::new(proto::IssuePolicy {
            reason_required: self.inner.reason_required(),
            reason_max_chars: u32::try_from(actas_shared::reason::MAX_REASON_CHARS).unwrap_or(u32::MAX),
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

fn action_of(name: &str) -> proto::Action {
    match name {
        "imitate_customer" => proto::Action::ImitateCustomer,
        "impersonate_team_member" => proto::Action::ImpersonateTeamMember,
        "impersonate_user" => proto::Action::ImpersonateUser,
        _ => proto::Action::Unspecified,
    }
}
