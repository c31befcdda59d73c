// The static files that cannot take a generated header spell a few contract
// values out; these checks hold them to contract/host-guest.ts, so that a
// change there fails here instead of in a booted guest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AGENT_HELLO,
  AGENT_VERSION,
  CHUNK,
  GUEST_SYSCALLS,
  KERNEL_FLAG_WARM,
  MAX_FRAME,
  RUN_DIR,
} from './host-guest';

const source = (path: string) => readFileSync(join(__dirname, '..', path), 'utf8');

describe('the host-guest contract in static files', () => {
  it("agent.pl's frame constants are the host's", () => {
    const agent = source('guest/agent.pl');
    const perlValue = (name: string) => {
      const m = new RegExp(`^my \\$${name} = ([0-9* ]+);$`, 'm').exec(agent);
      assert.ok(m, `agent.pl declares $${name}`);
      return m[1].split('*').reduce((product, factor) => product * Number(factor.trim()), 1);
    };
    assert.equal(perlValue('VERSION'), AGENT_VERSION);
    assert.equal(perlValue('CHUNK'), CHUNK);
    assert.equal(perlValue('MAX_FRAME'), MAX_FRAME);
    assert.ok(
      agent.includes(`send_frame('H', 0, "${AGENT_HELLO} $VERSION $boot_id")`),
      'its hello',
    );
  });

  it('the systemd units start the init stage 1 puts in the run-time directory', () => {
    for (const unit of ['guest/nx-qemu-vm.service', 'guest/nx-qemu-vm-network.service']) {
      const starts = source(unit).match(/^ExecStart=(\S+)/m);
      assert.equal(starts?.[1], `${RUN_DIR}/init`, unit);
    }
  });

  it('the run script asks for a warm save with the parameter stage 1 waits for', () => {
    // run-vm-warm.sh is inlined into every run script, whose golden files
    // pin its text: it spells the parameter out rather than take a header value.
    assert.match(
      source('qemu/run-vm-warm.sh'),
      new RegExp(` ${KERNEL_FLAG_WARM.replace('.', '\\.')}"`),
    );
  });

  it("the agent's system call numbers are the kernel's, for every guest architecture", () => {
    // Debian's linux-libc-dev has every architecture's table on an x86_64 host.
    const headers: Record<keyof typeof GUEST_SYSCALLS, string> = {
      'x86_64-linux': '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
      'i686-linux': '/usr/include/x86_64-linux-gnu/asm/unistd_32.h',
      'aarch64-linux': '/usr/include/asm-generic/unistd.h',
    };
    for (const [arch, calls] of Object.entries(GUEST_SYSCALLS)) {
      const text = readFileSync(headers[arch as keyof typeof headers], 'utf8');
      for (const [call, nr] of Object.entries(calls)) {
        const m = text.match(new RegExp(`^#define __NR_${call}\\s+(\\d+)$`, 'm'));
        assert.equal(Number(m?.[1]), nr, `${arch} ${call}`);
      }
    }
  });
});
