// The guest's side of a snapshot. QEMU refuses to save a machine while a 9p
// share is mounted in it (its file server's state is not part of a saved
// state), so the shares are unmounted for the save and mounted again after
// it, and after a restore; a restored guest also wakes with the clock and
// random state of the saved moment. The agent makes these system calls
// itself: a guest just restored runs cold under TCG, where each program it
// starts costs a tenth of a second or more. A share something still uses
// takes the shell's slower way (snapshot-guest.sh). Pure: the calls' shapes
// are unit-tested, and the boots in test/e2e/snapshots.spec.ts prove them.
import { GUEST_LONG_BYTES, GUEST_SYSCALLS } from '../contract/host-guest';
import type { GuestArch } from '../config/defaults';
import { shellFile } from '../host/shell-file';
import { shQuote } from '../quote/shell';
import type { SystemCall } from './agent-protocol';

/** A 9p share as stage 1 mounted it. */
export interface ShareMount {
  tag: string;
  mountPoint: string;
  options: string[];
}

/** errno(3): umount2 of what is not mounted. */
export const EINVAL = 22;
const MS_RDONLY = 1;

/** A C string argument; Perl ends it with the NUL. */
function cString(text: string): Buffer {
  if (text.includes('\0')) throw new TypeError(`a NUL byte in ${JSON.stringify(text)}`);
  return Buffer.from(text);
}

/** umount2(mount point, 0) for each share, the last mounted first. */
export function unmountCalls(arch: GuestArch, shares: readonly ShareMount[]): SystemCall[] {
  const nr = GUEST_SYSCALLS[arch].umount2;
  return [...shares].reverse().map((s) => ({ call: nr, args: [cString(s.mountPoint), 0] }));
}

/** mount(2) for each share, in order, with stage 1's options ("ro" as its flag). */
export function mountCalls(arch: GuestArch, shares: readonly ShareMount[]): SystemCall[] {
  const nr = GUEST_SYSCALLS[arch].mount;
  return shares.map((s) => ({
    call: nr,
    args: [
      cString(s.tag),
      cString(s.mountPoint),
      cString('9p'),
      s.options.includes('ro') ? MS_RDONLY : 0,
      cString(s.options.filter((o) => o !== 'ro').join(',')),
    ],
  }));
}

/** settimeofday(2) to the host's clock, then fresh bytes for the kernel's random generator. */
export function clockAndSeedCalls(arch: GuestArch, epochMs: number, seed: Buffer): SystemCall[] {
  if (!Number.isSafeInteger(epochMs) || epochMs < 0) throw new RangeError(`not a time: ${epochMs}`);
  // struct timeval: seconds and microseconds, each the guest's long (little-endian on every arch we run).
  const size = GUEST_LONG_BYTES[arch];
  const timeval = Buffer.alloc(2 * size);
  const put = (value: number, at: number) =>
    size === 8 ? timeval.writeBigInt64LE(BigInt(value), at) : timeval.writeInt32LE(value, at);
  put(Math.floor(epochMs / 1000), 0);
  put((epochMs % 1000) * 1000, size);
  return [
    { call: GUEST_SYSCALLS[arch].settimeofday, args: [timeval, 0] },
    { call: 'reseed', args: [seed] },
  ];
}

const GUEST = shellFile('test-driver/snapshot-guest.sh').trimEnd();

/** What uses each of these shares, on stderr. */
export const inUseCommand = (mountPoints: readonly string[]) =>
  `${GUEST}\nin_use ${mountPoints.map(shQuote).join(' ')}`;

/**
 * After a ready state's restore: this run's install images mounted in place
 * of the saved ones, and the declared services' units restarted on them.
 */
export const swapInstallsCommand = (mountPoints: readonly string[], units: readonly string[]) =>
  `${GUEST}\nunits=${shQuote(units.join(' '))}\nswap_installs ${mountPoints.map(shQuote).join(' ')}`;
