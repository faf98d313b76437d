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

/** Stable id of an issue: rule + normalized title, 16 hex digits of sha256. */
export function fingerprintOf(rule: string, title: string): string {
  return createHash('sha256').update(`${rule}\n${normalizeTitle(title)}`).digest('hex').slice(0, 16);
}
