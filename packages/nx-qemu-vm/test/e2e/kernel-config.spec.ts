// A kernel whose configuration lacks a required option is refused
// before anything boots, with the missing option named.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { newestKernel } from '../../src/config/resolve';

describe('kernel configuration check', { timeout: 300_000 }, () => {
  let ws: TempWorkspace | undefined;
  after(() => ws?.remove());

  it('fails the initrd target on a config without VIRTIO_BLK, naming it', () => {
    const kernel = newestKernel(
      readdirSync('/boot')
        .filter((f) => f.startsWith('vmlinuz-'))
        .map((f) => `/boot/${f}`),
    );
    assert.ok(kernel, 'a kernel is installed (linux-image-amd64)');
    const version = kernel.replace('/boot/vmlinuz-', '');
    ws = createTempWorkspace({ machines: {} });
    // Same kernel and modules, but a config beside the image that lacks VIRTIO_BLK.
    const image = join(ws.root, `vmlinuz-${version}`);
    copyFileSync(kernel, image);
    const config = readFileSync(`/boot/config-${version}`, 'utf8').replace(
      /^CONFIG_VIRTIO_BLK=.*$/m,
      '',
    );
    writeFileSync(join(ws.root, `config-${version}`), config);
    ws.writeConfig({ machines: { vm: { graphics: false, kernel: image } } });
    const res = ws.nx(['run', 'vm:initrd']);
    assert.notEqual(res.status, 0, res.output);
    assert.match(res.output, /VIRTIO_BLK/);
    assert.ok(!existsSync(join(ws.root, 'dist/vm/vm/initrd/initrd.img')), 'no initrd is written');
  });
});
