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
  const index = new Map(nodes.map((n, i) => [n, i]));
  const children = new Map<string, string[]>();
  const pending = new Map<string, number>();
  for (const n of nodes) {
    const ps = parents(n).filter((p) => index.has(p));
    pending.set(n, ps.length);
    for (const p of ps) {
      const list = children.get(p);
      if (list) list.push(n); else children.set(p, [n]);
    }
  }
  // A binary heap keyed by input position keeps this O(n log n).
  const heap = new MinHeap((a: string, b: string) => index.get(a)! - index.get(b)!);
  for (const n of nodes) if (pending.get(n) === 0) heap.push(n);
  const order: string[] = [];
  while (heap.size > 0) {
    const n = heap.pop()!;
    order.push(n);
    for (const c of children.get(n) ?? []) {
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) heap.push(c);
    }
  }
  return order;
}

class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number { return this.items.length; }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i], a[p]) >= 0) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m]) < 0) m = l;
        if (r < a.length && this.less(a[r], a[m]) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
