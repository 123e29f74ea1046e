import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseDockerfile } from "../../../../src/core/parse/dockerfile/index.js";
import { labelsInDockerfile } from "../../../../src/executors/docker/labels.js";

const L = { "org.sciserver.science.a.version": "1.0-7-abc1234", "org.sciserver.science.a.buildtime": "1700000000" };

test("labels become one LABEL instruction at the end, sorted, quoted; none are left for the API", () => {
  const r = labelsInDockerfile("FROM busybox:stable\nRUN true\n", L);
  assert.is(r.dockerfile,
    'FROM busybox:stable\nRUN true\nLABEL "org.sciserver.science.a.buildtime"="1700000000" "org.sciserver.science.a.version"="1.0-7-abc1234"\n');
  assert.equal(r.labels, {});
});

test("no labels: the Dockerfile is unchanged", () => {
  assert.equal(labelsInDockerfile("FROM x\n", {}), { dockerfile: "FROM x\n", labels: {} });
});

test("quotes, $ and the escape character are escaped, so values are taken literally", () => {
  const r = labelsInDockerfile("FROM x\n", { k: 'a "b" $HOME ${X} c\\d `e`' });
  assert.is(r.dockerfile, 'FROM x\nLABEL "k"="a \\"b\\" \\$HOME \\${X} c\\\\d `e`"\n');
  const bt = labelsInDockerfile("# escape=`\nFROM x\n", { k: 'a "b" $HOME c\\d `e`' });
  assert.is(bt.dockerfile, '# escape=`\nFROM x\nLABEL "k"="a `"b`" `$HOME c\\d ``e``"\n');
});

test("a missing final newline is added; CRLF files get CRLF", () => {
  assert.is(labelsInDockerfile("FROM x", { k: "v" }).dockerfile, 'FROM x\nLABEL "k"="v"\n');
  assert.is(labelsInDockerfile("FROM x\r\nRUN true\r\n", { k: "v" }).dockerfile, 'FROM x\r\nRUN true\r\nLABEL "k"="v"\r\n');
  // A lone CR ends no line: the parser drops it from the end of the line.
  assert.is(labelsInDockerfile("FROM x\nRUN true\r", { k: "v" }).dockerfile, 'FROM x\nRUN true\r\nLABEL "k"="v"\n');
});

test("a last instruction that continues past the end, or a label that can't be one line: the API's labels", () => {
  for (const df of ["FROM x\nRUN true \\\n", "FROM x\nRUN true \\  \n\n# c\n\n", "FROM x\nRUN true \\\\\n", "# escape=`\nFROM x\nRUN true `\n",
    "FROM x\r\nRUN true \\\r\n  # c\r\n", "FROM x\nRUN <<EOF\necho hi\n", "FROM x\nCOPY <<a <<b /x/\n1\na\n2 \n", "# escape=x\nFROM x\n"]) {
    assert.equal(labelsInDockerfile(df, L), { dockerfile: df, labels: L }, JSON.stringify(df));
  }
  for (const labels of [{ k: "a\nb" }, { "a\nb": "v" }, { "a=b": "v" }, { "": "v" }] as Record<string, string>[]) {
    assert.equal(labelsInDockerfile("FROM x\n", labels), { dockerfile: "FROM x\n", labels }, JSON.stringify(labels));
  }
});

test("a backslash at the end under `# escape=` is no continuation; comments at the end don't matter", () => {
  assert.is(labelsInDockerfile("# escape=`\nFROM x\nRUN dir c:\\\n", { k: "v" }).labels.k, undefined);
  assert.is(labelsInDockerfile("FROM x\nRUN true\n# the end \\\n", { k: "v" }).labels.k, undefined);
});

test("the result still parses, with the same base images", () => {
  const df = "# escape=`\nARG B=busybox:stable\nFROM $B AS build\nRUN true\nFROM sci/base:1.0\nCOPY --from=build /a /a\n";
  const r = labelsInDockerfile(df, { k: 'v "$B"', "k 2": "w" });
  assert.equal(parseDockerfile(r.dockerfile).imageRefs, parseDockerfile(df).imageRefs);
  assert.equal(parseDockerfile(r.dockerfile).stages, parseDockerfile(df).stages);
});

test.run();
