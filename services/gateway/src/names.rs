//! Display names for the ids the audit trail and the live list carry: the
//! trail keeps ids only (names change, records do not), and a console shows
//! people by name.

use std::collections::HashMap;

use actas_shared::proto::{GetPrincipalRequest, GetProfileRequest};
use futures::{StreamExt, stream};

use crate::state::AppState;

/// Lookups asked at once for one page: a page costs a few round trips, and
/// does not flood the permission service.
const CONCURRENT_LOOKUPS: usize = 8;

/// The display name of each distinct principal id (either UUID form, as
/// given). An id the directory no longer knows, or a failed lookup, has no
/// entry: the page shows the id instead, and the list still answers.
pub async fn principal_names<'a>(
    state: &AppState,
    ids: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, String> {
    // Owned ids and a client per lookup: the futures borrow nothing, so
    // the handler's future stays Send for any lifetime.
    let mut distinct: Vec<String> = ids
        .into_iter()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let permission = state.permission.clone();
    stream::iter(distinct)
        .map(move |id| {
            let mut permission = permission.clone();
            async move {
                let principal = permission
                    .get_principal(GetPrincipalRequest { id: id.clone() })
                    .await
                    .ok()?
                    .into_inner();
                Some((id, principal.display_name))
            }
        })
        .buffer_unordered(CONCURRENT_LOOKUPS)
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// The team name of each distinct profile id (0 is none), as above.
pub async fn team_names(state: &AppState, ids: impl IntoIterator<Item = i64>) -> HashMap<i64, String> {
    let mut distinct: Vec<i64> = ids.into_iter().filter(|id| *id > 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let permission = state.permission.clone();
    stream::iter(distinct)
        .map(move |id| {
            let mut permission = permission.clone();
            async move {
                let profile = permission
                    .get_profile(GetProfileRequest { id })
                    .await
                    .ok()?
                    .into_inner();
                Some((id, profile.team_name))
            }
        })
        .buffer_unordered(CONCURRENT_LOOKUPS)
        .filter_map(std::future::ready)
        .collect()
        .await
}
