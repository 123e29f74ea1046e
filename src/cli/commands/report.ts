// `report` and `--report DIR`: the HTML report of a plan or a run, written as a folder that works
// on its own (archived on Jenkins, opened offline): the pure renderer's files, plus a copy of each
// build's log from --log-dir, so the links still work when the folder is all there is.
import type { Command } from "commander";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { InputError, type Plan } from "../../core/model.js";
import type { ResultsFile } from "../../core/report/results.js";
import { copyToFreshFile, errorCode, freshFolderIn, lstatIfAny, makeDirectory, statIfAny, writeFreshFile } from "../../files.js";
import { checkOutputDir } from "../output-paths.js";

/** Where the logs go inside the report folder. */
const LOGS = "logs";
/** Lines of a failed build's log shown in the report. */
const TAIL_LINES = 30;
/** A log's end read for its tail: logs may be large, the tail is not. */
const TAIL_BYTES = 64 * 1024;

export interface ReportSources {
  plan: Plan;
  results?: ResultsFile;
  /** `--log-dir` of the run: each build's full log, copied into the report. */
  logDir?: string;
  /** Build id -> its log's last lines, when the run still has them (`--report`); else read from logDir. */
  logTails?: Record<string, string[]>;
}

/** The last lines of a file (its last TAIL_BYTES at most). */
async function lastLines(file: string, count: number): Promise<string[]> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    const lines = buffer.toString("utf8").split(/\r?\n/);
    if (lines[lines.length - 1] === "") lines.pop();
    // A partial first line, when the file was cut, is left out; unless it is all there is (a last
    // line longer than what is read), which is shown as the end of that line, saying so.
    if (length < size) {
      if (lines.length > 1) lines.shift();
      else if (lines.length === 1) lines[0] = `[… the start of this line left out] ${lines[0]}`;
    }
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** Writes the report folder `dir` (`flag`: how the user named it, for errors). */
export async function writeReport(flag: string, dir: string, sources: ReportSources): Promise<void> {
  const { renderReport, showsLogTail } = await import("../../core/report/html/index.js");
  // The run's names for its logs (`sci/foo` -> `sci_foo.log`).
  const { logFileName } = await import("../../executors/docker/progress.js");
  const { plan, results, logDir } = sources;
  const logTails: Record<string, string[]> = { ...sources.logTails };
  const logLinks: Record<string, string> = {};
  const copies: [string, string][] = [];
  if (logDir) {
    const byId = new Map(results?.results.map((r) => [r.id, r]));
    for (const b of plan.builds) {
      const name = logFileName(b.id);
      const from = join(logDir, name);
      // The run's own log files: a symbolic link there (to /etc/…) is not copied into a report.
      if (!lstatIfAny(from)?.isFile()) continue;
      logLinks[b.id] = `${LOGS}/${name}`;
      copies.push([from, join(dir, LOGS, name)]);
      const r = byId.get(b.id);
      if (r && showsLogTail(r) && !logTails[b.id]?.length) logTails[b.id] = await lastLines(from, TAIL_LINES);
    }
  }
  const files = renderReport({ plan, results, logTails, logLinks, generatedAt: new Date().toISOString() });
  try {
    makeDirectory(dir);
    if (copies.length) freshFolderIn(join(dir, LOGS));
    // Files of their own: a symbolic link in the folder (a checkout's `report/index.html -> ~/.bashrc`) is replaced, not written through.
    for (const [path, text] of Object.entries(files)) await writeFreshFile(join(dir, path), text);
    for (const [from, to] of copies) await copyToFreshFile(from, to);
  } catch (e) {
    throw new InputError(`${flag} ${dir}: cannot write the report (${errorCode(e)})`);
  }
}

export function addReportCommand(program: Command, readInput: (file: string) => Promise<string>): void {
  program.command("report")
    .description("write the HTML report of a plan, or of a run with --results, to a folder")
    .requiredOption("--plan <file>", "plan file (from `plan --out`)")
    .option("--results <file>", "the run's results (from --results or merge-results); without them, the plan's report")
    .option("--log-dir <dir>", "the run's --log-dir: failures show their log's last lines, and every log is copied into the report")
    .requiredOption("-o, --out <dir>", "the report folder (index.html, report.css, logs/)")
    .action(async (o: { plan: string; results?: string; logDir?: string; out: string }) => {
      checkOutputDir("--out", o.out);
      if (o.logDir !== undefined && !statIfAny(o.logDir)?.isDirectory()) throw new InputError(`--log-dir ${o.logDir}: no such directory`);
      const { parsePlanFile } = await import("../../core/requests/plan-file.js");
      const plan = parsePlanFile(await readInput(o.plan), o.plan, { readOnly: true });
      let results: ResultsFile | undefined;
      if (o.results !== undefined) {
        const { checkSamePlan, parseResultsFile } = await import("../../core/report/results.js");
        results = parseResultsFile(await readInput(o.results), o.results);
        checkSamePlan(results, o.results, plan, o.plan);
      }
      await writeReport("--out", o.out, { plan, results, logDir: o.logDir });
      process.stderr.write(`wrote ${join(o.out, "index.html")}\n`);
    });
}

