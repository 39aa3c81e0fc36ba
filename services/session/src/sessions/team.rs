//! A team administrator's view of the team: its members, and per member
//! whether the administrator may sign in as them now.

use actas_shared::{ApiError, proto};
use futures::{StreamExt, TryStreamExt, stream};

use super::{SessionManager, Target, denial};
use crate::error::Error;

/// Decisions asked at once for one roster: a big team costs a few round
/// trips, not one per member in a row, and does not flood the permission
/// service.
const CONCURRENT_DECISIONS: usize = 8;

/// A team's members as one of its administrators sees them.
#[derive(Debug)]
pub struct TeamRoster {
    pub team_id: i64,
    pub team_name: String,
    /// By profile id.
    pub members: Vec<TeamMember>,
}

#[derive(Debug)]
pub struct TeamMember {
    pub profile: proto::Profile,
    /// `Ok` when the administrator may impersonate this member now; else
    /// what issuing a token would answer.
    pub decision: Result<(), ApiError>,
}

/// The roles that administer a team (`TeamRole` of the permission service).
const ADMINISTERS: [&str; 2] = ["admin", "owner"];

impl SessionManager {
    pub(super) async fn roster(&self, token: &str) -> Result<TeamRoster, Error> {
        let session = self
            .own_session(token, "An impersonated session cannot list the team's members.")
            .await?;
        let Some(profile_id) = session.profile_id else {
            return Err(Error::NotTeamAdministrator(
                "This session is on no team's profile.",
            ));
        };
        let own = self
            .permission
            .get_profile(proto::GetProfileRequest { id: profile_id })
            .await?;
        // The roster names people: their administrators see it, a plain
        // member does not learn who else is on the team from here.
        if !ADMINISTERS.contains(&own.role.as_str()) {
            return Err(Error::NotTeamAdministrator(
                "Only the team's administrators and its owner see its members.",
            ));
        }
        let profiles = self
            .permission
            .list_profiles(proto::ListProfilesRequest {
                person_id: String::new(),
                team_id: own.team_id,
            })
            .await?
            .profiles;
        let actor = session.principal_id;
        // The same decision issuing would take, member by member: the page
        // never offers what the issue would then refuse.
        let members = stream::iter(profiles)
            .map(|profile| async move {
                let decision = self.decide(actor, Target::Profile(profile.id)).await?;
                let decision = if decision.allowed {
                    Ok(())
                } else {
                    Err(denial(&decision))
                };
                Ok::<_, Error>(TeamMember { profile, decision })
            })
            .buffered(CONCURRENT_DECISIONS)
            .try_collect()
            .await?;
        Ok(TeamRoster {
            team_id: own.team_id,
            team_name: own.team_name,
            members,
        })
    }
}
