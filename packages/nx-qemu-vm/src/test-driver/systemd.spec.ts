import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  declaredService,
  parseUnitInfo,
  serviceUnitInfo,
  stateMismatch,
  systemctlCommand,
  systemctlWords,
  unitStateCommand,
  unitVerdict,
} from './systemd';

const show = (props: Record<string, string>) =>
  Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

describe('systemd in the guest', () => {
  it('reads `systemctl show` output as an object, values with = and empty ones kept', () => {
    const out =
      'Id=nginx.service\nExecStart={ path=/usr/sbin/nginx ; argv[]=a=b }\nDescription=\n\n';
    assert.deepEqual(parseUnitInfo(out), {
      Id: 'nginx.service',
      ExecStart: '{ path=/usr/sbin/nginx ; argv[]=a=b }',
      Description: '',
    });
  });

  it("waits for a unit as NixOS's wait_for_unit", () => {
    const base = { LoadState: 'loaded', SubState: 'running', Result: 'success', Jobs: '0' };
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'active' })), 'done');
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'activating', Jobs: '1' })), 'wait');
    // Inactive while the manager still has jobs: the one that starts it may be queued.
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'inactive', Jobs: '3' })), 'wait');
    assert.deepEqual(unitVerdict(show({ ...base, ActiveState: 'inactive' })), {
      failed: 'the unit is inactive and no job is pending',
    });
    assert.deepEqual(unitVerdict(show({ ...base, ActiveState: 'failed', Result: 'exit-code' })), {
      failed: 'the unit failed (exit-code)',
    });
    // A user's manager that is not up yet prints nothing: try again.
    assert.equal(unitVerdict('', 'alice'), 'wait');
    assert.deepEqual(unitVerdict('NoSuchUser=1\n', 'bob'), {
      failed: 'the guest has no user "bob"',
    });
  });

  it('says what to do about a unit systemd does not know, at once', () => {
    const v = unitVerdict(show({ LoadState: 'not-found', ActiveState: 'inactive', Jobs: '2' }));
    assert.deepEqual(v, {
      failed:
        'systemd has no such unit; check its name (`systemctl list-unit-files` lists the units) and that the package that has it is installed',
    });
    const u = unitVerdict(show({ LoadState: 'not-found', ActiveState: 'inactive' }), 'alice');
    assert.match((u as { failed: string }).failed, /`systemctl --user list-unit-files`/);
  });

  it('compares a required state, refusing words that are no state', () => {
    assert.equal(stateMismatch({ ActiveState: 'inactive' }, 'inactive'), undefined);
    assert.equal(
      stateMismatch({ ActiveState: 'failed' }, 'active'),
      'the unit is failed, not active',
    );
    assert.equal(
      stateMismatch({ LoadState: 'not-found', ActiveState: 'inactive' }, 'active'),
      'the unit is inactive (systemd has no such unit), not active',
    );
    assert.throws(
      () => stateMismatch({}, 'running'),
      /"running" is not a unit state; states: active,/,
    );
  });

  it("maps a declared service of the plugin's stage 2 to a unit", () => {
    assert.equal(declaredService('api', ['api', 'db']), 'api');
    assert.equal(declaredService('db.service', ['api', 'db']), 'db');
    assert.equal(declaredService('nginx', ['api']), undefined);
    assert.equal(declaredService('api.socket', ['api']), undefined);
    assert.deepEqual(serviceUnitInfo('api', 'ready\n'), {
      Id: 'api.service',
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'ready',
    });
    assert.equal(serviceUnitInfo('api', 'starting').ActiveState, 'activating');
    assert.equal(serviceUnitInfo('api', 'exited').ActiveState, 'inactive');
    assert.equal(serviceUnitInfo('api', 'failed').ActiveState, 'failed');
  });

  describe('commands, run by a real sh against recording systemctl and su', () => {
    let dir: string;
    const run = (command: string) =>
      spawnSync('sh', ['-c', command], {
        encoding: 'utf8',
        env: { PATH: `${dir}:/usr/bin:/bin`, LOG: join(dir, 'log') },
      });
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'nxvm-systemd-'));
      // Each argument on a line of its own, then a marker.
      writeFileSync(
        join(dir, 'systemctl'),
        '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\necho "XDG=${XDG_RUNTIME_DIR:-}"\n',
      );
      // su -l -s SHELL -c SCRIPT USER, as user 1000.
      writeFileSync(join(dir, 'su'), '#!/bin/sh\necho "su as $6"\nexec sh -c "$5"\n');
      // Knows one user, alice, as 1000.
      writeFileSync(
        join(dir, 'id'),
        '#!/bin/sh\ncase "$*" in "-u") echo 1000 ;; "-u -- alice") echo 1000 ;; *) exit 1 ;; esac\n',
      );
      for (const f of ['systemctl', 'su', 'id']) chmodSync(join(dir, f), 0o755);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('passes every argument as one word, shell characters and all', () => {
      const args = systemctlWords("  show  -p Id 'x;y' $(reboot) ");
      assert.deepEqual(args, ['show', '-p', 'Id', "'x;y'", '$(reboot)']);
      const r = run(systemctlCommand(args));
      assert.equal(r.stdout, "show\n-p\nId\n'x;y'\n$(reboot)\nXDG=\n");
    });

    it("runs a user's systemctl --user through su, with its runtime directory", () => {
      const r = run(systemctlCommand(['start', '--', "a b'c"], 'alice'));
      assert.equal(r.stdout, "su as alice\n--user\nstart\n--\na b'c\nXDG=/run/user/1000\n");
      assert.throws(() => systemctlCommand(['status'], '-alice'), /not a user name: "-alice"/);
      assert.throws(() => systemctlCommand(['status'], 'a b'), /not a user name/);
    });

    it('asks for the unit state and a count of pending jobs', () => {
      const lines = run(unitStateCommand('x.service')).stdout.split('\n');
      assert.deepEqual(lines.slice(0, 11), [
        'show',
        '-p',
        'LoadState',
        '-p',
        'ActiveState',
        '-p',
        'SubState',
        '-p',
        'Result',
        '--',
        'x.service',
      ]);
      // The recording systemctl prints 3 lines for list-jobs: 3 "jobs".
      assert.match(lines.at(-2)!, /^Jobs=3$/);
      const user = run(unitStateCommand('x.service', 'alice')).stdout.split('\n');
      assert.deepEqual(user.slice(0, 3), ['su as alice', '--user', 'show']);
      assert.equal(run(unitStateCommand('x.service', 'bob')).stdout, 'NoSuchUser=1\n');
    });
  });
});
