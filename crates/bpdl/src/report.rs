//! Reports as a small document model rendered twice: Markdown (`report.md`, images linked) and a
//! self-contained HTML page (`report.html`, images embedded as data URIs).

use std::path::Path;

use base64::Engine;

use crate::error::{Error, Result};
use crate::run::write_atomic;

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1–3.
    Heading(u8, String),
    /// A paragraph (inline `code` and **bold** are kept as typed in Markdown; in HTML they are
    /// escaped text).
    Paragraph(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A table: header row, then rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// An image file (relative to the report) with a caption.
    Image(String, String),
    /// Preformatted text with a language tag.
    Code(String, String),
}

/// A report under construction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

impl Report {
    /// Appends a block.
    pub fn push(&mut self, b: Block) -> &mut Self {
        self.blocks.push(b);
        self
    }

    /// Markdown.
    pub fn markdown(&self) -> String {
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
                    out.push_str(&format!("| {} |\n", head.join(" | ")));
                    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                    for r in rows {
                        out.push_str(&format!("| {} |\n", r.join(" | ")));
                    }
                    out.push('\n');
                }
                Block::Image(file, caption) => {
                    out.push_str(&format!("![{caption}]({file})\n\n*{caption}*\n\n"));
                }
                Block::Code(lang, text) => {
                    out.push_str(&format!("```{lang}\n{}\n```\n\n", text.trim_end()));
                }
            }
        }
        out
    }

    /// A self-contained HTML page; images are read from `dir` and embedded.
    pub fn html(&self, title: &str, dir: &Path) -> Result<String> {
        let mut body = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(level, text) => {
                    body.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)));
                }
                Block::Paragraph(text) => body.push_str(&format!("<p>{}</p>\n", escape(text))),
                Block::List(items) => {
                    body.push_str("<ul>\n");
                    for i in items {
                        body.push_str(&format!("<li>{}</li>\n", escape(i)));
                    }
                    body.push_str("</ul>\n");
                }
                Block::Table(head, rows) => {
                    body.push_str("<table>\n<tr>");
                    for h in head {
                        body.push_str(&format!("<th>{}</th>", escape(h)));
                    }
                    body.push_str("</tr>\n");
                    for r in rows {
                        body.push_str("<tr>");
                        for c in r {
                            body.push_str(&format!("<td>{}</td>", escape(c)));
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
                        "<figure><img alt=\"{0}\" src=\"data:{mime};base64,{data}\"><figcaption>{0}</figcaption></figure>\n",
                        escape(caption)
                    ));
                }
                Block::Code(_, text) => {
                    body.push_str(&format!("<pre>{}</pre>\n", escape(text)));
                }
            }
        }
        Ok(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
             body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}}\
             table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.25em .6em;text-align:left}}\
             th{{background:#f0f0f0}}img{{max-width:100%}}figure{{margin:1em 0}}figcaption{{font-style:italic}}\
             pre{{background:#f6f6f6;padding:.8em;overflow:auto}}</style></head>\n<body>\n{body}</body></html>\n",
            escape(title)
        ))
    }

    /// Writes `report.md` and `report.html` into `dir`, atomically.
    pub fn write(&self, dir: &Path, title: &str) -> Result<()> {
        write_atomic(&dir.join("report.md"), self.markdown().as_bytes())?;
        write_atomic(&dir.join("report.html"), self.html(title, dir)?.as_bytes())
    }
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
            vec![vec!["1".into(), "<2>".into()]],
        ));
        let md = r.markdown();
        assert!(md.contains("| a | b |\n|---|---|\n| 1 | <2> |"));
        let html = r.html("t", Path::new(".")).unwrap();
        assert!(html.contains("<td>&lt;2&gt;</td>"));
    }
}
