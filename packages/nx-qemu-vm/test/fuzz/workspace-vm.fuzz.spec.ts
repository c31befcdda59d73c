// workspace-vm.json as an attacker or a careless user writes it. Random
// mutations of every golden config (types, ranges, unknown keys, odd machine
// names and paths, and shell metacharacters, quotes, newlines and commas in
// every string) must either be refused with a ConfigError that names a JSON
// path, or give scripts that sh parses, shellcheck accepts, and that, run
// against a stub QEMU, hand QEMU exactly the arguments the argv model says,
// with no string ever reaching the shell unquoted (a string that would
// create a marker file if it ran must never create it).
//
// Seeded: FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> sets the number of
// cases (default 2000). A failure prints the seed and the case.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/errors';
import { validateConfig } from '../../src/config/validate';
import { resolveConfig, type ResolvedMachine } from '../../src/config/resolve';
import { buildQemuArgv } from '../../src/qemu/argv';
import { evaluateArgv } from '../../src/quote/argv-words';
import { renderRunScript, serialConsole } from '../../src/qemu/run-script';
import { renderExecScript } from '../../src/qemu/exec-script';
import { renderStage1 } from '../../src/guest/stage1';
import { renderStage2 } from '../../src/guest/stage2';
import { type GoldenCase, listGoldenCases } from '../helpers/golden-cases';
import { fakeHost } from '../helpers/fake-host';
import { hostKernel } from '../helpers/boot-disk-testing';
import { type Json, mutate, paths } from './json-edits';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Scripts run against the stub QEMU: the slowest part, so a sample of the valid cases. */
const STUB_RUNS = Number(process.env.FUZZ_STUB_RUNS ?? 300);

describe(
  `workspace-vm.json fuzzing (seed ${SEED}, ${RUNS} cases)`,
  { timeout: 30 * 60_000 },
  () => {
    let dir: string;
    let marker: string;
    const cases = listGoldenCases();

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'nxqv-fuzz-'));
      marker = join(dir, 'PWNED');
      // A stub QEMU that records its arguments, NUL-separated; a stub qemu-img that makes empty files.
      mkdirSync(join(dir, 'bin'));
      const recorder = `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >"$FUZZ_ARGV"\n`;
      for (const name of [
        'qemu-system-x86_64',
        'qemu-system-i386',
        'qemu-system-aarch64',
        'qemu-custom',
      ]) {
        writeFileSync(join(dir, 'bin', name), recorder);
        chmodSync(join(dir, 'bin', name), 0o755);
      }
      writeFileSync(
        join(dir, 'bin', 'qemu-img'),
        '#!/bin/sh\nfor a in "$@"; do last=$a; done\nfor a in "$@"; do case $a in *.tmp-*|*/disk.img) : >"$a" ;; esac; done\n',
      );
      chmodSync(join(dir, 'bin', 'qemu-img'), 0o755);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // Strings a hostile or careless config might hold: each would do something
    // visible (create the marker, break the line, end a quote) if it ever
    // reached the shell unquoted.
    const hostile = () =>
      fc.constantFrom(
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `x; touch ${marker}`,
        `x\ntouch ${marker}`,
        `x' ; touch ${marker} ; '`,
        `x" ; touch ${marker} ; "`,
        '# comment',
        'a,b,,c',
        'space in it',
        '../../etc',
        '/etc/passwd',
        'dist//vm/vm/x.qcow2',
        'x/../dist/vm/x',
        '$HOME',
        '${IFS}',
        '*',
        '\\',
        '',
        'é€',
        'x'.repeat(300),
        '-device',
        '\u0000nul',
      );
    const anyValue = () =>
      fc.oneof(
        hostile(),
        fc.string(),
        fc.integer({ min: -5, max: 70000 }),
        fc.double({ noNaN: true }),
        // Past every limit, and printed by JavaScript as 1e+21 where it reaches a script.
        fc.constantFrom(1e21, 2 ** 53, 1e300),
        // A value that must never be echoed whole.
        fc.constant('y'.repeat(100_000)),
        fc.boolean(),
        fc.constant(null),
        fc.array(hostile(), { maxLength: 3 }),
        fc.dictionary(hostile(), hostile(), { maxKeys: 2 }),
      );

    /**
     * Where a string option sits in a machine, with the shape around it that
     * the schema's types accept: so that hostile text reaches the semantic
     * checks and the renderers, not only the type checks.
     */
    const PLACES: ((text: string) => [(string | number)[], Json])[] = [
      (t) => [['diskImage'], t],
      (t) => [['efiVars'], t],
      (t) => [['postBootCommands'], t],
      (t) => [['primaryIPAddress'], t],
      (t) => [['init'], `/${t}`],
      (t) => [['kernelParams'], [t]],
      (t) => [['store'], { source: t, target: `/${t}` }],
      (t) => [['sharedDirectories'], { data: { source: t, target: `/mnt/${t}` } }],
      (t) => [['fileSystems'], { [`/mnt/${t}`]: { device: t, fsType: 'ext4', options: [t] } }],
      (t) => [['qemu', 'options'], [t]],
      (t) => [['qemu', 'options'], [`-smbios type=1,serial=${t}`]],
      (t) => [['qemu', 'networkingOptions'], [`-netdev user,id=user.0,hostname=${t}`]],
      (t) => [['qemu', 'consoles'], [t]],
      (t) => [['qemu', 'machine'], t],
      (t) => [
        ['qemu', 'drives'],
        [{ file: t, driveExtraOpts: { cache: t }, deviceExtraOpts: { serial: t } }],
      ],
      (t) => [['qemu', 'drives'], [{ file: 'data.img', driveExtraOpts: { [t]: 'x' } }]],
      (t) => [['forwardPorts'], [{ host: { port: 2222, address: t }, guest: { port: 22 } }]],
      (_t) => [['emptyDiskImages'], [16]],
    ];

    type Edit =
      | { kind: 'text'; place: number; text: string }
      | { kind: 'any'; where: number | (string | number)[]; value: Json | null };

    const edit = (): fc.Arbitrary<Edit> =>
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('text' as const),
            place: fc.nat(),
            text: hostile(),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('any' as const),
            where: fc.oneof(
              fc.nat(),
              fc.constantFrom<(string | number)[]>(
                ['memorySize'],
                ['cores'],
                ['vlans'],
                ['qemu', 'diskInterface'],
                ['graphics'],
                ['msize'],
              ),
            ),
            value: fc.option(anyValue(), { freq: 6 }),
          }),
        },
      );

    const mutation = (c: GoldenCase) =>
      fc.record({
        machine: fc.constantFrom(...Object.keys(c.raw.machines)),
        // Now and then a machine gets a name of its own, mostly a bad one.
        rename: fc.oneof(
          { weight: 12, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: fc.oneof(
              hostile(),
              fc.constantFrom('ok-name', 'UPPER', '-x', 'a'.repeat(70)),
            ),
          },
        ),
        edits: fc.array(edit(), { minLength: 0, maxLength: 3 }),
      });

    function configOf(c: GoldenCase, m: { machine: string; rename: string | null; edits: Edit[] }) {
      let machine = c.raw.machines[m.machine] as Json;
      for (const e of m.edits) {
        if (e.kind === 'text') {
          const [path, value] = PLACES[e.place % PLACES.length](e.text);
          machine = mutate(machine, path, value);
        } else {
          const all = paths(machine);
          const path = typeof e.where === 'number' ? all[e.where % all.length] : e.where;
          machine = mutate(machine, path, e.value ?? undefined);
        }
      }
      const machines = { ...c.raw.machines } as Record<string, Json>;
      delete machines[m.machine];
      machines[m.rename ?? m.machine] = machine;
      return { machines };
    }

    const sample = { valid: 0, refused: 0, stubRuns: 0 };
    const reasons = new Map<string, number>();
    const scripts: string[] = [];

    it('refuses a bad config with a ConfigError naming a JSON path, or renders scripts sh can parse', (t) => {
      // Each case's fake host, with this host's kernel and files beside it (the stub runs read them).
      const hostOf = (c: GoldenCase) => {
        const fake = fakeHost({ files: [...c.hostFiles, hostKernel()] });
        return { ...fake, exists: (p: string) => fake.exists(p) || existsSync(p) };
      };
      fc.assert(
        fc.property(
          fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), mutation(c))),
          ([c, m]) => {
            const config = configOf(c, m);
            let resolved: Record<string, ResolvedMachine>;
            try {
              resolved = resolveConfig(validateConfig(config), hostOf(c));
            } catch (err) {
              if (!(err instanceof ConfigError)) throw err;
              assert.ok(err.issues.length > 0);
              for (const issue of err.issues) {
                assert.match(
                  issue.path,
                  /^(machines|\(root\)|\(file\)|[A-Za-z$])/,
                  JSON.stringify(issue),
                );
                assert.ok(issue.message.length > 5);
              }
              for (const line of err.message.split('\n'))
                assert.ok(line.length <= 1200, `a message line of ${line.length} characters`);
              sample.refused++;
              const reason = err.issues[0].message.replace(/"[^"]*"/g, '"…"').slice(0, 70);
              reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
              return;
            }
            sample.valid++;
            for (const r of Object.values(resolved)) {
              const numbers = [
                r.memorySize,
                r.cores,
                r.msize,
                r.diskSize ?? 1,
                ...r.emptyDiskSizes,
              ];
              for (const s of r.services) numbers.push(s.readyTimeout);
              for (const n of numbers)
                assert.match(String(n), /^\d+$/, 'a number reaches a script');
            }
            for (const r of Object.values(resolved)) {
              const texts = [
                renderRunScript(r),
                renderExecScript(r),
                renderStage1(r, { load: [{ name: 'virtio_blk', optional: false }] }),
                renderStage2(r),
              ];
              for (const text of texts) {
                const parsed = spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' });
                assert.equal(parsed.status, 0, `sh -n: ${parsed.stderr}\n${text}`);
              }
              if (scripts.length < 150) {
                const file = join(dir, `script-${scripts.length}.sh`);
                writeFileSync(file, texts[0]);
                scripts.push(file);
              }
              // A QEMU named by its path would run for real: only the stubs on PATH may answer.
              if (sample.stubRuns < STUB_RUNS && !r.qemu.binary.includes('/')) {
                sample.stubRuns++;
                runAgainstStub(r, texts[0]);
              }
            }
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      t.diagnostic(`${JSON.stringify(sample)}; most frequent refusals:`);
      for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8))
        t.diagnostic(`  ${n} × ${reason}`);
      assert.ok(!existsSync(marker), 'a string from the config ran as a command');
      assert.ok(sample.valid > RUNS / 6, `enough valid cases (${JSON.stringify(sample)})`);
      assert.ok(sample.refused > RUNS / 10, `enough refused cases (${JSON.stringify(sample)})`);
    });

    it('renders run scripts that shellcheck accepts', (t) => {
      assert.ok(scripts.length > 50, `${scripts.length} scripts`);
      const res = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', ...scripts], {
        encoding: 'utf8',
      });
      if (res.error) return t.skip('shellcheck is not installed (apt-get install shellcheck)');
      assert.equal(res.status, 0, res.stdout.slice(0, 4000));
    });

    /** The workspace's vlan multicast prefix, as the run script computes it. */
    function vlanNet(ws: string): string {
      const sum = spawnSync('sh', ['-c', 'printf %s "$1" | cksum', 'sh', ws], { encoding: 'utf8' });
      const crc = Number(sum.stdout.split(' ')[0]);
      return `230.${Math.floor(crc / 256) % 256}.${crc % 256}`;
    }

    /** Runs the script against the stub QEMU and compares what QEMU got with the argv model. */
    function runAgainstStub(r: ResolvedMachine, text: string): void {
      const ws = join(dir, 'ws');
      const scratch = join(dir, 'tmp');
      rmSync(ws, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
      const bin = join(ws, 'dist/vm', r.name, 'bin');
      mkdirSync(bin, { recursive: true });
      mkdirSync(scratch);
      // What the script checks for before it starts QEMU.
      const inWs = (p: string) => (p.startsWith('/') ? p : join(ws, p));
      for (const file of [r.kernel.initrd, r.paths.bootDisk, r.paths.bootDiskEfiVars])
        if (!file.startsWith('/')) {
          mkdirSync(join(inWs(file), '..'), { recursive: true });
          writeFileSync(inWs(file), 'x');
        }
      const script = join(bin, `run-${r.name}-vm`);
      writeFileSync(script, text, { mode: 0o755 });
      const env = {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        HOME: dir,
        TMPDIR: scratch,
        USE_TMPDIR: '1',
        VM_ACCEL: 'tcg',
        VM_DISK_IMAGE: join(dir, 'disk.qcow2'),
        VM_EFI_VARS: join(dir, 'vars.fd'),
        FUZZ_ARGV: join(dir, 'argv'),
      };
      rmSync(env.VM_DISK_IMAGE, { force: true });
      rmSync(env.FUZZ_ARGV, { force: true });
      const res = spawnSync(script, [], { env, encoding: 'utf8', timeout: 30_000 });
      if (res.status !== 0) {
        // Refusals of its own are fine (a kernel or template missing on the fake host); a shell error is not.
        assert.match(res.stderr, new RegExp(`^run-${r.name}-vm: `, 'm'), `${res.stderr}\n${text}`);
        return;
      }
      const got = readFileSync(env.FUZZ_ARGV, 'utf8').split('\0').slice(0, -1);
      const expected = evaluateArgv(buildQemuArgv(r), {
        vars: {
          ws,
          TMPDIR: scratch,
          control_dir: join(scratch, 'control'),
          shared_dir: join(scratch, 'xchg'),
          disk_image: env.VM_DISK_IMAGE,
          ...Object.fromEntries(
            r.paths.emptyDisks.map((p, i) => [`empty${i}`, isAbsolute(p) ? p : join(ws, p)]),
          ),
          efi_vars: env.VM_EFI_VARS,
          accel: 'tcg',
          vlan_net: vlanNet(ws),
        },
        // Without a display, a graphical machine runs on its serial console.
        // What $NAME in qemu.options can see: the script's environment, and IFS, which sh always sets.
        env: {
          ...env,
          IFS: ' \t\n',
          ...(r.graphics ? { QEMU_KERNEL_PARAMS: ` console=${serialConsole(r)}` } : {}),
        },
        args: r.graphics ? ['-nographic'] : [],
      });
      const want = expected.slice(1);
      const at = want.findIndex((w, i) => got[i] !== w);
      assert.deepEqual(
        got,
        want,
        `argument ${at}: QEMU got ${JSON.stringify(got[at])}, the model says ${JSON.stringify(want[at])}\n${text}`,
      );
    }
  },
);
