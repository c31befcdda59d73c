// system.from "debian": the image target builds the guest's store from Debian
// packages (mmdebstrap, then erofs), reproducibly and cached by what it is
// made of; the guest boots its kernel and runs its programs (real TCG boots).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { NX_TEST_ENV } from '../helpers/temp-workspace';
import { taskOutcomes } from '../helpers/nx-output';
import { sharedImagesDir } from '../../src/config/defaults';

describe('Debian images (system.from "debian")', () => {
  let ws: VmWorkspace;
  // openssh-server and ssl-cert make keys as they install: the image leaves them
  // out, so that two builds still give the same bytes (image-secrets.spec.ts boots them).
  const machine = (extra: object = {}) => ({
    graphics: false,
    system: { from: 'debian', packages: ['hello', 'openssh-server', 'ssl-cert'] },
    ...extra,
  });
  const imageDir = () => join(ws.root, 'dist/vm/deb/image');
  const checksums = () =>
    Object.fromEntries(
      readdirSync(imageDir())
        .sort()
        .map((f) => [
          f,
          createHash('sha256')
            .update(readFileSync(join(imageDir(), f)))
            .digest('hex'),
        ]),
    );
  let firstBuild: Record<string, string>;

  before(() => {
    ws = createVmWorkspace({ deb: machine() });
  });
  after(() => ws?.remove());

  it('boots the image: its kernel, its programs, its /etc and dpkg database', () => {
    // The proof that the program comes from the image, not from the host.
    const onHost = spawnSync('sh', ['-c', 'command -v hello'], { encoding: 'utf8' });
    assert.notEqual(onHost.status, 0, `this test needs a host without hello: ${onHost.stdout}`);
    const built = ws.nx(['run', 'deb:prepare']);
    assert.equal(built.status, 0, built.output);
    firstBuild = checksums();
    assert.deepEqual(
      Object.keys(firstBuild).filter((f) => !f.startsWith('config-')),
      ['kernel-release', 'manifest.txt', 'store.erofs', 'vmlinuz'],
    );
    const manifest = readFileSync(join(imageDir(), 'manifest.txt'), 'utf8');
    assert.match(manifest, /^hello \S+ amd64$/m);
    assert.match(manifest, /^linux-image-\S+-amd64 \S+ amd64$/m);
    const release = readFileSync(join(imageDir(), 'kernel-release'), 'utf8').trim();

    const run = ws.exec(
      'deb',
      'hello; uname -r; dpkg-query -W -f "\\${Version}\\n" hello; findmnt -n -o FSTYPE /.nx-store/ro',
    );
    assert.equal(run.status, 0, run.stderr + ws.consoleLog('deb').slice(-3000));
    const [greeting, kernel, version, fsType] = run.stdout.replace(/\r/g, '').trim().split('\n');
    assert.equal(greeting, 'Hello, world!');
    assert.equal(kernel, release, 'the kernel is the image one');
    assert.equal(`hello ${version} amd64`, /^hello .*$/m.exec(manifest)?.[0]);
    assert.equal(fsType, 'erofs');
  });

  it('builds the same bytes twice from the same packages', () => {
    // Without the shared build, mmdebstrap runs again.
    rmSync(join(ws.root, sharedImagesDir), { recursive: true, force: true });
    const again = ws.nx(['run', 'deb:image', '--skip-nx-cache']);
    assert.equal(again.status, 0, again.output);
    assert.deepEqual(checksums(), firstBuild);
  });

  it('comes from the cache when another field changes, and names a package that does not exist', () => {
    ws.writeConfig({ machines: { deb: machine({ memorySize: 640 }) } });
    const other = ws.nx(['run', 'deb:prepare']);
    assert.equal(other.status, 0, other.output);
    const outcomes = taskOutcomes(other.output);
    assert.equal(outcomes['deb:image'], 'cached', JSON.stringify(outcomes));
    assert.equal(outcomes['deb:build'], 'ran', JSON.stringify(outcomes));

    // A changed package list misses: the image step runs (and fails, quickly).
    ws.writeConfig({
      machines: {
        deb: machine({ system: { from: 'debian', packages: ['hello', 'no-such-package-nxvm'] } }),
      },
    });
    const missing = ws.nx(['run', 'deb:image']);
    assert.notEqual(missing.status, 0, missing.output);
    assert.equal(taskOutcomes(missing.output)['deb:image'], 'ran');
    assert.match(missing.output, /Debian bookworm has no package "no-such-package-nxvm"/);
    assert.deepEqual(checksums(), firstBuild, 'the published image is untouched');
    assert.deepEqual(
      readdirSync(join(ws.root, 'dist/vm/deb')).filter((f) => f.startsWith('.')),
      [],
      'no scratch is left',
    );
  });

  it('says that the image needs the mirror when the network is down', (t) => {
    ws.writeConfig({
      machines: { deb: machine({ system: { from: 'debian', packages: ['cowsay'] } }) },
    });
    // A network namespace of its own has no route anywhere.
    const probe = spawnSync('unshare', ['--net', 'true']);
    if (probe.status !== 0)
      return t.skip('unshare --net needs root here; the message is unit-tested');
    const res = spawnSync(
      'unshare',
      [
        '--net',
        process.execPath,
        join(ws.root, 'node_modules/nx/dist/bin/nx.js'),
        'run',
        'deb:image',
      ],
      {
        cwd: ws.root,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, ...NX_TEST_ENV },
      },
    );
    assert.notEqual(res.status, 0);
    assert.match(
      res.stdout + res.stderr,
      /needs the Debian mirror .* system\.from "host" needs no network/s,
    );
    assert.deepEqual(checksums(), firstBuild);
  });
});
