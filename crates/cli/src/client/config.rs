//! Profiles: named sets of connection settings kept in `config.toml` under the configuration
//! folder (`$SIFR_CONFIG_DIR`, else `$XDG_CONFIG_HOME/sifr`, else `~/.config/sifr`). The file
//! holds tokens, so it is written with mode 0600 in a folder of mode 0700.
//!
//! ```toml
//! [profiles.default]
//! url = "http://127.0.0.1:8080"
//! username = "admin@sifr.example.com"
//! tenant = "default"
//! group = "/acme"
//! token = "eyJ…"
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// One profile's settings; every one is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The whole configuration file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The configuration file's path.
pub fn path() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("SIFR_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("sifr"),
            None => match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
                Some(home) => PathBuf::from(home).join(".config").join("sifr"),
                None => {
                    bail!("cannot find the configuration folder: set SIFR_CONFIG_DIR (or HOME)")
                }
            },
        },
    };
    Ok(dir.join("config.toml"))
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid configuration", path.display()))
    }

    /// Writes the file whole, readable by its owner only, replacing the old one atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self).context("cannot write the configuration")?;
        let dir = path
            .parent()
            .with_context(|| format!("{} has no parent folder", path.display()))?;
        create_private_dir(dir)?;
        let partial = dir.join(".config.toml.partial");
        let mut file = private_file(&partial)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path)
            .with_context(|| format!("cannot replace {}", path.display()))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Creates (or empties) a file only its owner may read and write.
#[cfg(unix)]
pub fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // A file left over from an interrupted save keeps its old mode; tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok(file)
}

#[cfg(not(unix))]
pub fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))
}
