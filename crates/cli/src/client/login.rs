//! `sifr login` and `sifr logout`: a token kept in a profile. The password is never a flag
//! value (it would show in the process list and the shell history): it comes from standard
//! input, `SIFR_PASSWORD`, or a prompt that does not echo.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{Context as _, bail};
use clap::Args;

use super::config::ConfigFile;
use super::{Command, Connection, Settings, env};

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    connection: Connection,
    /// The user's email [default: SIFR_USERNAME, else the profile's].
    #[arg(long, value_name = "EMAIL")]
    username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    connection: Connection,
}

/// The first line of standard input, without its line break.
pub fn stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read standard input")?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        bail!("standard input holds no password");
    }
    Ok(line)
}

fn password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        return stdin_line();
    }
    if let Some(password) = env("SIFR_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Password: ").context("cannot read the password");
    }
    bail!("no password: give --password-stdin, set SIFR_PASSWORD, or run on a terminal")
}

fn username(flag: Option<String>, settings: &Settings) -> anyhow::Result<String> {
    if let Some(username) = flag
        .or_else(|| env("SIFR_USERNAME"))
        .or_else(|| settings.profile.username.clone())
    {
        return Ok(username);
    }
    if std::io::stdin().is_terminal() {
        eprint!("Username: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let line = line.trim();
        if !line.is_empty() {
            return Ok(line.to_owned());
        }
    }
    bail!("no username: give --username or set SIFR_USERNAME")
}

impl Command for LoginArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let username = username(self.username, &settings)?;
        let password = password(self.password_stdin)?;
        let token = settings.login(&username, &password).await?;
        let mut file = ConfigFile::load(&settings.config_path)?;
        let profile = file
            .profiles
            .entry(settings.profile_name.clone())
            .or_default();
        profile.url = Some(settings.url.to_string());
        profile.username = Some(username.clone());
        if settings.tenant.is_some() {
            profile.tenant.clone_from(&settings.tenant);
        }
        if let Some(group) = &settings.group {
            profile.group = Some(group.to_string());
        }
        profile.token = Some(token);
        file.save(&settings.config_path)?;
        eprintln!(
            "Logged in to {} as {username}; the token is kept in profile '{}' of {}.",
            settings.url,
            settings.profile_name,
            settings.config_path.display()
        );
        Ok(())
    }
}

impl Command for LogoutArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let mut file = ConfigFile::load(&settings.config_path)?;
        let forgot = file
            .profiles
            .get_mut(&settings.profile_name)
            .and_then(|profile| profile.token.take())
            .is_some();
        if forgot {
            file.save(&settings.config_path)?;
            eprintln!("Forgot the token of profile '{}'.", settings.profile_name);
        } else {
            eprintln!("Profile '{}' holds no token.", settings.profile_name);
        }
        Ok(())
    }
}
