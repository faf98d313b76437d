import {isAscii} from 'node:buffer';

/**
 * Counting the U+FFFD a UTF-8 decoder put in for invalid bytes: the decoded
 * text's U+FFFD minus those written in the input itself (EF BF BD), which
 * are characters of the text, not damage.
 */
export function fffdCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

/** U+FFFD written in the input itself (EF BF BD) in b[from, to). */
export function literalFffd(b: Uint8Array, from = 0, to = b.length): number {
  let n = 0;
  for (let i = b.indexOf(0xef, from); i >= 0 && i + 2 < to; i = b.indexOf(0xef, i + 1)) {
    if (b[i + 1] === 0xbf && b[i + 2] === 0xbd) n++;
  }
  return n;
}

/** NUL bytes in b[from, to). */
export function nulCount(b: Uint8Array, from = 0, to = b.length): number {
  let n = 0;
  for (let i = b.indexOf(0, from); i >= 0 && i < to; i = b.indexOf(0, i + 1)) n++;
  return n;
}

/**
 * The longest start of `s` whose UTF-8 is at most `maxBytes` bytes, cut
 * between characters (a surrogate pair is one character). A cut start is a
 * string of its own: a slice would keep all of `s` (an over-long line's
 * megabyte) alive as long as the kept start is.
 */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let n = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) n = 4;
    if (bytes + n > maxBytes) return Buffer.from(s.slice(0, i)).toString();
    bytes += n;
    if (pair) i++;
  }
  return s;
}

/**
 * Counts the invalid UTF-8 sequences of a text given in pieces and not
 * kept (the skipped rest of an over-long line), as fffdCount(decoded) -
 * literalFffd(bytes) counts them in a text decoded whole: a sequence or an
 * EF BF BD cut between two pieces is counted once.
 */
export class InvalidUtf8Counter {
  private readonly decoder = new TextDecoder('utf-8', {fatal: false, ignoreBOM: true});
  private fffd = 0;
  private literal = 0;
  /** The last two bytes given (a literal U+FFFD may begin in them). */
  private tail = Buffer.alloc(0);
  /** The last byte given was ASCII: the decoder holds no part of a sequence, so ASCII bytes need no decoding. */
  private clean = true;

  /** Adds the next bytes; returns their text when `text` (else '' for ASCII, which is not decoded). */
  push(b: Buffer, text = false): string {
    if (b.length === 0) return '';
    const joint = Buffer.concat([this.tail, b.subarray(0, 2)]);
    this.literal += literalFffd(joint) + literalFffd(b);
    this.tail = Buffer.from(Buffer.concat([this.tail, b.subarray(-2)]).subarray(-2));
    if (!text && this.clean && isAscii(b)) return '';
    const s = this.decoder.decode(b, {stream: true});
    this.fffd += fffdCount(s);
    this.clean = b[b.length - 1]! < 0x80;
    return s;
  }

  /** The invalid sequences of all the bytes given (call once, at their end). */
  end(): number {
    this.fffd += fffdCount(this.decoder.decode());
    return this.fffd - this.literal;
  }
}
