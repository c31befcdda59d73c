// How a workspace's own service reaches a ready state, by the time a test
// waits after a one-line change to it (the edit-test cycle), side by side in
// one run. The service is a project `api` (a Python HTTP server) installed
// into a Debian machine with systemd (`install`) and run as a declared
// service; each round changes one line of its source, then times
// startMachines (with its build: Nx runs api:build and install) until the
// new line is served:
//   cold:  warmStart false: a cold boot, the service started by it
//   ready: warmStart "ready": the state restored, then this run's images
//          mounted and the service restarted on them
// and the ready machine once more with the source as it was when the state
// was saved (Nx finds everything cached, and the images are the state's own:
// nothing to swap).
// Usage: npm run bench:ready-install [-- rounds]   (default 3)
import { cpus } from 'node:os';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { writeApiMain, writeApiProject } from '../packages/nx-qemu-vm/test/helpers/api-project';
import { runMain } from './run-main';

const rounds = Number(process.argv[2] ?? 3);
process.env.VM_ACCEL ??= 'tcg';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const FETCH = 'curl -sf --max-time 10 http://127.0.0.1:8000/';
type Name = 'cold' | 'ready';

const machine = {
  init: 'systemd',
  graphics: false,
  memorySize: 512,
  system: { from: 'debian', packages: ['systemd', 'python3', 'curl'] },
  install: [{ target: 'api:build', to: '/opt/api' }],
  services: {
    api: { command: 'exec python3 /opt/api/server.py', ready: { port: 8000 } },
  },
};

/** The service's source: one line, its version, changes each round. */
const server = (version: number) =>
  [
    'import http.server',
    'class Handler(http.server.BaseHTTPRequestHandler):',
    '    def do_GET(self):',
    `        body = b"version ${version}\\n"`,
    '        self.send_response(200)',
    '        self.end_headers()',
    '        self.wfile.write(body)',
    'http.server.HTTPServer(("", 8000), Handler).serve_forever()',
    '',
  ].join('\n');

/** startMachines with its build, until the machine serves `version`. */
async function untilServed(root: string, name: Name, version: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const vms = await startMachines([name], { workspaceRoot: root });
  const m = vms.machines[name];
  await m.waitForOpenPort(8000);
  const said = await m.succeed(FETCH);
  const took = seconds(t0);
  await vms.shutdown();
  if (said !== `version ${version}\n`) throw new Error(`${name} served ${JSON.stringify(said)}`);
  return took;
}

async function main() {
  const ws = createTempWorkspace(
    { machines: { cold: machine, ready: { ...machine, warmStart: 'ready' } } },
    'nx-qemu-vm-bench-install-',
  );
  try {
    writeApiProject(ws.root, server(0), 'server.py');
    console.log(`building the image, both machines and the ready state (once): ${ws.root}`);
    await (
      await startMachines(['cold', 'ready'], { workspaceRoot: ws.root, start: false })
    ).shutdown();
    const after = { cold: [] as number[], ready: [] as number[] };
    const unchanged: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      writeApiMain(ws.root, server(i), 'server.py');
      // api:build and install run in the first contender's start; alternate who pays for them.
      const order: Name[] = i % 2 ? ['cold', 'ready'] : ['ready', 'cold'];
      for (const name of order) after[name].push(await untilServed(ws.root, name, i));
      writeApiMain(ws.root, server(0), 'server.py');
      unchanged.push(await untilServed(ws.root, 'ready', 0));
      console.log(
        `round ${i}: after the change cold ${after.cold.at(-1)!.toFixed(2)} s, ready ${after.ready.at(-1)!.toFixed(2)} s; the state's own images ${unchanged.at(-1)!.toFixed(2)} s`,
      );
    }
    const c = median(after.cold);
    console.log(
      `\n${cpus().length} cores, ${process.env.VM_ACCEL}, ${rounds} rounds (each with its own one-line change)`,
    );
    console.log(
      `after a change, cold (warmStart false)        median ${c.toFixed(2)} s   [${fmt(after.cold)}]`,
    );
    const r = median(after.ready);
    console.log(
      `after a change, ready (images swapped in)     median ${r.toFixed(2)} s   [${fmt(after.ready)}]   ${(r / c).toFixed(2)}x cold`,
    );
    const u = median(unchanged);
    console.log(
      `ready, the state's own images (all cached)    median ${u.toFixed(2)} s   [${fmt(unchanged)}]   ${(u / c).toFixed(2)}x cold`,
    );
  } finally {
    if (process.env.BENCH_KEEP === '1') console.log(`kept ${ws.root}`);
    else ws.remove();
  }
}

runMain(main);
