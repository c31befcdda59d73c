import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/validate';
import { resolveMachine, type ResolvedMachine } from '../config/resolve';
import { fakeHost } from '../../test/helpers/fake-host';
import { renderStage1 } from './stage1';
import { renderStage2 } from './stage2';

const machine = (m: object, name = 'vm'): ResolvedMachine =>
  resolveMachine(name, 1, validateConfig({ machines: { [name]: m } }).machines[name], fakeHost());
const modules = {
  load: [
    { name: 'virtio_blk', optional: false },
    { name: 'crc32c_intel', optional: true },
  ],
};

describe('stage 1', () => {
  const text = renderStage1(machine({ msize: 65536 }), modules);

  it('loads the modules in order, tolerating optional ones', () => {
    assert.match(text, /^load_module virtio_blk\nload_module crc32c_intel optional$/m);
  });

  it('formats the root only when blkid finds no file system', () => {
    assert.match(
      text,
      /fstype=\$\(\/sbin\/blkid -o value -s TYPE "\$root" \|\| true\)\nif \[ -z "\$fstype" \]; then/,
    );
    assert.match(text, /^root=\/dev\/vda$/m);
  });

  it('mounts the store read-only under the overlay, with the 9p options', () => {
    assert.match(
      text,
      /^mount_fs store \/mnt-root\/\.nx-store\/ro 9p trans=virtio,version=9p2000\.L,msize=65536,cache=loose,ro$/m,
    );
    assert.match(
      text,
      /^mount_fs overlay \/mnt-root\/usr overlay lowerdir=\/mnt-root\/\.nx-store\/ro,upperdir=\/mnt-root\/\.nx-store\/rw\/upper,workdir=\/mnt-root\/\.nx-store\/rw\/work$/m,
    );
    assert.ok(text.indexOf('/mnt-root/.nx-store/rw tmpfs') < text.indexOf('/mnt-root/usr overlay'));
  });

  it('does the NixOS post-mount steps and switches to the init', () => {
    assert.match(text, /: > \/mnt-root\/etc\/NX-QEMU-VM/);
    assert.match(
      text,
      /\[ -e \/mnt-root\/etc\/alternatives \] \|\| cp -a \/nx-qemu-vm\/etc-alternatives \/mnt-root\/etc\/alternatives/,
    );
    assert.match(text, /chmod 1777 \/mnt-root\/tmp/);
    assert.match(text, /mkdir -p .*\/mnt-root\/boot/);
    assert.match(text, /^init=\/run\/nx-qemu-vm\/init$/m);
    assert.match(text, /exec switch_root \/mnt-root "\$init"$/m);
  });

  it('quotes values from the config', () => {
    const odd = renderStage1(
      machine({ fileSystems: { "/mnt/it's": { device: '/dev/vdb', fsType: 'ext4' } } }),
      modules,
    );
    assert.match(odd, /mount_fs \/dev\/vdb '\/mnt-root\/mnt\/it'\\''s' ext4 defaults/);
  });
});

describe('stage 2', () => {
  const text = renderStage2(machine({ postBootCommands: "echo 'ready'", vlans: [1, 2] }, 'web'));

  it('sets the host name and the SLiRP and vlan addresses', () => {
    assert.match(text, /hostname web/);
    assert.match(text, /ip addr add 10\.0\.2\.15\/24 dev eth0 .*default via 10\.0\.2\.2/);
    assert.match(text, /ip addr add 192\.168\.1\.1\/24 dev eth1/);
    assert.match(text, /ip addr add 192\.168\.2\.1\/24 dev eth2/);
  });

  it('seeds /etc once, with the primary address in /etc/hosts', () => {
    assert.match(text, /if \[ ! -e \/etc\/passwd \]; then/);
    assert.match(text, /192\.168\.1\.1 web/);
    assert.match(text, /nameserver 10\.0\.2\.3/);
  });

  it('runs postBootCommands, quoted, then the shell or the exec command', () => {
    assert.match(text, /\/bin\/sh -c 'echo '\\''ready'\\''' \|\|/);
    assert.match(
      text,
      /\/bin\/sh \/tmp\/xchg\/\.nx-qemu-vm\/command <\/dev\/null >\/dev\/hvc0 2>&1/,
    );
    assert.match(text, /cttyhack "\$shell" -l/);
  });

  it('starts the guest agent only when enabled', () => {
    assert.match(text, /qemu-ga --daemonize/);
    assert.doesNotMatch(
      renderStage2(machine({ qemu: { guestAgent: { enable: false } } })),
      /qemu-ga/,
    );
  });
});
