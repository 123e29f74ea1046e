// Parses the `sciserver-image.json` dialect: JSON plus `#` (and `//`, `/* */`) comments, as the
// seed README documents the format with `#` comments. Errors carry line and column.
import type * as JsoncParser from "jsonc-parser";
import { createRequire } from "node:module";
import { InputError } from "../model.js";

/**
 * jsonc-parser is only needed for files JSON.parse refuses (see parseStrictJson), so it is loaded
 * on first use: most runs never load it.
 */
let jsoncModule: typeof JsoncParser | undefined;
function loadJsonc(): typeof JsoncParser {
  return (jsoncModule ??= createRequire(import.meta.url)("jsonc-parser") as typeof JsoncParser);
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/**
 * A parsed value, plus the raw source text of number literals, so that `"version": 2.10`
 * keeps its meaning (the JavaScript number would be 2.1).
 */
export interface ParsedJson {
  value: JsonValue;
  /** Raw text of top-level object members that are numbers, by key. */
  rawNumbers: Record<string, string>;
}

/**
 * Blanks out `#` comments outside strings, keeping offsets, so jsonc-parser can read the rest:
 * every character from such a `#` up to the end of its line (not the newline) becomes a space.
 * `//` comments are left to jsonc-parser, but a `#` or `"` inside one starts nothing.
 * Unchanged stretches are copied as slices, not character by character.
 */
function blankHashComments(text: string): string {
  if (!text.includes("#")) return text;
  let out = "";
  let copied = 0; // text[0, copied) is in `out`
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) { inString = true; continue; }
    if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2f) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
      continue; // the newline (if any) is copied as it is
    }
    if (c === 0x23 /* # */) {
      let end = i;
      while (end < text.length && text.charCodeAt(end) !== 0x0a) end++;
      out += text.slice(copied, i) + " ".repeat(end - i);
      copied = end;
      i = end; // the newline (if any) is copied as it is
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function position(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") { line++; col = 1; } else col++;
  }
  return `line ${line}, column ${col}`;
}

export function parseJsonWithComments(text: string, file: string): ParsedJson {
  const source = blankHashComments(text.replace(/^\uFEFF/, ""));
  return parseStrictJson(source) ?? parseWithJsonc(source, file);
}

/**
 * The common case, about 20 times faster than building jsonc-parser's tree: the text (with `#`
 * comments blanked) is plain JSON. On such text jsonc-parser and JSON.parse accept the same
 * grammar (whitespace, escapes, numbers) and give the same values, so the result is the same,
 * made to look like jsonc-parser's (objects without a prototype). Anything JSON.parse refuses
 * (`//` and block comments, errors), and top-level numbers, whose raw text `rawNumbers` keeps,
 * go through jsonc-parser.
 */
function parseStrictJson(source: string): ParsedJson | undefined {
  let value: JsonValue;
  try {
    value = JSON.parse(source) as JsonValue;
  } catch {
    return undefined;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const key of Object.keys(value)) if (typeof value[key] === "number") return undefined;
  }
  return { value: withoutPrototypes(value), rawNumbers: {} };
}

function withoutPrototypes(value: JsonValue): JsonValue {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(withoutPrototypes);
  const obj = Object.create(null) as { [k: string]: JsonValue };
  for (const key of Object.keys(value)) obj[key] = withoutPrototypes(value[key]);
  return obj;
}

function parseWithJsonc(source: string, file: string): ParsedJson {
  const jsonc = loadJsonc();
  const errors: JsoncParser.ParseError[] = [];
  const tree = jsonc.parseTree(source, errors, { allowTrailingComma: false, disallowComments: false });
  if (errors.length > 0 || !tree) {
    const e = errors[0];
    const what = e ? jsonc.printParseErrorCode(e.error) : "EmptyDocument";
    throw new InputError(`invalid JSON at ${position(source, e?.offset ?? 0)}: ${describe(what)}`, file);
  }
  const rawNumbers: Record<string, string> = {};
  if (tree.type === "object") {
    for (const prop of tree.children ?? []) {
      const [key, val] = prop.children ?? [];
      if (key && val && val.type === "number") rawNumbers[String(key.value)] = source.slice(val.offset, val.offset + val.length);
    }
  }
  return { value: jsonc.getNodeValue(tree) as JsonValue, rawNumbers };
}

function describe(code: string): string {
  // "CommaExpected" -> "comma expected"
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** Plain JSON, as image-builder writes it (plans, results): an error names the file. */
export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, file);
  }
}
