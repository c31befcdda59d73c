// A private npm registry for the package's end-to-end test: Verdaccio on
// 127.0.0.1 with its storage in a temporary directory. nx-qemu-vm is served
// only from what the test publishes; every other package comes through from
// the public registry (and is kept in the temporary storage for the run).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';
import { REPO_ROOT } from './temp-workspace';

export interface LocalRegistry {
  url: string;
  /** An npmrc that points npm at the registry, with a token that may publish. */
  npmrc: string;
  log: () => string;
  stop(): Promise<void>;
}

function config(dir: string): string {
  // JSON is YAML, and needs no quoting rules of its own.
  return JSON.stringify({
    storage: join(dir, 'storage'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: 10 } },
    uplinks: { npmjs: { url: 'https://registry.npmjs.org/', timeout: '120s', maxage: '60m' } },
    packages: {
      'nx-qemu-vm': { access: '$all', publish: '$authenticated' },
      '**': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
    },
    log: { type: 'stdout', format: 'pretty', level: 'warn' },
  });
}

async function waitForPing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${log()}`);
}

/** Starts Verdaccio and registers a user whose token can publish. */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, config(dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/verdaccio/bin/verdaccio'),
      '--config',
      configFile,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const log = () => output;
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  try {
    await waitForPing(url, child, log);
    const res = await fetch(`${url}-/user/org.couchdb.user:e2e`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e', password: 'e2e-password' }),
    });
    const { token } = (await res.json()) as { token?: string };
    if (!token) throw new Error(`verdaccio registered no user (${res.status})`);
    const npmrc = join(dir, 'npmrc');
    writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    return { url, npmrc, log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface PublishedPackage {
  /** A copy of the tarball `npm run package` made in dist/pack, this caller's own. */
  tarball: string;
  /** What `npm run package` printed. */
  packOutput: string;
}

/** Packs this repository's package (`npm run package`) and publishes it to the registry. */
export function packAndPublish(registry: LocalRegistry): PublishedPackage {
  // Suites that run at once both pack: one at a time (flock), and each
  // publishes its own copy, which the other's packing cannot replace.
  const own = mkdtempSync(join(tmpdir(), 'nxqv-pack-'));
  const packed = spawnSync(
    'flock',
    [
      join(tmpdir(), 'nx-qemu-vm-pack.lock'),
      'sh',
      '-c',
      'npm run --silent package && cp dist/pack/*.tgz "$1"',
      'sh',
      own,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 },
  );
  if (packed.status !== 0)
    throw new Error(`npm run package failed:\n${packed.stdout}${packed.stderr}`);
  const tarballs = readdirSync(own);
  if (tarballs.length !== 1)
    throw new Error(`not one tarball from dist/pack: ${tarballs.join(', ')}`);
  const tarball = join(own, tarballs[0]);
  const published = spawnSync('npm', ['publish', tarball], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_userconfig: registry.npmrc },
  });
  if (published.status !== 0)
    throw new Error(`npm publish failed:\n${published.stdout}${published.stderr}`);
  return { tarball, packOutput: packed.stdout };
}
