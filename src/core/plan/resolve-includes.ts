// Rule 8 and the compat half of rule 4: a compat layer's includes, resolved depth first
// (includes of includes first, each once), the layer itself last.
import { findCycle } from "./graph.js";
import { InputError, type CompatLayer } from "../model.js";

/** Keyed by compat name: every compat layer it is made of, in overlay order, itself last. */
export function resolveIncludes(compat: CompatLayer[]): Map<string, string[]> {
  const byName = new Map(compat.map((c) => [c.dir, c]));
  for (const c of compat) {
    for (const inc of c.includes) {
      if (!byName.has(inc)) {
        throw new InputError(`unknown include "${inc}" (no compat/${inc}/sciserver-image.json)`, `${c.path}/sciserver-image.json`);
      }
    }
  }
  const cycle = findCycle(compat.map((c) => c.dir), (n) => byName.get(n)!.includes);
  if (cycle) {
    throw new InputError(`include cycle: ${cycle.join(" -> ")}`, `compat/${cycle[0]}/sciserver-image.json`);
  }
  const resolved = new Map<string, string[]>();
  const resolve = (name: string): string[] => {
    const known = resolved.get(name);
    if (known) return known;
    const order: string[] = [];
    const seen = new Set<string>();
    for (const inc of byName.get(name)!.includes) {
      for (const n of resolve(inc)) if (!seen.has(n)) { seen.add(n); order.push(n); }
    }
    if (!seen.has(name)) order.push(name);
    resolved.set(name, order);
    return order;
  };
  for (const c of compat) resolve(c.dir);
  return resolved;
}
