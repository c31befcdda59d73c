// The e2e cycle after a one-line change to a workspace service, side by side
// in one run (install):
//   install: nx (api:build, the machine's install image), boot, wait for the service, one request
//   9p:      nx (api:build named by hand), boot with a 9p share of dist/apps/api, the same service and request
// each cold (booting) and warm (warmStart: a saved state restored). Every run
// edits the service's source first, so Nx rebuilds what the change reaches
// and nothing else; the machines' other steps come from the cache.
// Usage: npm run bench:install [-- runs]   (default 5 runs of each)
import { cpus } from 'node:os';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { writeApiProject } from '../packages/nx-qemu-vm/test/helpers/api-project';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 5);
process.env.VM_ACCEL ??= 'tcg';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;

const main = (n: number) => `require('node:http')
  .createServer((req, res) => res.end('version ${n}\\n'))
  .listen(3000);
`;
const service = (dir: string) => ({
  api: { command: 'exec /usr/bin/node main.js', workingDirectory: dir, ready: { port: 3000 } },
});
const viaInstall = {
  install: [{ target: 'api:build', to: '/opt/api' }],
  services: service('/opt/api'),
};
const viaShare = {
  sharedDirectories: { api: { source: 'dist/apps/api', target: '/mnt/api' } },
  services: service('/mnt/api'),
};
const MACHINES = {
  'install-cold': viaInstall,
  'share-cold': viaShare,
  'install-warm': { ...viaInstall, warmStart: true },
  'share-warm': { ...viaShare, warmStart: true },
} as const;
type Name = keyof typeof MACHINES;

async function main_() {
  const ws = createTempWorkspace({ machines: MACHINES }, 'nx-qemu-vm-bench-install-');
  let version = 0;
  const edit = () => writeApiProject(ws.root, main(++version));
  try {
    edit();
    // Everything built once; the runs below rebuild only what the edit reaches.
    const first = ws.nx([
      'run-many',
      '-t',
      'prepare',
      '--projects',
      Object.keys(MACHINES).join(','),
    ]);
    if (first.status !== 0) throw new Error(first.output);
    const times: Record<Name, number[]> = {
      'install-cold': [],
      'share-cold': [],
      'install-warm': [],
      'share-warm': [],
    };
    for (let i = 0; i < runs; i++)
      for (const name of Object.keys(MACHINES) as Name[]) {
        edit();
        const t0 = now();
        // One Nx command, as a test target's dependsOn gives: the machine's
        // prepare, which builds api first for install; with a share, api's
        // build must be named too (nothing ties the share to the project).
        const targets = name.startsWith('share') ? ['build', 'prepare'] : ['prepare'];
        const built = ws.nx(['run-many', '-t', ...targets, '--projects', `api,${name}`]);
        if (built.status !== 0) throw new Error(built.output);
        const vms = await startMachines([name], { workspaceRoot: ws.root, build: false });
        const m = vms.machines[name];
        await m.waitForService('api');
        const got = await m.succeed(
          `/usr/bin/node -e "fetch('http://127.0.0.1:3000/').then(r => r.text()).then(t => process.stdout.write(t))"`,
        );
        times[name].push((now() - t0) / 1000);
        await vms.shutdown();
        if (got.trim() !== `version ${version}`)
          throw new Error(`${name} served "${got.trim()}", not version ${version}`);
      }
    console.log(`${cpus().length} CPUs, ${cpus()[0].model}, TCG, ${runs} runs each (seconds)`);
    for (const [name, xs] of Object.entries(times))
      console.log(
        `${name.padEnd(14)} median ${median(xs).toFixed(2)}  (${xs.map((x) => x.toFixed(2)).join(' ')})`,
      );
    for (const kind of ['cold', 'warm'])
      console.log(
        `${kind}: install / 9p share = ${(median(times[`install-${kind}` as Name]) / median(times[`share-${kind}` as Name])).toFixed(2)}x`,
      );
  } finally {
    ws.remove();
  }
}

runMain(main_);
