// Sticky: each matches at lastIndex only.
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;

/**
 * How many statements SQL text holds as its author wrote them: the pieces
 * between top-level semicolons that hold more than whitespace and comments.
 * DuckDB's extract_statements cannot say it: it turns a PIVOT whose column
 * values come from the data (`PIVOT t ON k USING count(*)`, no `IN` list)
 * into a `CREATE TEMPORARY TYPE __pivot_enum_... AS ENUM (SELECT DISTINCT
 * ...)` per such column followed by the pivot itself, so one statement is
 * counted as two or more.
 *
 * The text is scanned as DuckDB's (PostgreSQL's) scanner reads it: '...'
 * strings ('' inside), E'...' strings (backslash escapes too), "..."
 * identifiers ("" inside), $tag$...$tag$ strings, -- comments to the end of
 * the line (an LF or a CR), and nested /* *\/ comments. A `$` inside an identifier (a$b$)
 * and a parameter ($1) start no string.
 */
export function statementCount(sql: string): number {
  let count = 0;
  let content = false;
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
  while (i < n) {
    const c = sql[i]!;
    if (c === ';') {
      if (content) count++;
      content = false;
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
    } else {
      content = true;
      if (c === "'") i = endOfQuoted(i + 1, "'", false);
      else if (c === '"') i = endOfQuoted(i + 1, '"', false);
      else if (c === '$') {
        DOLLAR_TAG.lastIndex = i;
        const tag = DOLLAR_TAG.exec(sql);
        if (tag) {
          const end = sql.indexOf(tag[0], i + tag[0].length);
          i = end === -1 ? n : end + tag[0].length;
        } else i++;
      } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
        WORD.lastIndex = i;
        const word = WORD.exec(sql)![0];
        i += word.length;
        if ((word === 'e' || word === 'E') && sql[i] === "'") i = endOfQuoted(i + 1, "'", true);
      } else i++;
    }
  }
  return content ? count + 1 : count;
}
