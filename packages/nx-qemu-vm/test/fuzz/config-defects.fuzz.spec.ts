// The classes of config defect that slip past a schema's types, generated on
// top of every golden config: numbers past what QEMU, qemu-img or a script
// take, more machines on a vlan than it has addresses, one guest mount point
// spelt several ways or hiding the boot's own, one image file attached twice,
// addresses that are not addresses, 100 kB strings and files nested deeper
// than any walk should go. Each must be refused with a ConfigError naming the
// machine and the JSON path, in a message of bounded length, and never with
// another error (a stack overflow, a TypeError).
//
// Seeded like workspace-vm.fuzz.spec.ts: FUZZ_SEED=<n> replays a run,
// FUZZ_RUNS=<n> sets the cases per class (default 60).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/errors';
import { parseConfigText } from '../../src/config/load';
import { MAX_NESTING } from '../../src/config/nesting';
import { VLAN_POSITIONS } from '../../src/config/network';
import { resolveConfig } from '../../src/config/resolve';
import { validateConfig } from '../../src/config/validate';
import { type GoldenCase, listGoldenCases } from '../helpers/golden-cases';
import { FAKE_WORKSPACE, fakeHost } from '../helpers/fake-host';
import { type Json, mutate, paths } from './json-edits';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** A line of a ConfigError may quote a path, a value and a message, each cut short. */
const MAX_LINE = 1200;

type Config = { machines: Record<string, Json> };
/** What a generated case must be refused for: the machine and where its path starts. */
interface Expected {
  machine: string;
  path: string;
  message?: RegExp;
}

/** Validates, resolves on the case's fake host, and returns the refusal. */
function refusal(c: GoldenCase, config: Config | string): ConfigError {
  const host = fakeHost({ files: c.hostFiles });
  try {
    const raw = typeof config === 'string' ? parseConfigText(config) : config;
    resolveConfig(validateConfig(raw), host);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw new Error(`not a ConfigError: ${String(err)}`, { cause: err });
  }
  assert.fail('the config was accepted');
}

function assertRefused(c: GoldenCase, config: Config | string, expected: Expected): void {
  const err = refusal(c, config);
  const found = err.issues.some(
    (i) =>
      i.machine === expected.machine &&
      i.path.startsWith(expected.path) &&
      (expected.message?.test(i.message) ?? true),
  );
  assert.ok(
    found,
    `no issue of machine ${expected.machine} at ${expected.path}${expected.message ? ` matching ${expected.message}` : ''}:\n${err.message.slice(0, 3000)}`,
  );
  for (const line of err.message.split('\n'))
    assert.ok(line.length <= MAX_LINE, `a line of ${line.length} characters`);
}

/** A golden case, one of its machines, and that machine's name in paths. */
const target = () =>
  fc
    .constantFrom(...listGoldenCases())
    .chain((c) => fc.tuple(fc.constant(c), fc.constantFrom(...Object.keys(c.raw.machines))));

const withMachine = (c: GoldenCase, name: string, machine: Json): Config => ({
  machines: { ...(c.raw.machines as Record<string, Json>), [name]: machine },
});

const at = (name: string, ...path: (string | number)[]) =>
  ['machines', name, ...path]
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s))
    .join('');

const check = <T>(arb: fc.Arbitrary<T>, run: (v: T) => void, runs = RUNS) =>
  fc.assert(fc.property(arb, run), { numRuns: runs, seed: SEED });

describe(`config defect classes (seed ${SEED}, ${RUNS} cases each)`, () => {
  it('refuses numbers past what QEMU, qemu-img and the scripts take', () => {
    // Above every option's largest value (2^31 MiB of disk is the largest); 1e21 prints as 1e+21.
    const huge = fc.oneof(
      fc.integer({ min: 2 ** 31 + 1, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(1e21, 1e300),
    );
    const places: ((n: number) => [(string | number)[], Json, string])[] = [
      (n) => [['memorySize'], n, 'memorySize'],
      (n) => [['cores'], n, 'cores'],
      (n) => [['diskSize'], n, 'diskSize'],
      (n) => [['emptyDiskImages'], [8, n], 'emptyDiskImages[1]'],
      (n) => [['msize'], n, 'msize'],
      (n) => [['resolution'], { x: n, y: 768 }, 'resolution.x'],
      (n) => [['vlans'], [n], 'vlans[0]'],
      (n) => [
        ['forwardPorts'],
        [{ host: { port: 8080 }, guest: { port: n } }],
        'forwardPorts[0].guest.port',
      ],
      (n) => [['services'], { s: { command: 'true', readyTimeout: n } }, 'services.s.readyTimeout'],
      (n) => [['services'], { s: { command: 'true', ready: { port: n } } }, 'services.s.ready'],
      // Past the 64 bits the guest kernel counts tmpfs bytes in (the machine gets tmpOnTmpfs).
      (n) => [['tmpOnTmpfsSize'], `${BigInt(n) * 2n ** 34n}`, 'tmpOnTmpfsSize'],
    ];
    check(fc.tuple(target(), fc.nat(places.length - 1), huge), ([[c, name], place, n]) => {
      const [path, value, shown] = places[place](n);
      const tmpfs = mutate(c.raw.machines[name] as Json, ['tmpOnTmpfs'], true);
      const machine = mutate(tmpfs, path, value);
      assertRefused(c, withMachine(c, name, machine), {
        machine: name,
        path: at(name).concat(shown.startsWith('[') ? '' : '.', shown),
        message: /must be|past the 64-bit/,
      });
    });
  });

  it('refuses a machine on a vlan past the addresses the vlan holds', () => {
    check(
      fc.tuple(target(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 40 })),
      ([[c], vlan, extra]) => {
        const machines = { ...(c.raw.machines as Record<string, Json>) };
        const filler = VLAN_POSITIONS + extra - Object.keys(machines).length;
        for (let i = 0; i < filler; i++) machines[`fuzz-${i}`] = { vlans: [vlan] };
        const last = `fuzz-${filler - 1}`;
        assertRefused(
          c,
          { machines },
          {
            machine: last,
            path: at(last, 'vlans', 0),
            message: new RegExp(`^vlan ${vlan} has \\d+ machines.*1 to ${VLAN_POSITIONS}`),
          },
        );
      },
      Math.max(5, RUNS / 6),
    );
  });

  it('refuses a guest mount point spelt two ways, or over a mount the boot makes', () => {
    const spellings = fc.constantFrom(
      (p: string) => `${p}/`,
      (p: string) => `/${p}`,
      (p: string) => p.replace(/^\//, '/./'),
      (p: string) => `/x/..${p}`,
      (p: string) => p.replace(/\/([^/]*)$/, '//$1'),
    );
    const hidden = fc.constantFrom(
      '/',
      '/.nx-store',
      '/.nx-store/ro',
      '/dev',
      '/proc/x',
      '/run',
      '/sys',
    );
    const mount = (kind: 'fs' | 'share', point: string): [(string | number)[], Json, string] =>
      kind === 'fs'
        ? [['fileSystems', point], { device: 'tmpfs', fsType: 'tmpfs' }, 'fileSystems']
        : [
            ['sharedDirectories', 'fuzz'],
            { source: 'data', target: point },
            'sharedDirectories.fuzz.target',
          ];
    check(
      fc.tuple(
        target(),
        fc.constantFrom<'fs' | 'share'>('fs', 'share'),
        fc.oneof(
          fc.tuple(
            fc.constant('spelt' as const),
            spellings,
            fc.constantFrom('/fuzz', '/mnt/fuzz/data'),
          ),
          fc.tuple(
            fc.constant('hidden' as const),
            fc.constant((p: string) => p),
            hidden,
          ),
        ),
      ),
      ([[c, name], kind, [why, spell, base]]) => {
        let machine = c.raw.machines[name] as Json;
        // The plain spelling is mounted once; a second spelling of it, or a boot mount, is refused.
        if (why === 'spelt') {
          const [p, v] = mount(kind === 'fs' ? 'share' : 'fs', base);
          machine = mutate(machine, p, v);
        }
        const [path, value, shown] = mount(kind, spell(base));
        machine = mutate(machine, path, value);
        assertRefused(c, withMachine(c, name, machine), {
          machine: name,
          path: `${at(name)}.${shown}`,
        });
      },
    );
  });

  it('refuses one image file attached twice, in any spelling, by one machine or two', () => {
    const spellings = fc.constantFrom(
      (p: string) => p,
      (p: string) => `./${p}`,
      (p: string) => p.replace('/', '//'),
      (p: string) => p.replace('/', '/./'),
      (p: string) => `x/../${p}`,
      (p: string) => `${FAKE_WORKSPACE}/${p}`,
    );
    check(fc.tuple(target(), spellings, fc.boolean()), ([[c, name], spell, across]) => {
      const machine = c.raw.machines[name] as Json;
      if (!across) {
        // The root disk given again as an extra drive.
        const disk = 'disks/fuzz-root.qcow2';
        const edited = mutate(
          mutate(machine, ['diskImage'], disk),
          ['qemu', 'drives'],
          [{ file: spell(disk) }],
        );
        // A ready state refuses drives of yours outright, before files are compared.
        const ready = (machine as { warmStart?: unknown }).warmStart === 'ready';
        assertRefused(c, withMachine(c, name, edited), {
          machine: name,
          path: ready ? at(name, 'warmStart') : at(name, 'qemu', 'drives', 0, 'file'),
          message: ready ? /qemu\.drives/ : /same file as/,
        });
        return;
      }
      // Another machine attaches this one's default root disk.
      const config = withMachine(c, 'fuzz-other', {
        vlans: [],
        qemu: { drives: [{ file: spell(`.vm/${name}/${name}.qcow2`) }] },
      });
      const diskImage = (machine as { diskImage?: string }).diskImage;
      if (diskImage !== undefined) return; // that machine names its own disk
      assertRefused(c, config, {
        machine: 'fuzz-other',
        path: at('fuzz-other', 'qemu', 'drives', 0, 'file'),
        message: new RegExp(`same file as ${at(name, 'diskImage').replace(/[.[\]]/g, '\\$&')}`),
      });
    });
  });

  it('refuses a primaryIPAddress that is not an IPv4 address', () => {
    const notAddress = fc.oneof(
      fc.string({ minLength: 1 }).filter((s) => !/^\d+\.\d+\.\d+\.\d+$/.test(s)),
      fc.constantFrom('256.1.1.1', '1.2.3', '::1', 'localhost', '1.2.3.4 evil', '1.2.3.4\n'),
      fc.tuple(fc.nat(300), fc.nat(300)).map(([a, b]) => `10.${a}.${b}.${a + b + 256}`),
    );
    check(fc.tuple(target(), notAddress), ([[c, name], address]) => {
      const machine = mutate(c.raw.machines[name] as Json, ['primaryIPAddress'], address);
      assertRefused(c, withMachine(c, name, machine), {
        machine: name,
        path: at(name, 'primaryIPAddress'),
      });
    });
  });

  it('cuts a 100 kB value, key or name short in every message', () => {
    const long = fc
      .tuple(fc.constantFrom('a', 'é', ' ', '/', 'x,'), fc.integer({ min: 100_000, max: 110_000 }))
      .map(([unit, n]) => unit.repeat(n));
    // Each place is refused whatever the text: a newline is a control character.
    const places: ((t: string) => [(string | number)[], Json, string])[] = [
      (t) => [['diskImage'], `${t}\n`, 'diskImage'],
      (t) => [['kernelParams'], [`${t}\n`], 'kernelParams[0]'],
      (t) => [['primaryIPAddress'], t, 'primaryIPAddress'],
      (t) => [[t], 1, ''],
      (t) => [['fileSystems', `/${t}\n`], { device: t, fsType: 'ext4' }, 'fileSystems'],
      (t) => [['qemu', 'options'], [`-name ${t}\`id\``], 'qemu.options[0]'],
      (t) => [['services'], { s: { command: 'x', after: [t] } }, 'services.s.after[0]'],
    ];
    check(
      fc.tuple(target(), long, fc.nat(places.length - 1)),
      ([[c, name], text, place]) => {
        const [path, value, shown] = places[place](text);
        const machine = mutate(c.raw.machines[name] as Json, path, value);
        assertRefused(c, withMachine(c, name, machine), {
          machine: name,
          path: shown ? at(name).concat(shown.startsWith('[') ? '' : '.', shown) : at(name),
        });
      },
      Math.max(10, RUNS / 3),
    );
  });

  it('refuses a file nested deeper than any walk goes, naming the file, without a stack overflow', () => {
    check(
      fc.tuple(
        target(),
        fc.integer({ min: MAX_NESTING, max: 200_000 }),
        fc.constantFrom('[', '{"k":'),
        fc.nat(),
      ),
      ([[c, name], depth, open, where]) => {
        const machine = c.raw.machines[name] as Json;
        const all = paths(machine);
        const path = all[where % all.length];
        const placed = mutate(machine, path, '__DEEP__');
        const close = open === '[' ? ']' : '}';
        const text = JSON.stringify(withMachine(c, name, placed)).replace(
          '"__DEEP__"',
          `${open.repeat(depth)}1${close.repeat(depth)}`,
        );
        const err = refusal(c, text);
        assert.equal(err.issues.length, 1, err.message.slice(0, 2000));
        assert.equal(err.issues[0].machine, name);
        assert.ok(err.issues[0].path.startsWith(at(name)), err.issues[0].path);
        assert.match(err.message, /^workspace-vm\.json has 1 problem/);
        assert.match(err.issues[0].message, new RegExp(`nests deeper than ${MAX_NESTING} levels`));
        assert.ok(err.message.length <= MAX_LINE, `${err.message.length} characters`);
      },
      Math.max(10, RUNS / 3),
    );
  });
});
