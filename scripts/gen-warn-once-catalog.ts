#!/usr/bin/env -S node --import tsx
/**
 * Generate data/warn-once-catalog.json: every one-time kernel message site
 * (pr_*_once, printk_once, printk_deferred_once, WARN_ONCE, WARN_ON_ONCE and
 * their subsystem variants, dev_*_once, netdev_*_once, ...) in a Linux source
 * tree, with file, line, enclosing function, level, format and a matcher for
 * the printed line. Rule `printk/warn-once` reads the catalog.
 *
 *   npm run gen:warn-once                         # /usr/src/linux-source-6.12.tar.xz
 *   npm run gen:warn-once -- --tarball PATH.tar.xz [--out FILE]
 *   npm run gen:warn-once -- --src DIR            # an extracted tree
 *
 * The tarball comes from Debian: `apt-get install linux-source-6.12`. Only
 * *.c, *.h and Makefiles are extracted (tar streams the .xz) into a
 * directory under the system temp dir, removed afterwards unless --keep.
 * data/warn-once-supplement.json (hand-written, with provenance) is merged in.
 */
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import type {CatalogEntry, SiteKind} from '../src/rules/printk/catalog.js';
import {buildMatcher, decodeCString, stripLevelMarkers, UNKNOWN_PART, type PrefixKind} from '../src/rules/printk/format.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options

interface Options {
  tarball: string | null;
  src: string | null;
  out: string;
  supplement: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    tarball: null,
    src: null,
    out: path.join(repoRoot, 'data/warn-once-catalog.json'),
    supplement: path.join(repoRoot, 'data/warn-once-supplement.json'),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (!v) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--tarball') o.tarball = val();
    else if (a === '--src') o.src = val();
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--supplement') o.supplement = path.resolve(val());
    else if (a === '--keep') o.keep = true;
    else fail(`unknown argument ${a} (see the header of scripts/gen-warn-once-catalog.ts)`);
  }
  if (!o.tarball && !o.src) o.tarball = '/usr/src/linux-source-6.12.tar.xz';
  return o;
}

function fail(msg: string): never {
  console.error(`gen-warn-once-catalog: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------- macro families

interface MacroInfo {
  kind: SiteKind;
  level: number | null;
  /** Index of the format argument; -1: the first argument made of string literals. */
  fmtArg: number;
  prefix: PrefixKind;
  /** pr_* macros print pr_fmt(fmt). */
  usesPrFmt: boolean;
}

const LEVELS: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, err: 3, error: 3, warn: 4, warning: 4, notice: 5, info: 6, debug: 7, dbg: 7, devel: 7,
};
const LEVEL_WORDS = Object.keys(LEVELS).join('|');
const LOWER_LEVEL_ONCE = new RegExp(`^([a-z][a-z0-9_]*?)_(${LEVEL_WORDS})_once$`);
const UPPER_LEVEL_ONCE = /^([A-Z][A-Z0-9]*)_(INFO|NOTE|NOTICE|WARN|WARNING|ERR|ERROR|DEBUG|DBG|CRIT)_ONCE$/;
const WARN_FAMILY = /^(?:([A-Za-z][A-Za-z0-9_]*?)_)?WARN(_ON|_TAINT)?_ONCE$/;

/** Which macros print once, and how; null for every other `*_once` name (READ_ONCE, DO_ONCE, inode_init_once, ...). */
export function classifyMacro(name: string): MacroInfo | null {
  if (name === 'printk_once' || name === 'printk_deferred_once') {
    return {kind: 'message', level: null, fmtArg: 0, prefix: 'none', usesPrFmt: false};
  }
  if (name === 'dev_level_once' || name === 'netdev_level_once') return null; // helpers used inside the dev_*_once definitions
  let m = LOWER_LEVEL_ONCE.exec(name);
  if (m) {
    const family = m[1]!;
    const level = LEVELS[m[2]!]!;
    if (family === 'pr') return {kind: 'message', level, fmtArg: 0, prefix: 'none', usesPrFmt: true};
    if (family === 'dev') return {kind: 'message', level, fmtArg: 1, prefix: 'device', usesPrFmt: false};
    if (family === 'netdev') return {kind: 'message', level, fmtArg: 1, prefix: 'netdev', usesPrFmt: false};
    return {kind: 'message', level, fmtArg: -1, prefix: 'unknown', usesPrFmt: false};
  }
  // DRM_WARN_ONCE(fmt, ...) and friends print, they do not WARN.
  m = UPPER_LEVEL_ONCE.exec(name);
  if (m && m[1] !== 'VM' && !WARN_FAMILY.test(name.replace(/^DRM_/, 'X'))) {
    const w = m[2]!.toLowerCase();
    return {kind: 'message', level: LEVELS[w === 'note' ? 'notice' : w] ?? null, fmtArg: -1, prefix: 'unknown', usesPrFmt: false};
  }
  if (/^DRM_(WARN|INFO|ERROR|NOTE|DEBUG)_ONCE$/.test(name)) {
    return {kind: 'message', level: name === 'DRM_INFO_ONCE' ? 6 : 4, fmtArg: -1, prefix: 'unknown', usesPrFmt: false};
  }
  m = WARN_FAMILY.exec(name);
  if (m) {
    const family = m[1] ?? '';
    if (m[2] === '_ON') return {kind: 'warn', level: 4, fmtArg: -2, prefix: 'none', usesPrFmt: false};
    if (family === '') return {kind: 'warn-message', level: 4, fmtArg: m[2] === '_TAINT' ? 2 : 1, prefix: 'none', usesPrFmt: false};
    // dev_WARN_ONCE, drm_WARN_ONCE, pci_WARN_ONCE print "driver device: "; netdev_WARN_ONCE "netdevice: name: ".
    const prefix: PrefixKind = ['dev', 'drm', 'pci', 'netdev'].includes(family) ? 'device' : family === 'VM' ? 'none' : 'unknown';
    return {kind: 'warn-message', level: 4, fmtArg: -1, prefix, usesPrFmt: false};
  }
  return null;
}

// ---------------------------------------------------------------- C text helpers

/** Replace comments by spaces (newlines kept) so offsets and line numbers stay; strings are kept. */
export function stripComments(src: string): string {
  const out = src.split('');
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === '"' || c === "'") {
      i = skipQuoted(src, i);
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (out[k] !== '\n') out[k] = ' ';
      i = stop;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      let k = i;
      while (k < n && src[k] !== '\n') out[k++] = ' ';
      i = k;
      continue;
    }
    i++;
  }
  return out.join('');
}

/** Index just past the string or char literal starting at i. */
function skipQuoted(src: string, i: number): number {
  const q = src[i];
  let k = i + 1;
  while (k < src.length) {
    const c = src[k];
    if (c === '\\') k += 2;
    else if (c === q) return k + 1;
    else if (c === '\n') return k; // unterminated: stop at the line end
    else k++;
  }
  return k;
}

class LineIndex {
  private starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }
  lineOf(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Arguments of the call whose `(` is at `open`: top-level comma split, and the index after `)`. */
function callArgs(text: string, open: number): {args: string[]; end: number} | null {
  let depth = 0;
  let start = open + 1;
  const args: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      i = skipQuoted(text, i) - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        args.push(text.slice(start, i));
        return {args: args.map((a) => a.trim()), end: i + 1};
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  return null;
}

// ---------------------------------------------------------------- format expressions

/** A resolved piece of a format expression: literal text, or a macro we could not resolve. */
type Seg = {text: string} | {unknown: string};

const GLOBAL_STRING_MACROS: Record<string, string> = {
  KERN_SOH: '\x01',
  KERN_EMERG: '\x010', KERN_ALERT: '\x011', KERN_CRIT: '\x012', KERN_ERR: '\x013',
  KERN_WARNING: '\x014', KERN_NOTICE: '\x015', KERN_INFO: '\x016', KERN_DEBUG: '\x017',
  KERN_DEFAULT: '', KERN_CONT: '\x01c',
  FW_BUG: '[Firmware Bug]: ', FW_WARN: '[Firmware Warn]: ', FW_INFO: '[Firmware Info]: ',
  HW_ERR: '[Hardware Error]: ', DEPRECATED: '[Deprecated]: ',
};

interface FileScope {
  /** `#define NAME "..."` in the file (and its local headers): macro -> its tokens' text. */
  strings: Map<string, string>;
  /** pr_fmt definitions in file order: offset, and prefix/suffix around the parameter; null when unreadable. */
  prFmt: {pos: number; prefix: Seg[]; suffix: Seg[]} [];
  modname: string;
  /** Parameter names of function-like #defines in the file. */
  macroParams: Map<string, string[]>;
}

type Tok = {t: 'str'; v: string} | {t: 'id'; v: string; call: string | null} | {t: 'comma'} | {t: 'other'; v: string};

function tokenize(expr: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c) || c === '\\') {
      i++;
      continue;
    }
    const strPrefix = /^(?:u8|u|U|L)?"/.exec(expr.slice(i, i + 3));
    if (strPrefix) {
      const q = i + strPrefix[0].length - 1;
      const end = skipQuoted(expr, q);
      toks.push({t: 'str', v: decodeCString(expr.slice(q + 1, end - 1))});
      i = end;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(expr.slice(i));
    if (id) {
      i += id[0].length;
      let j = i;
      while (j < expr.length && /\s/.test(expr[j]!)) j++;
      let call: string | null = null;
      if (expr[j] === '(') {
        const r = callArgs(expr, j);
        if (r) {
          call = expr.slice(j + 1, r.end - 1);
          i = r.end;
        }
      }
      toks.push({t: 'id', v: id[0], call});
      continue;
    }
    if (c === ',') {
      toks.push({t: 'comma'});
      i++;
      continue;
    }
    toks.push({t: 'other', v: c});
    i++;
  }
  return toks;
}

/** Resolve a format expression (string literals, macros, pr_fmt(...)) to segments; null when it is not one. */
function resolveFormat(expr: string, scope: FileScope, prFmtAt: number | null, depth = 0): Seg[] | null {
  if (depth > 8) return [{unknown: '...'}];
  const toks = tokenize(expr);
  if (toks.length === 0) return null;
  const segs: Seg[] = [];
  let sawString = false;
  for (const tok of toks) {
    if (tok.t === 'str') {
      segs.push({text: tok.v});
      sawString = true;
    } else if (tok.t === 'id') {
      if (tok.v === 'pr_fmt' && tok.call !== null) {
        const inner = resolveFormat(tok.call, scope, null, depth + 1);
        if (!inner) return null;
        const pf = prFmtAt === null ? activePrFmt(scope, Number.MAX_SAFE_INTEGER) : activePrFmt(scope, prFmtAt);
        segs.push(...pf.prefix, ...inner, ...pf.suffix);
        sawString = true;
      } else if (tok.call !== null) {
        segs.push({unknown: `${tok.v}(${tok.call.trim()})`});
      } else if (tok.v in GLOBAL_STRING_MACROS) {
        segs.push({text: GLOBAL_STRING_MACROS[tok.v]!});
      } else if (tok.v === 'KBUILD_MODNAME') {
        segs.push({unknown: 'KBUILD_MODNAME'});
      } else if (scope.strings.has(tok.v)) {
        const inner = resolveFormat(scope.strings.get(tok.v)!, scope, prFmtAt, depth + 1);
        if (!inner) segs.push({unknown: tok.v});
        else segs.push(...inner);
        sawString = true;
      } else {
        segs.push({unknown: tok.v});
      }
    } else {
      return null; // a comma, ternary or cast: not a plain format expression
    }
  }
  return sawString ? segs : null;
}

function activePrFmt(scope: FileScope, pos: number): {prefix: Seg[]; suffix: Seg[]} {
  let best: {prefix: Seg[]; suffix: Seg[]} = {prefix: [], suffix: []};
  for (const d of scope.prFmt) if (d.pos <= pos) best = d;
  return best;
}

/** `#define NAME body` lines (continuations joined), with the offset of `#`. */
function defines(text: string): {pos: number; name: string; params: string | null; body: string}[] {
  const out: {pos: number; name: string; params: string | null; body: string}[] = [];
  const re = /^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\([^)]*\))?(.*(?:\\\r?\n.*)*)/gm;
  for (const m of text.matchAll(re)) {
    out.push({pos: m.index!, name: m[1]!, params: m[2] ? m[2].slice(1, -1) : null, body: m[3]!.replace(/\\\r?\n/g, ' ').trim()});
  }
  return out;
}

function collectScope(text: string, scope: FileScope, posOverride: number | null): void {
  for (const d of defines(text)) {
    const pos = posOverride ?? d.pos;
    // `...` is __VA_ARGS__; GCC's named `args...` keeps its name and its dots (both take the rest).
    if (d.params !== null) scope.macroParams.set(d.name, d.params.split(',').map((p) => p.trim()).map((p) => (p === '...' ? '__VA_ARGS__...' : p)).filter(Boolean));
    if (d.name === 'pr_fmt' && d.params !== null) {
      const param = d.params.trim();
      const toks = tokenize(d.body);
      const commaAt = toks.findIndex((t) => t.t === 'comma');
      const head = commaAt >= 0 ? toks.slice(0, commaAt) : toks;
      const at = head.findIndex((t) => t.t === 'id' && t.v === param && t.call === null);
      const toSegs = (ts: Tok[]): Seg[] => {
        const segs: Seg[] = [];
        for (const t of ts) {
          if (t.t === 'str') segs.push({text: t.v});
          else if (t.t === 'id' && t.v in GLOBAL_STRING_MACROS && t.call === null) segs.push({text: GLOBAL_STRING_MACROS[t.v]!});
          else if (t.t === 'id' && scope.strings.has(t.v) && t.call === null) segs.push(...(resolveFormat(scope.strings.get(t.v)!, scope, null) ?? [{unknown: t.v}]));
          else if (t.t === 'id') segs.push({unknown: t.call !== null ? `${t.v}(...)` : t.v});
          else segs.push({unknown: 'pr_fmt'});
        }
        return segs;
      };
      if (at < 0) scope.prFmt.push({pos, prefix: [{unknown: 'pr_fmt'}], suffix: []});
      else scope.prFmt.push({pos, prefix: toSegs(head.slice(0, at)), suffix: toSegs(head.slice(at + 1))});
    } else if (d.params === null && /^(?:(?:u8|L)?"|[A-Z_][A-Z0-9_]*\s+")/.test(d.body)) {
      scope.strings.set(d.name, d.body);
    }
  }
}

// ---------------------------------------------------------------- functions

interface FnSpan {
  start: number;
  end: number;
  name: string;
}

const NOT_A_NAME = new Set(['__attribute__', '__printf', '__scanf', '__section', '__aligned', '__must_hold', '__acquires', '__releases', '__cond_acquires', 'if', 'for', 'while', 'switch', 'sizeof', 'typeof', '__typeof__', 'return', '__diag_ignore', 'alignas', '_Alignas', '__no_sanitize_address']);

/** Name of the function whose definition header is `header` (text before its `{`), or null. */
function functionName(header: string): string | null {
  const h = header.replace(/\s+/g, ' ').trim();
  if (!h.includes('(') || /(?:^|\W)(?:struct|union|enum)\s+\w+\s*$/.test(h)) return null;
  // `= {` initialisers are not functions; an `=` inside parentheses (default args in macros) is.
  let depth = 0;
  for (const c of h) {
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '=' && depth === 0) return null;
  }
  const re = /([A-Za-z_]\w*)\s*\(/g;
  for (const m of h.matchAll(re)) {
    const name = m[1]!;
    if (NOT_A_NAME.has(name)) {
      continue;
    }
    // Function-defining macros: SYSCALL_DEFINE3(name, ...), BPF_CALL_2(name, ...), COMPAT_SYSCALL_DEFINE1(name, ...).
    if (/^[A-Z][A-Z0-9_]*$/.test(name)) {
      const arg = /^\s*([A-Za-z_]\w*)/.exec(h.slice(m.index! + m[0].length));
      if (/SYSCALL_DEFINE/.test(name) && arg) return `sys_${arg[1]}`;
      if (arg) return `${name}(${arg[1]})`;
      return name;
    }
    return name;
  }
  return null;
}

/**
 * Top-level `{...}` blocks that are function bodies. Each #else/#elif branch
 * starts from the brace depth at its #if, and #endif goes on from the depth
 * after the first branch, so `#ifdef X / f(a) { / #else / f(b) { / #endif`
 * headers and functions defined in #else branches both come out right.
 */
function functionSpans(text: string): FnSpan[] {
  const spans: FnSpan[] = [];
  let depth = 0;
  let headerStart = 0;
  let cur: {start: number; name: string} | null = null;
  const conds: {atIf: number; afterFirst: number | null}[] = [];
  let i = 0;
  const n = text.length;
  let atLineStart = true;
  while (i < n) {
    const c = text[i]!;
    if (atLineStart) {
      const m = /^[ \t]*#[ \t]*(\w+)/.exec(text.slice(i, i + 40));
      if (m) {
        const dir = m[1]!;
        if (dir === 'if' || dir === 'ifdef' || dir === 'ifndef') conds.push({atIf: depth, afterFirst: null});
        else if (dir.startsWith('el') && conds.length) {
          const top = conds[conds.length - 1]!;
          top.afterFirst ??= depth;
          depth = top.atIf;
        } else if (dir === 'endif' && conds.length) {
          const top = conds.pop()!;
          if (top.afterFirst !== null) depth = top.afterFirst;
        }
        let k = i;
        while (k < n) {
          if (text[k] === '\n' && text[k - 1] !== '\\') break;
          k++;
        }
        if (depth === 0) headerStart = k + 1;
        i = k + 1;
        atLineStart = true;
        continue;
      }
    }
    atLineStart = c === '\n';
    if (c === '"' || c === "'") {
      i = skipQuoted(text, i);
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        const name = functionName(text.slice(headerStart, i));
        if (cur) spans.push({start: cur.start, end: i, name: cur.name}); // unclosed by a preprocessor branch
        cur = name ? {start: i, name} : null;
      }
      depth++;
    } else if (c === '}') {
      depth = Math.max(0, depth - 1);
      if (depth === 0) {
        if (cur) spans.push({start: cur.start, end: i, name: cur.name});
        cur = null;
        headerStart = i + 1;
      }
    } else if (c === ';' && depth === 0) {
      headerStart = i + 1;
    }
    i++;
  }
  if (cur) spans.push({start: cur.start, end: n, name: cur.name});
  return spans;
}

// ---------------------------------------------------------------- modules

const makefileCache = new Map<string, string>();
/** KBUILD_MODNAME of an object: the composite module listing it in its directory's Makefile, else the file's base name. */
function moduleName(root: string, rel: string): string {
  const dir = path.dirname(rel);
  const base = path.basename(rel).replace(/\.[ch]$/, '');
  let mk = makefileCache.get(dir);
  if (mk === undefined) {
    mk = '';
    for (const f of ['Makefile', 'Kbuild']) {
      try {
        mk += fs.readFileSync(path.join(root, dir, f), 'utf8').replace(/\\\n/g, ' ') + '\n';
      } catch {
        /* no such file */
      }
    }
    makefileCache.set(dir, mk);
  }
  // Only a composite *module* (X.o listed in obj-y/obj-m, built from X-y/X-objs) gives its objects its name;
  // helper lists like mm's `mmu-y` do not.
  const re = /^\s*([A-Za-z0-9_-]+)-(?:y|objs|\$\(CONFIG_[A-Za-z0-9_]+\))\s*[:+]?=(.*)$/gm;
  for (const m of mk.matchAll(re)) {
    const composite = m[1]!;
    if (['obj', 'lib', 'ccflags', 'subdir', 'asflags', 'ldflags', 'always', 'targets', 'extra', 'hostprogs'].includes(composite)) continue;
    if (!new RegExp(`(?:^|[\\s/])${base.replace(/[-.]/g, '\\$&')}\\.o(?:\\s|$)`).test(m[2]!)) continue;
    const asModule = new RegExp(`^\\s*obj-(?:y|m|\\$\\(CONFIG_[A-Za-z0-9_]+\\))\\s*[:+]?=.*(?:^|[\\s/])${composite.replace(/[-.]/g, '\\$&')}\\.o(?:\\s|$)`, 'm');
    if (asModule.test(mk)) return composite.replace(/-/g, '_');
  }
  return base.replace(/-/g, '_');
}

// ---------------------------------------------------------------- scanning


const CALL = /\b([A-Za-z_]\w*_(?:once|ONCE))\s*\(/g;
const SKIP_DIRS = new Set(['tools', 'scripts', 'Documentation', 'samples', 'usr', '.git']);
/** Matchers with fewer literal letters and digits than this match unrelated lines (`%s - version %s`). */
const MIN_LITERAL_CHARS = 10;

function scanFile(root: string, rel: string, entries: CatalogEntry[], matcherWords: Map<CatalogEntry, string[]>, longest: Map<CatalogEntry, string>): void {
  const raw = fs.readFileSync(path.join(root, rel), 'latin1');
  if (!/_once\s*\(|_ONCE\s*\(/.test(raw)) return;
  const text = stripComments(raw);
  const lines = new LineIndex(text);
  const scope: FileScope = {strings: new Map(), prFmt: [], modname: '', macroParams: new Map()};
  for (const inc of text.matchAll(/^[ \t]*#[ \t]*include[ \t]+"([^"]+)"/gm)) {
    try {
      const h = stripComments(fs.readFileSync(path.join(root, path.dirname(rel), inc[1]!), 'latin1'));
      collectScope(h, scope, inc.index!);
    } catch {
      /* header elsewhere */
    }
  }
  collectScope(text, scope, null);
  scope.prFmt.sort((a, b) => a.pos - b.pos);
  const defs = defines(text).map((d) => ({start: d.pos, end: d.pos + 8 + d.name.length + (d.params?.length ?? 0) + d.body.length + 64, name: d.name}));
  const spans = functionSpans(text);
  const perLine = new Map<number, number>();
  const inDefine = (pos: number): string | undefined => [...defs].reverse().find((d) => d.start <= pos && isInDefine(text, d.start, pos))?.name;
  const emit = (name: string, info: MacroInfo, pos: number, end: number | null, args: string[] | null, wrapper?: string): CatalogEntry | null => {
    const line = lines.lineOf(pos);
    const endLine = end !== null ? lines.lineOf(end - 1) : line;
    const n = (perLine.get(line) ?? 0) + 1;
    perLine.set(line, n);
    const entry: CatalogEntry = {
      id: `${rel}:${line}${n > 1 ? `#${n}` : ''}`,
      file: rel,
      line,
      ...(endLine !== line ? {end_line: endLine} : {}),
      function: spans.find((s) => s.start < pos && pos < s.end)?.name ?? null,
      macro: name,
      kind: info.kind,
      level: info.level,
      format: null,
      matcher: null,
    };
    if (wrapper) entry.wrapper = wrapper;
    const def = inDefine(pos);
    if (def) entry.in_macro = def;
    if (info.kind !== 'warn') {
      const isPrintk = describeMessage(entry, info, args, scope, pos, root, rel, matcherWords, longest);
      // i915_request_set_error_once(rq, err) and the like share the naming but print nothing.
      if (!isPrintk && info.fmtArg === -1 && info.kind === 'message') return null;
    }
    return entry;
  };
  for (const m of text.matchAll(CALL)) {
    const name = m[1]!;
    const info = classifyMacro(name);
    if (!info) continue;
    const pos = m.index!;
    // `#define pr_warn_once(fmt, ...)`: a definition, not a use.
    if (/#\s*define\s+$/.test(text.slice(Math.max(0, pos - 40), pos))) continue;
    const call = callArgs(text, pos + m[0].length - 1);
    const entry = emit(name, info, pos, call?.end ?? null, call?.args ?? null);
    if (!entry) continue;
    // A once-site in the body of a macro this file uses: every expansion has its own once-flag, its own
    // __FILE__:__LINE__ (what a WARNING header prints) and, when the format is a macro parameter, its own text.
    const uses = entry.in_macro && call ? wrapperUses(text, entry.in_macro, scope.macroParams.get(entry.in_macro), inDefine) : [];
    if (uses.length === 0) {
      entries.push(entry);
      continue;
    }
    for (const use of uses) {
      const args = call!.args.map((a) => substituteParams(a, use.bindings));
      const e = emit(name, info, use.pos, use.end, args, entry.in_macro);
      if (e) entries.push(e);
    }
  }
}

/** Calls of the function-like macro `name` outside #define bodies, with its parameters bound to the call's arguments. */
function wrapperUses(text: string, name: string, params: string[] | undefined, inDefine: (pos: number) => string | undefined): {pos: number; end: number; bindings: Map<string, string>}[] {
  if (!params) return [];
  const out: {pos: number; end: number; bindings: Map<string, string>}[] = [];
  for (const m of text.matchAll(new RegExp(`\\b${name}\\s*\\(`, 'g'))) {
    const pos = m.index!;
    if (/#\s*define\s+$/.test(text.slice(Math.max(0, pos - 40), pos)) || inDefine(pos)) continue;
    const call = callArgs(text, pos + m[0].length - 1);
    if (!call) continue;
    const bindings = new Map<string, string>();
    params.forEach((p, i) => {
      if (p.endsWith('...')) bindings.set(p.slice(0, -3), call.args.slice(i).join(', '));
      else bindings.set(p, call.args[i] ?? '');
    });
    out.push({pos, end: call.end, bindings});
  }
  return out;
}

/** Replace macro parameter names in an argument's text by the caller's arguments (`##` pasting dropped). */
function substituteParams(arg: string, bindings: Map<string, string>): string {
  return arg.replace(/#?#?\s*\b([A-Za-z_]\w*)\b/g, (whole, id: string) => (bindings.has(id) ? ` ${bindings.get(id)!} ` : whole));
}

/** Is `pos` inside the #define starting at `start` (continuation lines included)? */
function isInDefine(text: string, start: number, pos: number): boolean {
  let k = start;
  while (k < pos) {
    if (text[k] === '\n' && text[k - 1] !== '\\' && text[k - 2] !== '\\') return false;
    k++;
  }
  return true;
}

function describeMessage(
  entry: CatalogEntry,
  info: MacroInfo,
  args: string[] | null,
  scope: FileScope,
  pos: number,
  root: string,
  rel: string,
  matcherWords: Map<CatalogEntry, string[]>,
  longest: Map<CatalogEntry, string>,
): boolean {
  if (!args) {
    entry.note = 'unbalanced call';
    return false;
  }
  let segs: Seg[] | null = null;
  if (info.fmtArg >= 0) {
    const a = args[info.fmtArg];
    segs = a === undefined ? null : resolveFormat(a, scope, pos);
  } else {
    for (let i = 0; i < args.length && !segs; i++) segs = resolveFormat(args[i]!, scope, pos);
  }
  if (!segs) {
    entry.note = 'format is not a string expression';
    return false;
  }
  if (info.usesPrFmt) {
    const pf = activePrFmt(scope, pos);
    segs = [...pf.prefix, ...segs, ...pf.suffix];
  }
  if (rel.endsWith('.c') && segs.some((s) => 'unknown' in s && s.unknown === 'KBUILD_MODNAME')) entry.modname = moduleName(root, rel);
  const forRegex = segs.map((s) => ('text' in s ? s.text : UNKNOWN_PART)).join('');
  const display = segs.map((s) => ('text' in s ? s.text : `{${s.unknown}}`)).join('');
  const lv = stripLevelMarkers(forRegex);
  const shown = stripLevelMarkers(display).format;
  if (lv.level !== null) entry.level = lv.level;
  else if (entry.level === null) entry.level = 4; // printk without KERN_*: MESSAGE_LOGLEVEL_DEFAULT
  entry.format = shown.replace(/\n$/, '');
  // `#define orc_warn(fmt, ...) printk_deferred_once(KERN_WARNING "WARNING: " fmt, ...)`: the text comes from
  // the wrapper's callers, so the site alone cannot be matched.
  const params = entry.in_macro ? (scope.macroParams.get(entry.in_macro) ?? []).map((p) => p.replace(/\.\.\.$/, '')) : [];
  if (segs.some((s) => 'unknown' in s && (params.includes(s.unknown) || s.unknown === '__VA_ARGS__'))) {
    entry.note = `format comes from the callers of macro ${entry.in_macro}`;
    return true;
  }
  if (lv.cont) {
    entry.note = 'KERN_CONT: continues another line';
    return true;
  }
  const m = buildMatcher({format: lv.format, prefix: info.prefix});
  if (m.literalChars < MIN_LITERAL_CHARS) {
    entry.note = `too little literal text to match (${m.literalChars} characters)`;
    return true;
  }
  entry.matcher = m.regex;
  matcherWords.set(entry, m.words);
  longest.set(entry, m.longest);
  return true;
}

function walk(root: string, rel: string, out: string[]): void {
  for (const d of fs.readdirSync(path.join(root, rel), {withFileTypes: true})) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) {
      if (!(rel === '' && SKIP_DIRS.has(d.name))) walk(root, r, out);
    } else if (d.isFile() && /\.[ch]$/.test(d.name)) out.push(r);
  }
}

/** Pick each matcher's index key: its rarest whole word (length >= 3), else its longest literal. */
function chooseAnchors(matcherWords: Map<CatalogEntry, string[]>, longest: Map<CatalogEntry, string>): void {
  const df = new Map<string, number>();
  for (const words of matcherWords.values()) for (const w of new Set(words)) df.set(w, (df.get(w) ?? 0) + 1);
  for (const [entry, words] of matcherWords) {
    const usable = words.filter((w) => w.length >= 3 && !/^\d+$/.test(w));
    usable.sort((a, b) => df.get(a)! - df.get(b)! || b.length - a.length || a.localeCompare(b));
    if (usable.length) {
      entry.anchor = usable[0]!;
      entry.anchor_kind = 'word';
    } else if ((longest.get(entry) ?? '').length >= 4) {
      entry.anchor = longest.get(entry)!;
      entry.anchor_kind = 'substring';
    } else {
      entry.note = 'no literal anchor';
      entry.matcher = null;
    }
  }
}

// ---------------------------------------------------------------- supplement

/**
 * A hand-written entry: a message missing from the scanned sources, or
 * (`variant_of`) another kernel version's text of a scanned site, which then
 * lends the entry its file, line, function, macro and level.
 */
interface SupplementEntry {
  variant_of?: string;
  file?: string;
  line?: number | null;
  function?: string | null;
  macro?: string;
  level?: number;
  format: string;
  provenance: string;
}

function loadSupplement(file: string): SupplementEntry[] {
  if (!fs.existsSync(file)) return [];
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {entries: SupplementEntry[]};
  return doc.entries;
}

// ---------------------------------------------------------------- main

function kernelVersion(root: string): string {
  const mk = fs.readFileSync(path.join(root, 'Makefile'), 'utf8');
  const get = (k: string): string => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, 'm').exec(mk)?.[1] ?? '';
  return `${get('VERSION')}.${get('PATCHLEVEL')}.${get('SUBLEVEL')}${get('EXTRAVERSION')}`;
}

function packageVersion(tarball: string | null): string | null {
  if (!tarball) return null;
  const r = spawnSync('dpkg', ['-S', tarball], {encoding: 'utf8'});
  const pkg = r.status === 0 ? r.stdout.split(':')[0]!.trim() : null;
  if (!pkg) return null;
  const v = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], {encoding: 'utf8'});
  return v.status === 0 ? `${pkg} ${v.stdout.trim()}` : pkg;
}

function extract(tarball: string): {root: string; tmp: string} {
  if (!fs.existsSync(tarball)) fail(`${tarball} not found; install it with: apt-get install -y linux-source-6.12`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-linux-'));
  console.error(`extracting *.c, *.h, Makefiles of ${tarball} into ${tmp} ...`);
  const r = spawnSync('tar', ['-xJf', tarball, '-C', tmp, '--wildcards', '*.c', '*.h', '*/Makefile', '*/Kbuild'], {stdio: ['ignore', 'inherit', 'inherit']});
  const top = r.status === 0 ? fs.readdirSync(tmp).filter((d) => fs.statSync(path.join(tmp, d)).isDirectory()) : [];
  if (r.status !== 0 || top.length !== 1) {
    fs.rmSync(tmp, {recursive: true, force: true});
    fail(r.status !== 0 ? `tar failed with status ${r.status}` : `unexpected tarball layout: ${top.join(', ')}`);
  }
  return {root: path.join(tmp, top[0]!), tmp};
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  let root: string;
  let tmp: string | null = null;
  if (opts.src) root = path.resolve(opts.src);
  else ({root, tmp} = extract(opts.tarball!));
  try {
    const files: string[] = [];
    walk(root, '', files);
    files.sort();
    const entries: CatalogEntry[] = [];
    const matcherWords = new Map<CatalogEntry, string[]>();
    const longest = new Map<CatalogEntry, string>();
    for (const f of files) scanFile(root, f, entries, matcherWords, longest);
    for (const s of loadSupplement(opts.supplement)) {
      const base = s.variant_of ? entries.find((e) => e.id === s.variant_of) : undefined;
      if (s.variant_of && !base) fail(`supplement: variant_of ${s.variant_of} is not a site of this tree`);
      const format = decodeCString(s.format);
      const m = buildMatcher({format, prefix: 'none'});
      const e: CatalogEntry = {
        id: base ? `${base.id}~variant` : `${s.file}:${s.line ?? 'supplement'}`,
        file: s.file ?? base!.file,
        line: s.line ?? base?.line ?? 0,
        function: s.function !== undefined ? s.function : (base?.function ?? null),
        macro: s.macro ?? base!.macro,
        kind: base?.kind ?? 'message',
        level: s.level ?? base?.level ?? 4,
        format: format.replace(/\n$/, ''),
        matcher: m.regex,
        supplement: true,
        provenance: s.provenance,
      };
      entries.push(e);
      matcherWords.set(e, m.words);
      longest.set(e, m.longest);
    }
    chooseAnchors(matcherWords, longest);
    const kernel = kernelVersion(root);
    const counts: Record<string, number> = {};
    for (const e of entries) counts[e.macro] = (counts[e.macro] ?? 0) + 1;
    const doc = {
      description: 'One-time kernel message sites (printk/WARN *_once). Generated; do not edit. Rule printk/warn-once reads it.',
      kernel,
      package: packageVersion(opts.tarball),
      generated_at: new Date().toISOString().slice(0, 10),
      prerequisite: 'apt-get update && apt-get install -y linux-source-6.12',
      command: opts.src ? `npm run gen:warn-once -- --src ${opts.src}` : `npm run gen:warn-once -- --tarball ${opts.tarball}`,
      files_scanned: files.length,
      entries_total: entries.length,
      entries_with_matcher: entries.filter((e) => e.matcher).length,
      supplement_entries: entries.filter((e) => e.supplement).length,
      by_macro: Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1])),
      entries,
    };
    // One entry per line: readable diffs when the catalog is regenerated.
    const body = JSON.stringify({...doc, entries: []}, null, 2).replace(/"entries": \[\]\n\}$/, '"entries": [\n');
    const out = body + entries.map((e) => '    ' + JSON.stringify(e)).join(',\n') + '\n  ]\n}\n';
    fs.mkdirSync(path.dirname(opts.out), {recursive: true});
    fs.writeFileSync(opts.out, out);
    console.error(`kernel ${kernel}: ${files.length} files, ${entries.length} once sites (${doc.entries_with_matcher} with a message matcher) -> ${path.relative(process.cwd(), opts.out)}`);
  } finally {
    if (tmp && !opts.keep) fs.rmSync(tmp, {recursive: true, force: true});
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
