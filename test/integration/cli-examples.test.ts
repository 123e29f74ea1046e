// The example images, built and pushed by the real CLI to an alternate --repo, checked where
// they land: the engine's image inspect, the registry's HTTP API, the files inside the images.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import { filesInImage, registryImage, registryIndex, registryTags, requireEngine, uniqueRepo } from "../helpers/engine.js";

test("the example images build and push to an alternate --repo, with every tag, label and file in place", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  const n = repo.git("rev-list", "--count", "HEAD");
  const h = repo.git("rev-parse", "--short", "HEAD");
  const r = runCli(["-v", "--all", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "final plan includes 4 science builds and 3 compat builds");

  // All four tags of the essentials chain, and both of each final image, in the registry: each
  // image under its platform tags, its index (the image and its attestations) under its own.
  const tags = (...versions: string[]) => versions.flatMap((v) => [v, `${v}-${n}-${h}`, `${v}-${n}-${h}-linux-amd64`, `${v}-linux-amd64`]).sort();
  assert.equal(await registryTags(`${target}/sci/essentials-2-4`), tags("2.4"));
  assert.equal(await registryTags(`${target}/sci/essentials-2-5`), tags("2.5"));
  assert.equal(await registryTags(`${target}/rel/essentials`), tags("2.4", "2.5"));
  assert.equal(await registryTags(`${target}/rel/astro`), tags("1.0"));
  const index = await registryIndex(`${target}/rel/essentials:2.5-${n}-${h}`);
  assert.equal(index.manifests.map((m) => [m.platform, m.annotations?.["vnd.docker.reference.type"]]),
    [[{ architecture: "amd64", os: "linux" }, undefined], [{ architecture: "unknown", os: "unknown" }, "attestation-manifest"]]);

  // The breadcrumb trail: every science layer inside plus the compat labels, as pushed.
  const final = await registryImage(`${target}/rel/essentials:2.5-${n}-${h}`);
  const labels = Object.fromEntries(Object.entries(final.labels).filter(([k]) => k.startsWith("org.sciserver.")));
  assert.equal(Object.keys(labels).sort(), [
    "org.sciserver.compat.buildtime",
    "org.sciserver.compat.inputs",
    "org.sciserver.compat.version",
    "org.sciserver.science.essentials-2-4.buildtime",
    "org.sciserver.science.essentials-2-4.inputs",
    "org.sciserver.science.essentials-2-4.version",
    "org.sciserver.science.essentials-2-5.buildtime",
    "org.sciserver.science.essentials-2-5.inputs",
    "org.sciserver.science.essentials-2-5.version",
  ]);
  assert.is(labels["org.sciserver.compat.version"], `essentials:2.5-${n}-${h}`);
  assert.is(labels["org.sciserver.science.essentials-2-4.version"], `2.4-${n}-${h}`);
  assert.is(labels["org.sciserver.science.essentials-2-5.version"], `2.5-${n}-${h}`);
  assert.match(labels["org.sciserver.compat.buildtime"], /^\d{10}\.\d{3}$/);
  // built after the science layers inside it
  assert.ok(Number(labels["org.sciserver.compat.buildtime"]) > Number(labels["org.sciserver.science.essentials-2-5.buildtime"]));
  assert.ok(Number(labels["org.sciserver.science.essentials-2-5.buildtime"]) > Number(labels["org.sciserver.science.essentials-2-4.buildtime"]));
  assert.ok(final.env.includes(`SCISERVER_IMAGE=essentials:2.5-${n}-${h}`), final.env.join(" "));
  const astro = await registryImage(`${target}/rel/astro:1.0`);
  assert.ok("org.sciserver.science.astro-base.version" in astro.labels);
  assert.ok("org.sciserver.science.astro-tools.version" in astro.labels);

  // The engine agrees: both tags of a build name one image.
  const inspect = await engine.docker.getImage(`${target}/rel/essentials:2.5`).inspect();
  assert.ok(inspect.RepoTags.includes(`${target}/rel/essentials:2.5-${n}-${h}`));

  // Files: the FROM spelled with the production registry was built on this run's 2.4 image;
  // the compat merge takes a file in two layers from the top-most; .dockerignore is honoured.
  const opt = await filesInImage(engine.docker, `${target}/rel/essentials:2.5`, "/opt");
  assert.is(opt["opt/essentials/VERSION"]?.content, "essentials 2.5\n");
  assert.match(opt["opt/essentials/packages.txt"]?.content ?? "", "pandas==2.1");
  assert.is(opt["opt/sciserver/jupyter.conf"]?.content, "ui=lab\nport=8888\n");
  assert.ok(opt["opt/essentials/src/packages.txt"], "packages.txt copied");
  assert.not.ok(opt["opt/essentials/src/notes.md"], "notes.md is in .dockerignore");
  const etc = await filesInImage(engine.docker, `${target}/rel/essentials:2.5`, "/etc/motd");
  assert.is(etc["motd"]?.content, "Welcome to SciServer (Jupyter)\n");
  const astroFiles = await filesInImage(engine.docker, `${target}/rel/astro:1.0`, "/opt/astro");
  assert.match(astroFiles["astro/catalog.txt"]?.content ?? "", "m31");
  assert.is(astroFiles["astro/TOOLS"]?.content, "astro tools installed\n");
  assert.is((await filesInImage(engine.docker, `${target}/rel/astro:1.0`, "/opt/sciserver/jupyter.conf"))["jupyter.conf"]?.content, "ui=notebook\nport=8888\n");
});

test("without --push the images are built but nothing reaches the registry", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  const r = runCli(["--include", "science/astro-base", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /not pushed/i);
  assert.equal(await registryTags(`${target}/rel/astro`), []);
  const img = await engine.docker.getImage(`${target}/rel/astro:1.0`).inspect();
  assert.ok(img.Id.startsWith("sha256:"));
});

test.run();
