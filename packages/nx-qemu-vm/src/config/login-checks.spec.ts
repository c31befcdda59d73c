// `gettys` and `users`: refused with the machine, the JSON path, the value
// and what is allowed; a password never shown (guest/passwords.spec.ts: the
// initrd gets a hash only).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { ConfigError } from './errors';
import { issuesOf, oneMachine } from '../../test/helpers/config-issues';

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
});
