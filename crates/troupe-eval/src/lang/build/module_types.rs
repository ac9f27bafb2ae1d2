//! Resource types shipped by modules (`lib/puppet/type/*.rb`): their attributes and namevars,
//! read from the Ruby source without running it.

use crate::catalog::schema::core_type;
use crate::code::Def;
use crate::lang::build::module_index::ModuleIndex;
use crate::lang::build::resources::intern;
use crate::lang::eval::Evaluator;
use std::sync::Arc;
use troupe_values::error::EResult;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    /// What a resource type name refers to; resolved once per name and compile (module types
    /// are found by looking through every module).
    pub fn resource_type_info(&mut self, name: &str) -> EResult<Option<TypeInfo>> {
        let lc = name.trim_start_matches("::").to_lowercase();
        if let Some(t) = self.type_infos.get(&lc) {
            return Ok(t.clone());
        }
        let info = if let Some(t) = core_type(&lc) {
            Some(TypeInfo::Builtin(t.namevar))
        } else if let Some(d) = self.find_define(&lc)? {
            Some(TypeInfo::Define(d))
        } else if !lc.contains("::") {
            // A module type depends on the environment's code alone: kept across compiles
            // while the environment is kept.
            let key = format!("module_type {lc}");
            match self
                .env
                .kept(&key)
                .and_then(|k| k.downcast::<Option<TypeInfo>>().ok())
            {
                Some(t) => (*t).clone(),
                None => {
                    let (info, settled) = self.module_type(&lc);
                    if settled {
                        self.env.keep(&key, Arc::new(info.clone()));
                    }
                    info
                }
            }
        } else {
            None
        };
        self.type_infos.insert(lc, info.clone());
        Ok(info)
    }
}
#[derive(Debug, Clone)]
pub enum TypeInfo {
    Builtin(&'static str),
    /// A Ruby type shipped by a module (`lib/puppet/type/NAME.rb`), with its namevar and,
    /// where the file declares them statically or Puppet's Ruby listed them, its attribute
    /// names, and its composite namevars.
    ModuleType(&'static str, Option<Arc<[String]>>, Option<Arc<TitleKeys>>),
    Define(Arc<Def>),
}

/// A module type's identity when it has several namevars: Puppet's uniqueness key, each
/// namevar's value from the attributes or, failing that, from the title by the first of
/// the type's `title_patterns` that matches.
#[derive(Debug, Clone)]
pub struct TitleKeys {
    /// The namevars, sorted by name (the uniqueness key's order).
    keys: Vec<String>,
    patterns: Vec<(troupe_values::value::Regexp, Vec<String>)>,
}

impl TitleKeys {
    fn new(t: &crate::functions::ruby::RubyType) -> Option<TitleKeys> {
        if t.key_attributes.len() < 2 {
            return None;
        }
        let mut keys = t.key_attributes.clone();
        keys.sort();
        let patterns = t
            .title_patterns
            .iter()
            .filter_map(|(re, attrs)| {
                Some((troupe_values::value::Regexp::new(re).ok()?, attrs.clone()))
            })
            .collect();
        Some(TitleKeys { keys, patterns })
    }

    /// The attributes the title sets, by the first title pattern that matches it, in the
    /// pattern's order (Puppet's `parse_title`).
    pub fn from_title(&self, title: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some((re, attrs)) = self.patterns.iter().find(|(re, _)| re.is_match(title)) {
            if let Some((_, groups)) = re.captures(title) {
                for (a, g) in attrs.iter().zip(groups.into_iter().skip(1)) {
                    out.push((a.clone(), g));
                }
            }
        }
        out
    }

    /// The uniqueness key of a resource, as Ruby's `inspect` of its values (`"k", "sec"`).
    pub fn key_of(&self, title: &str, params: &crate::catalog::Params) -> String {
        let from_title = self.from_title(title);
        self.keys
            .iter()
            .map(|k| {
                let v = params.get(k).cloned().or_else(|| {
                    from_title
                        .iter()
                        .find(|(a, _)| a == k)
                        .map(|(_, v)| v.clone())
                });
                match &v {
                    Some(Value::Str(s)) => ruby_inspect(s),
                    Some(Value::Undef) | None => "nil".to_string(),
                    Some(other) => other.to_display(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Evaluator<'_> {
    /// A module's Ruby type named `lc`, from the modules' type files; and whether the answer
    /// may be kept (not when asking Puppet's Ruby failed, which warned).
    fn module_type(&mut self, lc: &str) -> (Option<TypeInfo>, bool) {
        let lc = lc.to_string();
        let mut settled = true;
        let info = {
            let index = self.module_index();
            index
                .type_files(&lc)
                .into_iter()
                .find_map(|path| self.env.read(&path).map(|src| (path, src)))
                .map(|(path, src)| {
                    // Puppet adds `provider` to a type that has providers.
                    let providers = index.has_providers(self.env, &lc);
                    let static_attrs = ruby_type_attrs(&src, providers);
                    let namevar = ruby_type_namevar(&src);
                    // What reading the file cannot tell (attributes made by code, several
                    // namevars, title patterns), Puppet's Ruby can.
                    let dynamic = static_attrs.is_none()
                        || src.contains("title_patterns")
                        || src.matches("namevar").count() > 1;
                    match dynamic
                        .then(|| self.ruby_type(&lc, &path, &mut settled))
                        .flatten()
                    {
                        Some(t) => {
                            let mut attrs = t.attributes.clone();
                            attrs.push("name".into());
                            if providers {
                                attrs.push("provider".into());
                            }
                            // Several namevars: Puppet's `namevar` is then `name`.
                            let nv = match t.key_attributes.as_slice() {
                                [one] => intern(one),
                                [] => namevar,
                                _ => "name",
                            };
                            let keys = TitleKeys::new(&t);
                            TypeInfo::ModuleType(nv, Some(attrs.into()), keys.map(Arc::new))
                        }
                        None => TypeInfo::ModuleType(namevar, static_attrs, None),
                    }
                })
        };
        (info, settled)
    }

    /// The modules' type files and provider folders, listed on the first module type's
    /// lookup of the compile (or kept from an earlier compile of the environment).
    fn module_index(&mut self) -> Arc<ModuleIndex> {
        let env = self.env;
        self.module_index
            .get_or_insert_with(|| {
                if let Some(i) = env.kept("module_index").and_then(|k| k.downcast().ok()) {
                    return i;
                }
                let i = Arc::new(ModuleIndex::build(env));
                env.keep("module_index", i.clone());
                i
            })
            .clone()
    }

    /// Puppet's own view of a module type, from the Ruby helper; `None` when there is no
    /// helper or it cannot load the type (a warning says why; nothing is then refused).
    fn ruby_type(
        &mut self,
        name: &str,
        file: &std::path::Path,
        settled: &mut bool,
    ) -> Option<crate::functions::ruby::RubyType> {
        let call =
            troupe_syntax::ast::Expr::new(troupe_syntax::ast::ExprKind::Nop, Default::default());
        match crate::functions::ruby::type_info(self, name, file, &call) {
            Ok(t) => t,
            Err(e) => {
                self.warn(format!("troupe could not ask Puppet's Ruby about the resource type '{name}', so its attributes are not checked: {}", e.msg));
                *settled = false;
                None
            }
        }
    }
}
/// Ruby's `String#inspect` for the plain strings resource keys are.
pub(crate) fn ruby_inspect(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
/// The namevar a Ruby type file declares: `newparam(:x, namevar: true)`, `:namevar => true`,
/// or `isnamevar` inside the parameter's block; `name` otherwise. Names are interned (a
/// handful per site), so resources keep a `&'static str` like the core types.
pub(crate) fn ruby_type_namevar(src: &str) -> &'static str {
    let mut current: Option<&str> = None;
    let mut found: Option<&str> = None;
    for line in src.lines() {
        let l = line.trim();
        if let Some(rest) = l
            .strip_prefix("newparam(:")
            .or_else(|| l.strip_prefix("newparam :"))
        {
            let name_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..name_end];
            current = Some(name);
            if rest.contains("namevar: true") || rest.contains(":namevar => true") {
                found = Some(name);
                break;
            }
        } else if l.starts_with("newproperty(") || l.starts_with("newproperty :") {
            current = None;
        } else if l == "isnamevar" || l.starts_with("isnamevar ") {
            if let Some(c) = current {
                found = Some(c);
                break;
            }
        }
    }
    intern(found.unwrap_or("name"))
}
/// The attribute names a module's Ruby type declares: `newparam(:x)`, `newproperty(:x)`,
/// `ensurable` (`ensure`), plus `name`, and `provider` when the type has providers (Puppet's
/// rules). `None` when the file may make attributes that only running its Ruby code would show
/// (a computed name, a call outside a string that is not at a line's start, `extend`, a
/// parent type): then nothing is refused.
pub(crate) fn ruby_type_attrs(src: &str, providers: bool) -> Option<Arc<[String]>> {
    let mut attrs: Vec<String> = vec!["name".into()];
    if providers {
        attrs.push("provider".into());
    }
    for line in src.lines() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        if l.starts_with("extend ")
            || (l.contains("newtype") && (l.contains(":parent =>") || l.contains("parent:")))
        {
            return None;
        }
        if l == "ensurable" || l.starts_with("ensurable ") || l.starts_with("ensurable(") {
            attrs.push("ensure".into());
            continue;
        }
        for kw in ["newparam", "newproperty", "newmetaparam"] {
            let mut from = 0;
            while let Some(found) = l[from..].find(kw) {
                let at = from + found;
                from = at + kw.len();
                let before = l[..at].chars().last();
                let after = &l[at + kw.len()..];
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    || after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    || in_string(&l[..at])
                {
                    continue;
                }
                if at != 0 {
                    // A call inside an expression (`check = newparam(name, ...)`).
                    return None;
                }
                let arg = after.trim_start_matches(['(', ' ']);
                // A symbol or a string; anything else (`newparam(p)`) is a computed name.
                let name = match arg.strip_prefix(':') {
                    Some(sym) => sym,
                    None => arg.strip_prefix(['\'', '"'])?,
                };
                let end = name
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(name.len());
                if end == 0 {
                    return None;
                }
                attrs.push(name[..end].to_string());
            }
        }
    }
    Some(attrs.into())
}
/// Whether the end of `prefix` is inside a Ruby string literal (an odd count of unescaped
/// quotes of one kind).
pub(crate) fn in_string(prefix: &str) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for c in prefix.chars() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '\'' if !double && !escaped => single = !single,
            '"' if !single && !escaped => double = !double,
            _ => {}
        }
        escaped = false;
    }
    single || double
}
