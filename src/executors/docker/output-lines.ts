// Build output as lines, from chunks that may end anywhere. Linear in the output's size: each
// chunk is scanned once and never joined again with what came before it (a 60 MB line arriving
// in 32 KB chunks took 105 s and 830 MB when the unfinished line was re-joined and re-split per
// chunk). Bounded: of a line, at most `keep` characters are held; the rest is only counted, and
// the line is shown cut, saying how much was left out.

/** Characters of one line that are shown and logged. */
export const SHOWN_LINE = 64 * 1024;
/**
 * Held beyond SHOWN_LINE until the line ends, so that a secret straddling the cut is still whole
 * when the line is redacted, before it is cut (secrets are far shorter than this).
 */
export const HELD_LINE = SHOWN_LINE + 16 * 1024;

/**
 * What is held of a line when the longest secret is `longest` characters: a secret that starts in
 * the part shown must be whole in the part held, or a part of it would be shown unmasked.
 */
export function heldLine(longest: number): number {
  return Math.max(HELD_LINE, SHOWN_LINE + longest);
}

const BREAK = /[\r\n]/g;

export class LineSplitter {
  private held: string[] = [];
  private heldLength = 0;
  private cut = 0;
  /** The last chunk ended with `\r`: a `\n` opening the next one ends no other line. */
  private afterCR = false;

  /** `emit`: a whole line (without its end) and how many of its characters were not held. */
  constructor(private readonly emit: (line: string, cut: number) => void, private readonly keep = HELD_LINE) {}

  /** Characters of the unfinished line held now (never more than `keep`). */
  get pending(): number {
    return this.heldLength;
  }

  write(text: string): void {
    let start = this.afterCR && text.startsWith("\n") ? 1 : 0;
    this.afterCR = false;
    BREAK.lastIndex = start;
    for (let m = BREAK.exec(text); m; m = BREAK.exec(text)) {
      this.hold(text, start, m.index);
      this.finishLine();
      start = m.index + 1;
      if (text[m.index] === "\r") {
        if (text[start] === "\n") start++;
        else if (start === text.length) this.afterCR = true;
      }
      BREAK.lastIndex = start;
    }
    this.hold(text, start, text.length);
  }

  /** Ends an unfinished line (the output is over, or something else is about to be shown). */
  flush(): void {
    if (this.heldLength > 0 || this.cut > 0) this.finishLine();
  }

  private hold(text: string, from: number, to: number): void {
    const take = Math.max(0, Math.min(this.keep - this.heldLength, to - from));
    if (take > 0) {
      this.held.push(text.slice(from, from + take));
      this.heldLength += take;
    }
    this.cut += to - from - take;
  }

  private finishLine(): void {
    const line = this.held.length === 1 ? this.held[0] : this.held.join("");
    const cut = this.cut;
    this.held = [];
    this.heldLength = 0;
    this.cut = 0;
    this.emit(line, cut);
  }
}

/**
 * A line as shown: at most SHOWN_LINE characters, and when it was longer (`cut` characters were
 * not even held), how much is left out. `line` should be redacted already.
 */
export function shownLine(line: string, cut = 0): string {
  const left = Math.max(0, line.length - SHOWN_LINE) + cut;
  return left === 0 ? line : `${line.slice(0, SHOWN_LINE)}${cutMarker(left)}`;
}

/** What ends a line of which `left` characters are left out. */
export const cutMarker = (left: number) => ` [… line cut: ${left} more characters]`;
