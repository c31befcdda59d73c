// The workspace's own software in machines, booted for real (TCG): a Node.js
// service `api`, built by Nx, installed into a machine on the host's /usr as
// a read-only image, declared as a service and reached by name from another
// machine; declared files, in place with their mode and owner before the
// services and postBootCommands start; the graph edges and cache keys that
// carry a change to `api` or to a file's source; and a service that dies at
// start, which fails the boot at once with its log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { startMachines, type MachineSet } from '../../src/test-driver';
import { createTempWorkspace } from '../helpers/temp-workspace';
import { writeApiMain, writeApiProject } from '../helpers/api-project';

process.env.VM_ACCEL = 'tcg';

const API_MAIN = `const http = require('node:http');
const os = require('node:os');
const greeting = 'hello from api, version 1';
http
  .createServer((req, res) => res.end(\`\${greeting} on \${os.hostname()} (PORT=\${process.env.PORT})\\n\`))
  .listen(Number(process.env.PORT), () => console.log('api listening'));
`;

const machines = {
  server: {
    vlans: [1],
    // A new build of api must not make the saved state stale: the files are mounted after the restore.
    warmStart: true,
    install: [{ target: 'api:build', to: '/opt/api' }],
    files: {
      '/etc/api/greeting.txt': { text: "it's declared\n", mode: '0640', user: 'nobody' },
      '/etc/api/config.json': { source: 'apps/api/config.json' },
    },
    // Each reads the files, and fails the boot if they are not there yet.
    postBootCommands: 'cat /etc/api/greeting.txt /etc/api/config.json > /run/read-by-post-boot',
    services: {
      reader: {
        command:
          'cat /etc/api/greeting.txt /etc/api/config.json > /run/read-by-service && exec sleep 1000000',
        ready: { file: '/run/read-by-service' },
      },
      api: {
        command: 'exec /usr/bin/node main.js',
        environment: { PORT: '3000' },
        workingDirectory: '/opt/api',
        user: 'nobody',
        ready: { port: 3000 },
      },
    },
  },
  client: { vlans: [1] },
  crashing: {
    services: {
      early: { command: "echo 'the config is missing' >&2; exit 3", ready: { port: 1 } },
    },
  },
};

const ws = createTempWorkspace({ machines }, 'nxvm-software-');

const writeApi = (main: string) => writeApiMain(ws.root, main);

describe('workspace software in machines', { timeout: 1_200_000 }, () => {
  let vms: MachineSet<'server' | 'client'> | MachineSet<'server'>;

  before(() => {
    writeApiProject(ws.root, API_MAIN);
    writeFileSync(join(ws.root, 'apps/api/config.json'), '{"port":3000}\n');
  });
  after(async () => {
    await vms?.shutdown();
    ws.remove();
  });

  it('puts an edge from the machine to the project it installs into the graph', () => {
    const res = ws.nx(['graph', '--file=graph.json']);
    assert.equal(res.status, 0, res.output);
    const graph = JSON.parse(readFileSync(join(ws.root, 'graph.json'), 'utf8')).graph;
    assert.deepEqual(
      graph.dependencies.server.map((d: { target: string }) => d.target),
      ['api'],
    );
    assert.deepEqual(graph.dependencies.client, []);
  });

  it('builds api first, then serves it in one machine and reaches it by name from another', async () => {
    const both = await startMachines(['server', 'client'], { workspaceRoot: ws.root });
    vms = both;
    const { server, client } = both.machines;
    await server.waitForService('api');
    assert.equal(server.address(), '192.168.1.1');
    assert.equal(client.address(1), '192.168.1.2');
    // The files are read-only and owned by root, whoever built them.
    assert.equal((await server.succeed('stat -c %U:%a /opt/api/main.js')).trim(), 'root:644');
    await server.fail('touch /opt/api/new-file');
    assert.match(
      await client.succeed(
        `/usr/bin/node -e "fetch('http://server:3000/').then(r => r.text()).then(t => process.stdout.write(t))"`,
      ),
      /^hello from api, version 1 on server \(PORT=3000\)$/m,
    );
    // Guest basics: /var, os-release, both machines named once in /etc/hosts.
    await server.succeed('test -d /var/log && test -d /var/tmp && touch /var/log/x');
    assert.match(await server.succeed('. /etc/os-release && echo $ID'), /^debian$/m);
    assert.match(await server.succeed('cat /var/log/api.log'), /api listening/);
    // As its account: the supervisor switched users (util-linux's setpriv, not busybox's).
    assert.equal((await server.succeed('ps -o user= -C node')).trim(), 'nobody');
    // With the account's own home, not root's.
    assert.match(
      await server.succeed("tr '\\0' '\\n' < /proc/$(pgrep -x node)/environ"),
      /^HOME=\/nonexistent$/m,
    );
    // The declared files, with their modes and owners, read at start by the service and postBootCommands.
    assert.equal(
      await server.succeed(
        'stat -c "%U:%G %a" /etc/api/greeting.txt /etc/api/config.json; cat /run/read-by-service; cmp /run/read-by-service /run/read-by-post-boot',
      ),
      'nobody:nogroup 640\nroot:root 644\n' + "it's declared\n" + '{"port":3000}\n',
    );
    const hosts = await client.succeed('cat /etc/hosts');
    assert.match(hosts, /^192\.168\.1\.1 server$/m);
    assert.match(hosts, /^192\.168\.1\.2 client$/m);
    await vms.shutdown();
  });

  it('reruns exactly the steps that carry a change to api', () => {
    writeApi(API_MAIN.replace('version 1', 'version 2'));
    const res = ws.nx(['run', 'server:prepare', '--output-style=static']);
    assert.equal(res.status, 0, res.output);
    const output = stripVTControlCharacters(res.output);
    const line = (task: string) =>
      output.split('\n').find((l) => l.startsWith(`> nx run ${task}`)) ?? `(${task} did not run)`;
    for (const task of ['api:build', 'server:install'])
      assert.match(line(task), new RegExp(`^> nx run ${task}\\s*$`), output);
    for (const task of ['server:config', 'server:initrd', 'server:build', 'server:test-warm'])
      assert.match(line(task), /\[(local cache|existing outputs match the cache)\]/, output);
  });

  it('packs the same files into the same bytes, whatever their times', () => {
    const image = join(ws.root, 'dist/vm/server/install/0.erofs');
    const sha = () => createHash('sha256').update(readFileSync(image)).digest('hex');
    const before = sha();
    utimesSync(join(ws.root, 'dist/apps/api/main.js'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    const res = ws.nx(['run', 'server:install', '--skip-nx-cache', '--exclude-task-dependencies']);
    assert.equal(res.status, 0, res.output);
    assert.equal(sha(), before);
  });

  it('serves the new build from the saved warm state', async () => {
    vms = await startMachines(['server'], { workspaceRoot: ws.root, build: false });
    const { server } = vms.machines;
    await server.waitForService('api');
    assert.match(await server.succeed('cat /proc/cmdline'), /nxvm\.warm/);
    assert.match(
      await server.succeed(
        `/usr/bin/node -e "fetch('http://127.0.0.1:3000/').then(r => r.text()).then(t => process.stdout.write(t))"`,
      ),
      /version 2/,
    );
    await vms.shutdown();
  });

  it("rebuilds the initrd, with the new bytes, when a file's source changes", () => {
    writeFileSync(join(ws.root, 'apps/api/config.json'), '{"port":3001}\n');
    const res = ws.nx(['run', 'server:initrd', '--output-style=static']);
    assert.equal(res.status, 0, res.output);
    const output = stripVTControlCharacters(res.output);
    assert.match(output, /^> nx run server:initrd\s*$/m, output);
    assert.match(
      output,
      /^> nx run server:config.*\[(local cache|existing outputs match the cache)\]/m,
    );
    const initrd = gunzipSync(readFileSync(join(ws.root, 'dist/vm/server/initrd/initrd.img')));
    assert.ok(initrd.includes('{"port":3001}\n'), 'the new content is in the initrd');
  });

  it('fails the boot at once, with the log, when a service dies before it is ready', async () => {
    const started = Date.now();
    await assert.rejects(startMachines(['crashing'], { workspaceRoot: ws.root }), (err: Error) => {
      assert.match(err.message, /a service failed to start/);
      assert.match(err.message, /early: it exited with status 3 before it was ready/);
      assert.match(err.message, /\| the config is missing/);
      return true;
    });
    // Well before any wait's timeout: the boot itself plus the report.
    assert.ok(Date.now() - started < 240_000, `took ${Date.now() - started} ms`);
  });

  it('serve fails, with the report, instead of reporting ready', () => {
    const res = ws.nx(['run', 'crashing:serve'], { VM_ACCEL: 'tcg' });
    assert.notEqual(res.status, 0);
    const output = stripVTControlCharacters(res.output);
    assert.match(output, /a service failed to start:\n.*early: it exited with status 3/);
    assert.doesNotMatch(output, /"crashing" is up/);
  });

  it('does not run an exec command when a service failed, and says why', () => {
    const res = ws.nx(['run', 'crashing:exec', '--command=echo ran'], { VM_ACCEL: 'tcg' });
    assert.notEqual(res.status, 0);
    const output = stripVTControlCharacters(res.output);
    assert.doesNotMatch(output, /^ran$/m);
    assert.match(output, /the command did not run: a service of the machine failed to start/);
    assert.match(output, /service failed: early: it exited with status 3 before it was ready/);
    assert.match(output, /\| the config is missing/);
  });
});
