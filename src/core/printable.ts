// Text from images and registries (package names and versions, labels, file paths in layers) is
// anyone's: printed raw to a terminal, an escape sequence in a version could erase the row that
// names a vulnerable package, and a newline in a name could forge a row of its own, in CI logs too.
// What is printed as text (not JSON, which escapes them itself) shows such characters escaped.

/** The backslash (escapes are shown with it), C0 controls, DEL, C1 controls, the line and paragraph separators, the byte order mark, and the bidirectional marks, overrides and isolates that reorder a line. */
const UNPRINTABLE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** `text` with every character that could move the cursor, end a line or reorder it shown escaped (`\n`, `\x1b`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    // A backslash of the text itself is doubled: `\n` shown is always an escaped line end.
    if (c === "\\") return "\\\\";
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** What oneLine escapes: printable's characters but the backslash. */
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` as one line of the tool's own (an error, a warning, a summary): what could end the line,
 * move the cursor or reorder it shown escaped, as printable does, but backslashes left as they are:
 * messages quote values already (JSON-quoted, or a Windows path), and doubling them would show
 * `C:\\repo`. Mask secrets before: escaping changes the text a secret is looked for in.
 */
export function oneLine(text: string): string {
  return text.replace(LINE_BREAKING, (c) => printable(c));
}
