//! Passwords: argon2id PHC strings. Hashing is CPU-heavy on purpose, so it runs on the blocking
//! thread pool, away from the request-serving threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sifr_domain::Password;

use crate::error::ApiError;

/// The argon2id PHC string of `password`, with a random salt.
pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing stopped: {e}")))?
}

/// Whether `password` matches `stored`. Without a stored hash a dummy one is checked, so that
/// an unknown user costs as much time as a wrong password.
pub async fn verify(password: &str, stored: Option<String>) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let (hash, known) = match stored {
            Some(hash) => (hash, true),
            None => (DUMMY_HASH.clone(), false),
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// A hash with the default parameters of a password nobody knows.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(generate().expose().as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// A random password that meets the policy: 20 characters of lower-case letters and digits,
/// at least one of each.
pub fn generate() -> Password {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    loop {
        let candidate: String = (0..20)
            .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
            .collect();
        if let Ok(password) = Password::parse(&candidate) {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify() {
        let password = generate();
        let stored = hash(&password).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(password.expose(), Some(stored.clone())).await);
        assert!(!verify("wrong1", Some(stored)).await);
        assert!(!verify(password.expose(), None).await);
        assert!(!verify(password.expose(), Some("not a hash".into())).await);
    }
}
