import {sanitizeForTerminal, sanitizeKeepingLineBreaks} from '../output/sanitize.js';

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
 * (U+2028, U+2029), shown as `\u{NNNN}` (`\xad`). The terminal's rule
 * (output/sanitize.ts), for every gate output.
 */
export function visibleControls(text: string, keepNewlines = false): string {
  return keepNewlines ? sanitizeKeepingLineBreaks(text) : sanitizeForTerminal(text);
}

/**
 * XML 1.0 text or attribute value. Controls, bidi overrides and the
 * characters that display as nothing become visible `\xNN` or `\u{...}`, as
 * in every other output (visibleControls), and so do the characters XML 1.0
 * cannot carry at all (lone surrogates, U+FFFE/U+FFFF); markup characters
 * become entities. Used for element text and attributes alike (no CDATA, so
 * `]]>` needs no special case).
 */
export function escapeXml(raw: string, opts: {attribute?: boolean} = {}): string {
  const attribute = opts.attribute ?? true;
  const text = visibleControls(raw, true);
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
    if (code === 0xfffe || code === 0xffff) {
      out += `\\u{${code.toString(16)}}`;
      continue;
    }
    // TAB stays (the other controls are shown already); CR/LF in attributes become entities so attribute-value
    // normalization keeps them.
    if (code === 0x0a) out += attribute ? '&#10;' : '\n';
    else if (code === 0x0d) out += '&#13;';
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
 * Markdown inline text (paragraphs, list items, table cells, headings; not the
 * start of a line: see escapeMarkdownLine): HTML metacharacters become
 * entities (GitHub renders raw HTML), emphasis/code/link/strikethrough
 * punctuation and `|` (table cells) are backslash-escaped, controls are made
 * visible. A line break inside log text cannot stay one (it would end a table
 * row, a heading or a list item), so LF and CR are shown as `\n` and `\r`, as
 * the code fences of the same summary and the terminal show them: a space
 * would make `a\nb` read as the different text `a b`.
 * Text that GitHub or GitLab could turn into a mention (`@all`, `@name`,
 * `@org/team`), a reference (`#123`, `!12`, `~label`, ...) or a link (a URL)
 * goes into a code span, unchanged: see codeSpans.
 */
export function escapeMarkdownInline(text: string): string {
  const shown = visibleControls(text);
  let out = '';
  let done = 0;
  for (const [start, end] of codeSpans(shown)) {
    out += `${escapeMarkup(shown.slice(done, start))}\`${shown.slice(start, end)}\``;
    done = end;
  }
  return out + escapeMarkup(shown.slice(done));
}

/**
 * Markdown text that starts a line of its own (a paragraph, a list item's
 * text): escapeMarkdownInline, and what would make the line a list item, an
 * ordered list item, a setext underline, a definition (GitLab's description
 * lists) or indented code is defused: a leading `-`, `+`, `=` or `:` and the
 * `.` or `)` after a leading number are backslash-escaped, leading spaces and
 * tabs become `&#32;` and `&#9;`, which block parsing does not count as
 * indentation. (`#`, `>`, `*`, `_`, backticks, `~`, `<`, `|` and `[` are
 * escaped everywhere.)
 */
export function escapeMarkdownLine(text: string): string {
  const s = escapeMarkdownInline(text);
  const indent = /^[ \t]*/.exec(s)![0];
  if (indent) return indent.replace(/ /g, '&#32;').replace(/\t/g, '&#9;') + s.slice(indent.length);
  return s.replace(/^[-+=:]/, '\\$&').replace(/^(\d+)([.)])/, '$1\\$2');
}

function escapeMarkup(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]#|~]/g, (c) => `\\${c}`);
}

/** A run of the characters of user and group names, team paths (`@org/team`) and e-mail addresses. */
const NAME_RUN = /[A-Za-z0-9_.+\-/@]+/g;
/**
 * Characters after which a run starts a text of its own: no link or reference
 * of GitHub or GitLab ends there (a `\` starts a shown control, as the `\n` of a line break).
 */
const RUN_START = /[\s([{<"'=,;\\]/;

/**
 * Whether an `@` in `run` (a NAME_RUN match; `before` is the character in
 * front of it, undefined at the start of the text) could become a mention.
 * GitHub and GitLab find mentions in the rendered text, by a pattern for an
 * `@` not preceded by a word character, so `user@example.com` and a device
 * tree node `ethernet@ff3f0000` mention no one. That holds only while the
 * word character before the `@` is in the same text node: a link the
 * platform makes from the text before (an e-mail address, `a@b.c@team`; an
 * issue reference, `#123@team`; an emoji, `:x:@team`) ends the node, and the
 * `@` after it starts one.
 */
function couldMention(run: string, before: string | undefined): boolean {
  const startsText = before === undefined || RUN_START.test(before);
  let previous = -1;
  for (let at = run.indexOf('@'); at !== -1; previous = at, at = run.indexOf('@', at + 1)) {
    // GitHub names start with a letter or digit, GitLab paths also with `_` or `.`.
    if (!/[A-Za-z0-9_.]/.test(run[at + 1] ?? '')) continue;
    if (at === 0 || !/[A-Za-z0-9_]/.test(run[at - 1]!)) return true;
    // The first `@` belongs to the text before it; a later one may follow an address (a domain has a dot).
    if (previous === -1 ? !startsText : run.slice(previous + 1, at).includes('.')) return true;
  }
  return false;
}

/**
 * The name runs that could mention someone, as [start, end) ranges, without
 * trailing dots (which end a sentence more often than a name).
 */
function mentionSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const m of text.matchAll(NAME_RUN)) {
    if (m[0].includes('@') && couldMention(m[0], text[m.index - 1])) spans.push([m.index, m.index + m[0].replace(/\.+$/, '').length]);
  }
  return spans;
}

/**
 * What GitHub or GitLab could make a reference or a link of, in the text of
 * one text node (the forms of docs.github.com "Autolinked references and
 * URLs" and of docs.gitlab.com "GitLab-specific references"; each match
 * covers at least the character that starts the form):
 * - `#1`: an issue or pull request on both (also `owner/repo#1`, `project#1`,
 *   GitLab work items and alerts `^alert#1`); GitLab's pattern puts no
 *   condition on what precedes the `#` (a name there is read as a project),
 *   so the `#3` of a lockdep class `i_mutex_key#3` counts;
 * - `GH-1` (GitHub), `GL-1` (GitLab) issues;
 * - GitLab `!1` merge requests, `&1` epics, `$1` snippets (any `$`: it also
 *   delimits math on both), `~1` / `~bug` / `~"two words"` labels, `%1` /
 *   `%v1.0` / `%"two words"` milestones (`%s` too, a milestone named `s`),
 *   `*iteration:`, `[vulnerability:1]` and the other `[type:id]` forms,
 *   `[[wiki page]]`, `namespace/project>`;
 * - a URL (`scheme://`, `www.`), which both link, and which is a reference
 *   when it points at an issue or merge request.
 * Commit SHAs (7 to 40 hex digits, linked only when the repository has such
 * a commit) are not among them: log text is full of hex numbers.
 */
const REFERENCE = new RegExp(
  [
    '#\\d',
    'g[hl]-\\d',
    '[!&]\\d',
    '\\$',
    '~(?:"[^"`|\\\\]*"|[A-Za-z0-9_?.&"-])',
    '%(?:"[^"`|\\\\]*"|(?=[^\\s"<]*[A-Za-z0-9_]))',
    '\\*iteration:',
    '\\[(?:vulnerability|feature_flag|work_item|epic|issue|merge_request|cadence|iteration|contact|wiki_page):[^\\]\\s`|\\\\]*\\]?',
    '\\[\\[(?:[^\\]`|\\\\]*\\]\\])?',
    '(?<![A-Za-z0-9_.])[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:\\/[A-Za-z0-9_.-]+)+>',
    '(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\\/\\/',
    'www\\.',
  ].join('|'),
  'gi',
);
/** Characters a reference's code span extends over, so that it holds the whole token (`&sb->s_type->i_mutex_key#3`). */
const TOKEN_CHAR = /[^\s`|\\()[\]{}"',;]/;

/** The references and links in text[from, to) as [start, end) ranges, each widened to its whole token. */
function referenceSpans(text: string, from: number, to: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const m of text.slice(from, to).matchAll(REFERENCE)) {
    let start = from + m.index;
    const formEnd = start + m[0].length;
    let end = formEnd;
    while (start > from && TOKEN_CHAR.test(text[start - 1]!)) start--;
    while (end < to && TOKEN_CHAR.test(text[end]!)) end++;
    // Punctuation that ends a sentence stays outside (`... #1.`).
    while (end > formEnd && /[.:!?]/.test(text[end - 1]!)) end--;
    spans.push([start, end]);
  }
  return spans;
}

/**
 * The parts of `text` (controls already made visible) to show as code spans.
 * GitHub and GitLab make mentions, references and links after rendering,
 * from the text nodes outside `code`, `pre` and `a`, so on GitHub neither a
 * backslash (`\@all`, `\#1`) nor an entity (`&#64;all`, `&#35;1`) stops them
 * (github/markup#1168, github/cmark-gfm#181); on GitLab an entity does not
 * either, a backslash does only since GitLab 14.0 and only for the sigils
 * (`http\:\/\/x` is still linked, gitlab-org/gitlab#339017); a code span
 * stops them on both. A zero-width character would stop them too, but it
 * travels with the copied text; a code span shows and copies the text as it
 * is. Mention runs are found first: a reference is then looked for only in
 * the text between them, as the platform sees it (in `#123@team` the span
 * `123@team` leaves `#` alone in its text node). Spans that touch are merged,
 * since two code spans in a row would read as one delimited by a double
 * backtick. No span holds a backtick or `|`, so none needs an escape or can
 * break a table cell.
 */
function codeSpans(text: string): Array<[number, number]> {
  const mentions = mentionSpans(text);
  const spans = [...mentions];
  let from = 0;
  for (const [start, end] of [...mentions, [text.length, text.length] as [number, number]]) {
    spans.push(...referenceSpans(text, from, start));
    from = end;
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of spans) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
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
