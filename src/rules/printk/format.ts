/**
 * printk format strings -> regular expressions that match the printed line.
 *
 * Shared by the catalog generator (scripts/gen-warn-once-catalog.ts), which
 * stores the regex source in data/warn-once-catalog.json, and by the tests.
 * The conversions follow lib/vsprintf.c: flags, width, precision and length
 * modifiers are accepted and ignored; `%p` consumes every alphanumeric
 * character after it (pointer extensions such as %pS, %ps, %pV, %pe, %pI4),
 * so `%ps and` is `%ps` + ` and`.
 */

/** Stands for a macro the generator could not resolve (e.g. a driver's name macro); matches any text. */
export const UNKNOWN_PART = '\uE000';

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

/** A format string cut into literal text and conversions (with their regex). */
export type FormatPart = {kind: 'lit'; text: string} | {kind: 'conv'; spec: string; regex: string};

export interface FormatRegex {
  /** Regex source for the first printed line (no anchors). */
  source: string;
  /** Literal text and conversions of the first line, in order. */
  parts: FormatPart[];
  /** The format ends its first line (`\n`): nothing may follow on that line. */
  endsLine: boolean;
}

const INT_DEC = '-?\\d+';
const INT_UNSIGNED = '\\d+';
const INT_HEX = '(?:0[xX])?[0-9a-fA-F]+';
const INT_OCT = '0?[0-7]+';
export const ANY = '.*?';

/** One conversion, from `%` to the conversion character inclusive. */
const CONVERSION = /^%([-+ #0']*)(\d+|\*)?(?:\.(\d+|\*)?)?(hh|h|ll|l|L|q|j|z|Z|t)?([a-zA-Z])/;
/** Pointer conversion: `%p` plus every alphanumeric after it (vsprintf skips them all). */
const POINTER = /^%[-+ #0]*(\d+|\*)?(?:\.(\d+|\*)?)?p([a-zA-Z0-9]*)/;

function conversionRegex(flags: string, width: string | undefined, conv: string): string {
  // A width pads with spaces unless the 0 or - flag is given.
  const pad = width !== undefined && !flags.includes('0') && !flags.includes('-') ? ' *' : '';
  switch (conv) {
    case 'd':
    case 'i':
      return pad + (flags.includes('+') ? '[-+]?\\d+' : INT_DEC);
    case 'u':
      return pad + INT_UNSIGNED;
    case 'x':
    case 'X':
      return pad + INT_HEX;
    case 'o':
      return pad + INT_OCT;
    case 'c':
      return '[\\s\\S]?';
    default:
      // %s, and conversions the kernel does not support (%e %f %g %n): any text.
      return ANY;
  }
}

/**
 * Cut a format string (C escapes decoded, KERN_ level markers removed) into
 * parts and build the regex source of its first printed line. UNKNOWN_PART
 * characters (unresolved macros) become wildcards.
 */
export function formatToRegex(format: string): FormatRegex {
  const nl = format.indexOf('\n');
  const firstLine = nl >= 0 ? format.slice(0, nl) : format;
  const parts: FormatPart[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit) parts.push({kind: 'lit', text: lit});
    lit = '';
  };
  const conv = (spec: string, regex: string): void => {
    flush();
    parts.push({kind: 'conv', spec, regex});
  };
  let i = 0;
  while (i < firstLine.length) {
    const ch = firstLine[i]!;
    if (ch === UNKNOWN_PART) {
      conv('{?}', ANY);
      i++;
      continue;
    }
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    const rest = firstLine.slice(i);
    if (rest.startsWith('%%')) {
      lit += '%';
      i += 2;
      continue;
    }
    const ptr = POINTER.exec(rest);
    if (ptr) {
      const ext = ptr[3] ?? '';
      // Bare %p / %px / %pK print one address-like word; the extensions print symbols, names, buffers.
      conv(ptr[0], ext === '' || ext === 'x' || ext === 'K' ? '\\S+' : ANY);
      i += ptr[0].length;
      continue;
    }
    const m = CONVERSION.exec(rest);
    if (!m) {
      // A `%` before nothing vsprintf knows is printed as is.
      lit += '%';
      i++;
      continue;
    }
    conv(m[0], conversionRegex(m[1] ?? '', m[2], m[5]!));
    i += m[0].length;
  }
  flush();
  return {source: partsToRegex(parts), parts, endsLine: nl >= 0};
}

export function partsToRegex(parts: FormatPart[]): string {
  let source = '';
  for (const p of parts) {
    if (p.kind === 'lit') source += escapeRegex(p.text);
    else if (!(p.regex === ANY && source.endsWith(ANY))) source += p.regex; // one wildcard is enough
  }
  return source;
}

/** What the printk wrapper puts before the format (see lib/vsprintf.c callers in drivers/base/core.c, net/core/dev.c). */
export type PrefixKind =
  | 'none' // pr_*, printk: the line starts with pr_fmt(format)
  | 'device' // dev_*: "driver devname: " or "(NULL device *): "
  | 'netdev' // netdev_*: "driver devname ifname: " or "(NULL net_device): "
  | 'unknown'; // other families (drm_, ibdev_, ...): anything may come first

export interface MatcherInput {
  /** Decoded format (first line matters), pr_fmt prefix already applied. */
  format: string;
  prefix: PrefixKind;
}

export interface Matcher {
  /** Anchored regex source for the log line's text. */
  regex: string;
  /** Literal words that appear as whole words in every matching line (candidates for the index). */
  words: string[];
  /** Longest literal run (trimmed): a substring every matching line contains. */
  longest: string;
  /** Count of literal letters and digits: how specific the matcher is. */
  literalChars: number;
}

const WORD = /[A-Za-z0-9_]+/g;

export function buildMatcher(input: MatcherInput): Matcher {
  const fr = formatToRegex(input.format);
  const parts = fr.parts.slice();
  // Log readers may drop trailing blanks; the line end is matched loosely.
  if (fr.endsLine) {
    const last = parts[parts.length - 1];
    if (last?.kind === 'lit') {
      const t = last.text.replace(/\s+$/, '');
      if (t) parts[parts.length - 1] = {kind: 'lit', text: t};
      else parts.pop();
    }
  }
  const head = input.prefix === 'none' ? '' : input.prefix === 'unknown' ? ANY : '.+?: ';
  const body = partsToRegex(parts);
  const regex = '^' + head + body + (fr.endsLine ? '\\s*$' : '');
  const words = new Set<string>();
  let longest = '';
  let literalChars = 0;
  parts.forEach((p, idx) => {
    if (p.kind !== 'lit') return;
    literalChars += p.text.replace(/[^A-Za-z0-9]/g, '').length;
    const trimmed = p.text.trim();
    if (trimmed.length > longest.length) longest = trimmed;
    // A word touching a conversion may be glued to printed text; at the line start it is whole only
    // when nothing but a ": " style prefix can come before it, at the end only when the line ends there.
    const openStart = idx === 0 && input.prefix !== 'unknown';
    const openEnd = idx === parts.length - 1 && fr.endsLine;
    for (const m of p.text.matchAll(WORD)) {
      const s = m.index!;
      const e = s + m[0].length;
      const okStart = s > 0 || openStart;
      const okEnd = e < p.text.length || openEnd;
      if (okStart && okEnd) words.add(m[0]);
    }
  });
  return {regex, words: [...words], longest, literalChars};
}

/** Whole words of a log line, as the index looks them up. */
export function lineWords(text: string): string[] {
  return text.match(WORD) ?? [];
}

/**
 * Decode the body of one C string literal (without its quotes): \n \t \\ \"
 * \' \a \b \f \r \v \e, octal \NNN and hex \xHH escapes.
 */
export function decodeCString(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const n = body[++i];
    if (n === undefined) break;
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case 'x': {
        const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))?.[0] ?? '';
        out += String.fromCharCode(hex ? parseInt(hex, 16) : 0);
        i += hex.length;
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const oct = /^[0-7]{1,3}/.exec(body.slice(i))![0];
          out += String.fromCharCode(parseInt(oct, 8));
          i += oct.length - 1;
        } else {
          out += n; // \\ \" \' \? and unknown escapes stand for themselves
        }
    }
  }
  return out;
}

/** printk level markers: KERN_SOH ("\001") followed by a level digit or `c` (KERN_CONT). */
export function stripLevelMarkers(format: string): {format: string; level: number | null; cont: boolean} {
  let level: number | null = null;
  let cont = false;
  let f = format;
  while (f.length >= 2 && f[0] === '\x01') {
    const c = f[1]!;
    if (c >= '0' && c <= '7') level = Number(c);
    else if (c === 'c') cont = true;
    f = f.slice(2);
  }
  return {format: f, level, cont};
}
