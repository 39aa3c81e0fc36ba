//! The gRPC adapter: parse the request, call [`Sessions`], map the error;
//! under mutual TLS, the calls meant for one service check who is calling.

use actas_shared::{
    ids::PrincipalId,
    principal::PrincipalKind,
    proto::{self, Action, AuditKind, session_service_server::SessionService},
};
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use crate::{
    actions::{ActionFilter, ActionRecord},
    error::Error,
    guests::{GuestContext, IssuedGuest},
    model::{AuditFilter, Session},
    sessions::{
        Activation, Exchange, ImitateCustomer, IssueToken, Issued, Login, ReportedAction, Revoke, Sessions,
        StoreContext, Target,
    },
};

pub struct SessionGrpc<S> {
    inner: S,
    /// Under mutual TLS: only the gateway makes every call; the services
    /// named in `ACTAS_CONTEXT_READERS` may ask `GetContext` and report
    /// actions (`RecordAction`) alone.
    check_callers: bool,
    /// The callers that may report actions, by certificate name: the
    /// gateway and the context readers.
    reporters: Vec<String>,
}

/// The one caller of every RPC here, under mutual TLS.
pub const GATEWAY: &str = "gateway";

impl<S: Sessions> SessionGrpc<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            check_callers: false,
            reporters: vec![GATEWAY.to_owned()],
        }
    }

    /// The services besides the gateway that may report actions (the
    /// context readers), by the names their certificates carry.
    pub fn reporters(mut self, readers: &[String]) -> Self {
        self.reporters.extend(readers.iter().cloned());
        self
    }

    /// Who reports: under mutual TLS the caller's certificate name, which
    /// a stated name must match; without it, the stated name.
    fn reporter<T>(&self, request: &Request<T>, stated: &str) -> Result<String, Status> {
        if !self.check_callers {
            return Ok(stated.to_owned());
        }
        let verified = self
            .reporters
            .iter()
            .find(|name| actas_shared::grpc::tls::peer_is(request, name))
            .ok_or_else(|| Status::from(actas_shared::ApiError::unauthorized()))?;
        if !stated.is_empty() && stated != verified {
            return Err(Status::from(actas_shared::ApiError::new(
                actas_shared::ErrorCode::Unauthorized,
                "The stated reporter is not the calling service.",
            )));
        }
        Ok(verified.clone())
    }

    /// Checks callers (mutual TLS is on): every RPC but `GetContext`
    /// answers the gateway only; the interceptor already let through only
    /// the gateway and the context readers.
    pub fn checking_callers(mut self, check: bool) -> Self {
        self.check_callers = check;
        self
    }

    fn gateway_only<T>(&self, request: &Request<T>) -> Result<(), Status> {
        actas_shared::grpc::tls::require_caller(request, self.check_callers, GATEWAY).map_err(Status::from)
    }
}

fn parse_id<T: std::str::FromStr>(text: &str, field: &'static str) -> Result<T, Error> {
    if text.is_empty() {
        return Err(Error::Missing { field });
    }
    text.parse().map_err(|_| Error::InvalidId { field })
}

fn optional_id<T: std::str::FromStr>(text: &str, field: &'static str) -> Result<Option<T>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_id(text, field).map(Some)
}

fn context(session: Session) -> proto::SessionContext {
    proto::SessionContext {
        session_id: session.id.to_string(),
        principal_id: session.principal_id.to_string(),
        principal_kind: session.principal_kind.to_proto().into(),
        sales_channel_id: session
            .sales_channel_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        imitated: session.imitating_user_id.is_some(),
        imitating_user_id: session
            .imitating_user_id
            .map(|u| u.to_string())
            .unwrap_or_default(),
        created_at_unix: session.created_at / 1000,
        expires_at_unix: session.expires_at / 1000,
        payload_json: session.payload,
        profile_id: session.profile_id.unwrap_or_default(),
        read_only: session.read_only,
        guest: false,
    }
}

/// A guest context names nobody: only its sales channel and payload.
fn guest_context(guest: GuestContext) -> proto::SessionContext {
    proto::SessionContext {
        sales_channel_id: guest.sales_channel_id.to_string(),
        created_at_unix: guest.created_at / 1000,
        expires_at_unix: guest.expires_at / 1000,
        payload_json: guest.payload,
        guest: true,
        ..Default::default()
    }
}

fn store_context(context: StoreContext) -> proto::SessionContext {
    match context {
        StoreContext::Session(session) => self::context(session),
        StoreContext::Guest(guest) => guest_context(guest),
    }
}

fn session_token(issued: Issued) -> proto::SessionToken {
    proto::SessionToken {
        token: issued.token,
        context: Some(context(issued.session)),
        refresh_token: issued.refresh_token.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<S: Sessions> SessionService for SessionGrpc<S> {
    async fn login(
        &self,
        request: Request<proto::LoginRequest>,
    ) -> Result<Response<proto::SessionToken>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let kind = PrincipalKind::from_proto(request.kind).ok_or(Error::Missing { field: "kind" })?;
        let sales_channel = optional_id(&request.sales_channel_id, "salesChannelId")?;
        if kind == PrincipalKind::Customer && sales_channel.is_none() && !request.with_profile {
            return Err(Error::Missing {
                field: "salesChannelId",
            }
            .into());
        }
        if kind == PrincipalKind::Customer && request.with_refresh_token {
            return Err(
                Error::InvalidPayload("refresh tokens are for admin and operator sessions".into()).into(),
            );
        }
        let issued = self
            .inner
            .login(Login {
                kind,
                email: request.email,
                password: request.password,
                sales_channel,
                previous_token: Some(request.previous_token).filter(|t| !t.is_empty()),
                with_profile: request.with_profile,
                with_refresh_token: request.with_refresh_token,
            })
            .await?;
        Ok(Response::new(session_token(issued)))
    }

    async fn imitate_customer(
        &self,
        request: Request<proto::ImitateCustomerRequest>,
    ) -> Result<Response<proto::SessionToken>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let issued = self
            .inner
            .imitate_customer(ImitateCustomer {
                customer: optional_id(&request.customer_id, "customerId")?,
                user: optional_id(&request.user_id, "userId")?,
                sales_channel: optional_id(&request.sales_channel_id, "salesChannelId")?,
                token: request.token,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(session_token(issued)))
    }

    async fn get_context(
        &self,
        request: Request<proto::GetContextRequest>,
    ) -> Result<Response<proto::SessionContext>, Status> {
        // Guests are the Store API's business: a context reader asking who
        // acts never gets a visitor.
        if request.get_ref().include_guests {
            self.gateway_only(&request)?;
        }
        let request = request.get_ref();
        if request.include_guests {
            let found = self.inner.store_context(&request.token).await?;
            return Ok(Response::new(store_context(found)));
        }
        let session = self.inner.context(&request.token).await?;
        Ok(Response::new(context(session)))
    }

    async fn start_guest_context(
        &self,
        request: Request<proto::StartGuestContextRequest>,
    ) -> Result<Response<proto::SessionToken>, Status> {
        self.gateway_only(&request)?;
        let channel = parse_id(&request.get_ref().sales_channel_id, "salesChannelId")?;
        let IssuedGuest { token, guest } = self.inner.start_guest(channel).await?;
        Ok(Response::new(proto::SessionToken {
            token,
            context: Some(guest_context(guest)),
            refresh_token: String::new(),
        }))
    }

    async fn refresh_session(
        &self,
        request: Request<proto::RefreshSessionRequest>,
    ) -> Result<Response<proto::SessionToken>, Status> {
        self.gateway_only(&request)?;
        let issued = self.inner.refresh(&request.get_ref().refresh_token).await?;
        Ok(Response::new(session_token(issued)))
    }

    async fn update_context(
        &self,
        request: Request<proto::UpdateContextRequest>,
    ) -> Result<Response<proto::SessionContext>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let changes: Map<String, Value> = serde_json::from_str(&request.payload_json)
            .map_err(|_| Error::InvalidPayload("the context changes must be a JSON object".into()))?;
        let updated = self.inner.update_context(&request.token, changes).await?;
        Ok(Response::new(store_context(updated)))
    }

    async fn exchange(
        &self,
        request: Request<proto::ExchangeRequest>,
    ) -> Result<Response<proto::SessionToken>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let issued = self
            .inner
            .exchange(Exchange {
                token: request.token,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(session_token(issued)))
    }

    async fn switch_profile(
        &self,
        request: Request<proto::SwitchProfileRequest>,
    ) -> Result<Response<proto::SessionContext>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        if request.profile_id <= 0 {
            return Err(Error::Missing { field: "id" }.into());
        }
        let session = self
            .inner
            .switch_profile(&request.token, request.profile_id)
            .await?;
        Ok(Response::new(context(session)))
    }

    async fn logout(
        &self,
        request: Request<proto::LogoutRequest>,
    ) -> Result<Response<proto::LogoutResponse>, Status> {
        self.gateway_only(&request)?;
        self.inner.logout(&request.get_ref().token).await?;
        Ok(Response::new(proto::LogoutResponse {}))
    }

    async fn issue_impersonation_token(
        &self,
        request: Request<proto::IssueImpersonationTokenRequest>,
    ) -> Result<Response<proto::ImpersonationToken>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let target = match Action::try_from(request.action) {
            Ok(Action::Unspecified | Action::ImitateCustomer) => Target::Customer {
                customer: parse_id(&request.target_id, "customerId")?,
                sales_channel: parse_id(&request.sales_channel_id, "salesChannelId")?,
            },
            Ok(Action::ImpersonateTeamMember) if request.target_profile_id > 0 => {
                Target::Profile(request.target_profile_id)
            }
            Ok(Action::ImpersonateTeamMember) => return Err(Error::Missing { field: "coworkerId" }.into()),
            Ok(Action::ImpersonateUser) => Target::User(parse_id(&request.target_id, "userId")?),
            Err(_) => return Err(Error::Missing { field: "action" }.into()),
        };
        let issued = self
            .inner
            .issue_token(IssueToken {
                actor_token: request.actor_session_token,
                target,
                reason: request.reason,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(proto::ImpersonationToken {
            token: issued.token,
            expires_at_unix: issued.expires_at,
        }))
    }

    async fn list_team_members(
        &self,
        request: Request<proto::ListTeamMembersRequest>,
    ) -> Result<Response<proto::ListTeamMembersResponse>, Status> {
        self.gateway_only(&request)?;
        let roster = self.inner.team_members(&request.get_ref().token).await?;
        Ok(Response::new(proto::ListTeamMembersResponse {
            team_id: roster.team_id,
            team_name: roster.team_name,
            members: roster
                .members
                .into_iter()
                .map(|member| {
                    let (code, reason) = match member.decision {
                        Ok(()) => (String::new(), String::new()),
                        Err(denied) => (denied.code.as_str().to_owned(), denied.detail),
                    };
                    proto::TeamMember {
                        may_impersonate: code.is_empty(),
                        profile: Some(member.profile),
                        code,
                        reason,
                    }
                })
                .collect(),
        }))
    }

    async fn list_impersonations(
        &self,
        request: Request<proto::ListImpersonationsRequest>,
    ) -> Result<Response<proto::ListImpersonationsResponse>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let page = self
            .inner
            .live_impersonations(
                &request.reader_session_token,
                optional_id(&request.after_session_id, "afterSessionId")?,
                request.limit,
            )
            .await?;
        Ok(Response::new(proto::ListImpersonationsResponse {
            impersonations: page
                .sessions
                .into_iter()
                .map(|session| proto::Impersonation {
                    session_id: session.id.to_string(),
                    actor_id: session
                        .imitating_user_id
                        .map(|actor| actor.to_string())
                        .unwrap_or_default(),
                    target_id: session.principal_id.to_string(),
                    sales_channel_id: session
                        .sales_channel_id
                        .map(|channel| channel.to_string())
                        .unwrap_or_default(),
                    profile_id: session.profile_id.unwrap_or_default(),
                    action: session
                        .grant_action
                        .as_deref()
                        .and_then(Action::parse)
                        .unwrap_or_default()
                        .into(),
                    started_at_unix: session.created_at / 1000,
                    last_seen_at_unix: session.last_seen_at / 1000,
                    expires_at_unix: session.expires_at / 1000,
                    read_only: session.read_only,
                })
                .collect(),
            next_after_session_id: page.next_after.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_issue_policy(
        &self,
        request: Request<proto::GetIssuePolicyRequest>,
    ) -> Result<Response<proto::IssuePolicy>, Status> {
        self.gateway_only(&request)?;
        Ok(Response::new(proto::IssuePolicy {
            reason_required: self.inner.reason_required(),
            reason_max_chars: u32::try_from(actas_shared::reason::MAX_REASON_CHARS).unwrap_or(u32::MAX),
        }))
    }

    async fn revoke_impersonations(
        &self,
        request: Request<proto::RevokeImpersonationsRequest>,
    ) -> Result<Response<proto::RevokeImpersonationsResponse>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let optional = |text: &str, field: &'static str| -> Result<Option<PrincipalId>, Error> {
            match text {
                "" => Ok(None),
                text => text.parse().map(Some).map_err(|_| Error::InvalidId { field }),
            }
        };
        let revoked = self
            .inner
            .revoke_impersonations(Revoke {
                actor: optional(&request.actor_id, "actorId")?,
                target: optional(&request.target_id, "targetId")?,
                session: optional_id(&request.session_id, "sessionId")?,
                revoker_token: request.revoker_session_token,
                reason: request.reason,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        Ok(Response::new(proto::RevokeImpersonationsResponse { revoked }))
    }

    async fn deactivate_principal(
        &self,
        request: Request<proto::PrincipalActivationRequest>,
    ) -> Result<Response<proto::PrincipalActivation>, Status> {
        self.gateway_only(&request)?;
        self.set_principal_active(request.into_inner(), false).await
    }

    async fn reactivate_principal(
        &self,
        request: Request<proto::PrincipalActivationRequest>,
    ) -> Result<Response<proto::PrincipalActivation>, Status> {
        self.gateway_only(&request)?;
        self.set_principal_active(request.into_inner(), true).await
    }

    async fn record_action(
        &self,
        request: Request<proto::RecordActionRequest>,
    ) -> Result<Response<proto::ActionRecord>, Status> {
        let reporter = self.reporter(&request, &request.get_ref().reporter)?;
        let request = request.into_inner();
        let record = self
            .inner
            .record_action(ReportedAction {
                token: request.token,
                action: request.action,
                detail: request.detail,
                outcome: request.outcome,
                reporter,
            })
            .await?;
        Ok(Response::new(action_record(record)))
    }

    async fn list_action_records(
        &self,
        request: Request<proto::ListActionRecordsRequest>,
    ) -> Result<Response<proto::ListActionRecordsResponse>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let records = self
            .inner
            .action_records(
                &request.reader_session_token,
                ActionFilter {
                    session_id: optional_id(&request.session_id, "sessionId")?,
                    actor_id: optional_id(&request.actor_id, "actorId")?,
                    target_id: optional_id(&request.target_id, "targetId")?,
                    limit: request.limit,
                    offset: request.offset,
                },
            )
            .await?;
        Ok(Response::new(proto::ListActionRecordsResponse {
            records: records.into_iter().map(action_record).collect(),
        }))
    }

    async fn list_audit_records(
        &self,
        request: Request<proto::ListAuditRecordsRequest>,
    ) -> Result<Response<proto::ListAuditRecordsResponse>, Status> {
        self.gateway_only(&request)?;
        let request = request.into_inner();
        let bound = |millis: i64| (millis > 0).then_some(millis);
        let records = self
            .inner
            .audit_records(
                &request.reader_session_token,
                AuditFilter {
                    actor_id: optional_id(&request.actor_id, "actorId")?,
                    target_id: optional_id(&request.target_id, "targetId")?,
                    limit: request.limit,
                    sessions_only: request.sessions_only,
                    since: bound(request.since_unix_ms),
                    until: bound(request.until_unix_ms),
                    offset: request.offset,
                    kind: match request.kind() {
                        AuditKind::Unspecified => None,
                        kind => Some(kind),
                    },
                },
            )
            .await?;
        Ok(Response::new(proto::ListAuditRecordsResponse {
            records: records
                .into_iter()
                .map(|record| proto::AuditRecord {
                    id: record.id.to_string(),
                    kind: record.kind.into(),
                    action: record.action.into(),
                    actor_id: record.actor_id.to_string(),
                    target_id: record.target_id.to_string(),
                    audience: record.audience,
                    session_id: record.session_id.map(|s| s.to_string()).unwrap_or_default(),
                    reason: record.reason,
                    client_ip: record.client_ip,
                    user_agent: record.user_agent,
                    occurred_at_unix: record.occurred_at / 1000,
                    trace_id: record.trace_id,
                })
                .collect(),
        }))
    }
}

fn action_record(record: ActionRecord) -> proto::ActionRecord {
    proto::ActionRecord {
        id: record.id.to_string(),
        session_id: record.session_id.to_string(),
        actor_id: record.actor_id.to_string(),
        target_id: record.target_id.to_string(),
        action: record.action,
        detail: record.detail,
        outcome: record.outcome,
        reporter: record.reporter,
        occurred_at_unix_ms: record.occurred_at,
        trace_id: record.trace_id,
    }
}

impl<S: Sessions> SessionGrpc<S> {
    async fn set_principal_active(
        &self,
        request: proto::PrincipalActivationRequest,
        active: bool,
    ) -> Result<Response<proto::PrincipalActivation>, Status> {
        let principal = match request.principal_id.as_str() {
            "" => return Err(Error::Missing { field: "principalId" }.into()),
            text => text
                .parse()
                .map_err(|_| Error::InvalidId { field: "principalId" })?,
        };
        let (principal, ended_sessions) = self
            .inner
            .set_principal_active(
                Activation {
                    actor_token: request.actor_session_token,
                    principal,
                    reason: request.reason,
                    client_ip: request.client_ip,
                    user_agent: request.user_agent,
                },
                active,
            )
            .await?;
        Ok(Response::new(proto::PrincipalActivation {
            principal: Some(principal),
            ended_sessions,
        }))
    }
}
