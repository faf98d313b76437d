import type {Format, Tokenizer} from '../format.js';
import {HEADER, unparsedLine, type LineResult} from '../record.js';
import {BootTracker} from './boots.js';
import {FACILITIES, LEVELS} from './prefix.js';

/**
 * `dmesg --json` (util-linux). Two layouts are read:
 *  - util-linux's own pretty print: `{"dmesg": [` then one key per line
 *    (`"pri": 5,` `"time":     0.000000,` `"caller": "T1",` `"msg": "..."`),
 *    the `msg` line carries the record (it is the last key util-linux prints);
 *    the key lines before it and the bracket lines are header lines;
 *  - one object per line (`jq -c '.dmesg[]'`), `{"pri":5,"time":0.0,"msg":"..."}`.
 * Bracket lines and key lines are header lines; any other line is unparsed
 * (`json-not-a-record`), so a foreign line in the file is kept, not counted away.
 * `pri` without `-x` is the level only; with `-x` util-linux prints
 * `"fac": "kern", "pri": "notice"`. The time is read from its text (exact ns).
 */
const KEY_RE = /^\s*"(\w+)"\s*:\s*(.*?),?\s*$/;
/** The structure lines of the JSON around the records: `{`, `]`, `},`, `]}` (key lines are matched by KEY_RE). */
const BRACKETS_RE = /^[[\]{}, ]+$/;

interface Pending {
  level: number | null;
  facility: number | null;
  tsNs: bigint | null;
  caller: string | null;
}

function emptyPending(): Pending {
  return {level: null, facility: null, tsNs: null, caller: null};
}

/** `12.345678` -> ns, exactly. */
export function secondsTextToNs(v: string): bigint | null {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v.trim());
  if (!m) return null;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(m[1]!) * 1_000_000_000n + BigInt(frac);
}

function applyKey(p: Pending, key: string, rawValue: string): boolean {
  switch (key) {
    case 'pri': {
      if (/^\d+$/.test(rawValue)) {
        const n = Number(rawValue);
        p.level = n & 7;
        if (n >= 8) p.facility = n >> 3;
      } else {
        const i = LEVELS.indexOf(rawValue.replace(/"/g, ''));
        if (i !== -1) p.level = i;
      }
      return true;
    }
    case 'fac': {
      const i = FACILITIES.indexOf(rawValue.replace(/"/g, ''));
      if (i !== -1) p.facility = i;
      return true;
    }
    case 'time':
      p.tsNs = secondsTextToNs(rawValue);
      return true;
    case 'caller':
      p.caller = rawValue.replace(/"/g, '').trim() || null;
      return true;
    default:
      return false;
  }
}

export class DmesgJsonTokenizer implements Tokenizer {
  private readonly boots = new BootTracker();
  private pending = emptyPending();
  private records = 0;

  line(raw: string, seq: number): LineResult {
    const s = raw.trim();
    if (s.length === 0) return HEADER;
    if (s.charCodeAt(0) === 123 /* { */ && s.indexOf('"msg"') !== -1) return this.objectLine(s, raw, seq);
    const m = KEY_RE.exec(s);
    if (!m) return BRACKETS_RE.test(s) ? HEADER : unparsedLine('json-not-a-record', raw);
    const key = m[1]!;
    if (key !== 'msg') {
      applyKey(this.pending, key, m[2]!);
      return HEADER;
    }
    let text: string;
    try {
      text = JSON.parse(m[2]!) as string;
      if (typeof text !== 'string') return unparsedLine('json-msg-not-string', raw);
    } catch {
      return unparsedLine('json-bad-msg', raw);
    }
    const p = this.pending;
    this.pending = emptyPending();
    return this.row(p, text, seq);
  }

  private objectLine(s: string, raw: string, seq: number): LineResult {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(s.endsWith(',') ? s.slice(0, -1) : s) as Record<string, unknown>;
    } catch {
      return unparsedLine('json-bad-record', raw);
    }
    if (typeof obj.msg !== 'string') return unparsedLine('json-msg-not-string', raw);
    const p = emptyPending();
    // Re-read the time from the text so that 0.000001 stays exact.
    const t = /"time"\s*:\s*([0-9.]+)/.exec(s);
    if (t) applyKey(p, 'time', t[1]!);
    for (const k of ['pri', 'fac', 'caller'] as const) {
      if (obj[k] !== undefined) applyKey(p, k, typeof obj[k] === 'string' ? (obj[k] as string) : String(obj[k]));
    }
    return this.row(p, obj.msg, seq);
  }

  private row(p: Pending, text: string, seq: number): LineResult {
    this.records++;
    const boot = this.boots.observe(seq, p.tsNs, text, true);
    return {t: 'log_lines', boot, ts_ns: p.tsNs, level: p.level, facility: p.facility, caller: p.caller, text, wall_time: null};
  }

  meta(): Record<string, unknown> {
    return {records: this.records, ...this.boots.meta()};
  }
}

export const dmesgJsonFormat: Format = {
  id: 'dmesg-json',
  priority: 101,
  description: '`dmesg --json` (util-linux pretty print, or one object per line)',
  // 2: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format).
  parserVersion: 2,
  sniff(head) {
    const lines = head.map((l) => l.trim()).filter((l) => l !== '');
    if (lines.length === 0) return false;
    if (lines[0] === '{' && lines.slice(1, 3).some((l) => /^"dmesg"\s*:\s*\[/.test(l))) return true;
    const objects = lines.filter((l) => l.startsWith('{') && /"msg"\s*:/.test(l)).length;
    return objects >= 1 && objects >= 0.9 * lines.length;
  },
  createTokenizer: () => new DmesgJsonTokenizer(),
};
