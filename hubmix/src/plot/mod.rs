//! Pictures of a model's architecture, drawn by hubmix itself (no graphviz): the module tree with
//! its types, parameter shapes and parameter counts, as an SVG image ([`ModuleNode::to_svg`]) or
//! as a Markdown table for the model card ([`ModuleNode::to_markdown`]).
//!
//! The tree is plain data ([`ModuleNode`], [`ParamLeaf`]) with no Burn types in it, so it can be
//! built by hand, by the Burn side of hubmix, or read back from anything else.
//!
//! See [`ModuleNode::to_svg`] for how the picture is laid out.

pub(crate) mod tree;

use std::fmt::Write as _;

/// One module of a model's tree: its field name, its type, its own parameters and its sub-modules.
///
/// The root's `name` is empty; the items of a `Vec` are named `0`, `1`, ...
///
/// ```
/// use hubmix::ModuleNode;
///
/// let fc1 = ModuleNode::new("fc1", "Struct:Linear")
///     .param("weight", &[784, 128], "f32")
///     .param("bias", &[128], "f32");
/// let fc2 = ModuleNode::new("fc2", "Struct:Linear").param("weight", &[128, 10], "f32");
/// let mlp = ModuleNode::new("", "Struct:Mlp").child(fc1).child(fc2);
/// assert_eq!(mlp.num_params(), 784 * 128 + 128 + 128 * 10);
/// let svg = mlp.to_svg("alice/mlp");
/// assert!(svg.contains("101,760 parameters"));
/// assert!(mlp.to_markdown().contains("| **101,760** |"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleNode {
    /// The field name in the parent module (empty for the root, `0`, `1`, ... in a `Vec`).
    pub name: String,
    /// The container type as Burn names it: `Struct:Linear`, `Enum:Block`, `Vec`, ...
    pub kind: String,
    /// The module's own parameter tensors (not those of its sub-modules).
    pub params: Vec<ParamLeaf>,
    /// The sub-modules, in field order.
    pub children: Vec<ModuleNode>,
}

/// One parameter tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamLeaf {
    /// The field name (`weight`, `bias`, ...).
    pub name: String,
    /// The tensor's shape; empty for a scalar.
    pub shape: Vec<usize>,
    /// The element type as text (`f32`, `bf16`, ...).
    pub dtype: String,
}

impl ParamLeaf {
    /// A parameter named `name` of this shape and element type.
    pub fn new(name: impl Into<String>, shape: &[usize], dtype: impl Into<String>) -> Self {
        ParamLeaf {
            name: name.into(),
            shape: shape.to_vec(),
            dtype: dtype.into(),
        }
    }

    /// The number of elements: the product of the shape (1 for a scalar).
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
    }

    /// The one-line description drawn in the pictures: `weight [784, 128] f32`.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        let mut text = format!("{} [{}]", self.name, dims.join(", "));
        if !self.dtype.is_empty() {
            text.push(' ');
            text.push_str(&self.dtype);
        }
        text
    }
}

impl ModuleNode {
    /// A module without parameters or sub-modules; add them with [`param`](Self::param) and
    /// [`child`](Self::child).
    pub fn new(name: impl Into<String>, kind: impl Into<String>) -> Self {
        ModuleNode {
            name: name.into(),
            kind: kind.into(),
            params: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an own parameter tensor.
    pub fn param(mut self, name: impl Into<String>, shape: &[usize], dtype: impl Into<String>) -> Self {
        self.params.push(ParamLeaf::new(name, shape, dtype));
        self
    }

    /// Adds a sub-module.
    pub fn child(mut self, child: ModuleNode) -> Self {
        self.children.push(child);
        self
    }

    /// The number of scalar parameters of this module and all its sub-modules, recursively (the
    /// sum of the products of the shapes).
    pub fn num_params(&self) -> u64 {
        self.children
            .iter()
            .fold(self.own_params(), |n, child| n.saturating_add(child.num_params()))
    }

    /// The number of scalar parameters of this module's own tensors, without its sub-modules.
    pub fn own_params(&self) -> u64 {
        self.params
            .iter()
            .fold(0u64, |n, p| n.saturating_add(p.num_elements()))
    }

    /// The number of modules in the tree: this one and all below it.
    pub fn num_modules(&self) -> usize {
        1 + self.children.iter().map(ModuleNode::num_modules).sum::<usize>()
    }

    /// The type as shown in the pictures: `kind` without Burn's `Struct:` prefix (`Linear`).
    pub fn display_kind(&self) -> &str {
        self.kind.strip_prefix("Struct:").unwrap_or(&self.kind)
    }

    /// Draws the module tree as a standalone SVG image: the title and total parameter count on
    /// top, then one rounded box per module (path, type, own parameter shapes, parameter count),
    /// indented under its parent and joined to it by a line. Runs of identical `Vec` items are
    /// drawn once (`blocks.0..23: Block ×24`).
    ///
    /// # Layout
    ///
    /// The picture is an indented box tree, like a file browser: one rounded box per module, in
    /// depth-first order from top to bottom, each box indented one step to the right of its parent
    /// and joined to it by an elbow line. Every box sits in a horizontal band of its own, so boxes
    /// never overlap and a child is always below its parent, and the picture grows in height only
    /// with the number of modules (not in width with the tree's fan-out, as a top-down tree would).
    ///
    /// Runs of identical consecutive siblings with consecutive numeric names (the items of a `Vec`
    /// of blocks) are drawn once, as one stacked box: `blocks.0..23: Block ×24`. Counts below such
    /// a box are per copy and say `each`; a note at the bottom of the picture says so.
    ///
    /// The text is set in a monospace font and the boxes are sized from a fixed per-character
    /// width, so no font metrics are needed; the same tree always gives the same bytes.
    pub fn to_svg(&self, title: &str) -> String {
        render_svg(&layout(self, title), self, title)
    }

    /// A compact Markdown table for the model card: one row per module (its path, indented by
    /// depth; its type; its own parameter shapes; its parameter count, sub-modules included),
    /// with the total at the bottom. Runs of identical `Vec` items take one row, as in
    /// [`to_svg`](Self::to_svg).
    pub fn to_markdown(&self) -> String {
        let mut out =
            String::from("| module | type | parameters | count |\n|:-------|:-----|:-----------|------:|\n");
        for row in rows(self) {
            let indent = "&nbsp;&nbsp;".repeat(row.depth);
            let path = if row.depth == 0 {
                "(root)".to_string()
            } else {
                md_code(&row.path)
            };
            let kind = md_code(&row.kind_label());
            let shapes: Vec<String> = row.node.params.iter().map(|p| md_code(&p.describe())).collect();
            let each = row.node.num_params();
            let mut count = if row.repeat > 1 {
                format!(
                    "{} ({} × {})",
                    group(each.saturating_mul(row.repeat as u64)),
                    row.repeat,
                    group(each)
                )
            } else {
                group(each)
            };
            if row.per_copy {
                count.push_str(" each");
            }
            let _ = writeln!(
                out,
                "| {indent}{path} | {kind} | {} | {count} |",
                shapes.join("<br>")
            );
        }
        let _ = writeln!(out, "| **total** | | | **{}** |", group(self.num_params()));
        out
    }
}

/// One drawn module (a box, or a table row): a module, or a run of identical `Vec` items.
#[derive(Debug)]
struct Row<'a> {
    node: &'a ModuleNode,
    /// The dotted path from the root (`blocks.0..23.linear`); empty for the root.
    path: String,
    depth: usize,
    /// The index of the parent row.
    parent: Option<usize>,
    /// How many identical consecutive siblings this row stands for (1 unless collapsed).
    repeat: usize,
    /// Whether the row is inside a collapsed run, so that its count is for one copy.
    per_copy: bool,
}

impl Row<'_> {
    fn kind_label(&self) -> String {
        if self.repeat > 1 {
            format!("{} ×{}", self.node.display_kind(), self.repeat)
        } else {
            self.node.display_kind().to_string()
        }
    }

    fn count_label(&self) -> String {
        let each = self.node.num_params();
        let total = each.saturating_mul(self.repeat as u64);
        let unit = if total == 1 { "param" } else { "params" };
        let mut text = if self.repeat > 1 {
            format!("{} × {} = {} {unit}", self.repeat, group(each), group(total))
        } else {
            format!("{} {unit}", group(total))
        };
        if self.per_copy {
            text.push_str(" each");
        }
        text
    }
}

/// The rows of a tree in depth-first order, runs of identical `Vec` items collapsed.
fn rows(root: &ModuleNode) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    push_rows(root, String::new(), 0, None, 1, false, &mut out);
    out
}

fn push_rows<'a>(
    node: &'a ModuleNode,
    path: String,
    depth: usize,
    parent: Option<usize>,
    repeat: usize,
    per_copy: bool,
    out: &mut Vec<Row<'a>>,
) {
    let index = out.len();
    out.push(Row {
        node,
        path: path.clone(),
        depth,
        parent,
        repeat,
        per_copy,
    });
    let children = &node.children;
    let mut i = 0;
    while i < children.len() {
        let mut j = i + 1;
        while j < children.len() && continues_run(&children[j - 1], &children[j], &children[i]) {
            j += 1;
        }
        let run = j - i;
        let name = if run > 1 {
            format!("{}..{}", children[i].name, children[j - 1].name)
        } else {
            children[i].name.clone()
        };
        let child_path = if path.is_empty() {
            name
        } else {
            format!("{path}.{name}")
        };
        push_rows(
            &children[i],
            child_path,
            depth + 1,
            Some(index),
            run,
            per_copy || repeat > 1,
            out,
        );
        i = j;
    }
}

/// Whether `next` continues the run of identical siblings that `first` starts and `prev` ends:
/// the next index in the name, and the same type, parameters and sub-modules as `first`.
fn continues_run(prev: &ModuleNode, next: &ModuleNode, first: &ModuleNode) -> bool {
    let consecutive = match (
        vec_index(&first.name),
        vec_index(&prev.name),
        vec_index(&next.name),
    ) {
        (Some(_), Some(a), Some(b)) => a.checked_add(1) == Some(b),
        _ => false,
    };
    consecutive && next.kind == first.kind && next.params == first.params && next.children == first.children
}

/// The index in a `Vec` that a module name spells: `7`, but not `07` or `+7`.
fn vec_index(name: &str) -> Option<u64> {
    let n: u64 = name.parse().ok()?;
    (n.to_string() == name).then_some(n)
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` as a Markdown code span that is safe in a table cell (no HTML, no emphasis, no `|`).
fn md_code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    let text = text.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

// ---- SVG ----

const MARGIN: u32 = 20;
/// How far a child box is to the right of its parent's.
const INDENT: u32 = 24;
/// The vertical space between two boxes.
const GAP: u32 = 10;
const PAD_X: u32 = 10;
const PAD_Y: u32 = 6;
const LINE_H: u32 = 16;
/// The offset of each of the two cards drawn behind a collapsed run's box.
const STACK: u32 = 4;
const TITLE_SIZE: f64 = 16.0;
const HEADER_SIZE: f64 = 13.0;
const TEXT_SIZE: f64 = 12.0;
/// The advance of one character, as a fraction of the font size: monospace fonts use 0.6 or
/// less (DejaVu Sans Mono 0.602, Courier 0.6, Consolas 0.55), and bold ones the same.
const CHAR_EM: f64 = 0.62;

/// The estimated width of `text` in a monospace font of this size: East Asian wide characters
/// take two cells, everything else one.
fn text_width(text: &str, size: f64) -> u32 {
    let cells: usize = text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum();
    (cells as f64 * size * CHAR_EM).ceil() as u32
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD)
}

/// Where everything goes: computed once, then written out by [`render_svg`].
#[derive(Debug)]
struct Layout {
    width: u32,
    height: u32,
    boxes: Vec<BoxLayout>,
    /// The baseline of the note about collapsed runs, if any run was collapsed.
    note_y: Option<u32>,
}

/// One module's box. Its footprint is `w + stack` by `h + stack`: a collapsed run draws two
/// cards behind the box, down and to the right.
#[derive(Debug)]
struct BoxLayout {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    stack: u32,
    parent: Option<usize>,
    depth: usize,
    /// The bold first part of the first line: the path (or the title, for the root).
    label: String,
    /// The rest of the first line: `: Linear`.
    kind: String,
    /// The own parameters, one a line.
    params: Vec<String>,
    /// The last line: `100,480 params`.
    count: String,
    leaf: bool,
}

impl BoxLayout {
    /// The start and end points of the line from this box's parent: down the parent's trunk,
    /// then right to the middle of this box's first line.
    fn edge_from(&self, parent: &BoxLayout) -> ((u32, u32), (u32, u32)) {
        let start = (parent.x + INDENT / 2, parent.y + parent.h + parent.stack);
        let end = (self.x, self.y + PAD_Y + LINE_H / 2);
        (start, end)
    }
}

const NOTE: &str = "×N: N identical consecutive items drawn once; \"each\": the count of one copy";

fn layout(root: &ModuleNode, title: &str) -> Layout {
    let title_line = title_line(root, title);
    let mut width = MARGIN + text_width(&title_line, TITLE_SIZE).max(text_width(&subtitle(root), TEXT_SIZE));
    let mut y = MARGIN + 50; // below the title and subtitle
    let mut boxes = Vec::new();
    let mut collapsed = false;
    for row in rows(root) {
        let label = if row.depth == 0 {
            if title.is_empty() {
                "(model)".to_string()
            } else {
                title.to_string()
            }
        } else {
            row.path.clone()
        };
        let kind = if row.node.kind.is_empty() {
            String::new()
        } else {
            format!(": {}", row.kind_label())
        };
        let params: Vec<String> = row.node.params.iter().map(ParamLeaf::describe).collect();
        let count = row.count_label();
        let text_w = params
            .iter()
            .chain([&count])
            .map(|line| text_width(line, TEXT_SIZE))
            .chain([text_width(&format!("{label}{kind}"), HEADER_SIZE)])
            .max()
            .unwrap_or(0);
        let stack = if row.repeat > 1 { 2 * STACK } else { 0 };
        collapsed |= row.repeat > 1;
        let x = MARGIN + row.depth as u32 * INDENT;
        let w = text_w + 2 * PAD_X;
        let h = 2 * PAD_Y + LINE_H * (2 + params.len() as u32);
        width = width.max(x + w + stack);
        boxes.push(BoxLayout {
            x,
            y,
            w,
            h,
            stack,
            parent: row.parent,
            depth: row.depth,
            label,
            kind,
            params,
            count,
            leaf: row.node.children.is_empty(),
        });
        y += h + stack + GAP;
    }
    let bottom = y - GAP;
    let (note_y, height) = if collapsed {
        width = width.max(MARGIN + text_width(NOTE, TEXT_SIZE));
        (Some(bottom + 20), bottom + 24 + MARGIN)
    } else {
        (None, bottom + MARGIN)
    };
    Layout {
        width: width + MARGIN,
        height,
        boxes,
        note_y,
    }
}

fn title_line(root: &ModuleNode, title: &str) -> String {
    let count = root.num_params();
    let unit = if count == 1 { "parameter" } else { "parameters" };
    if title.is_empty() {
        format!("{} {unit}", group(count))
    } else {
        format!("{title} — {} {unit}", group(count))
    }
}

fn subtitle(root: &ModuleNode) -> String {
    let modules = root.num_modules();
    let params: usize = count_tensors(root);
    format!(
        "{modules} module{}, {params} parameter tensor{}",
        if modules == 1 { "" } else { "s" },
        if params == 1 { "" } else { "s" }
    )
}

fn count_tensors(node: &ModuleNode) -> usize {
    node.params.len() + node.children.iter().map(count_tensors).sum::<usize>()
}

/// `text` with `& < > " '` escaped, for XML text and attribute values.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters that XML 1.0 does not allow at all.
            c if (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                out.push('\u{FFFD}')
            }
            c => out.push(c),
        }
    }
    out
}

fn render_svg(layout: &Layout, root: &ModuleNode, title: &str) -> String {
    let (w, h) = (layout.width, layout.height);
    let title_line = title_line(root, title);
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="monospace" font-size="{TEXT_SIZE}">"#
    );
    let _ = writeln!(out, "<title>{}</title>", xml_escape(&title_line));
    let _ = writeln!(
        out,
        r##"<rect class="background" width="{w}" height="{h}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="{MARGIN}" y="{}" font-size="{TITLE_SIZE}" font-weight="bold" fill="#1f2328">{}</text>"##,
        MARGIN + 16,
        xml_escape(&title_line)
    );
    let _ = writeln!(
        out,
        r##"<text x="{MARGIN}" y="{}" fill="#57606a">{}</text>"##,
        MARGIN + 36,
        xml_escape(&subtitle(root))
    );

    let _ = writeln!(
        out,
        r##"<g class="edges" fill="none" stroke="#8c959f" stroke-width="1.5">"##
    );
    for b in &layout.boxes {
        if let Some(parent) = b.parent {
            let ((x0, y0), (x1, y1)) = b.edge_from(&layout.boxes[parent]);
            let _ = writeln!(out, r#"<path d="M {x0} {y0} V {y1} H {x1}"/>"#);
        }
    }
    let _ = writeln!(out, "</g>");

    for b in &layout.boxes {
        let (fill, stroke) = match (b.depth, b.leaf, b.params.is_empty()) {
            (0, _, _) => ("#ddf4ff", "#54aeff"),
            (_, false, _) => ("#f6f8fa", "#8c959f"),
            (_, true, false) => ("#fff8c5", "#d4a72c"),
            (_, true, true) => ("#ffffff", "#afb8c1"),
        };
        let _ = writeln!(out, r#"<g class="module">"#);
        for i in (1..=b.stack / STACK).rev() {
            let _ = writeln!(
                out,
                r#"<rect class="stack" x="{}" y="{}" width="{}" height="{}" rx="6" fill="{fill}" stroke="{stroke}"/>"#,
                b.x + i * STACK,
                b.y + i * STACK,
                b.w,
                b.h
            );
        }
        let _ = writeln!(
            out,
            r#"<rect class="box" x="{}" y="{}" width="{}" height="{}" rx="6" fill="{fill}" stroke="{stroke}"/>"#,
            b.x, b.y, b.w, b.h
        );
        let tx = b.x + PAD_X;
        let baseline = |line: u32| b.y + PAD_Y + line * LINE_H + 12;
        let _ = write!(
            out,
            r##"<text x="{tx}" y="{}" font-size="{HEADER_SIZE}"><tspan font-weight="bold" fill="#1f2328">{}</tspan>"##,
            baseline(0),
            xml_escape(&b.label)
        );
        if !b.kind.is_empty() {
            let _ = write!(out, r##"<tspan fill="#8250df">{}</tspan>"##, xml_escape(&b.kind));
        }
        let _ = writeln!(out, "</text>");
        for (i, param) in b.params.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<text x="{tx}" y="{}" fill="#424a53">{}</text>"##,
                baseline(1 + i as u32),
                xml_escape(param)
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{tx}" y="{}" fill="#0969da">{}</text>"##,
            baseline(1 + b.params.len() as u32),
            xml_escape(&b.count)
        );
        let _ = writeln!(out, "</g>");
    }
    if let Some(y) = layout.note_y {
        let _ = writeln!(
            out,
            r##"<text class="note" x="{MARGIN}" y="{y}" fill="#57606a">{}</text>"##,
            xml_escape(NOTE)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- A strict little XML reader, to check well-formedness and read the picture back ----

    #[derive(Debug)]
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Content>,
    }

    #[derive(Debug)]
    enum Content {
        Element(Element),
        Text(String),
    }

    impl Element {
        fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        fn num(&self, name: &str) -> f64 {
            self.attr(name)
                .unwrap_or_else(|| panic!("no {name} in {self:?}"))
                .parse()
                .unwrap()
        }

        fn text(&self) -> String {
            let mut out = String::new();
            for child in &self.children {
                match child {
                    Content::Text(t) => out.push_str(t),
                    Content::Element(e) => out.push_str(&e.text()),
                }
            }
            out
        }

        /// This element and all elements below it, in document order.
        fn all(&self) -> Vec<&Element> {
            let mut out = vec![self];
            for child in &self.children {
                if let Content::Element(e) = child {
                    out.extend(e.all());
                }
            }
            out
        }

        fn find(&self, name: &str, class: Option<&str>) -> Vec<&Element> {
            self.all()
                .into_iter()
                .filter(|e| e.name == name && (class.is_none() || e.attr("class") == class))
                .collect()
        }
    }

    /// Parses a whole document: an optional XML declaration, one root element, nothing but
    /// white space after it. Rejects unclosed or mismatched tags, `<` or a bare `&` in text or
    /// attribute values, unknown entities, duplicate or unquoted attributes.
    fn parse_xml(doc: &str) -> Result<Element, String> {
        let mut rest = doc;
        if let Some(after) = rest.strip_prefix("<?xml") {
            let end = after.find("?>").ok_or("unclosed XML declaration")?;
            rest = &after[end + 2..];
        }
        rest = rest.trim_start();
        let (root, after) = parse_element(rest)?;
        if !after.trim().is_empty() {
            return Err(format!("content after the root element: {after:?}"));
        }
        Ok(root)
    }

    fn parse_name(s: &str) -> Result<(String, &str), String> {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')))
            .unwrap_or(s.len());
        let name = &s[..end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
            return Err(format!("bad name at {:?}", &s[..s.len().min(30)]));
        }
        Ok((name.to_string(), &s[end..]))
    }

    fn decode(raw: &str) -> Result<String, String> {
        if raw.contains('<') {
            return Err(format!("raw < in {raw:?}"));
        }
        let mut out = String::new();
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let semi = rest[amp..]
                .find(';')
                .ok_or_else(|| format!("bare & in {raw:?}"))?
                + amp;
            let entity = &rest[amp + 1..semi];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = entity.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = entity.strip_prefix('#') {
                        dec.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32)
                        .ok_or_else(|| format!("bad entity &{entity}; in {raw:?}"))?
                }
            };
            out.push(c);
            rest = &rest[semi + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn parse_element(s: &str) -> Result<(Element, &str), String> {
        let s = s.strip_prefix('<').ok_or("expected <")?;
        let (name, mut rest) = parse_name(s)?;
        let mut attrs: Vec<(String, String)> = Vec::new();
        loop {
            let trimmed = rest.trim_start();
            if let Some(after) = trimmed.strip_prefix("/>") {
                return Ok((
                    Element {
                        name,
                        attrs,
                        children: Vec::new(),
                    },
                    after,
                ));
            }
            if let Some(after) = trimmed.strip_prefix('>') {
                rest = after;
                break;
            }
            if trimmed.len() == rest.len() {
                return Err(format!("no space before an attribute of <{name}>"));
            }
            let (attr, after) = parse_name(trimmed)?;
            let after = after
                .trim_start()
                .strip_prefix('=')
                .ok_or(format!("no = after {attr}"))?
                .trim_start();
            let quote = after
                .chars()
                .next()
                .filter(|&q| q == '"' || q == '\'')
                .ok_or("unquoted value")?;
            let end = after[1..].find(quote).ok_or("unclosed value")? + 1;
            if attrs.iter().any(|(n, _)| *n == attr) {
                return Err(format!("duplicate attribute {attr}"));
            }
            attrs.push((attr, decode(&after[1..end])?));
            rest = &after[end + 1..];
        }
        let mut children = Vec::new();
        loop {
            let lt = rest.find('<').ok_or(format!("<{name}> is never closed"))?;
            if lt > 0 {
                children.push(Content::Text(decode(&rest[..lt])?));
            }
            rest = &rest[lt..];
            if let Some(after) = rest.strip_prefix("</") {
                let (close, after) = parse_name(after)?;
                if close != name {
                    return Err(format!("<{name}> closed by </{close}>"));
                }
                let after = after.trim_start().strip_prefix('>').ok_or("bad end tag")?;
                return Ok((
                    Element {
                        name,
                        attrs,
                        children,
                    },
                    after,
                ));
            }
            let (child, after) = parse_element(rest)?;
            children.push(Content::Element(child));
            rest = after;
        }
    }

    #[test]
    fn the_xml_reader_rejects_what_is_not_well_formed() {
        assert!(parse_xml("<a><b>x</b></a>").is_ok());
        for bad in [
            "<a><b></a></b>",
            "<a>x & y</a>",
            "<a>x <b</a>",
            "<a t=\"<\"/>",
            "<a t=x/>",
            "<a t=\"1\" t=\"2\"/>",
            "<a>&nope;</a>",
            "<a>",
            "<a/><b/>",
        ] {
            assert!(parse_xml(bad).is_err(), "{bad}");
        }
    }

    // ---- Trees ----

    fn linear(name: &str, d_in: usize, d_out: usize) -> ModuleNode {
        ModuleNode::new(name, "Struct:Linear")
            .param("weight", &[d_in, d_out], "f32")
            .param("bias", &[d_out], "f32")
    }

    fn block(name: &str, d: usize) -> ModuleNode {
        ModuleNode::new(name, "Struct:Block")
            .child(linear("linear", d, d))
            .child(
                ModuleNode::new("norm", "Struct:LayerNorm")
                    .param("gamma", &[d], "f32")
                    .param("beta", &[d], "f32"),
            )
            .child(ModuleNode::new("activation", "Struct:Gelu"))
    }

    /// An MLP: input layer, a `Vec` of `n` identical blocks, output layer.
    fn mlp(n: usize) -> ModuleNode {
        let mut blocks = ModuleNode::new("blocks", "Vec");
        for i in 0..n {
            blocks = blocks.child(block(&i.to_string(), 128));
        }
        ModuleNode::new("", "Struct:Mlp")
            .child(linear("input", 784, 128))
            .child(blocks)
            .child(linear("output", 128, 10))
    }

    fn texts(svg: &Element) -> Vec<String> {
        svg.find("text", None).iter().map(|t| t.text()).collect()
    }

    fn parse(svg: &str) -> Element {
        parse_xml(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"))
    }

    #[test]
    fn num_params_adds_up_a_nested_tree() {
        let block_params = 128 * 128 + 128 + 2 * 128;
        let tree = mlp(3);
        assert_eq!(
            tree.num_params(),
            (784 * 128 + 128) + 3 * block_params + (128 * 10 + 10)
        );
        assert_eq!(tree.children[1].num_params(), 3 * block_params);
        assert_eq!(tree.own_params(), 0);
        assert_eq!(tree.num_modules(), 1 + 1 + 1 + 3 * 4 + 1);
        // A scalar counts one, a zero-sized dimension zero, and own parameters add to the children's.
        let odd = ModuleNode::new("", "Struct:M")
            .param("scale", &[], "f32")
            .param("empty", &[4, 0], "f32")
            .child(ModuleNode::new("a", "Struct:A").param("w", &[2, 3, 4], "f16"));
        assert_eq!(odd.num_params(), 1 + 24);
        assert_eq!(odd.own_params(), 1);
        assert_eq!(ModuleNode::default().num_params(), 0);
    }

    #[test]
    fn group_separates_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(100_480), "100,480");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn the_svg_is_well_formed_and_shows_every_module() {
        let tree = ModuleNode::new("", "Struct:Net")
            .child(linear("fc1", 784, 128))
            .child(
                ModuleNode::new("head", "Enum:Head")
                    .child(linear("proj", 128, 10))
                    .child(ModuleNode::new("dropout", "Struct:Dropout")),
            )
            .param("temperature", &[], "f32");
        let svg = tree.to_svg("alice/net");
        let doc = parse(&svg);
        assert_eq!(doc.name, "svg");
        assert_eq!(doc.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
        assert_eq!(doc.attr("font-family"), Some("monospace"));
        let (w, h) = (doc.num("width"), doc.num("height"));
        assert_eq!(doc.attr("viewBox"), Some(format!("0 0 {w} {h}").as_str()));

        let total = 784 * 128 + 128 + 128 * 10 + 10 + 1;
        assert_eq!(total, 101_771);
        assert_eq!(tree.num_params(), 101_771);
        let all = texts(&doc);
        assert_eq!(all[0], format!("alice/net — {} parameters", group(total)));
        assert_eq!(doc.find("title", None)[0].text(), all[0]);
        assert!(
            all.contains(&"5 modules, 5 parameter tensors".to_string()),
            "{all:?}"
        );
        for header in [
            "alice/net: Net",
            "fc1: Linear",
            "head: Enum:Head",
            "head.proj: Linear",
            "head.dropout: Dropout",
        ] {
            assert!(all.contains(&header.to_string()), "{header} not in {all:?}");
        }
        for line in [
            "temperature [] f32",
            "weight [784, 128] f32",
            "bias [128] f32",
            "weight [128, 10] f32",
            "101,771 params",
            "100,480 params",
            "1,290 params",
            "0 params",
        ] {
            assert!(all.contains(&line.to_string()), "{line} not in {all:?}");
        }
        assert!(!svg.contains("Struct:"));
        // One box per module, one edge per parent-child pair, and no note without a collapsed run.
        assert_eq!(doc.find("rect", Some("box")).len(), 5);
        assert_eq!(doc.find("path", None).len(), 4);
        assert!(doc.find("text", Some("note")).is_empty());
        assert!(doc.find("rect", Some("stack")).is_empty());
    }

    #[test]
    fn hostile_names_are_escaped() {
        let evil = "<script>&\"'";
        let tree = ModuleNode::new("", format!("Struct:{evil}"))
            .child(ModuleNode::new(evil, evil).param(evil, &[2], evil))
            .child(ModuleNode::new("ctl\u{1}", "Struct:X"));
        let svg = tree.to_svg(evil);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;"));
        let doc = parse(&svg);
        let all = texts(&doc);
        assert_eq!(all[0], format!("{evil} — 2 parameters"));
        assert!(all.contains(&format!("{evil}: {evil}")), "{all:?}");
        assert!(all.contains(&format!("{evil}: {evil}")));
        assert!(all.contains(&format!("{evil} [2] {evil}")));
        // A control character, which XML cannot carry at all, is replaced.
        assert!(all.contains(&"ctl\u{FFFD}: X".to_string()), "{all:?}");

        // In Markdown, names are code spans, where nothing is markup.
        let md = tree.to_markdown();
        let rows: Vec<&str> = md.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| (root) | `<script>&\"'` |  | 2 |",
                "| &nbsp;&nbsp;`<script>&\"'` | `<script>&\"'` | `<script>&\"' [2] <script>&\"'` | 2 |",
                "| &nbsp;&nbsp;`ctl\u{FFFD}` | `X` |  | 0 |",
                "| **total** | | | **2** |",
            ]
        );
        // A pipe in a name cannot break the table: every row keeps its 4 cells.
        let piped = ModuleNode::new("", "Struct:M").child(ModuleNode::new("a|b", "Struct:`x`|y"));
        let md = piped.to_markdown();
        for line in md.lines() {
            assert_eq!(line.replace("\\|", "").matches('|').count(), 5, "{line}");
        }
        assert!(md.contains("`a\\|b`"), "{md}");
        assert!(md.contains("`` `x`\\|y ``"), "{md}");
    }

    /// The rectangles of the boxes (with the cards stacked behind them) as drawn, in order.
    fn footprints(doc: &Element) -> Vec<(f64, f64, f64, f64)> {
        doc.find("g", Some("module"))
            .iter()
            .map(|g| {
                let rects = g.find("rect", None);
                let x0 = rects.iter().map(|r| r.num("x")).fold(f64::MAX, f64::min);
                let y0 = rects.iter().map(|r| r.num("y")).fold(f64::MAX, f64::min);
                let x1 = rects
                    .iter()
                    .map(|r| r.num("x") + r.num("width"))
                    .fold(0.0, f64::max);
                let y1 = rects
                    .iter()
                    .map(|r| r.num("y") + r.num("height"))
                    .fold(0.0, f64::max);
                (x0, y0, x1, y1)
            })
            .collect()
    }

    fn check_geometry(tree: &ModuleNode, title: &str) {
        let svg = tree.to_svg(title);
        let doc = parse(&svg);
        let (w, h) = (doc.num("width"), doc.num("height"));
        let boxes = footprints(&doc);
        let lay = layout(tree, title);
        assert_eq!(boxes.len(), lay.boxes.len());
        // Inside the picture, and no two boxes (stacks included) overlap.
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a.0 >= 0.0 && a.1 >= 0.0 && a.2 <= w && a.3 <= h,
                "box {i} {a:?} outside {w}x{h}"
            );
            for (j, b) in boxes.iter().enumerate().skip(i + 1) {
                let apart = a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1;
                assert!(apart, "boxes {i} {a:?} and {j} {b:?} overlap");
            }
        }
        // Every line of text fits its box, by the same per-character estimate; texts outside
        // boxes (title, note) fit the picture.
        for (g, b) in doc.find("g", Some("module")).iter().zip(&boxes) {
            let front = g.find("rect", Some("box"))[0];
            let right = front.num("x") + front.num("width");
            for t in g.find("text", None) {
                let size = t.attr("font-size").map_or(TEXT_SIZE, |s| s.parse().unwrap());
                let end = t.num("x") + text_width(&t.text(), size) as f64;
                assert!(end <= right, "{:?} overflows its box ({end} > {right})", t.text());
                let y = t.num("y");
                assert!(
                    y - size >= b.1 && y + 4.0 <= front.num("y") + front.num("height"),
                    "{:?}",
                    t.text()
                );
            }
        }
        for t in doc.find("text", None) {
            let size = t.attr("font-size").map_or(TEXT_SIZE, |s| s.parse().unwrap());
            assert!(
                t.num("x") + text_width(&t.text(), size) as f64 <= w,
                "{:?} overflows",
                t.text()
            );
            assert!(t.num("y") <= h);
        }
        // Each child is below its parent, and an edge runs from the parent's bottom edge to the
        // child's left side.
        let paths = doc.find("path", None);
        let edges: Vec<_> = lay
            .boxes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.parent.map(|p| (p, i)))
            .collect();
        assert_eq!(paths.len(), edges.len());
        for ((parent, child), path) in edges.iter().zip(&paths) {
            let (p, c) = (boxes[*parent], boxes[*child]);
            assert!(c.1 >= p.3, "child {child} {c:?} not below parent {parent} {p:?}");
            let d: Vec<f64> = path
                .attr("d")
                .unwrap()
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            let [x0, y0, y1, x1] = d[..] else { panic!("{d:?}") };
            assert!(
                x0 > p.0 && x0 < p.2 && y0 == p.3,
                "edge {d:?} does not start at the bottom of {p:?}"
            );
            assert!(
                x1 == c.0 && y1 > c.1 && y1 < c.3,
                "edge {d:?} does not end at the left of {c:?}"
            );
        }
    }

    #[test]
    fn boxes_do_not_overlap_and_children_are_below_their_parents() {
        check_geometry(&mlp(3), "alice/mlp");
        check_geometry(
            &mlp(24),
            "a much longer title than any box in the picture, to widen it",
        );
        check_geometry(&ModuleNode::default(), "");
        // Wide text: CJK names take two cells.
        let wide = ModuleNode::new("", "Struct:M")
            .child(linear("全连接层全连接层全连接层", 1, 1))
            .child(mlp(2));
        check_geometry(&wide, "模型");
        assert_eq!(text_width("全连", 10.0), text_width("abcd", 10.0));
        // Collapsed runs inside collapsed runs, and a run broken by a different block.
        let mut outer = ModuleNode::new("stages", "Vec");
        for i in 0..3 {
            outer = outer.child(mlp(4).tap_name(&i.to_string()));
        }
        let mut blocks = ModuleNode::new("blocks", "Vec");
        for i in 0..6 {
            blocks = blocks.child(block(&i.to_string(), if i == 2 { 64 } else { 128 }));
        }
        check_geometry(
            &ModuleNode::new("", "Struct:Deep").child(outer).child(blocks),
            "deep",
        );
    }

    impl ModuleNode {
        fn tap_name(mut self, name: &str) -> Self {
            self.name = name.to_string();
            self
        }
    }

    #[test]
    fn identical_vec_items_are_collapsed_and_different_ones_are_not() {
        let tree = mlp(24);
        let doc = parse(&tree.to_svg("gpt"));
        let all = texts(&doc);
        let each = 128 * 128 + 128 + 2 * 128;
        assert!(all.contains(&"blocks.0..23: Block ×24".to_string()), "{all:?}");
        assert!(all.contains(&format!("24 × {} = {} params", group(each), group(24 * each))));
        assert!(all.contains(&"blocks.0..23.linear: Linear".to_string()));
        assert!(all.contains(&"16,512 params each".to_string()), "{all:?}");
        assert!(!all.iter().any(|t| t.starts_with("blocks.1")));
        // Root, input, blocks, the run, its 3 children, output.
        assert_eq!(doc.find("rect", Some("box")).len(), 8);
        assert_eq!(doc.find("rect", Some("stack")).len(), 2);
        let note = doc.find("text", Some("note"));
        assert_eq!(note.len(), 1);
        assert!(note[0].text().starts_with("×N: N identical"));

        // Block 2 differs: runs 0..1, 2, 3..5.
        let mut blocks = ModuleNode::new("blocks", "Vec");
        for i in 0..6 {
            blocks = blocks.child(block(&i.to_string(), if i == 2 { 64 } else { 128 }));
        }
        let all = texts(&parse(&ModuleNode::new("", "Struct:M").child(blocks).to_svg("m")));
        for header in [
            "blocks.0..1: Block ×2",
            "blocks.2: Block",
            "blocks.3..5: Block ×3",
        ] {
            assert!(all.contains(&header.to_string()), "{header} not in {all:?}");
        }
        assert!(all.contains(&"blocks.2.linear: Linear".to_string()));
        assert!(all.contains(&"4,160 params".to_string()), "{all:?}");

        // Identical struct fields, and numbered items out of order, are not collapsed.
        let fields = ModuleNode::new("", "Struct:Attention")
            .child(linear("q", 8, 8))
            .child(linear("k", 8, 8))
            .child(linear("v", 8, 8))
            .child(
                ModuleNode::new("heads", "Vec")
                    .child(linear("0", 8, 8))
                    .child(linear("2", 8, 8)),
            )
            .child(
                ModuleNode::new("padded", "Vec")
                    .child(linear("01", 8, 8))
                    .child(linear("02", 8, 8)),
            );
        let doc = parse(&fields.to_svg("attn"));
        assert_eq!(doc.find("rect", Some("box")).len(), 10);
        assert!(doc.find("rect", Some("stack")).is_empty());
        assert!(doc.find("text", Some("note")).is_empty());

        // Runs nest: three identical stages of four identical blocks.
        let mut stages = ModuleNode::new("stages", "Vec");
        for i in 0..3 {
            stages = stages.child(mlp(4).tap_name(&i.to_string()));
        }
        let all = texts(&parse(
            &ModuleNode::new("", "Struct:Deep").child(stages).to_svg("deep"),
        ));
        assert!(all.contains(&"stages.0..2: Mlp ×3".to_string()), "{all:?}");
        assert!(
            all.contains(&"stages.0..2.blocks.0..3: Block ×4".to_string()),
            "{all:?}"
        );
        assert!(
            all.contains(&format!("4 × {} = {} params each", group(each), group(4 * each))),
            "{all:?}"
        );
    }

    #[test]
    fn the_output_is_deterministic() {
        let tree = mlp(5);
        let svg = tree.to_svg("alice/mlp");
        assert_eq!(svg, tree.clone().to_svg("alice/mlp"));
        assert_eq!(svg, mlp(5).to_svg("alice/mlp"));
        assert_eq!(tree.to_markdown(), mlp(5).to_markdown());
        // ... and depends on the tree and the title.
        assert_ne!(svg, tree.to_svg("bob/mlp"));
        assert_ne!(svg, mlp(6).to_svg("alice/mlp"));
    }

    #[test]
    fn an_empty_module_is_one_box() {
        let empty = ModuleNode::default();
        assert_eq!(empty.num_params(), 0);
        assert_eq!(empty.num_modules(), 1);
        let svg = empty.to_svg("");
        let doc = parse(&svg);
        assert_eq!(doc.find("rect", Some("box")).len(), 1);
        assert!(doc.find("path", None).is_empty());
        assert_eq!(
            texts(&doc),
            [
                "0 parameters",
                "1 module, 0 parameter tensors",
                "(model)",
                "0 params"
            ]
        );
        assert_eq!(
            empty.to_markdown(),
            "| module | type | parameters | count |\n|:-------|:-----|:-----------|------:|\n\
             | (root) |  |  | 0 |\n| **total** | | | **0** |\n"
        );
        let unit = ModuleNode::new("", "Struct:Relu");
        assert_eq!(texts(&parse(&unit.to_svg("relu")))[2], "relu: Relu");
    }

    #[test]
    fn the_markdown_table_has_a_row_per_module_and_the_total() {
        let tree = mlp(3);
        let md = tree.to_markdown();
        let lines: Vec<&str> = md.lines().collect();
        let each = 128 * 128 + 128 + 2 * 128;
        let expected = [
            "| module | type | parameters | count |",
            "|:-------|:-----|:-----------|------:|",
            "| (root) | `Mlp` |  | 152,074 |",
            "| &nbsp;&nbsp;`input` | `Linear` | `weight [784, 128] f32`<br>`bias [128] f32` | 100,480 |",
            "| &nbsp;&nbsp;`blocks` | `Vec` |  | 50,304 |",
            "| &nbsp;&nbsp;&nbsp;&nbsp;`blocks.0..2` | `Block ×3` |  | 50,304 (3 × 16,768) |",
            "| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;`blocks.0..2.linear` | `Linear` | `weight [128, 128] f32`<br>`bias [128] f32` | 16,512 each |",
            "| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;`blocks.0..2.norm` | `LayerNorm` | `gamma [128] f32`<br>`beta [128] f32` | 256 each |",
            "| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;`blocks.0..2.activation` | `Gelu` |  | 0 each |",
            "| &nbsp;&nbsp;`output` | `Linear` | `weight [128, 10] f32`<br>`bias [10] f32` | 1,290 |",
            "| **total** | | | **152,074** |",
        ];
        assert_eq!(lines, expected, "\n{md}");
        assert_eq!(each, 16_768);
        assert_eq!(tree.num_params(), 152_074);
    }

    /// Writes an example picture to `$PLOT_EXAMPLE` (default `/tmp/plot-example.svg`), to look at:
    /// `cargo test -p hubmix --lib plot::tests::write_example -- --ignored`.
    #[test]
    #[ignore]
    fn write_example() {
        let path = std::env::var("PLOT_EXAMPLE").unwrap_or_else(|_| "/tmp/plot-example.svg".to_string());
        let tree = mlp(3);
        std::fs::write(&path, tree.to_svg("alice/mlp")).unwrap();
        let md = path.replace(".svg", ".md");
        std::fs::write(md, tree.to_markdown()).unwrap();
        let mut deep = mlp(24);
        deep.children[1].children[7].children[0].params[0].shape = vec![128, 64];
        std::fs::write(path.replace(".svg", "-deep.svg"), deep.to_svg("alice/deep-mlp")).unwrap();
    }
}
