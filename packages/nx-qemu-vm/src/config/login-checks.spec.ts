// `gettys` and `users`: refused with the machine, the JSON path, the value
// and what is allowed; a password never shown; the initrd gets a hash only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { validateConfig } from './validate';
import { ConfigError } from './errors';
import { resolveMachine } from './resolve';
import { issuesOf, oneMachine } from '../../test/helpers/config-issues';
import { fakeHost } from '../../test/helpers/fake-host';
import { derivedSalt, guestUsers, sha512Crypt } from '../guest/passwords';
import { renderStage1 } from '../guest/stage1';
import { renderStage2 } from '../guest/stage2';

const desk = { init: 'systemd', system: { from: 'debian' }, graphics: true };
const only = (m: object) => {
  const [issue, ...rest] = issuesOf(oneMachine(m));
  assert.deepEqual(rest, []);
  assert.equal(issue.machine, 'vm');
  return issue;
};

describe('gettys and users', () => {
  it('accepts terminals and accounts on a Debian systemd machine with a display', () => {
    const m = validateConfig(
      oneMachine({ ...desk, gettys: ['tty1', 'tty12'], users: { alice: { password: 'x' } } }),
    ).machines.vm;
    assert.deepEqual(m.gettys, ['tty1', 'tty12']);
    assert.deepEqual(validateConfig(oneMachine({})).machines.vm.gettys, []);
  });

  for (const [m, path, value, why] of [
    [
      { gettys: ['tty1'] },
      'gettys',
      ['tty1'],
      /init is "\/run\/nx-qemu-vm\/init" \(the default stage 2 starts no getty/,
    ],
    [
      { ...desk, graphics: false, gettys: ['tty1'] },
      'gettys',
      ['tty1'],
      /only a machine with a display shows/,
    ],
    [
      { ...desk, initrd: '/boot/initrd.img', gettys: ['tty1'] },
      'gettys',
      ['tty1'],
      /boots its own \(initrd \/boot\/initrd\.img\)/,
    ],
    [{ ...desk, gettys: ['ttyS0'] }, 'gettys[0]', 'ttyS0', /use tty1 to tty12/],
    [{ ...desk, gettys: ['tty13'] }, 'gettys[0]', 'tty13', /use tty1 to tty12/],
    [{ ...desk, gettys: ['tty2', 'tty2'] }, 'gettys[1]', 'tty2', /listed twice/],
    [{ users: { alice: { password: 'x' } } }, 'users', ['alice'], /set system\.from to "debian"/],
    [{ ...desk, users: { alice: {} } }, 'users.alice', [], /exactly one of "password"/],
    [
      { ...desk, users: { alice: { hashedPassword: 'plain' } } },
      'users.alice.hashedPassword',
      'plain',
      /crypt\(3\) hash/,
    ],
  ] as const)
    it(`refuses ${JSON.stringify(m)} at ${path}`, () => {
      const issue = only(m);
      assert.equal(issue.path, `machines.vm.${path}`);
      assert.deepEqual(issue.value, value);
      assert.match(issue.message, why);
    });

  it('never shows a password, not even one given twice', () => {
    const secret = 'hunter2-secret';
    try {
      validateConfig(
        oneMachine({ ...desk, users: { bob: { password: secret, hashedPassword: secret } } }),
      );
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /machines\.vm\.users\.bob = \["password","hashedPassword"\]/);
      assert.doesNotMatch(err.message, /hunter2/);
    }
  });

  it('hashes as crypt(3) does (SHA-512), with a salt of the machine, account and password', (t) => {
    const hash = sha512Crypt('foobar', 'saltsalt');
    assert.match(hash, /^\$6\$saltsalt\$[./0-9A-Za-z]{86}$/);
    const salt = derivedSalt('vm', 'alice', 'foobar');
    assert.match(salt, /^[./0-9A-Za-z]{16}$/);
    assert.notEqual(derivedSalt('vm', 'bob', 'foobar'), salt);
    assert.notEqual(derivedSalt('other', 'alice', 'foobar'), salt);
    // The reference implementation, where the host has one.
    const openssl = spawnSync('openssl', ['passwd', '-6', '-salt', salt, 'foobar'], {
      encoding: 'utf8',
    });
    if (openssl.error) return t.skip('openssl is not installed');
    assert.equal(sha512Crypt('foobar', salt), openssl.stdout.trim());
    assert.equal(
      sha512Crypt(
        'a password longer than sixty-four bytes, which the digest must be repeated for',
        'x',
      ),
      spawnSync(
        'openssl',
        [
          'passwd',
          '-6',
          '-salt',
          'x',
          'a password longer than sixty-four bytes, which the digest must be repeated for',
        ],
        { encoding: 'utf8' },
      ).stdout.trim(),
    );
  });

  it('puts the hash, never the password, into stage 1; the root shell moves to the serial port', () => {
    const v = validateConfig(
      oneMachine({
        ...desk,
        gettys: ['tty1'],
        users: { alice: { password: 'hunter2' }, root: { hashedPassword: '$6$s$h' } },
      }),
    ).machines.vm;
    const r = resolveMachine('vm', 1, v, fakeHost());
    const stage1 = renderStage1(r, { load: [] });
    const [alice] = guestUsers('vm', v.users);
    assert.ok(stage1.includes(`put_user alice '${alice.hash}'`), stage1);
    assert.ok(stage1.includes(`put_user root '$6$s$h'`));
    assert.doesNotMatch(stage1, /hunter2/);
    assert.match(stage1, /^gettys=tty1$/m);
    assert.match(renderStage2(r), /^shell_tty=\/dev\/ttyS0$/m);
    assert.ok(!r.kernel.params.join(' ').includes('hunter2'));
  });
});
