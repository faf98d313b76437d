import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {displayWidth, padEndColumns, padStartColumns} from '../../src/output/display-width.js';

// Columns on a terminal (wcwidth's counts): East Asian Wide and Fullwidth take 2, combining and zero-width 0.
test('displayWidth counts terminal columns, not UTF-16 units', () => {
  for (const [text, width] of [
    ['', 0],
    ['bash', 4],
    ['kworker/0:1H', 12],
    ['测试进程', 8], // CJK ideographs: wide
    ['a测b', 4],
    ['ｆｕｌｌ', 8], // fullwidth forms
    ['ｶﾀｶﾅ', 4], // halfwidth katakana: narrow
    ['カタカナ', 8],
    ['한국어', 6], // Hangul syllables
    ['\u1100\u1161\u11a8', 2], // a syllable of conjoining jamo: the initial is wide, the vowel and final join it
    ['cafe\u0301', 4], // e + combining acute
    ['e\u0301\u0323', 1], // two combining marks
    ['\u20dd', 0], // an enclosing mark alone
    ['a\u200db', 2], // zero-width joiner
    ['😀', 2], // emoji presentation, a surrogate pair
    ['🇩🇪', 2], // a flag: two regional indicators, one column each
    ['𠀀', 2], // CJK Extension B (plane 2)
    ['ä', 1],
    ['Ωλ', 2],
    ['\u2615', 2], // hot beverage: wide since Unicode 9
    ['\u00e9', 1], // precomposed é
  ] as const) {
    assert.is(displayWidth(text), width, JSON.stringify(text));
  }
});

test('padding in columns: a wide text gets fewer spaces, a combining mark none of its own', () => {
  assert.is(padEndColumns('测试', 6), '测试  ');
  assert.is(padStartColumns('测试', 6), '  测试');
  assert.is(padEndColumns('cafe\u0301', 6), 'cafe\u0301  ');
  assert.is(padEndColumns('测试进程', 4), '测试进程', 'wider than the width: as it is');
});

test.run();
