// A BuildKit session served by this process: the engine's `POST /session` is upgraded to HTTP/2
// (h2c) and the engine calls back into gRPC services we serve on that connection (with
// @grpc/grpc-js; dockerode does the same for its own session). Served: registry credentials
// (moby.filesync.v1.Auth/Credentials), so that BuildKit can pull bases and cache sources from a
// registry that needs them, from the same docker config as everything else; and build secrets
// (moby.buildkit.secrets.v1.Secrets/GetSecret) for `RUN --mount=type=secret` with `--secret`:
// they reach the build through this connection only, never the context, an argument or a layer.
// And the gRPC health service: the engine checks the session's health about once a second and
// drops the session at the first failed check (engine 20.10's BuildKit, session/grpc.go
// monitorHealth); without it every session died a second in, and whatever the build asked of it
// later (a secret, a base's credentials) failed after a 5 s wait with "no active session for …:
// context deadline exceeded": on a busy machine, where builds get there later, that was most builds.
//
// Messages from moby/buildkit session/auth/auth.proto and session/secrets/secrets.proto
// (https://github.com/moby/buildkit, Apache License 2.0): CredentialsRequest,
// CredentialsResponse, GetSecretRequest, GetSecretResponse; and from grpc/health/v1/health.proto
// (https://github.com/grpc/grpc-proto, Apache License 2.0): HealthCheckRequest, HealthCheckResponse.
import * as grpc from "@grpc/grpc-js";
import type Dockerode from "dockerode";
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import protobuf from "protobufjs";
import type { DockerCredentials } from "../../registry/credentials.js";

const root = protobuf.Root.fromJSON({
  nested: {
    moby: {
      nested: {
        filesync: { nested: { v1: { nested: {
          CredentialsRequest: { fields: { Host: { type: "string", id: 1 } } },
          CredentialsResponse: { fields: { Username: { type: "string", id: 1 }, Secret: { type: "string", id: 2 } } },
        } } } },
        buildkit: { nested: { secrets: { nested: { v1: { nested: {
          GetSecretRequest: { fields: { ID: { type: "string", id: 1 }, annotations: { keyType: "string", type: "string", id: 2 } as protobuf.IField } },
          GetSecretResponse: { fields: { data: { type: "bytes", id: 1 } } },
        } } } } } },
      },
    },
    grpc: { nested: { health: { nested: { v1: { nested: {
      HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
      // status 1 is SERVING
      HealthCheckResponse: { fields: { status: { type: "int32", id: 1 } } },
    } } } } } },
  },
});
const CredentialsRequest = root.lookupType("moby.filesync.v1.CredentialsRequest");
const CredentialsResponse = root.lookupType("moby.filesync.v1.CredentialsResponse");

const GetSecretRequest = root.lookupType("moby.buildkit.secrets.v1.GetSecretRequest");
const GetSecretResponse = root.lookupType("moby.buildkit.secrets.v1.GetSecretResponse");

const HealthCheckRequest = root.lookupType("grpc.health.v1.HealthCheckRequest");
const HealthCheckResponse = root.lookupType("grpc.health.v1.HealthCheckResponse");

const CREDENTIALS_METHOD = "/moby.filesync.v1.Auth/Credentials";
const SECRET_METHOD = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
const HEALTH_METHOD = "/grpc.health.v1.Health/Check";
const SERVING = 1;

/** One unary gRPC method whose request and response are the given protobuf messages. */
const unary = (path: string, request: protobuf.Type, response: protobuf.Type): grpc.MethodDefinition<object, object> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (o: object) => Buffer.from(request.encode(request.fromObject(o)).finish()),
  requestDeserialize: (b: Buffer) => request.toObject(request.decode(b)),
  responseSerialize: (o: object) => Buffer.from(response.encode(response.fromObject(o)).finish()),
  responseDeserialize: (b: Buffer) => response.toObject(response.decode(b)),
});

const secretsService: grpc.ServiceDefinition = { GetSecret: unary(SECRET_METHOD, GetSecretRequest, GetSecretResponse) };
const authService: grpc.ServiceDefinition = { Credentials: unary(CREDENTIALS_METHOD, CredentialsRequest, CredentialsResponse) };
const healthService: grpc.ServiceDefinition = { Check: unary(HEALTH_METHOD, HealthCheckRequest, HealthCheckResponse) };

export interface BuildkitSession {
  id: string;
  close(): void;
}

/** Opens a session for one build; `close` once the build is over (or aborted). `secrets`: id -> value. */
export async function openSession(docker: Dockerode, creds: DockerCredentials, secrets: ReadonlyMap<string, Buffer> = new Map()): Promise<BuildkitSession> {
  const id = randomUUID();
  const socket = await new Promise<Socket>((resolve, reject) =>
    docker.modem.dial({
      method: "POST", path: "/session", hijack: true,
      headers: {
        Upgrade: "h2c",
        "X-Docker-Expose-Session-Uuid": id,
        "X-Docker-Expose-Session-Name": "image-builder",
        "X-Docker-Expose-Session-Sharedkey": id,
        // One header line per method served.
        "X-Docker-Expose-Session-Grpc-Method": [CREDENTIALS_METHOD, SECRET_METHOD, HEALTH_METHOD],
      },
      statusCodes: { 101: true, 200: true, 500: "server error" },
    } as unknown as Parameters<Dockerode["modem"]["dial"]>[0], (err, s) => (err ? reject(err) : resolve(s as Socket))));

  const server = new grpc.Server();
  server.addService(authService, {
    Credentials: (call: grpc.ServerUnaryCall<{ Host?: string }, object>, callback: grpc.sendUnaryData<object>) => {
      creds.forRegistry(call.request.Host ?? "").then(
        (auth) => callback(null, auth?.username ? { Username: auth.username, Secret: auth.password ?? "" }
          : auth?.identitytoken ? { Secret: auth.identitytoken } : {}),
        // No credentials: BuildKit goes on anonymously, and the registry's refusal is the build's error.
        () => callback(null, {}),
      );
    },
  });
  server.addService(secretsService, {
    GetSecret: (call: grpc.ServerUnaryCall<{ ID?: string }, object>, callback: grpc.sendUnaryData<object>) => {
      const value = secrets.get(call.request.ID ?? "");
      // NOT_FOUND is what BuildKit expects for a secret the client doesn't have (`required` fails on it).
      if (value === undefined) callback({ code: grpc.status.NOT_FOUND, details: `no secret ${call.request.ID}: pass --secret id=${call.request.ID},src=FILE` });
      else callback(null, { data: value });
    },
  });
  server.addService(healthService, {
    Check: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => callback(null, { status: SERVING }),
  });
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(socket);
  return {
    id,
    close: () => {
      server.forceShutdown();
      socket.destroy();
    },
  };
}
