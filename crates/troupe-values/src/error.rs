//! Compile errors, rendered as Puppet renders them.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: u32,
    pub col: Option<u32>,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.col {
            Some(c) => write!(
                f,
                "(file: {}, line: {}, column: {})",
                self.file, self.line, c
            ),
            None => write!(f, "(file: {}, line: {})", self.file, self.line),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EvalError {
    pub msg: String,
    pub loc: Option<Loc>,
    /// Puppet prefixes evaluator errors with `Evaluation Error: `.
    pub evaluation: bool,
    /// Control flow (`break`, `next`, `return`) travelling through the evaluator.
    pub flow: Option<Flow>,
}

#[derive(Debug, Clone)]
pub enum Flow {
    Next(crate::value::Value),
    Break,
    Return(crate::value::Value),
}

impl EvalError {
    pub fn new(msg: impl Into<String>) -> EvalError {
        EvalError {
            msg: msg.into(),
            loc: None,
            evaluation: true,
            flow: None,
        }
    }

    /// An error that Puppet reports without the `Evaluation Error:` prefix.
    pub fn plain(msg: impl Into<String>) -> EvalError {
        EvalError {
            msg: msg.into(),
            loc: None,
            evaluation: false,
            flow: None,
        }
    }

    pub fn at(mut self, loc: Loc) -> EvalError {
        if self.loc.is_none() {
            self.loc = Some(loc);
        }
        self
    }

    pub fn flow(f: Flow) -> EvalError {
        EvalError {
            msg: String::new(),
            loc: None,
            evaluation: true,
            flow: Some(f),
        }
    }

    /// The whole message as Puppet prints it after `Error: `.
    /// The message as Puppet prints it inside another error (no node).
    pub fn render_inner(&self) -> String {
        let mut s = String::new();
        if self.evaluation {
            s.push_str("Evaluation Error: ");
        }
        s.push_str(&self.msg);
        if let Some(l) = &self.loc {
            s.push(' ');
            s.push_str(&l.to_string());
        }
        s
    }

    pub fn render(&self, node: &str) -> String {
        let mut s = self.render_inner();
        s.push_str(" on node ");
        s.push_str(node);
        s
    }
}

pub type EResult<T> = Result<T, EvalError>;
