//! Signing in with a password, and switching among one's own profiles.

use actas_shared::{
    ApiError,
    db::now_millis,
    ids::{PrincipalId, SessionId},
    principal::PrincipalKind,
    proto::{self, Action},
    secret::{hash_token, random_token},
};

use crate::{error::Error, model::Session};

use super::{Issued, Login, SessionManager, guests, lifetime_ms};

impl SessionManager {
    /// The person's first profile (by id), if they hold any.
    pub(super) async fn first_profile(&self, person: PrincipalId) -> Result<Option<i64>, Error> {
        let profiles = self
            .permission
            .list_profiles(proto::ListProfilesRequest {
                person_id: person.to_string(),
                team_id: 0,
            })
            .await?
            .profiles;
        Ok(profiles.first().map(|profile| profile.id))
    }

    #[tracing::instrument(skip_all, fields(kind = %request.kind))]
    pub(super) async fn sign_in(&self, request: Login) -> Result<Issued, Error> {
        let principal = self
            .permission
            .authenticate(proto::AuthenticateRequest {
                kind: request.kind.to_proto().into(),
                email: request.email,
                password: request.password,
                sales_channel_id: request.sales_channel.map(|c| c.to_string()).unwrap_or_default(),
            })
            .await?
            .principal
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;
        let principal_id: PrincipalId = principal
            .id
            .parse()
            .map_err(|_| Error::Upstream(ApiError::internal()))?;
        // Authenticated just now, so active: the first reads skip the lookup.
        self.active.put(principal_id, ());

        // The context the client held is replaced: an imitation in it ends;
        // a guest's choices carry over.
        let mut guest = None;
        if let Some(previous) = request.previous_token.filter(|t| !t.is_empty()) {
            if let Ok(previous) = self.live_session(&previous).await {
                self.end(&previous, "replaced by login").await?;
            } else {
                guest = self.guest_on(&previous, request.sales_channel).await?;
            }
        }
        // Restore the customer's latest context payload, never its mark: the
        // new session is the customer's own, whoever wrote the payload.
        let latest = self
            .store
            .latest_payload(principal_id, request.sales_channel)
            .await?;
        let payload = guests::overlay(latest.as_deref(), guest.as_ref().map(|g| g.payload.as_str()));
        let lifetime = match request.kind {
            PrincipalKind::Customer => self.lifetimes.customer,
            PrincipalKind::Admin | PrincipalKind::Operator => self.lifetimes.admin,
        };
        let profile_id = if request.with_profile {
            self.first_profile(principal_id).await?
        } else {
            None
        };
        let token = random_token();
        let now = now_millis();
        let session = Session {
            id: SessionId::new_random(),
            token_hash: hash_token(&token),
            principal_id,
            principal_kind: request.kind,
            sales_channel_id: request.sales_channel,
            imitating_user_id: None,
            profile_id,
            grant_action: None,
            payload,
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms(lifetime)),
            ended_at: None,
            last_seen_at: now,
            read_only: false,
        };
        self.store.insert(&session).await?;
        // Only now: a login that failed leaves the visitor their guest context.
        if let Some(guest) = &guest {
            self.end_guest(guest).await?;
        }
        let refresh_token = if request.with_refresh_token {
            let refresh = random_token();
            self.store
                .grant_refresh(session.id, &hash_token(&refresh))
                .await?;
            Some(refresh)
        } else {
            None
        };
        tracing::info!(session = %session.id, principal = %principal_id, "logged in");
        Ok(Issued {
            token,
            session,
            refresh_token,
        })
    }

    pub(super) async fn switch_to_profile(&self, token: &str, profile_id: i64) -> Result<Session, Error> {
        let mut session = self.live_session(token).await?;
        // A team impersonation was granted for one profile: it stays there,
        // or it would reach the person's other teams.
        if session.grant_action.as_deref() == Some(Action::ImpersonateTeamMember.as_str())
            && session.profile_id != Some(profile_id)
        {
            return Err(Error::ProfileSwitch(
                "An impersonated team session stays on the profile it was granted for.",
            ));
        }
        // Nobody's profile and someone else's get one answer: the switch
        // must not tell which profile ids exist.
        const NOT_YOURS: &str = "Only your own profiles can be switched to.";
        let profile = match self
            .permission
            .get_profile(proto::GetProfileRequest { id: profile_id })
            .await
        {
            Ok(profile) => profile,
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Err(Error::ProfileSwitch(NOT_YOURS));
            }
            Err(status) => return Err(status.into()),
        };
        if profile.person_id != session.principal_id.to_string() {
            return Err(Error::ProfileSwitch(NOT_YOURS));
        }
        self.store.update_profile(session.id, profile_id).await?;
        self.cache.forget(&session.token_hash);
        session.profile_id = Some(profile_id);
        Ok(session)
    }
}
