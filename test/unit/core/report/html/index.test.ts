import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderReport, showsLogTail } from "../../../../../src/core/report/html/index.js";
import { planBuilds } from "../../../../../src/core/plan/plan-builds.js";
import { readLayers, type RawLayerFiles } from "../../../../../src/core/parse/layer-config.js";
import type { BuildResult, Plan } from "../../../../../src/core/model.js";
import { resultsFile } from "../../../../../src/core/report/results.js";
import { GIT, makePlan, sci } from "../../../../helpers/small-plan.js";
import { generatedPlan, generatedResults } from "../../../../helpers/generated-plan.js";

const GENERATED = "2026-01-01T00:00:00.000Z";
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

/** What Jenkins' CSP (`default-src 'none'; style-src 'self'`) would block: any script, inline style, or outside resource. */
function cspProblems(html: string): string[] {
  const problems: string[] = [];
  if (/<script\b/i.test(html)) problems.push("a <script>");
  if (/<style\b/i.test(html)) problems.push("a <style> element");
  // Text is escaped, so every `<` starts a tag: the attributes are what is inside tags.
  for (const [tag] of html.matchAll(/<[a-zA-Z][^>]*>/g)) {
    if (/\sstyle\s*=/i.test(tag)) problems.push(`a style attribute: ${tag}`);
    if (/\son[a-z]+\s*=/i.test(tag)) problems.push(`an event handler attribute: ${tag}`);
    for (const m of tag.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      if (/^(?:[a-z]+:|\/\/)/i.test(m[1])) problems.push(`an outside resource ${m[1]}`);
    }
  }
  return problems;
}

/** The rows of the builds table: id -> the status word shown. */
function tableStatuses(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<tr data-id="([^"]+)" data-status="[^"]*">.*?<span class="status[^"]*">([^<]+)<\/span>/g)].map((m) => [m[1].replace(/&#39;|&quot;|&amp;/g, (e) => ({ "&#39;": "'", "&quot;": '"', "&amp;": "&" })[e]!), m[2]]));
}

test("a plan's report: index.html and its stylesheet, every build `planned`, what the change touched, nothing Jenkins' CSP blocks", () => {
  const plan = makePlan({ science: ["a"] });
  const files = renderReport({ plan, generatedAt: GENERATED });
  assert.equal(Object.keys(files).sort(), ["index.html", "report.css"]);
  const html = files["index.html"];
  assert.match(html, '<link rel="stylesheet" href="report.css">');
  assert.equal(cspProblems(html), []);
  assert.equal(tableStatuses(html), { "sci/a": "planned", "sci/b": "planned", "rel/a:1.0": "planned", "rel/b:1.0": "planned" });
  // sci/a changed; the others are rebuilt for it
  assert.match(html, /<tr data-id="sci\/a"[^\n]*class="changed"/);
  assert.not.match(html, /<tr data-id="sci\/b"[^\n]*class="changed"/);
  // the graph: one node per build; the compat layer the compat builds use listed below it
  const start = html.indexOf('<div class="drawing">');
  const svg = html.slice(start, html.indexOf("</svg>", start));
  for (const label of ["sci/a", "sci/b", "rel/a:1.0", "rel/b:1.0"]) assert.match(svg, `>${label}</text>`);
  assert.match(html, '<ul class="compat-layers"><li><code>compat/base</code>: in 2 compat builds</li></ul>');
  assert.not.match(html, 'id="timeline"');
});

function runResults(plan: Plan): BuildResult[] {
  // sci/a built and pushed, sci/b failed, rel/a built but its push failed, rel/b skipped.
  return [
    { id: "sci/a", status: "built", durationMs: 3000, pushed: true, startedAt: at(0), finishedAt: at(3000), pushStartedAt: at(3000), pushFinishedAt: at(3500),
      steps: { total: 4, cached: 3 }, tags: plan.builds[0].request.tags.map((tag) => ({ tag, pushed: true, digest: "sha256:d1d1" })),
      outputs: { "docker-image-hash": "sha256:a1a1", "docker-image-repo-tag": plan.builds[0].request.tags, "docker-image-timestamp": at(3000) } },
    { id: "sci/b", status: "failed", durationMs: 1000, pushed: false, startedAt: at(3000), finishedAt: at(4000),
      reason: "[2/2] RUN make <all>: exit code: 2", failedStep: "[2/2] RUN make <all>", steps: { total: 2, cached: 1 } },
    { id: "rel/a:1.0", status: "built", durationMs: 2000, pushed: false, startedAt: at(3000), finishedAt: at(5000), reason: "push failed: 503",
      tags: [{ tag: "x", pushed: false }] },
    { id: "rel/b:1.0", status: "skipped", durationMs: 0, pushed: false, reason: "parent sci/b failed" },
  ];
}

test("a log's tail is shown (and read from --log-dir) for a failed build and a failed push, not for a build that never ran", () => {
  const plan = makePlan({ science: ["a"] });
  const shown = Object.fromEntries([...runResults(plan), { id: "x", status: "cancelled", durationMs: 0, pushed: false, reason: "interrupted" } satisfies BuildResult]
    .map((r) => [r.id, showsLogTail(r)]));
  assert.equal(shown, { "sci/a": false, "sci/b": true, "rel/a:1.0": true, "rel/b:1.0": false, x: false });
});

test("a run's report: each build's status as a word, the failure's step and log tail escaped, a link to its log, the timeline", () => {
  const plan = makePlan({ science: ["a"] });
  const results = resultsFile(plan, runResults(plan));
  const html = renderReport({
    plan, results, generatedAt: GENERATED,
    logTails: { "sci/b": ["#5 [2/2] RUN make <all>", "#5 make: *** <all> Error 2 & more"] },
    logLinks: { "sci/b": "logs/sci_b.log" },
  })["index.html"];
  assert.equal(cspProblems(html), []);
  assert.equal(tableStatuses(html), { "sci/a": "built", "sci/b": "FAILED", "rel/a:1.0": "NOT PUSHED", "rel/b:1.0": "skipped" });
  assert.match(html, '<code class="failure">[2/2] RUN make &lt;all&gt;</code>');
  assert.match(html, '<pre class="log">#5 [2/2] RUN make &lt;all&gt;\n#5 make: *** &lt;all&gt; Error 2 &amp; more</pre>');
  assert.match(html, '<a href="logs/sci_b.log">');
  assert.match(html, "1 run, 3 cached");
  // A build --fail-fast cancelled: its last step was started, not run (hunter21 F5).
  const cancelled = renderReport({ plan, generatedAt: GENERATED, results: resultsFile(plan, runResults(plan).map((r) => r.id === "sci/b" ? { ...r, status: "cancelled" as const, reason: "cancelled: --fail-fast" } : r)) })["index.html"];
  assert.match(cancelled, "2 steps: 1 started, 1 cached");
  assert.match(html, "2 steps: 1 run, 1 cached");
  assert.match(html, "sha256:d1d1");
  assert.match(html, 'id="timeline"');
  assert.match(html, /Critical path: .*sci\/a.*→.*rel\/a:1.0/);
  // the timeline draws a bar per build that ran, none for the skipped one
  const timelineSvg = html.slice(html.indexOf('<section id="timeline">'), html.indexOf('<section id="builds">'));
  for (const id of ["sci/a", "sci/b", "rel/a:1.0"]) assert.match(timelineSvg, `<title>${id}: `);
  assert.not.match(timelineSvg, "<title>rel/b:1.0: ");
});

test("a run that pushed: images held back and a superseded one are counted and shown so, with their reasons, never green `built`", () => {
  const plan = makePlan({ science: ["a"] });
  const reason = "not pushed: parent sci/a was not pushed";
  const results = resultsFile(plan, [
    { id: "sci/a", status: "built", durationMs: 1, pushed: false, reason: "not published: another run of this commit pushed r/sci/a:1.0-1-h too",
      tags: [{ tag: "r/sci/a:1.0-1-h", pushed: false, registryDigest: "sha256:other" }, { tag: "r/sci/a:1.0", pushed: false }] },
    { id: "sci/b", status: "built", durationMs: 1, pushed: false, reason },
    { id: "rel/a:1.0", status: "built", durationMs: 1, pushed: false, reason },
    { id: "rel/b:1.0", status: "reused", durationMs: 1, pushed: false, reason },
  ]);
  const html = renderReport({ plan, results, generatedAt: GENERATED })["index.html"];
  assert.equal(tableStatuses(html), { "sci/a": "SUPERSEDED", "sci/b": "NOT PUSHED", "rel/a:1.0": "NOT PUSHED", "rel/b:1.0": "NOT PUSHED" });
  const header = html.slice(html.indexOf('<ul class="counts"'), html.indexOf("</ul>", html.indexOf('<ul class="counts"')));
  assert.match(header, '<li>3 <span class="status status-not-pushed">NOT PUSHED</span></li>');
  assert.match(header, '<li>1 <span class="status status-superseded">SUPERSEDED</span></li>');
  assert.not.match(header, "status-built");
  assert.match(html, `<td>${reason}</td>`);
  // the graph's nodes say it too
  assert.not.match(html.slice(html.indexOf('<section id="graph">'), html.indexOf('<section id="builds">')), ">built<");
});

test("names are text: a compat directory with quotes and brackets can't break out of the HTML or the SVG", () => {
  const raw: RawLayerFiles[] = [
    sci("a", { image: "a", compat: `x"><b onclick='1'>&amp;[#]` }, "FROM busybox:stable\n"),
    { kind: "compat", dir: `x"><b onclick='1'>&amp;[#]`, config: "{}", dockerfile: "RUN true\n" },
  ];
  const plan = planBuilds(readLayers(raw), { repo: "r.example/x", git: GIT, buildTime: 1, buildArgs: {}, changes: { all: true, science: [], compat: [], why: "--all" } });
  const html = renderReport({ plan, generatedAt: GENERATED })["index.html"];
  assert.equal(cspProblems(html), []);
  assert.match(html, "compat/x&quot;&gt;&lt;b onclick=&#39;1&#39;&gt;&amp;amp;[#]");
});

// Measured in CPU time, not wall time: rendering is synchronous work of this process, and on a busy
// machine (two CPU loops beside the suite) wall time doubles while the work does not.
const cpuMs = (since: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

test("a 300-layer plan's report, and its run's, each render in under 2 s", () => {
  const plan = generatedPlan(300);
  assert.is(plan.builds.filter((b) => b.kind === "science").length, 300);
  let t0 = process.cpuUsage();
  const planHtml = renderReport({ plan, generatedAt: GENERATED })["index.html"];
  const planMs = cpuMs(t0);
  const results = generatedResults(plan);
  t0 = process.cpuUsage();
  const runHtml = renderReport({ plan, results: resultsFile(plan, results), generatedAt: GENERATED })["index.html"];
  const runMs = cpuMs(t0);
  assert.ok(planMs < 2000, `the plan's report took ${planMs.toFixed(0)} ms of CPU`);
  assert.ok(runMs < 2000, `the run's report took ${runMs.toFixed(0)} ms of CPU`);
  for (const b of plan.builds) assert.ok(planHtml.includes(`<tr data-id="${b.id}"`) && runHtml.includes(`<tr data-id="${b.id}"`), b.id);
});

test("platforms: each platform build's details name its layer's image index tags and platforms, and with results what was pushed", () => {
  const plan = planBuilds(readLayers([sci("a", { image: "a" }, "FROM busybox:stable\n"), { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" }]), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, platforms: ["linux/amd64", "linux/arm64"],
    changes: { all: true, science: [], compat: [], why: "everything" },
  });
  const planned = renderReport({ plan, generatedAt: GENERATED })["index.html"];
  const details = (html: string, id: string) => {
    const start = html.indexOf(`data-id="${id}">\n<h3>`);
    return html.slice(start, html.indexOf("</section>", start));
  };
  const arm = details(planned, "sci/a@linux/arm64");
  assert.match(arm, "<dt>image index</dt>");
  assert.match(arm, /Platforms: <a href="#[^"]+"><code>sci\/a@linux\/amd64<\/code><\/a> \(linux\/amd64\), <a href="#[^"]+"><code>sci\/a@linux\/arm64<\/code><\/a> \(linux\/arm64\)/);
  assert.match(arm, "<tr><td><code>127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0</code></td><td>build tag</td>");
  // As planned, the second column says which kind of tag each is (its header said "tag" twice: hunter21 F5).
  assert.match(arm, '<th scope="col">index tag</th><th scope="col">kind</th>');
  assert.not.match(arm, '<th scope="col">tag</th><th scope="col">tag</th>');
  const digest = `sha256:${"d".repeat(64)}`;
  const results = resultsFile(plan, plan.builds.map((b): BuildResult => ({ id: b.id, status: "built", durationMs: 1, pushed: true })), 2, [{
    id: "sci/a", platforms: { "linux/amd64": "sci/a@linux/amd64", "linux/arm64": "sci/a@linux/arm64" }, status: "pushed", digest,
    tags: [{ tag: "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0", pushed: true, digest }, { tag: "127.0.0.1:5055/x/sci/a:1.0", pushed: false, reason: "not moved: newer", registryDigest: `sha256:${"e".repeat(64)}` }],
  }]);
  const run = details(renderReport({ plan, results, generatedAt: GENERATED })["index.html"], "sci/a@linux/amd64");
  assert.match(run, `<tr><td><code>127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0</code></td><td>pushed</td><td><code>${digest}</code></td></tr>`);
  // The summary counts it, as the run's last line does.
  assert.match(renderReport({ plan, results, generatedAt: GENERATED })["index.html"], "<li>1 moving tag not moved</li>");
  // A tag not pushed says why, and what the registry holds under it instead.
  assert.match(run, `<tr><td><code>127.0.0.1:5055/x/sci/a:1.0</code></td><td>not pushed<br><span class="why">not moved: newer</span></td><td><code>sha256:${"e".repeat(64)}</code> (not this build's)</td></tr>`);
  assert.not.match(renderReport({ plan: makePlan({ science: ["a"] }), generatedAt: GENERATED })["index.html"], "<dt>image index</dt>");
});

test("a run with attestations: an image pushed under its run-time platform tags shows them pushed, its attestation manifest, its one-platform index and both signatures", () => {
  const plan = makePlan({ science: ["a"] });
  const b = plan.builds.find((x) => x.id === "sci/a")!;
  const [moving, build] = b.request.tags;
  const [image, index, sigManifest] = ["a", "b", "c"].map((c) => `sha256:${c.repeat(64)}`);
  const repo = build.slice(0, build.lastIndexOf(":"));
  const sig = (digest: string) => ({ digest, tag: `${repo}:${digest.replace(":", "-")}.sig`, manifestDigest: sigManifest, status: "signed" as const });
  const results = resultsFile(plan, plan.builds.map((x): BuildResult => x.id !== "sci/a" ? { id: x.id, status: "built", durationMs: 1, pushed: true } : {
    id: x.id, status: "built", durationMs: 1, pushed: true, signature: sig(image),
    attestation: { status: "uploaded", subject: image, mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"e".repeat(64)}`, size: 9 },
    tags: [{ tag: `${build}-linux-amd64`, pushed: true, digest: image }, { tag: `${moving}-linux-amd64`, pushed: true, digest: image }],
  }), 2, [{
    id: "sci/a", platforms: { "linux/amd64": "sci/a" }, status: "pushed", digest: index, signature: sig(index),
    tags: [{ tag: build, pushed: true, digest: index }, { tag: moving, pushed: true, digest: index }],
  }]);
  const html = renderReport({ plan, results, generatedAt: GENERATED })["index.html"];
  const start = html.indexOf('data-id="sci/a">\n<h3>');
  const details = html.slice(start, html.indexOf("</section>", start));
  assert.match(details, `<tr><td><code>${build}-linux-amd64</code></td><td>pushed</td><td><code>${image}</code></td></tr>`);
  assert.not.match(details, "not pushed");
  assert.match(details, "<dt>image index</dt>");
  assert.match(details, `<tr><td><code>${build}</code></td><td>pushed</td><td><code>${index}</code></td></tr>`);
  assert.match(details, `<dt>signature</dt><dd><code>${repo}:sha256-${"a".repeat(64)}.sig</code> (signed;`);
  assert.match(details, `<p>Signature: <code>${repo}:sha256-${"b".repeat(64)}.sig</code> (signed;`);
  assert.match(details, `<dt>attestations</dt><dd>provenance and SBOM: attestation manifest <code>sha256:${"e".repeat(64)}</code> (uploaded), about image <code>${image}</code></dd>`);
  assert.equal(cspProblems(html), []);
  // The header says what the run's last line says of publishing: the index written.
  const header = (h: string) => h.slice(h.indexOf('<ul class="counts"'), h.indexOf("</ul>", h.indexOf('<ul class="counts"')));
  assert.match(header(html), "<li>1 index pushed</li>");
  assert.not.match(header(html), "failure");

  // An image whose attestations failed and an index not written stand out in the header, as on the run's last line.
  const failed = {
    ...results,
    results: results.results.map((r) => (r.id === "sci/a" ? { ...r, attestation: { status: "failed" as const, subject: image, reason: "HTTP 500" } } : r)),
    indexes: results.indexes!.map((i) => ({ ...i, status: "push failed" as const, reason: "index not written: attestations failed" })),
  };
  const failedHtml = renderReport({ plan, results: failed, generatedAt: GENERATED })["index.html"];
  assert.match(header(failedHtml), '<li><span class="failure">1 without its attestations</span></li>');
  assert.match(header(failedHtml), '<li><span class="failure">1 index push failed</span></li>');
  assert.match(failedHtml, '<dt>attestations</dt><dd><span class="failure">not uploaded: HTTP 500</span></dd>');
});

test("a run that ended before any build started (the engine unreachable) says so, not that an older image-builder wrote its results", () => {
  const plan = makePlan({ science: ["a"] });
  const cancelled = resultsFile(plan, plan.builds.map((b): BuildResult => ({ id: b.id, status: "cancelled", reason: "cannot reach the engine", durationMs: 0, pushed: false })), 2);
  const html = renderReport({ plan, results: cancelled, generatedAt: GENERATED })["index.html"];
  assert.match(html, "No build started: the run ended before building");
  assert.not.match(html, "older image-builder");
});

test.run();
