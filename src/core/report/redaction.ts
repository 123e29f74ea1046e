// Which texts hide a secret (`--secret` values, registry credentials) in what a run shows and
// records, and hiding them. A secret is masked line by line, as CI systems mask multi-line
// secrets: output, logs and log tails are split into lines on the way, so a PEM key printed by a
// build step can only be found there one line at a time, never as the whole value.

/** What replaces a masked text. */
export const MASK = "***";

/**
 * Lines shorter than this (after trimming) are not masked: replacing `a`, `-` or `}` everywhere
 * would garble the output while hiding next to nothing. Blank lines are never masked.
 */
export const MIN_MASKED_LENGTH = 4;

/**
 * The texts to mask for `secrets`: every line of each value, trimmed (a CRLF file, indented
 * lines), that is at least MIN_MASKED_LENGTH long; each once, longest first, so that a line that
 * contains another is masked whole rather than leaving its rest behind.
 */
export function maskedTexts(secrets: Iterable<string>): string[] {
  const texts = new Set<string>();
  for (const value of secrets) {
    for (const line of value.split(/\r\n|\n|\r/)) {
      const text = line.trim();
      if (text.length >= MIN_MASKED_LENGTH) texts.add(text);
    }
  }
  return [...texts].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** `text` with every occurrence of each of `masked` (from maskedTexts) replaced by MASK. */
export function redact(text: string, masked: readonly string[]): string {
  let out = text;
  for (const m of masked) if (out.includes(m)) out = out.split(m).join(MASK);
  return out;
}
