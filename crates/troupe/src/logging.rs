//! The process's log: `tracing` events of every crate, one line each on stderr, with an
//! RFC 3339 UTC timestamp, the level and the role (`master`, `front`, `vrrp`, `node`, `ca`,
//! `pool`, `store`: the crate or command the event comes from), as text or as JSON objects.
//!
//! `--log-format text|json` (env `TROUPE_LOG_FORMAT`) and `--log-level LEVEL` (env
//! `TROUPE_LOG`: off, error, warn, info, debug, trace). The long-running roles log at `info` by
//! default; the tools (`parser`, `compile`, `ca`, `pool`), whose results are their output, at
//! `warn`. Events of other crates (hyper, the etcd client) are kept at `warn` at most.
//! `troupe node` hands its own settings to its children (`child_env`).

use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use serde_json::{Map, Value as J};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

pub const FORMAT_ENV: &str = "TROUPE_LOG_FORMAT";
pub const LEVEL_ENV: &str = "TROUPE_LOG";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-01-02T03:04:05.678901Z  INFO troupe master: message key=value`
    Text,
    /// One JSON object a line: timestamp, level, role, message and the event's fields.
    Json,
}

impl LogFormat {
    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The settings in force, for `child_env`.
static CHOSEN: OnceLock<(LogFormat, LevelFilter)> = OnceLock::new();

fn parse_level(s: &str, from: &str) -> anyhow::Result<LevelFilter> {
    s.trim().parse::<LevelFilter>().map_err(|_| {
        anyhow::anyhow!("{from}: {s:?} is not a log level (off, error, warn, info, debug, trace)")
    })
}

fn parse_format(s: &str, from: &str) -> anyhow::Result<LogFormat> {
    match s.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => anyhow::bail!("{from}: {s:?} is not a log format (text, json)"),
    }
}

/// Installs the subscriber: flags first, then the environment, then the defaults (`tool`:
/// a command whose output is its result, logging warnings and errors only).
pub fn init(format: Option<LogFormat>, level: Option<&str>, tool: bool) -> anyhow::Result<()> {
    let format = match format {
        Some(f) => f,
        None => match std::env::var(FORMAT_ENV) {
            Ok(s) if !s.trim().is_empty() => parse_format(&s, FORMAT_ENV)?,
            _ => LogFormat::Text,
        },
    };
    let level = match level {
        Some(l) => parse_level(l, "--log-level")?,
        None => match std::env::var(LEVEL_ENV) {
            Ok(s) if !s.trim().is_empty() => parse_level(&s, LEVEL_ENV)?,
            _ if tool => LevelFilter::WARN,
            _ => LevelFilter::INFO,
        },
    };
    let _ = CHOSEN.set((format, level));
    let filter = Targets::new()
        .with_target("troupe", level)
        .with_default(level.min(LevelFilter::WARN));
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Line { format })
        .with_writer(std::io::stderr);
    let subscriber = tracing_subscriber::registry().with(layer).with(filter);
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

/// The environment that gives a child process this process's log settings.
pub fn child_env() -> [(&'static str, &'static str); 2] {
    let (format, level) = CHOSEN
        .get()
        .copied()
        .unwrap_or((LogFormat::Text, LevelFilter::INFO));
    let level = match level.into_level() {
        None => "off",
        Some(Level::ERROR) => "error",
        Some(Level::WARN) => "warn",
        Some(Level::INFO) => "info",
        Some(Level::DEBUG) => "debug",
        Some(Level::TRACE) => "trace",
    };
    [(FORMAT_ENV, format.as_str()), (LEVEL_ENV, level)]
}

/// `troupe node`'s summary of its roles: as it is in text, one `info` event in JSON.
pub fn block(text: &str) {
    match CHOSEN.get() {
        Some((LogFormat::Json, _)) => tracing::info!(target: "troupe::node", "{}", text.trim_end()),
        _ => eprint!("{text}"),
    }
}

/// The error a command exits with: `troupe: ERROR` in text, an `error` event in JSON.
pub fn fatal(e: &anyhow::Error) {
    match CHOSEN.get() {
        Some((LogFormat::Json, _)) => tracing::error!(target: "troupe", "{e:#}"),
        _ => eprintln!("troupe: {e:#}"),
    }
}

/// The role of an event's target: `troupe_master::api` is `master`, `troupe::node::run` is
/// `node`, `troupe::front_cmd` is `front`; another crate's events carry its name.
pub fn role(target: &str) -> &str {
    let mut parts = target.split("::");
    let krate = parts.next().unwrap_or(target);
    if krate == "troupe" {
        let module = parts.next().unwrap_or("troupe");
        return module.split('_').next().unwrap_or(module);
    }
    krate.strip_prefix("troupe_").unwrap_or(krate)
}

/// The event's message and fields, in the order they were given.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, J)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields
                .push((field.name(), J::String(format!("{value:?}"))));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), J::String(value.into())));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), J::from(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), J::from(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), J::Bool(value)));
    }
}

struct Line {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut f = Fields::default();
        event.record(&mut f);
        let role = role(meta.target());
        let mut stamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut stamp))?;
        match self.format {
            LogFormat::Text => {
                write!(
                    w,
                    "{stamp} {:>5} troupe {role}: {}",
                    meta.level(),
                    f.message
                )?;
                for (k, v) in &f.fields {
                    match v {
                        J::String(s) if needs_quotes(s) => write!(w, " {k}={s:?}")?,
                        J::String(s) => write!(w, " {k}={s}")?,
                        other => write!(w, " {k}={other}")?,
                    }
                }
                writeln!(w)
            }
            LogFormat::Json => {
                let mut m = Map::new();
                m.insert("timestamp".into(), J::String(stamp));
                m.insert("level".into(), J::String(meta.level().as_str().into()));
                m.insert("role".into(), J::String(role.into()));
                m.insert("message".into(), J::String(f.message));
                for (k, v) in f.fields {
                    m.insert(k.into(), v);
                }
                writeln!(w, "{}", J::Object(m))
            }
        }
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"' || c == '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_crate_or_command() {
        assert_eq!(role("troupe_master::api"), "master");
        assert_eq!(role("troupe_ca"), "ca");
        assert_eq!(role("troupe::node::run"), "node");
        assert_eq!(role("troupe::master_registry"), "master");
        assert_eq!(role("troupe::front_cmd"), "front");
        assert_eq!(role("troupe"), "troupe");
        assert_eq!(role("h2::codec"), "h2");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = parse_level("loud", LEVEL_ENV).expect_err("bad level");
        assert!(e.to_string().contains("TROUPE_LOG") && e.to_string().contains("loud"));
        let e = parse_format("xml", "--log-format").expect_err("bad format");
        assert!(e.to_string().contains("xml"));
        assert_eq!(
            parse_level(" Debug ", "x").expect("level"),
            LevelFilter::DEBUG
        );
        assert_eq!(parse_format("JSON", "x").expect("format"), LogFormat::Json);
    }
}
