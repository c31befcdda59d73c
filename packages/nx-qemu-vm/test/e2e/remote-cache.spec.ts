// A team's shared remote cache: tools/remote-cache/serve.sh (nginx + WebDAV)
// speaking Nx's self-hosted cache protocol. One clone builds a machine with a
// boot disk made in a throwaway builder VM, and another with a Debian image,
// and uploads them; a second, fresh clone downloads everything, runs no
// builder VM and no mmdebstrap, and boots the results. With
// a wrong token the build still succeeds, locally, with the plugin's warning,
// and the server stores nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { startRemoteCacheServer, type RemoteCacheServer } from '../helpers/remote-cache-server';
import { TOKEN_CHECK_PATH } from '../../src/host/remote-cache-check';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('shared remote cache (nginx)', { timeout: 1_800_000 }, () => {
  const machines = {
    vm: { graphics: false, useBootLoader: true, bootDiskBuilder: 'vm', memorySize: 512 },
    deb: { graphics: false, system: { from: 'debian', packages: ['hello'] } },
  };
  // The tasks clone A ran (build, boot-disk and what they depend on), read from its output.
  let tasks: string[] = [];
  const runMany = ['run-many', '-t', 'build', 'initrd', 'boot-disk', '--projects', 'vm,deb'];
  let server: RemoteCacheServer;
  let a: VmWorkspace;
  let b: VmWorkspace;
  let shimDir: string;
  let shimLog: string;
  let shimEnv: Record<string, string>;
  const shimCalls = () =>
    existsSync(shimLog) ? readFileSync(shimLog, 'utf8').split('\n').filter(Boolean) : [];

  before(async () => {
    server = await startRemoteCacheServer();
    // Both clones now, from the same plugin sources: copies made later could
    // differ while someone edits the plugin, and so hash differently.
    a = createVmWorkspace(machines);
    b = createVmWorkspace(machines);
    // A qemu-system-x86_64 and an mmdebstrap first in PATH that log each
    // call, then run the real one.
    shimDir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-shim-'));
    shimLog = join(shimDir, 'calls.log');
    for (const tool of ['qemu-system-x86_64', 'mmdebstrap']) {
      writeFileSync(
        join(shimDir, tool),
        `#!/bin/sh\nprintf '%s %s\\n' ${tool} "$*" >> '${shimLog}'\nexec /usr/bin/${tool} "$@"\n`,
      );
      chmodSync(join(shimDir, tool), 0o755);
    }
    shimEnv = { PATH: `${shimDir}:${process.env.PATH}` };
  });
  after(() => {
    server?.stop();
    a?.remove();
    b?.remove();
    if (shimDir) rmSync(shimDir, { recursive: true, force: true });
  });

  it('clone A builds the machine, boot disk made in a builder VM, and uploads the results', (t) => {
    const started = performance.now();
    const res = a.nx(runMany, server.env());
    const took = performance.now() - started;
    t.diagnostic(
      `clone A: nx ${runMany.join(' ')} took ${seconds(took)} (all tasks built, then uploaded)`,
    );
    assert.equal(res.status, 0, res.output);
    const out = plain(res.output);
    assert.doesNotMatch(out, /\[(local|remote) cache\]/, 'nothing was cached yet');
    tasks = [...new Set([...out.matchAll(/nx run ((?:vm|deb):[\w-]+)/g)].map((m) => m[1]))].sort();
    for (const task of ['vm:initrd', 'vm:boot-disk', 'vm:build', 'deb:image', 'deb:initrd'])
      assert.ok(tasks.includes(task), `${task} ran:\n${out}`);
    assert.equal(
      server.entries().length,
      tasks.length,
      `one entry per task: ${server.entries().join(', ')}\n${server.accessLog().join('\n')}`,
    );
    const puts = server.accessLog().filter((l) => /"PUT \/v1\/cache\/\d+ HTTP\/1\.1" 200 /.test(l));
    assert.equal(puts.length, tasks.length, server.accessLog().join('\n'));
    assert.ok(existsSync(join(a.root, 'dist/vm/vm/boot-disk/disk.img')));
  });

  it('clone B, with an empty local cache, gets every task from the remote cache and runs no builder VM', (t) => {
    assert.notEqual(a.root, b.root);
    assert.ok(
      !existsSync(join(b.root, '.nx/cache')),
      'clone B has no local Nx cache (each workspace keeps its own .nx)',
    );
    assert.ok(!existsSync(join(b.root, 'dist')), 'clone B has built nothing');
    const started = performance.now();
    const res = b.nx(runMany, { ...server.env(), ...shimEnv });
    const took = performance.now() - started;
    t.diagnostic(
      `clone B: nx ${runMany.join(' ')} took ${seconds(took)} (all tasks from the remote cache)`,
    );
    assert.equal(res.status, 0, res.output);
    const out = plain(res.output);
    for (const task of tasks)
      assert.match(
        out,
        new RegExp(`nx run ${task}\\s+\\[remote cache\\]`),
        `${task} came from the remote cache:\n${out}`,
      );
    assert.match(
      out,
      new RegExp(
        `Nx read the output from the cache instead of running the command for ${tasks.length} out of ${tasks.length} tasks`,
      ),
    );
    assert.deepEqual(
      shimCalls(),
      [],
      'no QEMU and no mmdebstrap ran: no boot disk rebuilt in a builder VM, no image rebuilt',
    );
    for (const file of [
      'vm/boot-disk/disk.img',
      'vm/initrd/initrd.img',
      'vm/bin/run-vm-vm',
      'vm/bin/exec-vm-vm',
      'deb/image/store.erofs',
      'deb/image/vmlinuz',
      'deb/initrd/initrd.img',
    ])
      assert.equal(
        sha256(join(b.root, 'dist/vm', file)),
        sha256(join(a.root, 'dist/vm', file)),
        `${file} is byte-identical to clone A's`,
      );
    assert.equal(server.entries().length, tasks.length, 'nothing new was uploaded');
  });

  it('clone B boots the downloaded machine', () => {
    const res = b.exec('vm', 'echo booted-from-remote', shimEnv);
    assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}\n${b.consoleLog('vm')}`);
    assert.match(plain(res.stdout), /booted-from-remote/);
    const calls = shimCalls();
    assert.equal(calls.length, 1, `exactly one QEMU run, the machine's own:\n${calls.join('\n')}`);
  });

  it("clone B boots the downloaded Debian image and runs the image's program", () => {
    const res = b.exec('deb', 'hello', shimEnv);
    assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}\n${b.consoleLog('deb')}`);
    assert.match(plain(res.stdout), /Hello, world!/);
    assert.deepEqual(
      shimCalls().map((c) => c.split(' ')[0]),
      ['qemu-system-x86_64', 'qemu-system-x86_64'],
      'the two machines booted, and mmdebstrap never ran',
    );
  });

  it('with a wrong token, builds locally with a warning and the server stores nothing', (t) => {
    // Nx would stop at a 401, so the server answers a wrong token with a miss
    // (GET 404) and a refused upload (PUT 403); the warning comes from the
    // plugin's token check (401). Nx shows a successful task's output with
    // `nx run` and with run-many --output-style=static, not in run-many's default.
    const modes: [number, string[]][] = [
      [640, ['run', 'vm:build']],
      [656, ['run-many', '-t', 'build', '--projects', 'vm', '--output-style=static']],
    ];
    for (const [memorySize, args] of modes) {
      // Another memory size: new hashes for config and build, in neither cache.
      b.writeConfig({ machines: { vm: { ...machines.vm, memorySize } } });
      const entries = server.entries();
      const logged = server.accessLog().length;
      const started = performance.now();
      const res = b.nx(args, server.env('wrong'));
      t.diagnostic(
        `wrong token: nx ${args.join(' ')} took ${seconds(performance.now() - started)}`,
      );
      const out = plain(res.output);
      assert.equal(res.status, 0, out);
      assert.doesNotMatch(out, /\[(local|remote) cache\]/, `config and build ran here:\n${out}`);
      assert.match(
        readFileSync(join(b.root, 'dist/vm/vm/bin/run-vm-vm'), 'utf8'),
        new RegExp(`-m ${memorySize}\\b`),
        'the script was written for this config',
      );
      assert.match(
        readFileSync(join(b.root, 'dist/vm/vm/config/machine.json'), 'utf8'),
        new RegExp(`"memorySize": ${memorySize}\\b`),
      );
      const warning = `warning: the remote cache ${server.url} refused NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN; this step is built here and kept in the local cache only. Check the token.`;
      assert.equal(
        out.split(warning).length - 1,
        2,
        `one warning each from config and build:\n${out}`,
      );
      assert.doesNotMatch(out, /Unauthorized/);
      assert.deepEqual(server.entries(), entries, 'no entry was stored');
      const requests = server.accessLog().slice(logged);
      const count = (re: RegExp) => requests.filter((l) => re.test(l)).length;
      const misses = count(/"GET \/v1\/cache\/\d+ HTTP\/1\.1" 404 /);
      const refused = count(/"PUT \/v1\/cache\/\d+ HTTP\/1\.1" 403 /);
      const checks = count(new RegExp(`"GET ${TOKEN_CHECK_PATH} HTTP/1\\.1" 401 `));
      assert.deepEqual(
        [misses, refused, checks],
        [2, 2, 2],
        `a 404 GET, a 401 token check and a 403 PUT per task, and nothing else:\n${requests.join('\n')}`,
      );
      assert.equal(requests.length, 6, requests.join('\n'));
    }
  });

  it('lets a read-only token download but not upload, and Nx carries on', () => {
    b.writeConfig({ machines: { vm: { ...machines.vm, memorySize: 768 } } });
    const entries = server.entries();
    const logged = server.accessLog().length;
    const res = b.nx(['run', 'vm:build'], server.env(server.readOnlyToken));
    assert.equal(res.status, 0, res.output);
    assert.match(plain(res.output), /accepts this token for downloads only/);
    assert.deepEqual(server.entries(), entries, 'no entry was stored');
    const requests = server.accessLog().slice(logged);
    assert.ok(
      requests.some((l) => l.includes(`"GET ${TOKEN_CHECK_PATH} HTTP/1.1" 403 `)),
      requests.join('\n'),
    );
    assert.ok(
      requests.some((l) => /"GET \/v1\/cache\/\d+ HTTP\/1\.1" 404 /.test(l)),
      requests.join('\n'),
    );
    assert.ok(
      requests.some((l) => /"PUT \/v1\/cache\/\d+ HTTP\/1\.1" 403 /.test(l)),
      requests.join('\n'),
    );
  });

  it('answers with the status codes Nx and the token check expect', async () => {
    const url = `${server.url}/v1/cache/0123456789`;
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const body = new Uint8Array([1, 2, 3, 4]);
    const miss = await fetch(url, { headers: auth(server.token) });
    assert.equal(miss.status, 404, 'a miss is 404');
    // Never a 401 on the cache paths: Nx stops the run at one.
    for (const headers of [auth('wrong'), {}, auth(server.readOnlyToken)]) {
      const refused = await fetch(url, { method: 'PUT', body, headers });
      assert.equal(refused.status, 403, 'Nx skips an upload refused with 403 and carries on');
    }
    assert.ok(!server.entries().includes('0123456789'), 'a refused upload stores nothing');
    const put = await fetch(url, {
      method: 'PUT',
      body,
      headers: { ...auth(server.token), 'content-type': 'application/octet-stream' },
    });
    assert.equal(put.status, 200, 'Nx takes only 200 as stored (not 201 or 204)');
    const again = await fetch(url, {
      method: 'PUT',
      body: new Uint8Array([9]),
      headers: auth(server.token),
    });
    assert.equal(again.status, 409, 'an existing entry is never overwritten');
    const hit = await fetch(url, { headers: auth(server.readOnlyToken) });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(
      new Uint8Array(await hit.arrayBuffer()),
      body,
      'the first upload is what is served',
    );
    assert.equal(
      (await fetch(url, { headers: auth('wrong') })).status,
      404,
      'a wrong token reads a miss, though the entry exists',
    );
    assert.equal((await fetch(url)).status, 404, 'so does no token');
    const del = await fetch(url, { method: 'DELETE', headers: auth(server.token) });
    assert.equal(del.status, 403, 'clients cannot delete');
    assert.equal(
      (await fetch(`${server.url}/v1/cache/..%2f..%2fnginx.conf`, { headers: auth(server.token) }))
        .status,
      404,
    );

    const check = `${server.url}${TOKEN_CHECK_PATH}`;
    assert.equal(
      (await fetch(check, { headers: auth(server.token) })).status,
      204,
      'the read-write token',
    );
    assert.equal(
      (await fetch(check, { headers: auth(server.readOnlyToken) })).status,
      403,
      'the read-only token',
    );
    for (const headers of [auth('wrong'), {}]) {
      const denied = await fetch(check, { headers });
      assert.equal(denied.status, 401, 'a wrong or missing token');
      assert.equal(denied.headers.get('content-type'), 'text/plain');
      assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="nx-cache"');
    }
  });
});
