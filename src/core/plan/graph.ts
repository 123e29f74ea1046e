// Small graph helpers shared by the rules: cycle finding and a stable topological order.

/**
 * Returns one cycle as a list of nodes (first node repeated at the end), or undefined.
 * Iterative DFS so deep chains (thousands of layers) cannot overflow the stack.
 */
export function findCycle(nodes: string[], edges: (n: string) => readonly string[]): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of nodes) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: { node: string; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, 1);
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = edges(top.node);
      if (top.next < out.length) {
        const n = out[top.next++];
        const s = state.get(n);
        if (s === 1) return [...path.slice(path.indexOf(n)), n];
        if (s === undefined) {
          state.set(n, 1);
          path.push(n);
          stack.push({ node: n, next: 0 });
        }
      } else {
        state.set(top.node, 2);
        path.pop();
        stack.pop();
      }
    }
  }
  return undefined;
}

/**
 * Kahn's algorithm: parents before children, ties broken by the input order of `nodes`, so
 * the same repository always gives the same order. Assumes no cycles (checked before).
 */
export function topologicalOrder(nodes: string[], parents: (n: string) => readonly string[]): string[] {
  const index = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) index.set(nodes[i], i);
  const children: number[][] = nodes.map(() => []);
  const pending = nodes.map(() => 0);
  for (let i = 0; i < nodes.length; i++) {
    for (const p of parents(nodes[i])) {
      const pi = index.get(p);
      if (pi === undefined) continue;
      pending[i]++;
      children[pi].push(i);
    }
  }
  // The nodes whose parents are all placed, by input position, highest first: the next one is the
  // last element. A sorted array is enough for the 10,000 layers planned for: a binary heap was no
  // faster there, only on a 50,000-node star, where the array's shifting grows quadratic (BENCH.md).
  const ready: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) if (pending[i] === 0) ready.push(i);
  const order: string[] = [];
  while (ready.length > 0) {
    const i = ready.pop()!;
    order.push(nodes[i]);
    for (const c of children[i]) {
      if (--pending[c] > 0) continue;
      let lo = 0, hi = ready.length; // binary search for c's place in the descending array
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ready[mid] > c) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, c);
    }
  }
  return order;
}

/**
 * topologicalOrder where the edges are the union of several graphs each checked for cycles (a
 * layer's parents on every platform it is built for), whose union could still loop: the nodes of
 * such a loop, which Kahn's algorithm never reaches, follow in input order rather than vanish.
 */
export function parentsFirst(nodes: string[], parents: (n: string) => readonly string[]): string[] {
  const order = topologicalOrder(nodes, parents);
  if (order.length === nodes.length) return order;
  const placed = new Set(order);
  return [...order, ...nodes.filter((n) => !placed.has(n))];
}
