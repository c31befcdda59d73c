// A stand-in qemu-system-x86_64 for a directory put first on PATH: a shell
// script of the test's own, to see what the run script hands QEMU or to
// change what QEMU says of itself.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `dir`/qemu-system-x86_64 with `body` after the #!/bin/sh line; returns `dir`. */
export function fakeQemu(dir: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const qemu = join(dir, 'qemu-system-x86_64');
  writeFileSync(qemu, `#!/bin/sh\n${body}`);
  chmodSync(qemu, 0o755);
  return dir;
}
