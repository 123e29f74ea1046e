// Dockerfile features that not every builder can build, found before anything is built: heredocs
// and other syntax newer than an engine's built-in Dockerfile frontend, BuildKit-only flags under
// the classic builder, a `# syntax=` directive (an image BuildKit must pull). Pure: read with the
// planner's parser, so that only instructions count (not heredoc bodies, comment lines).
import type { Builder } from "./builder-choice.js";
import { instructionsOf, parseDockerfile } from "../parse/dockerfile/index.js";
import type { PlannedBuild } from "../model.js";
import { markedFragment } from "./fragment-marks.js";

export interface Feature {
  line: number;
  /** What the line uses, for messages: `RUN --mount`, `heredoc`. */
  what: string;
  /** BuildKit's Dockerfile frontend version that first knew it (built-in: see frontendOfEngine). */
  frontend: [number, number];
}

export interface SyntaxDirective {
  line: number;
  image: string;
}

/** Flags only BuildKit knows, and the frontend version that brought each. */
const BUILDKIT_FLAGS: Record<string, Record<string, [number, number]>> = {
  RUN: { mount: [1, 2], network: [1, 3], security: [1, 3] },
  COPY: { link: [1, 4], parents: [1, 7], exclude: [1, 7] },
  ADD: { link: [1, 4], checksum: [1, 6], "keep-git-dir": [1, 5], exclude: [1, 7] },
};
const HEREDOC_KEYWORDS = new Set(["RUN", "COPY", "ADD"]);

/**
 * The features of `text` that need BuildKit, and its `# syntax=` directive. A text the parser
 * refuses (a bad parser directive) has none here: every build parses it again and fails there,
 * naming the line (the planner refuses such files before there is a build).
 */
export function scanDockerfile(text: string): { features: Feature[]; syntax?: SyntaxDirective } {
  let parsed: ReturnType<typeof instructionsOf>;
  try {
    parsed = instructionsOf(text);
  } catch {
    return { features: [] };
  }
  const directive = parsed.directives.find((d) => d.name === "syntax");
  const syntax = directive && { line: directive.line, image: directive.value };
  const features: Feature[] = [];
  let defaults: Set<string> | undefined;
  const globalDefaults = () => (defaults ??= (() => {
    try {
      return new Set(Object.entries(parseDockerfile(text).globalArgs).filter(([, v]) => v !== undefined).map(([k]) => k));
    } catch {
      return new Set<string>();
    }
  })());
  for (const { keyword, line, flags, heredocs } of parsed.instructions) {
    for (const flag of flags) {
      const name = /^--([a-z-]+)(=|$)/.exec(flag)?.[1];
      const known = Object.hasOwn(BUILDKIT_FLAGS, keyword) ? BUILDKIT_FLAGS[keyword] : {};
      const since = name !== undefined && Object.hasOwn(known, name) ? known[name] : undefined;
      if (since) features.push({ line, what: `${keyword} --${name}`, frontend: since });
    }
    // BuildKit's automatic platform args: the classic builder does not define them, so a FROM
    // whose --platform uses one fails there (`failed to parse platform : ""`) after the builds before it.
    if (keyword === "FROM") {
      const platform = flags.find((f) => f.startsWith("--platform="));
      const automatic = platform && /\$\{?(BUILD|TARGET)(PLATFORM|OS|ARCH|VARIANT)\b/.exec(platform);
      // Declared with a default before the first FROM, it has a value under the classic builder too.
      if (automatic && !globalDefaults().has(`${automatic[1]}${automatic[2]}`)) features.push({ line, what: `FROM ${platform} (BuildKit's automatic $${automatic[1]}${automatic[2]})`, frontend: [1, 0] });
    }
    // After ONBUILD too: a frontend without heredocs reads the body as instructions of its own
    // (hunter22: the layer built on production's image instead of its own files).
    if ((HEREDOC_KEYWORDS.has(keyword) || keyword === "ONBUILD") && heredocs.length > 0) {
      features.push({ line, what: `${keyword} with a heredoc`, frontend: [1, 4] });
    }
  }
  return syntax ? { features, syntax } : { features };
}

/** The Dockerfile frontend built into an engine's BuildKit: 1.2 in 20.10, 1.4 from 23.0 (heredocs, --link). */
export function frontendOfEngine(engineVersion: string): [number, number] {
  const major = Number.parseInt(engineVersion, 10);
  if (major >= 25) return [1, 6];
  if (major >= 23) return [1, 4];
  if (major >= 20) return [1, 2];
  return [1, 0];
}

const atLeast = (a: [number, number], b: [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);

export interface FeatureCheck {
  /** Lines that make the build impossible with `builder` on this engine: `file:line: ...`. */
  problems: string[];
  /** The builder this build should use (auto: BuildKit unless only the classic builder can build it). */
  builder: Builder;
  /** What the text needs and its `# syntax=` directive, as scanDockerfile found them (scanned once). */
  scan: ReturnType<typeof scanDockerfile>;
}

/**
 * What `builder` can build of `file`'s text on an engine of `engineVersion`. A `# syntax=`
 * frontend is taken to know everything (its image is checked when the run starts).
 */
export function checkFeatures(file: string | ((line: number) => string), text: string, builder: Builder, engineVersion: string): FeatureCheck {
  const at = typeof file === "string" ? (line: number) => `${file}:${line}` : file;
  const scan = scanDockerfile(text);
  const { features, syntax } = scan;
  const problems: string[] = [];
  if (builder === "classic") {
    for (const f of features) problems.push(`${at(f.line)}: ${f.what} needs BuildKit (--builder buildkit), the classic builder can't build it`);
    return { problems, builder, scan };
  }
  if (syntax) return { problems, builder, scan };
  const builtIn = frontendOfEngine(engineVersion);
  for (const f of features) {
    if (atLeast(builtIn, f.frontend)) continue;
    problems.push(`${at(f.line)}: ${f.what} needs Dockerfile frontend ${f.frontend.join(".")}; engine ${engineVersion}'s BuildKit has ${builtIn.join(".")} built in: add \`# syntax=docker/dockerfile:1\` (the engine pulls that frontend) or use engine 23 or later`);
  }
  return { problems, builder, scan };
}

/** `--dryrun`: no engine known, so what each build requires, as warnings. */
export function featureRequirements(builds: PlannedBuild[]): string[] {
  const out: string[] = [];
  for (const b of builds) {
    const at = dockerfileAt(b);
    const { features, syntax } = scanDockerfile(b.request.dockerfile);
    if (syntax) out.push(`${at(syntax.line)}: \`# syntax=${syntax.image}\`: BuildKit pulls this frontend image when building (the classic builder ignores it)`);
    for (const f of features) {
      out.push(`${at(f.line)}: ${f.what} needs BuildKit with Dockerfile frontend ${f.frontend.join(".")}${syntax ? "" : ` (built into engine ${f.frontend[1] <= 2 ? "20.10" : "23"} and later)`}`);
    }
  }
  return out;
}

/** How messages name a build's Dockerfile: the layer's file, or the generated one of a compat build. */
export function dockerfileName(b: PlannedBuild): string {
  return b.kind === "science" ? `${b.source}/Dockerfile` : `generated Dockerfile of ${b.id}`;
}

/**
 * A line of a build's Dockerfile as the user's file names it: the layer's Dockerfile, or in a compat
 * build the fragment it comes from at the fragment's own line (after its `# ---- compat/x/Dockerfile
 * ----` mark), not the generated file's (hunter23: `generated Dockerfile of rel/x:1.0:5`).
 */
export function dockerfileAt(b: PlannedBuild): (line: number) => string {
  if (b.kind === "science") return (line) => `${b.source}/Dockerfile:${line}`;
  const lines = b.request.dockerfile.split("\n");
  return (line) => {
    for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
      const fragment = markedFragment(lines[i]);
      if (fragment) return `${fragment}:${line - (i + 1)}`;
    }
    return `${dockerfileName(b)}:${line}`;
  };
}
