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
  // Nodes are handled by their position in `nodes`: the heap compares numbers, not map lookups.
  const index = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) index.set(nodes[i], i);
  const children: number[][] = nodes.map(() => []);
  const pending = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    for (const p of parents(nodes[i])) {
      const pi = index.get(p);
      if (pi === undefined) continue;
      pending[i]++;
      children[pi].push(i);
    }
  }
  // A binary heap keyed by input position keeps this O(n log n).
  const heap = new MinHeap<number>((a, b) => a - b);
  for (let i = 0; i < nodes.length; i++) if (pending[i] === 0) heap.push(i);
  const order: string[] = [];
  while (heap.size > 0) {
    const i = heap.pop()!;
    order.push(nodes[i]);
    for (const c of children[i]) if (--pending[c] === 0) heap.push(c);
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
