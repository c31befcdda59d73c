// Unpacks a bzImage's kernel for PVH boot (see pvh-kernel.ts): gzip in
// process, XZ and zstd with Debian's tools. Any kernel that cannot be
// unpacked, or has no PVH entry, is simply booted as it is.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { runToolBuffer } from '../host/run-tool';
import { bzImagePayload, pvhProblem, type KernelPayload } from './pvh-kernel';

const DECOMPRESSORS: Partial<
  Record<KernelPayload['compression'], (data: Buffer) => Promise<Buffer>>
> = {
  gzip: (data) => Promise.resolve(gunzipSync(data)),
  xz: async (data) =>
    (
      await runToolBuffer('xz', ['-dc', '--single-stream'], {
        input: data,
        debianPackage: 'xz-utils',
      })
    ).stdout,
  zstd: async (data) =>
    (await runToolBuffer('zstd', ['-dcq'], { input: data, debianPackage: 'zstd' })).stdout,
};

/** The uncompressed ELF kernel of `image`, or why it stays as it is. */
export async function unpackPvhKernel(image: string): Promise<{ elf: Buffer } | { why: string }> {
  const payload = bzImagePayload(readFileSync(image));
  if ('why' in payload) return payload;
  const decompress = DECOMPRESSORS[payload.compression];
  if (!decompress) return { why: `its ${payload.compression} payload has no decompressor here` };
  const elf = await decompress(payload.data);
  if (elf.length !== payload.size)
    return { why: `it unpacked to ${elf.length} bytes, not the ${payload.size} it names` };
  const problem = pvhProblem(elf);
  return problem ? { why: problem } : { elf };
}
