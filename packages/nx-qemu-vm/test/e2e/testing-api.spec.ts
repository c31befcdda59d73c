// nx-qemu-vm/testing through its public API only, on real TCG boots: two
// machines on a vlan (one with a display), commands, copies, the console and
// the display, and the machines' lifecycle, including what a failed or killed
// test leaves behind (nothing).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import {
  CommandError,
  MachineNotRunningError,
  MachineWentDownError,
  NoSystemdError,
  StartError,
  TimeoutError,
  startMachines,
  subtest,
  type Machine,
  type MachineSet,
} from '../../src/test-driver';
import { createTempWorkspace } from '../helpers/temp-workspace';
import { warmed } from '../helpers/vm-workspace';
import { processesMentioning, waitForNoProcesses } from '../helpers/processes';

// TCG everywhere: our machines' KVM is broken, and the probe is tested elsewhere.
process.env.VM_ACCEL = 'tcg';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** A TCP client in the guest: prints what the server says. */
const fetchFrom = (address: string, port: number) =>
  `perl -MIO::Socket::INET -e '$c = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Timeout => 3) or die "connect: $!\\n"; print <$c>' ${address} ${port}`;
const SERVER =
  'perl -MIO::Socket::INET -e \'$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die; while ($c = $s->accept) { print $c "hello from $ARGV[0]\\n"; close $c }\' server >/dev/null 2>&1 &';

const ws = createTempWorkspace(
  {
    // NXQV_WARM=1: the machines start warm (see vm-workspace.ts).
    machines: warmed({
      server: { vlans: [1], graphics: true },
      client: { vlans: [1], graphics: false, services: { idle: { command: 'exec sleep 100000' } } },
      // With a display, so stage 1 reports on the serial port through the kernel log.
      broken: { init: '/no/such/init', graphics: true },
    }),
  },
  'nxvm-testing-',
);

describe('nx-qemu-vm/testing', { timeout: 900_000 }, () => {
  let vms: MachineSet<'server' | 'client'>;
  let server: Machine;
  let client: Machine;
  let startLog = '';
  before(async () => {
    vms = await startMachines(['server', 'client'], {
      workspaceRoot: ws.root,
      log: (text) => (startLog += text),
    });
    ({ server, client } = vms.machines);
  });
  after(async () => {
    await vms?.shutdown();
    await waitForNoProcesses(ws.root, 30);
  });

  it('says in one line which accelerator the machines use, and why', () => {
    const said = startLog.split('\n').filter((l) => l.includes('accelerator: '));
    assert.deepEqual(said, [
      'nx-qemu-vm: server, client: accelerator: TCG (software emulation, many times slower than KVM): VM_ACCEL is set',
    ]);
  });

  it('connects two machines on vlan 1, and block() cuts the link until unblock()', async () => {
    await server.succeed(SERVER);
    await server.waitForOpenPort(8000, { timeout: 60 });
    await client.waitForOpenPort(8000, { address: '192.168.1.1', timeout: 60 });
    assert.equal(await client.succeed(fetchFrom('192.168.1.1', 8000)), 'hello from server\n');
    await server.block();
    const stderr = await client.fail(fetchFrom('192.168.1.1', 8000));
    assert.match(stderr, /connect: /);
    await server.unblock();
    assert.equal(
      await client.waitUntilSucceeds(fetchFrom('192.168.1.1', 8000), { timeout: 60 }),
      'hello from server\n',
    );
  });

  it('keeps stdout and stderr apart and returns the exact status', async () => {
    assert.deepEqual(await client.execute('echo out; echo err >&2; exit 3'), {
      status: 3,
      signal: undefined,
      stdout: 'out\n',
      stderr: 'err\n',
    });
  });

  it("puts a command's text in no command line: pgrep -f finds only what runs, in sh and bash", async () => {
    for (const shell of ['sh', 'bash'] as const) {
      const err = await client.succeed("pgrep -f 'no-such-process-xyz'", { shell }).then(
        () => assert.fail(`${shell}: pgrep -f found the API's own shell`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError && err.status === 1, String(err));
    }
    await client.succeed('sleep 1000.5 >/dev/null 2>&1 &');
    const pid = (
      await client.waitUntilSucceeds("pgrep -f 'sleep 1000[.]5'", { timeout: 30 })
    ).trim();
    assert.match(pid, /^\d+$/, 'one process: the sleep');
    assert.equal(await client.succeed(`tr '\\0' ' ' < /proc/${pid}/cmdline`), 'sleep 1000.5 ');
    await client.succeed(`kill ${pid}`);
  });

  it("runs bash with the test driver's set -euo pipefail on request, sh by default", async () => {
    assert.equal(await client.succeed('false; echo reached'), 'reached\n');
    const r = await client.execute('false | true; echo reached', { shell: 'bash' });
    assert.deepEqual([r.status, r.stdout], [1, '']);
    await client.fail('echo "$NO_SUCH_VARIABLE"', { shell: 'bash' });
  });

  it('runs several commands, sleeps in guest time, and keeps a transcript under subtests', async () => {
    const started = vms.transcript.lines.length;
    await subtest('driver conveniences', async () => {
      assert.equal(await client.succeed('echo a', 'echo b', { timeout: 60 }), 'a\nb\n');
      const err = await client.succeed('echo one', 'exit 4', 'touch /tmp/not-run').then(
        () => assert.fail('no failure'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError && err.status === 4, String(err));
      await client.fail('test -e /tmp/not-run');
      assert.equal(await client.fail('echo x >&2; exit 1', 'echo y >&2; exit 2'), 'x\ny\n');
      const uptime = async () => Number((await client.succeed('cat /proc/uptime')).split(' ')[0]);
      const before = await uptime();
      await client.sleep(1);
      assert.ok((await uptime()) - before >= 1, 'the guest saw a second pass');
    });
    const shape = (line: string) =>
      line.replace(/^ +\d+\.\d{3} /, '').replace(/\(\d+\.\d{3} s\)$/, '(s)');
    const lines = vms.transcript.lines.slice(started).map(shape);
    assert.deepEqual(lines.slice(0, 4), [
      'subtest: driver conveniences',
      '  client: succeed("echo a") -> status 0 (s)',
      '  client: succeed("echo b") -> status 0 (s)',
      '  client: succeed("echo one") -> status 0 (s)',
    ]);
    assert.equal(lines[4], '  client: succeed("exit 4") -> status 4 (s)');
    assert.ok(lines.includes('  client: succeed("sleep 1") -> status 0 (s)'), lines.join('\n'));
    assert.equal(lines.at(-1), 'subtest: driver conveniences -> ok (s)');
    assert.ok(!lines.some((l) => l.includes('touch /tmp/not-run')), 'no command after the failure');
    assert.match(startLog, /\nsubtest: driver conveniences -> ok \(\d+\.\d{3} s\)\n/);
    const all = vms.transcript.lines.map(shape);
    for (const line of ['build: nx run-many -t prepare -> ok (s)', 'server: boot -> ok (s)'])
      assert.ok(all.includes(line), `${line} in\n${all.join('\n')}`);
  });

  it('moves 10 MiB of binary output byte for byte', async () => {
    await client.succeed('head -c 10485760 /dev/urandom > /tmp/blob');
    const r = await client.execute('cat /tmp/blob', { encoding: 'buffer' });
    assert.equal(r.stdout.length, 10 * 1024 * 1024);
    const inGuest = (await client.succeed('sha256sum /tmp/blob')).split(' ')[0];
    assert.equal(sha256(r.stdout), inGuest);
  });

  it('runs 4 commands at once, streaming output while they run', async () => {
    const flag = '/tmp/go';
    let seenReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (seenReady = resolve));
    // Waits for a file that the host creates only after it saw "ready" stream in.
    const first = client.execute(
      `echo ready; while [ ! -e ${flag} ]; do sleep 0.1; done; echo done`,
      {
        onStdout: (chunk) => chunk.includes('ready') && seenReady(),
        timeout: 120,
      },
    );
    const others = ['a', 'b'].map((x) => client.succeed(`echo ${x}`));
    await ready;
    await client.succeed(`touch ${flag}`);
    assert.deepEqual(
      (await Promise.all([first, ...others])).map((r) => (typeof r === 'string' ? r : r.stdout)),
      ['ready\ndone\n', 'a\n', 'b\n'],
    );
  });

  it('kills a command that runs out of time, in the guest, and says so', async () => {
    const err = await client.execute('echo started; sleep 600', { timeout: 2 }).then(
      () => assert.fail('no timeout'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.match(
      err.message,
      /machine "client": timed out after 2 s: execute\("echo started; sleep 600"\); the command was killed/,
    );
    assert.match(err.message, /--- stdout ---\nstarted/);
    assert.match(err.message, /console log: .*\.vm\/client\/logs\/test-/);
    await client.waitUntilFails('pgrep -f "^sleep 600"', { timeout: 30 });
  });

  it('copies a binary file and a directory into the guest and back', async () => {
    const host = mkdtempSync(join(tmpdir(), 'nxvm-copy-'));
    try {
      const blob = randomBytes(1024 * 1024 + 3);
      writeFileSync(join(host, 'blob.bin'), blob);
      mkdirSync(join(host, 'tree/sub/deeper'), { recursive: true });
      writeFileSync(join(host, 'tree/run.sh'), '#!/bin/sh\necho ran\n');
      chmodSync(join(host, 'tree/run.sh'), 0o755);
      writeFileSync(join(host, 'tree/sub/deeper/data'), randomBytes(4096));
      symlinkSync('sub/deeper/data', join(host, 'tree/link'));

      await client.copyToVm(join(host, 'blob.bin'), '/root/in/blob.bin');
      await client.copyToVm(join(host, 'tree'), '/root/in/tree');
      assert.equal(
        (await client.succeed('sha256sum /root/in/blob.bin')).split(' ')[0],
        sha256(blob),
      );
      assert.equal(await client.succeed('/root/in/tree/run.sh'), 'ran\n');
      assert.equal(await client.succeed('stat -c %U /root/in/tree/run.sh'), 'root\n');

      const back = join(host, 'back');
      assert.equal(await client.copyFromVm('/root/in/blob.bin', back), join(back, 'blob.bin'));
      assert.equal(await client.copyFromVm('/root/in/tree', back), join(back, 'tree'));
      assert.ok(readFileSync(join(back, 'blob.bin')).equals(blob));
      assert.ok(
        readFileSync(join(back, 'tree/sub/deeper/data')).equals(
          readFileSync(join(host, 'tree/sub/deeper/data')),
        ),
      );
      assert.equal(statSync(join(back, 'tree/run.sh')).mode & 0o777, 0o755);
      assert.deepEqual(readdirSync(join(back, 'tree')).sort(), ['link', 'run.sh', 'sub']);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('takes a PNG screenshot of a display, the size of VGA text mode', async () => {
    const file = join(ws.root, 'screen.png');
    assert.equal(await server.screenshot(file), file);
    const png = readFileSync(file);
    assert.ok(png.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')), 'a PNG signature');
    // IHDR: width and height; 80x25 cells of 9x16 pixels.
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [720, 400]);
    await assert.rejects(
      client.screenshot(file),
      /machine "client": screenshot: the machine has no display/,
    );
  });

  it('reads a virtual console and the screen (OCR), and types on another tty', async () => {
    // A cleared screen, then one line on it.
    await server.succeed(
      "printf '\\033[2J\\033[H' >/dev/tty1; echo SCREEN CHECK $((6 * 7)) >/dev/tty1",
    );
    const tty = await server.waitUntilTtyMatches(1, /SCREEN CHECK 42/, { timeout: 60 });
    assert.equal(tty.split('\n')[0].length, 80, 'a line per row, 80 columns wide');
    assert.match(await server.getTtyText(1), /^SCREEN CHECK 42 *$/m);
    // What the display shows, read by tesseract: tty1, the kernel's console on
    // the VGA text screen (a machine with a display is not booted through PVH,
    // which would leave the firmware's last words there).
    const screen = await server.waitForText(/SCREEN CHECK 42/, { timeout: 60 });
    assert.doesNotMatch(screen, /iPXE|Booting from ROM/, 'the firmware text is gone');
    // A shell on tty2, typed on through the keyboard once tty2 is on the screen.
    await server.succeed('setsid sh -c "exec sh -i </dev/tty2 >/dev/tty2 2>&1" >/dev/null 2>&1 &');
    await server.sendChars('echo typed-$((7 * 6)) on tty2\n', { to: 'tty', n: 2 });
    await server.waitUntilTtyMatches(2, /^typed-42 on tty2/m, { timeout: 60 });
    assert.equal(await server.succeed('cat /sys/class/tty/tty0/active'), 'tty2\n');
    await server.succeed('busybox chvt 1');
    await assert.rejects(
      client.getTtyText(1),
      /machine "client": getTtyText: the machine has no display/,
    );
    await assert.rejects(server.getTtyText(0), /not a virtual console number: 0/);
  });

  it('waits for a UNIX-domain socket, a QMP event, and gives the whole console log', async () => {
    await client.succeed(
      `perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Local => "/run/api.sock", Listen => 5) or die; sleep 600' >/dev/null 2>&1 &`,
    );
    await client.waitForOpenUnixSocket('/run/api.sock', { timeout: 60 });
    await assert.rejects(
      client.waitForOpenUnixSocket('/run/nothing.sock', { timeout: 2 }),
      /timed out after 2 s: waitForOpenUnixSocket\("\/run\/nothing.sock"\)/,
    );
    const resumed = client.waitForQmpEvent((e) => e.event === 'RESUME', { timeout: 60 });
    await client.qmp('stop');
    await client.qmp('cont');
    assert.equal((await resumed).event, 'RESUME');
    assert.match(client.getConsoleLog(), /Linux version/);
  });

  it("speaks QEMU's monitor and QMP", async () => {
    assert.match(await server.sendMonitorCommand('info status'), /VM status: running/);
    assert.deepEqual(await client.qmp('query-status'), {
      running: true,
      singlestep: false,
      status: 'running',
    });
    await assert.rejects(server.qmp('no-such-command'), /CommandNotFound/);
  });

  it('types on the serial console and sees the shell answer', async () => {
    await client.sendChars('echo typed-$((6 * 7))\n');
    const m = await client.waitForConsoleText(/typed-(\d+)\n/, { timeout: 60 });
    assert.equal(m[1], '42');
  });

  it('forwards a host port to the guest at run time', async () => {
    await client.succeed(SERVER);
    await client.waitForOpenPort(8000, { timeout: 60 });
    const port = await client.forwardPort(8000);
    const got = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let data = '';
      sock.on('data', (d: Buffer) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    assert.equal(got, 'hello from server\n');
  });

  it('fails with the machine, the command, its status and output, and keeps artifacts', async () => {
    const err = await server.succeed('echo some output; echo trouble >&2; exit 7').then(
      () => assert.fail('no failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommandError);
    assert.equal(err.status, 7);
    assert.match(
      err.message,
      /^machine "server": command failed with status 7: echo some output; echo trouble >&2; exit 7\n--- stdout ---\nsome output\n--- stderr ---\ntrouble\nconsole log: \S+\nartifacts: \S+/,
    );
    assert.deepEqual(readdirSync(err.artifacts!).sort(), [
      'console.log',
      'index.html',
      'screen.png',
      // The screenshot an earlier test took.
      'screenshot-1-screen.png',
      'transcript.log',
    ]);
    assert.ok(err.artifacts!.startsWith(join(ws.root, 'dist/vm/server/test-artifacts/')));
    const kept = readFileSync(join(err.artifacts!, 'transcript.log'), 'utf8').split('\n');
    assert.match(
      kept.at(-2)!,
      /^ +\d+\.\d{3} server: succeed\("echo some output; echo trouble >&2; exit 7"\) -> status 7 \(\d+\.\d{3} s\)$/,
    );
    // The failure page: the message, the transcript, every screenshot (the last, the final screen), the console log.
    assert.match(err.message, /\nfailure page: \S+\/index\.html$/);
    const html = readFileSync(join(err.artifacts!, 'index.html'), 'utf8');
    assert.match(
      html,
      /command failed with status 7: echo some output; echo trouble &#62;&#38;2; exit 7/,
    );
    assert.match(
      html,
      /server: succeed\(&#34;echo some output; echo trouble &#62;&#38;2; exit 7&#34;\) -&#62; status 7/,
    );
    assert.match(html, /<img src="screenshot-1-screen.png"[\s\S]*<img src="screen.png"/);
    assert.match(html, /<span>[^<]*Linux version [^<]*<\/span>/);
    assert.equal(await client.fail('echo fine >&2; exit 1'), 'fine\n');
    await assert.rejects(client.fail('true'), /command succeeded but was expected to fail: true/);
  });

  it('reboots cleanly and answers again from the new boot', async () => {
    const before = await client.succeed('cat /proc/sys/kernel/random/boot_id');
    await client.succeed('touch /root/survives');
    await client.reboot({ timeout: 300 });
    const after = await client.succeed('cat /proc/sys/kernel/random/boot_id');
    assert.notEqual(after, before);
    await client.succeed('test -e /root/survives');
    // A reboot started inside the guest: the command that started it cannot
    // finish, and the next call waits for the new boot.
    const down = await client.succeed('reboot').then(
      () => assert.fail('reboot returned'),
      (err: unknown) => err,
    );
    assert.ok(down instanceof MachineWentDownError, String(down));
    assert.match(
      down.message,
      /^machine "client": the guest went down \(a power-off or reboot inside it\) while "reboot" ran/,
    );
    assert.notEqual(
      await client.succeed('cat /proc/sys/kernel/random/boot_id', { timeout: 300 }),
      after,
    );
    assert.equal(client.isUp(), true);
  });

  it("keeps the API's sockets private: mode 0600, in directories only this user can enter", () => {
    const sockets = processesMentioning(ws.root)
      .filter((p) => p.command.startsWith('qemu-system'))
      .flatMap((p) =>
        readFileSync(`/proc/${p.pid}/cmdline`, 'utf8')
          .split('\0')
          .flatMap(
            (arg) => /(?:path=|unix:)([^,]+\/api\/(?:agent|qmp)\.sock)/.exec(arg)?.[1] ?? [],
          ),
      );
    assert.equal(sockets.length, 4, 'agent and QMP sockets of both machines');
    for (const socket of sockets) {
      assert.equal(statSync(socket).mode & 0o777, 0o600, socket);
      assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700, dirname(socket));
      assert.equal(
        statSync(dirname(dirname(socket))).mode & 0o777,
        0o700,
        dirname(dirname(socket)),
      );
    }
  });

  it("gives the systemd calls' names to declared services, and refuses the rest without systemd", async () => {
    await client.waitForUnit('idle');
    await client.requireUnitState('idle.service', 'active');
    assert.deepEqual(await client.getUnitInfo('idle'), {
      Id: 'idle.service',
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'ready',
    });
    for (const call of [
      () => client.systemctl('status'),
      () => client.startJob('idle'),
      () => client.waitForUnit('nginx'),
      () => client.waitForUnit('idle', { user: 'alice' }),
    ])
      await assert.rejects(
        call(),
        (err: Error) =>
          err instanceof NoSystemdError &&
          /^machine "client": \w+\("[^"]+"[^)]*\): the machine does not run systemd: its init is the plugin's stage 2[^]*its declared services \(idle\) take waitForUnit[^]*Set "init": "systemd"/.test(
            err.message,
          ),
      );
  });

  it('names the machines that exist when asked for one that does not', async () => {
    await assert.rejects(
      startMachines(['nope'], { workspaceRoot: ws.root }),
      (err: Error) =>
        err instanceof StartError &&
        /no machine "nope" in .*workspace-vm.json; its machines: server, client, broken/.test(
          err.message,
        ),
    );
  });
});

describe('nx-qemu-vm/testing: lifecycle', { timeout: 900_000 }, () => {
  after(() => ws.remove());

  it('refuses a second persistent start of a machine, survives a crash, and starts fresh', async () => {
    const starts = await Promise.allSettled(
      [1, 2].map(() =>
        startMachines(['client'], { workspaceRoot: ws.root, persistent: true, build: false }),
      ),
    );
    const won = starts.filter(
      (r): r is PromiseFulfilledResult<MachineSet<'client'>> => r.status === 'fulfilled',
    );
    const lost = starts.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      assert.equal(won.length, 1, 'one start boots');
      assert.match(
        String(lost[0].reason),
        /root disk .*client\.qcow2 is in use: pid \d+ \((qemu-system-x86_64|run-client-vm)\)/,
      );
      const { client } = won[0].value.machines;
      // Written through to the disk: a crash loses what is only in the guest's cache.
      await client.succeed('echo kept > /root/persistent && sync');
      await client.crash();
      await assert.rejects(
        client.succeed('true'),
        (err: Error) =>
          err instanceof MachineNotRunningError &&
          /machine "client": cannot execute a command: the machine is not running \(it was crashed\)/.test(
            err.message,
          ),
      );
    } finally {
      await Promise.all(won.map((w) => w.value.shutdown()));
    }
    await waitForNoProcesses(ws.root, 30);

    // A fresh start, in the interactive driver: the disk kept what was written before the crash.
    const repl = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        join(__dirname, '../../src/cli.ts'),
        'repl',
        '--no-build',
        '--workspace-root',
        ws.root,
        'client',
      ],
      { cwd: join(__dirname, '../../../..'), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let output = '';
    let asked = false;
    repl.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (/machines up: client/.test(output) && !asked) {
        asked = true;
        repl.stdin.write(
          "console.log('kept-' + (await client.succeed('cat /root/persistent')).trim())\n",
        );
      }
      if (/kept-kept/.test(output)) repl.stdin.end('.exit\n');
    });
    repl.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const status = await new Promise((r) => repl.on('close', r));
    assert.equal(status, 0, output);
    assert.match(output, /kept-kept/);
    assert.match(output, /shutting the machines down/);
  });

  it('starts machines one at a time with start: false, and again after a power-off or a crash, disk kept', async () => {
    await using vms = await startMachines(['client'], {
      workspaceRoot: ws.root,
      persistent: true,
      build: false,
      start: false,
    });
    const { client } = vms.machines;
    assert.equal(client.isUp(), false);
    await assert.rejects(
      client.succeed('true'),
      /machine "client": cannot execute a command: the machine is not running \(it was not started: machine.start\(\) boots it\)/,
    );
    await client.waitForShutdown(); // not running: at once
    await client.start();
    assert.equal(client.isUp(), true);
    await client.succeed('echo kept-across-starts > /root/restart && sync');
    // The guest powers off by itself.
    await client.succeed('(sleep 1; poweroff) >/dev/null 2>&1 &');
    await client.waitForShutdown({ timeout: 120 });
    assert.equal(client.isUp(), false);
    await assert.rejects(
      client.succeed('true'),
      (err: Error) =>
        err instanceof MachineNotRunningError &&
        /machine "client": cannot execute a command: the machine is not running \(the guest powered off \(its run script exited with status 0\)\)/.test(
          err.message,
        ),
    );
    await client.start();
    assert.equal(await client.succeed('cat /root/restart'), 'kept-across-starts\n');
    await client.crash();
    assert.equal(client.isUp(), false);
    await client.start();
    assert.equal(await client.succeed('cat /root/restart'), 'kept-across-starts\n');
  });

  it('rejects a machine that does not boot, with its console', async () => {
    const started = Date.now();
    await assert.rejects(
      startMachines(['broken'], { workspaceRoot: ws.root, timeout: 120 }),
      (err: Error) =>
        /machine "broken": did not come up: stage 1 failed[^]*init \/no\/such\/init does not exist/.test(
          err.message,
        ),
    );
    assert.ok(Date.now() - started < 120_000);
    await waitForNoProcesses(ws.root, 30);
  });

  it('leaves no QEMU behind a failed test, nor a test process killed with SIGTERM', async () => {
    const child = (script: string) =>
      spawn(
        process.execPath,
        ['-r', '@swc-node/register', join(__dirname, '../fixtures/testing', script), ws.root],
        {
          cwd: join(__dirname, '../../../..'),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    const failing = child('failing-test.ts');
    const killed = child('waits-forever.ts');
    let killedOutput = '';
    killed.stdout.on('data', (d: Buffer) => {
      killedOutput += d.toString();
      if (killedOutput.includes('machines are up')) killed.kill('SIGTERM');
    });
    let failingOutput = '';
    failing.stdout.on('data', (d: Buffer) => (failingOutput += d.toString()));
    failing.stderr.on('data', (d: Buffer) => (failingOutput += d.toString()));
    const [failedStatus, killedSignal] = await Promise.all([
      new Promise((r) => failing.on('close', (code) => r(code))),
      new Promise((r) => killed.on('close', (_code, signal) => r(signal))),
    ]);
    assert.equal(failedStatus, 1, failingOutput);
    assert.match(failingOutput, /machine "client": command failed with status 1: false/);
    assert.equal(killedSignal, 'SIGTERM', killedOutput);
    await waitForNoProcesses(ws.root, 30);
    assert.deepEqual(
      processesMentioning('qemu-system').filter((p) => p.command.includes(ws.root)),
      [],
    );
  });
});
