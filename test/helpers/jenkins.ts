// The Jenkinsfile in tests: its image-builder command lines as written (run for real by
// test/integration/jenkins-pipeline.test.ts), and the whole pipeline run by a Groovy shim of the
// Jenkins steps it uses (jenkins-shim.groovy), which records its stages, agents and commands.
import { spawnSync } from "node:child_process";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "./cli.js";
import { tempDir } from "./temp.js";

export const JENKINSFILE = join(PROJECT_ROOT, "Jenkinsfile");
const SHIM = join(PROJECT_ROOT, "test", "helpers", "jenkins-shim.groovy");

/** The shell commands of `sh '...'` steps that call ./image-builder, as written. */
export function jenkinsImageBuilderCommands(): string[] {
  const text = readFileSync(JENKINSFILE, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/\bsh\s+'([^'\n]*\.\/image-builder[^'\n]*)'/g)) out.push(m[1]);
  return out;
}

/**
 * The environment of groovy and groovyc: JAVA_HOME, which Debian's need set, and a JVM for short
 * runs (the first JIT tier alone, the serial collector): each scenario's JVM lives a few seconds,
 * where the optimizing compiler costs more than it saves (the Jenkinsfile tests: 29 s to 19 s).
 */
export function groovyEnv(): NodeJS.ProcessEnv {
  return { ...process.env, JAVA_HOME: javaHome(), JAVA_OPTS: `${process.env.JAVA_OPTS ?? ""} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC`.trim() };
}

/** JAVA_HOME for Debian's groovy and groovyc, which need it set. */
export function javaHome(): string | undefined {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const which = spawnSync("sh", ["-c", "command -v java"], { encoding: "utf8" }).stdout.trim();
  return which ? dirname(dirname(realpathSync(which))) : undefined;
}

export interface JenkinsAgent {
  name: string;
  labels: string[];
  /** Default true; nodesByLabel leaves offline agents out, and no stage runs on one. */
  online?: boolean;
}

export interface JenkinsScenario {
  /** Build parameters given; the rest keep the Jenkinsfile's defaults. */
  params?: Record<string, string | boolean>;
  /** BRANCH_NAME, BUILD_URL, GIT_PREVIOUS_SUCCESSFUL_COMMIT, … */
  env?: Record<string, string>;
  nodes: JenkinsAgent[];
  /** Credential id -> a username/password, or a secret file. */
  credentials?: Record<string, { username: string; password: string } | { file: true }>;
  /** File -> what a command that writes it (`--out F`, `--results F`, `> F`) writes. */
  outputs?: Record<string, string>;
  /** Regexes of shell commands (as the shell sees them) that exit 1. */
  fail?: string[];
}

export interface JenkinsEvent {
  step: string;
  /** The agent whose workspace the step ran in. */
  agent: string | null;
  /** Enclosing stages, outermost first. */
  stages: string[];
  /** The enclosing parallel branch. */
  branch: string | null;
  name?: string;
  label?: string;
  message?: string;
  /** sh: as written in the Jenkinsfile (what Jenkins logs of the step). */
  script?: string;
  /** sh: as the shell runs it, variables and globs expanded. */
  shell?: string;
  /** sh: the variables a withCredentials around it binds. */
  credentials?: string[];
  /** sh: its environment's upper-case variables. */
  vars?: Record<string, string>;
  branches?: string[];
  ids?: string[];
  found?: boolean;
  files?: string[];
  artifacts?: string;
}

export interface JenkinsTrace {
  result: "SUCCESS" | "FAILURE";
  error: string | null;
  description: string | null;
  params: Record<string, string | boolean>;
  events: JenkinsEvent[];
}

/** Runs the Jenkinsfile's pipeline in the shim; throws when the shim itself fails. */
export function runJenkinsfile(scenario: JenkinsScenario): JenkinsTrace {
  using dir = tempDir("ib-jenkins-shim-");
  const scenarioFile = join(dir.path, "scenario.json");
  const traceFile = join(dir.path, "trace.json");
  writeFileSync(scenarioFile, JSON.stringify(scenario));
  const r = spawnSync("groovy", [SHIM, JENKINSFILE, scenarioFile, traceFile], {
    encoding: "utf8",
    env: groovyEnv(),
    timeout: 120_000,
  });
  if (r.error || r.status !== 0) {
    throw new Error(`the Jenkins shim failed (${r.error?.message ?? `exit ${r.status}`}; test/run.sh installs Debian's groovy):\n${r.stderr}${r.stdout}`);
  }
  return JSON.parse(readFileSync(traceFile, "utf8")) as JenkinsTrace;
}
