// The report of a real run of the examples (one build made to fail), served over loopback with
// the Content-Security-Policy Jenkins serves archived files with, and read in a real headless
// Chromium (Debian's `chromium`, driven by playwright-core; no browser download): nothing
// blocked, every build and its status there, the failure's step and log shown, with and without
// JavaScript, in a narrow window and printed. The screenshots, the PDF and the report are kept
// under IB_TEST_ARTIFACTS (test/run.sh: the engine's state directory, `artifacts/`).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { runCli } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp.js";

/** What Jenkins sends with every archived file (its default, hudson.model.DirectoryBrowserSupport.CSP). */
const JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';";
const CHROMIUM = "/usr/bin/chromium";
const FAILING_STEP = `RUN echo "compiling astro tools" && echo "error: libastro missing" >&2 && exit 3`;
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".log": "text/plain; charset=utf-8" };

const artifacts = join(process.env.IB_TEST_ARTIFACTS ?? join(tmpdir(), "image-builder-test-artifacts"), "report-browser");

/** Serves `root` on loopback, every response with Jenkins' CSP; records each request's path and status. */
async function serve(root: string): Promise<{ server: Server; url: string; requests: { path: string; status: number }[] } & AsyncDisposable> {
  const requests: { path: string; status: number }[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = join(root, normalize(path.endsWith("/") ? `${path}index.html` : path));
    const found = file.startsWith(root) && existsSync(file);
    requests.push({ path, status: found ? 200 : 404 });
    res.writeHead(found ? 200 : 404, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Security-Policy": JENKINS_CSP });
    res.end(found ? readFileSync(file) : "");
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/`, requests, [Symbol.asyncDispose]: () => new Promise<void>((done) => server.close(() => done())) };
}

/**
 * Console messages that are the CSP refusing something, or any page error. A script, inline or a
 * file, is refused by `sandbox` before any script-src rule: Chromium says "Blocked script execution
 * in '…' because the document's frame is sandboxed", naming no Content-Security-Policy.
 */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (/Content.Security.Policy|Refused to|Blocked script execution/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/**
 * A computed style of the element `selector` finds, read over the DevTools protocol: a script run in
 * the page (locator.evaluate) is one the page's sandbox blocks, and Chromium reports it as one.
 */
async function computedStyle(page: Page, selector: string, property: string): Promise<string | undefined> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("DOM.enable");
    await cdp.send("CSS.enable");
    const { root } = await cdp.send("DOM.getDocument");
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    const { computedStyle } = await cdp.send("CSS.getComputedStyleForNode", { nodeId });
    return computedStyle.find((p) => p.name === property)?.value;
  } finally {
    await cdp.detach();
  }
}

/** The PNG's size and how much is not white, decoded by the browser itself (no image library). */
async function inkOf(browser: Browser, png: Buffer): Promise<{ width: number; height: number; colours: number; inked: number }> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext("2d")!;
      ctx.drawImage(bitmap, 0, 0);
      const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const colours = new Set<number>();
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) inked++;
      }
      return { width: bitmap.width, height: bitmap.height, colours: colours.size, inked: inked / (data.length / 4) };
    }, png.toString("base64"));
  } finally {
    await page.close();
  }
}

test("a failed run's report reads in headless Chromium under Jenkins' CSP: every build and status, the failing step and its log", async () => {
  const engine = requireEngine();
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: test/run.sh installs Debian's chromium`);
  // astro-tools fails; rel/astro is skipped for it; the rest builds and pushes.
  using repo = examplesRepo({ "science/astro-tools/Dockerfile": `FROM sci/astro-base:1.0\n${FAILING_STEP}\n` });
  using out = tempDir("ib-report-");
  const report = join(out.path, "report");
  const r = runCli(["--all", "--push", "--repo", uniqueRepo(engine.registry), "--progress", "plain",
    "--log-dir", join(out.path, "logs"), "--results", join(out.path, "results.json"), "--report", report], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 1, r.stderr);
  const results = JSON.parse(readFileSync(join(out.path, "results.json"), "utf8")) as { results: { id: string; status: string; startedAt?: string; finishedAt?: string; failedStep?: string; steps?: { total: number } }[] };
  const expected: Record<string, string> = Object.fromEntries(results.results.map((x) => [x.id, x.status]));
  assert.equal(expected, {
    "sci/astro-base": "built", "sci/astro-tools": "failed", "sci/essentials-2-4": "built", "sci/essentials-2-5": "built",
    "rel/astro:1.0": "skipped", "rel/essentials:2.4": "built", "rel/essentials:2.5": "built",
  });
  // what the timeline and the details are made of, recorded by the run
  for (const x of results.results.filter((y) => y.status !== "skipped")) {
    assert.ok(x.startedAt && x.finishedAt && Date.parse(x.finishedAt) >= Date.parse(x.startedAt), `${x.id}: ${x.startedAt}..${x.finishedAt}`);
    assert.ok((x.steps?.total ?? 0) >= 1, `${x.id}: steps ${JSON.stringify(x.steps)}`);
  }
  assert.match(results.results.find((x) => x.id === "sci/astro-tools")!.failedStep ?? "", FAILING_STEP);
  assert.ok(existsSync(join(report, "logs", "sci_astro-tools.log")), "the failed build's log is copied into the report");

  mkdirSync(artifacts, { recursive: true });
  cpSync(report, join(artifacts, "report"), { recursive: true });
  await using site = await serve(report);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems = watchProblems(page);
      const response = await page.goto(site.url, { waitUntil: "load" });
      assert.is(response?.headers()["content-security-policy"], JENKINS_CSP);
      const how = javaScriptEnabled ? "with JavaScript" : "without JavaScript";
      // every build, with its status as a word, in the table and in its details
      for (const [id, status] of Object.entries(expected)) {
        const row = page.locator(`#builds tr[data-id="${id}"]`);
        assert.ok(await row.isVisible(), `${how}: row of ${id}`);
        // the status cell's own word: the row's other cells may hold it too (a note "parent … failed")
        assert.is((await row.locator(".status").innerText()).toLowerCase(), status, `${how}: ${id}`);
        const details = page.locator(`#details section[data-id="${id}"] h3`);
        assert.ok(await details.isVisible(), `${how}: details of ${id}`);
        assert.is((await details.locator(".status").innerText()).toLowerCase(), status, `${how}: status in the details of ${id}`);
        assert.ok(await page.locator("#graph svg text", { hasText: new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }).isVisible(), `${how}: graph node of ${id}`);
      }
      const failed = page.locator('#details section[data-id="sci/astro-tools"]');
      assert.ok(await failed.locator("code.failure", { hasText: FAILING_STEP }).isVisible(), `${how}: the failing step`);
      assert.match(await failed.locator("pre.log").innerText(), "error: libastro missing", `${how}: the log's tail`);
      // the stylesheet loaded under the CSP: a failure's badge is hatched
      const failedBadge = await computedStyle(page, '#builds tr[data-id="sci/astro-tools"] .status-failed', "background-image");
      assert.ok(failedBadge?.startsWith("repeating-linear-gradient"), `${how}: report.css applied: ${failedBadge}`);
      assert.ok(await page.locator("#timeline svg").isVisible(), `${how}: the timeline`);
      assert.ok(await page.locator("#timeline svg text", { hasText: /^Slots: \d used of --jobs 2 / }).isVisible(), `${how}: the slots of --jobs`);
      const shot = await page.screenshot({ fullPage: true });
      const name = `report-${javaScriptEnabled ? "js" : "no-js"}.png`;
      writeFileSync(join(artifacts, name), shot);
      const ink = await inkOf(browser, shot);
      assert.ok(ink.height > 900 && ink.colours > 20 && ink.inked > 0.05, `${how}: screenshot looks blank: ${JSON.stringify(ink)}`);
      // the log link works from the report folder, as on Jenkins
      await page.locator('#details section[data-id="sci/astro-tools"] a', { hasText: "logs/sci_astro-tools.log" }).click();
      assert.match(await page.locator("body").innerText(), "error: libastro missing", `${how}: the linked log`);
      assert.equal(problems, [], `${how}: ${problems.join("; ")}`);
      await context.close();
    }
    // a narrow window: the page does not scroll sideways (the drawings scroll in their frames); it prints
    const narrow = await browser.newPage({ viewport: { width: 390, height: 800 } });
    const problems = watchProblems(narrow);
    await narrow.goto(site.url, { waitUntil: "load" });
    const widths = await narrow.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
    assert.ok(widths.page <= widths.window, `narrow window scrolls sideways: ${JSON.stringify(widths)}`);
    writeFileSync(join(artifacts, "report-narrow.png"), await narrow.screenshot({ fullPage: true }));
    const pdf = await narrow.pdf({ format: "A4" });
    assert.is(pdf.subarray(0, 5).toString(), "%PDF-");
    writeFileSync(join(artifacts, "report.pdf"), pdf);
    assert.equal(problems, []);
  } finally {
    await browser.close();
  }
  // Only the report's own files were asked for (and the browser's favicon).
  const asked = [...new Set(site.requests.filter((q) => q.path !== "/favicon.ico").map((q) => `${q.path} ${q.status}`))].sort();
  assert.equal(asked, ["/ 200", "/logs/sci_astro-tools.log 200", "/report.css 200"]);
  console.log(`report-browser: screenshots, PDF and report kept in ${artifacts}`);
});

test.run();
