// Preflight for lab scenarios: root, the Debian packages each scenario drives, and where the
// scenario assets (lab/ at the package root) live.

import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './exec.js';
import { LabError } from './errors.js';

export const PYTHON = '/usr/bin/python3';

/** lab/ next to src/ (tsx) or dist/ (built): both sit two levels below the package root. */
export const LAB_ASSETS = fileURLToPath(new URL('../../lab/', import.meta.url));

interface Need {
  what: string;
  pkg: string;
  ok: () => Promise<boolean> | boolean;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const bin = (path: string, pkg: string): Need => ({ what: path, pkg, ok: () => executable(path) });

const pyModule = (mod: string, pkg: string): Need => ({
  what: `${PYTHON} module ${mod}`,
  pkg,
  ok: async () =>
    executable(PYTHON) &&
    (await run(PYTHON, ['-c', `import ${mod}`], { allowFail: true })).code === 0,
});

/** slow-endpoint's needs with the given front proxy. */
const slowEndpoint = (proxy: Need): Need[] => [
  bin('/usr/sbin/ip', 'iproute2'),
  bin('/usr/sbin/nft', 'nftables'),
  proxy,
  bin('/usr/bin/tcpdump', 'tcpdump'),
  bin('/usr/bin/tshark', 'tshark'),
  bin('/usr/bin/gunicorn', 'gunicorn'),
  pyModule('fastapi', 'python3-fastapi'),
  pyModule('uvicorn', 'python3-uvicorn'),
];

const NEEDS: Record<string, Need[]> = {
  'slow-endpoint': slowEndpoint(bin('/usr/sbin/nginx', 'nginx')),
  'slow-endpoint:haproxy': slowEndpoint(bin('/usr/sbin/haproxy', 'haproxy')),
  'slow-endpoint:apache': slowEndpoint(bin('/usr/sbin/apache2', 'apache2')),
  'bench-traffic': [
    bin('/usr/sbin/ip', 'iproute2'),
    bin('/usr/sbin/nft', 'nftables'),
    bin('/usr/sbin/nginx', 'nginx'),
    bin('/usr/bin/tcpdump', 'tcpdump'),
    bin('/usr/bin/wrk', 'wrk'),
  ],
};

/** Throws E_LAB_ENV listing everything missing (and the apt-get line to fix it). */
export async function preflight(scenario: string): Promise<void> {
  const problems: string[] = [];
  const pkgs = new Set<string>();
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    problems.push('must run as root (network namespaces, nftables, tcpdump)');
  for (const need of NEEDS[scenario] ?? []) {
    if (!(await need.ok())) {
      problems.push(`missing ${need.what}`);
      pkgs.add(need.pkg);
    }
  }
  if (!existsSync(LAB_ASSETS)) problems.push(`scenario assets not found at ${LAB_ASSETS}`);
  if (problems.length === 0) return;
  const fix = pkgs.size ? `\n  install: apt-get install -y ${[...pkgs].join(' ')}` : '';
  throw new LabError(
    'E_LAB_ENV',
    `lab ${scenario.replace(':', ' --proxy ')} cannot run:\n  ${problems.join('\n  ')}${fix}`,
  );
}
