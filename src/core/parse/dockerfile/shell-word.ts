// Shell-style word expansion, as BuildKit's shell lexer (frontend/dockerfile/shell/lex.go,
// ProcessWord) does it for FROM, --from and ARG defaults; and its inverse for one value.

/**
 * Expands one word: removes quotes and escapes and substitutes `$NAME`,
 * `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`,
 * `${NAME:?word}`, `${NAME#pat}`, `${NAME##pat}`, `${NAME%pat}`, `${NAME%%pat}`,
 * `${NAME/pat/repl}` and `${NAME//pat/repl}`.
 *
 * Unset variables expand to "". Where BuildKit reports an error (bad
 * substitution, `:?` on an unset variable, unterminated quote) this is
 * lenient and expands what it can: the parser only needs the reference.
 */
export function expandWord(word: string, env: Map<string, string>, escape: string): string {
  // Without "$", quotes or an escape character (either one) the word expands to itself.
  if (PLAIN_WORD.test(word)) return word;
  return new ShellWord(word, env, escape).processStopOn(undefined);
}

const PLAIN_WORD = /^[^$'"\\`]*$/;

class ShellWord {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly env: Map<string, string>,
    private readonly escape: string,
  ) {}

  /** Processes up to (and consuming) `stop`, or to the end of input. */
  processStopOn(stop: string | undefined): string {
    let out = "";
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (stop !== undefined && ch === stop) {
        this.pos++;
        return out;
      }
      if (ch === "$") {
        out += this.processDollar();
      } else if (ch === "'") {
        out += this.processSingleQuote();
      } else if (ch === '"') {
        out += this.processDoubleQuote();
      } else {
        this.pos++;
        if (ch === this.escape) {
          // The escape character takes the next character literally; at the
          // end of the word it is dropped.
          if (this.pos >= this.src.length) break;
          out += this.src[this.pos++];
        } else {
          out += ch;
        }
      }
    }
    return out;
  }

  private processSingleQuote(): string {
    this.pos++; // opening '
    const close = this.src.indexOf("'", this.pos);
    const end = close === -1 ? this.src.length : close;
    const out = this.src.slice(this.pos, end);
    this.pos = close === -1 ? end : close + 1;
    return out;
  }

  private processDoubleQuote(): string {
    this.pos++; // opening "
    let out = "";
    while (this.pos < this.src.length) {
      let ch = this.src[this.pos];
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === "$") {
        out += this.processDollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        if (this.pos >= this.src.length) continue;
        const next = this.src[this.pos];
        // Only ", $ and the escape character itself can be escaped here.
        if (next === '"' || next === "$" || next === this.escape) {
          ch = next;
          this.pos++;
        }
      }
      out += ch;
    }
    return out;
  }

  private processDollar(): string {
    this.pos++; // $
    if (this.src[this.pos] !== "{") {
      const name = this.processName();
      return name === "" ? "$" : (this.env.get(name) ?? "");
    }
    this.pos++; // {
    const first = this.src[this.pos];
    if (first === undefined || first === "{" || first === "}" || first === ":") return this.skipToBrace();
    const name = this.processName();
    const value = this.env.get(name);
    const op = this.src[this.pos++];
    switch (op) {
      case "}":
        return value ?? "";
      case ":": {
        const modifier = this.src[this.pos++];
        const word = this.processStopOn("}");
        if (modifier === "-") return value ? value : word;
        if (modifier === "+") return value ? word : "";
        return value ?? ""; // ":?" (an error in Docker when empty) or unsupported
      }
      case "-":
      case "+":
      case "?": {
        const word = this.processStopOn("}");
        if (op === "-") return value !== undefined ? value : word;
        if (op === "+") return value !== undefined ? word : "";
        return value ?? "";
      }
      case "#":
      case "%": {
        const longest = this.src[this.pos] === op;
        if (longest) this.pos++;
        const pattern = this.processStopOn("}");
        return op === "#" ? removePrefix(value ?? "", pattern, longest) : removeSuffix(value ?? "", pattern, longest);
      }
      case "/": {
        const all = this.src[this.pos] === "/";
        if (all) this.pos++;
        const pattern = this.processStopOn("/");
        const replacement = this.processStopOn("}");
        const re = patternRegExp(globToRegExp(pattern), pattern, all ? "g" : "");
        return (value ?? "").replace(re, () => replacement);
      }
      default:
        return op === undefined ? "" : this.skipToBrace();
    }
  }

  /** A name is letters/digits/_; a run of digits; or one special parameter. */
  private processName(): string {
    const first = this.src[this.pos];
    if (first === undefined) return "";
    if (/[0-9]/.test(first)) {
      const m = /^[0-9]+/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      return m[0];
    }
    if ("@*#?-$!".includes(first)) {
      this.pos++;
      return first;
    }
    const m = /^[\p{L}\p{N}_]*/u.exec(this.src.slice(this.pos))!;
    this.pos += m[0].length;
    return m[0];
  }

  /** Error recovery for a malformed ${...}: drop it entirely. */
  private skipToBrace(): string {
    const close = this.src.indexOf("}", this.pos);
    this.pos = close === -1 ? this.src.length : close + 1;
    return "";
  }
}

/** A shell pattern's regular expression; a class the engine would reject (`[z-a]`) matches literally. */
function patternRegExp(source: string, pattern: string, flags = ""): RegExp {
  try {
    return new RegExp(source, flags);
  } catch {
    return new RegExp(escapeRegExp(pattern), flags);
  }
}

/** Converts a shell glob (*, ?, [...], \x) to a regular-expression source. */
function globToRegExp(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      out += "[\\s\\S]*";
    } else if (c === "?") {
      out += "[\\s\\S]";
    } else if (c === "\\" && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i]);
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) {
        out += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = close;
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function removePrefix(value: string, pattern: string, longest: boolean): string {
  const re = patternRegExp(`^(?:${globToRegExp(pattern)})$`, pattern);
  for (let k = 0; k <= value.length; k++) {
    const len = longest ? value.length - k : k;
    if (re.test(value.slice(0, len))) return value.slice(len);
  }
  return value;
}

function removeSuffix(value: string, pattern: string, longest: boolean): string {
  const re = patternRegExp(`^(?:${globToRegExp(pattern)})$`, pattern);
  for (let k = 0; k <= value.length; k++) {
    const start = longest ? k : value.length - k;
    if (re.test(value.slice(start))) return value.slice(0, start);
  }
  return value;
}

/**
 * A double-quoted word that expandWord reads back as `value`: the escape character escapes `"`,
 * `$` and itself there, so nothing is expanded. `value` must hold no line break (no quoting
 * keeps one on the instruction's line).
 */
export function quoteWord(value: string, escape: string): string {
  const special = escape === "`" ? /["$`]/g : /["$\\]/g;
  return `"${value.replace(special, (c) => escape + c)}"`;
}
