// Signing what a run publishes (issue 19, item 4): every digest pushed under a build tag is signed
// once it is in the registry and before its moving tag moves, so a moving tag never points at an
// unsigned image. One call for every such digest: an image manifest under a build tag here, and
// each platform image and index where indexes are written.
import type { SignatureResult } from "../../core/model.js";
import { parseImageReference } from "../../core/parse/image-reference.js";
import type { SigningKey } from "../../core/signatures/keys.js";
import type { RegistryClient } from "../../registry/client.js";
import { signDigest } from "../../registry/signatures.js";
import type { IndexSignHook } from "../index-step.js";
import { errorMessage } from "./run-report.js";

export interface SignContext {
  registry: RegistryClient;
  /** `--sign-key`: undefined when the run signs nothing. */
  signKey?: SigningKey;
  /** A progress line of the build (or layer) being published. */
  line: (text: string) => void;
}

/**
 * Signs `descriptor.digest`, published under `buildTag` (`host/path:tag`), with the run's key;
 * nothing without one. A rerun finds its signature and writes nothing. Throws, naming the image,
 * when the registry can't be read or written: the caller then leaves the moving tag where it is.
 */
/** The index step's sign hook for a run's key (undefined: nothing to sign): an index is signed as an image is. */
export function indexSigner(signKey: SigningKey | undefined, line: (text: string) => void): IndexSignHook | undefined {
  return signKey && ((index) => signPublished({ registry: index.registry, signKey, line }, index.tag, index));
}

export async function signPublished(ctx: SignContext, buildTag: string, descriptor: { digest: string; size?: number; mediaType?: string }): Promise<SignatureResult | undefined> {
  if (!ctx.signKey) return undefined;
  const ref = parseImageReference(buildTag);
  try {
    const result = await signDigest(ctx.registry, ctx.signKey, ref, descriptor, ctx.line);
    ctx.line(`${result.status === "signed" ? "signed" : "already signed by this key"}: ${result.tag}`);
    return result;
  } catch (e) {
    throw new Error(`signing ${buildTag} (${descriptor.digest}): ${errorMessage(e)}`);
  }
}
