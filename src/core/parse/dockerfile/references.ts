// What the instructions mean for the images a Dockerfile depends on: stages (FROM ... AS),
// image references (FROM, COPY/ADD --from, RUN --mount from=), global ARGs and their
// expansion, and rewriting those references in place.

import { leadingDirective, scanInstructions, sourceSpan, type Instruction } from "./lexer.js";
import { expandWord } from "./shell-word.js";
import { parseCommandLine, parseWords, whitespaceTokens } from "./words.js";

export interface ImageRef {
  /** The image reference after ARG substitution, e.g. "registry.example.org/x/sci/base:2.4" */
  image: string;
  /** 1-based line number where the instruction starts */
  line: number;
  /** `COPY/ADD --from=`, `RUN --mount=…,from=`. */
  kind: "from" | "copy-from" | "mount-from";
  /**
   * Spelled where rewriteImageRefs can't replace it (a `--mount` value quoted so that its `from=`
   * can't be found as written): such a reference can't be pointed at another image.
   */
  unrewritable?: true;
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
  /** Image references (not stages): FROM bases and COPY/ADD --from values that are NOT earlier stage names (case-insensitive), numeric stage indexes, or "scratch". Deduplicated order of appearance is fine but keep line numbers of first appearance. */
  imageRefs: ImageRef[];
  /** Build-arg names declared before the first FROM (global ARGs) with their defaults (undefined if none) */
  globalArgs: Record<string, string | undefined>;
  /**
   * The keys LABEL instructions set, as written (quotes removed; a key spelled with a variable is
   * left out: what it expands to depends on the stage's ARGs and ENVs), with their lines and the
   * index of their stage in `stages` (-1 in a fragment: the stage it is appended to).
   */
  labels: { key: string; line: number; stage: number }[];
  /**
   * Images an ONBUILD trigger copies or mounts from (`ONBUILD COPY --from=…`): not this file's
   * dependencies, but those of every image built on it, where the trigger runs. Stage names and
   * indexes are left out as far as this file tells (a trigger's stages are its builder's).
   */
  onbuildRefs: ImageRef[];
}

/**
 * Parses a Dockerfile and reports its stages, the images (not stages) it depends
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
  return parsed(analyze(text, buildArgs));
}

/** The analysis as the parse functions report it: references to images only, each image once. */
function parsed({ stages, occurrences, globalArgs, labels, triggers }: Analysis): ParsedDockerfile {
  const imageRefs: ImageRef[] = [];
  const seen = new Map<string, ImageRef>();
  for (const o of occurrences) {
    if (!o.namesImage) continue;
    const known = seen.get(o.image);
    // One spelled where a rewrite can't reach it makes the image's references unrewritable.
    if (known) {
      if (o.span === undefined) known.unrewritable = true;
      continue;
    }
    const ref: ImageRef = { image: o.image, line: o.line, kind: o.kind, ...(o.span === undefined ? { unrewritable: true } : {}) };
    seen.set(o.image, ref);
    imageRefs.push(ref);
  }
  const onbuildRefs = triggers.filter((o) => o.namesImage).map((o): ImageRef => ({ image: o.image, line: o.line, kind: o.kind }));
  return { stages, imageRefs, globalArgs, labels, onbuildRefs };
}

/**
 * Parses a Dockerfile fragment that is appended after a FROM (a compat layer's Dockerfile), as
 * it is read there: its ARGs belong to that stage, so only `buildArgs` of BuildKit's predefined
 * platform args expand in `--from`. Its FROM lines, if any, are reported as stages. Throws for a
 * parser directive at its top (see leadingDirective), as well as for what parseDockerfile rejects.
 */
export function parseDockerfileFragment(text: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  // Fragments are concatenated: a parser directive would silently become a comment.
  const directive = leadingDirective(text);
  if (directive) {
    throw new Error(`Dockerfile line ${directive.line}: parser directive "${directive.name}" has no effect in a compat fragment (directives belong to the generated Dockerfile's top)`);
  }
  return parsed(analyze(text, buildArgs, true));
}

/** Returns the Dockerfile text with every FROM base, COPY/ADD --from and RUN --mount from= value whose *resolved* reference (after ARG substitution) is a key of `map` replaced by the map's value (the whole reference, literally; the ARG usage is replaced by the literal). All other bytes of the text are unchanged. */
export function rewriteImageRefs(
  text: string,
  map: Record<string, string>,
  buildArgs: Record<string, string> = {},
): string {
  const { occurrences } = analyze(text, buildArgs);
  // Only references to images are rewritten: a stage name, a stage index or
  // "scratch" is not an image, even if the map happens to have that key.
  const edits = occurrences
    .filter((o) => o.namesImage && o.span !== undefined && Object.hasOwn(map, o.image))
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
  namesImage: boolean;
  /** [start, end) in the original text of the word that spells the reference. */
  span?: [number, number];
}

interface Analysis {
  stages: Stage[];
  occurrences: Occurrence[];
  /** References inside ONBUILD triggers (never rewritten: they are read where the trigger runs). */
  triggers: Occurrence[];
  globalArgs: Record<string, string | undefined>;
  labels: ParsedDockerfile["labels"];
}

/**
 * Args BuildKit defines in the global scope by itself (from --platform and
 * the target). They are usable in FROM without an ARG declaration.
 */
const PREDEFINED_GLOBAL_ARGS = new Set([
  "BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
  "TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
]);

/**
 * The instructions of Docker's Dockerfile language (BuildKit's frontend/dockerfile/instructions
 * parse.go; the classic builder's are the same): any other keyword fails the build there, after
 * the rest of the plan was built and pushed, so the planner refuses it first.
 */
const DOCKERFILE_INSTRUCTIONS = new Set([
  "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
  "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
]);

/** A `# syntax=` image that is Docker's Dockerfile frontend (its language, whatever the version), not another language's. */
const DOCKERFILE_FRONTEND = /^(docker\.io\/)?docker\/dockerfile(-upstream)?([:@]|$)/;

function analyze(text: string, buildArgs: Record<string, string>, fragment = false): Analysis {
  const { instructions, escape, open, directives } = scanInstructions(text);
  if (open?.kind === "heredoc") throw new Error(`Dockerfile line ${open.line}: unterminated heredoc <<${open.heredoc}`);
  // Another frontend (`# syntax=` naming another image) may speak another language: its keywords are its own.
  // BuildKit takes the frontend from --build-arg BUILDKIT_SYNTAX too, before the directive.
  const syntax = Object.hasOwn(buildArgs, "BUILDKIT_SYNTAX") ? buildArgs.BUILDKIT_SYNTAX : directives.find((d) => d.name === "syntax")?.value;
  if (syntax === undefined || DOCKERFILE_FRONTEND.test(syntax.trim())) {
    const unknown = instructions.find((ins) => !DOCKERFILE_INSTRUCTIONS.has(ins.cmd));
    if (unknown) throw new Error(`Dockerfile line ${unknown.line}: unknown instruction ${unknown.cmd.toUpperCase()}`);
  }
  const env = new Map<string, string>();
  for (const name of Object.keys(buildArgs)) {
    if (PREDEFINED_GLOBAL_ARGS.has(name)) env.set(name, buildArgs[name]);
  }
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  const occurrences: Occurrence[] = [];
  const copyFroms: Occurrence[] = [];
  const triggers: Occurrence[] = [];
  const labels: Analysis["labels"] = [];
  const stageNamesSoFar = new Set<string>();
  // A fragment comes after a FROM: its ARGs are stage-scoped and never reach --from.
  let seenFrom = fragment;
  const redeclared = new Map<string, number>();
  // A reference that uses such an ARG: refused, as builders disagree on it.
  const refuseRedeclared = (word: string, line: number): void => {
    for (const [key, at] of redeclared) {
      if (!new RegExp(`\\$\\{?${key.replace(/[^A-Za-z0-9_]/g, "\\$&")}(?![A-Za-z0-9_])`).test(word)) continue;
      throw new Error(`Dockerfile line ${line}: ${word} uses ARG ${key}, declared again without a value on line ${at}: Docker 20.10's builders then take it as empty, newer BuildKit as its earlier value, so the image depends on the builder; declare it once, or give the value again`);
    }
  };

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
          // Declared again without a value after one with a value: Docker 20.10's builders empty
          // it, newer BuildKit keeps the value (a reference using it names another image in each).
          if (def === undefined && env.has(key) && !Object.hasOwn(buildArgs, key)) redeclared.set(key, ins.line);
          else redeclared.delete(key);
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
        refuseRedeclared(tokens[0].value, ins.line);
        const base = expandWord(tokens[0].value, env, escape);
        // BuildKit: "base name (${BASE}) should not be blank", once the rest of the plan is pushed.
        if (base === "") throw new Error(`Dockerfile line ${ins.line}: FROM ${tokens[0].value}: the base image name is empty (an ARG without a value: give it a default, or --build-arg)`);
        // Only stages defined *before* this one can be a base (BuildKit
        // registers a stage's name after resolving its base), so
        // `FROM x AS x` still pulls the image x.
        const isStage = stageNamesSoFar.has(base.toLowerCase());
        occurrences.push({
          image: base,
          line: ins.line,
          kind: "from",
          namesImage: base !== "" && !isStage && !isScratch(base),
          span: sourceSpan(ins, tokens[0].start, tokens[0].end),
        });
        stages.push(name === undefined ? { base, line: ins.line } : { name, base, line: ins.line });
        if (name !== undefined) stageNamesSoFar.add(name.toLowerCase());
        break;
      }
      case "label": {
        // `LABEL k=v k2=v2`, or the legacy `LABEL k v` (one pair: the first word is the key).
        const words = parseWords(ins.text.slice(ins.argsStart), escape);
        const pairs = words.length > 0 && !words[0].includes("=") ? [words[0]] : words;
        for (const word of pairs) {
          const eq = word.indexOf("=");
          const key = eq >= 0 ? word.slice(0, eq) : word;
          if (!key.includes("$")) labels.push({ key: expandWord(key, new Map(), escape), line: ins.line, stage: stages.length - 1 });
        }
        break;
      }
      case "copy":
      case "add":
      case "run":
        for (const flag of ins.flags) {
          if (flag.value.startsWith("--from=") || (flag.value.startsWith("--mount=") && mountFrom(flag.value.slice("--mount=".length)))) refuseRedeclared(flag.value, ins.line);
        }
        for (const occ of fromOccurrences(ins, env, escape)) {
          occurrences.push(occ);
          copyFroms.push(occ);
        }
        break;
      case "onbuild": {
        // `ONBUILD COPY --from=…`: the trigger runs in the build of every image built on this
        // one (with its stages, not this file's), so it is reported apart, never rewritten.
        const inner = parseCommandLine(ins.text, ins.argsStart);
        const cmd = inner.cmd.toLowerCase();
        if (cmd !== "copy" && cmd !== "add" && cmd !== "run") break;
        for (const occ of fromOccurrences({ ...ins, cmd, flags: inner.flags, argsStart: inner.argsStart }, env, escape)) {
          occ.namesImage = namesAnImage(occ.image, new Set());
          triggers.push(occ);
        }
        break;
      }
    }
  }

  // BuildKit looks --from names up among all stages of the file (one defined
  // later is an error there, never an image pull), so classify at the end.
  const allStageNames = new Set(stages.filter((s) => s.name !== undefined).map((s) => s.name!.toLowerCase()));
  for (const occ of copyFroms) {
    occ.namesImage = namesAnImage(occ.image, allStageNames);
  }
  return { stages, occurrences, globalArgs, labels, triggers };
}

/** What a COPY/ADD `--from=` or a RUN `--mount=…,from=` names, with where it is written when a rewrite can find it. */
function fromOccurrences(ins: Instruction, env: Map<string, string>, escape: string): Occurrence[] {
  if (ins.cmd === "copy" || ins.cmd === "add") {
    const flag = ins.flags.find((f) => f.value.startsWith("--from="));
    if (!flag) return [];
    // BuildKit itself refuses variables in --from; expanding them with
    // the global ARGs (what FROM would see) is the useful approximation.
    const image = expandWord(flag.value.slice("--from=".length), env, escape);
    const raw = ins.text.slice(flag.rawStart, flag.rawEnd);
    const occ: Occurrence = { image, line: ins.line, kind: "copy-from", namesImage: false };
    // The span is only known when the flag name is written plainly.
    if (raw.startsWith("--from=") && flag.rawEnd > flag.rawStart + "--from=".length) {
      occ.span = sourceSpan(ins, flag.rawStart + "--from=".length, flag.rawEnd);
    }
    return [occ];
  }
  // `--mount=type=bind,from=image,…` (and type=cache): a stage or an image to mount.
  const out: Occurrence[] = [];
  for (const flag of ins.flags) {
    if (!flag.value.startsWith("--mount=")) continue;
    const from = mountFrom(flag.value.slice("--mount=".length));
    if (from === undefined) continue;
    const occ: Occurrence = { image: expandWord(from.value, env, escape), line: ins.line, kind: "mount-from", namesImage: false };
    const raw = ins.text.slice(flag.rawStart, flag.rawEnd);
    // Written plainly: where mountFrom found it; quoted: looked for as written.
    const at = from.value === "" ? undefined : raw === flag.value ? "--mount=".length + from.start : mountFromSpan(raw, from.value);
    if (at !== undefined) occ.span = sourceSpan(ins, flag.rawStart + at, flag.rawStart + at + from.value.length);
    out.push(occ);
  }
  return out;
}

/**
 * Where `value`, the `from=` of a `--mount` flag as read (quotes removed), is in the flag as
 * written (`raw`): plainly, or with the whole flag or the value quoted
 * (`--mount="type=bind,from=x,target=/m"`, `from="x"`), when it is there exactly once so;
 * undefined otherwise (then the reference can't be rewritten, and is refused where it must be).
 */
function mountFromSpan(raw: string, value: string): number | undefined {
  const found: number[] = [];
  const lower = raw.toLowerCase();
  for (let i = lower.indexOf("from="); i >= 0; i = lower.indexOf("from=", i + 1)) {
    const before = raw[i - 1];
    if (before !== "," && before !== "=" && before !== '"' && before !== "'") continue;
    let at = i + "from=".length;
    const quote = raw[at] === '"' || raw[at] === "'" ? raw[at] : "";
    at += quote.length;
    if (raw.slice(at, at + value.length) !== value || raw.slice(at + value.length, at + value.length + quote.length) !== quote) continue;
    const after = raw[at + value.length + quote.length];
    if (after === undefined || after === "," || after === '"' || after === "'") found.push(at);
  }
  return found.length === 1 ? found[0] : undefined;
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

/** Whether a `--from` / `from=` value names an image: not empty, a stage index (as strconv.Atoi reads it), one of `stages` (lower-cased) or scratch. */
function namesAnImage(image: string, stages: ReadonlySet<string>): boolean {
  return image !== "" && !/^[+-]?\d+$/.test(image) && !stages.has(image.toLowerCase()) && !isScratch(image);
}

function isScratch(image: string): boolean {
  return image.toLowerCase() === "scratch";
}

/** Assigns an own property even for keys like "__proto__". */
function setOwn(obj: Record<string, string | undefined>, key: string, value: string | undefined): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

