// --secret as docker build spells it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSecretFlag } from "../../../../src/core/parse/secret-flag.js";
import { InputError } from "../../../../src/core/model.js";

test("--secret id=ID,src=FILE or env=VAR, as docker build spells it", () => {
  assert.equal(parseSecretFlag("id=tok,src=/run/tok.txt"), { id: "tok", file: "/run/tok.txt" });
  assert.equal(parseSecretFlag("id=tok,source=f,type=file"), { id: "tok", file: "f" });
  assert.equal(parseSecretFlag("id=TOKEN,env=MY_TOKEN"), { id: "TOKEN", env: "MY_TOKEN" });
  assert.equal(parseSecretFlag("id=tok"), { id: "tok", file: "tok" });
  for (const bad of ["src=f", "id=t,src=f,env=E", "id=t,type=ssh"]) {
    assert.throws(() => parseSecretFlag(bad), (e: Error) => e instanceof InputError && e.message.startsWith(`--secret ${bad}`));
  }
});

test("a --secret that is no known field=value is not echoed: it may be the secret itself (build-push-action's id=value, or the value alone)", () => {
  for (const [bad, shown] of [["ghp_SUPERSECRETvalue123", "***"], ["id=tok,value=ghp_SUPERSECRETvalue123", "id=tok,value=***"], ["id=t,ghp_SECRET", "id=t,***"], ["id=t,colour=red", "id=t,colour=***"],
    // base64, padded: it splits at its `=` like a field
    ["c2VjcmV0dG9rZW4=", "***"], ["id=t,c2VjcmV0dG9rZW4=", "id=t,***"]]) {
    const e = (() => { try { parseSecretFlag(bad); } catch (err) { return err as Error; } })();
    assert.instance(e, InputError);
    assert.ok(e!.message.startsWith(`--secret ${shown}: `), e!.message);
    assert.not.match(e!.message, /SECRET|red|c2vjcmv0|c2VjcmV0/);
  }
});

test.run();
