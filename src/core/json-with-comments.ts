// Parses the `sciserver-image.json` dialect: JSON plus `#` (and `//`, `/* */`) comments, as the
// seed README documents the format with `#` comments. Errors carry line and column.
import jsonc from "jsonc-parser";
import { InputError } from "./types.js";

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

/** Blanks out `#` comments outside strings, keeping offsets, so jsonc-parser can read the rest. */
function blankHashComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") { out += text[++i] ?? ""; continue; }
      if (c === '"') inString = false;
      continue;
    }
    if (c === '"') { inString = true; out += c; continue; }
    if (c === "/" && text[i + 1] === "/" ) {
      // leave // comments to jsonc-parser, but don't let a '#' inside them start anything
      while (i < text.length && text[i] !== "\n") out += text[i++];
      if (i < text.length) out += "\n";
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") { out += " "; i++; }
      if (i < text.length) out += "\n";
      continue;
    }
    out += c;
  }
  return out;
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
  const errors: jsonc.ParseError[] = [];
  const source = blankHashComments(text.replace(/^\uFEFF/, ""));
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
