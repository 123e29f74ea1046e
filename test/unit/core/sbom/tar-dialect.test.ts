import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TarDialectCheck } from "../../../../src/core/sbom/tar-dialect.js";
import { readPackageFiles } from "../../../../src/registry/image-files.js";
import type { RegistryClient } from "../../../../src/registry/client.js";
import { parseImageReference } from "../../../../src/core/parse/image-reference.js";
import { sha256Digest } from "../../../../src/core/digest.js";
import { paxRecords, rawTarEntry } from "../../../helpers/tar.js";

const STATUS = "Package: openssl\nStatus: install ok installed\nVersion: 1.0.1f-1\n";
const END = Buffer.alloc(1024);
const layer = (...entries: Buffer[]) => Buffer.concat([...entries, END]);

/** The problem found when the layer streams past in chunks of `size` bytes. */
function problemOf(tar: Buffer, size = tar.length): string | undefined {
  const check = new TarDialectCheck();
  for (let at = 0; at < tar.length; at += size) check.write(tar.subarray(at, at + size));
  return check.problem;
}

const cases: [string, Buffer, string | undefined][] = [
  ["plain entries", layer(rawTarEntry("var/lib/dpkg/status", "0", STATUS), rawTarEntry("etc/", "5", "")), undefined],
  ["a PAX path alone (how long names are written)", layer(rawTarEntry("PaxHeader/x", "x", paxRecords({ path: `opt/${"d".repeat(120)}/status` })), rawTarEntry("x", "0", "x")), undefined],
  ["a GNU long name alone", layer(rawTarEntry("././@LongLink", "L", `opt/${"d".repeat(120)}\0`), rawTarEntry("x", "0", "x")), undefined],
  ["a GNU long name and a PAX path on one entry", layer(
    rawTarEntry("././@LongLink", "L", "var/lib/dpkg/status\0"), rawTarEntry("PaxHeader/x", "x", paxRecords({ path: "tmp/decoy" })), rawTarEntry("x", "0", STATUS),
  ), "an entry with both a GNU long name and a PAX path"],
  ["the two on different entries", layer(
    rawTarEntry("././@LongLink", "L", "a\0"), rawTarEntry("a", "0", "x"), rawTarEntry("PaxHeader/b", "x", paxRecords({ path: "b" })), rawTarEntry("b", "0", "x"),
  ), undefined],
  ["a global PAX header", layer(rawTarEntry("pax_global_header", "g", paxRecords({ path: "var/lib/dpkg/status" })), rawTarEntry("x", "0", "x")), "a global PAX header"],
  ["a PAX sparse file", layer(rawTarEntry("PaxHeader/s", "x", paxRecords({ "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "var/lib/dpkg/status" })), rawTarEntry("GNUSparseFile.0/status", "0", "x")), "a sparse file (PAX GNU.sparse records)"],
  ["a GNU sparse entry", layer(rawTarEntry("var/lib/dpkg/status", "S", "x")), "a GNU sparse file"],
  ["a global PAX header of a comment only (git archive's)", layer(rawTarEntry("pax_global_header", "g", paxRecords({ comment: "3f2a9c1" })), rawTarEntry("x", "0", "x")), undefined],
  ["a PAX value holding a newline and a fake record", layer(rawTarEntry("PaxHeader/x", "x", paxRecords({ comment: "a\n20 GNU.sparse.x=1\n" })), rawTarEntry("x", "0", "x")), undefined],
];

test("tar features read otherwise than the engine extracts them are named; what the engine's writers make is not, whatever the chunks", () => {
  for (const [what, tar, problem] of cases) {
    for (const size of [tar.length, 7, 512, 513]) assert.is(problemOf(tar, size), problem, `${what}, chunks of ${size}`);
  }
});

test("a layer with such a feature is read for packages with a warning, so its SBOM says it is incomplete; a damaged layer is the image's fault", async () => {
  const blobs = new Map<string, Buffer>();
  const put = (tar: Buffer) => {
    const gz = gzipSync(tar);
    const digest = sha256Digest(gz);
    blobs.set(digest, gz);
    return { digest, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: gz.length };
  };
  const client = { async openBlob(_ref: unknown, digest: string) { return Readable.from([blobs.get(digest)!]); } } as unknown as RegistryClient;
  const ref = parseImageReference("r.example/x/sci/a:1");
  const hiding = put(cases[3][1]);
  const read = await readPackageFiles(client, { ref, layers: [hiding] });
  // the entry tar-stream names tmp/decoy (the engine var/lib/dpkg/status) is not applied, nor anything after it
  // (tar-stream applies a global header to the next entry that has a PAX header of its own)
  const inventing = put(layer(rawTarEntry("pax_global_header", "g", paxRecords({ path: "var/lib/dpkg/status" })), rawTarEntry("PaxHeader/x", "x", paxRecords({ mtime: "1" })), rawTarEntry("x", "0", STATUS)));
  assert.equal((await readPackageFiles(client, { ref, layers: [inventing] })).files, [], "no package invented from a global header");
  assert.equal(read.warnings, [`layer ${hiding.digest}: an entry with both a GNU long name and a PAX path, which image-builder does not read as the engine extracts it: the layer's package files may be read wrong`]);
  const plain = put(cases[0][1]);
  assert.equal((await readPackageFiles(client, { ref, layers: [plain] })).warnings, []);
  // a blob that is no gzip: a content error (the image left out by contains), naming the layer
  const damaged = { digest: sha256Digest("junk"), mediaType: hiding.mediaType, size: 4 };
  blobs.set(damaged.digest, Buffer.from("junk"));
  const e = await readPackageFiles(client, { ref, layers: [damaged] }).then(() => undefined, (err: Error & { content?: boolean }) => err);
  assert.is(e?.content, true);
  assert.match(e!.message, `layer ${damaged.digest} of r.example/x/sci/a:1: not a readable layer (`);
});

test.run();
