// Proves TARGET_FIELDS against the code: every option of every golden config
// is removed in turn (falling back to its default), and each target's pure
// product is compared. A field that changes a product but is not hashed would
// let Nx serve a stale VM; a hashed field that never changes it reruns for nothing.
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../config/resolve';
import { validateConfig } from '../config/validate';
import { fakeHost } from '../../test/helpers/fake-host';
import { listGoldenCases } from '../../test/helpers/golden-cases';
import { TARGET_FIELDS, hostInputs, machineFieldsInput } from './target-inputs';
import { targetProduct } from './target-products';
import { INITRD_HOST_TOOLS } from '../initrd/initrd-tools';
import schema from '../../workspace-vm.schema.json';

type Target = keyof typeof TARGET_FIELDS;
const TARGETS = Object.keys(TARGET_FIELDS) as Target[];

/** Top-level options, with the qemu group split into its members (they matter to different targets). */
function fieldPaths(): string[] {
  const machine = (
    schema as { definitions: { machine: { properties: Record<string, { properties?: object }> } } }
  ).definitions.machine;
  return Object.entries(machine.properties).flatMap(([key, node]) =>
    key === 'qemu' ? Object.keys(node.properties ?? {}).map((sub) => `qemu.${sub}`) : [key],
  );
}

function without(
  machine: Record<string, unknown>,
  path: string,
): Record<string, unknown> | undefined {
  const [head, sub] = path.split('.');
  if (!(head in machine)) return undefined;
  const copy: Record<string, unknown> = { ...machine };
  if (sub === undefined) delete copy[head];
  else {
    const group = { ...(copy[head] as Record<string, unknown>) };
    if (!(sub in group)) return undefined;
    delete group[sub];
    copy[head] = group;
  }
  return copy;
}

/** target -> fields whose removal changed its product in some golden machine (with an example). */
function measureSensitivity(): Map<Target, Map<string, string>> {
  const found = new Map<Target, Map<string, string>>(TARGETS.map((t) => [t, new Map()]));
  for (const c of listGoldenCases()) {
    const host = fakeHost({ files: c.hostFiles });
    // Each machine as written, and with a boot loader built either way, so that the boot disk's options are exercised too.
    const bases = Object.entries(c.raw.machines).flatMap(
      ([name, raw]) =>
        [
          [name, raw],
          [name, { ...raw, useBootLoader: true }],
          [name, { ...raw, useBootLoader: true, bootDiskBuilder: 'host' }],
        ] as const,
    );
    for (const [name, raw] of bases) {
      let original;
      try {
        original = resolveConfig(
          validateConfig({ ...c.raw, machines: { ...c.raw.machines, [name]: raw } }),
          host,
        )[name];
      } catch {
        continue;
      }
      for (const field of fieldPaths()) {
        const variant = without(raw, field);
        if (!variant) continue;
        let changed;
        try {
          changed = resolveConfig(
            validateConfig({ ...c.raw, machines: { ...c.raw.machines, [name]: variant } }),
            host,
          )[name];
        } catch {
          continue; // the option was needed by another; no valid variant here
        }
        for (const t of TARGETS)
          if (targetProduct(t, original) !== targetProduct(t, changed) && !found.get(t)!.has(field))
            found.get(t)!.set(field, `${c.name}/${name}`);
      }
    }
  }
  return found;
}

describe('cached targets hash exactly the options that change them', () => {
  const measured = measureSensitivity();
  for (const t of TARGETS) {
    it(`${t}: every option that changes its output is an input`, () => {
      const missing = [...measured.get(t)!]
        .filter(([f]) => !TARGET_FIELDS[t].includes(f))
        .map(([f, where]) => `${f} (changes it in ${where})`);
      assert.deepEqual(missing, [], `add to TARGET_FIELDS['${t}']`);
    });
    it(`${t}: no option is an input unless it changes its output`, () => {
      const needless = TARGET_FIELDS[t].filter((f) => !measured.get(t)!.has(f));
      assert.deepEqual(
        needless,
        [],
        `remove from TARGET_FIELDS['${t}'], or add a golden case where it matters`,
      );
    });
  }

  it('gives each target at most one runtime command, which a shell runs as one', () => {
    const m = validateConfig({
      machines: {
        host: { useBootLoader: true, useEFIBoot: true },
        deb: { system: { from: 'debian' }, useBootLoader: true },
      },
    }).machines;
    for (const machine of Object.values(m))
      for (const target of ['config', 'image', 'initrd', 'boot-disk', 'build'] as const) {
        const commands = hostInputs(target, machine).flatMap((i) =>
          typeof i === 'object' && 'runtime' in i ? [i.runtime] : [],
        );
        assert.ok(commands.length <= 1, `${target}: ${commands.join(' | ')}`);
        for (const command of commands) {
          const res = spawnSync('sh', ['-n', '-c', command]);
          assert.equal(res.status, 0, `${target}: sh -n ${command}`);
        }
      }
  });

  it('builds Nx json inputs with dotted paths under the machine', () => {
    assert.deepEqual(machineFieldsInput('web', ['memorySize', 'qemu.options']), {
      json: '{workspaceRoot}/workspace-vm.json',
      fields: ['machines.web.memorySize', 'machines.web.qemu.options'],
    });
    assert.deepEqual(machineFieldsInput('web', 'all').fields, ['machines.web']);
  });

  it('hashes the kernel by content, and the /etc/alternatives links only when the host store is the guest store', () => {
    const m = validateConfig({
      machines: {
        a: {},
        b: { kernel: "/k/it's", store: { source: '/opt/store', target: '/usr' } },
      },
    }).machines;
    const runtime = (i: unknown) =>
      typeof i === 'object' && i !== null && 'runtime' in i ? String(i.runtime) : '';
    assert.ok(
      hostInputs('initrd', m.a).some((i) => runtime(i).includes('(sha256sum /boot/vmlinuz-*')),
    );
    assert.ok(
      hostInputs('initrd', m.b).some((i) => runtime(i).includes(`(sha256sum '/k/it'\\''s'`)),
    );
    assert.ok(hostInputs('initrd', m.a).some((i) => runtime(i).includes('/etc/alternatives')));
    assert.ok(!hostInputs('initrd', m.b).some((i) => runtime(i).includes('/etc/alternatives')));
  });

  it('hashes every file the initrd may copy a host tool from, and their packages', () => {
    const { host } = validateConfig({ machines: { host: {} } }).machines;
    const [command] = hostInputs('initrd', host).flatMap((i) =>
      typeof i === 'object' && 'runtime' in i ? [i.runtime] : [],
    );
    // Written out in full: the cache key of every existing initrd depends on this text.
    assert.ok(
      command.includes(
        '(sha256sum /bin/busybox /usr/bin/busybox /sbin/mke2fs /usr/sbin/mke2fs /sbin/e2fsck /usr/sbin/e2fsck /sbin/blkid /usr/sbin/blkid 2>/dev/null || true)',
      ),
      command,
    );
    for (const tool of INITRD_HOST_TOOLS) {
      for (const path of tool.candidates) assert.ok(command.includes(` ${path} `), path);
      assert.ok(command.includes(` ${tool.debianPackage} `), tool.debianPackage);
    }
    assert.ok(
      command.includes(
        "-W -f='${Package}=${Version}\\n' busybox-static e2fsprogs util-linux libc6 ",
      ),
    );
  });
});
