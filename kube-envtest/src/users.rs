//! Static token users: who may call the server with which bearer token.
//!
//! kube-apiserver reads its token file once, at start. Every token user therefore has to be
//! named in [`crate::EnvtestOptions::users`]; identities needed later come from
//! `ServiceAccount` tokens or impersonation (see [`crate::Envtest`]).

use std::fmt;

/// A user the server authenticates by a fixed bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// The user name RBAC sees (also used as the user's UID).
    pub name: String,
    /// The bearer token; kept out of `Debug` output.
    pub token: String,
    /// Groups RBAC sees besides `system:authenticated`.
    pub groups: Vec<String>,
}

impl TokenUser {
    pub fn new(
        name: impl Into<String>,
        token: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            token: token.into(),
            groups: groups.into_iter().map(Into::into).collect(),
        }
    }
}

impl fmt::Debug for TokenUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenUser")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("groups", &self.groups)
            .finish()
    }
}

/// Why a token user cannot be written to the token file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("static token user {name:?}: {problem}")]
pub struct InvalidTokenUser {
    pub name: String,
    pub problem: &'static str,
}

/// The token file kube-apiserver reads: one `token,user,uid,"group,group"` line per user.
pub(crate) fn token_file(users: &[TokenUser]) -> Result<String, InvalidTokenUser> {
    users
        .iter()
        .map(|user| {
            check(user)?;
            let columns = format!("{},{},{}", user.token, user.name, user.name);
            Ok(if user.groups.is_empty() {
                format!("{columns}\n")
            } else {
                format!("{columns},\"{}\"\n", user.groups.join(","))
            })
        })
        .collect()
}

fn check(user: &TokenUser) -> Result<(), InvalidTokenUser> {
    // The file is CSV without escaping: a comma, quote or line break would shift the columns.
    let plain = |value: &str| !value.contains([',', '"', '\n', '\r']);
    let problem = if user.name.is_empty() {
        Some("the name is empty")
    } else if user.token.is_empty() {
        Some("the token is empty")
    } else if !plain(&user.name) || !plain(&user.token) {
        Some("names and tokens must not contain commas, quotes or line breaks")
    } else if user
        .groups
        .iter()
        .any(|group| group.is_empty() || !plain(group))
    {
        Some("groups must be non-empty and must not contain commas, quotes or line breaks")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(InvalidTokenUser {
            name: user.name.clone(),
            problem,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lists_each_user_with_groups_quoted() {
        let users = [
            TokenUser::new("admin", "t1", ["system:masters"]),
            TokenUser::new("alice", "t2", ["team-a", "team-b"]),
            TokenUser::new("bob", "t3", Vec::<String>::new()),
        ];
        assert_eq!(
            token_file(&users).unwrap(),
            "t1,admin,admin,\"system:masters\"\nt2,alice,alice,\"team-a,team-b\"\nt3,bob,bob\n"
        );
    }

    #[test]
    fn a_comma_in_a_group_is_refused() {
        let error = token_file(&[TokenUser::new("alice", "t", ["a,b"])]).unwrap_err();
        assert_eq!(error.name, "alice");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let debug = format!("{:?}", TokenUser::new("alice", "very-secret", ["g"]));
        assert!(!debug.contains("very-secret"), "{debug}");
    }
}
