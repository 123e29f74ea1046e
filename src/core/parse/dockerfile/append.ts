// Adding an instruction at the end of a Dockerfile, when that is safe.

import { dockerfileEnd } from "./lexer.js";
import { quoteWord } from "./shell-word.js";

/**
 * `text` with one more instruction after its last one, or undefined when it can't take one: its
 * last instruction is still open at the end (a continuation, however hidden behind comment and
 * blank lines, a doubled escape character or an open heredoc) or the text does not parse (a bad
 * parser directive: left to the engine to report). `instruction` writes the one-line
 * instruction; its `quote` makes a double-quoted word of a value (no line breaks) for the
 * text's escape character. The line ending follows the text's (CRLF if it has any).
 */
export function appendInstruction(text: string, instruction: (quote: (value: string) => string) => string): string | undefined {
  let escape: string;
  try {
    const end = dockerfileEnd(text);
    if (end.open) return undefined;
    escape = end.escape;
  } catch {
    return undefined;
  }
  const line = instruction((value) => quoteWord(value, escape));
  const eol = /\r\n/.test(text) ? "\r\n" : "\n";
  // Only "\n" ends a line for the parser (a lone "\r" is dropped from the line's end).
  const sep = text === "" || text.endsWith("\n") ? "" : eol;
  return `${text}${sep}${line}${eol}`;
}
