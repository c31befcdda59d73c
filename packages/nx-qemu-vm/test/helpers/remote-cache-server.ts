// A throwaway Nx remote cache for tests: tools/remote-cache/serve.sh (nginx)
// on a free loopback port, in its own temporary directory, with random tokens.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './temp-workspace';
import { freePort } from './free-port';

export const SERVE_SH = join(REPO_ROOT, 'tools/remote-cache/serve.sh');

export interface RemoteCacheServer {
  /** Base URL, the value of NX_SELF_HOSTED_REMOTE_CACHE_SERVER. */
  url: string;
  /** The read-write token. */
  token: string;
  /** A token that may only read. */
  readOnlyToken: string;
  /** The server's data directory. */
  dir: string;
  /** The environment that points Nx at this server (with another token if given). */
  env(token?: string): Record<string, string>;
  /** Hashes stored on the server. */
  entries(): string[];
  /** The access log, one request per line: `<time> <addr> "<request>" <status> ...`. */
  accessLog(): string[];
  stop(): void;
}

export async function startRemoteCacheServer(): Promise<RemoteCacheServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-remote-cache-'));
  const token = randomBytes(24).toString('hex');
  const readOnlyToken = randomBytes(24).toString('hex');
  const serve = (args: string[], env: Record<string, string> = {}, input = '') =>
    spawnSync(SERVE_SH, args, {
      encoding: 'utf8',
      timeout: 60_000,
      input,
      env: { ...process.env, ...env },
    });
  const stop = () => {
    serve(['stop', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
  let failure = '';
  // Another process may take the port between our probe and nginx's bind: retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // Tokens through the environment and stdin, not argv (which ps shows).
    const res = serve(
      ['start', '--dir', dir, '--port', String(port), '--read-only-token-file', '-'],
      { NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token },
      `${readOnlyToken}\n`,
    );
    if (res.status !== 0) {
      failure = `${res.stdout}${res.stderr}`;
      continue;
    }
    const url = `http://127.0.0.1:${port}`;
    const store = join(dir, 'store/v1/cache');
    const log = join(dir, 'logs/access.log');
    return {
      url,
      token,
      readOnlyToken,
      dir,
      env: (t = token) => ({
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: t,
      }),
      entries: () => (existsSync(store) ? readdirSync(store).sort() : []),
      accessLog: () =>
        existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [],
      stop,
    };
  }
  stop();
  throw new Error(`the remote cache server did not start:\n${failure}`);
}
