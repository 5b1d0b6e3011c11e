// The slow-endpoint scenario's parameters: which faults are on, the routes they map to, and the
// client's request plan drawn from a seeded PRNG (same seed → same plan).

import { LabError } from './errors.js';

export const FAULTS = ['loss', 'delay', 'inference', 'queueing', 'errors'] as const;
export type Fault = (typeof FAULTS)[number];

/** Named mixes accepted by --faults besides a comma list of FAULTS. */
export const FAULT_MIXES: Record<string, Fault[]> = {
  all: [...FAULTS],
  network: ['loss', 'delay'],
  server: ['inference', 'queueing', 'errors'],
  mixed: ['loss', 'delay', 'inference'],
};

export function parseFaults(spec: string): Fault[] {
  const mix = FAULT_MIXES[spec];
  if (mix) return mix;
  const out: Fault[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (part === 'none') continue;
    if (!(FAULTS as readonly string[]).includes(part))
      throw new LabError(
        'E_LAB_ENV',
        `unknown fault '${part}': use a comma list of ${FAULTS.join(', ')} or one of ${Object.keys(FAULT_MIXES).join(', ')}`,
      );
    if (!out.includes(part as Fault)) out.push(part as Fault);
  }
  return out;
}

/** mulberry32: a tiny, well-distributed 32-bit PRNG; enough for request plans. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RouteSpec {
  path: string;
  fault: Fault | null;
  weight: number;
  /** [probability, min, max] input-size bands. */
  sizes: [number, number, number][];
}

export function routesFor(faults: Fault[]): RouteSpec[] {
  const routes: RouteSpec[] = [{ path: '/predict', fault: null, weight: 25, sizes: [[1, 8, 8]] }];
  if (faults.includes('inference'))
    routes.push({
      path: '/big/predict',
      fault: 'inference',
      weight: 20,
      sizes: [
        [0.8, 32, 200],
        [0.2, 600, 1800],
      ],
    });
  if (faults.includes('loss'))
    routes.push({ path: '/lossy/predict', fault: 'loss', weight: 30, sizes: [[1, 8, 8]] });
  if (faults.includes('delay'))
    routes.push({ path: '/slow/predict', fault: 'delay', weight: 20, sizes: [[1, 8, 8]] });
  if (faults.includes('queueing'))
    routes.push({ path: '/batch/predict', fault: 'queueing', weight: 8, sizes: [[1, 16, 16]] });
  if (faults.includes('errors'))
    routes.push({
      path: '/gen/predict',
      fault: 'errors',
      weight: 15,
      sizes: [
        [0.9, 8, 64],
        [0.1, 1100, 1400],
      ],
    });
  return routes;
}

export interface PlannedRequest {
  i: number;
  route: string;
  n_inputs: number;
  send_rid: boolean;
  think_ms: number;
}

export interface Phase {
  kind: 'steady' | 'burst';
  conc: number;
  requests: PlannedRequest[];
}

export const STEADY_CONC = 6;
export const BURST_CONC = 8;

/**
 * Steady phases (STEADY_CONC keep-alive connections, weighted routes, 0–15 ms think time); with
 * queueing on, a sixth of the requests come as bursts of BURST_CONC simultaneous requests to
 * /batch/predict, whose server has one busy worker, between the steady phases.
 */
export function makePlan(faults: Fault[], nRequests: number, seed: number): Phase[] {
  const rand = prng(seed);
  const routes = routesFor(faults);
  const total = routes.reduce((s, r) => s + r.weight, 0);
  let i = 0;
  const draw = (route: RouteSpec, burst: boolean): PlannedRequest => {
    let p = rand();
    let band = route.sizes[route.sizes.length - 1]!;
    for (const b of route.sizes) {
      if (p < b[0]) {
        band = b;
        break;
      }
      p -= b[0];
    }
    const n = band[1] + Math.floor(rand() * (band[2] - band[1] + 1));
    return {
      i: i++,
      route: route.path,
      n_inputs: n,
      send_rid: rand() < 0.5,
      think_ms: burst ? 0 : Math.round(rand() * 15),
    };
  };
  const pick = (): RouteSpec => {
    let x = rand() * total;
    for (const r of routes) {
      if (x < r.weight) return r;
      x -= r.weight;
    }
    return routes[routes.length - 1]!;
  };
  const batch = routes.find((r) => r.path === '/batch/predict');
  const nBurst = batch ? Math.floor(nRequests / 6 / BURST_CONC) : 0;
  const nSteady = nRequests - nBurst * BURST_CONC;
  const steadyChunks = nBurst + 1;
  const phases: Phase[] = [];
  for (let c = 0; c < steadyChunks; c++) {
    const size = Math.floor(nSteady / steadyChunks) + (c < nSteady % steadyChunks ? 1 : 0);
    const requests: PlannedRequest[] = [];
    for (let k = 0; k < size; k++) requests.push(draw(pick(), false));
    if (requests.length) phases.push({ kind: 'steady', conc: STEADY_CONC, requests });
    if (batch && c < nBurst) {
      const burst: PlannedRequest[] = [];
      for (let k = 0; k < BURST_CONC; k++) burst.push(draw(batch, true));
      phases.push({ kind: 'burst', conc: BURST_CONC, requests: burst });
    }
  }
  return phases;
}
