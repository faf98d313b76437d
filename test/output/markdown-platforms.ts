// Models of what GitHub and GitLab do with Markdown posted as a comment: which mentions, references and
// links they make of it, and which text a reader sees (and copies). Shared by the tests of the gate's
// Markdown summary (test/gate/outputs.test.ts) and of `ktrail check --format markdown`
// (test/output/findings-markdown.test.ts).

/** `markdown` without its fenced code blocks (fences of three or more backticks, as both outputs write them). */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '');
}

const ENTITY = /^&(#\d+|#x[0-9a-f]+|[a-z]+);/i;
const NAMED: Record<string, string> = {'&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&commat;': '@', '&num;': '#'};

function decodeEntity(ent: string): string {
  if (!ent.startsWith('&#')) return NAMED[ent] ?? ent;
  return String.fromCodePoint(Number(ent.startsWith('&#x') ? `0x${ent.slice(3, -1)}` : ent.slice(2, -1)));
}

/**
 * The text nodes both platforms look for mentions and references in: after
 * rendering, outside code (fences, code spans), as shown, so a backslash
 * escape or an entity is already gone (GitHub ignores the backslash; GitLab
 * has honoured it since 14.0, not before: the model takes the worse case). A
 * node ends at a code span, an HTML tag, a table cell separator, an emphasis
 * delimiter and at an e-mail address (both autolink it, and neither looks
 * inside a link).
 */
export function renderedTextNodes(markdown: string): string[] {
  const nodes: string[] = [];
  for (const line of withoutFences(markdown).split('\n')) {
    let node = '';
    const end = () => {
      nodes.push(...node.split(/[A-Za-z0-9._+-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/));
      node = '';
    };
    for (let i = 0; i < line.length; ) {
      const c = line[i]!;
      if (c === '\\' && /[!-/:-@[-`{-~]/.test(line[i + 1] ?? '')) {
        node += line[i + 1];
        i += 2;
      } else if (c === '`') {
        const run = /^`+/.exec(line.slice(i))![0];
        const close = line.slice(i + run.length).search(new RegExp(`(?<!\`)${run}(?!\`)`));
        if (close === -1) {
          node += run;
          i += run.length;
        } else {
          end();
          i += run.length + close + run.length;
        }
      } else if (c === '&' && ENTITY.test(line.slice(i))) {
        const ent = ENTITY.exec(line.slice(i))![0];
        node += decodeEntity(ent);
        i += ent.length;
      } else if (c === '<' && /^<\/?[a-z][^>]*>/i.test(line.slice(i))) {
        end();
        i += /^<\/?[a-z][^>]*>/i.exec(line.slice(i))![0].length;
      } else if (c === '|' || c === '*') {
        end();
        i++;
      } else {
        node += c;
        i++;
      }
    }
    end();
  }
  return nodes;
}

/**
 * The mentions GitHub and GitLab would make of `markdown`, in its rendered
 * text nodes. GitHub's pattern: an `@` at the start of a node or after a
 * non-word character, then a letter or digit; GitLab's: an `@` not after a
 * word character, then a path character.
 */
export function platformMentions(markdown: string): string[] {
  const found: string[] = [];
  for (const n of renderedTextNodes(markdown)) {
    for (const m of n.matchAll(/(?:^|[^A-Za-z0-9_])(@[A-Za-z0-9][A-Za-z0-9-]*)/g)) found.push(`GitHub ${m[1]} in ${JSON.stringify(n)}`);
    for (const m of n.matchAll(/(?<![A-Za-z0-9_])(@[A-Za-z0-9_.][A-Za-z0-9_.\/-]*)/g)) found.push(`GitLab ${m[1]} in ${JSON.stringify(n)}`);
  }
  return found;
}

/** A URL both autolink (GitLab any `scheme://`): a reference when it points at an issue or merge request. */
const URL = /[a-z][a-z0-9+.-]*:\/\/\S*|www\.\S*/gi;

/**
 * The reference forms of docs.github.com "Autolinked references and URLs"
 * (`#26`, `GH-26`, `owner/repo#26`, issue URLs) and of docs.gitlab.com
 * "GitLab-specific references", with GitLab's patterns (app/models: Issue,
 * MergeRequest, Snippet, Label, Milestone, Project; `#` and the other sigils
 * may follow anything, a `project` prefix included). Commit SHAs are left
 * out (linked only when such a commit exists). Math (`$...$`, both
 * platforms) is counted with them: it changes what the text reads.
 */
const PLATFORM_REFERENCES: Array<[string, RegExp]> = [
  ['GitHub', /#\d+/g],
  ['GitHub', /GH-\d+/gi],
  ['GitHub', URL],
  ['GitHub', /\$[^$]+\$/g],
  ['GitLab', /#\d+/g],
  ['GitLab', /GL-\d+/g],
  ['GitLab', /!\d+/g],
  ['GitLab', /\$\d+/g],
  ['GitLab', /&\d+/g],
  ['GitLab', /~(?:\d+|[A-Za-z0-9_\-?.&]+|".+?")/g],
  ['GitLab', /%(?:\d+|[^"\s<]+\b|"[^"]+")/g],
  ['GitLab', /\*iteration:(?:\d+|"[^"]+"|\w+)/g],
  ['GitLab', /\[(?:vulnerability|feature_flag|work_item|epic|cadence|contact|wiki_page):[^\]]+\]/g],
  ['GitLab', /\[\[[^\]]+\]\]/g],
  ['GitLab', /[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+>/g],
  ['GitLab', URL],
  ['GitLab', /\$[^$]+\$/g],
];

/** The references, links and math GitHub and GitLab would make of `markdown`, in its rendered text nodes. */
export function platformReferences(markdown: string): string[] {
  const found: string[] = [];
  for (const n of renderedTextNodes(markdown)) {
    for (const [platform, re] of PLATFORM_REFERENCES) for (const m of n.matchAll(re)) found.push(`${platform} ${m[0]} in ${JSON.stringify(n)}`);
  }
  return found;
}

/**
 * The text a reader sees, and copies, of one line of inline Markdown: escaped
 * characters and entities as the characters, code spans as their content.
 * (Only what the escapers write: no links, emphasis or HTML.)
 */
export function shownText(inline: string): string {
  let out = '';
  for (let i = 0; i < inline.length; ) {
    const c = inline[i]!;
    if (c === '\\' && /[!-/:-@[-`{-~]/.test(inline[i + 1] ?? '')) {
      out += inline[i + 1];
      i += 2;
    } else if (c === '`') {
      const run = /^`+/.exec(inline.slice(i))![0];
      const close = inline.slice(i + run.length).search(new RegExp(`(?<!\`)${run}(?!\`)`));
      if (close === -1) throw new Error(`unclosed code span in ${JSON.stringify(inline)}`);
      const content = inline.slice(i + run.length, i + run.length + close);
      out += /^ .*[^ ].* $/.test(content) ? content.slice(1, -1) : content;
      i += run.length + close + run.length;
    } else if (c === '&' && ENTITY.test(inline.slice(i))) {
      const ent = ENTITY.exec(inline.slice(i))![0];
      out += decodeEntity(ent);
      i += ent.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
