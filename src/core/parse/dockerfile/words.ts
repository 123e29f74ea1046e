// One logical line split into words the way BuildKit's parser splits them: the keyword, the
// leading `--flag[=value]` words, FROM's whitespace-separated arguments and shell-like words
// (ARG's name=value pairs, heredoc openers). Indexes are into the logical line.

export interface FlagWord {
  /** The flag with quotes and escapes removed, e.g. `--from=build`. */
  value: string;
  /** [rawStart, rawEnd) of the flag as written, in logical-line indexes. */
  rawStart: number;
  rawEnd: number;
}

/**
 * Go's unicode.IsSpace, which BuildKit uses to strip leading whitespace: \t \n \v \f \r, space,
 * U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. (A character
 * code test rather than a regular expression: this runs for every character of every line.)
 */
function isSpaceCode(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** Number of leading unicode.IsSpace characters of `s`. */
export function leadingSpace(s: string): number {
  let n = 0;
  while (n < s.length && isSpaceCode(s.charCodeAt(n))) n++;
  return n;
}

/** Splits `keyword [--flags...] args` starting at `from`. Indexes are into `line`. */
export function parseCommandLine(line: string, from: number): { cmd: string; flags: FlagWord[]; argsStart: number } {
  let pos = from + leadingSpace(line.slice(from));
  const cmdStart = pos;
  while (pos < line.length && !isSeparator(line[pos])) pos++;
  const cmd = line.slice(cmdStart, pos);
  while (pos < line.length && isSeparator(line[pos])) pos++;
  const { flags, argsStart } = extractBuilderFlags(line, pos);
  return { cmd, flags, argsStart };
}

/** BuildKit's reWhitespace: what separates the keyword and FROM's arguments. */
function isSeparator(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\v" || ch === "\f" || ch === "\r";
}

function isSpace(ch: string): boolean {
  return ch.length === 1 && isSpaceCode(ch.charCodeAt(0));
}

/**
 * Reads leading `--flag[=value]` words, like BuildKit's extractBuilderFlags:
 * quotes are removed and a backslash escapes the next character (always a
 * backslash here, whatever the escape directive says). A bare `--` ends the
 * flags.
 */
function extractBuilderFlags(line: string, from: number): { flags: FlagWord[]; argsStart: number } {
  const flags: FlagWord[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let word = "";
  let quote = "";
  let blankOK = false;
  let wordStart = from;
  for (let pos = from; pos <= line.length; pos++) {
    const atEnd = pos === line.length;
    let ch = atEnd ? "" : line[pos];
    if (phase === "spaces") {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== "-" || pos + 1 === line.length || line[pos + 1] !== "-") return { flags, argsStart: pos };
      phase = "word";
      wordStart = pos;
    }
    if (atEnd) {
      if (word !== "--" && (blankOK || word.length > 0)) flags.push({ value: word, rawStart: wordStart, rawEnd: pos });
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (word === "--") return { flags, argsStart: pos };
        if (blankOK || word.length > 0) flags.push({ value: word, rawStart: wordStart, rawEnd: pos });
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === line.length) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    // phase === "quote"
    if (ch === quote) {
      phase = "word";
      continue;
    }
    if (ch === "\\") {
      if (pos + 1 === line.length) {
        phase = "word";
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return { flags, argsStart: line.length };
}

/** FROM's arguments: split on whitespace, no quote handling (parseStringsWhitespaceDelimited). */
export function whitespaceTokens(line: string, from: number): { value: string; start: number; end: number }[] {
  const tokens: { value: string; start: number; end: number }[] = [];
  const re = /[^\t\v\f\r ]+/g;
  re.lastIndex = from;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    tokens.push({ value: m[0], start: m.index, end: m.index + m[0].length });
  }
  return tokens;
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escapes in the
 * words (BuildKit's parseWords, used for ARG's name=value pairs).
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote = "";
  let blankOK = false;
  for (let pos = 0; pos < rest.length; pos++) {
    let ch = rest[pos];
    if (quote === "") {
      if (isSpace(ch)) {
        if (inWord && (blankOK || word.length > 0)) words.push(word);
        word = "";
        inWord = false;
        blankOK = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
      } else if (ch === escape) {
        if (pos + 1 === rest.length) continue; // escape at the very end is dropped
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    // Inside quotes; the escape character means nothing inside single quotes.
    if (ch === quote) {
      quote = "";
    } else if (ch === escape && quote !== "'") {
      if (pos + 1 === rest.length) continue;
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  if (inWord && (blankOK || word.length > 0)) words.push(word);
  return words;
}

