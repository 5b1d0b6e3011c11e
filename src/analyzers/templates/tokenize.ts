// Tokenizing and masking of log lines for template mining: one pass of character scans per
// line, no regex per token. A token is a maximal run of non-whitespace characters; a token's
// "core" (without surrounding brackets, quotes and trailing punctuation) is replaced by the
// wildcard when it holds a variable: anything with a digit (numbers, hex, IPs, UUIDs, timestamps,
// ids like blk_123 or node-7), a path or URL, a quoted value, or a month/weekday name (dates).
// `key=value` keeps its key: `uid=0` → `uid=<*>`.

export const WILDCARD = '<*>';

/**
 * Separators: ASCII blanks (space, \t \n \v \f \r), NBSP, ideographic space and '|' (pipe-delimited
 * headers); a run of them counts as one.
 */
const SEPARATORS = /[ \t\n\v\f\r\u00a0\u3000|]+/;

/**
 * Split a line into tokens at blanks and '|' (runs of separators count as one), at most
 * `maxTokens`. String.split with a regexp runs in compiled regexp code: ≈0.2 µs for a 300-byte JSON
 * line against ≈0.9 µs for a charCodeAt loop (4×; 2× on Loghub's shorter lines).
 */
export function splitTokens(line: string, maxTokens: number): string[] {
  // Leading and trailing separators give one empty piece each; there are none in between.
  const parts = line.split(SEPARATORS, maxTokens + 2);
  const a = parts[0] === '' ? 1 : 0;
  let b = parts.length;
  if (b > a && parts[b - 1] === '') b--;
  if (a === 0 && b === parts.length && b <= maxTokens) return parts;
  return parts.slice(a, Math.min(b, a + maxTokens));
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) return true;
  return false;
}

// Month and weekday abbreviations and names (English) are parts of dates: variables.
const DATE_WORDS = new Set([
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'january',
  'february',
  'march',
  'april',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
  'sat',
  'sun',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
]);

/** Case-sensitive forms of the date words, as they appear in logs ("Jun", "JUN", "jun"). */
const DATE_FORMS = new Set<string>();
for (const w of DATE_WORDS) {
  DATE_FORMS.add(w);
  DATE_FORMS.add(w.toUpperCase());
  DATE_FORMS.add(w[0]!.toUpperCase() + w.slice(1));
}

export function isDateWord(s: string): boolean {
  return s.length >= 3 && s.length <= 9 && DATE_FORMS.has(s);
}

const OPENERS = '([{<"\'';
const BOOLS = new Set([
  'true',
  'false',
  'True',
  'False',
  'TRUE',
  'FALSE',
  'null',
  'NULL',
  'None',
  'nil',
]);
const CLOSERS = ')]}>"\',;:.!?';

/**
 * Is the core of a token a variable? Digits anywhere, a path ("/a/b"), a URL, or a date word.
 * Hex without digits ("deadbeef") is too rare to pay for a check.
 */
function isVariableCore(core: string): boolean {
  let slashes = 0;
  for (let i = 0; i < core.length; i++) {
    const c = core.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
    if (c === 47 || c === 92) slashes++; // '/' or '\'
  }
  if (slashes >= 2 && core.length > 2) return true;
  if (slashes === 1 && core.length > 3) return true;
  if (BOOLS.has(core)) return true;
  return isDateWord(core);
}

/** Mask one token. Returns the token itself when nothing in it is variable. */
export function maskToken(tok: string): string {
  const n = tok.length;
  let s = 0;
  let e = n;
  while (s < e && OPENERS.includes(tok[s]!)) s++;
  while (e > s && CLOSERS.includes(tok[e - 1]!)) e--;
  if (s >= e) {
    // "()", "[]", '""': an empty value where others have one.
    if (n === 2 && OPENERS.includes(tok[0]!)) return tok[0] + WILDCARD + tok[1];
    return tok;
  }
  // Quoted value: the whole core is a variable.
  const q = tok.charCodeAt(0);
  if ((q === 34 || q === 39) && n > 2 && tok.charCodeAt(n - 1) === q) return WILDCARD;
  // key=value and key:value: the key stays, a non-empty value is a variable ("uid=0" → "uid=<*>",
  // "isOverlap:false" → "isOverlap:<*>"). Keys are letters, digits after the first, _ . - .
  for (let i = isAlpha(tok.charCodeAt(s)) ? s + 1 : e; i < e; i++) {
    const c = tok.charCodeAt(i);
    if (c === 61 /* = */ || c === 58 /* : */) {
      if (c === 58 && tok.charCodeAt(i + 1) === 47) break; // scheme://
      if (i + 1 >= e) return tok;
      if (tok.charCodeAt(i + 1) === 61) break; // "=="
      return tok.slice(0, i + 1) + WILDCARD + tok.slice(e);
    }
    if (!isAlpha(c) && c !== 95 && c !== 46 && c !== 45 && !(c >= 48 && c <= 57)) break;
  }
  // name(args): a call or a qualifier keeps its name ("jk2_init()", "LOGIN(uid=0)").
  if (isAlpha(tok.charCodeAt(s))) {
    const p = tok.indexOf('(', s + 1);
    if (p > 0 && p < e + 1) {
      const inner = tok.slice(p + 1);
      const masked = inner.length > 0 ? maskToken(inner) : inner;
      return masked === inner ? tok : tok.slice(0, p + 1) + masked;
    }
  }
  const core = s === 0 && e === n ? tok : tok.slice(s, e);
  if (!isVariableCore(core)) return tok;
  if (s === 0 && e === n) return WILDCARD;
  return tok.slice(0, s) + WILDCARD + tok.slice(e);
}

// Size units after a number belong to the value ("384.0 B", "12 KB"): masked with it.
const UNITS = new Set([
  'B',
  'KB',
  'MB',
  'GB',
  'TB',
  'PB',
  'KiB',
  'MiB',
  'GiB',
  'TiB',
  'kB',
  'bytes',
]);

/** Mask the tokens of a message: each token by maskToken, and a size unit after a masked number. */
export function maskTokens(toks: readonly string[], start: number, out: string[]): void {
  let prevWild = false;
  for (let i = start; i < toks.length; i++) {
    const t = toks[i]!;
    let m = maskToken(t);
    if (prevWild && m === t) {
      let e = t.length;
      while (e > 0 && CLOSERS.includes(t[e - 1]!)) e--;
      if (UNITS.has(e === t.length ? t : t.slice(0, e))) m = WILDCARD + t.slice(e);
    }
    prevWild = m === WILDCARD;
    out.push(m);
  }
}

/** True when a token (as it appears in the raw line) is variable-like: has a digit or a date word. */
export function isVariableToken(tok: string): boolean {
  if (hasDigit(tok)) return true;
  let s = 0;
  let e = tok.length;
  while (s < e && OPENERS.includes(tok[s]!)) s++;
  while (e > s && CLOSERS.includes(tok[e - 1]!)) e--;
  return isDateWord(tok.slice(s, e));
}
