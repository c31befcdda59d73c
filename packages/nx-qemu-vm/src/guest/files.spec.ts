import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/validate';
import { ConfigError } from '../config/errors';
import { resolveOnFakeHost } from '../../test/helpers/resolved-machine';
import { guestFiles, readSource, renderPutFiles, unknownFileOwners } from './files';
import { renderStage1 } from './stage1';
import { renderStage2 } from './stage2';

const machine = resolveOnFakeHost;
const modules = { load: [] };
const hostile = "/etc/it's $(reboot) `x`.conf";

describe('files in the initrd', () => {
  const files = validateConfig({
    machines: {
      vm: {
        files: {
          [hostile]: { text: 'a' },
          '/etc/app.json': {
            source: 'apps/api/config.json',
            mode: '0600',
            user: 'nobody',
            group: '0',
          },
        },
      },
    },
  }).machines.vm.files;

  it('carries each content as a member of its own, in the order of the config', () => {
    assert.deepEqual(guestFiles(files), [
      {
        path: hostile,
        member: '/nx-qemu-vm/files/0',
        mode: '0644',
        user: 'root',
        group: '',
        content: { text: 'a' },
      },
      {
        path: '/etc/app.json',
        member: '/nx-qemu-vm/files/1',
        mode: '0600',
        user: 'nobody',
        group: '0',
        content: { source: 'apps/api/config.json' },
      },
    ]);
  });

  it('quotes every value of the calls stage 1 makes, so a shell reads them back unchanged', () => {
    const calls = renderPutFiles(guestFiles(files));
    const script = `put_file() { printf '%s|' "$@"; echo; }\n${calls.join('\n')}\n`;
    const out = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(
      out.stdout,
      `/nx-qemu-vm/files/0|${hostile}|0644|root||\n/nx-qemu-vm/files/1|/etc/app.json|0600|nobody|0|\n`,
    );
  });

  it('has stage 1 write them after the root and its accounts are ready, before the init', () => {
    const text = renderStage1(machine({ files: { '/etc/motd': { text: 'hi' } } }), modules);
    assert.match(
      text,
      /^put_files\(\) \{\n {2}put_file \/nx-qemu-vm\/files\/0 \/etc\/motd 0644 root ''\n/m,
    );
    const body = text.slice(text.indexOf('# Stage 1 of an nx-qemu-vm guest'));
    const at = (s: string) => {
      const i = body.indexOf(s);
      assert.ok(i >= 0, s);
      return i;
    };
    assert.ok(at('cp -a "/mnt-root$factory/."') < at('\nput_files\n'));

    assert.ok(at('\nput_files\n') < at('exec switch_root'));
    assert.match(text, /^seed_passwd='root:x:0:0:root:\/root:\/bin\/sh\nnobody:x:65534:/m);
  });
});

describe('readSource', () => {
  const root = mkdtempSync(join(tmpdir(), 'nxvm-files-'));
  const workspace = join(root, 'ws');
  mkdirSync(join(workspace, 'apps/api'), { recursive: true });
  writeFileSync(join(workspace, 'apps/api/config.json'), '{"port":3000}\n');
  writeFileSync(join(root, 'secret'), 'outside');
  symlinkSync('../../../secret', join(workspace, 'apps/api/leak'));
  const refusal = (source: string) => {
    try {
      readSource('vm', '/etc/x', source, workspace);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      const [issue] = err.issues;
      assert.equal(issue.path, 'machines.vm.files["/etc/x"].source');
      assert.equal(issue.value, source);
      return issue.message;
    }
    assert.fail(`${source} was read`);
  };

  it("reads a workspace file's bytes", () => {
    assert.equal(
      readSource('vm', '/etc/x', 'apps/api/config.json', workspace).toString(),
      '{"port":3000}\n',
    );
  });
  it('refuses a missing file, a directory, and a link out of the workspace', () => {
    assert.match(refusal('apps/api/missing.json'), /no such file in the workspace/);
    assert.match(refusal('apps/api'), /not a regular file/);
    assert.match(refusal('apps/api/leak'), /leads out of the workspace/);
    rmSync(root, { recursive: true, force: true });
  });
});

describe("owners checked against a Debian image's tables", () => {
  it('names each unknown account or group; numeric ids pass', () => {
    const files = validateConfig({
      machines: {
        vm: {
          system: { from: 'debian' },
          files: {
            '/etc/a': { text: 'x', user: 'www-data', group: 'www-data' },
            '/etc/b': { text: 'x', user: 'ghost', group: '33' },
            '/etc/c': { text: 'x', user: '1000', group: 'ghosts' },
          },
        },
      },
    }).machines.vm.files;
    const issues = unknownFileOwners(
      'vm',
      files,
      'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n',
      'root:x:0:\nwww-data:x:33:\n',
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.value]),
      [
        ['machines.vm.files["/etc/b"].user', 'ghost'],
        ['machines.vm.files["/etc/c"].group', 'ghosts'],
      ],
    );
    assert.match(
      issues[0].message,
      /no such account in the image's \/etc\/passwd \(root, www-data, \.\.\.\)/,
    );
  });
});

describe('the network under systemd', () => {
  const unit = readFileSync(join(__dirname, 'nx-qemu-vm-network.service'), 'utf8');
  it('is a unit before network.target and network-online.target, which it pulls in', () => {
    assert.match(unit, /^Before=network\.target network-online\.target$/m);
    assert.match(unit, /^Wants=network\.target$/m);
    assert.match(unit, /^Type=oneshot$/m);
    assert.match(unit, /^RemainAfterExit=yes$/m);
    assert.match(unit, /^ExecStart=\/run\/nx-qemu-vm\/init network$/m);
  });
  it('is installed by stage 1 only with "init": "systemd", and stage 2 leaves the network to it there', () => {
    const systemd = machine({ system: { from: 'debian' }, init: 'systemd' });
    assert.match(
      renderStage1(systemd, modules),
      /^network_unit=\/nx-qemu-vm\/nx-qemu-vm-network\.service$/m,
    );
    assert.match(renderStage1(machine({}), modules), /^network_unit=''$/m);
    const stage2 = renderStage2(systemd);
    assert.match(stage2, /^\[ "\$under_systemd" = 1 \] \|\| setup_network$/m);
    assert.match(stage2, /^if \[ "\$under_systemd" = 1 \] && \[ "\$\{1:-\}" = network \]; then$/m);
  });
});
