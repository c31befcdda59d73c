// Declared accounts in the guest: SHA-512 crypt as crypt(3) computes it, with
// a salt derived from the machine, account and password (reproducible bytes),
// and only the hash reaches stage 1; never the kernel command line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { validateConfig } from '../config/validate';
import { resolveMachine } from '../config/resolve';
import { oneMachine } from '../../test/helpers/config-issues';
import { fakeHost } from '../../test/helpers/fake-host';
import { derivedSalt, guestUsers, sha512Crypt } from './passwords';
import { renderStage1 } from './stage1';
import { renderStage2 } from './stage2';

const desk = { init: 'systemd', system: { from: 'debian' }, graphics: true };

describe('passwords', () => {
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
