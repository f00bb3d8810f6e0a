// sandlot viewer: a small, safe markdown renderer for model replies and instructions.
//
// It builds DOM nodes with el() and text nodes only — never markup — so whatever a
// trace holds (script tags, event handlers, javascript: links) shows as the text it is.
// Supported: paragraphs (line breaks kept), headings, **bold**, *em* / _em_, `code`,
// fenced code blocks, bullet and numbered lists, > quotes, and links, which are shown
// as their text followed by the URL in text: never a live link out of the page.
"use strict";

const MD_FENCE = /^\s*(```+|~~~+)\s*([^`\s]*)\s*$/;
const MD_HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const MD_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const MD_QUOTE = /^\s{0,3}>\s?(.*)$/;
const MD_RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
// One inline token: `code`, **bold** / __bold__, *em* / _em_ (not inside a word, so
// snake_case names stay as they are), or [text](url).
const MD_INLINE = /`([^`\n]+)`|\*\*(?=\S)([^\n]*?\S)\*\*|(?<![\w])__(?=\S)([^\n]*?\S)__(?![\w])|\*(?=[^\s*])([^*\n]*?[^\s*])\*|(?<![\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w])|\[([^\]\n]+)\]\(\s*([^)\s]+)\s*\)/g;

// Inline markdown of one piece of text, as an array of nodes and strings.
function mdInline(text, depth = 0) {
  const out = [];
  let last = 0;
  const re = new RegExp(MD_INLINE.source, "g");
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const nested = (inner) => (depth < 4 ? mdInline(inner, depth + 1) : [inner]);
    if (m[1] !== undefined) out.push(el("code", {}, m[1]));
    else if (m[2] !== undefined || m[3] !== undefined) out.push(el("strong", {}, nested(m[2] !== undefined ? m[2] : m[3])));
    else if (m[4] !== undefined || m[5] !== undefined) out.push(el("em", {}, nested(m[4] !== undefined ? m[4] : m[5])));
    else out.push(el("span", { class: "md-link" }, nested(m[6]), el("span", { class: "md-url" }, " (" + m[7] + ")")));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Lines joined with <br>: a model's single line breaks usually mean something.
function mdLines(lines) {
  return lines.flatMap((line, i) => (i ? [el("br"), ...mdInline(line)] : mdInline(line)));
}

function mdStartsBlock(line) {
  return MD_FENCE.test(line) || MD_HEADING.test(line) || MD_ITEM.test(line) || MD_QUOTE.test(line) || MD_RULE.test(line);
}

function mdBlocks(lines, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    const fence = MD_FENCE.exec(line);
    if (fence) {
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      i++;  // the closing fence (or the end)
      out.push(el("pre", { class: "md-code", "data-lang": fence[2] || null }, el("code", {}, body.join("\n"))));
      continue;
    }
    const heading = MD_HEADING.exec(line);
    if (heading) {
      out.push(el("h" + Math.min(6, heading[1].length + 2), { class: "md-h" }, mdInline(heading[2])));
      i++;
      continue;
    }
    if (MD_RULE.test(line)) { out.push(el("hr")); i++; continue; }
    if (MD_QUOTE.test(line) && depth < 4) {
      const quoted = [];
      for (; i < lines.length && MD_QUOTE.test(lines[i]); i++) quoted.push(MD_QUOTE.exec(lines[i])[1]);
      out.push(el("blockquote", {}, mdBlocks(quoted, depth + 1)));
      continue;
    }
    const item = MD_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[2]);
      const items = [];
      while (i < lines.length) {
        const m = MD_ITEM.exec(lines[i]);
        if (!m || /\d/.test(m[2]) !== ordered) break;
        const body = [m[3]];
        // continuation lines: indented text that starts no block of its own
        for (i++; i < lines.length && /^\s+\S/.test(lines[i]) && !MD_ITEM.test(lines[i]); i++) body.push(lines[i].trim());
        items.push(el("li", {}, mdLines(body)));
      }
      const start = ordered ? parseInt(item[2], 10) : 1;
      out.push(el(ordered ? "ol" : "ul", { start: ordered && start !== 1 ? start : null }, items));
      continue;
    }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !(para.length && mdStartsBlock(lines[i])); i++) para.push(lines[i]);
    out.push(el("p", {}, mdLines(para)));
  }
  return out;
}

// `text` rendered as markdown, in a <div class="md">; anything not a string is shown as JSON.
function renderMarkdown(text) {
  const source = typeof text === "string" ? text : pretty(text);
  return el("div", { class: "md" }, mdBlocks(String(source).replace(/\r\n?/g, "\n").split("\n"), 0));
}
