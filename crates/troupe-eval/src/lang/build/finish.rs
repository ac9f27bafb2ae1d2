//! The driver: top-scope variables, main, the node, generators (defines, collectors) until
//! nothing changes, then checks, metaparameter propagation, and the catalog.

use crate::catalog::parse_ref;
use crate::catalog::schema::core_type;
use crate::catalog::schema::METAPARAMS;
use crate::catalog::Catalog;
use crate::catalog::Kind;
use crate::catalog::Resource;
use crate::lang::build::module_types::TypeInfo;
use crate::lang::build::resources::RELATION_PARAMS;
use crate::lang::eval::Evaluator;
use std::collections::HashMap;
use std::sync::Arc;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Loc;
use troupe_values::types::Type;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub(crate) fn special(
        &mut self,
        type_name: &str,
        title: &str,
        tags: &[&str],
        kind: Kind,
        name_param: bool,
    ) -> usize {
        let r = Resource {
            type_name: type_name.into(),
            title: title.into(),
            params: Default::default(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            file: None,
            line: None,
            exported: false,
            virtual_: false,
            kind,
            scope: self.top,
            evaluated: true,
            name_param,
            namevar: "name",
        };
        self.add_resource(r)
    }

    pub(crate) fn set_top_vars(&mut self) {
        let top = self.top;
        self.set_node_parameters();
        if let Value::Hash(h) = &self.input.facts.clone() {
            for (k, v) in h.iter() {
                if let Value::Str(k) = k {
                    if !self.fact_shadowed(k, v) {
                        self.set_var_unchecked(top, k, v.clone());
                    }
                }
            }
        }
        let facts = self.input.facts.clone();
        let trusted = self.input.trusted.clone();
        let server_facts = self.input.server_facts.clone();
        self.set_var_unchecked(top, "facts", facts);
        self.set_var_unchecked(top, "trusted", trusted);
        self.set_var_unchecked(top, "server_facts", server_facts);
        let env = self.env.name().to_string();
        self.set_var_unchecked(top, "environment", Value::str(env.as_str()));
        let cn = self.input.certname.clone();
        self.set_var_unchecked(top, "clientcert", Value::str(cn.as_str()));
        self.set_var_unchecked(top, "name", Value::str("main"));
        self.set_var_unchecked(top, "title", Value::str("main"));
    }

    pub fn run(&mut self) -> EResult<Catalog> {
        self.set_top_vars();
        self.stage_main = self.special("Stage", "main", &["stage"], Kind::Compilable, true);
        let settings = self.special(
            "Class",
            "Settings",
            &["class", "settings"],
            Kind::Unknown,
            false,
        );
        self.class_main = self.special("Class", "main", &["class"], Kind::Unknown, true);
        self.add_edge(self.stage_main, settings);
        self.add_edge(self.stage_main, self.class_main);
        // A classifier's classes are listed first, as given (Puppet lists them again when
        // they are evaluated).
        let listed = self.input.node.classes.iter().map(|(n, _)| n.clone());
        self.class_list.extend(listed.collect::<Vec<_>>());
        self.class_list.push("settings".into());
        self.scopes[self.top].resource = Some(self.class_main);
        self.class_scopes.insert(String::new(), self.top);

        let site = self.env.site()?;
        for code in &site {
            self.register(code);
        }
        self.check_node_names()?;
        for code in &site {
            self.src = code.source.clone();
            self.cur = self.top;
            self.eval(&code.program)?;
        }
        self.evaluate_node()?;
        self.evaluate_node_classes()?;
        // Generators: lazily evaluated defines and collectors, until nothing changes.
        loop {
            // Puppet runs the collectors first, then the defines (so a collector's override
            // reaches a define's parameters before its body runs).
            let mut changed = self.run_collectors()?;
            let mut i = 0;
            while i < self.res.len() {
                if !self.res[i].evaluated && self.evaluate_lazy_class(i)? {
                    changed = true;
                } else if self.res[i].kind == Kind::Defined
                    && !self.res[i].evaluated
                    && !self.res[i].virtual_
                {
                    troupe_values::limits::checkpoint()?;
                    self.evaluate_define(i)?;
                    changed = true;
                }
                i += 1;
            }
            if !changed {
                break;
            }
        }
        self.finish()
    }

    pub(crate) fn finish(&mut self) -> EResult<Catalog> {
        self.validate_param_depth()?;
        self.evaluate_relationships()?;
        let overrides = std::mem::take(&mut self.overrides);
        for ov in &overrides {
            match self.find_resource(&ov.type_name, &ov.title) {
                Some(idx) => self.apply_override(idx, ov)?,
                None => {
                    return Err(EvalError::plain(format!(
                        "Could not find resource(s) {} for overriding",
                        Self::ref_display(&ov.type_name, &ov.title)
                    )))
                }
            }
        }
        // Scope tags for plain resources, then validation.
        for i in 0..self.res.len() {
            if self.res[i].kind == Kind::Compilable && self.res[i].file.is_some() {
                if let Some(sr) = self.scope_resource(self.res[i].scope) {
                    if sr != i {
                        // Taken and put back rather than cloned.
                        let tags = std::mem::take(&mut self.res[sr].tags);
                        self.res[i].merge_tags(&tags);
                        self.res[sr].tags = tags;
                    }
                }
            }
        }
        // Module Ruby types whose attributes are known (see `ruby_type_attrs`).
        let mut module_attrs: HashMap<String, Option<Arc<[String]>>> = HashMap::new();
        for i in 0..self.res.len() {
            let lc = self.res[i].type_name.to_lowercase();
            if self.res[i].kind != Kind::Compilable
                || core_type(&lc).is_some()
                || module_attrs.contains_key(&lc)
            {
                continue;
            }
            let attrs = match self.resource_type_info(&lc)? {
                Some(TypeInfo::ModuleType(_, attrs, _)) => attrs,
                _ => None,
            };
            module_attrs.insert(lc, attrs);
        }
        for i in 0..self.res.len() {
            let r = &self.res[i];
            if r.virtual_ || r.kind != Kind::Compilable || r.file.is_none() {
                continue;
            }
            let lc = r.type_name.to_lowercase();
            let core = core_type(&lc);
            let module = module_attrs.get(&lc).and_then(|a| a.as_deref());
            if core.is_some() || module.is_some() {
                let declared = |k: &str| match (core, module) {
                    (Some(schema), _) => schema.attrs.contains(&k),
                    (None, Some(attrs)) => attrs.iter().any(|a| a == k),
                    (None, None) => true,
                };
                for k in r.params.keys() {
                    if !declared(k) && !METAPARAMS.contains(&k.as_str()) {
                        let at = format!(
                            "(file: {}, line: {})",
                            r.file.clone().unwrap_or_default(),
                            r.line.unwrap_or(0)
                        );
                        return Err(EvalError::plain(format!(
                            "no parameter named '{k}' {at} on {}",
                            r.reference()
                        ))
                        .at(Loc {
                            file: r.file.clone().unwrap_or_default(),
                            line: r.line.unwrap_or(0),
                            col: None,
                        }));
                    }
                }
            }
        }
        self.propagate_metaparams();
        self.validate_relationship_params()?;
        Ok(self.build())
    }

    pub(crate) fn propagate_metaparams(&mut self) {
        let names = [
            "noop", "schedule", "audit", "loglevel", "alias", "tag", "stage",
        ];
        let mut out_edges: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(s, t) in &self.edges {
            out_edges.entry(s).or_default().push(t);
        }
        let mut data: HashMap<usize, Vec<(String, Value)>> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([self.class_main]);
        let mut seen = std::collections::HashSet::new();
        while let Some(node) = queue.pop_front() {
            if !seen.insert(node) {
                continue;
            }
            let targets = out_edges.get(&node).cloned().unwrap_or_default();
            for t in &targets {
                let src_data = data.get(&node).cloned().unwrap_or_else(|| {
                    names
                        .iter()
                        .filter_map(|n| {
                            self.res[node]
                                .params
                                .get(*n)
                                .map(|v| (n.to_string(), v.clone()))
                        })
                        .collect()
                });
                for (k, v) in &src_data {
                    if !self.res[*t].params.contains_key(k) {
                        self.res[*t].params.insert(k.clone(), v.clone());
                    }
                }
                let mut td = src_data.clone();
                for n in names {
                    if let Some(v) = self.res[*t].params.get(n) {
                        td.retain(|(k, _)| k != n);
                        td.push((n.to_string(), v.clone()));
                    }
                }
                data.insert(*t, td);
                if node != *t {
                    let tags = std::mem::take(&mut self.res[node].tags);
                    self.res[*t].merge_tags(&tags);
                    self.res[node].tags = tags;
                }
            }
            queue.extend(targets);
        }
    }

    /// The catalog is written by serde_json, whose writer recurses without stack growth:
    /// a parameter value nested deeper than `limits::MAX_DEPTH` is an error, not a crash.
    pub(crate) fn validate_param_depth(&self) -> EResult<()> {
        for r in self.res.iter().filter(|r| !r.virtual_) {
            for (name, v) in &r.params {
                if troupe_values::limits::value_deeper_than(v, troupe_values::limits::MAX_DEPTH) {
                    return Err(EvalError::new(format!(
                        "the value of parameter '{name}' of {} is nested deeper than {} levels",
                        r.reference(),
                        troupe_values::limits::MAX_DEPTH
                    ))
                    .at(Loc {
                        file: r.file.clone().unwrap_or_default(),
                        line: r.line.unwrap_or(0),
                        col: None,
                    }));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn validate_relationship_params(&self) -> EResult<()> {
        // Reference strings already found (many sources name the same targets).
        let mut found: troupe_values::value::FastSet<std::rc::Rc<str>> = Default::default();
        for (i, r) in self.res.iter().enumerate() {
            if r.virtual_ {
                continue;
            }
            for p in RELATION_PARAMS {
                if let Some(v) = r.params.get(*p) {
                    let items = match v {
                        Value::Array(a) => a.as_slice(),
                        v => std::slice::from_ref(v),
                    };
                    if items
                        .iter()
                        .all(|x| matches!(x, Value::Str(s) if found.contains(s)))
                    {
                        continue;
                    }
                    for x in troupe_values::value::flatten(std::slice::from_ref(v)) {
                        let (tn, title) = match &x {
                            Value::Type(t) => match t.resolved() {
                                Type::Resource(Some(tn), Some(title)) => {
                                    (tn.clone(), title.clone())
                                }
                                Type::Class(Some(n)) => ("Class".into(), n.clone()),
                                _ => continue,
                            },
                            Value::Str(s) => match parse_ref(s) {
                                Some(x) => x,
                                None => {
                                    return Err(EvalError::plain(format!(
                                    "No title provided and {} is not a valid resource reference",
                                    troupe_ruby::object::inspect(&x)
                                ))
                                    .at(self.param_loc(i, p)))
                                }
                            },
                            _ => continue,
                        };
                        // Puppet looks the reference up in the whole catalog, virtual
                        // resources included.
                        if self.find_ref(&tn, &title).is_none() {
                            let loc = self.param_loc(i, p);
                            return Err(EvalError::plain(format!(
                                "Could not find resource '{}' in parameter '{p}'",
                                Self::ref_display(&tn, &title)
                            ))
                            .at(loc));
                        }
                        if let Value::Str(s) = &x {
                            found.insert(s.clone());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Where a resource's attribute was set: Puppet names the line of the attribute itself.
    fn param_loc(&self, i: usize, p: &str) -> Loc {
        let r = &self.res[i];
        let line = self
            .param_lines
            .get(&(i, p.to_string()))
            .copied()
            .or(r.line)
            .unwrap_or(0);
        Loc {
            file: r.file.clone().unwrap_or_default(),
            line,
            col: None,
        }
    }

    /// The catalog, which takes the evaluator's resources: the compile's last step.
    pub(crate) fn build(&mut self) -> Catalog {
        // Each kept resource's reference, formatted once for all its edges.
        let refs: Vec<Option<String>> = self
            .res
            .iter()
            .map(|r| (!r.virtual_).then(|| r.reference()))
            .collect();
        let edges = self
            .edges
            .iter()
            .filter_map(|(s, t)| Some((refs[*s].clone()?, refs[*t].clone()?)))
            .collect();
        let mut tags: Vec<String> = Vec::new();
        let mut push = |t: &str| {
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        };
        for c in &self.class_list {
            push(c);
            if c.contains("::") {
                for s in c.split("::") {
                    push(s);
                }
            }
        }
        if self.res.iter().any(|r| r.type_name == "Node") {
            push("node");
        }
        if self.class_list.len() > 1
            && self
                .res
                .iter()
                .any(|r| r.type_name == "Class" && r.title != "Settings" && r.title != "main")
        {
            push("class");
        }
        // With storeconfigs, the store also gets the exported resources nobody collected
        // (Puppet saves the catalog before its indirection filters virtual resources out).
        let mut stored_edges = Vec::new();
        if self.env.storeconfigs().is_some() {
            let keep = |i: usize| !self.res[i].virtual_;
            let stored = |i: usize| keep(i) || self.res[i].exported;
            stored_edges = self
                .edges
                .iter()
                .filter(|(s, t)| stored(*s) && stored(*t) && !(keep(*s) && keep(*t)))
                .map(|(s, t)| (self.res[*s].reference(), self.res[*t].reference()))
                .collect();
        }
        let with_store = self.env.storeconfigs().is_some();
        // The last use of the resources: the catalog takes them.
        let mut resources: Vec<Resource> = std::mem::take(&mut self.res);
        let mut stored_only = Vec::new();
        if with_store {
            let (out, kept): (Vec<Resource>, Vec<Resource>) = resources
                .into_iter()
                .partition(|r| r.virtual_ && r.exported);
            stored_only = out;
            resources = kept;
        }
        resources.retain(|r| !r.virtual_);
        Catalog {
            stored_only,
            stored_edges,
            name: self.input.certname.clone(),
            environment: self.env.name().to_string(),
            version: serde_json::Value::from(0),
            tags,
            resources,
            edges,
            classes: self.class_list.clone(),
        }
    }
}
