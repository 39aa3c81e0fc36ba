//! Rows the end-to-end tests and the benchmark write straight into the
//! stack's database, where making them through the flows would take minutes.

/// `$5` live impersonations of customer `$1` on sales channel `$2` by admin
/// `$3`, created just before `$4` (unix milliseconds), one hour to live:
/// what a support tool run wild leaves behind, for revocation at scale.
pub const INSERT_OPEN_IMPERSONATIONS: &str = "INSERT INTO session (id, token_hash, principal_id, \
     principal_kind, sales_channel_id, imitating_user_id, profile_id, grant_action, payload, \
     created_at, expires_at, ended_at, last_seen_at, read_only) \
     SELECT gen_random_uuid()::text, md5(g::text || random()::text), $1, 'customer', $2, $3, NULL, \
     'imitate_customer', '{}', $4 - g, $4 + 3600000, NULL, $4, FALSE FROM generate_series(1, $5) g";
