// The line a compat build's generated Dockerfile puts before each fragment it is made of
// (build-requests.ts writes it), and reading it back: messages about a line of the generated file
// name the fragment's own file and line (builder-features.ts dockerfileAt).

/** `# ---- compat/x/Dockerfile ----`: the mark before the fragment of `file`. */
export function fragmentMark(file: string): string {
  return `# ---- ${file} ----`;
}

const MARK = /^# ---- (\S+) ----$/;

/** The fragment's file a line of the generated Dockerfile marks, if it is a mark. */
export function markedFragment(line: string): string | undefined {
  return MARK.exec(line)?.[1];
}
