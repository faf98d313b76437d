/**
 * Readable names for mangled symbols in kernel stack frames, the way
 * syzkaller titles show them: Rust v0 (RFC 2603, `_R...`; kernel Rust code
 * is built with it), legacy Rust (`_ZN...17h<hash>E`, hash dropped, `$LT$`
 * escapes decoded) and Itanium C++ (`_Z...`, the function's qualified name
 * with template arguments but without parameter list or return type).
 *
 * A symbol that does not parse completely under its grammar is returned
 * exactly as it was: a half-demangled or guessed name would merge or split
 * bugs in titles. A compiler suffix (`.isra.0`, `.cold`, `.llvm.123`) is
 * kept as printed after the demangled name.
 */
export function demangle(symbol: string): string {
  // Every frame of every report passes here: plain C names leave at once.
  if (symbol.length < 4 || symbol.charCodeAt(0) !== 0x5f /* _ */) return symbol;
  const kind = symbol[1];
  if (kind !== 'R' && kind !== 'Z') return symbol;
  try {
    if (kind === 'R') return demangleRustV0(symbol);
    return demangleLegacyRust(symbol) ?? demangleItanium(symbol);
  } catch (e) {
    if (e instanceof Unparsed) return symbol;
    throw e;
  }
}

/**
 * A legacy Rust symbol as it appears in a frame (`_ZN...17h<hash>E`): its `$LT$`-style escapes
 * and `..` path separators belong to the name, they are not a `.suffix`. Rust v0 and C++ symbols
 * are plain identifiers.
 */
export const LEGACY_RUST_SYMBOL = '_ZN[a-zA-Z0-9_.$]*?17h[0-9a-f]{16}E';

/** The symbol is not (fully) understood: demangle() keeps it as is. */
class Unparsed extends Error {}
function fail(): never {
  throw new Unparsed();
}

/** Caps that keep hostile input (deep nesting, backrefs that double the output) cheap. */
const MAX_DEPTH = 200;
const MAX_OUTPUT = 4096;
/** Backrefs re-parse earlier parts of the symbol: a chain of them must not cost exponential time. */
const MAX_STEPS = 20_000;
/** Saturation value of base-62 numbers (see RustV0.base62). */
const HUGE = 2 ** 40;

/** `.isra.0`, `.constprop.1.cold`, `.llvm.1234`: compiler clone and LTO suffixes, kept verbatim. */
const SUFFIX = /^(?:[.$][A-Za-z0-9_$]+)+$/;

// ---------------------------------------------------------------------------
// Rust v0 (RFC 2603)

const RUST_BASIC_TYPES: Record<string, string> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32', m: 'u32',
  n: 'i128', o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
};
const RUST_INT_TYPES = new Set(['a', 'h', 'i', 'j', 'l', 'm', 'n', 'o', 's', 't', 'x', 'y']);
const RUST_SIGNED = new Set(['a', 'i', 'l', 'n', 's', 'x']);

function demangleRustV0(symbol: string): string {
  // `_R` then a path: an encoding version (digits) is not supported by any compiler yet.
  const p = new RustV0(symbol.slice(2));
  if (!/^[A-Z]/.test(p.s)) fail();
  p.path(true);
  // The crate that instantiated a generic item: parsed, not shown.
  if (p.pos < p.s.length && !'.$'.includes(p.s[p.pos]!)) p.quietly(() => p.path(false));
  const rest = p.s.slice(p.pos);
  if (rest !== '' && !SUFFIX.test(rest)) fail();
  return p.out + rest;
}

/** Reading position in a mangled symbol, with the caps that stop hostile input (MAX_DEPTH, MAX_STEPS). */
abstract class SymbolCursor {
  pos = 0;
  private depth = 0;
  private steps = 0;

  constructor(readonly s: string) {}

  protected peek(off = 0): string | undefined {
    return this.s[this.pos + off];
  }

  protected next(): string {
    const c = this.s[this.pos];
    if (c === undefined) fail();
    this.pos++;
    return c;
  }

  protected eat(c: string): boolean {
    if (this.s[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  protected nest<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH || ++this.steps > MAX_STEPS) fail();
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
}

class RustV0 extends SymbolCursor {
  out = '';
  private silent = 0;
  /** Lifetimes bound by enclosing `for<...>` binders. */
  private boundLifetimes = 0;

  private print(text: string): void {
    if (this.silent > 0) return;
    this.out += text;
    if (this.out.length > MAX_OUTPUT) fail();
  }

  quietly(parse: () => void): void {
    this.silent++;
    try {
      parse();
    } finally {
      this.silent--;
    }
  }

  /**
   * `<base-62-number>`: `_` is 0, else digits 0-9a-zA-Z then `_`, plus one.
   * Crate disambiguators are 64-bit hashes: values from HUGE up are only
   * parsed (never printed, and too large for a backref or a lifetime).
   */
  private base62(): number {
    if (this.eat('_')) return 0;
    let n = 0;
    for (;;) {
      const c = this.next();
      if (c === '_') break;
      let d: number;
      if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
      else if (c >= 'a' && c <= 'z') d = c.charCodeAt(0) - 97 + 10;
      else if (c >= 'A' && c <= 'Z') d = c.charCodeAt(0) - 65 + 36;
      else fail();
      n = Math.min(n * 62 + d, HUGE);
    }
    return Math.min(n + 1, HUGE);
  }

  /** `tag <base-62-number>` when present, 0 when absent (disambiguators, binders). */
  private optBase62(tag: string): number {
    return this.eat(tag) ? this.base62() + 1 : 0;
  }

  private decimal(): number {
    const start = this.pos;
    if (this.peek() === '0') {
      this.pos++;
      return 0;
    }
    while (this.pos < this.s.length && this.s[this.pos]! >= '0' && this.s[this.pos]! <= '9') this.pos++;
    if (this.pos === start || this.pos - start > 6) fail();
    return Number(this.s.slice(start, this.pos));
  }

  /** `[u] <decimal> [_] <bytes>`; `u` marks a Punycode-encoded name. */
  private identifier(): string {
    const puny = this.eat('u');
    const len = this.decimal();
    this.eat('_');
    const bytes = this.s.slice(this.pos, this.pos + len);
    if (bytes.length !== len) fail();
    this.pos += len;
    if (!/^[A-Za-z0-9_]*$/.test(bytes)) fail();
    return puny ? punycodeDecode(bytes) : bytes;
  }

  /** Jump to an earlier position (`B <base-62-number>`), parse there, come back. */
  private backref(parse: () => void): void {
    const at = this.pos - 1;
    const target = this.base62();
    if (target >= at) fail();
    const saved = this.pos;
    this.pos = target;
    this.nest(parse);
    this.pos = saved;
  }

  path(inValue: boolean): void {
    this.nest(() => this.pathInner(inValue));
  }

  private pathInner(inValue: boolean): void {
    const tag = this.next();
    switch (tag) {
      case 'C': {
        this.optBase62('s');
        this.print(this.identifier());
        return;
      }
      case 'M': {
        this.implPath();
        this.print('<');
        this.type();
        this.print('>');
        return;
      }
      case 'X':
      case 'Y': {
        // A trait impl (`X`, with the impl's own path, not shown) or a trait definition (`Y`): `<Type as Trait>`.
        if (tag === 'X') this.implPath();
        this.print('<');
        this.type();
        this.print(' as ');
        this.path(false);
        this.print('>');
        return;
      }
      case 'N': {
        const ns = this.next();
        if (!/[A-Za-z]/.test(ns)) fail();
        this.path(inValue);
        const dis = this.optBase62('s');
        const name = this.identifier();
        if (ns >= 'A' && ns <= 'Z') {
          // Special namespaces: closures and shims have no source name of their own.
          if (dis >= HUGE) fail();
          const kind = ns === 'C' ? 'closure' : ns === 'S' ? 'shim' : ns;
          this.print(`::{${kind}${name ? ':' + name : ''}#${dis}}`);
        } else {
          if (name === '') fail();
          this.print('::' + name);
        }
        return;
      }
      case 'I': {
        this.path(inValue);
        if (inValue) this.print('::');
        this.print('<');
        this.genericArgs();
        this.print('>');
        return;
      }
      case 'B':
        this.backref(() => this.pathInner(inValue));
        return;
      default:
        fail();
    }
  }

  /** The path of the impl block itself: needed to parse, not shown (the self type says more). */
  private implPath(): void {
    this.quietly(() => {
      this.optBase62('s');
      this.path(false);
    });
  }

  /** `{<generic-arg>} E`, comma-separated. */
  private genericArgs(): void {
    for (let i = 0; !this.eat('E'); i++) {
      if (i > 0) this.print(', ');
      if (this.eat('L')) this.lifetime(this.base62());
      else if (this.eat('K')) this.constValue();
      else this.type();
    }
  }

  private lifetime(index: number): void {
    if (index === 0) {
      this.print("'_");
      return;
    }
    const depth = this.boundLifetimes - index;
    if (depth < 0) fail();
    this.print(depth < 26 ? "'" + String.fromCharCode(97 + depth) : `'_${depth}`);
  }

  /** `for<'a, ...> ` of fn pointers and dyn traits, then the bound part. */
  private binder(parse: () => void): void {
    const n = this.optBase62('G');
    if (n > 26 * 4) fail();
    if (n > 0) {
      this.print('for<');
      for (let i = 0; i < n; i++) {
        if (i > 0) this.print(', ');
        this.boundLifetimes++;
        this.lifetime(1);
      }
      this.print('> ');
    }
    try {
      parse();
    } finally {
      this.boundLifetimes -= n;
    }
  }

  type(): void {
    this.nest(() => this.typeInner());
  }

  private typeInner(): void {
    const tag = this.next();
    const basic = RUST_BASIC_TYPES[tag];
    if (basic !== undefined) {
      this.print(basic);
      return;
    }
    switch (tag) {
      case 'R':
      case 'Q': {
        this.print('&');
        if (this.eat('L')) {
          const lt = this.base62();
          if (lt !== 0) {
            this.lifetime(lt);
            this.print(' ');
          }
        }
        if (tag === 'Q') this.print('mut ');
        this.type();
        return;
      }
      case 'P':
        this.print('*const ');
        this.type();
        return;
      case 'O':
        this.print('*mut ');
        this.type();
        return;
      case 'A':
        this.print('[');
        this.type();
        this.print('; ');
        this.constValue();
        this.print(']');
        return;
      case 'S':
        this.print('[');
        this.type();
        this.print(']');
        return;
      case 'T': {
        this.print('(');
        let n = 0;
        for (; !this.eat('E'); n++) {
          if (n > 0) this.print(', ');
          this.type();
        }
        if (n === 1) this.print(',');
        this.print(')');
        return;
      }
      case 'F':
        this.binder(() => this.fnSig());
        return;
      case 'D':
        this.print('dyn ');
        this.binder(() => {
          for (let i = 0; !this.eat('E'); i++) {
            if (i > 0) this.print(' + ');
            this.dynTrait();
          }
        });
        if (!this.eat('L')) fail();
        {
          const lt = this.base62();
          if (lt !== 0) {
            this.print(' + ');
            this.lifetime(lt);
          }
        }
        return;
      case 'B':
        this.backref(() => this.typeInner());
        return;
      default:
        // Any other path (crate root, nested, impl, generic) names a type.
        this.pos--;
        this.path(false);
    }
  }

  private fnSig(): void {
    if (this.eat('U')) this.print('unsafe ');
    if (this.eat('K')) {
      let abi: string;
      if (this.eat('C')) abi = 'C';
      else {
        const len = this.decimal();
        this.eat('_');
        abi = this.s.slice(this.pos, this.pos + len);
        if (abi.length !== len || !/^[A-Za-z0-9_]+$/.test(abi)) fail();
        this.pos += len;
        abi = abi.replace(/_/g, '-');
      }
      this.print(`extern "${abi}" `);
    }
    this.print('fn(');
    for (let i = 0; !this.eat('E'); i++) {
      if (i > 0) this.print(', ');
      this.type();
    }
    this.print(')');
    if (this.eat('u')) return;
    this.print(' -> ');
    this.type();
  }

  /** A trait of a `dyn` type, with its associated-type bindings inside its generic arguments. */
  private dynTrait(): void {
    const open = this.pathMaybeOpenGenerics();
    let bindings = 0;
    while (this.eat('p')) {
      this.print(open || bindings > 0 ? ', ' : '<');
      bindings++;
      this.print(this.identifier());
      this.print(' = ');
      this.type();
    }
    if (open || bindings > 0) this.print('>');
  }

  /** Like path(false), but leaves a trailing `<args` unclosed so bindings can follow; true when it did. */
  private pathMaybeOpenGenerics(): boolean {
    if (this.eat('B')) {
      let open = false;
      this.backref(() => {
        open = this.pathMaybeOpenGenerics();
      });
      return open;
    }
    if (this.eat('I')) {
      this.path(false);
      this.print('<');
      this.genericArgs();
      return true;
    }
    this.path(false);
    return false;
  }

  /** `<type> <const-data>` of integers, bool and char, `p` (placeholder) or a backref. */
  private constValue(): void {
    this.nest(() => {
      const tag = this.next();
      if (tag === 'p') {
        this.print('_');
        return;
      }
      if (tag === 'B') {
        this.backref(() => this.constValue());
        return;
      }
      const negative = this.eat('n');
      const start = this.pos;
      while (this.pos < this.s.length && /[0-9a-f]/.test(this.s[this.pos]!)) this.pos++;
      const hex = this.s.slice(start, this.pos);
      if (!this.eat('_')) fail();
      const value = hex === '' ? 0n : BigInt('0x' + hex);
      if (RUST_INT_TYPES.has(tag)) {
        if (negative && !RUST_SIGNED.has(tag)) fail();
        this.print((negative ? '-' : '') + value.toString());
      } else if (tag === 'b' && !negative && value <= 1n) {
        this.print(value === 1n ? 'true' : 'false');
      } else if (tag === 'c' && !negative && value >= 0x20n && value < 0x7fn) {
        const ch = String.fromCharCode(Number(value));
        this.print(ch === "'" || ch === '\\' ? `'\\${ch}'` : `'${ch}'`);
      } else {
        fail();
      }
    });
  }
}

/** RFC 3492 Punycode as RFC 2603 uses it: `_` instead of `-` ends the plain part. */
function punycodeDecode(encoded: string): string {
  const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
  const cut = encoded.lastIndexOf('_');
  const output = cut >= 0 ? [...encoded.slice(0, cut)].map((c) => c.codePointAt(0)!) : [];
  let rest = cut >= 0 ? encoded.slice(cut + 1) : encoded;
  if (rest === '') fail();
  let n = 128;
  let bias = 72;
  let i = 0;
  let first = true;
  while (rest !== '') {
    const oldI = i;
    let w = 1;
    for (let k = base; ; k += base) {
      const c = rest[0];
      if (c === undefined) fail();
      rest = rest.slice(1);
      const digit = c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 97 : c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 + 26 : fail();
      i += digit * w;
      const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
      if (digit < t) break;
      w *= base - t;
      if (i > 0x10ffff * 64 || w > 0x10ffff * 64) fail();
    }
    const len = output.length + 1;
    let delta = first ? Math.floor((i - oldI) / damp) : Math.floor((i - oldI) / 2);
    first = false;
    delta += Math.floor(delta / len);
    let k = 0;
    while (delta > ((base - tMin) * tMax) >> 1) {
      delta = Math.floor(delta / (base - tMin));
      k += base;
    }
    bias = k + Math.floor(((base - tMin + 1) * delta) / (delta + skew));
    n += Math.floor(i / len);
    i %= len;
    // Identifiers never hold control characters (C1 included) or surrogates.
    if (n > 0x10ffff || n < 0xa0 || (n >= 0xd800 && n <= 0xdfff)) fail();
    output.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...output);
}

// ---------------------------------------------------------------------------
// Legacy Rust: `_ZN` {<length><name>} `17h<16 hex>` `E`

const LEGACY_ESCAPES: Record<string, string> = {SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ','};

/** The demangled path, or null when the symbol is not a legacy Rust one (it may still be C++). */
function demangleLegacyRust(symbol: string): string | null {
  if (!symbol.startsWith('_ZN')) return null;
  const parts: string[] = [];
  let pos = 3;
  while (symbol[pos] !== 'E') {
    const m = /^[1-9][0-9]{0,5}/.exec(symbol.slice(pos, pos + 6));
    if (!m) return null;
    pos += m[0].length;
    const part = symbol.slice(pos, pos + Number(m[0]));
    if (part.length !== Number(m[0])) return null;
    parts.push(part);
    pos += part.length;
  }
  const rest = symbol.slice(pos + 1);
  // The hash is what tells rustc's symbols from C++ ones: a C++ function has its parameter types after `E`.
  const hash = parts[parts.length - 1];
  if (parts.length < 2 || !/^h[0-9a-f]{16}$/.test(hash!) || (rest !== '' && !SUFFIX.test(rest))) return null;
  return parts.slice(0, -1).map(unescapeLegacy).join('::') + rest;
}

function unescapeLegacy(part: string): string {
  let s = part.startsWith('_$') ? part.slice(1) : part;
  let out = '';
  while (s !== '') {
    if (s.startsWith('..')) {
      out += '::';
      s = s.slice(2);
    } else if (s[0] === '$') {
      const end = s.indexOf('$', 1);
      if (end < 0) fail();
      const code = s.slice(1, end);
      let ch = LEGACY_ESCAPES[code];
      if (ch === undefined && /^u[0-9a-f]{1,6}$/.test(code)) {
        const cp = parseInt(code.slice(1), 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail();
        ch = String.fromCodePoint(cp);
      }
      if (ch === undefined) fail();
      out += ch;
      s = s.slice(end + 1);
    } else {
      const m = /^[A-Za-z0-9_.]/.exec(s);
      if (!m) fail();
      out += m[0];
      s = s.slice(1);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Itanium C++ ABI: `_Z <encoding>`, shown as the function name without parameters

/** A parsed C++ type, kept structured so pointers to functions and arrays print with their parentheses. */
type CxxType =
  | {k: 'name'; s: string}
  | {k: 'cv'; q: string; t: CxxType}
  | {k: 'ptr'; op: string; t: CxxType}
  | {k: 'fn'; ret: CxxType; params: CxxType[]}
  | {k: 'array'; dim: string; t: CxxType}
  | {k: 'member'; cls: CxxType; t: CxxType};

const CXX_BUILTIN: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short', t: 'unsigned short',
  i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long', y: 'unsigned long long', n: '__int128',
  o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double', g: '__float128', z: '...',
};
const CXX_BUILTIN_D: Record<string, string> = {n: 'decltype(nullptr)', i: 'char32_t', s: 'char16_t', u: 'char8_t'};

/** Integer literal suffixes as c++filt prints them (`Lj3E` is `3u`). */
const CXX_LITERAL_SUFFIX: Record<string, string> = {i: '', j: 'u', l: 'l', m: 'ul', x: 'll', y: 'ull'};

const CXX_OPERATORS: Record<string, string> = {
  nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', ps: '+', ng: '-', ad: '&', de: '*', co: '~', pl: '+', mi: '-',
  ml: '*', dv: '/', rm: '%', an: '&', or: '|', eo: '^', aS: '=', pL: '+=', mI: '-=', mL: '*=', dV: '/=', rM: '%=',
  aN: '&=', oR: '|=', eO: '^=', ls: '<<', rs: '>>', lS: '<<=', rS: '>>=', eq: '==', ne: '!=', lt: '<', gt: '>',
  le: '<=', ge: '>=', ss: '<=>', nt: '!', aa: '&&', oo: '||', pp: '++', mm: '--', cm: ',', pm: '->*', pt: '->',
  cl: '()', ix: '[]', qu: '?',
};

/** Standard abbreviations; the class name is what a constructor or destructor after them is called. */
const CXX_STD_SUBS: Record<string, {s: string; cls: string | null}> = {
  a: {s: 'std::allocator', cls: 'allocator'},
  b: {s: 'std::basic_string', cls: 'basic_string'},
  // These name specializations; their constructors would need the full template spelled out.
  s: {s: 'std::string', cls: null},
  i: {s: 'std::istream', cls: null},
  o: {s: 'std::ostream', cls: null},
  d: {s: 'std::iostream', cls: null},
};

function demangleItanium(symbol: string): string {
  const p = new Itanium(symbol);
  p.pos = 2;
  // Special names (vtables, typeinfo, guard variables, thunks) do not name a function.
  if (p.s[2] === 'T' || p.s[2] === 'G') fail();
  const name = p.name();
  // The parameter types (with the return type first for templates) are not shown, but must parse.
  while (p.pos < p.s.length && p.s[p.pos] !== '.') p.type();
  const rest = p.s.slice(p.pos);
  if (rest !== '' && !SUFFIX.test(rest)) fail();
  return capped(name.text) + rest;
}

interface CxxName {
  text: string;
  /** The last source name, for constructors and destructors that follow. */
  cls: string | null;
}

class Itanium extends SymbolCursor {
  private subs: CxxType[] = [];
  /** Template arguments of the entity being encoded, for `T_` references. */
  private templateArgs: CxxType[] | null = null;

  private number(): number {
    const m = /^[0-9]{1,6}/.exec(this.s.slice(this.pos, this.pos + 6));
    if (!m || (m[0].length > 1 && m[0][0] === '0')) fail();
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private sourceName(): string {
    const len = this.number();
    if (len === 0) fail();
    const id = this.s.slice(this.pos, this.pos + len);
    if (id.length !== len || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(id)) fail();
    this.pos += len;
    return id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id;
  }

  private addSub(t: CxxType): void {
    if (this.subs.length > 10_000) fail();
    this.subs.push(t);
  }

  /** `<name>`: nested, `St`-scoped, unscoped, or a substitution followed by template arguments. */
  name(): CxxName {
    return this.nest(() => {
      const c = this.peek();
      if (c === 'N') return this.nestedName();
      if (c === 'Z') fail(); // local names (entities inside a function body)
      if (c === 'S' && this.peek(1) !== 't') {
        const sub = this.substitution();
        if (this.peek() !== 'I') fail();
        const args = this.templateArgList(true);
        return {text: sub.text + args, cls: sub.cls};
      }
      let prefix = '';
      if (c === 'S') {
        this.pos += 2;
        prefix = 'std::';
      }
      const u = this.unqualifiedName(null);
      const name = {text: prefix + u.text, cls: u.cls};
      if (this.peek() === 'I') {
        this.addSub({k: 'name', s: name.text});
        name.text += this.templateArgList(true);
      }
      return name;
    });
  }

  private nestedName(): CxxName {
    this.pos++; // N
    while (this.peek() === 'r' || this.peek() === 'V' || this.peek() === 'K') this.pos++;
    if (this.peek() === 'R' || this.peek() === 'O') this.pos++;
    let text = '';
    let cls: string | null = null;
    let components = 0;
    while (!this.eat('E')) {
      const c = this.peek();
      if (c === 'I') {
        if (components === 0) fail();
        text += this.templateArgList(true);
      } else if (c === 'S' && components === 0) {
        if (this.peek(1) === 't') {
          this.pos += 2;
          text = 'std';
          cls = 'std';
          // `St` itself is never a substitution candidate.
          components++;
          continue;
        }
        const sub = this.substitution();
        text = sub.text;
        cls = sub.cls;
        components++;
        // A substitution is already in the table.
        continue;
      } else if (c === 'T' && components === 0) {
        const t = this.templateParam();
        text = print(t);
        cls = null;
      } else {
        const u = this.unqualifiedName(cls);
        text = text === '' ? u.text : `${text}::${u.text}`;
        cls = u.cls;
      }
      components++;
      if (this.peek() !== 'E') this.addSub({k: 'name', s: text});
    }
    if (components === 0) fail();
    return {text, cls};
  }

  /** A source name, operator, constructor/destructor (named after `cls`), optionally with ABI tags. */
  private unqualifiedName(cls: string | null): CxxName {
    let c = this.peek();
    if (c === 'L') {
      // Internal linkage (a static function): same name.
      this.pos++;
      c = this.peek();
    }
    let u: CxxName;
    if (c !== undefined && c >= '0' && c <= '9') {
      const id = this.sourceName();
      u = {text: id, cls: id};
    } else if (c === 'C' || c === 'D') {
      const kind = this.s.slice(this.pos, this.pos + 2);
      if (!/^(?:C[123]|D[012])$/.test(kind) || cls === null) fail();
      this.pos += 2;
      u = {text: c === 'C' ? cls : '~' + cls, cls};
    } else if (c !== undefined && c >= 'a' && c <= 'z') {
      u = this.operatorName();
    } else {
      fail();
    }
    while (this.eat('B')) u = {text: `${u.text}[abi:${this.sourceName()}]`, cls: u.cls};
    return u;
  }

  private operatorName(): CxxName {
    const code = this.s.slice(this.pos, this.pos + 2);
    this.pos += 2;
    if (code === 'cv') {
      const saved = this.templateArgs;
      const t = this.type();
      this.templateArgs = saved;
      return {text: `operator ${print(t)}`, cls: null};
    }
    if (code === 'li') return {text: `operator"" ${this.sourceName()}`, cls: null};
    const op = CXX_OPERATORS[code];
    if (op === undefined) fail();
    // `operator< <int>` keeps the template's angle bracket apart from the operator's.
    const text = `operator${/^[a-z]/.test(op) ? ' ' : ''}${op}${op.endsWith('<') && this.peek() === 'I' ? ' ' : ''}`;
    return {text, cls: null};
  }

  /** `S_`, `S<seq-id>_` or a standard abbreviation. */
  private substitution(): CxxName & {type: CxxType} {
    this.pos++; // S
    const c = this.next();
    const std = CXX_STD_SUBS[c];
    if (std) return {text: std.s, cls: std.cls, type: {k: 'name', s: std.s}};
    let index = 0;
    if (c !== '_') {
      let seq = 0;
      let ch = c;
      for (;;) {
        if (ch >= '0' && ch <= '9') seq = seq * 36 + ch.charCodeAt(0) - 48;
        else if (ch >= 'A' && ch <= 'Z') seq = seq * 36 + ch.charCodeAt(0) - 55;
        else fail();
        if (seq > 1_000_000) fail();
        ch = this.next();
        if (ch === '_') break;
      }
      index = seq + 1;
    }
    const t = this.subs[index];
    if (!t) fail();
    return {text: print(t), cls: t.k === 'name' ? lastComponent(t.s) : null, type: t};
  }

  private templateParam(): CxxType {
    this.pos++; // T
    let index = 0;
    if (!this.eat('_')) {
      index = this.number() + 1;
      if (!this.eat('_')) fail();
    }
    const arg = this.templateArgs?.[index];
    if (!arg) fail();
    return arg;
  }

  /** `I <template-arg>+ E`, printed `<a, b>`; at name level they become the targets of `T_`. */
  private templateArgList(ofName: boolean): string {
    this.pos++; // I
    const args: CxxType[] = [];
    const texts: string[] = [];
    while (!this.eat('E')) {
      for (const a of this.templateArg()) {
        args.push(a);
        texts.push(print(a));
      }
    }
    if (ofName) this.templateArgs = args;
    return `<${texts.join(', ')}>`;
  }

  private templateArg(): CxxType[] {
    return this.nest(() => {
      const c = this.peek();
      if (c === 'L') {
        this.pos++;
        return [this.literal()];
      }
      if (c === 'J') {
        this.pos++;
        const pack: CxxType[] = [];
        while (!this.eat('E')) pack.push(...this.templateArg());
        return pack;
      }
      // Expressions (`X...E`) and everything else that is not a type are not understood.
      if (c === 'X') fail();
      return [this.type()];
    });
  }

  /** `L <type> [n] <number> E`: integer and bool literals. */
  private literal(): CxxType {
    const t = this.next();
    if (t === '_') fail(); // external names (`L_Z...E`)
    const negative = this.eat('n');
    const m = /^[0-9]+/.exec(this.s.slice(this.pos));
    if (!m) fail();
    this.pos += m[0].length;
    if (!this.eat('E')) fail();
    const value = (negative ? '-' : '') + m[0];
    if (t === 'b') {
      if (negative || (m[0] !== '0' && m[0] !== '1')) fail();
      return {k: 'name', s: m[0] === '1' ? 'true' : 'false'};
    }
    const suffix = CXX_LITERAL_SUFFIX[t];
    if (suffix !== undefined) return {k: 'name', s: value + suffix};
    const builtin = CXX_BUILTIN[t];
    if (builtin === undefined || t === 'v' || t === 'z') fail();
    return {k: 'name', s: `(${builtin})${value}`};
  }

  type(): CxxType {
    return this.nest(() => this.typeInner());
  }

  private typeInner(): CxxType {
    const c = this.peek();
    if (c === undefined) fail();
    const builtin = CXX_BUILTIN[c];
    if (builtin !== undefined) {
      this.pos++;
      return {k: 'name', s: builtin};
    }
    let t: CxxType;
    switch (c) {
      case 'D': {
        const d = CXX_BUILTIN_D[this.peek(1) ?? ''];
        if (d === undefined) fail();
        this.pos += 2;
        return {k: 'name', s: d};
      }
      case 'r':
      case 'V':
      case 'K': {
        let q = '';
        while (this.peek() === 'r' || this.peek() === 'V' || this.peek() === 'K') {
          const ch = this.next();
          q = (ch === 'r' ? ' restrict' : ch === 'V' ? ' volatile' : ' const') + q;
        }
        t = {k: 'cv', q, t: this.type()};
        break;
      }
      case 'P':
      case 'R':
      case 'O':
        this.pos++;
        t = {k: 'ptr', op: c === 'P' ? '*' : c === 'R' ? '&' : '&&', t: this.type()};
        break;
      case 'F': {
        this.pos++;
        this.eat('Y');
        const ret = this.type();
        const params: CxxType[] = [];
        while (!this.eat('E')) {
          if (this.peek() === 'R' && this.peek(1) === 'E') fail(); // ref-qualified function types
          params.push(this.type());
        }
        if (params.length === 0) fail();
        t = {k: 'fn', ret, params};
        break;
      }
      case 'A': {
        this.pos++;
        let dim = '';
        if (this.peek() !== '_') dim = String(this.number());
        if (!this.eat('_')) fail();
        t = {k: 'array', dim, t: this.type()};
        break;
      }
      case 'M': {
        this.pos++;
        const cls = this.type();
        t = {k: 'member', cls, t: this.type()};
        break;
      }
      case 'T':
        t = this.templateParam();
        if (this.peek() === 'I') {
          this.addSub(t);
          t = {k: 'name', s: print(t) + this.templateArgList(false)};
        }
        break;
      case 'S': {
        if (this.peek(1) === 't') {
          const saved = this.templateArgs;
          t = {k: 'name', s: this.name().text};
          this.templateArgs = saved;
          break;
        }
        const sub = this.substitution();
        if (this.peek() !== 'I') return sub.type;
        t = {k: 'name', s: sub.text + this.templateArgList(false)};
        break;
      }
      case 'N':
      case 'Z':
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9': {
        // A class or enum: its name. Template arguments of a type do not rebind `T_`.
        const saved = this.templateArgs;
        t = {k: 'name', s: this.name().text};
        this.templateArgs = saved;
        break;
      }
      default:
        fail();
    }
    this.addSub(t);
    return t;
  }
}

function lastComponent(name: string): string | null {
  // The class a constructor belongs to: the last `::` part, without template arguments.
  let depth = 0;
  let end = name.length;
  for (let i = name.length - 1; i >= 0; i--) {
    const ch = name[i];
    if (ch === '>') depth++;
    else if (ch === '<') {
      depth--;
      if (depth === 0) end = i;
    } else if (depth === 0 && ch === ':' && name[i - 1] === ':') return name.slice(i + 1, end) || null;
  }
  return name.slice(0, end) || null;
}

function print(t: CxxType): string {
  return render(t, '');
}

/** C++ declarator syntax: `decl` is what stands to the right of the type (`*`, ` const`, `(*)`). */
function render(t: CxxType, decl: string): string {
  // Substitutions share subtrees: the printed form can grow much faster than the symbol.
  if (decl.length > MAX_OUTPUT) fail();
  switch (t.k) {
    case 'name':
      return capped(t.s + decl);
    case 'cv':
      return render(t.t, t.q + decl);
    case 'ptr':
      return t.t.k === 'fn' || t.t.k === 'array' ? render(t.t, `(${t.op}${decl})`) : render(t.t, t.op + decl);
    case 'member': {
      const op = `${print(t.cls)}::*`;
      return t.t.k === 'fn' || t.t.k === 'array' ? render(t.t, `(${op}${decl})`) : render(t.t, ` ${op}${decl}`);
    }
    case 'fn': {
      const params = t.params.length === 1 && t.params[0]!.k === 'name' && t.params[0]!.s === 'void' ? '' : t.params.map(print).join(', ');
      return capped(`${print(t.ret)} ${decl}(${params})`);
    }
    case 'array':
      return capped(`${print(t.t)} ${decl}[${t.dim}]`);
  }
}

function capped(s: string): string {
  if (s.length > MAX_OUTPUT) fail();
  return s;
}
