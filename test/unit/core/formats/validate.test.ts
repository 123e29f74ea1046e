// A file checked against its schema: one line naming the file and the first wrong field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { fieldPath, validateFile } from "../../../../src/core/formats/validate.js";
import { InputError } from "../../../../src/core/model.js";

test("field paths read as in JavaScript: indexes in brackets, odd keys quoted", () => {
  assert.is(fieldPath(["builds", 3, "request", "command"]), "builds[3].request.command");
  assert.is(fieldPath(["builds", 0, "request", "labels", "org.sciserver.x.inputs"]), 'builds[0].request.labels["org.sciserver.x.inputs"]');
  assert.is(fieldPath([2, "a"]), "[2].a");
});

test("the value is returned as read, with fields the schema does not name; a wrong one names file and field", () => {
  const schema = z.object({ n: z.number().int(), items: z.array(z.object({ name: z.string().min(1), kind: z.enum(["a", "b"]) })).min(1) });
  const value = { n: 1, items: [{ name: "x", kind: "a", extra: true }], newer: "kept" };
  assert.is(validateFile(schema, value, "f.json", "a thing"), value);
  const bad = (v: unknown, message: string) =>
    assert.throws(() => validateFile(schema, v, "f.json", "a thing"), (e: Error) => e instanceof InputError && e.message === message, message);
  bad({ n: 1, items: [{ kind: "a" }] }, "f.json: items[0].name: required");
  bad({ n: 1, items: [{ name: "", kind: "a" }] }, "f.json: items[0].name: must not be empty");
  bad({ n: 1, items: [{ name: "x", kind: "c" }] }, 'f.json: items[0].kind: expected "a" or "b", got "c"');
  bad({ n: 1, items: [{ name: "x".repeat(100), kind: 7 }] }, 'f.json: items[0].kind: expected "a" or "b", got 7');
  bad({ n: 1, items: [] }, "f.json: not a thing: items: expected at least 1 entry");
  bad({ n: 1.5, items: [] }, "f.json: not a thing: n: expected a whole number, got number 1.5");
  // A long value is cut short: a Dockerfile in the wrong place does not fill the screen.
  bad({ n: "x".repeat(100), items: [] }, `f.json: not a thing: n: expected a number, got string "${"x".repeat(36)}...`);
  bad(null, "f.json: not a thing: expected an object, got null");
});

test.run();
