//! The gRPC adapter: parse the request, call [`Permission`], map the error;
//! under mutual TLS, the calls that act on the gateway's word about who
//! asks (search, policy, consent) are the gateway's only.

use actas_shared::{
    audience::Audience,
    grpc::tls::require_caller,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{self, permission_service_server::PermissionService},
};
use tonic::{Request, Response, Status};

use crate::{
    directory::Permission,
    error::Error,
    model::{Action, Policy, PolicyScope, Principal, Profile, Target},
};

pub struct PermissionGrpc<P> {
    inner: P,
    /// Mutual TLS is on: the calling service is known from its certificate.
    check_callers: bool,
}

impl<P: Permission> PermissionGrpc<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            check_callers: false,
        }
    }

    /// Under mutual TLS: the calls that take an actor or person id on the
    /// caller's word (customer search, policy, consent) are the gateway's
    /// only, which verified that person's session first.
    pub fn check_callers(self, check: bool) -> Self {
        Self {
            check_callers: check,
            ..self
        }
    }

    fn gateway_only<T>(&self, request: &Request<T>) -> Result<(), Error> {
        require_caller(request, self.check_callers, "gateway").map_err(Error::Denied)
    }

    /// Credentials and decisions are the session service's to ask for: it
    /// starts every session and impersonation.
    fn session_only<T>(&self, request: &Request<T>) -> Result<(), Error> {
        require_caller(request, self.check_callers, "session").map_err(Error::Denied)
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

fn profile_to_proto(profile: Profile) -> proto::Profile {
    proto::Profile {
        id: profile.id,
        person_id: profile.person_id.to_string(),
        full_name: profile.full_name,
        team_id: profile.team_id,
        team_name: profile.team_name,
        role: profile.role.as_str().to_owned(),
    }
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
        self.session_only(&request)?;
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
        self.session_only(&request)?;
        let request = request.into_inner();
        let action = match proto::Action::try_from(request.action) {
            Ok(proto::Action::ImitateCustomer) => Action::ImitateCustomer,
            Ok(proto::Action::ImpersonateTeamMember) => Action::ImpersonateTeamMember,
            Ok(proto::Action::ImpersonateUser) => Action::ImpersonateUser,
            _ => return Err(Error::Missing { field: "action" }.into()),
        };
        let target = match action {
            Action::ImpersonateTeamMember if request.target_profile_id > 0 => {
                Target::Profile(request.target_profile_id)
            }
            Action::ImpersonateTeamMember => {
                return Err(Error::Missing {
                    field: "targetProfileId",
                }
                .into());
            }
            _ => Target::Principal(parse_id::<PrincipalId>(&request.target_id, "targetId")?),
        };
        let audience = match request.sales_channel_id.as_str() {
            "" => None,
            text => Some(parse_id::<SalesChannelId>(text, "salesChannelId")?),
        };
        let decision = self
            .inner
            .authorize(
                parse_id::<PrincipalId>(&request.actor_id, "actorId")?,
                action,
                target,
                audience,
            )
            .await?;
        let allowed = decision.allowed();
        let (code, missing_privileges) = match decision.denial {
            Some(denial) => (denial.code.as_str().to_owned(), denial.missing_privileges),
            None => (String::new(), Vec::new()),
        };
        let target = decision.target;
        Ok(Response::new(proto::Decision {
            allowed,
            reason: decision.reason,
            code,
            missing_privileges,
            target_id: target
                .as_ref()
                .map(|t| t.principal_id.to_string())
                .unwrap_or_default(),
            target_kind: target
                .as_ref()
                .map_or(proto::PrincipalKind::Unspecified, |t| t.kind.to_proto())
                .into(),
            target_profile_id: target.as_ref().and_then(|t| t.profile_id).unwrap_or_default(),
            audience: decision.audience.map(Audience::to_proto),
            read_only: decision.read_only,
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
        let request = request.into_inner();
        let channel = match (request.access_key.as_str(), request.domain_host.as_str()) {
            (key, "") => self.inner.resolve_sales_channel(key).await?,
            ("", host) => self.inner.sales_channel_by_host(host).await?,
            _ => {
                return Err(Status::invalid_argument(
                    "give either access_key or domain_host, not both",
                ));
            }
        };
        Ok(Response::new(proto::SalesChannel {
            id: channel.id.to_string(),
            name: channel.name,
        }))
    }

    async fn get_context_options(
        &self,
        request: Request<proto::GetContextOptionsRequest>,
    ) -> Result<Response<proto::ContextOptions>, Status> {
        let channel = parse_id::<SalesChannelId>(&request.get_ref().sales_channel_id, "salesChannelId")?;
        let options = self.inner.context_options(channel).await?;
        Ok(Response::new(proto::ContextOptions {
            options: options
                .into_iter()
                .map(|option| proto::ContextOption {
                    kind: option.kind.to_proto().into(),
                    id: option.id.to_string(),
                    is_default: option.is_default,
                })
                .collect(),
        }))
    }

    async fn list_profiles(
        &self,
        request: Request<proto::ListProfilesRequest>,
    ) -> Result<Response<proto::ListProfilesResponse>, Status> {
        let request = request.into_inner();
        let profiles = match (request.person_id.as_str(), request.team_id) {
            ("", team) if team > 0 => self.inner.team_profiles(team).await?,
            (person, _) => {
                self.inner
                    .profiles(parse_id::<PrincipalId>(person, "personId")?)
                    .await?
            }
        };
        Ok(Response::new(proto::ListProfilesResponse {
            profiles: profiles.into_iter().map(profile_to_proto).collect(),
        }))
    }

    async fn search_customers(
        &self,
        request: Request<proto::SearchCustomersRequest>,
    ) -> Result<Response<proto::SearchCustomersResponse>, Status> {
        // The actor id is the gateway's word, after verifying the session.
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let page = self
            .inner
            .search_customers(
                parse_id::<PrincipalId>(&request.actor_id, "actorId")?,
                &request.term,
                request.page,
                request.limit,
            )
            .await?;
        Ok(Response::new(proto::SearchCustomersResponse {
            total: page.total,
            customers: page.customers.into_iter().map(to_proto).collect(),
            sales_channels: page
                .sales_channels
                .into_iter()
                .map(|channel| proto::StorefrontChannel {
                    id: channel.id.to_string(),
                    name: channel.name,
                    domain_urls: channel.domain_urls,
                })
                .collect(),
        }))
    }

    async fn search_users(
        &self,
        request: Request<proto::SearchUsersRequest>,
    ) -> Result<Response<proto::SearchUsersResponse>, Status> {
        // The actor id is the gateway's word, after verifying the session.
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let page = self
            .inner
            .search_users(
                parse_id::<PrincipalId>(&request.actor_id, "actorId")?,
                &request.term,
                request.page,
                request.limit,
            )
            .await?;
        Ok(Response::new(proto::SearchUsersResponse {
            total: page.total,
            users: page.users.into_iter().map(to_proto).collect(),
        }))
    }

    async fn get_team_impersonation_consent(
        &self,
        request: Request<proto::TeamImpersonationConsent>,
    ) -> Result<Response<proto::TeamImpersonationConsent>, Status> {
        self.gateway_only(&request)?;
        let person = parse_id::<PrincipalId>(&request.get_ref().person_id, "personId")?;
        Ok(Response::new(proto::TeamImpersonationConsent {
            person_id: person.to_string(),
            team_admins_allowed: self.inner.team_impersonation_consent(person).await?,
        }))
    }

    async fn set_team_impersonation_consent(
        &self,
        request: Request<proto::TeamImpersonationConsent>,
    ) -> Result<Response<proto::TeamImpersonationConsent>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let person = parse_id::<PrincipalId>(&request.person_id, "personId")?;
        let allowed = self
            .inner
            .set_team_impersonation_consent(person, request.team_admins_allowed)
            .await?;
        Ok(Response::new(proto::TeamImpersonationConsent {
            person_id: person.to_string(),
            team_admins_allowed: allowed,
        }))
    }

    async fn get_impersonation_policy(
        &self,
        request: Request<proto::GetImpersonationPolicyRequest>,
    ) -> Result<Response<proto::ImpersonationPolicy>, Status> {
        // The actor id is the gateway's word, after verifying the session.
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let actor = parse_id::<PrincipalId>(&request.actor_id, "actorId")?;
        let (scope, policy) = self.inner.impersonation_policy(actor, &request.scope).await?;
        Ok(Response::new(policy_to_proto(scope, policy)))
    }

    async fn set_impersonation_policy(
        &self,
        request: Request<proto::SetImpersonationPolicyRequest>,
    ) -> Result<Response<proto::ImpersonationPolicy>, Status> {
        // The actor id is the gateway's word, after verifying the session.
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let actor = parse_id::<PrincipalId>(&request.actor_id, "actorId")?;
        let wanted = request.policy.ok_or(Error::Missing { field: "policy" })?;
        let policy = Policy {
            enabled: wanted.enabled,
            read_only: wanted.read_only,
        };
        let (scope, policy) = self
            .inner
            .set_impersonation_policy(actor, &wanted.scope, policy)
            .await?;
        Ok(Response::new(policy_to_proto(scope, policy)))
    }

    async fn set_principal_active(
        &self,
        request: Request<proto::SetPrincipalActiveRequest>,
    ) -> Result<Response<proto::Principal>, Status> {
        // The actor id is the session service's word, after verifying the
        // session; it ends the principal's sessions after.
        self.session_only(&request)?;
        let request = request.into_inner();
        let actor = parse_id::<PrincipalId>(&request.actor_id, "actorId")?;
        let target = parse_id::<PrincipalId>(&request.principal_id, "principalId")?;
        let principal = self
            .inner
            .set_principal_active(actor, target, request.active)
            .await?;
        Ok(Response::new(to_proto(principal)))
    }

    async fn get_profile(
        &self,
        request: Request<proto::GetProfileRequest>,
    ) -> Result<Response<proto::Profile>, Status> {
        let id = request.get_ref().id;
        if id <= 0 {
            return Err(Error::Missing { field: "id" }.into());
        }
        Ok(Response::new(profile_to_proto(self.inner.profile(id).await?)))
    }
}

fn policy_to_proto(scope: PolicyScope, policy: Policy) -> proto::ImpersonationPolicy {
    proto::ImpersonationPolicy {
        scope: scope.to_string(),
        enabled: policy.enabled,
        read_only: policy.read_only,
    }
}
