//! Diagnostics: what is wrong and where, worded as Puppet words it.

use crate::source::{LineCol, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Which phase found the problem. Puppet stops at the first lexical or syntax error, while the
/// validator reports every problem it finds in a tree that parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Lex,
    Syntax,
    Validate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub phase: Phase,
    pub message: String,
    /// Byte offset Puppet reports the problem at; `None` means "end of input", which Puppet
    /// reports without a line.
    pub offset: Option<u32>,
}

impl Diagnostic {
    pub fn error(phase: Phase, message: impl Into<String>, offset: Option<u32>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            phase,
            message: message.into(),
            offset,
        }
    }

    pub fn warning(phase: Phase, message: impl Into<String>, offset: Option<u32>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            phase,
            message: message.into(),
            offset,
        }
    }

    /// Line and column; end of input maps to the end of the text.
    pub fn line_col(&self, src: &SourceFile) -> LineCol {
        src.line_col(self.offset.unwrap_or(src.text.len() as u32))
    }

    /// `FILE:LINE:COL: message`, the form `troupe parser validate` prints.
    pub fn render(&self, src: &SourceFile) -> String {
        let lc = self.line_col(src);
        let sev = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        format!(
            "{}:{}:{}: {}{}",
            src.path, lc.line, lc.col, sev, self.message
        )
    }
}
