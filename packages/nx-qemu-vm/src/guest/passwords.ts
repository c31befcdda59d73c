// The `users` of a machine as the initrd carries them: a crypt(3) hash per
// account, never the password itself. A `password` is hashed here with
// SHA-512 crypt ("$6$", Ulrich Drepper's specification, which glibc and
// libxcrypt verify), because Node's crypto has SHA-512 but no crypt(3), and a
// host tool (mkpasswd, openssl) would be one more thing to install.
import { createHash } from 'node:crypto';
import type { User } from '../config/workspace-vm.generated';
import { shCall } from '../quote/shell';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The specification's default; a hash without "rounds=" is checked with it. */
const ROUNDS = 5000;
const SALT_CHARS = 16;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `length` bytes of `digest` repeated, as the specification stretches P and S. */
function repeated(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += digest.length) digest.copy(out, i, 0, length - i);
  return out;
}

/** The order in which the specification encodes the 64 bytes, three at a time. */
const ENCODE_ORDER: [number, number, number][] = Array.from({ length: 21 }, (_, i) => [
  i,
  (i + 21) % 63,
  (i + 42) % 63,
]).map(([a, b, c], i) => (i % 3 === 0 ? [a, b, c] : i % 3 === 1 ? [b, c, a] : [c, a, b]));

function encode(c: Buffer): string {
  let out = '';
  const put = (w: number, n: number) => {
    for (let i = 0; i < n; i++, w >>= 6) out += ITOA64[w & 0x3f];
  };
  for (const [a, b, d] of ENCODE_ORDER) put((c[a] << 16) | (c[b] << 8) | c[d], 4);
  put(c[63], 2);
  return out;
}

/** SHA-512 crypt of `password` with `salt` (at most 16 characters of ./0-9A-Za-z). */
export function sha512Crypt(password: string, salt: string): string {
  const p = Buffer.from(password);
  const s = Buffer.from(salt.slice(0, SALT_CHARS));
  const b = sha512(p, s, p);
  const a = createHash('sha512').update(p).update(s).update(repeated(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = a.digest();
  const pStretched = repeated(sha512(...Array<Buffer>(p.length).fill(p)), p.length);
  const sStretched = repeated(sha512(...Array<Buffer>(16 + c[0]).fill(s)), s.length);
  for (let i = 0; i < ROUNDS; i++) {
    const odd = i % 2 === 1;
    const parts = [odd ? pStretched : c];
    if (i % 3) parts.push(sStretched);
    if (i % 7) parts.push(pStretched);
    parts.push(odd ? c : pStretched);
    c = sha512(...parts);
  }
  return `$6$${s.toString()}$${encode(c)}`;
}

/**
 * A salt that depends on the machine, the account and the password: the same
 * config always makes the same initrd (the cache relies on it), and the same
 * password on two accounts or machines still hashes differently.
 */
export function derivedSalt(machine: string, user: string, password: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([machine, user, password]))
    .digest();
  return [...digest.subarray(0, SALT_CHARS)].map((byte) => ITOA64[byte & 0x3f]).join('');
}

/** One account of `users`, as stage 1 gets it. */
export interface GuestUser {
  name: string;
  hash: string;
}

export function guestUsers(machine: string, users: Readonly<Record<string, User>>): GuestUser[] {
  return Object.entries(users).map(([name, u]) => ({
    name,
    hash:
      u.hashedPassword ??
      sha512Crypt(u.password ?? '', derivedSalt(machine, name, u.password ?? '')),
  }));
}

/** Stage 1's calls, in the config's order: put_user NAME HASH. */
export function renderPutUsers(users: readonly GuestUser[]): string[] {
  return users.flatMap((u) => [
    '# shellcheck disable=SC2016 # the $ of a crypt hash, quoted: no expansion meant',
    shCall('put_user', u.name, u.hash),
  ]);
}
