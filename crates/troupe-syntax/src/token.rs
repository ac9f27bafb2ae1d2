//! Token kinds of the Puppet lexer, including the context-sensitive ones
//! (`ListStart` vs `LBrack`, `WsLParen` vs `LParen`, `SelBrace` vs `LBrace`, `Regex` vs `Div`).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tok {
    LBrack,
    ListStart,
    RBrack,
    LBrace,
    SelBrace,
    RBrace,
    LParen,
    WsLParen,
    RParen,
    Equals,
    Appends,
    Deletes,
    IsEqual,
    NotEqual,
    Match,
    NoMatch,
    GreaterEqual,
    GreaterThan,
    LessEqual,
    LessThan,
    FArrow,
    PArrow,
    LShift,
    LLCollect,
    LCollect,
    RShift,
    RRCollect,
    RCollect,
    Plus,
    Minus,
    Div,
    Times,
    Modulo,
    Not,
    Dot,
    Pipe,
    At,
    AtAt,
    Colon,
    Comma,
    Semic,
    QMark,
    Tilde,
    InEdge,
    InEdgeSub,
    OutEdge,
    OutEdgeSub,
    Regex,
    String,
    Word,
    DqPre,
    DqMid,
    DqPost,
    Number,
    Variable,
    Name,
    ClassRef,
    Heredoc,
    EppStart,
    EppEnd,
    EppEndTrim,
    RenderString,
    RenderExpr,
    // keywords
    Case,
    Class,
    Default,
    Define,
    If,
    Elsif,
    Else,
    Inherits,
    Node,
    And,
    Or,
    Undef,
    Boolean,
    In,
    Unless,
    Function,
    Type,
    Attr,
    Private,
    /// A character that starts no token.
    Other,
    Eof,
}

impl Tok {
    pub fn keyword(word: &str) -> Option<Tok> {
        Some(match word {
            "case" => Tok::Case,
            "class" => Tok::Class,
            "default" => Tok::Default,
            "define" => Tok::Define,
            "if" => Tok::If,
            "elsif" => Tok::Elsif,
            "else" => Tok::Else,
            "inherits" => Tok::Inherits,
            "node" => Tok::Node,
            "and" => Tok::And,
            "or" => Tok::Or,
            "undef" => Tok::Undef,
            "false" | "true" => Tok::Boolean,
            "in" => Tok::In,
            "unless" => Tok::Unless,
            "function" => Tok::Function,
            "type" => Tok::Type,
            "attr" => Tok::Attr,
            "private" => Tok::Private,
            _ => return None,
        })
    }

    /// Keywords that may name an attribute in a resource body.
    pub fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Case
                | Tok::Class
                | Tok::Default
                | Tok::Define
                | Tok::If
                | Tok::Elsif
                | Tok::Else
                | Tok::Inherits
                | Tok::Node
                | Tok::And
                | Tok::Or
                | Tok::Undef
                | Tok::In
                | Tok::Unless
                | Tok::Function
                | Tok::Type
                | Tok::Attr
                | Tok::Private
        )
    }
}

/// One token: its kind, where it is, and its value (the text Puppet shows in
/// `Syntax error at '...'`: a string's contents, a variable's name without `$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    pub lo: u32,
    pub hi: u32,
    pub value: String,
}
