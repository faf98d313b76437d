/**
 * KTAP (Documentation/dev-tools/ktap.rst) and kselftest TAP 13 lines, as they
 * appear in log_lines.text once the kernel prefix is removed:
 *
 *   KTAP version 1 / TAP version 13        version line (starts a test level)
 *   1..4                                   plan
 *     # Subtest: example                   name of the suite at this level (KUnit)
 *     ok 1 test_1                          result
 *     not ok 2 test_2 # SKIP reason        result with a directive (SKIP, TODO, XFAIL)
 *   ok 1 - name                            TAP 13 separator `-`
 *   # ok 1 sub                             kselftest nests a test's own TAP output behind `# `
 *
 * Nesting is by indentation (2 spaces per level in KTAP, 4 in KUnit's output)
 * and, for kselftest, by `# ` prefixes. `nest` orders the two: one `# ` is
 * deeper than any indentation.
 */
export type KtapLine =
  | {kind: 'version'; nest: number; version: string}
  | {kind: 'plan'; nest: number; count: number}
  | {kind: 'subtest'; nest: number; name: string}
  | {kind: 'result'; nest: number; ok: boolean; number: number; name: string; directive: 'SKIP' | 'TODO' | 'XFAIL' | null; reason: string | null};

const VERSION_RE = /^K?TAP version (\d+)\s*$/;
const PLAN_RE = /^1\.\.(\d+)(?:\s*#.*)?$/;
const RESULT_RE = /^(not ok|ok)\s+(\d+)\b\s*(?:-\s*)?(.*)$/;
const DIRECTIVE_RE = /^(.*?)\s*#\s*(SKIP|TODO|XFAIL)\b:?\s*(.*)$/i;
const SUBTEST_RE = /^# Subtest: (.*\S)\s*$/;
const NESTED_RE = /^#\s+(?=(?:not ok|ok)\s+\d|K?TAP version \d|1\.\.\d|# Subtest: )/;

/** Cheap pre-check: could `text` be a KTAP/TAP line at all? */
export function maybeKtap(text: string): boolean {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  const c = text.charCodeAt(i);
  // o(k) n(ot ok) K(TAP) T(AP) 1(..N) #
  return c === 111 || c === 110 || c === 75 || c === 84 || c === 49 || c === 35;
}

export function parseKtapLine(text: string): KtapLine | null {
  if (!maybeKtap(text)) return null;
  let rest = text.replace(/\t/g, '        ');
  let spaces = 0;
  let hashes = 0;
  for (;;) {
    const lead = rest.length - rest.trimStart().length;
    spaces += lead;
    rest = rest.slice(lead);
    const m = NESTED_RE.exec(rest);
    if (!m) break;
    hashes++;
    rest = rest.slice(m[0].length);
  }
  const nest = hashes * 1000 + spaces;
  rest = rest.trimEnd();
  let m = RESULT_RE.exec(rest);
  if (m) {
    let name = m[3]!;
    let directive: 'SKIP' | 'TODO' | 'XFAIL' | null = null;
    let reason: string | null = null;
    const d = DIRECTIVE_RE.exec(name);
    if (d) {
      name = d[1]!;
      directive = d[2]!.toUpperCase() as 'SKIP' | 'TODO' | 'XFAIL';
      reason = d[3]!.trim() || null;
    } else {
      // `ok 1 name # diagnostic`: the comment is not part of the name.
      const hash = name.indexOf(' #');
      if (hash !== -1) name = name.slice(0, hash);
    }
    return {kind: 'result', nest, ok: m[1] === 'ok', number: Number(m[2]), name: name.trim(), directive, reason};
  }
  if ((m = VERSION_RE.exec(rest))) return {kind: 'version', nest, version: rest.slice(0, rest.indexOf(' version')) + ' ' + m[1]};
  if ((m = PLAN_RE.exec(rest))) return {kind: 'plan', nest, count: Number(m[1])};
  if ((m = SUBTEST_RE.exec(rest))) return {kind: 'subtest', nest, name: m[1]!};
  return null;
}

/** RE2/DuckDB pattern selecting candidate lines in SQL before parsing them here. */
export const KTAP_CANDIDATE_SQL_RE = '^[ \\t#]*(ok |not ok |K?TAP version |1\\.\\.[0-9]|Subtest: )';
