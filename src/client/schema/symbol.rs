//! The names people type — `RouteGuide/GetFeature`, `Compute.SayHello`, `/pkg.Svc/Method`, the
//! service, method, message or enum `describe` and `template` take — and what they turn out to
//! be, with suggestions for the names that are not there.
use super::{file_answer, Ask, NotFound, Schema};
use crate::sys::error::Hint;
use anyhow::{anyhow, bail};
use prost_reflect::{MethodDescriptor, ServiceDescriptor};

/// A name `describe` and `template` found: what kind of thing it is.
pub enum Symbol {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
}

impl Symbol {
    pub fn full_name(&self) -> &str {
        match self {
            Symbol::Service(s) => s.full_name(),
            Symbol::Method(m) => m.full_name(),
            Symbol::Message(m) => m.full_name(),
            Symbol::Enum(e) => e.full_name(),
        }
    }

    /// The file that defines it.
    pub fn parent_file(&self) -> prost_reflect::FileDescriptor {
        match self {
            Symbol::Service(s) => s.parent_file(),
            Symbol::Method(m) => m.parent_service().parent_file(),
            Symbol::Message(m) => m.parent_file(),
            Symbol::Enum(e) => e.parent_file(),
        }
    }

    /// The message a `template` is made for: the message itself, or a method's request.
    pub fn request_message(self) -> anyhow::Result<prost_reflect::MessageDescriptor> {
        match self {
            Symbol::Message(m) => Ok(m),
            Symbol::Method(m) => Ok(m.input()),
            Symbol::Service(s) => {
                let first = s
                    .methods()
                    .next()
                    .map(|m| m.name().to_string())
                    .unwrap_or_default();
                bail!(Hint::new(
                    format!("{} is a service", s.full_name()),
                    format!("name one of its methods, as in {}/{first}", s.name()),
                ))
            }
            Symbol::Enum(e) => bail!(
                "{} is an enum; templates are made for messages and methods",
                e.full_name()
            ),
        }
    }
}

impl Schema {
    /// Looks a symbol up: fully-qualified names first, then the names people type for services and
    /// methods (`Compute`, `RouteGuide/GetFeature`). Only "no such name" moves on to the next
    /// form: a symbol that exists but cannot be loaded, or a name two services share, is
    /// reported as `call` reports it.
    pub async fn find_symbol(&mut self, symbol: &str) -> anyhow::Result<Symbol> {
        let name = symbol
            .trim()
            .trim_start_matches('.')
            .trim_start_matches('/');
        if !name.contains('/') {
            match self.load_symbol(name).await {
                Ok(()) => {
                    let pool = self.pool();
                    if let Some(s) = pool.get_service_by_name(name) {
                        return Ok(Symbol::Service(s));
                    }
                    if let Some(m) = pool.get_message_by_name(name) {
                        return Ok(Symbol::Message(m));
                    }
                    if let Some(e) = pool.get_enum_by_name(name) {
                        return Ok(Symbol::Enum(e));
                    }
                    let method = name.rsplit_once('.').and_then(|(service, method)| {
                        pool.get_service_by_name(service)?
                            .methods()
                            .find(|m| m.name() == method)
                    });
                    if let Some(m) = method {
                        return Ok(Symbol::Method(m));
                    }
                }
                Err(e) if e.downcast_ref::<NotFound>().is_some() => {}
                Err(e) => return Err(e),
            }
            let services = self.services().await?;
            if !matching_services(name, &services).is_empty() {
                return self.resolve_service(name).await.map(Symbol::Service);
            }
        }
        match self.resolve_method(name).await {
            Ok(m) => Ok(Symbol::Method(m)),
            Err(e) if name.contains('/') => Err(e),
            Err(_) => bail!(Hint::new(
                format!("symbol {symbol:?} not found"),
                "name a service, method, message or enum by its full name, as `rpcsh list` shows them",
            )),
        }
    }
}

impl Schema {
    /// Finds the service a user named: its full name, or its last component when that is
    /// unambiguous, in any case when nothing matches exactly.
    pub async fn resolve_service(&mut self, name: &str) -> anyhow::Result<ServiceDescriptor> {
        self.resolve_service_for(name, None).await
    }

    /// As `resolve_service`; with `method`, a one-shot command builds that method alone.
    async fn resolve_service_for(
        &mut self,
        name: &str,
        method: Option<&str>,
    ) -> anyhow::Result<ServiceDescriptor> {
        self.list_and_load(name).await?;
        let services = match (&self.services, &self.listed_before) {
            (None, Some(before)) => before.clone(),
            _ => self.services().await?,
        };
        let found = matching_services(name, &services);
        let full = match found.as_slice() {
            [one] => (*one).clone(),
            // A service the server does not list may still be described (and answer
            // UNIMPLEMENTED, as the interop case unimplemented_service expects).
            [] if self.load_symbol(name).await.is_ok()
                && self.pool.get_service_by_name(name).is_some() =>
            {
                name.to_string()
            }
            [] => {
                let whose = match self.reflection {
                    Some(_) => "the server lists",
                    None => "the schema has",
                };
                let hint = match suggest(name, &services) {
                    _ if crate::client::net::transport::looks_like_address(name) => format!(
                        "{name} looks like a server's address, not a service: give it first (rpcsh list {name}) or as -a {name}"
                    ),
                    Some(s) => format!("did you mean {s}? `rpcsh list` shows them all"),
                    None if services.is_empty() => format!("{whose} no services"),
                    None => format!("{whose}: {}", services.join(", ")),
                };
                bail!(Hint::new(format!("unknown service {name:?}"), hint))
            }
            many => {
                const SHOWN: usize = 5;
                let shown: Vec<&str> = many.iter().take(SHOWN).map(|s| s.as_str()).collect();
                let more = match many.len().saturating_sub(SHOWN) {
                    0 => String::new(),
                    n => format!(" and {n} more (`rpcsh list` shows them all)"),
                };
                bail!(Hint::new(
                    format!(
                        "service name {name:?} is ambiguous: {} services have it",
                        many.len()
                    ),
                    format!(
                        "name one by its full name, with its package: {}{more}",
                        shown.join(", ")
                    ),
                ))
            }
        };
        match method {
            Some(method) if self.reflected.roots.is_some() => {
                // Not every server finds a file by a method's name (grpcio's v1alpha does not):
                // fetch it by the service's, then build the method alone.
                if !self.reflected.files.defines(&full) {
                    let answer = self
                        .reflection_mut()
                        .ask(Ask::FileContainingSymbol(full.clone()));
                    let files = file_answer(answer.await?)?;
                    self.fetch(files).await?;
                }
                self.well_known_beside().await?;
                self.load_symbol(&format!("{full}.{method}")).await?
            }
            _ => self.load_symbol(&full).await?,
        }
        self.pool.get_service_by_name(&full).ok_or_else(|| {
            match self.reflected.files.defines(&full) {
                true => anyhow!("the server lists {full} but does not describe it"),
                false => {
                    anyhow!("the server lists {full}, but no file its reflection gives defines it")
                }
            }
        })
    }

    /// Finds a method from `Service/Method`, `Service.Method` or `/package.Service/Method`.
    pub async fn resolve_method(&mut self, spec: &str) -> anyhow::Result<MethodDescriptor> {
        let method = self.find_method(spec).await?;
        self.with_well_known(method).await
    }

    /// `method` again, from a pool that holds every well-known type when the pool holds
    /// `google.protobuf.Any`: a request's `@type` may name any of them whatever the source
    /// ships, as in grpcurl and buf (they are bundled: no round trip).
    /// With `google.protobuf.Any` among the files, the well-known types go into the method's
    /// own build: `with_well_known` would otherwise build the whole pool a second time for
    /// them (half of a Google Ads call's time).
    async fn well_known_beside(&mut self) -> anyhow::Result<()> {
        if !self.reflected.files.has("google/protobuf/any.proto") {
            return Ok(());
        }
        let known: Vec<_> = super::well_known().files().collect();
        for message in known.iter().flat_map(|f| f.messages()) {
            self.add_root(message.full_name());
        }
        let missing = known
            .iter()
            .filter(|f| !self.reflected.files.has(f.name()))
            .map(|f| f.encode_to_vec())
            .collect();
        self.fetch(missing).await
    }

    async fn with_well_known(
        &mut self,
        method: MethodDescriptor,
    ) -> anyhow::Result<MethodDescriptor> {
        if self
            .pool
            .get_message_by_name("google.protobuf.Any")
            .is_none()
        {
            return Ok(method);
        }
        let missing: Vec<_> = super::well_known()
            .files()
            .filter(|f| self.pool.get_file_by_name(f.name()).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(method);
        }
        for message in missing.iter().flat_map(|f| f.messages()) {
            self.add_root(message.full_name());
        }
        let files = missing.iter().map(|f| f.encode_to_vec()).collect();
        self.add_files(files).await?;
        let found = self
            .pool
            .get_service_by_name(method.parent_service().full_name())
            .and_then(|s| s.methods().find(|m| m.name() == method.name()));
        Ok(found.unwrap_or(method))
    }

    async fn find_method(&mut self, spec: &str) -> anyhow::Result<MethodDescriptor> {
        let trimmed = spec.trim().trim_start_matches('/');
        let split = trimmed
            .rsplit_once('/')
            .or_else(|| trimmed.rsplit_once('.'));
        let Some((service, method)) = split.filter(|(s, m)| !s.is_empty() && !m.is_empty()) else {
            bail!(Hint::new(
                format!("invalid method {spec:?}"),
                "name it SERVICE/METHOD, as in RouteGuide/GetFeature",
            ));
        };
        let mut service = self.resolve_service_for(service, Some(method)).await?;
        if let Some(m) = service.methods().find(|m| m.name() == method) {
            return Ok(m);
        }
        // Not that exact name: the whole service, for a name in another case or a suggestion.
        if self.reflected.roots.is_some() {
            let full = service.full_name().to_string();
            self.add_root(&full);
            self.rebuild().await?;
            service = self.pool.get_service_by_name(&full).unwrap_or(service);
        }
        let methods: Vec<MethodDescriptor> = service.methods().collect();
        let loose: Vec<&MethodDescriptor> = methods
            .iter()
            .filter(|m| m.name().eq_ignore_ascii_case(method))
            .collect();
        if let [one] = loose.as_slice() {
            return Ok((*one).clone());
        }
        let names: Vec<String> = methods.iter().map(|m| m.name().to_string()).collect();
        // Suggest a name that resolves: the short service name only when it is unambiguous.
        let services = self.services.clone().unwrap_or_default();
        let service_name = match matching_services(service.name(), &services).len() {
            0 | 1 => service.name(),
            _ => service.full_name(),
        };
        let hint = match suggest(method, &names) {
            Some(s) => format!("did you mean {service_name}/{s}?"),
            None => format!("{} has: {}", service.full_name(), names.join(", ")),
        };
        bail!(Hint::new(
            format!("{} has no method {method:?}", service.full_name()),
            hint
        ))
    }
}

/// The listed services `name` may mean: the exact name, else those whose last component it is,
/// else the same ignoring case.
pub(crate) fn matching_services<'a>(name: &str, services: &'a [String]) -> Vec<&'a String> {
    let short = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
    let mut found: Vec<&String> = services.iter().filter(|s| *s == name).collect();
    if found.is_empty() {
        found = services.iter().filter(|s| short(s) == name).collect();
    }
    if found.is_empty() {
        found = services
            .iter()
            .filter(|s| s.eq_ignore_ascii_case(name) || short(s).eq_ignore_ascii_case(name))
            .collect();
    }
    found
}

/// The candidate closest to `name`, if any is close enough to be a likely typo.
fn suggest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let short = c.rsplit('.').next().unwrap_or(c).to_ascii_lowercase();
            let score = strsim::jaro_winkler(&lower, &short)
                .max(strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()));
            (score, c.as_str())
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
