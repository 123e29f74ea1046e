// The lexer: physical lines, the byte order mark, parser directives (escape), continuations,
// comment and blank lines, heredoc bodies. It turns a Dockerfile into logical instructions, each
// with a map back to the original offsets, and tells whether the text ends inside one.
//
// It follows BuildKit's frontend/dockerfile/parser/parser.go closely, because small differences
// there decide what is an instruction at all (see index.ts).

import { leadingSpace, parseCommandLine, parseWords, type FlagWord } from "./words.js";

/** How a Dockerfile ends: a line appended to it would join its last instruction when `open`. */
export interface DockerfileEnd {
  /** The escape character: `\`, or what a `# escape=` parser directive says. */
  escape: string;
  open?: OpenEnd;
}

export interface OpenEnd {
  /**
   * "continuation": the last instruction continues past the end (comment and blank lines never
   * end a continuation); "doubled-escape": its last line ends in the escape character twice, no
   * continuation for current BuildKit but one for older parsers; "heredoc": a heredoc has no
   * terminator.
   */
  kind: "continuation" | "doubled-escape" | "heredoc";
  /** 1-based line: the last one ending in the escape character, or the heredoc's instruction. */
  line: number;
  /** The open heredoc's delimiter. */
  heredoc?: string;
}

/**
 * Whether the text ends inside an instruction, by the same line rules that parse it. Throws, as
 * parseDockerfile does, for an invalid or repeated parser directive.
 */
export function dockerfileEnd(text: string): DockerfileEnd {
  const { escape, open } = scanInstructions(text);
  return open ? { escape, open } : { escape };
}

/** One instruction as the builder reads it (see instructionsOf). */
export interface InstructionView {
  /** The keyword, upper-cased: "RUN". */
  keyword: string;
  /** 1-based line of its first line. */
  line: number;
  /** Builder flags before the arguments, quotes and escapes removed: "--mount=type=cache,target=/c". */
  flags: string[];
  /** The delimiters of the heredocs it opens, in order. */
  heredocs: string[];
}

/**
 * The instructions of a Dockerfile (comment lines, continuations and heredoc bodies handled as
 * the builder does) and its parser directives. Throws, as parseDockerfile does, for an invalid or
 * repeated parser directive.
 */
export function instructionsOf(text: string): { escape: string; directives: Directive[]; instructions: InstructionView[] } {
  const { instructions, escape, directives } = scanInstructions(text);
  const views = instructions.map((ins) => ({
    keyword: ins.cmd.toUpperCase(),
    line: ins.line,
    flags: ins.flags.map((f) => f.value),
    heredocs: ins.heredocs ?? [],
  }));
  return { escape, directives, instructions: views };
}

/**
 * The parser directive a fragment (a text appended to another) starts with: its first non-blank
 * line, if that looks like `# syntax=`, `# escape=` or `# check=`. Looser than the directive rule
 * in scanInstructions on purpose (blank lines before it, no value): whoever wrote it meant a
 * directive, and appended it is only a comment.
 */
export function leadingDirective(text: string): { name: string; line: number } | undefined {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== "");
  const directive = first >= 0 ? /^\s*#\s*(syntax|escape|check)\s*=/i.exec(lines[first]) : null;
  return directive ? { name: directive[1], line: first + 1 } : undefined;
}

export interface Instruction {
  /** Lower-cased keyword, e.g. "from". */
  cmd: string;
  /** 1-based line of the instruction's first line. */
  line: number;
  /** The logical line: continuation characters removed, continuation lines joined, comment lines dropped. */
  text: string;
  /**
   * Where the characters of `text` come from, as pairs [index in text, index in the original
   * text], one pair per physical line that went into it: each line's kept part is copied whole,
   * so text[i] is at original index `pieces[k + 1] + (i - pieces[k])` for the last pair with
   * `pieces[k] <= i`. (Pairs rather than one offset per character keep parsing 10,000
   * Dockerfiles from allocating an array entry per byte.)
   */
  pieces: number[];
  /** Builder flags (`--x=y`) before the arguments. */
  flags: FlagWord[];
  /** Index in `text` where the arguments after the flags begin. */
  argsStart: number;
  /** The delimiters of the heredocs it opens, in order (RUN, COPY, ADD, also after ONBUILD). */
  heredocs?: string[];
}

/** A parser directive at the top: `# syntax=…`, `# escape=…`, `# check=…`. */
export interface Directive {
  /** Lower-cased name. */
  name: string;
  value: string;
  /** 1-based line. */
  line: number;
}

interface PhysicalLine {
  /** The line without its line ending (trailing CRs are dropped too, like BuildKit's trimNewline). */
  text: string;
  /** Offset of text[0] in the original text. */
  start: number;
  /** Carriage returns dropped from its end: more than one, and engines read it differently (see continuesAmbiguously). */
  crs: number;
}

function splitPhysicalLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl === -1 ? text.length : nl;
    let contentEnd = end;
    while (contentEnd > pos && text[contentEnd - 1] === "\r") contentEnd--;
    lines.push({ text: text.slice(pos, contentEnd), start: pos, crs: end - contentEnd });
    pos = end + 1;
  }
  return lines;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const HEREDOC_COMMANDS = new Set(["run", "copy", "add"]);

/**
 * A line ending in the escape character and then two or more carriage returns: BuildKit from 0.9
 * drops them all and continues the line, Docker 20.10's parsers (the classic builder and its
 * BuildKit) drop one and end it there, so the next line is an instruction of its own for them
 * (hunter22: a FROM there became the image's base unseen). Refused: the plan can't be both.
 */
function continuesAmbiguously(line: PhysicalLine, continued: boolean, lineNo: number, escape: string, last: boolean): void {
  // The last line continues into nothing either way.
  if (continued && line.crs > 1 && !last) {
    throw new Error(`Dockerfile line ${lineNo}: the line ends in the escape character ${escape} and then ${line.crs} carriage returns, which Docker 20.10 reads as the end of the instruction and newer BuildKit as a continuation: end the line with one line ending`);
  }
}

/**
 * Removes a trailing continuation character. Mirrors BuildKit's regex
 * `([^E])E[ \t]*$|^E[ \t]*$`: trailing spaces/tabs may follow it, and an
 * escape character preceded by another one (`\\`) does not continue the line.
 */
function trimContinuation(s: string, escape: string): { kept: string; continued: boolean } {
  let end = s.length;
  while (end > 0 && (s[end - 1] === " " || s[end - 1] === "\t")) end--;
  if (end === 0 || s[end - 1] !== escape) return { kept: s, continued: false };
  if (end >= 2 && s[end - 2] === escape) return { kept: s, continued: false };
  return { kept: s.slice(0, end - 1), continued: true };
}

/**
 * Splits the text into instructions, skipping comments, blank lines and heredoc bodies. `open`
 * tells whether the last instruction is left open at the end (see dockerfileEnd).
 */
export function scanInstructions(text: string): { instructions: Instruction[]; escape: string; directives: Directive[]; open?: OpenEnd } {
  const lines = splitPhysicalLines(text);
  const instructions: Instruction[] = [];
  let escape = "\\";
  // The last instruction's last line (or its open heredoc), for `open`.
  let last: { line: number; text: string; continued: boolean; heredoc?: string } | undefined;
  let directivesDone = false;
  const directives: Directive[] = [];

  // Parser directives are only recognised until the first line that is not
  // one: an instruction, a plain comment, an unknown directive or a blank line.
  const checkDirective = (line: string, lineNo: number): void => {
    if (directivesDone) return;
    const m = DIRECTIVE.exec(line);
    const key = m?.[1].toLowerCase();
    if (!m || !key || !KNOWN_DIRECTIVES.has(key)) {
      directivesDone = true;
      return;
    }
    if (directives.some((d) => d.name === key)) throw new Error(`Dockerfile line ${lineNo}: only one ${key} parser directive can be used`);
    // `check` is known to BuildKit's Dockerfile frontend from 1.8 only: the classic builder and the
    // frontend built into Docker 20.10 read it as a comment, which ends the directives, so one after
    // it is a comment for them (hunter22: `# escape=` after it, backtick continuations for the plan
    // and backslash ones for the engine).
    if (directives.some((d) => d.name === "check")) throw new Error(`Dockerfile line ${lineNo}: the ${key} parser directive follows the check directive, which the classic builder and the Dockerfile frontend built into Docker 20.10 don't know: they read check as a comment and every directive after it as one too; put check after ${key}`);
    directives.push({ name: key, value: m[2], line: lineNo });
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw new Error(`Dockerfile line ${lineNo}: invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2];
    }
  };

  let i = 0;
  while (i < lines.length) {
    let { text: content, start } = lines[i++];
    if (i === 1 && content.startsWith("\uFEFF")) {
      content = content.slice(1);
      start += 1;
    }
    const lead = leadingSpace(content);
    content = content.slice(lead);
    start += lead;
    checkDirective(content, i);
    if (content.startsWith("#")) continue; // comments never continue

    let { kept, continued } = trimContinuation(content, escape);
    continuesAmbiguously(lines[i - 1], continued, i, escape, i === lines.length);
    if (!continued && kept === "") continue;

    const startLine = i;
    let logical = kept;
    const pieces: number[] = [0, start];

    // The physical line that ends the instruction (or, at the end of the text, the last one
    // that continued it).
    let lastLineNo = startLine;
    let lastLine = content;
    while (continued && i < lines.length) {
      const cont = lines[i++];
      const trimmed = cont.text.slice(leadingSpace(cont.text));
      // Comment lines and (deprecated) empty lines inside a continuation are
      // skipped; the instruction goes on after them.
      if (trimmed.startsWith("#") || trimmed === "") continue;
      // Continuation lines keep their leading whitespace, as in BuildKit.
      ({ kept, continued } = trimContinuation(cont.text, escape));
      continuesAmbiguously(cont, continued, i, escape, i === lines.length);
      if (kept.length > 0) pieces.push(logical.length, cont.start);
      logical += kept;
      lastLineNo = i;
      lastLine = cont.text;
    }
    last = { line: lastLineNo, text: lastLine, continued };

    const parsed = parseCommandLine(logical, 0);
    const ins: Instruction = {
      cmd: parsed.cmd.toLowerCase(),
      line: startLine,
      text: logical,
      pieces,
      flags: parsed.flags,
      argsStart: parsed.argsStart,
    };
    instructions.push(ins);

    // Heredoc bodies follow the instruction line; they are data, never
    // instructions, so a `FROM` inside one must not be seen.
    const docs = canContainHeredoc(ins) ? heredocsFromLine(logical) : [];
    if (docs.length > 0) {
      ins.heredocs = docs.map((d) => d.name);
      for (const doc of docs) {
        let terminated = false;
        while (i < lines.length) {
          const body = lines[i++].text;
          const candidate = doc.chomp ? body.replace(/^\t+/, "") : body;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
        }
        // A heredoc's terminator ends the instruction, whatever its first line ended in.
        last = terminated ? undefined : { line: startLine, text: "", continued: false, heredoc: doc.name };
        if (!terminated) break;
      }
    }
  }
  return { instructions, escape, directives, open: last && openEnd(last, escape) };
}

/**
 * Whether a line added after the last instruction would join it: it continues past the end, ends
 * in a doubled escape character (no continuation for current BuildKit, one for older parsers)
 * or has an unterminated heredoc.
 */
function openEnd(last: { line: number; text: string; continued: boolean; heredoc?: string }, escape: string): OpenEnd | undefined {
  if (last.heredoc !== undefined) return { kind: "heredoc", line: last.line, heredoc: last.heredoc };
  if (last.continued) return { kind: "continuation", line: last.line };
  if (last.text.replace(/[ \t]+$/, "").endsWith(escape + escape)) return { kind: "doubled-escape", line: last.line };
  return undefined;
}

export function sourceSpan(ins: Instruction, start: number, end: number): [number, number] {
  // A word that crosses a line continuation maps to a range that includes the
  // continuation; replacing it joins the word onto one line, which is fine.
  return [originalOffset(ins, start), originalOffset(ins, end - 1) + 1];
}

/** The index in the original text of `ins.text[index]`. */
function originalOffset(ins: Instruction, index: number): number {
  const p = ins.pieces;
  let k = 0;
  while (k + 2 < p.length && p[k + 2] <= index) k += 2;
  return p[k + 1] + (index - p[k]);
}

/**
 * RUN, COPY and ADD (also after ONBUILD) take heredocs. BuildKit also excludes
 * the JSON (exec) form, but there every word is a quoted string, and a word
 * starting with a quote never opens a heredoc (see heredocsFromLine), so that
 * needs no separate check here.
 */
function canContainHeredoc(ins: Instruction): boolean {
  if (ins.cmd !== "onbuild") return HEREDOC_COMMANDS.has(ins.cmd);
  return HEREDOC_COMMANDS.has(parseCommandLine(ins.text, ins.argsStart).cmd.toLowerCase());
}

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;

/**
 * The heredocs an instruction line opens, in order. Like BuildKit, the line is
 * split into shell words and each whole word is matched, so `"<<EOF"` (quoted)
 * or `a<<EOF` open nothing.
 */
function heredocsFromLine(line: string): { name: string; chomp: boolean }[] {
  const docs: { name: string; chomp: boolean }[] = [];
  // parseWords only drops separators and a trailing escape, so a word holds "<<" only if the
  // line does: most RUN/COPY/ADD lines can skip the word splitting.
  if (!line.includes("<<")) return docs;
  for (const word of parseWords(line, "\\")) {
    const m = HEREDOC_WORD.exec(word);
    if (!m || m[3] === "") continue;
    const name = unquote(m[3]);
    if (name !== "") docs.push({ name, chomp: m[2] === "-" });
  }
  return docs;
}

/** Removes shell quoting from a heredoc delimiter: 'EOF', "EOF", E\OF -> EOF. */
function unquote(word: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < word.length; i++) {
    const ch = word[i];
    if (quote === "'") {
      if (ch === "'") quote = "";
      else out += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = "";
      else if (ch === "\\" && i + 1 < word.length && '"$\\'.includes(word[i + 1])) out += word[++i];
      else out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === "\\") {
      if (i + 1 < word.length) out += word[++i];
    } else {
      out += ch;
    }
  }
  return out;
}

