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

/**
 * Hides every masked text of `secrets` (see maskedTexts) in a text. One pattern for all, made
 * once: output is redacted line by line, and a secret file may have many lines.
 */
export function redactor(secrets: Iterable<string>): (text: string) => string {
  const masked = maskedTexts(secrets);
  if (masked.length === 0) return (text) => text;
  // Longest first: at a position where two match, the alternation takes the longer.
  const pattern = new RegExp(masked.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return (text) => text.replace(pattern, MASK);
}

/** A JSON value with every key and string masked by `mask`. */
export function maskedDocument<T>(value: T, mask: (text: string) => string): T {
  if (typeof value === "string") return mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskedDocument(v, mask)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [mask(k), maskedDocument(v, mask)])) as T;
  }
  return value;
}

/**
 * A document others read (a results file, a provenance statement) with the values of its
 * free-text fields (`fields`: keys, at any depth) masked by `mask`, keys and all. Its other
 * values are image-builder's own names and values (the repo, tags, ids, digests, times, statuses),
 * never masked: a secret line that happens to be in one (a component of the repo's path, a year,
 * four hex digits of a digest) would break the value for every reader, merge-results and verify
 * included, and, the name being published anyway, would tell which text the mask hides.
 */
export function maskedFreeText<T>(value: T, mask: (text: string) => string, fields: ReadonlySet<string>): T {
  if (Array.isArray(value)) return value.map((v) => maskedFreeText(v, mask, fields)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fields.has(k) ? maskedDocument(v, mask) : maskedFreeText(v, mask, fields)])) as T;
  }
  return value;
}

/**
 * Every secret a run knows, in one set: `--secret` values, the signing key's PEM and password,
 * the registry credentials of the docker config (a credential helper's answer joins when it is
 * given). Everything the run shows or records is masked by this one set: the output at every
 * verbosity, the logs, failure reasons, --results, the plan's lines and the provenance.
 */
export class SecretSet {
  private readonly values = new Set<string>();
  /** The masking pattern of `values`; made again when a secret is added. */
  private hide: ((text: string) => string) | undefined;
  private texts: string[] | undefined;

  constructor(values: Iterable<string | undefined> = []) {
    this.add(...values);
  }

  /** Adds secrets (undefined and empty values are none). */
  add(...values: (string | undefined)[]): this {
    for (const v of values) {
      if (v && !this.values.has(v)) {
        this.values.add(v);
        this.hide = this.texts = undefined;
      }
    }
    return this;
  }

  /** Every line of every secret in `text` replaced by MASK (see maskedTexts). */
  readonly redact = (text: string): string => {
    this.hide ??= redactor(this.values);
    return this.hide(text);
  };

  /** Whether `text` holds a line of a secret (a build argument holding one is left out of documents). */
  holds(text: string): boolean {
    this.texts ??= maskedTexts(this.values);
    return this.texts.some((s) => text.includes(s));
  }

  /** The length of the longest text masked (0 when none): how much of a line must be held to mask it whole. */
  longest(): number {
    this.texts ??= maskedTexts(this.values);
    return this.texts[0]?.length ?? 0;
  }

  /** The secrets, as given. */
  all(): string[] {
    return [...this.values];
  }
}

/**
 * The names of the build arguments of `builds` that hold a secret (in their name or value), sorted:
 * a build argument is recorded in the plan file and in the image's history, which no masking reaches.
 */
export function buildArgsHoldingSecrets(builds: readonly { request: { buildArgs: Readonly<Record<string, string>> } }[], secrets: SecretSet): string[] {
  const names = new Set<string>();
  for (const b of builds) for (const [k, v] of Object.entries(b.request.buildArgs)) if (secrets.holds(k) || secrets.holds(v)) names.add(k);
  return [...names].sort();
}
