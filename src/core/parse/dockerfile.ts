// Pure Dockerfile parser: finds the images a Dockerfile builds on and can
// rewrite those references in place.
//
// The line handling follows BuildKit's dockerfile frontend
// (frontend/dockerfile/parser/parser.go) closely, because small differences
// there decide what is an instruction at all: which lines are parser
// directives, when the escape character continues a line, which comment lines
// are dropped inside a continuation and where a heredoc body ends. Variable
// expansion follows BuildKit's shell lexer (frontend/dockerfile/shell/lex.go).
//
// Everything works on the logical line (continuations joined) while keeping,
// for each of its characters, the offset in the original text. That is what
// lets rewriteImageRefs replace exactly the bytes of one reference and leave
// every other byte (comments, continuations, CRLF endings) untouched.

export interface ImageRef {
  /** The image reference after ARG substitution, e.g. "registry.example.org/x/sci/base:2.4" */
  image: string;
  /** 1-based line number where the instruction starts */
  line: number;
  /** `COPY/ADD --from=`, `RUN --mount=…,from=`. */
  kind: "from" | "copy-from" | "mount-from";
}

export interface Stage {
  /** The stage name from `AS name`, as written. Docker compares stage names case-insensitively. */
  name?: string;
  /** The base after ARG substitution: an image reference, "scratch" or an earlier stage's name. */
  base: string;
  /** 1-based line number of the FROM instruction */
  line: number;
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** External image references: FROM bases and COPY/ADD --from values that are NOT earlier stage names (case-insensitive), numeric stage indexes, or "scratch". Deduplicated order of appearance is fine but keep line numbers of first appearance. */
  imageRefs: ImageRef[];
  /** Build-arg names declared before the first FROM (global ARGs) with their defaults (undefined if none) */
  globalArgs: Record<string, string | undefined>;
}

/**
 * Parses a Dockerfile and reports its stages, the external images it depends
 * on and its global ARGs.
 *
 * `buildArgs` are `--build-arg` values. As in Docker they only override ARGs
 * that are declared before the first FROM; the one exception are BuildKit's
 * predefined platform args (TARGETARCH, BUILDPLATFORM, ...), which Docker
 * defines in the global scope without a declaration, so callers may supply
 * them here.
 *
 * `globalArgs` reports each global ARG's default after quote removal and
 * expansion of earlier ARGs, not the buildArgs override.
 *
 * Throws an Error naming the line for input Docker itself rejects: a FROM
 * without exactly `image` or `image AS name`, an unterminated heredoc, an
 * invalid or repeated parser directive.
 */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  const { stages, occurrences, globalArgs } = analyze(text, buildArgs);
  return { stages, imageRefs: externalRefs(occurrences), globalArgs };
}

function externalRefs(occurrences: Occurrence[]): ImageRef[] {
  const imageRefs: ImageRef[] = [];
  const seen = new Set<string>();
  for (const o of occurrences) {
    if (!o.external || seen.has(o.image)) continue;
    seen.add(o.image);
    imageRefs.push({ image: o.image, line: o.line, kind: o.kind });
  }
  return imageRefs;
}

/**
 * Parses a Dockerfile fragment that is appended after a FROM (a compat layer's Dockerfile), as
 * it is read there: its ARGs belong to that stage, so only `buildArgs` of BuildKit's predefined
 * platform args expand in `--from`. Its FROM lines, if any, are reported as stages.
 */
export function parseDockerfileFragment(text: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  const { stages, occurrences, globalArgs } = analyze(text, buildArgs, true);
  return { stages, imageRefs: externalRefs(occurrences), globalArgs };
}

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

export interface SciReference {
  target: string;
  /** The tag; "latest" when none is written. */
  version: string;
  /** `sha256:…` when the reference pins a digest. */
  digest?: string;
}

/**
 * The science layer an image reference names by its path: one that ends in `sci/{target}`, with
 * any registry prefix or none ("reg.example:5000/a/sci/base:2.4" -> base 2.4). Anything else
 * ("python:3.11", ".../rel/base:2.4") is no science layer. A ":" before the last "/" is a
 * registry port, not a tag.
 */
export function sciReference(image: string): SciReference | undefined {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const slash = name.lastIndexOf("/");
  if (slash < 3 || name.slice(slash - 3, slash) !== "sci" || (slash > 3 && name[slash - 4] !== "/")) return undefined;
  const last = name.slice(slash + 1);
  const colon = last.indexOf(":");
  const target = colon >= 0 ? last.slice(0, colon) : last;
  if (target === "") return undefined;
  const ref: SciReference = { target, version: colon >= 0 ? last.slice(colon + 1) : "latest" };
  if (at >= 0) ref.digest = image.slice(at + 1);
  return ref;
}

/** Returns the Dockerfile text with every FROM base, COPY/ADD --from and RUN --mount from= value whose *resolved* reference (after ARG substitution) is a key of `map` replaced by the map's value (the whole reference, literally; the ARG usage is replaced by the literal). All other bytes of the text are unchanged. */
export function rewriteImageRefs(
  text: string,
  map: Record<string, string>,
  buildArgs: Record<string, string> = {},
): string {
  const { occurrences } = analyze(text, buildArgs);
  // Only external references are rewritten: a stage name, a stage index or
  // "scratch" is not an image, even if the map happens to have that key.
  const edits = occurrences
    .filter((o) => o.external && o.span !== undefined && Object.hasOwn(map, o.image))
    .map((o) => ({ start: o.span![0], end: o.span![1], value: map[o.image] }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return out;
}

// ---------------------------------------------------------------------------
// Analysis: stages, references and global ARGs

interface Occurrence {
  image: string;
  line: number;
  kind: ImageRef["kind"];
  /** Whether the reference names an image (rather than a stage, an index or scratch). */
  external: boolean;
  /** [start, end) in the original text of the word that spells the reference. */
  span?: [number, number];
}

interface Analysis {
  stages: Stage[];
  occurrences: Occurrence[];
  globalArgs: Record<string, string | undefined>;
}

/**
 * Args BuildKit defines in the global scope by itself (from --platform and
 * the target). They are usable in FROM without an ARG declaration.
 */
const PREDEFINED_GLOBAL_ARGS = new Set([
  "BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
  "TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
]);

function analyze(text: string, buildArgs: Record<string, string>, fragment = false): Analysis {
  const { instructions, escape, open } = scanInstructions(text);
  if (open?.kind === "heredoc") throw new Error(`Dockerfile line ${open.line}: unterminated heredoc <<${open.heredoc}`);
  const env = new Map<string, string>();
  for (const name of Object.keys(buildArgs)) {
    if (PREDEFINED_GLOBAL_ARGS.has(name)) env.set(name, buildArgs[name]);
  }
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  const occurrences: Occurrence[] = [];
  const copyFroms: Occurrence[] = [];
  const stageNamesSoFar = new Set<string>();
  // A fragment comes after a FROM: its ARGs are stage-scoped and never reach --from.
  let seenFrom = fragment;

  for (const ins of instructions) {
    switch (ins.cmd) {
      case "arg": {
        // ARGs after the first FROM are stage-scoped and never reach FROM.
        if (seenFrom) break;
        for (const word of parseWords(ins.text.slice(ins.argsStart), escape)) {
          const eq = word.indexOf("=");
          const key = eq >= 0 ? word.slice(0, eq) : word;
          if (key === "") continue; // Docker rejects it; nothing to record
          // Like BuildKit's buildMetaArgs: a default may use earlier global
          // ARGs; a build arg replaces the value of a declared ARG; an ARG
          // without default or build arg leaves the variable as it was.
          const def = eq >= 0 ? expandWord(word.slice(eq + 1), env, escape) : undefined;
          setOwn(globalArgs, key, def);
          const value = Object.hasOwn(buildArgs, key) ? buildArgs[key] : def;
          if (value !== undefined) env.set(key, value);
        }
        break;
      }
      case "from": {
        seenFrom = true;
        const tokens = whitespaceTokens(ins.text, ins.argsStart);
        let name: string | undefined;
        if (tokens.length === 3 && tokens[1].value.toLowerCase() === "as") {
          name = tokens[2].value;
        } else if (tokens.length !== 1) {
          throw new Error(`Dockerfile line ${ins.line}: FROM requires either one or three arguments (image [AS name])`);
        }
        const base = expandWord(tokens[0].value, env, escape);
        // Only stages defined *before* this one can be a base (BuildKit
        // registers a stage's name after resolving its base), so
        // `FROM x AS x` still pulls the image x.
        const isStage = stageNamesSoFar.has(base.toLowerCase());
        occurrences.push({
          image: base,
          line: ins.line,
          kind: "from",
          external: base !== "" && !isStage && !isScratch(base),
          span: sourceSpan(ins, tokens[0].start, tokens[0].end),
        });
        stages.push(name === undefined ? { base, line: ins.line } : { name, base, line: ins.line });
        if (name !== undefined) stageNamesSoFar.add(name.toLowerCase());
        break;
      }
      case "copy":
      case "add": {
        const flag = ins.flags.find((f) => f.value.startsWith("--from="));
        if (!flag) break;
        // BuildKit itself refuses variables in --from; expanding them with
        // the global ARGs (what FROM would see) is the useful approximation.
        const image = expandWord(flag.value.slice("--from=".length), env, escape);
        const raw = ins.text.slice(flag.rawStart, flag.rawEnd);
        const occ: Occurrence = { image, line: ins.line, kind: "copy-from", external: false };
        // The span is only known when the flag name is written plainly.
        if (raw.startsWith("--from=") && flag.rawEnd > flag.rawStart + "--from=".length) {
          occ.span = sourceSpan(ins, flag.rawStart + "--from=".length, flag.rawEnd);
        }
        occurrences.push(occ);
        copyFroms.push(occ);
        break;
      }
      case "run": {
        // `--mount=type=bind,from=image,…` (and type=cache): a stage or an image to mount.
        for (const flag of ins.flags) {
          if (!flag.value.startsWith("--mount=")) continue;
          const from = mountFrom(flag.value.slice("--mount=".length));
          if (from === undefined) continue;
          const occ: Occurrence = { image: expandWord(from.value, env, escape), line: ins.line, kind: "mount-from", external: false };
          // As for --from, the span is only known when the flag is written plainly.
          const raw = ins.text.slice(flag.rawStart, flag.rawEnd);
          if (raw === flag.value && from.value !== "") {
            const start = flag.rawStart + "--mount=".length + from.start;
            occ.span = sourceSpan(ins, start, start + from.value.length);
          }
          occurrences.push(occ);
          copyFroms.push(occ);
        }
        break;
      }
    }
  }

  // BuildKit looks --from names up among all stages of the file (one defined
  // later is an error there, never an image pull), so classify at the end.
  const allStageNames = new Set(stages.filter((s) => s.name !== undefined).map((s) => s.name!.toLowerCase()));
  for (const occ of copyFroms) {
    occ.external =
      occ.image !== "" &&
      !/^[+-]?\d+$/.test(occ.image) && // stage index, as strconv.Atoi reads it
      !allStageNames.has(occ.image.toLowerCase()) &&
      !isScratch(occ.image);
  }
  return { stages, occurrences, globalArgs };
}

/**
 * The `from` field of a `--mount` value: comma-separated `key=value` fields, keys compared
 * case-insensitively, as BuildKit reads them (a CSV record: quotes are removed, which the caller
 * sees as a raw text that differs from the value). `start`: its value's index in `mount`.
 */
function mountFrom(mount: string): { value: string; start: number } | undefined {
  let start = 0;
  for (const field of mount.split(",")) {
    const eq = field.indexOf("=");
    if (eq >= 0 && field.slice(0, eq).trim().toLowerCase() === "from") return { value: field.slice(eq + 1), start: start + eq + 1 };
    start += field.length + 1;
  }
  return undefined;
}

function isScratch(image: string): boolean {
  return image.toLowerCase() === "scratch";
}

/** Assigns an own property even for keys like "__proto__". */
function setOwn(obj: Record<string, string | undefined>, key: string, value: string | undefined): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function sourceSpan(ins: Instruction, start: number, end: number): [number, number] {
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

// ---------------------------------------------------------------------------
// Lines, directives, continuations and heredocs

interface FlagWord {
  /** The flag with quotes and escapes removed, e.g. `--from=build`. */
  value: string;
  /** [rawStart, rawEnd) of the flag as written, in logical-line indexes. */
  rawStart: number;
  rawEnd: number;
}

interface Instruction {
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
}

interface PhysicalLine {
  /** The line without its line ending (trailing CRs are dropped too, like BuildKit's trimNewline). */
  text: string;
  /** Offset of text[0] in the original text. */
  start: number;
}

function splitPhysicalLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl === -1 ? text.length : nl;
    let contentEnd = end;
    while (contentEnd > pos && text[contentEnd - 1] === "\r") contentEnd--;
    lines.push({ text: text.slice(pos, contentEnd), start: pos });
    pos = end + 1;
  }
  return lines;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const HEREDOC_COMMANDS = new Set(["run", "copy", "add"]);

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
function leadingSpace(s: string): number {
  let n = 0;
  while (n < s.length && isSpaceCode(s.charCodeAt(n))) n++;
  return n;
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
function scanInstructions(text: string): { instructions: Instruction[]; escape: string; open?: OpenEnd } {
  const lines = splitPhysicalLines(text);
  const instructions: Instruction[] = [];
  let escape = "\\";
  // The last instruction's last line (or its open heredoc), for `open`.
  let last: { line: number; text: string; continued: boolean; heredoc?: string } | undefined;
  let directivesDone = false;
  const directivesSeen = new Set<string>();

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
    if (directivesSeen.has(key)) throw new Error(`Dockerfile line ${lineNo}: only one ${key} parser directive can be used`);
    directivesSeen.add(key);
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
    if (canContainHeredoc(ins)) {
      for (const doc of heredocsFromLine(logical)) {
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
  return { instructions, escape, open: last && openEnd(last, escape) };
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

/** Splits `keyword [--flags...] args` starting at `from`. Indexes are into `line`. */
function parseCommandLine(line: string, from: number): { cmd: string; flags: FlagWord[]; argsStart: number } {
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
  return leadingSpace(ch) === ch.length;
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
function whitespaceTokens(line: string, from: number): { value: string; start: number; end: number }[] {
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
function parseWords(rest: string, escape: string): string[] {
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

// ---------------------------------------------------------------------------
// Shell-style word expansion (BuildKit's shell lexer, ProcessWord)

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
function expandWord(word: string, env: Map<string, string>, escape: string): string {
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

/** Converts a shell glob (*, ?, [...], \x) to a regular-expression source. */
/** A shell pattern's regular expression; a class the engine would reject (`[z-a]`) matches literally. */
function patternRegExp(source: string, pattern: string, flags = ""): RegExp {
  try {
    return new RegExp(source, flags);
  } catch {
    return new RegExp(escapeRegExp(pattern), flags);
  }
}

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
