// The initrd of an image-built machine takes the kernel's modules, busybox and
// the e2fsprogs tools from the image: fsck.erofs unpacks it (checking every
// file on the way) into a scratch directory that is removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../host/run-tool';

export async function withExtractedStore<T>(
  image: string,
  log: (line: string) => void,
  use: (store: string) => Promise<T>,
): Promise<T> {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-store-'));
  try {
    const store = join(scratch, 'usr');
    log(`unpacking ${image}`);
    // As ourselves: the files are only read, never booted from here.
    await runTool('fsck.erofs', [`--extract=${store}`, '--no-preserve', image], {
      debianPackage: 'erofs-utils',
      attached: true,
    });
    return await use(store);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
