import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  isImageFault,
  backoffMs, credentialsRefusedFor, isDroppedConnection, isIdempotent, isRetryableStatus, isTransient, nextLinkPath, Pagination,
} from "../../../../src/core/registry/transport-rules.js";

test("dropped connections, as Node, undici and the engine (Go) say them", () => {
  for (const e of [
    { code: "ECONNRESET" },
    { message: "fetch failed", cause: { code: "UND_ERR_SOCKET", message: "other side closed" } },
    { message: "terminated", cause: { message: "other side closed", code: "UND_ERR_SOCKET" } },
    { message: "socket hang up", code: "ECONNRESET" },
    { code: "EPIPE" },
    'Put "http://127.0.0.1:5000/v2/x/manifests/1.0": EOF',
    "unexpected EOF",
    "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer",
  ]) assert.ok(isDroppedConnection(e), JSON.stringify(e));
  for (const e of [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, "manifest unknown", "EOFFSET is not a word", { message: "fetch failed", cause: { code: "ENOTFOUND" } }]) {
    assert.not.ok(isDroppedConnection(e), JSON.stringify(e));
  }
});

test("an engine push failing with a plain EOF (the manifest PUT) is transient; auth failures never are", () => {
  assert.ok(isTransient('Put "http://127.0.0.1:5000/v2/t/sci/a/manifests/1.0-7-abc1234": EOF'));
  assert.ok(isTransient("received unexpected HTTP status: 502 Bad Gateway"));
  assert.not.ok(isTransient("unauthorized: authentication required: EOF"));
});

test("which requests are sent again: reads and PUTs (a manifest PUT stores the same again), never POST or PATCH; busy statuses", () => {
  assert.equal((["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH"] as const).map(isIdempotent), [true, true, true, true, false, false]);
  assert.equal([429, 500, 502, 503, 504, 400, 401, 404, 501].map(isRetryableStatus), [true, true, true, true, true, false, false, false, false]);
});

test("backoff doubles and is bounded", () => {
  assert.equal([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, 250)), [250, 500, 1000, 2000, 2000, 2000]);
});

test("credentials go to a token realm over https, or to a loopback realm of a loopback registry; nowhere else", () => {
  const realm = (u: string) => new URL(u);
  assert.is(credentialsRefusedFor(realm("https://auth.example.org/token"), false), undefined);
  assert.is(credentialsRefusedFor(realm("https://auth.example.org/token"), true), undefined);
  assert.is(credentialsRefusedFor(realm("http://127.0.0.1:5001/token"), true), undefined);
  assert.is(credentialsRefusedFor(realm("http://[::1]:5001/token"), true), undefined);
  assert.is(credentialsRefusedFor(realm("http://localhost/token"), true), undefined);
  assert.is(credentialsRefusedFor(realm("http://auth.example.org/token"), false), "the token realm http://auth.example.org is not https");
  assert.is(credentialsRefusedFor(realm("http://auth.example.org/token"), true), "the token realm http://auth.example.org is not https");
  // a loopback realm named by a registry elsewhere: whoever runs there is not that registry's
  assert.is(credentialsRefusedFor(realm("http://127.0.0.1/token"), false), "the token realm http://127.0.0.1 is not https");
  assert.ok(credentialsRefusedFor(realm("ftp://auth.example.org/token"), false));
});

test("pagination: the next link's path on the same registry; a page already read or too many pages stop it", () => {
  assert.is(nextLinkPath('</v2/x/tags/list?n=2&last=b>; rel="next"'), "/v2/x/tags/list?n=2&last=b");
  assert.is(nextLinkPath("<https://elsewhere.example/v2/_catalog?last=z>; rel=next"), "/v2/_catalog?last=z");
  assert.is(nextLinkPath(null), undefined);
  assert.is(nextLinkPath('</v2/x>; rel="prev"'), undefined);
  const pages = new Pagination("tags of r/x");
  assert.is(pages.visit("/v2/x/tags/list?n=1000"), undefined);
  assert.is(pages.visit("/v2/x/tags/list?n=1000&last=a"), undefined);
  assert.match(pages.visit("/v2/x/tags/list?n=1000")!, /^tags of r\/x: the registry's next page .* points back at \/v2\/x\/tags\/list\?n=1000, already read: a pagination loop$/);
  const short = new Pagination("catalog of r", 2);
  short.visit("/a");
  short.visit("/b");
  assert.match(short.visit("/c")!, /more than 2 pages/);
});

test("a failure reading one image is the image's own (a 404 of what it names, broken content) or the registry's (down, refusing, busy, slow)", () => {
  assert.ok(isImageFault({ status: 404 }));
  assert.ok(isImageFault({ content: true }));
  for (const e of [{ status: 401 }, { status: 403 }, { status: 503 }, { status: 429 }, {}, new Error("registry r cannot be reached"), undefined, "404"]) assert.not.ok(isImageFault(e), JSON.stringify(e));
});

test.run();
