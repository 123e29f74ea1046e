// A BuildKit session served by this process: the engine's `POST /session` is upgraded to HTTP/2
// (h2c) and the engine calls back into gRPC services we serve on that connection (with
// @grpc/grpc-js; dockerode does the same for its own session). Served: registry credentials
// (moby.filesync.v1.Auth/Credentials), so that BuildKit can pull bases and cache sources from a
// registry that needs them, from the same docker config as everything else.
//
// Messages from moby/buildkit session/auth/auth.proto (https://github.com/moby/buildkit,
// Apache License 2.0): CredentialsRequest, CredentialsResponse.
import * as grpc from "@grpc/grpc-js";
import type Dockerode from "dockerode";
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import protobuf from "protobufjs";
import type { DockerCredentials } from "./auth.js";

const root = protobuf.Root.fromJSON({
  nested: { moby: { nested: { filesync: { nested: { v1: { nested: {
    CredentialsRequest: { fields: { Host: { type: "string", id: 1 } } },
    CredentialsResponse: { fields: { Username: { type: "string", id: 1 }, Secret: { type: "string", id: 2 } } },
  } } } } } } },
});
const CredentialsRequest = root.lookupType("moby.filesync.v1.CredentialsRequest");
const CredentialsResponse = root.lookupType("moby.filesync.v1.CredentialsResponse");

const CREDENTIALS_METHOD = "/moby.filesync.v1.Auth/Credentials";

const authService: grpc.ServiceDefinition = {
  Credentials: {
    path: CREDENTIALS_METHOD,
    requestStream: false,
    responseStream: false,
    requestDeserialize: (b: Buffer) => CredentialsRequest.toObject(CredentialsRequest.decode(b)),
    requestSerialize: (o: object) => Buffer.from(CredentialsRequest.encode(CredentialsRequest.fromObject(o)).finish()),
    responseSerialize: (o: object) => Buffer.from(CredentialsResponse.encode(CredentialsResponse.fromObject(o)).finish()),
    responseDeserialize: (b: Buffer) => CredentialsResponse.toObject(CredentialsResponse.decode(b)),
  },
};

export interface BuildkitSession {
  id: string;
  close(): void;
}

/** Opens a session for one build; `close` once the build is over (or aborted). */
export async function openSession(docker: Dockerode, creds: DockerCredentials): Promise<BuildkitSession> {
  const id = randomUUID();
  const socket = await new Promise<Socket>((resolve, reject) =>
    docker.modem.dial({
      method: "POST", path: "/session", hijack: true,
      headers: {
        Upgrade: "h2c",
        "X-Docker-Expose-Session-Uuid": id,
        "X-Docker-Expose-Session-Name": "image-builder",
        "X-Docker-Expose-Session-Sharedkey": id,
        "X-Docker-Expose-Session-Grpc-Method": CREDENTIALS_METHOD,
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
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(socket);
  return {
    id,
    close: () => {
      server.forceShutdown();
      socket.destroy();
    },
  };
}
