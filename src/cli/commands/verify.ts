// `verify IMAGE --key PUB.pem`: checks a published image as a consumer would before trusting it
// (issue 19, item 5): its signatures (cosign's format, by the key), and that the science layers
// it was built on are what the registry holds under their build tags, and its attestations (about
// its own digests, untampered, naming parents the registry still holds). Exit 1 naming what fails.
import { printable } from "../../core/printable.js";
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { InputError } from "../../core/model.js";
import { resolveImageArgument } from "./image-arguments.js";
import { newClient, registryCommand, repoOf, table, type RegistryOptions } from "./registry.js";

type VerifyOptions = RegistryOptions & { key: string; attestations: boolean };

export function addVerifyCommand(program: Command): void {
  registryCommand(program.command("verify"))
    .description("check a published image: its signatures by --key (and each platform image's), that the layers it was built on are what the registry holds under their build tags, and its attestations")
    .argument("<image>", "rel/NAME:TAG, sci/NAME:TAG or a full reference")
    .requiredOption("--key <file>", "the public key (PEM, ECDSA P-256: cosign.pub) the signatures must verify with")
    .option("--no-attestations", "accept an image or index published without attestations (run --no-attestations, merge-platforms); those it has are still checked")
    .action(async (arg: string, o: VerifyOptions) => {
      const { parsePublicKey } = await import("../../core/signatures/keys.js");
      let pem: string;
      try {
        pem = readFileSync(o.key, "utf8");
      } catch (e) {
        throw new InputError(`--key ${o.key}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const key = parsePublicKey(pem, `--key ${o.key}`);
      const reference = resolveImageArgument(arg, /^(sci|rel)\//.test(arg) ? repoOf(o) : undefined);
      const client = await newClient();
      const { readVerifyTarget, verifyImage } = await import("../../registry/verify-image.js");
      const target = await readVerifyTarget(client, reference);
      if (!target) throw new InputError(`${reference}: no such image in the registry`);
      const checks = await verifyImage(client, target, { key, attestationsOptional: !o.attestations });
      const failed = checks.filter((c) => !c.ok);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ image: reference, digest: target.digest, ok: failed.length === 0, checks }, null, 2)}\n`);
      } else {
        process.stdout.write(`${reference} (${target.digest})\n`);
        process.stdout.write(table(["RESULT", "CHECK", "SUBJECT", "DETAIL"], checks.map((c) => [c.ok ? "ok" : "FAILED", c.check, c.subject, c.detail])));
      }
      if (failed.length > 0) {
        process.stderr.write(`image-builder: verify failed: ${printable(failed.map((c) => `${c.check} of ${c.subject}: ${c.detail}`).join("; "))}\n`);
        process.exitCode = 1;
      }
    });
}
