import {createHash} from 'node:crypto';

/**
 * Normalize a title so that the same bug in two runs (other addresses, pids,
 * timestamps, line numbers, CPU numbers) gives the same text. The rules are
 * close to syzkaller's title post-processing, plus pids and timestamps.
 */
export function normalizeTitle(title: string): string {
  return title
    .replace(/^\s*\[\s*\d+\.\d+\]\s*/, '') // printk timestamp
    .replace(/\b\d+\.\d{3,}\b/g, 'TS') // other timestamps
    .replace(/\b([A-Za-z_.$][\w.$]*)\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+/g, '$1') // func+0x1a/0x40
    .replace(/\b(?:0x)?[0-9a-fA-F]{6,}\b/g, 'ADDR') // addresses, hashes
    .replace(/\b0x[0-9a-fA-F]+\b/g, 'NUM')
    .replace(/\b(\w[\w-]*\.(?:c|h|rs|S)):\d+\b/g, '$1:LINE')
    .replace(/syz-executor[.\d]*/g, 'syz-executor')
    .replace(/(?<![\w])\d+(?![\w])/g, 'NUM') // standalone numbers: pids, cpus, counts
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * Stable id of an issue: rule + normalized title, 16 hex digits of sha256.
 * `evidence` (normalized too) joins them when the title alone does not tell
 * two issues apart (a kernel report whose title says `in corrupted`).
 */
export function fingerprintOf(rule: string, title: string, evidence?: string): string {
  const key = `${rule}\n${normalizeTitle(title)}` + (evidence === undefined ? '' : `\n${normalizeEvidence(evidence)}`);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** normalizeTitle line by line, not cut to 200 characters. */
function normalizeEvidence(text: string): string {
  return text
    .split('\n')
    .map((l) => normalizeTitle(l.slice(0, 200)))
    .join('\n');
}
