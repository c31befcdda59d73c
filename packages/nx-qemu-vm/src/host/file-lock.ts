// One process at a time across processes: flock(1)'s lock on a file, held
// while `use` runs. flock takes the lock, then runs cat on our stdin pipe;
// closing the pipe ends cat and frees the lock. Should this process die
// however it dies, the pipe closes (and setpriv kills flock), so no lock
// outlives its holder and none is ever stale.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { whenInterrupted } from './interruption';

const LOCKED = 'locked\n';

export async function withFileLock<T>(
  lockFile: string,
  onWait: () => void,
  use: () => Promise<T>,
): Promise<T> {
  mkdirSync(dirname(lockFile), { recursive: true });
  const holder = execa('setpriv', ['--pdeathsig', 'KILL', '--', 'flock', lockFile, 'cat'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    env: { LC_ALL: 'C' },
  });
  const stopListening = whenInterrupted(() => holder.kill('SIGKILL'));
  try {
    // Said once the lock is someone else's for more than a moment.
    const waitNotice = setTimeout(onWait, 1000);
    // A holder that could not start leaves the pipe closed: its status says why.
    holder.stdin?.on('error', () => undefined);
    holder.stdin?.write(LOCKED);
    const locked = await new Promise<boolean>((resolve) => {
      let said = '';
      holder.stdout?.on('data', (chunk: Buffer) => {
        said += chunk.toString('utf8');
        if (said.includes(LOCKED)) resolve(true);
      });
      void holder.then(() => resolve(false));
    }).finally(() => clearTimeout(waitNotice));
    if (!locked) {
      const r = await holder;
      const missing = (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      throw new Error(
        missing
          ? 'cannot run setpriv and flock. Install them: apt-get install util-linux'
          : `cannot lock ${lockFile}: ${String(r.stderr ?? r.shortMessage).trim()}`,
      );
    }
    return await use();
  } finally {
    stopListening();
    holder.stdin?.end();
    await holder;
  }
}
