//! The one place that talks to xterm.js (ES modules resolved by the page's
//! import map). Only what the app uses is bound.

use js_sys::{Object, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "@xterm/xterm")]
extern "C" {
    pub type Terminal;

    #[wasm_bindgen(constructor)]
    pub fn new(options: &Object) -> Terminal;
    #[wasm_bindgen(method)]
    pub fn open(this: &Terminal, parent: &web_sys::HtmlElement);
    /// Bytes are copied: xterm parses later, after wasm memory may move.
    #[wasm_bindgen(method, js_name = write)]
    fn write_array(this: &Terminal, data: &Uint8Array, callback: &JsValue);
    #[wasm_bindgen(method)]
    pub fn reset(this: &Terminal);
    #[wasm_bindgen(method)]
    pub fn focus(this: &Terminal);
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Terminal);
    #[wasm_bindgen(method, js_name = loadAddon)]
    pub fn load_addon(this: &Terminal, addon: &JsValue);
    #[wasm_bindgen(method, js_name = onData)]
    pub fn on_data(this: &Terminal, f: &Closure<dyn FnMut(String)>) -> JsValue;
    #[wasm_bindgen(method, js_name = onBinary)]
    pub fn on_binary(this: &Terminal, f: &Closure<dyn FnMut(String)>) -> JsValue;
    #[wasm_bindgen(method, js_name = onResize)]
    pub fn on_resize(this: &Terminal, f: &Closure<dyn FnMut(JsValue)>) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub fn cols(this: &Terminal) -> u32;
    #[wasm_bindgen(method, getter)]
    pub fn rows(this: &Terminal) -> u32;
    #[wasm_bindgen(method)]
    pub fn resize(this: &Terminal, cols: u32, rows: u32);
    #[wasm_bindgen(method, js_name = onSelectionChange)]
    pub fn on_selection_change(this: &Terminal, f: &Closure<dyn FnMut()>) -> JsValue;
    #[wasm_bindgen(method, js_name = getSelection)]
    pub fn get_selection(this: &Terminal) -> String;
    #[wasm_bindgen(method, js_name = scrollToBottom)]
    pub fn scroll_to_bottom(this: &Terminal);
    #[wasm_bindgen(method, js_name = scrollToLine)]
    pub fn scroll_to_line(this: &Terminal, line: u32);
    #[wasm_bindgen(method, getter)]
    pub fn parser(this: &Terminal) -> Parser;
    #[wasm_bindgen(method, getter)]
    pub fn buffer(this: &Terminal) -> Buffers;
    /// A marker on the cursor's line (plus `offset`); it follows the line
    /// as the buffer scrolls and is disposed with it.
    #[wasm_bindgen(method, js_name = registerMarker)]
    pub fn register_marker(this: &Terminal, offset: i32) -> Option<Marker>;
    #[wasm_bindgen(method, js_name = registerDecoration)]
    pub fn register_decoration(this: &Terminal, options: &Object) -> Option<Decoration>;

    pub type Parser;
    /// `f` gets an OSC's data after `ident;` and returns whether it
    /// handled it.
    #[wasm_bindgen(method, js_name = registerOscHandler)]
    pub fn register_osc_handler(
        this: &Parser,
        ident: u32,
        f: &Closure<dyn FnMut(String) -> bool>,
    ) -> JsValue;

    pub type Buffers;
    #[wasm_bindgen(method, getter)]
    pub fn active(this: &Buffers) -> Buffer;

    pub type Buffer;
    /// The first line shown.
    #[wasm_bindgen(method, getter, js_name = viewportY)]
    pub fn viewport_y(this: &Buffer) -> u32;

    #[derive(Clone)]
    pub type Marker;
    /// Its line in the buffer; -1 once disposed.
    #[wasm_bindgen(method, getter)]
    pub fn line(this: &Marker) -> i32;
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Marker);

    pub type Decoration;
    #[wasm_bindgen(method, js_name = onRender)]
    pub fn on_render(this: &Decoration, f: &Closure<dyn FnMut(web_sys::HtmlElement)>) -> JsValue;
}

#[wasm_bindgen(raw_module = "@xterm/addon-fit")]
extern "C" {
    pub type FitAddon;

    #[wasm_bindgen(constructor)]
    pub fn new() -> FitAddon;
    #[wasm_bindgen(method)]
    pub fn fit(this: &FitAddon);
}

#[wasm_bindgen(raw_module = "@xterm/addon-search")]
extern "C" {
    pub type SearchAddon;

    #[wasm_bindgen(constructor)]
    pub fn new() -> SearchAddon;
    #[wasm_bindgen(method, js_name = findNext)]
    pub fn find_next(this: &SearchAddon, term: &str) -> bool;
    #[wasm_bindgen(method, js_name = findPrevious)]
    pub fn find_previous(this: &SearchAddon, term: &str) -> bool;
}

impl Terminal {
    /// Writes bytes; `done` runs once xterm has parsed them (flow control).
    pub fn write_bytes(&self, data: &[u8], done: Option<&js_sys::Function>) {
        let array = Uint8Array::from(data);
        let callback = done.map_or(JsValue::UNDEFINED, |f| f.clone().into());
        self.write_array(&array, &callback);
    }
}

/// Options for a new terminal.
pub fn options(read_only: bool) -> Object {
    let options = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(k), &v);
    };
    set("scrollback", JsValue::from_f64(10_000.0));
    set("cursorBlink", JsValue::from_bool(!read_only));
    set("disableStdin", JsValue::from_bool(read_only));
    set(
        "fontFamily",
        JsValue::from_str("ui-monospace, 'DejaVu Sans Mono', monospace"),
    );
    set("fontSize", JsValue::from_f64(14.0));
    set("allowProposedApi", JsValue::from_bool(true));
    // The scrollbar's ruler, where finished commands are marked.
    set("overviewRulerWidth", JsValue::from_f64(8.0));
    if prefers_light() {
        set("theme", light_theme().into());
    }
    options
}

/// The system asks for a light theme (the page's CSS follows it too).
pub fn prefers_light() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-color-scheme: light)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}

/// xterm's colours on a light page: dark text on white; the 16 ANSI
/// colours stay xterm's, the bright ones readable on white.
fn light_theme() -> Object {
    let theme = Object::new();
    for (k, v) in [
        ("background", "#ffffff"),
        ("foreground", "#1d232b"),
        ("cursor", "#1d232b"),
        ("cursorAccent", "#ffffff"),
        ("selectionBackground", "#b4d5fe"),
        ("yellow", "#a86b00"),
        ("brightYellow", "#8a5a00"),
        ("white", "#5c6672"),
        ("brightWhite", "#1d232b"),
    ] {
        let _ = js_sys::Reflect::set(&theme, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    theme
}
