//! The gRPC adapter: parse the request, call [`Permission`], map the error.

use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{self, permission_service_server::PermissionService},
};
use tonic::{Request, Response, Status};

use crate::{
    directory::Permission,
    error::Error,
    model::{Action, Principal},
};

pub struct PermissionGrpc<P> {
    inner: P,
}

impl<P: Permission> PermissionGrpc<P> {
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

fn parse_id<T: std::str::FromStr>(text: &str, field: &'static str) -> Result<T, Error> {
    if text.is_empty() {
        return Err(Error::Missing { field });
    }
    text.parse().map_err(|_| Error::InvalidId { field })
}

fn kind(value: i32) -> Result<PrincipalKind, Error> {
    PrincipalKind::from_proto(value).ok_or(Error::Missing { field: "kind" })
}

fn to_proto(principal: Principal) -> proto::Principal {
    proto::Principal {
        id: principal.id.to_string(),
        kind: principal.kind.to_proto().into(),
        email: principal.email,
        display_name: principal.display_name,
        active: principal.active,
        guest: principal.guest,
        privileges: principal.privileges,
        sales_channel_ids: principal
            .sales_channel_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

#[tonic::async_trait]
impl<P: Permission> PermissionService for PermissionGrpc<P> {
    async fn authenticate(
        &self,
        request: Request<proto::AuthenticateRequest>,
    ) -> Result<Response<proto::AuthenticateResponse>, Status> {
        let request = request.into_inner();
        let kind = kind(request.kind)?;
        let channel = match request.sales_channel_id.as_str() {
            "" => None,
            text => Some(parse_id::<SalesChannelId>(text, "salesChannelId")?),
        };
        let principal = self
            .inner
            .authenticate(kind, &request.email, &request.password, channel)
            .await?;
        Ok(Response::new(proto::AuthenticateResponse {
            principal: Some(to_proto(principal)),
        }))
    }

    async fn authorize(
        &self,
        request: Request<proto::AuthorizeRequest>,
    ) -> Result<Response<proto::Decision>, Status> {
        let request = request.into_inner();
        let action = match proto::Action::try_from(request.action) {
            Ok(proto::Action::ImitateCustomer) => Action::ImitateCustomer,
            _ => return Err(Error::Missing { field: "action" }.into()),
        };
        let decision = self
            .inner
            .authorize(
                parse_id::<PrincipalId>(&request.actor_id, "actorId")?,
                action,
                parse_id::<PrincipalId>(&request.target_id, "targetId")?,
                parse_id::<SalesChannelId>(&request.audience, "audience")?,
            )
            .await?;
        let allowed = decision.allowed();
        let (code, missing_privileges) = match decision.denial {
            Some(denial) => (denial.code.as_str().to_owned(), denial.missing_privileges),
            None => (String::new(), Vec::new()),
        };
        Ok(Response::new(proto::Decision {
            allowed,
            reason: decision.reason,
            code,
            missing_privileges,
        }))
    }

    async fn get_principal(
        &self,
        request: Request<proto::GetPrincipalRequest>,
    ) -> Result<Response<proto::Principal>, Status> {
        let id = parse_id::<PrincipalId>(&request.get_ref().id, "id")?;
        Ok(Response::new(to_proto(self.inner.principal(id).await?)))
    }

    async fn resolve_sales_channel(
        &self,
        request: Request<proto::ResolveSalesChannelRequest>,
    ) -> Result<Response<proto::SalesChannel>, Status> {
        let channel = self
            .inner
            .resolve_sales_channel(&request.get_ref().access_key)
            .await?;
        Ok(Response::new(proto::SalesChannel {
            id: channel.id.to_string(),
            name: channel.name,
        }))
    }
}
