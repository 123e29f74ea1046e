// Generates synthetic image-builder repositories for the benchmarks.
//
// Layout (see README.md): `science/<dir>/{sciserver-image.json,Dockerfile}`, `compat/<dir>/...`,
// `image-builder.json`. The science layers come in chains within one image each:
//
// - a chain of length L is `<image>-1 .. <image>-L`; layer k is `FROM sci/<image>-(k-1):<version>`
//   (spelled with or without a registry prefix, sometimes through an `ARG`, sometimes multi-stage
//   with a `COPY --from` of the parent too);
// - in half of the chains every layer has a new version (1.1, 1.2, ...: "add and change version",
//   every layer is a final image), in the other half all share one version ("add without changing
//   version", only the last layer is final);
// - a fifth of the chains start on the final layer of an earlier chain of another image, so changes
//   propagate across images; the rest start on `busybox:stable`.
//
// M compat layers form a small DAG: compat i includes up to two of the compat layers before it.
// Every final science layer names a compat layer.
//
// Git history: a first commit with everything, then a last commit that changes the Dockerfile of
// about `changedFraction` of the science directories and of one compat layer. The working tree is
// clean afterwards, so `--ref HEAD` is a no-op and the default `HEAD^` plans the last commit.
//
// The files are written with plain fs calls and committed with one `git add -A && git commit` per
// commit: git hashes the 2N files once per commit, which takes about a second at N = 10,000.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface GenerateOptions {
  /** Number of science layers. */
  science: number;
  /** Layers per chain (the last chain may be shorter). */
  chainLength: number;
  /** Number of compat layers. */
  compat: number;
  /** Fraction of science directories the last commit changes (at least one). */
  changedFraction: number;
  /** Seed of the pseudo-random choices, so a size always gives the same repository. */
  seed: number;
  /** Where to create the repository; default a new directory under the OS temp dir. */
  dir?: string;
}

export const DEFAULT_OPTIONS: Omit<GenerateOptions, "science"> = {
  chainLength: 5,
  compat: 40,
  changedFraction: 0.01,
  seed: 42,
};

export interface GeneratedRepo {
  root: string;
  science: number;
  compat: number;
  chains: number;
  /** Final images (`image:version`), i.e. compat builds for `--all`. */
  finals: number;
  /** Science directories changed by the last commit. */
  changedScience: string[];
  /** The compat directory changed by the last commit. */
  changedCompat: string;
  /** Bytes of all sciserver-image.json and Dockerfile files. */
  bytes: number;
  /** Seconds spent writing files and committing. */
  seconds: number;
  cleanup(): void;
}

/** mulberry32: small, fast, good enough for picking things deterministically. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGISTRY = "containers.repo.sciserver.org/compute-images";

interface Layer {
  dir: string;
  image: string;
  version: string;
  compat?: string;
  /** Reference of the parent image, or undefined for a root on busybox. */
  parent?: string;
  style: number;
}

function scienceConfig(l: Layer, k: number): string {
  const lines = ["{"];
  if (k % 3 === 0) lines.push(`  # layer ${l.dir} of image ${l.image}`);
  const fields = [`  "image": "${l.image}"`, `  "version": "${l.version}"`];
  if (l.compat) fields.push(`  "compat": "${l.compat}"`);
  lines.push(fields.join(",\n"), "}", "");
  return lines.join("\n");
}

function scienceDockerfile(l: Layer): string {
  const base = l.parent ?? "busybox:stable";
  const up = l.dir.toUpperCase().replace(/-/g, "_");
  const body = [
    `LABEL org.example.layer="${l.dir}" \\`,
    `      org.example.image="${l.image}:${l.version}"`,
    `ENV ${up}_HOME=/opt/${l.dir} \\`,
    `    PATH=/opt/${l.dir}/bin:$PATH`,
    "RUN set -eux; \\",
    `    mkdir -p /opt/${l.dir}/bin /opt/${l.dir}/share; \\`,
    `    echo "${l.image} ${l.version}" > /opt/${l.dir}/VERSION; \\`,
    `    for p in numpy scipy astropy pandas; do echo "$p" >> /opt/${l.dir}/packages; done`,
    `# keep the layer's notes next to its files`,
    `RUN echo "built from ${base}" > /opt/${l.dir}/share/NOTES`,
    `WORKDIR /opt/${l.dir}`,
  ];
  switch (l.style % 4) {
    case 0: // plain
      return [`# science/${l.dir}: synthetic layer`, `FROM ${base}`, ...body, ""].join("\n");
    case 1: // base through a global ARG
      return [`# syntax=docker/dockerfile:1`, `ARG BASE=${base}`, `FROM \${BASE}`, ...body, ""].join("\n");
    case 2: // multi-stage: a builder stage on the parent, then the parent again
      return [
        `# science/${l.dir}: multi-stage`,
        `FROM ${base} AS builder`,
        `RUN mkdir -p /build && echo "${l.dir}" > /build/catalog.txt`,
        "",
        `FROM ${base}`,
        `COPY --from=builder /build/catalog.txt /opt/${l.dir}/catalog.txt`,
        ...body,
        "",
      ].join("\n");
    default: // heredoc and a COPY --from the parent image
      return [
        `FROM ${base}`,
        `COPY --from=${base} /etc/motd /opt/${l.dir}/motd.parent`,
        `RUN <<EOF`,
        `set -eux`,
        `echo "FROM not-an-instruction:in-a-heredoc" > /opt/${l.dir}/heredoc`,
        `EOF`,
        ...body,
        "",
      ].join("\n");
  }
}

function compatDockerfile(name: string): string {
  return [
    `# compat/${name}: fragment appended to the science image`,
    `COPY ${name}.conf /opt/sciserver/${name}.conf`,
    `ENV SCISERVER_${name.toUpperCase().replace(/-/g, "_")}=1`,
    "RUN set -eux; \\",
    `    mkdir -p /opt/sciserver/${name}; \\`,
    `    echo "${name}" > /opt/sciserver/${name}/enabled`,
    "",
  ].join("\n");
}

function git(root: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.org",
      GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.org",
      GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
    },
  }).trim();
}

export function generateRepo(options: Partial<GenerateOptions> & { science: number }): GeneratedRepo {
  const o: GenerateOptions = { ...DEFAULT_OPTIONS, ...options };
  const started = process.hrtime.bigint();
  const random = rng(o.seed);
  const root = o.dir ?? mkdtempSync(join(tmpdir(), `ib-bench-${o.science}-`));
  mkdirSync(root, { recursive: true });
  let bytes = 0;
  const write = (path: string, text: string) => {
    writeFileSync(join(root, path), text);
    bytes += Buffer.byteLength(text);
  };

  // Compat DAG: c00 has no includes; compat i includes up to two earlier ones.
  const compatNames: string[] = [];
  for (let i = 0; i < o.compat; i++) {
    const name = `ui-${String(i).padStart(3, "0")}`;
    const includes = new Set<string>();
    if (i > 0) {
      includes.add(compatNames[Math.floor(random() * i)]);
      if (i > 3 && random() < 0.5) includes.add(compatNames[Math.floor(random() * i)]);
    }
    compatNames.push(name);
    mkdirSync(join(root, "compat", name), { recursive: true });
    write(`compat/${name}/sciserver-image.json`, `{\n  # includes come first, in this order\n  "includes": ${JSON.stringify([...includes])}\n}\n`);
    write(`compat/${name}/Dockerfile`, compatDockerfile(name));
  }
  const pickCompat = () => compatNames[Math.floor(random() * compatNames.length)];

  // Science chains.
  const layers: Layer[] = [];
  const chainFinals: string[] = []; // a reference to each chain's last layer
  let chains = 0;
  let finals = 0;
  for (let start = 0; start < o.science; start += o.chainLength, chains++) {
    const length = Math.min(o.chainLength, o.science - start);
    const image = `img${String(chains).padStart(5, "0")}`;
    const rising = chains % 2 === 0;
    let parent: string | undefined;
    if (chains > 0 && random() < 0.2) parent = chainFinals[Math.floor(random() * chainFinals.length)];
    for (let k = 1; k <= length; k++) {
      const dir = `${image}-${k}`;
      const version = rising ? `1.${k}` : "2.0";
      const isFinal = rising || k === length;
      const layer: Layer = { dir, image, version, parent, style: start + k, compat: isFinal ? pickCompat() : undefined };
      if (isFinal) finals++;
      layers.push(layer);
      const prefix = (start + k) % 2 === 0 ? `${REGISTRY}/` : "";
      parent = `${prefix}sci/${dir}:${version}`;
    }
    chainFinals.push(parent!);
  }
  for (const [i, l] of layers.entries()) {
    mkdirSync(join(root, "science", l.dir), { recursive: true });
    write(`science/${l.dir}/sciserver-image.json`, scienceConfig(l, i));
    write(`science/${l.dir}/Dockerfile`, scienceDockerfile(l));
  }
  write("image-builder.json", `{\n  # where images go unless --repo says otherwise\n  "repo": "${REGISTRY}"\n}\n`);
  writeFileSync(join(root, "README.md"), `Synthetic repository: ${o.science} science layers, ${o.compat} compat layers.\n`);

  git(root, "init", "-q", "-b", "main");
  git(root, "config", "commit.gpgsign", "false");
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "synthetic layers");

  // The last commit: ~changedFraction of the science layers (spread over the repository) and one compat.
  const changeCount = Math.max(1, Math.round(o.science * o.changedFraction));
  const step = layers.length / changeCount;
  const changedScience: string[] = [];
  for (let i = 0; i < changeCount; i++) {
    const l = layers[Math.floor(i * step + random() * step)];
    appendFileSync(join(root, "science", l.dir, "Dockerfile"), "RUN echo changed > /opt/changed\n");
    changedScience.push(l.dir);
  }
  // A compat layer in the middle of the DAG: some images use it directly, others through includes.
  const changedCompat = compatNames[Math.floor(compatNames.length / 2)];
  appendFileSync(join(root, "compat", changedCompat, "Dockerfile"), "RUN echo changed > /opt/sciserver/changed\n");
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", `change ${changeCount} science layers and compat ${changedCompat}`);

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    root,
    science: layers.length,
    compat: compatNames.length,
    chains,
    finals,
    changedScience,
    changedCompat,
    bytes,
    seconds,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

// `node dist/bench/generate-repo.js <N> [dir]`: generate one repository and print where it is.
if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1000);
  const r = generateRepo({ science: n, dir: process.argv[3] });
  const { cleanup: _, ...info } = r;
  process.stdout.write(`${JSON.stringify({ ...info, changedScience: info.changedScience.length }, null, 2)}\n`);
}
