//! Command boundaries in a terminal, from the shell's prompt marks (OSC
//! 133, which vtr's shell integration adds to bash and zsh): each command
//! line is marked, a failed one in red at its start and in the scrollbar's
//! ruler, and the pane jumps from one command to the next.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;

use crate::xterm::{Marker, Terminal};

/// Commands kept marked per terminal; the oldest marks go first.
const MAX_MARKS: usize = 1000;
const FAILED: &str = "#e5534b";
const PASSED: &str = "#6e7781";

/// One command line: where it is, and how it ended once it has.
struct Mark {
    marker: Marker,
    exit: Option<i32>,
    /// Labels its decoration's element; dropped with the mark, once the
    /// line (and so the decoration) is gone.
    _labels: Option<Closure<dyn FnMut(web_sys::HtmlElement)>>,
}

/// A terminal's command marks.
#[derive(Clone, Default)]
pub struct Marks(Rc<RefCell<Vec<Mark>>>);

impl Marks {
    /// Follows `term`'s prompt marks from now on.
    pub fn watch(&self, term: &Terminal) {
        let marks = self.clone();
        let source: Terminal = AsRef::<JsValue>::as_ref(term).clone().into();
        let handler = Closure::<dyn FnMut(String) -> bool>::new(move |data: String| {
            marks.on_mark(&source, &data);
            true
        });
        term.parser().register_osc_handler(133, &handler);
        handler.forget();
    }

    fn on_mark(&self, term: &Terminal, data: &str) {
        let mut list = self.0.borrow_mut();
        // Lines gone from the scrollback (or a reset) took their markers.
        list.retain(|m| m.marker.line() >= 0);
        let mut fields = data.split(';');
        match fields.next() {
            // The prompt ends: the command line is typed on this line.
            Some("B") => {
                if let Some(marker) = term.register_marker(0) {
                    if list.len() == MAX_MARKS {
                        list.remove(0).marker.dispose();
                    }
                    list.push(Mark {
                        marker,
                        exit: None,
                        _labels: None,
                    });
                }
            }
            Some("D") => {
                let Some(code) = fields.next().and_then(|c| c.parse::<i32>().ok()) else {
                    return;
                };
                if let Some(last) = list.last_mut().filter(|m| m.exit.is_none()) {
                    last.exit = Some(code);
                    last._labels = decorate(term, &last.marker, code);
                }
            }
            _ => {}
        }
    }

    /// Scrolls to the command line before (`older`) or after the first
    /// line shown; past the newest, to the bottom.
    pub fn jump(&self, term: &Terminal, older: bool) {
        let top = term.buffer().active().viewport_y() as i32;
        let list = self.0.borrow();
        let lines = list.iter().map(|m| m.marker.line()).filter(|&l| l >= 0);
        let to = if older {
            lines.filter(|&l| l < top).max()
        } else {
            lines.filter(|&l| l > top).min()
        };
        match to {
            Some(line) => term.scroll_to_line(line as u32),
            None if !older => term.scroll_to_bottom(),
            None => {}
        }
    }
}

/// Marks a finished command: in the scrollbar's ruler, and a failed one
/// also at the start of its line.
fn decorate(
    term: &Terminal,
    marker: &Marker,
    code: i32,
) -> Option<Closure<dyn FnMut(web_sys::HtmlElement)>> {
    let options = Object::new();
    let set = |o: &Object, k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), &v);
    };
    let ruler = Object::new();
    set(
        &ruler,
        "color",
        JsValue::from_str(if code == 0 { PASSED } else { FAILED }),
    );
    set(&options, "marker", marker.into());
    set(&options, "overviewRulerOptions", ruler.into());
    if code != 0 {
        set(&options, "width", JsValue::from_f64(1.0));
        set(&options, "backgroundColor", JsValue::from_str(FAILED));
    }
    let decoration = term.register_decoration(&options)?;
    let labels =
        Closure::<dyn FnMut(web_sys::HtmlElement)>::new(move |el: web_sys::HtmlElement| {
            let _ = el.set_attribute("data-exit", &code.to_string());
            let _ = el.set_attribute("title", &format!("exit code {code}"));
        });
    decoration.on_render(&labels);
    Some(labels)
}
