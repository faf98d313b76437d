import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FormattedValue, renderStream, renderTable, tableStream, type Cell} from '../../src/output/render.js';

/** The batches in order, then `fail` thrown when given. */
async function* batches(list: Cell[][][], fail?: Error): AsyncGenerator<Cell[][]> {
  for (const b of list) yield b;
  if (fail) throw fail;
}

async function streamed(columns: string[], list: Cell[][][], sizingRows: number, fail?: Error): Promise<{text: string; error?: unknown}> {
  let text = '';
  let error: unknown;
  try {
    await tableStream(columns, batches(list, fail), async (s) => {
      text += s;
    }, sizingRows);
  } catch (err) {
    error = err;
  }
  return {text, error};
}

const cases: Array<[string, string[], Cell[][][]]> = [
  ['no rows', ['a', 'b'], []],
  ['empty batches only', ['a'], [[], []]],
  ['one row', ['n', 's'], [[[1, 'one']]]],
  ['numbers, NULLs, text, formatted values', ['n', 'big', 's', 'd', 'nul'], [
    [[1, 10n ** 20n, 'x', new FormattedValue('1.50', 1.5, true), null], [null, -3n, 'tab\there', new FormattedValue('nan', 'nan'), null]],
    [],
    [[123456, 0n, null, new FormattedValue('2.0', 2, true), null]],
  ]],
  ['control characters in the header and cells', ['x\ty', 'n'], [[['two\nlines\x1b[2J', 1]]]],
  ['nested values', ['l', 'o'], [[[[1, 'a'], {k: [1, {z: null}]}]]]],
  ['CJK and combining characters', ['comm', 'pid', '名前'], [[['测试进程', 4021, 'x'], ['cafe\u0301', 7, '한국어']]]],
];

for (const [name, columns, list] of cases) {
  test(`tableStream of no more rows than size it is renderTable of all of them: ${name}`, async () => {
    const rows = list.flat();
    const expected = renderTable(columns, rows);
    for (const sizingRows of [rows.length, rows.length + 1, 10_000]) {
      if (sizingRows === 0) continue;
      const {text, error} = await streamed(columns, list, sizingRows);
      assert.is(error, undefined);
      assert.is(text, expected, `sizing rows ${sizingRows}`);
    }
    let text = '';
    await renderStream('table', columns, batches(list), async (s) => {
      text += s;
    });
    assert.is(text, expected, 'renderStream table');
  });
}

test('columns line up on a terminal whatever the characters: widths in display columns, not UTF-16 units', async () => {
  // A task name is any bytes; UTF-8 ones occur, with CJK (two columns a character) and combining accents (none).
  const rows: Cell[][] = [
    ['测试进程', 4021, 'S', '名前'],
    ['bash', 7, 'R', 'cafe\u0301'],
    ['cafe\u0301', 123456, '测', 'x'],
    ['ｆｕｌｌ😀', 1, 'D', null],
  ];
  const columns = ['comm', 'pid', 'state', '备注'];
  for (const text of [renderTable(columns, rows), (await streamed(columns, [rows.slice(0, 1), rows.slice(1)], 10)).text]) {
    const lines = text.trimEnd().split('\n');
    assert.is(lines.length, 2 + rows.length);
    // Where each column starts, in display columns, from the rule line's dashes.
    const starts = [...lines[1]!.matchAll(/-+/g)].map((m) => m.index!);
    assert.is(starts.length, 4);
    const cols = (line: string, upTo: number) => {
      // The display column at which UTF-16 index upTo stands.
      let w = 0;
      for (const c of line.slice(0, upTo)) w += /[\u0300-\u036f]/.test(c) ? 0 : /[\u3000-\u9fff\uac00-\ud7af\uff01-\uff60]|\p{Emoji_Presentation}/u.test(c) ? 2 : 1;
      return w;
    };
    for (const [r, row] of rows.entries()) {
      const line = lines[2 + r]!;
      // comm and state are left-aligned: they start where their dashes start; pid is right-aligned: it ends where its dashes end.
      assert.is(cols(line, line.indexOf(String(row[0]))), starts[0], line);
      assert.is(cols(line, line.indexOf(String(row[1]))) + String(row[1]).length, starts[1]! + lines[1]!.slice(starts[1]).match(/-+/)![0].length, line);
      assert.is(cols(line, line.indexOf(String(row[2]), line.indexOf(String(row[1])) + String(row[1]).length)), starts[2], line);
      if (row[3] !== null) assert.is(cols(line, line.lastIndexOf(String(row[3]))), starts[3], line);
    }
    // The header too, and each rule as wide as its widest cell.
    assert.is(cols(lines[0]!, lines[0]!.indexOf('备注')), starts[3]);
    assert.is(lines[1], '----------  ------  -----  ----');
  }
});

test('tableStream past its sizing rows: a wider value widens its column from its own row on; nothing is cut', async () => {
  const list: Cell[][][] = [[[1, 'a'], [22, 'bb']], [[333, 'a much longer text'], [4, 'c']], [[5, 'd']]];
  const {text} = await streamed(['n', 's'], list, 2);
  assert.is(
    text,
    [
      ' n  s',
      '--  --',
      ' 1  a',
      '22  bb',
      // Past the sizing rows: 333 and the long text widen their columns, for this row and those after it.
      '333  a much longer text',
      '  4  c',
      '  5  d',
      '',
    ].join('\n'),
  );
  // The same rows sized all at once: the first rows differ only in their padding.
  const all = renderTable(['n', 's'], list.flat()).split('\n');
  const ours = text.split('\n');
  assert.is(ours.length, all.length);
  for (let i = 2; i < all.length; i++) assert.equal(ours[i]!.trim().split(/\s+/), all[i]!.trim().split(/\s+/), `row ${i - 2}`);
});

test('tableStream writes rows past the sizing rows as they come, without holding them', async () => {
  let text = '';
  const written: number[] = [];
  async function* lazy(): AsyncGenerator<Cell[][]> {
    for (let b = 0; b < 50; b++) {
      written.push(text.length);
      // ~60 characters a row: a batch is more than one ~64 KB piece.
      yield Array.from({length: 2048}, (_, i) => [b * 2048 + i, `${'x'.repeat(48)} ${i}`] as Cell[]);
    }
  }
  await tableStream(['n', 's'], lazy(), async (s) => {
    text += s;
  }, 4096);
  assert.is(text.split('\n').length, 50 * 2048 + 3);
  assert.is(written[1], 0, 'nothing before the sizing rows (two batches) are in');
  assert.ok(written[2]! > 0, 'the table of the sizing rows once they are in');
  // Each batch after the sizing rows is written before the next one is asked for.
  for (let b = 3; b < 50; b++) assert.ok(written[b]! > written[b - 1]!, `batch ${b}: nothing written since batch ${b - 1}`);
});

test('tableStream of batches that fail: the rows they gave are written, then the error', async () => {
  const boom = new Error('boom');
  const early = await streamed(['n'], [[[1], [22]]], 10, boom);
  assert.is(early.error, boom);
  assert.is(early.text, renderTable(['n'], [[1], [22]]), 'fewer rows than size the table: the table of them');
  const late = await streamed(['n'], [[[1], [22]], [[333]]], 2, boom);
  assert.is(late.error, boom);
  assert.is(late.text, ' n\n--\n 1\n22\n333\n');
  // No row at all: nothing, as for a statement that fails before it runs (not a header over no rows).
  const none = await streamed(['n'], [[]], 2, boom);
  assert.is(none.error, boom);
  assert.is(none.text, '');
});

test.run();
