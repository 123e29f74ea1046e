// Adding an instruction at the end of a Dockerfile, when that is safe.

import { dockerfileEnd } from "./lexer.js";
import { quoteWord } from "./shell-word.js";

export type Appendable = { ok: true; escape: string } | { ok: false; line: number; reason: string };

const WHY_OPEN = {
  continuation: "ends in a line continuation (comment and blank lines after it do not end it)",
  "doubled-escape": "ends in a doubled escape character (a line continuation for older builders)",
  heredoc: "has an unterminated heredoc",
} as const;

/**
 * Whether a line added at the end of `text` would be an instruction of its own: not when its last
 * instruction is still open there (`line`: see OpenEnd; `reason` completes "the last instruction
 * …"). Throws, as parseDockerfile does, for an invalid or repeated parser directive.
 */
export function appendable(text: string): Appendable {
  const { escape, open } = dockerfileEnd(text);
  if (!open) return { ok: true, escape };
  const reason = open.kind === "heredoc" ? `${WHY_OPEN.heredoc} <<${open.heredoc}` : WHY_OPEN[open.kind];
  return { ok: false, line: open.line, reason };
}

/**
 * `text` with one more instruction after its last one, or undefined when it can't take one: its
 * last instruction is still open at the end (a continuation, however hidden behind comment and
 * blank lines, a doubled escape character or an open heredoc) or the text does not parse (a bad
 * parser directive: left to the engine to report). `instruction` writes the one-line
 * instruction; its `quote` makes a double-quoted word of a value (no line breaks) for the
 * text's escape character. The line ending follows the text's (CRLF if it has any).
 */
export function appendInstruction(text: string, instruction: (quote: (value: string) => string) => string): string | undefined {
  let end: Appendable;
  try {
    end = appendable(text);
  } catch {
    return undefined;
  }
  if (!end.ok) return undefined;
  const { escape } = end;
  const line = instruction((value) => quoteWord(value, escape));
  const eol = /\r\n/.test(text) ? "\r\n" : "\n";
  // Only "\n" ends a line for the parser (a lone "\r" is dropped from the line's end).
  const sep = text === "" || text.endsWith("\n") ? "" : eol;
  return `${text}${sep}${line}${eol}`;
}
