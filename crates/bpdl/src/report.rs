//! Reports as a small document model rendered twice: Markdown (`report.md`, images linked) and a
//! self-contained HTML page (`report.html`: sample grids embedded as PNG data URIs, line charts
//! inlined as SVG, a table of contents linking to heading anchors).
//!
//! Text in paragraphs, list items, table cells, captions and headings is Markdown: in HTML its
//! inline code, emphasis, bold and links are rendered by `pulldown-cmark` (a maintained
//! CommonMark parser, so nesting and escaping follow the spec), and everything else is escaped,
//! raw HTML included. Text that would parse as more than one
//! paragraph of inline Markdown (a list marker, a heading mark) is shown literally.
//!
//! Heading anchors follow GitHub's rule (lower case; letters, digits, `_`, `-` and spaces kept;
//! spaces become `-`; a repeated anchor gets `-1`, `-2`, …), so the table of contents links
//! the same headings in `report.md` on GitHub and in `report.html`.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::error::{Error, Result};
use crate::run::write_atomic;

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1–3 (inline Markdown).
    Heading(u8, String),
    /// A paragraph of inline Markdown (`` `code` ``, `**bold**`, `*emphasis*`, `[link](target)`).
    Paragraph(String),
    /// A bulleted list; each item is inline Markdown.
    List(Vec<String>),
    /// A table: header row, then rows; each cell is inline Markdown.
    Table(Vec<String>, Vec<Vec<String>>),
    /// An image file (relative to the report) with a caption: linked in Markdown, embedded as
    /// a data URI in HTML.
    Image(String, String),
    /// One figure of one or more line charts, each given by its file stem relative to the
    /// report (`STEM.png` and `STEM.svg`, as [`crate::figures::LineChart::save`] writes them),
    /// with a caption: the PNGs are linked in Markdown, the SVGs inlined in HTML.
    Chart(Vec<String>, String),
    /// Preformatted text with a language tag.
    Code(String, String),
    /// The table of contents: a link to every heading of level 2 and 3.
    Contents,
}

/// A report under construction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

/// A heading as the table of contents lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Its level (1–3).
    pub level: u8,
    /// Its text (inline Markdown).
    pub text: String,
    /// Its anchor (`id` in HTML), unique in the report.
    pub id: String,
}

impl Report {
    /// Appends a block.
    pub fn push(&mut self, b: Block) -> &mut Self {
        self.blocks.push(b);
        self
    }

    /// Every heading in order, with its unique anchor.
    pub fn anchors(&self) -> Vec<Anchor> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading(level, text) => Some((*level, text)),
                _ => None,
            })
            .map(|(level, text)| {
                let base = slug(&plain_text(text));
                let n = seen.entry(base.clone()).or_insert(0);
                let id = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                *n += 1;
                Anchor {
                    level,
                    text: text.clone(),
                    id,
                }
            })
            .collect()
    }

    /// The file names (relative to the report) of every image and chart it shows: `.png` for
    /// images, `.png` and `.svg` for each chart.
    pub fn files(&self) -> Vec<String> {
        self.blocks
            .iter()
            .flat_map(|b| match b {
                Block::Image(file, _) => vec![file.clone()],
                Block::Chart(stems, _) => stems
                    .iter()
                    .flat_map(|s| [format!("{s}.png"), format!("{s}.svg")])
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Markdown.
    pub fn markdown(&self) -> String {
        let anchors = self.anchors();
        let mut out = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(level, text) => {
                    out.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(*level))));
                }
                Block::Paragraph(text) => out.push_str(&format!("{text}\n\n")),
                Block::List(items) => {
                    for i in items {
                        out.push_str(&format!("- {i}\n"));
                    }
                    out.push('\n');
                }
                Block::Table(head, rows) => {
                    let row = |cells: &[String]| {
                        let cells: Vec<String> =
                            cells.iter().map(|c| c.replace('|', "\\|")).collect();
                        format!("| {} |\n", cells.join(" | "))
                    };
                    out.push_str(&row(head));
                    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                    for r in rows {
                        out.push_str(&row(r));
                    }
                    out.push('\n');
                }
                Block::Image(file, caption) => {
                    out.push_str(&format!("![{caption}]({file})\n\n*{caption}*\n\n"));
                }
                Block::Chart(stems, caption) => {
                    for s in stems {
                        out.push_str(&format!("![{caption}]({s}.png)\n"));
                    }
                    out.push_str(&format!("\n*{caption}*\n\n"));
                }
                Block::Code(lang, text) => {
                    out.push_str(&format!("```{lang}\n{}\n```\n\n", text.trim_end()));
                }
                Block::Contents => {
                    for a in anchors.iter().filter(|a| a.level >= 2) {
                        let indent = "  ".repeat(usize::from(a.level.saturating_sub(2)));
                        out.push_str(&format!("{indent}- [{}](#{})\n", a.text, a.id));
                    }
                    out.push('\n');
                }
            }
        }
        out
    }

    /// A self-contained HTML page; images and charts are read from `dir` and embedded (an
    /// error names the first one missing).
    pub fn html(&self, title: &str, dir: &Path) -> Result<String> {
        let anchors = self.anchors();
        let mut next_anchor = anchors.iter();
        let mut body = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(level, text) => {
                    let id = next_anchor.next().map_or("", |a| a.id.as_str());
                    let id = escape(id);
                    body.push_str(&format!(
                        "<h{level} id=\"{id}\">{} <a class=\"anchor\" href=\"#{id}\" \
                         aria-label=\"link to this section\">#</a></h{level}>\n",
                        inline_html(text)
                    ));
                }
                Block::Paragraph(text) => {
                    body.push_str(&format!("<p>{}</p>\n", inline_html(text)));
                }
                Block::List(items) => {
                    body.push_str("<ul>\n");
                    for i in items {
                        body.push_str(&format!("<li>{}</li>\n", inline_html(i)));
                    }
                    body.push_str("</ul>\n");
                }
                Block::Table(head, rows) => {
                    body.push_str("<table>\n<tr>");
                    for h in head {
                        body.push_str(&format!("<th>{}</th>", inline_html(h)));
                    }
                    body.push_str("</tr>\n");
                    for r in rows {
                        body.push_str("<tr>");
                        for c in r {
                            body.push_str(&format!("<td>{}</td>", inline_html(c)));
                        }
                        body.push_str("</tr>\n");
                    }
                    body.push_str("</table>\n");
                }
                Block::Image(file, caption) => {
                    let path = dir.join(file);
                    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
                    let mime = if file.ends_with(".svg") {
                        "image/svg+xml"
                    } else {
                        "image/png"
                    };
                    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                    body.push_str(&format!(
                        "<figure><img alt=\"{}\" src=\"data:{mime};base64,{data}\"><figcaption>{}</figcaption></figure>\n",
                        escape(&plain_text(caption)),
                        inline_html(caption)
                    ));
                }
                Block::Chart(stems, caption) => {
                    body.push_str("<figure>");
                    for s in stems {
                        body.push_str(&inline_svg(&dir.join(format!("{s}.svg")), caption)?);
                    }
                    body.push_str(&format!(
                        "<figcaption>{}</figcaption></figure>\n",
                        inline_html(caption)
                    ));
                }
                Block::Code(_, text) => {
                    body.push_str(&format!("<pre>{}</pre>\n", escape(text)));
                }
                Block::Contents => {
                    body.push_str("<nav class=\"toc\"><strong>Contents</strong>\n<ul>\n");
                    for a in anchors.iter().filter(|a| a.level >= 2) {
                        body.push_str(&format!(
                            "<li class=\"toc{}\"><a href=\"#{}\">{}</a></li>\n",
                            a.level,
                            escape(&a.id),
                            inline_html(&a.text)
                        ));
                    }
                    body.push_str("</ul></nav>\n");
                }
            }
        }
        Ok(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\n<style>\
             body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}}\
             table{{border-collapse:collapse;display:block;overflow-x:auto}}\
             td,th{{border:1px solid #bbb;padding:.25em .6em;text-align:left}}\
             th{{background:#f0f0f0}}img,svg{{max-width:100%;height:auto}}figure{{margin:1em 0}}\
             figcaption{{font-style:italic}}code{{background:#f3f3f3;padding:0 .2em}}\
             pre{{background:#f6f6f6;padding:.8em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}}\
             a.anchor{{color:#bbb;text-decoration:none;font-weight:normal;font-size:.8em}}\
             nav.toc{{background:#fafafa;border:1px solid #ddd;padding:.5em 1em;display:inline-block}}\
             nav.toc ul{{margin:.3em 0;padding-left:1.2em}}li.toc3{{margin-left:1.2em}}</style></head>\n\
             <body>\n{body}</body></html>\n",
            escape(title)
        ))
    }

    /// Writes `report.md` and `report.html` into `dir`, atomically.
    pub fn write(&self, dir: &Path, title: &str) -> Result<()> {
        write_atomic(&dir.join("report.md"), self.markdown().as_bytes())?;
        write_atomic(&dir.join("report.html"), self.html(title, dir)?.as_bytes())
    }
}

/// Whether an event may stand inside a paragraph of the report (no images: the report embeds
/// its own).
fn is_inline(e: &Event) -> bool {
    match e {
        Event::Text(_)
        | Event::Code(_)
        | Event::SoftBreak
        | Event::HardBreak
        | Event::InlineHtml(_)
        | Event::Html(_) => true,
        Event::Start(t) => matches!(
            t,
            Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. }
        ),
        Event::End(t) => matches!(
            t,
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link
        ),
        _ => false,
    }
}

/// `text` (inline Markdown) as HTML: code, emphasis, bold and links rendered; everything else,
/// raw HTML included, escaped. Text that is not one paragraph of inline Markdown is escaped
/// whole.
pub fn inline_html(text: &str) -> String {
    let events: Vec<Event> = Parser::new(text).collect();
    let inner = match events.as_slice() {
        [] => return String::new(),
        [
            Event::Start(Tag::Paragraph),
            inner @ ..,
            Event::End(TagEnd::Paragraph),
        ] if inner.iter().all(is_inline) => inner,
        _ => return escape(text),
    };
    let mut out = String::new();
    pulldown_cmark::html::push_html(
        &mut out,
        inner.iter().cloned().map(|e| match e {
            // raw HTML is shown, never interpreted
            Event::InlineHtml(s) | Event::Html(s) => Event::Text(s),
            e => e,
        }),
    );
    out
}

/// The text of inline Markdown without its markup (the words of code spans and links kept).
pub fn plain_text(text: &str) -> String {
    Parser::new(text)
        .filter_map(|e| match e {
            Event::Text(s) | Event::Code(s) | Event::InlineHtml(s) | Event::Html(s) => {
                Some(s.to_string())
            }
            Event::SoftBreak | Event::HardBreak => Some(" ".into()),
            _ => None,
        })
        .collect()
}

/// GitHub's heading anchor of plain text: lower case, only letters, digits, `_`, `-` and
/// spaces kept, each space made `-`.
pub fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The `<svg>` element of an SVG file (its XML prolog dropped), labelled with `caption`.
fn inline_svg(path: &Path, caption: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
    let mut rest = text.trim_start();
    if rest.starts_with("<?xml") {
        rest = rest.find("?>").map_or("", |i| &rest[i + 2..]).trim_start();
    }
    let Some(attributes) = rest.strip_prefix("<svg") else {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            problem: "not an SVG image (no <svg> element at its start)".into(),
            hint: "run the reproduction again to rewrite its figures".into(),
        });
    };
    Ok(format!(
        "<svg role=\"img\" aria-label=\"{}\"{}",
        escape(&plain_text(caption)),
        attributes.trim_end()
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_html_carry_the_same_table() {
        let mut r = Report::default();
        r.push(Block::Heading(1, "T".into())).push(Block::Table(
            vec!["a".into(), "b".into()],
            vec![
                vec!["1".into(), "<2>".into()],
                vec!["x|y".into(), "z".into()],
            ],
        ));
        let md = r.markdown();
        assert!(md.contains("| a | b |\n|---|---|\n| 1 | <2> |"), "{md}");
        // a pipe inside a cell must not split it
        assert!(md.contains("| x\\|y | z |"), "{md}");
        let html = r.html("t", Path::new(".")).unwrap();
        assert!(html.contains("<td>&lt;2&gt;</td>"), "{html}");
        assert!(html.contains("<td>x|y</td>"), "{html}");
    }

    /// Without rendering, readers of the HTML page see backticks and asterisks; without
    /// escaping, a `<` in a number or a name would open a tag.
    #[test]
    fn inline_code_bold_and_links_are_rendered_and_the_rest_escaped() {
        assert_eq!(
            inline_html("run `bpdl stdp` for **Fig. 1**, see [the file](results.json)"),
            "run <code>bpdl stdp</code> for <strong>Fig. 1</strong>, see \
             <a href=\"results.json\">the file</a>"
        );
        assert_eq!(inline_html("*marked*"), "<em>marked</em>");
        assert_eq!(
            inline_html("a <script>alert(1)</script> & b"),
            "a &lt;script&gt;alert(1)&lt;/script&gt; &amp; b"
        );
        assert_eq!(inline_html("`a<b`"), "<code>a&lt;b</code>");
        // not inline Markdown (a list, a heading): shown as typed
        assert_eq!(inline_html("1. first"), "1. first");
        assert_eq!(inline_html("# not a heading"), "# not a heading");
        // an image in the text is not embedded from outside the report
        assert_eq!(inline_html("![x](http://a/b.png)"), "![x](http://a/b.png)");
        assert_eq!(inline_html(""), "");
        let mut r = Report::default();
        r.push(Block::Paragraph("**bold** and `code`".into()))
            .push(Block::List(vec!["[a](b.json)".into()]));
        let html = r.html("t", Path::new(".")).unwrap();
        assert!(
            html.contains("<p><strong>bold</strong> and <code>code</code></p>"),
            "{html}"
        );
        assert!(html.contains("<li><a href=\"b.json\">a</a></li>"), "{html}");
        assert!(!html.contains("**"), "{html}");
        assert!(html.contains("<meta name=\"viewport\""), "{html}");
    }

    /// A table of contents whose links miss their headings navigates nowhere.
    #[test]
    fn the_contents_link_every_heading_by_its_anchor() {
        let mut r = Report::default();
        r.push(Block::Heading(1, "Title".into()))
            .push(Block::Contents)
            .push(Block::Heading(2, "Fig. 4: log p(x, h) — `α`".into()))
            .push(Block::Heading(3, "Per seed".into()))
            .push(Block::Heading(2, "Per seed".into()));
        let anchors = r.anchors();
        let ids: Vec<&str> = anchors.iter().map(|a| a.id.as_str()).collect();
        // GitHub's rule: punctuation dropped, spaces to hyphens, repeats numbered
        assert_eq!(
            ids,
            ["title", "fig-4-log-px-h--α", "per-seed", "per-seed-1"]
        );
        let md = r.markdown();
        assert!(
            md.contains(
                "- [Fig. 4: log p(x, h) — `α`](#fig-4-log-px-h--α)\n  - [Per seed](#per-seed)\n\
                 - [Per seed](#per-seed-1)\n"
            ),
            "{md}"
        );
        assert!(!md.contains("](#title)"), "level 1 is not listed");
        let html = r.html("t", Path::new(".")).unwrap();
        for id in &ids[1..] {
            assert!(
                html.contains(&format!("<a href=\"#{id}\">")),
                "{id}: {html}"
            );
            assert!(html.contains(&format!(" id=\"{id}\">")), "{id}: {html}");
        }
        assert!(html.contains("<code>α</code>"), "{html}");
    }

    #[test]
    fn charts_are_inlined_as_svg_and_linked_as_png() {
        let dir = tempfile::tempdir().unwrap();
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"9\" height=\"6\" viewBox=\"0 0 9 6\" \
                   xmlns=\"http://www.w3.org/2000/svg\"><text>tick</text></svg>\n";
        std::fs::write(dir.path().join("c.svg"), svg).unwrap();
        let mut r = Report::default();
        r.push(Block::Chart(vec!["c".into()], "the **curve**".into()));
        assert_eq!(r.files(), ["c.png", "c.svg"]);
        assert!(r.markdown().contains("![the **curve**](c.png)"));
        let html = r.html("t", dir.path()).unwrap();
        assert!(
            html.contains(
                "<figure><svg role=\"img\" aria-label=\"the curve\" width=\"9\" height=\"6\" \
                 viewBox=\"0 0 9 6\" xmlns=\"http://www.w3.org/2000/svg\"><text>tick</text></svg>\
                 <figcaption>the <strong>curve</strong></figcaption></figure>"
            ),
            "{html}"
        );
        assert!(!html.contains("<?xml"));
        // not an SVG: an error, not a page with a broken figure
        std::fs::write(dir.path().join("c.svg"), "<html>").unwrap();
        assert!(r.html("t", dir.path()).is_err());
    }

    #[test]
    fn a_missing_figure_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        for block in [
            Block::Image("gone.png".into(), "c".into()),
            Block::Chart(vec!["gone".into()], "c".into()),
        ] {
            let mut r = Report::default();
            r.push(block);
            let e = r.html("t", dir.path()).unwrap_err().to_string();
            assert!(e.contains("gone."), "{e}");
        }
    }
}
