import {visibleControl} from '../output/sanitize.js';

/**
 * Escaping of log text for each gate output. Kernel logs carry whatever
 * shared the console (ANSI colours, binary junk, text that looks like markup),
 * so every output format gets its own escaper and no raw log text is ever
 * spliced into an output.
 */

/**
 * C0/C1 controls except TAB, LF and CR, plus DEL, shown as visible `\xNN`
 * (LF and CR, when not kept, as `\n` and `\r`: see visibleControl); also the
 * bidirectional overrides/isolates (U+202A-202E, U+2066-2069), which can make
 * displayed text read differently from what it is, and the characters that
 * display as nothing (U+00AD, U+200B-200F, U+2060, U+FEFF) or break a line
 * (U+2028, U+2029), shown as `\u{NNNN}` (`\xad`).
 */
// eslint-disable-next-line no-control-regex
const CONTROL_KEEP_LF = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

function hexEscape(c: string): string {
  const code = c.charCodeAt(0);
  return code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, '0')}`;
}

/** Control characters (ANSI ESC included) made visible; line breaks (LF, CR) kept when asked. */
export function visibleControls(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? CONTROL_KEEP_LF : CONTROL_ALL, visibleControl);
}

/**
 * XML 1.0 text or attribute value. Characters XML 1.0 cannot carry at all
 * (most C0 controls, lone surrogates, U+FFFE/U+FFFF) and bidi overrides
 * become visible `\xNN` or `\u{...}`; markup characters become entities. Used for element text
 * and attributes alike (no CDATA, so `]]>` needs no special case).
 */
export function escapeXml(text: string, opts: {attribute?: boolean} = {}): string {
  const attribute = opts.attribute ?? true;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const c = text[i]!;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += c + text[i + 1];
        i++;
      } else out += `\\u{${code.toString(16)}}`;
      continue;
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      out += `\\u{${code.toString(16)}}`;
      continue;
    }
    if (code === 0xfffe || code === 0xffff || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) {
      out += `\\u{${code.toString(16)}}`;
      continue;
    }
    // TAB stays; CR/LF in attributes become entities so attribute-value normalization keeps them.
    if (code === 0x09) out += c;
    else if (code === 0x0a) out += attribute ? '&#10;' : '\n';
    else if (code === 0x0d) out += '&#13;';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += hexEscape(c);
    else if (c === '&') out += '&amp;';
    else if (c === '<') out += '&lt;';
    else if (c === '>') out += '&gt;';
    else if (c === '"') out += '&quot;';
    else if (c === "'") out += '&apos;';
    else out += c;
  }
  return out;
}

/** XML element text: like escapeXml, but line breaks stay literal. */
export function escapeXmlText(text: string): string {
  return escapeXml(text, {attribute: false});
}

/**
 * GitHub Actions workflow-command message (the part after `::`): the runner
 * decodes `%25`, `%0D`, `%0A`, so these are the only escapes it needs; other
 * controls are made visible so no ANSI sequence reaches the log viewer.
 */
export function escapeGithubData(text: string): string {
  return visibleControls(text, true).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** GitHub workflow-command property value (`file=`, `title=`): also `:` and `,`. */
export function escapeGithubProperty(text: string): string {
  return escapeGithubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * Markdown inline text (paragraphs, list items, table cells; never the
 * start of a line): HTML metacharacters become entities (GitHub renders raw
 * HTML), emphasis/code/link/strikethrough punctuation and `|` (table cells)
 * are backslash-escaped, controls are made visible. A line break inside log
 * text cannot stay one (it would end a table row, a heading or a list item),
 * so LF and CR are shown as `\n` and `\r`, as the code fences of the same
 * summary and the terminal show them: a space would make `a\nb` read as the
 * different text `a b`. Line-start syntax (`-`, `+`, `1.`, `>`) cannot occur
 * mid-line, so it is left alone; `#` is escaped so `#123` is not linked to
 * an issue.
 */
export function escapeMarkdownInline(text: string): string {
  return visibleControls(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]#|~]/g, (c) => `\\${c}`);
}

/**
 * A fenced code block around log lines. The fence is longer than any
 * backtick run in the content, so no line can close it; controls are made
 * visible (a line feed inside a log line as `\n`, so each stays one line, as
 * `ktrail check --format markdown` shows it). Inside a fence GitHub renders
 * text literally (no HTML).
 */
export function markdownCodeBlock(lines: string[]): string {
  const body = lines.map((l) => visibleControls(l)).join('\n');
  let longest = 0;
  for (const m of body.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${body}\n${fence}`;
}

/**
 * A line of terminal output: controls made visible (no ANSI, no line
 * breaks), and a leading `::` defused so the GitHub runner, which scans every
 * stdout line for workflow commands, cannot read log text as one.
 */
export function escapeTerminal(text: string): string {
  const s = visibleControls(text);
  return s.startsWith('::') ? `\\${s}` : s;
}
