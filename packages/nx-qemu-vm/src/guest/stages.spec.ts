import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOnFakeHost, TEST_STAGE1_MODULES } from '../../test/helpers/resolved-machine';
import { renderStage1 } from './stage1';
import { renderStage2 } from './stage2';

const machine = resolveOnFakeHost;
const modules = TEST_STAGE1_MODULES;

describe('stage 1', () => {
  const text = renderStage1(machine({ msize: 65536 }), modules);

  it('starts with a header of quoted values, then the static program', () => {
    assert.match(text, /^#!\/bin\/busybox sh\n/);
    assert.match(text, /^modules='virtio_blk crc32c_intel:optional'$/m);
    assert.match(text, /^root_device=\/dev\/vda$/m);
    assert.match(text, /^init=\/run\/nx-qemu-vm\/init$/m);
    assert.match(text, /^ninep=trans=virtio,version=9p2000\.L,msize=65536$/m);
    assert.ok(text.indexOf('\nmount_early() {') < text.indexOf('# Stage 1 of an nx-qemu-vm guest'));
  });

  it('mounts the store read-only under the overlay, with the 9p options', () => {
    assert.match(
      text,
      /^ {2}mount_fs store \/mnt-root\/\.nx-store\/ro 9p trans=virtio,version=9p2000\.L,msize=65536,cache=loose,ro$/m,
    );
    assert.match(
      text,
      /^ {2}mount_fs overlay \/mnt-root\/usr overlay lowerdir=\/mnt-root\/\.nx-store\/ro,upperdir=\/mnt-root\/\.nx-store\/rw\/upper,workdir=\/mnt-root\/\.nx-store\/rw\/work$/m,
    );
    assert.ok(text.indexOf('/mnt-root/.nx-store/rw tmpfs') < text.indexOf('/mnt-root/usr overlay'));
  });

  it('quotes values from the config', () => {
    const odd = renderStage1(
      machine({ fileSystems: { "/mnt/it's $(x)": { device: '/dev/vdb', fsType: 'ext4' } } }),
      modules,
    );
    assert.match(odd, /mount_fs \/dev\/vdb '\/mnt-root\/mnt\/it'\\''s \$\(x\)' ext4 defaults/);
  });
});

describe('stage 2', () => {
  const text = renderStage2(machine({ postBootCommands: "echo 'ready'", vlans: [1, 2] }, 'web'));

  it('carries the host name, the addresses and the vlan NICs in its header', () => {
    assert.match(text, /^#!\/run\/nx-qemu-vm\/busybox sh\n/);
    assert.match(text, /^host_name=web$/m);
    assert.match(text, /^vlan_nics='eth1:192\.168\.1\.1:1 eth2:192\.168\.2\.1:2'$/m);
  });

  it('quotes postBootCommands, and starts the guest agent only when enabled', () => {
    assert.match(text, /^post_boot_commands='echo '\\''ready'\\'''$/m);
    assert.match(text, /^guest_agent=1$/m);
    assert.match(
      renderStage2(machine({ qemu: { guestAgent: { enable: false } } })),
      /^guest_agent=0$/m,
    );
  });
});
