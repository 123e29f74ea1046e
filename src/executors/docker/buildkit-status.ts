// BuildKit's build status as the engine streams it: `{"id":"moby.buildkit.trace","aux":"<base64>"}`,
// each a protobuf `StatusResponse` of BuildKit's control API, decoded with protobufjs.
//
// The message definitions below are the ones of moby/buildkit api/services/control/control.proto
// (https://github.com/moby/buildkit, Apache License 2.0): StatusResponse, Vertex, VertexStatus,
// VertexLog, VertexWarning, with their field numbers and types, and google.protobuf.Timestamp.
// Only the fields read here are listed: protobuf skips unknown fields (Vertex.progressGroup,
// VertexWarning.info/ranges), so messages of newer engines decode as well.
import protobuf from "protobufjs";

const int64 = "int64";
const timestamp = "Timestamp";
const DESCRIPTOR = {
  nested: {
    moby: { nested: { buildkit: { nested: { v1: { nested: {
      // google.protobuf.Timestamp, the same wire format
      Timestamp: { fields: { seconds: { type: int64, id: 1 }, nanos: { type: "int32", id: 2 } } },
      StatusResponse: {
        fields: {
          vertexes: { rule: "repeated", type: "Vertex", id: 1 },
          statuses: { rule: "repeated", type: "VertexStatus", id: 2 },
          logs: { rule: "repeated", type: "VertexLog", id: 3 },
          warnings: { rule: "repeated", type: "VertexWarning", id: 4 },
        },
      },
      Vertex: {
        fields: {
          digest: { type: "string", id: 1 },
          inputs: { rule: "repeated", type: "string", id: 2 },
          name: { type: "string", id: 3 },
          cached: { type: "bool", id: 4 },
          started: { type: timestamp, id: 5 },
          completed: { type: timestamp, id: 6 },
          error: { type: "string", id: 7 },
        },
      },
      VertexStatus: {
        fields: {
          ID: { type: "string", id: 1 },
          vertex: { type: "string", id: 2 },
          name: { type: "string", id: 3 },
          current: { type: int64, id: 4 },
          total: { type: int64, id: 5 },
          timestamp: { type: timestamp, id: 6 },
          started: { type: timestamp, id: 7 },
          completed: { type: timestamp, id: 8 },
        },
      },
      VertexLog: {
        fields: {
          vertex: { type: "string", id: 1 },
          timestamp: { type: timestamp, id: 2 },
          stream: { type: int64, id: 3 },
          msg: { type: "bytes", id: 4 },
        },
      },
      VertexWarning: {
        fields: {
          vertex: { type: "string", id: 1 },
          level: { type: int64, id: 2 },
          short: { type: "bytes", id: 3 },
          detail: { rule: "repeated", type: "bytes", id: 4 },
          url: { type: "string", id: 5 },
        },
      },
    } } } } } },
  },
};

const StatusResponseType = protobuf.Root.fromJSON(DESCRIPTOR).lookupType("moby.buildkit.v1.StatusResponse");

/** Milliseconds since the epoch; undefined when the field is absent. */
export type Millis = number | undefined;

export interface Vertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started: Millis;
  completed: Millis;
  error: string;
}

export interface VertexStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  started: Millis;
  completed: Millis;
}

export interface VertexLog {
  vertex: string;
  /** 1 stdout, 2 stderr. */
  stream: number;
  msg: Buffer;
}

export interface VertexWarning {
  vertex: string;
  short: string;
  detail: string[];
  url: string;
}

export interface StatusResponse {
  vertexes: Vertex[];
  statuses: VertexStatus[];
  logs: VertexLog[];
  warnings: VertexWarning[];
}

interface RawTimestamp {
  seconds?: number;
  nanos?: number;
}

const millis = (t?: RawTimestamp | null): Millis => (t ? (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined);

/** Decodes one `moby.buildkit.trace` aux value. Throws on bytes that are not a StatusResponse. */
export function decodeStatus(base64: string): StatusResponse {
  const message = StatusResponseType.decode(Buffer.from(base64, "base64"));
  // longs as numbers (timestamps and byte counts fit), absent repeated fields as [].
  const o = StatusResponseType.toObject(message, { longs: Number, arrays: true }) as Record<string, Record<string, unknown>[]>;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const buf = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0));
  return {
    vertexes: o.vertexes.map((v) => ({
      digest: str(v.digest), inputs: (v.inputs as string[] | undefined) ?? [], name: str(v.name), cached: v.cached === true,
      started: millis(v.started as RawTimestamp), completed: millis(v.completed as RawTimestamp), error: str(v.error),
    })),
    statuses: o.statuses.map((s) => ({
      id: str(s.ID), vertex: str(s.vertex), name: str(s.name), current: num(s.current), total: num(s.total),
      started: millis(s.started as RawTimestamp), completed: millis(s.completed as RawTimestamp),
    })),
    logs: o.logs.map((l) => ({ vertex: str(l.vertex), stream: num(l.stream), msg: buf(l.msg) })),
    warnings: o.warnings.map((w) => ({
      vertex: str(w.vertex), short: buf(w.short).toString("utf8"),
      detail: ((w.detail as Uint8Array[] | undefined) ?? []).map((d) => Buffer.from(d).toString("utf8")), url: str(w.url),
    })),
  };
}

/** Encodes a StatusResponse (for tests: the engine's messages, made by hand). */
export function encodeStatus(status: Partial<StatusResponse>): string {
  const ts = (ms: Millis) => (ms === undefined ? undefined : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  const message = StatusResponseType.fromObject({
    vertexes: (status.vertexes ?? []).map((v) => ({ ...v, started: ts(v.started), completed: ts(v.completed) })),
    statuses: (status.statuses ?? []).map((s) => ({ ...s, ID: s.id, started: ts(s.started), completed: ts(s.completed) })),
    logs: status.logs ?? [],
    warnings: (status.warnings ?? []).map((w) => ({ ...w, short: Buffer.from(w.short), detail: w.detail.map((d) => Buffer.from(d)) })),
  });
  return Buffer.from(StatusResponseType.encode(message).finish()).toString("base64");
}
