// Batch assignment of leads to reps as a min-cost flow: source -> lead (1 unit) -> rep (cost of that pairing)
// -> sink (the rep's slots). Leaving a lead unplaced costs 0, so a lead is placed whenever that lowers the total.
// Successive shortest paths with Johnson potentials: each augmentation is the cheapest way to place one more
// lead (possibly moving others), and the path costs never decrease, so stopping at the first path that would
// not lower the total gives an assignment of least total cost. Exact, not first-come-first-served. Pure.

export interface AssignmentProblem {
  /** costs[lead][rep]: the cost of that pairing; null when the rep may not take the lead. Costs may be negative. */
  costs: (number | null)[][];
  /** Slots per rep (capacity left, fairness cap). */
  capacities: number[];
}

export interface AssignmentResult {
  /** The rep index for each lead, or null when it could not be placed. */
  assignment: (number | null)[];
  totalCost: number;
  assigned: number;
}

interface Edge {
  to: number;
  cap: number;
  cost: number;
  /** Index of the reverse edge in graph[to]. */
  rev: number;
}

const EPS = 1e-9;

export function solveAssignment(problem: AssignmentProblem): AssignmentResult {
  const leads = problem.costs.length;
  const reps = problem.capacities.length;
  let minCost = 0;
  for (const row of problem.costs) for (const c of row) if (c !== null && c < minCost) minCost = c;
  // Every placed lead uses exactly one lead->rep edge, so shifting all of them by one constant keeps the optimum
  // (for a given number placed) and makes every cost non-negative for Dijkstra.
  const shift = -minCost;

  const source = leads + reps;
  const sink = source + 1;
  const graph: Edge[][] = Array.from({ length: sink + 1 }, () => []);
  const addEdge = (from: number, to: number, cap: number, cost: number) => {
    graph[from]!.push({ to, cap, cost, rev: graph[to]!.length });
    graph[to]!.push({ to: from, cap: 0, cost: -cost, rev: graph[from]!.length - 1 });
  };
  for (let i = 0; i < leads; i++) addEdge(source, i, 1, 0);
  for (let i = 0; i < leads; i++) {
    const row = problem.costs[i]!;
    for (let j = 0; j < reps; j++) {
      const c = row[j];
      if (c !== null && c !== undefined && Number.isFinite(c) && problem.capacities[j]! > 0) {
        addEdge(i, leads + j, 1, c + shift);
      }
    }
  }
  for (let j = 0; j < reps; j++) {
    if (problem.capacities[j]! > 0) addEdge(leads + j, sink, Math.floor(problem.capacities[j]!), 0);
  }

  const n = sink + 1;
  const potential = new Array<number>(n).fill(0);
  const dist = new Array<number>(n);
  const prevNode = new Array<number>(n);
  const prevEdge = new Array<number>(n);
  for (;;) {
    dist.fill(Infinity);
    dist[source] = 0;
    const heap = new MinHeap();
    heap.push(0, source);
    while (heap.size > 0) {
      const [d, u] = heap.pop();
      if (d > dist[u]! + EPS) continue;
      const edges = graph[u]!;
      for (let k = 0; k < edges.length; k++) {
        const e = edges[k]!;
        if (e.cap <= 0) continue;
        // Reduced costs are non-negative up to rounding; clamp so rounding never creates a negative edge.
        const nd = d + Math.max(0, e.cost + potential[u]! - potential[e.to]!);
        if (nd + EPS < dist[e.to]!) {
          dist[e.to] = nd;
          prevNode[e.to] = u;
          prevEdge[e.to] = k;
          heap.push(nd, e.to);
        }
      }
    }
    if (dist[sink] === Infinity) break;
    // The path's cost in the original (unshifted) costs: one more placed lead must lower the total.
    const pathCost = dist[sink]! + potential[sink]! - potential[source]! - shift;
    if (pathCost >= -EPS) break;
    for (let v = 0; v < n; v++) if (dist[v] !== Infinity) potential[v]! += dist[v]!;
    // Each augmenting path carries one lead.
    for (let v = sink; v !== source; v = prevNode[v]!) {
      const e = graph[prevNode[v]!]![prevEdge[v]!]!;
      e.cap -= 1;
      graph[v]![e.rev]!.cap += 1;
    }
  }

  const assignment: (number | null)[] = new Array(leads).fill(null);
  for (let i = 0; i < leads; i++) {
    for (const e of graph[i]!) {
      if (e.to >= leads && e.to < leads + reps && e.cap === 0 && graph[e.to]![e.rev]!.cap === 1) {
        assignment[i] = e.to - leads;
      }
    }
  }
  return summarize(problem, assignment);
}

/**
 * First come, first served: each lead in order takes the cheapest rep with a slot left (when that lowers the
 * total, as in the optimum). The baseline the optimum is compared with.
 */
export function greedyAssignment(problem: AssignmentProblem): AssignmentResult {
  const left = problem.capacities.map((c) => Math.max(0, Math.floor(c)));
  const assignment = problem.costs.map((row) => {
    let best: number | null = null;
    for (let j = 0; j < row.length; j++) {
      const c = row[j];
      if (c === null || c === undefined || !Number.isFinite(c) || c >= 0 || left[j]! <= 0) continue;
      if (best === null || c < row[best]!) best = j;
    }
    if (best !== null) left[best]!--;
    return best;
  });
  return summarize(problem, assignment);
}

export function summarize(problem: AssignmentProblem, assignment: (number | null)[]): AssignmentResult {
  let totalCost = 0;
  let assigned = 0;
  assignment.forEach((j, i) => {
    if (j === null) return;
    totalCost += problem.costs[i]![j]!;
    assigned++;
  });
  return { assignment, totalCost, assigned };
}

/** A binary heap of (key, value) pairs, smallest key first. */
class MinHeap {
  #keys: number[] = [];
  #values: number[] = [];

  get size(): number {
    return this.#keys.length;
  }

  push(key: number, value: number): void {
    const keys = this.#keys;
    const values = this.#values;
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      values[i] = values[parent]!;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  pop(): [number, number] {
    const keys = this.#keys;
    const values = this.#values;
    const top: [number, number] = [keys[0]!, values[0]!];
    const lastKey = keys.pop()!;
    const lastValue = values.pop()!;
    if (keys.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= keys.length) break;
        const right = left + 1;
        const child = right < keys.length && keys[right]! < keys[left]! ? right : left;
        if (keys[child]! >= lastKey) break;
        keys[i] = keys[child]!;
        values[i] = values[child]!;
        i = child;
      }
      keys[i] = lastKey;
      values[i] = lastValue;
    }
    return top;
  }
}
