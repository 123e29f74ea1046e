// The tar features a layer may use that the SBOM's tar reader (tar-stream) reads otherwise than the
// engine (Go's archive/tar) extracts them, found by walking the layer's 512-byte headers as they
// stream past: a GNU long name and a PAX path on one entry (Go takes the GNU name, tar-stream the
// PAX one), a global PAX header (tar-stream applies it to later entries, Go does not), sparse files
// (GNU `S` entries, PAX `GNU.sparse.*`: Go rebuilds the file, tar-stream reads the raw map). The
// engine's and BuildKit's own tar writers use none of them; a layer that does is read no further
// for packages from the entry the feature is found at (the SBOM says its files were not all read)
// rather than read as something else.
const BLOCK = 512;
/** PAX headers past this are not read (and named as a problem): a real one is a few hundred bytes. */
const MAX_PAX = 1024 * 1024;
/** PAX keys that change which entry tar-stream reads, or its contents, when a global header applies them. */
const GLOBAL_KEYS_READ = new Set(["path", "linkpath", "size"]);

export class TarDialectCheck {
  /** The first problem found, if any. */
  problem: string | undefined;
  private header = Buffer.alloc(0);
  /** Bytes of the current entry's data (and padding) still to pass. */
  private skip = 0;
  /** A PAX header's data being collected, and how much of it is still to come. */
  private pax: { global: boolean; chunks: Buffer[]; remaining: number } | undefined;
  /** Since the last file entry: a GNU long name, a PAX path. */
  private gnuLongName = false;
  private paxPath = false;

  /** The next bytes of the (decompressed) layer. */
  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.problem === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.pax) this.collectPax(chunk.subarray(at, at + n));
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + n)]);
      at += n;
      if (this.header.length === BLOCK) {
        const header = this.header;
        this.header = Buffer.alloc(0);
        this.onHeader(header);
      }
    }
  }

  private onHeader(header: Buffer): void {
    if (header.every((b) => b === 0)) return; // the end-of-archive blocks
    const type = String.fromCharCode(header[156] || 0x30);
    const size = entrySize(header);
    if (size === undefined) {
      this.problem = "a tar header whose size can't be read";
      return;
    }
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    switch (type) {
      case "x":
      case "g":
        if (size > MAX_PAX) {
          this.problem = `a PAX header of ${size} bytes`;
          return;
        }
        this.pax = { global: type === "g", chunks: [], remaining: size };
        if (size === 0) this.endPax();
        return;
      case "L":
        this.gnuLongName = true;
        return;
      case "K":
        return;
      case "S":
        this.problem = "a GNU sparse file";
        return;
      default:
        if (this.gnuLongName && this.paxPath) this.problem = "an entry with both a GNU long name and a PAX path";
        this.gnuLongName = false;
        this.paxPath = false;
    }
  }

  private collectPax(data: Buffer): void {
    const pax = this.pax!;
    const n = Math.min(pax.remaining, data.length);
    if (n > 0) pax.chunks.push(data.subarray(0, n));
    pax.remaining -= n;
    if (pax.remaining === 0 && n > 0) this.endPax();
  }

  private endPax(): void {
    const { global, chunks } = this.pax!;
    this.pax = undefined;
    const keys = paxKeys(Buffer.concat(chunks));
    // A global header only says something to a reader that applies it (tar-stream, not Go) when it names entries' paths or sizes (`git archive`'s `comment` does not).
    if (global && keys.some((k) => GLOBAL_KEYS_READ.has(k) || k.startsWith("GNU.sparse."))) this.problem = "a global PAX header";
    else if (keys.some((k) => k.startsWith("GNU.sparse."))) this.problem = "a sparse file (PAX GNU.sparse records)";
    else if (keys.includes("path")) this.paxPath = true;
  }
}

/** The size field of a tar header: octal digits, or base-256 when its first byte's high bit is set. */
function entrySize(header: Buffer): number | undefined {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = field.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/** The keys of PAX records (`<len> <key>=<value>\n`, `len` the record's bytes: a value may hold newlines). */
function paxKeys(data: Buffer): string[] {
  const keys: string[] = [];
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = space > at ? Number(data.subarray(at, space).toString("latin1")) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at) break;
    const record = data.subarray(space + 1, at + length).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) keys.push(record.slice(0, eq));
    at += length;
  }
  return keys;
}
