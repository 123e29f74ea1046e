// Publishing test images straight through the Engine API (build, tag, push), and a registry with
// token authentication: the real docker-registry with `auth: token`, and a small loopback token
// service that signs JWTs for it, so the Bearer flow runs as against production registries.
import type Dockerode from "dockerode";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tempDir } from "./temp.js";
import tar from "tar-stream";

async function drain(docker: Dockerode, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
      const failed = events?.find((e) => e.error || e.errorDetail);
      if (err || failed) reject(new Error(`${what}: ${err?.message ?? failed?.error ?? failed?.errorDetail?.message}`));
      else resolve();
    });
  });
}

/** Loads an image tar file into the engine; an error the engine reports inside the stream fails too. */
export async function loadImageFile(docker: Dockerode, file: string): Promise<void> {
  await drain(docker, await docker.loadImage(file, {}), `load ${file}`);
}

/** Builds `dockerfile` (no context files) as `tag`. */
export async function buildImage(docker: Dockerode, tag: string, dockerfile: string): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile" }, dockerfile);
  pack.finalize();
  await drain(docker, await docker.buildImage(pack as unknown as NodeJS.ReadableStream, { t: tag }), `build ${tag}`);
}

/** Pushes `ref` (already tagged in the engine), with credentials when given. */
export async function pushImage(docker: Dockerode, ref: string, auth?: { username: string; password: string }): Promise<void> {
  const colon = ref.lastIndexOf(":");
  const image = docker.getImage(ref.slice(0, colon));
  const serveraddress = ref.slice(0, ref.indexOf("/"));
  const stream = await image.push({ tag: ref.slice(colon + 1), authconfig: auth ? { ...auth, serveraddress } : { serveraddress } });
  await drain(docker, stream, `push ${ref}`);
}

/** Builds and pushes an image under every reference in `refs` (first one built). */
export async function publish(docker: Dockerode, refs: string[], dockerfile: string, auth?: { username: string; password: string }): Promise<void> {
  await buildImage(docker, refs[0], dockerfile);
  for (const ref of refs.slice(1)) {
    const colon = ref.lastIndexOf(":");
    await docker.getImage(refs[0]).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
  }
  for (const ref of refs) await pushImage(docker, ref, auth);
}

/** A DOCKER_CONFIG directory holding `config`; removed when disposed (`using config = dockerConfigDir(…)`). */
export function dockerConfigDir(config: unknown): { dir: string; cleanup: () => void } & Disposable {
  const { path: dir, [Symbol.dispose]: remove } = tempDir("ib-dockercfg-");
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return { dir, cleanup: remove, [Symbol.dispose]: remove };
}

export function authEntry(user: string, pass: string): { auth: string } {
  return { auth: Buffer.from(`${user}:${pass}`).toString("base64") };
}

/** A loopback port nothing listens on (at the time of asking). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TokenRegistry {
  /** host:port of the registry. */
  registry: string;
  user: string;
  pass: string;
  /** The token service's URL (the realm of the registry's Bearer challenge). */
  realm: string;
  /** Token requests the token service answered, with the scope each asked for. */
  tokenRequests: { scope: string; authorized: boolean }[];
  stop: () => Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/**
 * Starts a token service on loopback and a docker-registry that trusts it (distribution's
 * `auth.token` with `rootcertbundle`). The service grants what is asked to `user`/`pass`,
 * refuses other credentials (401), and answers anonymous requests with a token that grants nothing.
 */
export async function startTokenRegistry(): Promise<TokenRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "ib-token-registry-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    "-days", "2", "-subj", "/CN=image-builder test token issuer"], { stdio: "ignore" });
  const key = readFileSync(join(dir, "key.pem"), "utf8");
  const certDer = new X509Certificate(readFileSync(join(dir, "cert.pem"))).raw;
  const user = "tokenuser";
  const pass = `pw-${randomBytes(6).toString("hex")}`;
  const service = "ib-test-registry";
  const issuer = "ib-test-issuer";
  const tokenRequests: TokenRegistry["tokenRequests"] = [];

  const sign = (access: { type: string; name: string; actions: string[] }[]) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer.toString("base64")] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user, aud: service, iat: now, nbf: now - 10, exp: now + 300, jti: randomBytes(8).toString("hex"), access }));
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key);
    return `${header}.${claims}.${b64url(signature)}`;
  };

  const tokenServer: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scopes = url.searchParams.getAll("scope");
    const given = req.headers.authorization?.startsWith("Basic ") ? Buffer.from(req.headers.authorization.slice(6), "base64").toString() : undefined;
    const authorized = given === `${user}:${pass}`;
    tokenRequests.push({ scope: scopes.join(" "), authorized });
    if (given !== undefined && !authorized) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
      return;
    }
    const access = authorized
      ? scopes.flatMap((s) => s.split(" ")).map((s) => {
          const [type, name, actions] = [s.slice(0, s.indexOf(":")), s.slice(s.indexOf(":") + 1, s.lastIndexOf(":")), s.slice(s.lastIndexOf(":") + 1)];
          return { type, name, actions: actions.split(",") };
        })
      : [];
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: sign(access), expires_in: 300 }));
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, "127.0.0.1", resolve));
  const tokenPort = (tokenServer.address() as { port: number }).port;

  const port = await freePort();
  writeFileSync(join(dir, "config.yml"), [
    "version: 0.1",
    "log: { level: error }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
    "auth:",
    "  token:",
    `    realm: "http://127.0.0.1:${tokenPort}/token"`,
    `    service: ${service}`,
    `    issuer: ${issuer}`,
    `    rootcertbundle: ${join(dir, "cert.pem")}`,
    "",
  ].join("\n"));
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await new Promise<void>((resolve) => tokenServer.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  // Up when /v2/ answers with its Bearer challenge.
  for (let i = 0; ; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status, () => 0);
    if (status === 401) break;
    if (child.exitCode !== null || i > 200) {
      await stop();
      throw new Error(`token-auth registry did not start: ${stderr.trim().split("\n").pop()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { registry: `127.0.0.1:${port}`, realm: `http://127.0.0.1:${tokenPort}/token`, user, pass, tokenRequests, stop };
}
