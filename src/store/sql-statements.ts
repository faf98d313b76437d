// Sticky: each matches at lastIndex only.
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;

/**
 * A token of SQL text: a top-level `;`, a string literal (`text` its
 * content, quotes doubled or escaped as written), a "quoted" name (`text`
 * the name, `""` made `"`), a word (keyword or unquoted name), or any other
 * character.
 */
export interface SqlToken {
  kind: 'semicolon' | 'string' | 'quoted' | 'word' | 'other';
  text: string;
}

/**
 * The tokens of SQL text, whitespace and comments left out, scanned as
 * DuckDB's (PostgreSQL's) scanner reads it: '...' strings ('' inside),
 * E'...' strings (backslash escapes too), "..." identifiers ("" inside),
 * $tag$...$tag$ strings, -- comments to the end of the line (an LF or a
 * CR), and nested /* *\/ comments. A `$` inside an identifier (a$b$) and a
 * parameter ($1) start no string. An unterminated string, name or comment
 * runs to the end of the text.
 */
export function* sqlTokens(sql: string): Generator<SqlToken> {
  let i = 0;
  const n = sql.length;
  const endOfQuoted = (from: number, quote: string, backslash: boolean): number => {
    let j = from;
    while (j < n) {
      const c = sql[j]!;
      if (backslash && c === '\\') j += 2;
      else if (c === quote) {
        if (sql[j + 1] === quote) j += 2;
        else return j + 1;
      } else j++;
    }
    return n;
  };
  // The text between a quote at `from - 1` and the closing one ending at `end`.
  const inner = (from: number, end: number) => sql.slice(from, end === n && sql[n - 1] !== sql[from - 1] ? n : end - 1);
  while (i < n) {
    const c = sql[i]!;
    if (c === ';') {
      yield {kind: 'semicolon', text: c};
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      // DuckDB's scanner ends a comment at a CR as at an LF.
      let eol = i + 2;
      while (eol < n && sql[eol] !== '\n' && sql[eol] !== '\r') eol++;
      i = eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === "'") {
      const end = endOfQuoted(i + 1, "'", false);
      yield {kind: 'string', text: inner(i + 1, end)};
      i = end;
    } else if (c === '"') {
      const end = endOfQuoted(i + 1, '"', false);
      yield {kind: 'quoted', text: inner(i + 1, end).replace(/""/g, '"')};
      i = end;
    } else if (c === '$') {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        const end = close === -1 ? n : close + tag[0].length;
        yield {kind: 'string', text: sql.slice(i + tag[0].length, close === -1 ? n : close)};
        i = end;
      } else {
        yield {kind: 'other', text: c};
        i++;
      }
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      WORD.lastIndex = i;
      const word = WORD.exec(sql)![0];
      i += word.length;
      if ((word === 'e' || word === 'E') && sql[i] === "'") {
        const end = endOfQuoted(i + 1, "'", true);
        yield {kind: 'string', text: inner(i + 1, end)};
        i = end;
      } else yield {kind: 'word', text: word};
    } else {
      yield {kind: 'other', text: c};
      i++;
    }
  }
}

/** The words in text (the content of a string literal), as sqlTokens reads words. */
export function wordsIn(text: string): string[] {
  return text.match(new RegExp(WORD.source, 'g')) ?? [];
}

/**
 * How many statements SQL text holds as its author wrote them: the pieces
 * between top-level semicolons that hold more than whitespace and comments
 * (sqlTokens); 0 for text of only those. DuckDB's extract_statements cannot
 * say it: it turns a PIVOT whose column values come from the data (`PIVOT t
 * ON k USING count(*)`, no `IN` list) into a `CREATE TEMPORARY TYPE
 * __pivot_enum_... AS ENUM (SELECT DISTINCT ...)` per such column followed
 * by the pivot itself, so one statement is counted as two or more.
 */
export function statementCount(sql: string): number {
  let count = 0;
  let content = false;
  for (const t of sqlTokens(sql)) {
    if (t.kind !== 'semicolon') content = true;
    else if (content) {
      count++;
      content = false;
    }
  }
  return content ? count + 1 : count;
}
