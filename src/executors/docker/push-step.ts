// One push of a run, as the PushQueue orders it: a build's tags in push order (build tag first),
// or, for a reused build whose build tag the registry has, its moving tag only when the
// registry's is stale. Records per tag what landed, even when a later tag fails.
import type Dockerode from "dockerode";
import type { PlannedBuild } from "../../core/model.js";
import type { PushResult } from "../../core/execute/outcomes.js";
import type { PushStep } from "../../core/execute/push-queue.js";
import { pushOrder } from "../../core/execute/publishing.js";
import { buildTag, movingTag } from "../../core/requests/tags.js";
import type { TagResult } from "../../core/model.js";
import type { RegistryClient } from "../../registry/client.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { pushTags } from "./push.js";
import type { RunReport } from "./run-report.js";

export interface PushStepContext {
  docker: Dockerode;
  creds: DockerCredentials;
  registry: RegistryClient;
  /** Aborted on interrupt only: stops pushes in flight. */
  signal: AbortSignal;
  /** Runs a push when a slot is free (at most `jobs` pushes at once). */
  slot: <T>(push: () => Promise<T>) => Promise<T>;
  /** Asked when a push gets its slot: undefined to go ahead, else why it is not pushed (see PushQueue.begin). */
  begin: (id: string) => string | undefined;
  report: RunReport;
}

/** `registryDigest`: for "check moving tag", the registry's digest under the build tag. */
export async function carryOutPush(ctx: PushStepContext, step: PushStep, build: PlannedBuild, registryDigest?: string): Promise<PushResult> {
  const { report } = ctx;
  if (step.action === "not pushed") {
    report.notPushed(step.id, step.reason);
    return "not pushed";
  }
  if (step.action === "push") return ctx.slot(() => pushInOrder(ctx, build.id, pushOrder(build.request)));
  const moving = movingTag(build.request);
  const movingDigest = await ctx.registry.getDigest(moving).catch(() => undefined);
  if (movingDigest !== registryDigest) {
    // An earlier run got the build tag across but not the moving tag: finish its work.
    return ctx.slot(() => pushInOrder(ctx, build.id, [moving], [{ tag: buildTag(build.request), pushed: true, digest: registryDigest }]));
  }
  report.alreadyPublished(build.id, pushOrder(build.request), registryDigest!);
  return "pushed";
}

/** Pushes `tags` in order; `already`: tags the registry had before. */
async function pushInOrder(ctx: PushStepContext, id: string, tags: string[], already: TagResult[] = []): Promise<PushResult> {
  const { report } = ctx;
  const results: TagResult[] = [...already, ...tags.map((tag) => ({ tag, pushed: false }))];
  report.pushing(id, results);
  const stopped = ctx.begin(id);
  if (stopped) {
    report.notPushed(id, stopped);
    return "not pushed";
  }
  report.pushStarts(id);
  report.progress.phase(id, "pushing");
  try {
    await pushTags(ctx.docker, tags, {
      creds: ctx.creds, signal: ctx.signal, line: (text) => report.progress.line(id, text),
      pushed: (tag, digest) => Object.assign(results.find((r) => r.tag === tag)!, { pushed: true, digest }),
    });
    report.pushed(id, tags.length);
    return "pushed";
  } catch (err) {
    if (ctx.signal.aborted) {
      report.notPushed(id, "not pushed: push interrupted");
      return "not pushed";
    }
    report.pushFailed(id, err);
    return "push failed";
  } finally {
    report.digests(id, results);
  }
}
