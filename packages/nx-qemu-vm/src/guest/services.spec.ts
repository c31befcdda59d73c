// The services program and units, pure; their behaviour in a guest is proven
// by test/e2e/workspace-software.spec.ts and image-systemd.spec.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/validate';
import { resolveConfig } from '../config/resolve';
import { workspaceHosts } from '../config/network';
import { fakeHost } from '../../test/helpers/fake-host';
import {
  renderServiceUnits,
  renderServicesProgram,
  reportBetween,
  unknownServiceUsers,
} from './services';
import { renderHostsBlock } from './stage1';

const resolve = (machines: Record<string, object>) =>
  resolveConfig(validateConfig({ machines }), fakeHost());

const api = {
  command: `node main.js --name "it's" $HOME`,
  environment: { PORT: '3000', QUOTE: `a'b"c$d` },
  workingDirectory: '/opt/api',
  ready: { port: 3000 },
};

describe('services program', () => {
  it('carries every value quoted, and none without services', () => {
    const r = resolve({
      vm: { services: { api, db: { command: 'db', ready: { file: '/run/db' } } } },
    }).vm;
    const text = renderServicesProgram(r) ?? '';
    // Each value survives the shell as it was written.
    const probe = `${text.split('\nverb=')[0]}\nservice_vars api\nprintf '%s\\n' "$command" "$directory" "$ready_kind" "$ready_arg"\neval "$env_lines"; printf '%s\\n' "$QUOTE"`;
    const out = spawnSync('sh', ['-c', probe], { encoding: 'utf8' });
    assert.equal(out.stdout, `node main.js --name "it's" $HOME\n/opt/api\nport\n3000\na'b"c$d\n`);
    assert.match(text, /^service_names='api db'$/m);
    // HOME comes from the account in the guest, unless the service sets it.
    const home = spawnSync(
      'sh',
      [
        '-c',
        `${text.split('\nverb=')[0]}\nservice_vars api\neval "$env_lines"; echo "\${HOME-unset}"`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH } },
    );
    assert.equal(home.stdout, 'unset\n');
    assert.equal(renderServicesProgram(resolve({ vm: {} }).vm), null);
  });

  it('runs a ready command in a shell whose command line does not hold it: pgrep -f finds only what runs', () => {
    const marker = `never-running-${process.pid}`;
    const r = resolve({
      vm: { services: { w: { command: 'x', ready: { command: `pgrep -f '${marker}'` } } } },
    }).vm;
    const text = renderServicesProgram(r) ?? '';
    // The program up to its verbs, then one try of the service's ready check,
    // from a file: the probe's own command line must not hold the marker either.
    const dir = mkdtempSync(join(tmpdir(), 'nxvm-services-'));
    try {
      const probe = join(dir, 'probe');
      writeFileSync(
        probe,
        `${text.split('\ncase $verb in')[0]}\nready && echo ready || echo not-ready\n`,
      );
      const out = spawnSync('sh', [probe, 'wait', 'w'], { encoding: 'utf8' });
      assert.equal(out.stdout, 'not-ready\n', out.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a systemd machine one unit per service that is active once ready', () => {
    const r = resolve({
      vm: {
        system: { from: 'debian', suite: 'bookworm' },
        init: 'systemd',
        services: {
          db: { command: 'db' },
          api: { ...api, after: ['db'], user: 'www-data', restart: 'no' },
        },
      },
    }).vm;
    const units = renderServiceUnits(r);
    assert.deepEqual(Object.keys(units), ['db.service', 'api.service']);
    const unit = units['api.service'];
    assert.match(unit, /^After=network\.target db\.service$/m);
    assert.match(unit, /^Requires=db\.service$/m);
    assert.match(unit, /^ExecStart=\/run\/nx-qemu-vm\/services run api$/m);
    assert.match(unit, /^ExecStartPost=\/run\/nx-qemu-vm\/services wait api$/m);
    assert.match(unit, /^User=www-data$/m);
    assert.match(unit, /^Restart=no$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    // No text of the config reaches systemd's own parser.
    assert.doesNotMatch(unit, /main\.js|3000/);
    assert.deepEqual(renderServiceUnits(resolve({ vm: { services: { api } } }).vm), {});
  });

  it("refuses an account the image's /etc/passwd does not have", () => {
    const r = resolve({
      vm: {
        system: { from: 'debian', suite: 'bookworm' },
        services: {
          api: { command: 'x', user: 'www-data' },
          db: { command: 'y', user: 'postgres' },
        },
      },
    }).vm;
    const issues = unknownServiceUsers(
      r,
      'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n',
    );
    assert.deepEqual(
      issues.map((i) => [i.machine, i.path, i.value]),
      [['vm', 'machines.vm.services.db.user', 'postgres']],
    );
    assert.match(issues[0].message, /add the package that creates it to system\.packages/);
  });

  it('reads a report between its markers once it is complete', () => {
    const text =
      'boot\n[ 1.0] nx-qemu-vm: service failed: api: gone\n  | log\nnx-qemu-vm: end of service report\nmore';
    assert.equal(
      reportBetween(text, 'nx-qemu-vm: service failed:', 'nx-qemu-vm: end of service report'),
      '[ 1.0] nx-qemu-vm: service failed: api: gone\n  | log',
    );
    assert.equal(
      reportBetween('x nx-qemu-vm: service failed: a\n', 'nx-qemu-vm: service failed:', 'end'),
      undefined,
    );
  });
});

describe('/etc/hosts', () => {
  it('names every machine once per vlan it shares, at its position in the file', () => {
    const machines = {
      a: { vlans: [1, 2] },
      b: { vlans: [2] },
      c: { vlans: [1, 2] },
      d: { vlans: [] },
    };
    const all = resolve(machines);
    assert.deepEqual(workspaceHosts(validateConfig({ machines }).machines, 'a'), [
      { address: '192.168.1.3', name: 'c' },
      { address: '192.168.2.2', name: 'b' },
      { address: '192.168.2.3', name: 'c' },
    ]);
    assert.equal(renderHostsBlock(all.b), '192.168.2.2 b\n192.168.2.1 a\n192.168.2.3 c\n');
    assert.equal(renderHostsBlock(all.d), '10.0.2.15 d\n');
  });
});
