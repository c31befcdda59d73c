// The real guest agent (guest/agent.pl), run on the host with --stdio, driven
// by the real host channel: the protocol, concurrency, binary output, stdin,
// signals and statuses, without a VM. The e2e suite proves the same in guests.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import {
  AgentChannel,
  ChannelClosedError,
  type CommandExit,
  type RunOptions,
} from './agent-channel';
import { AGENT_VERSION, GUEST_SYSCALLS, MAX_COMMAND_BYTES } from '../contract/host-guest';

const AGENT = join(__dirname, '../guest/agent.pl');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Whether process `pid` ends within 5 s: gone, or a zombie that its parent has not reaped yet. */
async function exits(pid: number): Promise<boolean> {
  const dead = () => {
    try {
      return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 250 && !dead(); i++) await new Promise((res) => setTimeout(res, 20));
  return dead();
}

function startAgent(): { agent: ChildProcessWithoutNullStreams; channel: AgentChannel } {
  const agent = spawn('perl', [AGENT, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const channel = new AgentChannel(Duplex.from({ readable: agent.stdout, writable: agent.stdin }));
  return { agent, channel };
}

describe('guest agent and host channel', () => {
  let agent: ChildProcessWithoutNullStreams;
  let channel: AgentChannel;
  let dir: string;
  before(() => {
    ({ agent, channel } = startAgent());
    dir = mkdtempSync(join(tmpdir(), 'nxvm-agent-'));
  });
  after(() => {
    channel.close();
    agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('says hello with its version and the boot id', async () => {
    const hello = await channel.waitForHello();
    assert.equal(hello.version, AGENT_VERSION);
    assert.equal(hello.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  });

  it('keeps stdout and stderr apart and returns the exact status', async () => {
    const r = await channel.run('printf out; printf err >&2; exit 3').result;
    assert.deepEqual(
      {
        status: r.status,
        signal: r.signal,
        stdout: r.stdout.toString(),
        stderr: r.stderr.toString(),
      },
      { status: 3, signal: undefined, stdout: 'out', stderr: 'err' },
    );
  });

  it('moves 10 MiB of binary output intact, streamed in chunks', async () => {
    const expected = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < expected.length / 4; i++) expected.writeUInt32BE(i, i * 4);
    let chunks = 0;
    const r = await channel.run(`perl -e 'print pack("N*", 0 .. ${expected.length / 4 - 1})'`, {
      onStdout: () => chunks++,
    }).result;
    assert.equal(r.status, 0);
    assert.equal(sha256(r.stdout), sha256(expected));
    assert.ok(chunks > 1, `one chunk for 10 MiB: nothing was streamed`);
  });

  it('feeds stdin, binary and larger than a chunk', async () => {
    const input = Buffer.alloc(3 * 1024 * 1024 + 7, 0xa5);
    input[12345] = 0;
    const r = await channel.run('sha256sum', { stdin: input }).result;
    assert.equal(r.stdout.toString().split(' ')[0], sha256(input));
  });

  it('runs commands at once: one waits for a file that a later one creates', async () => {
    const flag = join(dir, 'flag');
    const waiting = channel.run(`while [ ! -e ${flag} ]; do sleep 0.02; done; echo seen`);
    const others = [1, 2, 3].map((n) => channel.run(`echo ${n}`).result);
    await channel.run(`touch ${flag}`).result;
    const outs = (await Promise.all([waiting.result, ...others])).map((r) => r.stdout.toString());
    assert.deepEqual(outs, ['seen\n', '1\n', '2\n', '3\n']);
  });

  it('kills the whole process group of a command', async () => {
    const pidFile = join(dir, 'child.pid');
    const running = channel.run(`sleep 300 & echo $! > ${pidFile}; wait`);
    while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim())
      await new Promise((r) => setTimeout(r, 20));
    running.kill(9);
    const r = await running.result;
    assert.deepEqual({ status: r.status, signal: r.signal }, { status: 137, signal: 'SIGKILL' });
    const child = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await exits(child), `the background sleep ${child} survived`);
  });

  it("puts the command's text in no command line: pgrep -f finds only what really runs", async () => {
    const text = async (command: string, shell?: 'sh' | 'bash') => {
      const r = await channel.run(command, { shell }).result;
      return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    for (const shell of ['sh', 'bash'] as const) {
      const nothing = await text(`pgrep -f 'no-such-process-${process.pid}'`, shell);
      assert.deepEqual(nothing, { status: 1, stdout: '', stderr: '' }, shell);
      // A sleep of its own length: the only process whose command line matches.
      const unique = `1000.${process.pid}${shell.length}`;
      const found = await text(
        `sleep ${unique} & p=$!; pgrep -f 'sleep ${unique.replace('.', '[.]')}'; echo "started $p"; kill $p`,
        shell,
      );
      const [pid, started] = found.stdout.trim().split('\n');
      assert.deepEqual([found.status, started], [0, `started ${pid}`], JSON.stringify(found));
      // Nor is it in the environment the command's processes get.
      assert.deepEqual(await text('printenv NXVM_COMMAND', shell), {
        status: 1,
        stdout: '',
        stderr: '',
      });
    }
  });

  it("runs bash with the test driver's set -euo pipefail, and sh as it is", async () => {
    const outcome = async (command: string, shell: 'sh' | 'bash') => {
      const r = await channel.run(command, { shell }).result;
      return [r.status, r.stdout.toString()];
    };
    assert.deepEqual(await outcome('false; echo reached', 'sh'), [0, 'reached\n']);
    assert.deepEqual(await outcome('false; echo reached', 'bash'), [1, '']);
    assert.deepEqual(await outcome('false | true; echo reached', 'sh'), [0, 'reached\n']);
    assert.deepEqual(await outcome('false | true; echo reached', 'bash'), [1, '']);
    assert.deepEqual(await outcome('echo "[$NO_SUCH_VARIABLE]"', 'sh'), [0, '[]\n']);
    const unset = await channel.run('echo "$NO_SUCH_VARIABLE"', { shell: 'bash' }).result;
    assert.equal(unset.status, 1);
    assert.match(
      unset.stderr.toString(),
      /^\/bin\/bash: line 1: NO_SUCH_VARIABLE: unbound variable\n$/,
    );
    assert.deepEqual(await outcome('exit 5; echo no', 'bash'), [5, '']);
  });

  it('runs a command of the longest length the environment takes', async () => {
    const tail = '; echo whole';
    const command = `: ${'x'.repeat(MAX_COMMAND_BYTES - 2 - tail.length)}${tail}`;
    assert.equal(Buffer.byteLength(command), MAX_COMMAND_BYTES);
    const r = await channel.run(command).result;
    assert.deepEqual([r.status, r.stdout.toString()], [0, 'whole\n']);
  });

  it('reports a command that a signal ended as the shell does', async () => {
    const r = await channel.run('kill -TERM $$').result;
    assert.deepEqual({ status: r.status, signal: r.signal }, { status: 143, signal: 'SIGTERM' });
  });

  it('does not wait for background processes that keep the output open', async () => {
    const r = await channel.run('sleep 300 & echo started').result;
    assert.deepEqual(
      { status: r.status, out: r.stdout.toString() },
      { status: 0, out: 'started\n' },
    );
    // What they write later is dropped; the next commands are not disturbed.
    const next = await channel.run('echo next').result;
    assert.equal(next.stdout.toString(), 'next\n');
  });

  it('makes system calls itself, answering each with its errno', async () => {
    const root = process.getuid?.() === 0;
    const errnos = await channel.systemCalls([
      // umount2 of a directory that is no mount point: EINVAL (EPERM without root).
      {
        call: GUEST_SYSCALLS[process.arch === 'arm64' ? 'aarch64-linux' : 'x86_64-linux'].umount2,
        args: [Buffer.from(dir), 0],
      },
      // RNDRESEEDCRNG needs CAP_SYS_ADMIN.
      { call: 'reseed', args: [Buffer.alloc(32, 7)] },
    ]);
    assert.deepEqual(errnos, root ? [22, 0] : [1, 1]);
  });

  it('rejects what runs when the guest goes down', async () => {
    const second = startAgent();
    try {
      await second.channel.waitForHello();
      const running = second.channel.run('sleep 300');
      second.agent.kill('SIGTERM');
      await assert.rejects(running.result, ChannelClosedError);
    } finally {
      second.channel.close();
      second.agent.kill('SIGKILL');
    }
  });
});

// The agent starts an sh command in a spare shell started ahead of time when
// it has one (it starts one whenever a command ends), else in a process of
// its own: the first command of a fresh agent takes the second way, the next
// one the first. Both must be the same to the command.
describe('guest agent: a command in a spare shell and in a process of its own', () => {
  const ways = ['process of its own', 'spare shell'] as const;
  async function inFreshAgent<T>(
    way: (typeof ways)[number],
    work: (channel: AgentChannel, agentPid: number) => Promise<T>,
  ): Promise<T> {
    const { agent, channel } = startAgent();
    try {
      await channel.waitForHello();
      if (way === 'spare shell') assert.equal((await channel.run('true').result).status, 0);
      return await work(channel, agent.pid!);
    } finally {
      channel.close();
      agent.kill('SIGKILL');
    }
  }
  const textOf = async (running: Promise<CommandExit>) => {
    const r = await running;
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  for (const way of ways)
    it(`${way}: exact text and status, stdin, a process group of its own, no descriptor of ours`, async () => {
      // Each in a fresh agent: after the first command, the next ones take spares.
      const run = (command: string, options?: RunOptions) =>
        inFreshAgent(way, (channel) => textOf(channel.run(command, options).result));
      const outcome = {
        quoting: await run(`printf '%s|' 'it'\\''s' "a\\\\b" "$((6 * 7))"\necho " tab	end"; exit 3`),
        // A group of its own, whose id is the command's shell's pid; no
        // session leader, so a terminal it opens cannot become its controlling one.
        group: await run(
          `set -- $(cut -d' ' -f5,6 /proc/$$/stat); [ "$1" = "$$" ] && [ "$2" != "$$" ] && echo own`,
        ),
        stdinNull: await run('readlink /proc/self/fd/0; cat'),
        stdinPiped: await run('cat; echo', { stdin: Buffer.from('piped') }),
        descriptors: await run('ls /proc/self/fd'),
        niceness: await run('nice'),
      };
      assert.deepEqual(outcome, {
        niceness: { status: 0, stdout: execFileSync('nice', { encoding: 'utf8' }), stderr: '' },
        quoting: { status: 3, stdout: "it's|a\\b|42| tab\tend\n", stderr: '' },
        group: { status: 0, stdout: 'own\n', stderr: '' },
        stdinNull: { status: 0, stdout: '/dev/null\n', stderr: '' },
        stdinPiped: { status: 0, stdout: 'piped\n', stderr: '' },
        // What ls sees started by this process: 0, 1, 2, the directory it
        // reads, and what this process inherited open.
        descriptors: {
          status: 0,
          stdout: execFileSync('ls', ['/proc/self/fd'], { encoding: 'utf8' }),
          stderr: '',
        },
      });
    });

  for (const way of ways)
    it(`${way}: a signal reaches the command's children, and pgrep -f cannot find its text`, async () => {
      await inFreshAgent(way, async (channel) => {
        const unique = `1000.${process.pid}7`;
        const running = channel.run(`sleep ${unique} & wait`);
        const sleeping = `pgrep -f 'sleep ${unique.replace('.', '[.]')}'`;
        let found = await channel.run(sleeping).result;
        while (found.status !== 0) {
          await new Promise((res) => setTimeout(res, 20));
          found = await channel.run(sleeping).result;
        }
        const pid = Number(found.stdout.toString().trim());
        // Only the sleep matches: neither the shell that runs the command nor another.
        const matches = await textOf(
          channel.run(`pgrep -f '${unique.replace('.', '[.]')}'`).result,
        );
        assert.deepEqual(matches, { status: 0, stdout: `${pid}\n`, stderr: '' });
        running.kill(15);
        const r = await running.result;
        assert.deepEqual(
          { status: r.status, signal: r.signal },
          { status: 143, signal: 'SIGTERM' },
        );
        assert.ok(await exits(pid), `the background sleep ${pid} survived`);
      });
    });

  /**
   * The agent's children once it has done what follows the commands that
   * ended: it starts a spare after sending a status, and reads the next
   * frame only then, so the status of a bash command (which takes no spare)
   * comes after it.
   */
  async function childrenOf(channel: AgentChannel, agentPid: number): Promise<string[]> {
    assert.equal((await channel.run('true', { shell: 'bash' }).result).status, 0);
    try {
      return execFileSync('pgrep', ['-P', String(agentPid)], { encoding: 'utf8' })
        .trim()
        .split('\n');
    } catch {
      return [];
    }
  }

  it('starts a spare when an sh command ends, not when a bash one does', async () => {
    await inFreshAgent('process of its own', async (channel, agentPid) => {
      assert.deepEqual(await childrenOf(channel, agentPid), []);
      await channel.run('true').result;
      assert.equal((await childrenOf(channel, agentPid)).length, 1);
    });
  });

  it('runs the command when the spare shell died before it', async () => {
    await inFreshAgent('spare shell', async (channel, agentPid) => {
      // The command ended: the agent's one child is the spare it started then.
      const spare = await childrenOf(channel, agentPid);
      assert.equal(spare.length, 1, spare.join(' '));
      process.kill(Number(spare[0]), 'SIGKILL');
      // Dead, its pipe's read end closed, whether the agent has reaped it yet or not.
      assert.ok(await exits(Number(spare[0])));
      assert.deepEqual(await textOf(channel.run('echo ran').result), {
        status: 0,
        stdout: 'ran\n',
        stderr: '',
      });
    });
  });
});
