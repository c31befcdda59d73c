// Checks on `gettys` and `users`, the console logins: which terminals may
// get a getty, on which machines, and what a password entry must hold.
import type { ValidMachine } from './valid-machine';
import { ownInitrdMessage } from './file-checks';
import type { AddProblem as Add } from './errors';

/** The virtual terminals a getty may take: the kernel's tty1 to tty12 (alt-F1 to alt-F12). */
export const GETTY_TTYS = Array.from({ length: 12 }, (_, i) => `tty${i + 1}`);
/** A crypt(3) hash: "$id$...", without the colons and blanks that would break /etc/shadow. */
const CRYPT_HASH = /^\$[0-9a-z]+\$[^:\s]+$/;

export function checkLogins(m: ValidMachine, add: Add): void {
  if (m.gettys.length) {
    if (m.init !== 'systemd')
      add(
        ['gettys'],
        m.gettys,
        `are getty units of the image's systemd, and this machine's init is ${JSON.stringify(m.init)} (the default stage 2 starts no getty: its root shell owns the console); set init to "systemd" with system.from "debian", or remove gettys.`,
      );
    else if (!m.graphics)
      add(
        ['gettys'],
        m.gettys,
        'are virtual terminals, which only a machine with a display shows and types into; set graphics to true, or remove gettys.',
      );
    else if (typeof m.initrd === 'string')
      add(['gettys'], m.gettys, ownInitrdMessage('set up', m.initrd, 'remove gettys'));
  }
  m.gettys.forEach((tty, i) => {
    if (!GETTY_TTYS.includes(tty))
      add(
        ['gettys', i],
        tty,
        `is not a virtual terminal; use tty1 to tty12 (${GETTY_TTYS.slice(0, 3).join(', ')}, ...).`,
      );
    else if (m.gettys.indexOf(tty) !== i)
      add(['gettys', i], tty, `is listed twice; name each terminal once.`);
  });

  const names = Object.keys(m.users);
  if (names.length && m.system.from !== 'debian')
    add(
      ['users'],
      names,
      'are created and given their passwords with the Debian image\'s useradd and usermod, in the /etc its packages set up; set system.from to "debian", or remove users.',
    );
  else if (names.length && typeof m.initrd === 'string')
    add(['users'], names, ownInitrdMessage('written', m.initrd, 'remove users'));
  for (const [name, u] of Object.entries(m.users)) {
    // The entry's keys, never its values: a password is not for the terminal.
    if ((u.password === undefined) === (u.hashedPassword === undefined))
      add(
        ['users', name],
        Object.keys(u),
        'needs exactly one of "password" (in clear, hashed when the initrd is built) or "hashedPassword" (a crypt(3) hash).',
      );
    else if (u.hashedPassword !== undefined && !CRYPT_HASH.test(u.hashedPassword))
      add(
        ['users', name, 'hashedPassword'],
        u.hashedPassword,
        'must be a crypt(3) hash such as "$6$salt$..." (from `mkpasswd -m sha-512` or `openssl passwd -6`), without colons or blanks; to give the password itself, use "password".',
      );
  }
}
