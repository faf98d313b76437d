import {STACK, type OopsDef, type StackSpec, type TitleFormat} from './classes.js';
import {demangle} from './demangle.js';
import {compileSkip, hangFrame, isSkipped, KUNIT_RUNNER_FRAMES, stallFrame, titleFrameNames} from './frames.js';
import {re} from './shorthand.js';

/**
 * Title and corruption of one report, from its text (the report's lines,
 * `?` frames removed, each ending in '\n'). Mirrors the model of syzkaller's
 * pkg/report so that titles are comparable.
 */
export interface Description {
  rawTitle: string;
  altTitles: string[];
  corruptedReason: string | null;
  format: TitleFormat | null;
  /**
   * Offset in the text of the last character the title was read from: the
   * end of the title and report matches, the line of each guilty frame (of a
   * whole stack for stall and hang pickers); the text's length when a
   * pattern searched all of it in vain. A line that starts after it could
   * have said anything without changing the title.
   */
  readTo: number;
}

/** Lines that start a stack trace (and end the previous one). `stack backtrace:` is not one. */
const STACK_STARTS = [
  /Call Trace/, /Call trace:/, /Backtrace:/, /Allocated:/, /Allocated by task [0-9]+:/, /Freed:/, /Freed by task [0-9]+:/,
  /[^k] backtrace(?: \(crc [0-9a-f]+\))?:/, /Last potentially related work creation:/, /Second to last potentially related work creation:/,
  /^(?:out-of-bounds|use-after-free|invalid) (?:read|write|free) at/, /^allocated by task [0-9]+ on cpu/, /^freed by task [0-9]+ on cpu/,
];
/** Every line that matches one of STACK_STARTS matches this (one test instead of thirteen on most lines). */
const MAYBE_STACK_START = /Call|Backtrace:|Allocated|Freed|backtrace|potentially related|^(?:out-of-bounds|use-after-free|invalid|allocated|freed)/;
function isStackStart(line: string): boolean {
  return MAYBE_STACK_START.test(line) && STACK_STARTS.some((r) => r.test(line));
}
/** Fault-injection stacks are often mixed into crash reports; frames read after one are unreliable. */
const CORRUPTING_LINES = [/^( \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x/];
const TIMESTAMP_IN_TITLE = /\[ *[0-9]+\.[0-9]+\]/;

export const NO_FRAMES = 'extracted no frames';

export function describe(text: string, oops: OopsDef): Description {
  let startPos = text.length;
  let title = '';
  let alt: string[] = [];
  let corrupted: string | null = null;
  let format: TitleFormat | null = null;
  let matchedTitle = false;
  /** The first format whose title matched where the report starts, though its report pattern did not (a cut report). */
  let titleOnly: TitleFormat | null = null;
  let readTo = 0;
  /** Position of the earliest title match whose report pattern then failed. */
  let failedAt = text.length;
  for (const f of oops.formats) {
    const t = re(f.title).exec(text);
    if (!t || t.index > startPos) continue;
    if (t.index === startPos && title !== '') continue;
    if (t.index < startPos) {
      title = '';
      format = null;
      titleOnly = null;
      startPos = t.index;
    }
    matchedTitle = true;
    let m: RegExpExecArray | null = t;
    if (f.report) {
      m = re(f.report).exec(text);
      if (!m) {
        titleOnly ??= f;
        // Any line could have been the one it looked for.
        failedAt = Math.min(failedAt, t.index);
        continue;
      }
    }
    const args = m.slice(1).map((a) => a ?? '');
    corrupted = null;
    readTo = Math.max(t.index + t[0].length, m.index + m[0].length) - 1;
    if (f.stack) {
      const g = guiltyFrames(f.stack, text.slice(m.index));
      if (!g.ok) corrupted = NO_FRAMES;
      args.push(...g.frames);
      readTo = Math.max(readTo, m.index + g.readTo);
    }
    // Frames are carried as printed (skip lists match their demangled names, see isSkipped); titles show them demangled.
    const shown = args.map(demangle);
    title = fill(f.fmt, shown);
    alt = (f.alt ?? []).map((a) => fill(a, shown));
    format = f;
  }
  // A report pattern that failed where the title was found searched the whole text; so did the
  // title patterns when none matched.
  if (failedAt <= startPos || title === '') readTo = text.length;
  if (title === '') {
    if (matchedTitle) corrupted = 'matched title but not report regexp';
    // A cut lockdep report keeps its class (LOCKDEP, not the WARNING its header starts with), so the
    // lockdep rule reports it; the title stays the header line, marked corrupted.
    if (titleOnly?.cls) format = {...titleOnly, fmt: '', corrupted: true};
    const pos = text.indexOf(oops.header);
    if (pos >= 0) {
      const end = text.indexOf('\n', pos);
      title = text.slice(pos, end < 0 ? undefined : end);
    }
  }
  if (corrupted === null && format?.corrupted) corrupted = 'report format is marked as corrupted';
  return {rawTitle: title, altTitles: alt, corruptedReason: corrupted, format, readTo};
}

function fill(fmt: string, args: string[]): string {
  return fmt.replace(/\$(\d+)/g, (_, n: string) => args[Number(n) - 1] ?? '');
}

/**
 * Walk `parts` over the lines; each parsed stack (and the end) yields one guilty frame.
 * `readTo`: offset in `text` of the start of the last line a frame was chosen from (see Description.readTo).
 */
const KUNIT_RUNNER = new Set(KUNIT_RUNNER_FRAMES);

export function guiltyFrames(spec: StackSpec, text: string): {frames: string[]; ok: boolean; readTo: number} {
  const skip = compileSkip(spec.skip);
  const pick = (frames: string[]): string | null => {
    if (!frames.length) return null;
    if (spec.extractor === 'stall') return stallFrame(frames);
    if (spec.extractor === 'hang') return hangFrame(frames);
    return frames[0]!;
  };
  const byLine = spec.extractor === undefined;
  const first = walk(spec.parts, text, skip, pick, byLine);
  if (first.ok || !spec.parts2) return first;
  // The fallback is read because the first walk failed: what it read counts too.
  const second = walk(spec.parts2, text, skip, pick, byLine);
  return {...second, readTo: Math.max(first.readTo, second.readTo)};
}

function walk(parts: string[], text: string, skip: RegExp, pick: (f: string[]) => string | null, byLine: boolean): {frames: string[]; ok: boolean; readTo: number} {
  const lines = text.split('\n');
  let li = 0;
  let frames: string[] = [];
  /** Line index of each of `frames`. */
  let frameLines: number[] = [];
  const results: string[] = [];
  let ok = true;
  let stacks = 0;
  let lastLine = 0;
  /** The frame above the current line when every name of it was skipped: a KUnit test case, if the runner follows. */
  let skippedCase: {name: string; line: number} | null = null;
  const add = (m: RegExpExecArray | null) => {
    if (!m) return;
    for (const g of m.slice(1)) {
      if (g !== undefined && g !== '' && !isSkipped(skip, g)) {
        frames.push(g);
        frameLines.push(li - 1);
        break;
      }
    }
  };
  for (let pi = 0; ; pi++) {
    if (pi === parts.length || (parts[pi] === STACK && stacks > 0)) {
      const key = pick(frames);
      if (key === null) ok = false;
      results.push(key ?? 'corrupted');
      // The first frame decides, or (stall and hang pickers, no frame at all) every line read so far.
      lastLine = Math.max(lastLine, key !== null && byLine ? frameLines[0]! : li - 1);
      frames = [];
      frameLines = [];
    }
    if (pi === parts.length) break;
    const part = parts[pi]!;
    if (part === STACK) {
      stacks++;
      while (li < lines.length) {
        const ln = lines[li++]!;
        if (CORRUPTING_LINES.some((r) => r.test(ln))) {
          ok = false;
          break;
        }
        if (isStackStart(ln)) break;
        if (pi !== parts.length - 1) {
          const m = re(parts[pi + 1]!).exec(ln);
          if (m) {
            add(m);
            pi++;
            break;
          }
        }
        const names = titleFrameNames(ln);
        const name = names.find((n) => !isSkipped(skip, n));
        if (name !== undefined) {
          frames.push(name);
          frameLines.push(li - 1);
        } else if (frames.length === 0 && names.some((n) => KUNIT_RUNNER.has(n)) && skippedCase !== null) {
          // A KUnit test case calls list or refcount helpers on purpose, and its name often holds one
          // (`list_test_list_del`): skipped as a helper, it left the runner to blame for every test's splat.
          frames.push(skippedCase.name);
          frameLines.push(skippedCase.line);
        }
        if (names.length > 0) skippedCase = name === undefined ? {name: names[0]!, line: li - 1} : null;
      }
    } else {
      const r = re(part);
      while (li < lines.length) {
        const ln = lines[li++]!;
        if (CORRUPTING_LINES.some((c) => c.test(ln))) {
          ok = false;
          break;
        }
        const m = r.exec(ln);
        if (!m) continue;
        add(m);
        break;
      }
    }
  }
  let readTo = 0;
  for (let i = 0; i < lastLine && i < lines.length; i++) readTo += lines[i]!.length + 1;
  return {frames: results, ok, readTo};
}

/** Checks on the whole report once a title is known. */
export function corruptionOf(title: string, text: string, format: TitleFormat | null): string | null {
  if (TIMESTAMP_IN_TITLE.test(title)) return 'title matches corrupted regexp';
  if (!format) return null;
  if (!format.noStackTrace && !text.includes('Call Trace') && !text.includes('Call trace') && !text.includes('backtrace') && !text.includes('Backtrace')) {
    return 'no stack trace in report';
  }
  if (format.noStackTrace) return null;
  // Each stack keyword must be followed by at least one frame within a few lines.
  const lines = text.split('\n');
  // Only these lines can match a stack keyword: search them instead of every line per keyword.
  const candidates: number[] = [];
  for (let i = 0; i < lines.length; i++) if (MAYBE_STACK_START.test(lines[i]!)) candidates.push(i);
  for (const key of STACK_STARTS) {
    const hit = candidates.find((i) => key.test(lines[i]!));
    const at = hit === undefined ? -1 : hit;
    if (at < 0) continue;
    const rest = lines.slice(at + 1);
    if (rest.length < 3) return 'call trace is missed';
    let found = false;
    for (let i = 0; i < 15 && i < rest.length; i++) {
      const l = rest[i]!;
      if (isStackStart(l)) break;
      if (l.includes('(stack is not available)') || /^ *(?:\[<?(?:[0-9a-f]+)>?\] ?){0,2}[ \t]+(?:[0-9]+:)?([a-zA-Z0-9_.$]+)\+0x([0-9a-f]+)\/0x([0-9a-f]+)/.test(l) || /^ *\[<[0-9a-f]+>\] \(/.test(l)) {
        found = true;
        break;
      }
    }
    if (!found) return 'no frames in a stack trace';
  }
  return null;
}
