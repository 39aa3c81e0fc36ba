//! Shapes more than one of the APIs reads or answers: ids in Shopware's
//! form, a one-time impersonation token, a search request.

use actas_shared::ids::PrincipalId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{BodyObject, FromBody},
};

/// Ids leave the gateway in Shopware's form; an empty id stays `null`.
pub fn simple_id(id: &str) -> Option<String> {
    id.parse::<PrincipalId>().ok().map(|id| id.simple())
}

/// A one-time impersonation token.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"token": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl"})))]
pub struct OneTimeToken {
    /// A one-time impersonation token (EdDSA-signed JWT).
    pub token: String,
}

/// Search results a page holds unless the request asks for fewer.
const DEFAULT_SEARCH_LIMIT: i64 = 25;

/// A search of customers (admins) or users (operators).
#[derive(ToSchema)]
#[schema(examples(json!({"term": "alice", "page": 1, "limit": 10})))]
pub struct SearchRequest {
    /// Matched case-insensitively against email and name; empty or absent
    /// lists all.
    #[schema(value_type = Option<String>)]
    pub term: String,
    #[schema(value_type = Option<i64>, minimum = 1, default = 1)]
    pub page: i64,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100, default = 25)]
    pub limit: i64,
}

impl FromBody for SearchRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self {
            term: body.text_or_empty("term")?,
            page: body.optional_integer("page")?.unwrap_or(1),
            limit: body.optional_integer("limit")?.unwrap_or(DEFAULT_SEARCH_LIMIT),
        })
    }
}
