//! The names `describe` and `template` take — a service, method, message or enum, by full
//! name or as people type them — and what they turn out to be.
use super::{matching_services, NotFound, Schema};
use crate::error::Hint;
use anyhow::bail;
use prost_reflect::MethodDescriptor;

/// A name `describe` and `template` found: what kind of thing it is.
pub enum Symbol {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
}

impl Symbol {
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
