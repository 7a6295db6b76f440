//! Flattening: what `create()` would build from a context, outermost filter first, down to
//! the terminal app or urlmap.

use super::entry_point::Obj;
use super::resolve::{invalid, Conf, Ctx, Kind, Resolver};
use super::{py_strip, q, Element, ResolveError};

#[derive(Debug, Clone)]
pub(super) enum Terminal {
    App {
        label: String,
        factory: String,
    },
    UrlMap {
        label: String,
        local: Conf,
        global: Conf,
        line: usize,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Flat {
    pub(super) elements: Vec<Element>,
    pub(super) terminal: Terminal,
    pub(super) via: Vec<String>,
    pub(super) label: String,
}

impl<'a> Resolver<'a> {
    fn flatten_filter(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Element>,
        via: &mut Vec<String>,
    ) -> Result<(), ResolveError> {
        via.extend(ctx.sections.iter().cloned());
        match &ctx.kind {
            Kind::Object { obj, protocol } => {
                match protocol.as_deref() {
                    Some("paste.filter_factory") | Some("paste.filter_app_factory") | Some("?") => {
                    }
                    other => {
                        return Err(invalid(
                            Some(ctx.line),
                            "AssertionError",
                            format!(
                                "{}: filter protocol {} cannot be invoked",
                                ctx.label,
                                other.map(q).unwrap_or_else(|| "None".to_string())
                            ),
                        ));
                    }
                }
                out.push(element(ctx, obj));
                Ok(())
            }
            // filter-with on a filter: `composed(app) = filter(filtered(app))`.
            Kind::FilterWith { filter, next } => {
                self.flatten_filter(filter, out, via)?;
                self.flatten_filter(next, out, via)
            }
            Kind::Pipeline { .. } | Kind::FilterApp { .. } => Err(invalid(
                Some(ctx.line),
                "LookupError",
                format!("{} is not a filter", ctx.label),
            )),
        }
    }

    pub(super) fn flatten_app(&self, ctx: &Ctx) -> Result<Flat, ResolveError> {
        let mut elements = Vec::new();
        let mut via = Vec::new();
        let terminal = self.flatten_app_into(ctx, &mut elements, &mut via)?;
        Ok(Flat {
            elements,
            terminal,
            via,
            label: ctx.label.clone(),
        })
    }

    fn flatten_app_into(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Element>,
        via: &mut Vec<String>,
    ) -> Result<Terminal, ResolveError> {
        via.extend(ctx.sections.iter().cloned());
        match &ctx.kind {
            Kind::Object { obj, protocol } => {
                let composite = matches!(
                    protocol.as_deref(),
                    Some("paste.composite_factory") | Some("paste.composit_factory")
                );
                let app = matches!(protocol.as_deref(), Some("paste.app_factory") | Some("?"));
                if composite && obj.is_urlmap() {
                    Ok(Terminal::UrlMap {
                        label: ctx.label.clone(),
                        local: ctx.local.clone(),
                        global: ctx.global.clone(),
                        line: ctx.line,
                    })
                } else if composite {
                    Err(ResolveError::Unsupported {
                        line: Some(ctx.line),
                        message: format!(
                            "{}: composite factory {} is not paste.urlmap; which app serves /v1 is unknown",
                            ctx.label,
                            obj.reference()
                        ),
                    })
                } else if app && obj.is_urlmap() {
                    Err(invalid(
                        Some(ctx.line),
                        "TypeError",
                        format!("{}: urlmap_factory invoked as an app_factory", ctx.label),
                    ))
                } else if app {
                    Ok(Terminal::App {
                        label: ctx.label.clone(),
                        factory: obj.reference(),
                    })
                } else {
                    Err(invalid(
                        Some(ctx.line),
                        "AssertionError",
                        format!(
                            "{}: application protocol {} unknown",
                            ctx.label,
                            protocol
                                .as_deref()
                                .map(q)
                                .unwrap_or_else(|| "None".to_string())
                        ),
                    ))
                }
            }
            Kind::Pipeline { filters, app } => {
                for fc in filters {
                    self.flatten_filter(fc, out, via)?;
                }
                self.flatten_app_into(app, out, via)
            }
            Kind::FilterApp { filter, next } | Kind::FilterWith { filter, next } => {
                self.flatten_filter(filter, out, via)?;
                self.flatten_app_into(next, out, via)
            }
        }
    }
}

pub(super) fn element(ctx: &Ctx, obj: &Obj) -> Element {
    let name = match ctx.label.split_once(':') {
        Some((_, n)) if ctx.from_section => py_strip(n).to_string(),
        _ => ctx.label.clone(),
    };
    Element {
        section: ctx.label.clone(),
        name,
        factory: obj.factory(),
        line: ctx.line,
        factory_ref: obj.reference(),
        local_conf: ctx.local.pairs(),
        global_conf: ctx.global.pairs(),
    }
}
