//! The team permissions page's data and the public logout: what a team
//! administrator's portal reads and does.

use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    coworkers::{PROFILE_OLGA_ACME, add_matrix_people, token_of},
    helpers::{TestSystem, assert_error},
};

impl TestSystem {
    async fn team(&self, bearer: &str) -> reqwest::Response {
        self.http
            .get(self.url("/api/public/coworkers/team"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }

    async fn public_logout(&self, bearer: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/public/auth/logout"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }

    /// Tina (admin of Acme) signed in as Max (a member), through the two steps.
    async fn tina_as_max(&self, tina: &str) -> String {
        let token = token_of(
            self.impersonate_coworker(tina, &seed::PROFILE_MAX_ACME.to_string())
                .await,
        )
        .await;
        let response = self.exchange_token(&token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Row of `member` (a profile id) in a team answer.
fn row(team: &Value, member: i64) -> &Value {
    team["Members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["Id"] == member)
        .unwrap_or_else(|| panic!("member {member} listed: {team}"))
}

#[tokio::test]
async fn the_team_page_says_whom_the_administrator_may_impersonate_and_why_not() {
    let system = TestSystem::start().await;
    add_matrix_people(&system).await; // Olga, owner of Acme
    let mia = system.bearer_of("mia@example.com").await;
    let opted_out = system
        .http
        .put(system.url("/api/public/account/impersonation-consent"))
        .bearer_auth(&mia)
        .json(&json!({ "teamAdmins": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(opted_out.status(), StatusCode::OK);

    let tina = system.bearer_of("tina@example.com").await;
    let response = system.team(&tina).await;
    assert_eq!(response.status(), StatusCode::OK);
    let team: Value = response.json().await.unwrap();
    assert_eq!(team["TeamId"], seed::TEAM_ACME);
    assert_eq!(team["TeamName"], "Acme");
    assert_eq!(team["ReasonRequired"], false);
    let ids: Vec<i64> = team["Members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["Id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            seed::PROFILE_TINA_ACME,
            seed::PROFILE_MAX_ACME,
            seed::PROFILE_MIA_ACME,
            PROFILE_OLGA_ACME
        ],
        "every member of Acme, by profile id, and no one of Globex"
    );

    let max = row(&team, seed::PROFILE_MAX_ACME);
    assert_eq!(max["FullName"], "Max Mustermann");
    assert_eq!(max["Role"], "member");
    assert_eq!(
        (max["CanImpersonate"].clone(), max["Denial"].clone()),
        (json!(true), Value::Null)
    );
    let tina_row = row(&team, seed::PROFILE_TINA_ACME);
    assert_eq!(
        (tina_row["IsYou"].clone(), tina_row["Role"].clone()),
        (json!(true), json!("admin"))
    );
    assert_eq!(tina_row["CanImpersonate"], false);
    let mia_row = row(&team, seed::PROFILE_MIA_ACME);
    assert_eq!(mia_row["CanImpersonate"], false);
    assert_eq!(mia_row["Denial"]["Code"], "ACTAS__IMPERSONATION_OPTED_OUT");
    let olga = row(&team, PROFILE_OLGA_ACME);
    assert_eq!(
        (olga["Role"].clone(), olga["CanImpersonate"].clone()),
        (json!("owner"), json!(false))
    );
    assert_eq!(olga["Denial"]["Code"], "ACTAS__IMPERSONATION_NOT_ALLOWED");

    // The page says what the issue answers: the opted-out member is refused
    // with the same code, the open one is not.
    let refused = system
        .impersonate_coworker(&tina, &seed::PROFILE_MIA_ACME.to_string())
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "ACTAS__IMPERSONATION_OPTED_OUT").await;

    // Policy off for the team: every row closed, saying so.
    let operator = system.operator().await;
    let off = system
        .http
        .put(system.url(&format!(
            "/api/sys/impersonation-policies/team:{}",
            seed::TEAM_ACME
        )))
        .bearer_auth(&operator)
        .json(&json!({ "enabled": false, "readOnly": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::OK, "{}", off.text().await.unwrap());
    let team: Value = system.team(&tina).await.json().await.unwrap();
    let max = row(&team, seed::PROFILE_MAX_ACME);
    assert_eq!(max["CanImpersonate"], false);
    assert_eq!(max["Denial"]["Code"], "ACTAS__IMPERSONATION_DISABLED");
    system.stop().await;
}

#[tokio::test]
async fn only_the_teams_administrators_read_its_members_and_never_while_impersonating() {
    let system = TestSystem::start().await;
    let max = system.bearer_of("max@example.com").await;
    assert_error(
        system.team(&max).await,
        StatusCode::FORBIDDEN,
        "ACTAS__IMPERSONATION_NOT_ALLOWED",
    )
    .await;
    let tina = system.bearer_of("tina@example.com").await;
    let as_max = system.tina_as_max(&tina).await;
    assert_error(
        system.team(&as_max).await,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    assert_error(
        system.team("not-a-session").await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn logout_ends_the_impersonated_session_only_and_the_member_sees_it_ended() {
    let system = TestSystem::start().await;
    let tina = system.bearer_of("tina@example.com").await;
    let as_max = system.tina_as_max(&tina).await;

    let ended = system.public_logout(&as_max).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    // The ended bearer is refused at once; Tina's own session goes on.
    assert_error(
        system.team(&as_max).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    assert_error(
        system.public_logout(&as_max).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    assert_eq!(system.team(&tina).await.status(), StatusCode::OK);

    // Max reads who acted as him, and that it ended.
    let max = system.bearer_of("max@example.com").await;
    let response = system
        .http
        .get(system.url("/api/public/account/impersonations"))
        .bearer_auth(&max)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let records: Value = response.json().await.unwrap();
    let kinds: Vec<&str> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"impersonation_started") && kinds.contains(&"impersonation_ended"),
        "{records}"
    );

    // Ending one's own session works the same way.
    assert_eq!(system.public_logout(&tina).await.status(), StatusCode::NO_CONTENT);
    assert_error(
        system.team(&tina).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    system.stop().await;
}
