//! What one service asks of another, as one trait per callee holding the
//! RPCs its callers use. In production the gRPC client answers; in the
//! benchmark's in-process baseline, [`Direct`] calls the callee's own
//! handler in the same process: the same logic and messages, without
//! encoding, HTTP/2 or a socket. Measuring both tells the cost of the split.
//!
//! Only the session service calls other services through these (the
//! gateway holds plain clients): the permission service and the token
//! issuer are leaves, so the graph has no cycle and in-process wiring needs
//! no late binding.

use std::sync::Arc;

use tonic::{Request, Status};

use super::Channel;
use crate::proto::{
    self, permission_service_client::PermissionServiceClient, permission_service_server::PermissionService,
    token_issuer_client::TokenIssuerClient, token_issuer_server::TokenIssuer,
};

/// A service's gRPC handler called directly, in process.
pub struct Direct<S>(pub Arc<S>);

impl<S> Clone for Direct<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// Declares a callee trait and implements it for the gRPC client and for
/// [`Direct`] over the callee's handler: one list of methods for all three.
macro_rules! callee {
    (
        $(#[$doc:meta])*
        $name:ident: $client:ident, $server:ident {
            $( $method:ident($request:ty) -> $response:ty; )*
        }
    ) => {
        $(#[$doc])*
        #[async_trait::async_trait]
        pub trait $name: Send + Sync + 'static {
            $( async fn $method(&self, request: $request) -> Result<$response, Status>; )*
        }

        #[async_trait::async_trait]
        impl $name for $client<Channel> {
            $(
                async fn $method(&self, request: $request) -> Result<$response, Status> {
                    // A clone shares the channel: one HTTP/2 connection.
                    let mut client = self.clone();
                    Ok(<$client<Channel>>::$method(&mut client, request).await?.into_inner())
                }
            )*
        }

        #[async_trait::async_trait]
        impl<S: $server> $name for Direct<S> {
            $(
                async fn $method(&self, request: $request) -> Result<$response, Status> {
                    Ok($server::$method(&*self.0, Request::new(request)).await?.into_inner())
                }
            )*
        }
    };
}

callee! {
    /// What the session service asks of the permission service.
    PermissionCalls: PermissionServiceClient, PermissionService {
        authenticate(proto::AuthenticateRequest) -> proto::AuthenticateResponse;
        authorize(proto::AuthorizeRequest) -> proto::Decision;
        get_principal(proto::GetPrincipalRequest) -> proto::Principal;
        get_profile(proto::GetProfileRequest) -> proto::Profile;
        list_profiles(proto::ListProfilesRequest) -> proto::ListProfilesResponse;
        set_principal_active(proto::SetPrincipalActiveRequest) -> proto::Principal;
        get_context_options(proto::GetContextOptionsRequest) -> proto::ContextOptions;
    }
}

callee! {
    /// What the session service asks of the token issuer.
    TokenCalls: TokenIssuerClient, TokenIssuer {
        issue_token(proto::IssueTokenRequest) -> proto::IssuedToken;
        redeem_token(proto::RedeemTokenRequest) -> proto::RedeemTokenResponse;
    }
}
