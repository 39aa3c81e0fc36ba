//! The gRPC adapter: parse the request, call [`TokenIssuer`], map the error.

use actas_shared::proto::{self, token_issuer_server};
use tonic::{Request, Response, Status};

use crate::{
    error::Error,
    issuer::{IssueRequest, RedeemRequest, TokenIssuer},
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

#[tonic::async_trait]
impl<T: TokenIssuer> token_issuer_server::TokenIssuer for TokenIssuerGrpc<T> {
    async fn issue_impersonation_token(
        &self,
        request: Request<proto::IssueRequest>,
    ) -> Result<Response<proto::IssueResponse>, Status> {
        let request = request.into_inner();
        if request.actor_session_token.is_empty() {
            return Err(Error::NotAnAdmin.into());
        }
        let issued = self
            .inner
            .issue(IssueRequest {
                target: parse_id(&request.target_id, "customerId")?,
                audience: parse_id(&request.audience, "salesChannelId")?,
                actor_session_token: request.actor_session_token,
                reason: request.reason,
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
                expected_target: parse_id(&request.expected_target_id, "customerId")?,
                expected_actor: parse_id(&request.expected_actor_id, "userId")?,
                expected_audience: match request.expected_audience.as_str() {
                    "" => None,
                    text => Some(parse_id(text, "salesChannelId")?),
                },
                token: request.token,
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
        }))
    }
}
