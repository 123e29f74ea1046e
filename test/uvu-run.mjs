// Runs uvu as its own CLI does (`uvu DIR PATTERN`, no colour), then ends the process: a handle a
// test left open (a connection still in use) must not hold the suite until run.sh's time bound
// after its last test. What was left open is named on stderr, to be found and closed.
import { parse } from "uvu/parse";
import { run } from "uvu/run";

const [dir, pattern] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const ctx = await parse(dir, pattern, { cwd: "." });
await run(ctx.suites, {});
// Only what would hold the process: an idle kept-open connection in an HTTP agent's pool is
// unreferenced (Node's keepSocketAlive), waiting to be reused, and a child that has exited is
// listed until its handle's close completes; neither is a leak.
const exited = (h) => h.constructor?.name === "ChildProcess" && (h.exitCode !== null || h.signalCode !== null);
const left = process._getActiveHandles().filter((h) => h !== process.stdout && h !== process.stderr && h !== process.stdin && h.hasRef?.() !== false && !exited(h));
if (left.length) {
  const named = left.map((h) => `${h.constructor.name}${h.remoteAddress ? ` ${h.remoteAddress}:${h.remotePort}` : ""}`);
  process.stderr.write(`note: the tests left ${left.length} handle(s) open: ${named.join(", ")}\n`);
}
process.exit(process.exitCode ?? 0);
