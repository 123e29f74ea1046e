import { test } from "uvu";
import * as assert from "uvu/assert";
import { cancelsSoFar } from "../../../../src/executors/docker/reuse.js";

test("the push-rights checks' cancels are said as they stand when the run ends, a cancel not answered yet without waiting for it (hunter20 F4)", async () => {
  let answer!: (why: string | undefined) => void;
  const late = new Promise<string | undefined>((ok) => (answer = ok));
  const soFar = cancelsSoFar([
    { name: "r.example/t/sci/a", cancelled: Promise.resolve(undefined) },
    { name: "r.example/t/sci/b", cancelled: Promise.resolve("cancel of the upload in r.example/t/sci/b: registry r.example answered HTTP 500") },
    { name: "r.example/t/rel/a", cancelled: late },
  ]);
  await new Promise((ok) => setImmediate(ok));
  assert.equal(soFar(), [
    "cancel of the upload in r.example/t/sci/b: registry r.example answered HTTP 500",
    "cancel of the upload in r.example/t/rel/a: no answer by the end of the run (it may still go through)",
  ]);
  // Answered later: as it answered (a cancel that went through is not said).
  answer(undefined);
  await late;
  assert.equal(soFar(), ["cancel of the upload in r.example/t/sci/b: registry r.example answered HTTP 500"]);
});

test.run();
