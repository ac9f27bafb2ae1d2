//! The syntax tree. Every node carries a [`Span`] (byte range; the [`crate::SourceFile`] turns
//! it into file, line and column). Nodes whose Puppet location is not their first token
//! (binary operators, hash entries, ...) also keep that anchor, so errors point where
//! Puppet points.

use crate::source::Span;

/// `Clone`, `PartialEq` and `Debug` recurse through the tree like the derived ones, growing
/// the stack as needed (see the impls below).
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Levels of the tree from this node down (a leaf is 1); bounded by
    /// [`crate::MAX_NESTING`] in every tree the parser returns.
    depth: u32,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        let depth = crate::depth::kind_depth(&kind);
        Expr { kind, span, depth }
    }

    /// Levels of the tree from this node down: 1 for a leaf.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Recomputes the depth after the node's children changed in place.
    pub(crate) fn refresh_depth(&mut self) {
        self.depth = crate::depth::kind_depth(&self.kind);
    }

    /// The offset Puppet reports for this expression.
    pub fn anchor(&self) -> u32 {
        match &self.kind {
            ExprKind::Binary { op_span, .. }
            | ExprKind::Assign { op_span, .. }
            | ExprKind::Relationship { op_span, .. } => op_span.lo,
            ExprKind::MethodCall(c) => c.anchor.lo,
            _ => self.span.lo,
        }
    }
}

// Derived impls would recurse through a tree as deep as the parser allows with large frames;
// these do the same with room to grow the stack, so any tree the parser returns can be
// copied, compared and printed on a small thread.
impl Clone for Expr {
    fn clone(&self) -> Expr {
        crate::depth::grow(|| Expr {
            kind: self.kind.clone(),
            span: self.span,
            depth: self.depth,
        })
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.span == other.span && crate::depth::grow(|| self.kind == other.kind)
    }
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::depth::grow(|| {
            f.debug_struct("Expr")
                .field("kind", &self.kind)
                .field("span", &self.span)
                .finish()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    In,
    Match,
    NotMatch,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::In => "in",
            BinOp::Match => "=~",
            BinOp::NotMatch => "!~",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
    Splat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Assign,
    Append,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    /// `->`
    Before,
    /// `~>`
    Notify,
    /// `<-`
    Require,
    /// `<~`
    Subscribe,
}

impl RelOp {
    pub fn as_str(self) -> &'static str {
        match self {
            RelOp::Before => "->",
            RelOp::Notify => "~>",
            RelOp::Require => "<-",
            RelOp::Subscribe => "<~",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Undef,
    Default,
    Bool(bool),
    Integer { value: i64, radix: u32 },
    Float(f64),
    String(String),
    Regex(String),
}

/// A part of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceForm {
    Regular,
    Virtual,
    Exported,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrOp {
    /// `name => value` (`append: false`) or `name +> value` (`append: true`).
    Set {
        name: String,
        append: bool,
        value: Expr,
        span: Span,
    },
    /// `* => hash`
    Splat { value: Expr, span: Span },
}

impl AttrOp {
    pub fn span(&self) -> Span {
        match self {
            AttrOp::Set { span, .. } | AttrOp::Splat { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBody {
    pub title: Expr,
    pub ops: Vec<AttrOp>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub type_expr: Option<Expr>,
    pub default: Option<Expr>,
    pub captures_rest: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lambda {
    pub params: Vec<Param>,
    pub return_type: Option<Box<Expr>>,
    pub body: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The called thing: a `QName`, a `QRef` (`Integer(...)`), or any expression (rejected by
    /// the validator).
    pub func: Box<Expr>,
    pub args: Vec<Expr>,
    pub lambda: Option<Lambda>,
    /// False for statement calls (`include foo`).
    pub rval_required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub receiver: Box<Expr>,
    pub name: String,
    pub name_span: Span,
    pub args: Vec<Expr>,
    pub lambda: Option<Lambda>,
    /// Puppet's location of the call: the `.` or the `(`.
    pub anchor: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseOption {
    pub values: Vec<Expr>,
    pub body: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HashEntry {
    pub key: Expr,
    pub value: Expr,
    /// The `=>`, where Puppet locates the entry.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Fully qualified name (nested classes get their enclosing classes' names).
    pub name: String,
    pub name_span: Span,
    pub params: Vec<Param>,
    pub body: Option<Box<Expr>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// Nothing (an empty program or block).
    Nop,
    Block(Vec<Expr>),
    Literal(Literal),
    /// A bare name (`foo`, `::foo::bar`).
    QName(String),
    /// A type reference (`File`, `Foo::Bar`).
    QRef(String),
    Variable(String),
    Concat(Vec<StrPart>),
    Heredoc {
        syntax: String,
        text: Box<Expr>,
    },
    Array(Vec<Expr>),
    /// `unfolded` hashes are `k => v` entries given directly as call or access arguments.
    Hash {
        entries: Vec<HashEntry>,
        unfolded: bool,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        op_span: Span,
    },
    Assign {
        op: AssignOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        op_span: Span,
    },
    Relationship {
        op: RelOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        op_span: Span,
    },
    Access {
        target: Box<Expr>,
        args: Vec<Expr>,
    },
    Selector {
        test: Box<Expr>,
        entries: Vec<HashEntry>,
    },
    Paren(Box<Expr>),
    If {
        cond: Box<Expr>,
        then: Option<Box<Expr>>,
        els: Option<Box<Expr>>,
    },
    Unless {
        cond: Box<Expr>,
        then: Option<Box<Expr>>,
        els: Option<Box<Expr>>,
    },
    Case {
        test: Box<Expr>,
        options: Vec<CaseOption>,
    },
    Call(Call),
    MethodCall(MethodCall),
    Collect {
        type_expr: Box<Expr>,
        exported: bool,
        query: Option<Box<Expr>>,
        ops: Vec<AttrOp>,
    },
    Resource {
        form: ResourceForm,
        type_expr: Box<Expr>,
        bodies: Vec<ResourceBody>,
    },
    ResourceDefaults {
        form: ResourceForm,
        type_expr: Box<Expr>,
        ops: Vec<AttrOp>,
    },
    ResourceOverride {
        form: ResourceForm,
        target: Box<Expr>,
        ops: Vec<AttrOp>,
    },
    Class {
        def: Definition,
        parent: Option<String>,
    },
    Define(Definition),
    Node {
        hosts: Vec<Expr>,
        parent: Option<Box<Expr>>,
        body: Option<Box<Expr>>,
    },
    Function {
        def: Definition,
        return_type: Option<Box<Expr>>,
    },
    TypeAlias {
        /// The left side: a type reference, possibly parameterized.
        name: Box<Expr>,
        value: Box<Expr>,
    },
    TypeDefinition {
        name: String,
        parent: Option<String>,
        body: Option<Box<Expr>>,
    },
    /// `private`, `attr`: reserved words.
    Reserved(String),
    RenderString(String),
    RenderExpr(Box<Expr>),
    /// An EPP template: its parameters (`None` when it declares none) and body.
    Epp {
        params: Option<Vec<Param>>,
        body: Option<Box<Expr>>,
    },
    /// Stands where the parser could not make sense of the input.
    Error,
}
