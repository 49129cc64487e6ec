//! Output conventions, as `hf` has them: `--format {auto,human,agent,json,quiet}` (and `--json`,
//! `-q/--quiet`), results on stdout, warnings, errors and hints on stderr.
//!
//! | what | human | agent | json | quiet |
//! |---|---|---|---|---|
//! | [`Output::text`] | the text | the text | nothing | nothing |
//! | [`Output::result`] | `✓ title`, then `  key: value` lines | `key=value …` | a JSON object | the first value |
//! | [`Output::table`] | a padded table | tab-separated | a JSON list | the first column |
//! | [`Output::info`] | stderr | stderr | stderr | nothing |
//! | [`Output::hint`] | `Hint: …` | `Hint: …` | `Hint: …` | nothing |
//!
//! A deliberate difference from `hf`: colours only go to a terminal (and never with `NO_COLOR`),
//! and progress bars only show on a terminal, in human mode. `hf` colours piped output too.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::error::CliError;

/// The `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// `human`, or `agent` when an AI agent runs the command (`AI_AGENT` or `AGENT` is set).
    Auto,
    /// Text and tables for people.
    Human,
    /// Plain text for AI agents: no colour, `key=value` results, tab-separated tables.
    Agent,
    /// JSON on stdout.
    Json,
    /// Only the essential value (a path, a URL, an id); no progress bars.
    Quiet,
}

/// The formatting options every command takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct FormatArgs {
    /// Output format.
    #[arg(long, global = true, value_enum, help_heading = "Formatting options")]
    format: Option<Format>,
    /// Same as --format json.
    #[arg(long, global = true, help_heading = "Formatting options")]
    json: bool,
    /// Same as --format quiet: print only the essential value (a path, a URL).
    #[arg(short, long, global = true, help_heading = "Formatting options")]
    quiet: bool,
    /// Do not cut table cells to the terminal's width.
    #[arg(long, global = true, help_heading = "Formatting options")]
    no_truncate: bool,
}

/// The resolved output mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// See [`Format::Human`].
    Human,
    /// See [`Format::Agent`].
    Agent,
    /// See [`Format::Json`].
    Json,
    /// See [`Format::Quiet`].
    Quiet,
}

/// Where a command writes.
#[derive(Debug)]
pub(crate) struct Output {
    mode: Mode,
    color_out: bool,
    color_err: bool,
    no_truncate: bool,
}

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const GRAY: &str = "\x1b[90m";
const BOLD_RED: &str = "\x1b[1m\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Whether `NO_COLOR` asks for no colour (set and not empty, as <https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Output {
    /// The output of these options; two formats at once is a usage error (its message).
    pub(crate) fn new(args: &FormatArgs) -> Result<Self, String> {
        let given: Vec<(&str, Format)> = [
            (
                args.format.is_some(),
                "--format",
                args.format.unwrap_or(Format::Auto),
            ),
            (args.json, "--json", Format::Json),
            (args.quiet, "-q", Format::Quiet),
        ]
        .into_iter()
        .filter(|(on, ..)| *on)
        .map(|(_, name, format)| (name, format))
        .collect();
        if let [(a, _), (b, _), ..] = given.as_slice() {
            return Err(format!("'{a}' and '{b}' are mutually exclusive."));
        }
        let format = given.first().map_or(Format::Auto, |(_, f)| *f);
        let agent = ["AI_AGENT", "AGENT"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
        let mode = match format {
            Format::Auto if agent => Mode::Agent,
            Format::Auto | Format::Human => Mode::Human,
            Format::Agent => Mode::Agent,
            Format::Json => Mode::Json,
            Format::Quiet => Mode::Quiet,
        };
        let color = mode == Mode::Human && !no_color();
        Ok(Output {
            mode,
            color_out: color && std::io::stdout().is_terminal(),
            color_err: color && std::io::stderr().is_terminal(),
            no_truncate: args.no_truncate,
        })
    }

    /// The mode in force.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// Progress bars for the client: off except in human mode; there, on a terminal only
    /// (`None`), and `HF_HUB_DISABLE_PROGRESS_BARS` decides when set.
    pub(crate) fn progress_bars(&self, from_env: Option<bool>) -> Option<bool> {
        if self.mode == Mode::Human {
            from_env
        } else {
            Some(false)
        }
    }

    fn paint(&self, on: bool, color: &str, text: &str) -> String {
        if on {
            format!("{color}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// A line on stdout in human and agent mode.
    pub(crate) fn text(&self, text: &str) {
        if matches!(self.mode, Mode::Human | Mode::Agent) {
            stdout_line(text);
        }
    }

    /// [`Output::text`] in bold (on a terminal, in human mode).
    pub(crate) fn bold_text(&self, text: &str) {
        self.text(&self.paint(self.color_out, BOLD, text));
    }

    /// A line on stdout in every mode (what `hf` prints with `print`).
    pub(crate) fn raw(&self, text: &str) {
        stdout_line(text);
    }

    /// A success with named values (`None` values are left out, except in JSON).
    pub(crate) fn result(&self, title: &str, values: &[(&str, Value)]) {
        match self.mode {
            Mode::Human => {
                stdout_line(&self.paint(self.color_out, GREEN, &format!("✓ {title}")));
                for (key, value) in values.iter().filter(|(_, v)| !v.is_null()) {
                    stdout_line(&format!("  {key}: {}", python_str(value)));
                }
            }
            Mode::Agent => {
                let pairs: Vec<String> = values
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{k}={}", python_str(v)))
                    .collect();
                stdout_line(&if pairs.is_empty() {
                    title.to_owned()
                } else {
                    pairs.join(" ")
                });
            }
            Mode::Json => {
                let object: Vec<(String, Value)> =
                    values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
                stdout_line(&python_json_object(&object));
            }
            Mode::Quiet => {
                if let Some((_, value)) = values.first() {
                    stdout_line(&python_str(value));
                }
            }
        }
    }

    /// Rows under `headers` (JSON keys). Human: a padded table, headers in capitals, columns of
    /// numbers right-aligned, cut to the terminal's width unless `--no-truncate`.
    pub(crate) fn table(&self, headers: &[&str], rows: &[Vec<Value>]) {
        self.table_aligned(headers, rows, &[]);
    }

    /// [`Output::table`], with the columns named in `right` right-aligned in human mode.
    pub(crate) fn table_aligned(&self, headers: &[&str], rows: &[Vec<Value>], right: &[&str]) {
        match self.mode {
            Mode::Json => {
                let items: Vec<String> = rows
                    .iter()
                    .map(|row| {
                        let object: Vec<(String, Value)> = headers
                            .iter()
                            .zip(row)
                            .map(|(k, v)| ((*k).to_owned(), v.clone()))
                            .collect();
                        python_json_object(&object)
                    })
                    .collect();
                stdout_line(&format!("[{}]", items.join(", ")));
            }
            Mode::Quiet => {
                for row in rows {
                    if let Some(first) = row.first() {
                        stdout_line(&python_str(first));
                    }
                }
            }
            _ if rows.is_empty() => stdout_line("No results found."),
            Mode::Agent => {
                stdout_line(&headers.join("\t"));
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|v| python_str(v).escape_debug().to_string())
                        .collect();
                    stdout_line(&cells.join("\t"));
                }
            }
            Mode::Human => {
                let upper: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
                let mut cells: Vec<Vec<String>> =
                    rows.iter().map(|r| r.iter().map(human_cell).collect()).collect();
                let right: Vec<bool> = (0..headers.len())
                    .map(|c| {
                        right.contains(&headers[c])
                            || rows.iter().all(|r| r.get(c).is_some_and(Value::is_number))
                    })
                    .collect();
                let cut = !self.no_truncate && truncate(&upper, &mut cells, terminal_width());
                stdout_line(&tabulate(&upper, &cells, &right));
                if cut {
                    self.hint("Use `--no-truncate` or `--format json` to display full values.");
                }
            }
        }
    }

    /// Asks `question [y/N]: ` on stderr and reads the answer from stdin (human mode; `yes`
    /// skips it). Anything but `y` / `yes`, or the end of the input, is [`CliError::Aborted`];
    /// in the other modes, without `yes`, an error that names `--yes`.
    pub(crate) fn confirm(&self, question: &str, yes: bool) -> Result<(), CliError> {
        if yes {
            return Ok(());
        }
        if self.mode != Mode::Human {
            return Err(CliError::failed(
                format!("{question} Use --yes to skip confirmation."),
                "Pass --yes (-y) to confirm without a prompt.",
            ));
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N]: ");
        let _ = err.flush();
        let mut answer = String::new();
        let read = std::io::BufRead::read_line(
            &mut std::io::Read::take(std::io::stdin().lock(), 1024),
            &mut answer,
        );
        match (read, answer.trim().to_ascii_lowercase().as_str()) {
            (Ok(n), "y" | "yes") if n > 0 => Ok(()),
            _ => Err(CliError::Aborted),
        }
    }

    /// A line on stderr, as `huggingface_hub`'s log lines (every mode but quiet).
    pub(crate) fn info(&self, text: &str) {
        if self.mode != Mode::Quiet {
            stderr_line(text);
        }
    }

    /// `Warning: …` on stderr.
    pub(crate) fn warning(&self, text: &str) {
        stderr_line(&self.paint(self.color_err, YELLOW, &format!("Warning: {text}")));
    }

    /// `Error: …` on stderr.
    pub(crate) fn error(&self, text: &str) {
        stderr_line(&self.paint(self.color_err, BOLD_RED, &format!("Error: {text}")));
    }

    /// `Hint: …` on stderr (not in quiet mode).
    pub(crate) fn hint(&self, text: &str) {
        if self.mode != Mode::Quiet {
            stderr_line(&self.paint(self.color_err, GRAY, &format!("Hint: {text}")));
        }
    }
}

/// Writes a line to stdout; a closed pipe (`hubmix … | head`) is not an error worth a panic.
fn stdout_line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn stderr_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Python's `str()` of a JSON value: strings bare, `True` / `False` / `None`, numbers as they
/// are, lists and objects as JSON.
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => python_json(other),
    }
}

/// A cell of a human table: nothing for null and false, `✔` for true, dates cut to the day,
/// lists joined with `, `.
fn human_cell(value: &Value) -> String {
    match value {
        Value::Null | Value::Bool(false) => String::new(),
        Value::Bool(true) => "✔".into(),
        Value::String(s) if is_timestamp(s) => s.chars().take(10).collect(),
        Value::Array(items) => items.iter().map(python_str).collect::<Vec<_>>().join(", "),
        Value::Object(map) => match map.get("name") {
            Some(name) => python_str(name),
            None => python_json(value),
        },
        other => python_str(other),
    }
}

/// `^\d{4}-\d{2}-\d{2}T`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[10] == b'T'
}

/// `hf`'s `tabulate`: cells padded to the column's width (the last too), one space between
/// columns, a rule of `-` under the headers.
pub(crate) fn tabulate<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>], right: &[bool]) -> String {
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(c, h)| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .chain([width(h.as_ref())])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = " ".repeat(widths[c].saturating_sub(width(s)));
                if right.get(c).copied().unwrap_or(false) {
                    format!("{pad}{s}")
                } else {
                    format!("{s}{pad}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![line(headers.iter().map(AsRef::as_ref).collect())];
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    lines.push(line(rules.iter().map(String::as_str).collect()));
    for row in rows {
        lines.push(line(row.iter().map(String::as_str).collect()));
    }
    lines.join("\n")
}

/// Shrinks the widest columns (never below their header, nor 4) until the table fits `max`
/// characters; cut cells end in `...`. Returns whether a cell was cut.
fn truncate(headers: &[String], rows: &mut [Vec<String>], max: usize) -> bool {
    let count = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(c, h)| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| count(s))
                .chain([count(h)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let floor: Vec<usize> = headers.iter().map(|h| count(h).max(4)).collect();
    let total = |w: &[usize]| w.iter().sum::<usize>() + w.len().saturating_sub(1);
    let mut cut = false;
    while total(&widths) > max {
        let Some((c, _)) = widths
            .iter()
            .enumerate()
            .filter(|(c, w)| **w > floor[*c])
            .max_by_key(|(_, w)| **w)
        else {
            break;
        };
        widths[c] -= 1;
        cut = true;
    }
    if !cut {
        return false;
    }
    for row in rows.iter_mut() {
        for (c, cell) in row.iter_mut().enumerate() {
            if count(cell) > widths[c] {
                let keep = widths[c].saturating_sub(3);
                *cell = format!("{}...", cell.chars().take(keep).collect::<String>());
            }
        }
    }
    true
}

/// `$COLUMNS`, else the terminal's width, else 80 (as Python's `shutil.get_terminal_size`).
fn terminal_width() -> usize {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|c| *c > 0)
    {
        return columns;
    }
    #[cfg(unix)]
    if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stdout())
        && size.ws_col > 0
    {
        return usize::from(size.ws_col);
    }
    80
}

/// `json.dumps(value)` as Python writes it: `", "` and `": "` separators, non-ASCII escaped.
pub(crate) fn python_json(value: &Value) -> String {
    match value {
        Value::String(s) => python_json_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => {
            let object: Vec<(String, Value)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            python_json_object(&object)
        }
        other => other.to_string(),
    }
}

/// `json.dumps(value, indent=indent)` as Python writes it: one item per line, `": "` between
/// keys and values, non-ASCII escaped; `[]` and `{}` for empty ones.
pub(crate) fn python_json_pretty(value: &Value, indent: usize) -> String {
    fn write(value: &Value, indent: usize, depth: usize, out: &mut String) {
        let pad = |n: usize| " ".repeat(indent * n);
        match value {
            Value::Array(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(depth + 1));
                    write(item, indent, depth + 1, out);
                }
                out.push('\n');
                out.push_str(&pad(depth));
                out.push(']');
            }
            Value::Object(map) if !map.is_empty() => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(depth + 1));
                    out.push_str(&python_json_string(key));
                    out.push_str(": ");
                    write(item, indent, depth + 1, out);
                }
                out.push('\n');
                out.push_str(&pad(depth));
                out.push('}');
            }
            other => out.push_str(&python_json(other)),
        }
    }
    let mut out = String::new();
    write(value, indent, 0, &mut out);
    out
}

/// An object in the given key order, as [`python_json`] writes it.
fn python_json_object(object: &[(String, Value)]) -> String {
    let fields: Vec<String> = object
        .iter()
        .map(|(k, v)| format!("{}: {}", python_json_string(k), python_json(v)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// A JSON string with Python's `ensure_ascii` escapes (`\u00e9`, surrogate pairs above the BMP).
fn python_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_is_written_as_python_writes_it() {
        let v = json!({"a": [1, true, null], "b": "é😀\"\n"});
        assert_eq!(
            python_json(&v),
            r#"{"a": [1, true, null], "b": "\u00e9\ud83d\ude00\"\n"}"#
        );
        assert_eq!(python_str(&json!(true)), "True");
        assert_eq!(
            python_json_pretty(&json!({"a": [1, {}], "b": []}), 2),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"
        );
        assert_eq!(python_str(&json!("x")), "x");
    }

    #[test]
    fn tables_pad_every_cell_and_cut_the_widest_column() {
        let rows = vec![
            vec!["*".to_owned(), "alice-tok".to_owned(), "hf_****0000".to_owned()],
            vec![String::new(), "bob".to_owned(), "hf_****1111".to_owned()],
        ];
        assert_eq!(
            tabulate(&[" ", "name", "token"], &rows, &[false, false, false]),
            "  name      token      \n- --------- -----------\n* alice-tok hf_****0000\n  bob       hf_****1111"
        );
        let mut cells = vec![vec!["a".repeat(30), "b".to_owned()]];
        assert!(truncate(&["FILE".to_owned(), "SIZE".to_owned()], &mut cells, 20));
        assert_eq!(cells[0][0], format!("{}...", "a".repeat(12)));
        assert!(!truncate(
            &["FILE".to_owned()],
            &mut [vec!["short".to_owned()]],
            20
        ));
        assert_eq!(
            human_cell(&json!("2026-12-03T15:35:07.046000+00:00")),
            "2026-12-03"
        );
        assert_eq!(human_cell(&json!(["main", "refs/pr/1"])), "main, refs/pr/1");
    }
}
