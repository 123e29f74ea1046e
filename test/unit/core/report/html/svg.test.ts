import { test } from "uvu";
import * as assert from "uvu/assert";
import { anchorOf, attrs, esc, fitText, formatMs } from "../../../../../src/core/report/html/svg.js";

test("text and attributes are escaped; undefined attributes left out", () => {
  assert.is(esc(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  assert.is(attrs({ x: 1, title: `"q"`, dash: undefined }), ` x="1" title="&quot;q&quot;"`);
});

test("control and bidirectional characters are shown escaped, as the command line shows them; line ends and tabs stay", () => {
  assert.is(esc("RUN echo <!-- \u202eevil\u202c -->"), "RUN echo &lt;!-- \\u202eevil\\u202c --&gt;");
  assert.is(esc("\x1b[2J\x1b]0;title\x07 ok"), "\\x1b[2J\\x1b]0;title\\x07 ok");
  assert.is(esc("a\n\tb\r"), "a\n\tb\\r");
});

test("anchors: plain characters only, and different for ids that differ only in the others", () => {
  const ids = ["rel/a:1.0", "rel/a-1.0", "rel/a_1.0", "sci/a", "sci/a\"b", "sci/a'b"];
  const anchors = ids.map(anchorOf);
  for (const a of anchors) assert.match(a, /^b-[A-Za-z0-9_-]+$/);
  assert.is(new Set(anchors).size, ids.length);
  assert.is(anchorOf("sci/a"), anchorOf("sci/a"));
});

test("labels cut to their width with an ellipsis; durations in s, min, h", () => {
  assert.is(fitText("sci/essentials-2-4", 1000), "sci/essentials-2-4");
  assert.is(fitText("sci/essentials-2-4", 7.3 * 8), "sci/ess…");
  assert.is(fitText("sci/essentials-2-4", 5), "");
  assert.equal([formatMs(1234), formatMs(125_000), formatMs(3_725_000)], ["1.2 s", "2 min 05 s", "1 h 02 min"]);
});

test.run();
