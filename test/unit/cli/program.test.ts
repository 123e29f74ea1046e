// The command line's own rules, in-process (no child process): commands, and what a mistyped one says.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CommanderError } from "commander";
import { buildProgram, usageErrorLine } from "../../../src/cli/program.js";
import { InputError } from "../../../src/core/model.js";

/** The error a command line is refused with, before anything is read or planned. */
async function refusal(args: string[]): Promise<Error> {
  const program = buildProgram();
  for (const command of [program, ...program.commands]) command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    return e as Error;
  }
  return assert.unreachable(`expected ${args.join(" ")} to be refused`) as never;
}

test("an unknown command names the real ones", async () => {
  for (const name of ["build", "list", "science/a"]) {
    for (const args of [[name, "--root", "/nonexistent"], ["help", name]]) {
      const e = await refusal(args);
      assert.instance(e, InputError);
      assert.is(e.message, `unknown command "${name}": the commands are plan, run, graph, merge-results, merge-platforms, report, images, inspect, contains, export, sbom, diff, verify and help; without one, image-builder plans and builds`);
    }
  }
});

test("the default command's options before a command are refused, not dropped: --dryrun run PLAN --push published for real", async () => {
  const cases: [string[], string, string][] = [
    [["--dryrun", "run", "/nonexistent/plan.json", "--push"], "--dryrun", "run"],
    [["--repo", "r.example/x", "plan", "--out", "/nonexistent/p.json"], "--repo", "plan"],
    [["--push", "--reconcile", "graph"], "--reconcile, --push", "graph"],
    [["-v", "images"], "--verbose", "images"],
  ];
  for (const [args, given, name] of cases) {
    const e = await refusal(args);
    assert.instance(e, InputError, args.join(" "));
    assert.match(e.message, `${given} before the command "${name}"`);
    assert.match(e.message, `put ${name}'s options after it`);
  }
  // asking for help is not refused
  const help = await refusal(["-v", "help", "run"]);
  assert.instance(help, CommanderError);
  assert.is((help as CommanderError).exitCode, 0);
});

test("usage errors are one line, commander's suggestion included", () => {
  assert.is(usageErrorLine("error: unknown option '--reconcil'\n(Did you mean --reconcile?)\n"), "image-builder: error: unknown option '--reconcil'; did you mean --reconcile? (see --help)\n");
  assert.is(usageErrorLine("error: unknown option '--bogus'\n"), "image-builder: error: unknown option '--bogus' (see --help)\n");
  assert.is(usageErrorLine("error: one\n  two"), "image-builder: error: one two (see --help)\n");
});

test("--help of --network names the fallback to none on an engine without a bridge", () => {
  const program = buildProgram();
  for (const command of [program, program.commands.find((c) => c.name() === "run")!]) {
    const network = command.options.find((o) => o.long === "--network")!;
    assert.match(network.description, "the engine's, or none on an engine without a default bridge");
    assert.match(command.helpInformation(), /--network <mode>/);
  }
});

test("help, and help of a command, are not errors", async () => {
  for (const args of [["help"], ["help", "plan"], ["--help"]]) {
    const e = await refusal(args);
    assert.instance(e, CommanderError);
    assert.is((e as CommanderError).exitCode, 0, args.join(" "));
  }
});

test.run();
