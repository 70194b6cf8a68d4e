//! Where the CDE bearer token comes from: the object's Secret, else the operator's default.
//!
//! Both are read on every pass, so a rotated token is used without a restart. The token's
//! value never appears in an error or a log line; errors name the Secret and key only.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::cde::Token;
use crate::resource::SecretKeyRef;

/// Why no token could be had. The message is shown in the object's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("Secret {namespace}/{name} was not found")]
    SecretNotFound { namespace: String, name: String },
    #[error("Secret {namespace}/{name} has no key {key:?}")]
    KeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    #[error(
        "Secret {namespace}/{name} key {key:?} does not hold a usable token (empty or not UTF-8)"
    )]
    Unusable {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("reading Secret {namespace}/{name} failed: {message}")]
    Read {
        namespace: String,
        name: String,
        message: String,
    },
    #[error("the default token file {path} could not be read: {message}")]
    DefaultFile { path: String, message: String },
    #[error("no credentials: spec.credentials.secretRef is not set and the operator has no default token")]
    None,
}

/// The operator-wide fallback token: a file, re-read on every use.
#[derive(Clone, Debug, Default)]
pub struct DefaultToken {
    pub path: Option<PathBuf>,
}

/// Reads the token for an object in `namespace`.
pub async fn token_for(
    client: &Client,
    namespace: &str,
    secret: Option<&SecretKeyRef>,
    default: &DefaultToken,
) -> Result<Token, CredentialsError> {
    match secret {
        Some(r) => from_secret(client, namespace, r).await,
        None => default_token(default).await,
    }
}

/// Reads the operator's default token, or says there is none.
pub async fn default_token(default: &DefaultToken) -> Result<Token, CredentialsError> {
    let Some(path) = &default.path else {
        return Err(CredentialsError::None);
    };
    let unreadable = |message: String| CredentialsError::DefaultFile {
        path: path.display().to_string(),
        message,
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    Token::new(text).map_err(|e| unreadable(e.to_string()))
}

async fn from_secret(
    client: &Client,
    namespace: &str,
    r: &SecretKeyRef,
) -> Result<Token, CredentialsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(&r.name)
        .await
        .map_err(|e| CredentialsError::Read {
            namespace: namespace.to_owned(),
            name: r.name.clone(),
            message: e.to_string(),
        })?;
    let Some(secret) = secret else {
        return Err(CredentialsError::SecretNotFound {
            namespace: namespace.to_owned(),
            name: r.name.clone(),
        });
    };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .map(|s| s.as_bytes().to_vec())
        });
    let Some(bytes) = bytes else {
        return Err(CredentialsError::KeyMissing {
            namespace: namespace.to_owned(),
            name: r.name.clone(),
            key: r.key.clone(),
        });
    };
    let unusable = || CredentialsError::Unusable {
        namespace: namespace.to_owned(),
        name: r.name.clone(),
        key: r.key.clone(),
    };
    let text = String::from_utf8(bytes).map_err(|_| unusable())?;
    Token::new(text).map_err(|_| unusable())
}
