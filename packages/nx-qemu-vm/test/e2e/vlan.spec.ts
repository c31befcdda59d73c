// Two machines on the same vlan reach each other at 192.168.<vlan>.<position>,
// over the loopback multicast network, while each keeps its own user network.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

const BB = '/run/nx-qemu-vm/busybox';

describe('vlans between machines', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({
      server: { graphics: false, vlans: [1] },
      client: { graphics: false, vlans: [1] },
    });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('lets the second machine talk to the first at 192.168.1.1', async () => {
    const server = ws.execAsync(
      'server',
      `${BB} ip -4 -o addr; ${BB} nc -l -p 7000 -e /bin/echo hello-over-vlan`,
    );
    // The client retries until the server's listener is up; it boots at the same time.
    const client = ws.execAsync(
      'client',
      `${BB} ip -4 -o addr; for i in $(${BB} seq 120); do out=$(${BB} nc 192.168.1.1 7000 </dev/null 2>/dev/null); ` +
        `if [ -n "$out" ]; then echo "got: $out"; exit 0; fi; ${BB} sleep 1; done; exit 1`,
    );
    const [s, c] = await Promise.all([server, client]);
    assert.equal(c.status, 0, `client: ${c.stdout}${c.stderr}`);
    assert.match(c.stdout, /got: hello-over-vlan/);
    assert.match(c.stdout, /inet 192\.168\.1\.2\//);
    assert.equal(s.status, 0, `server: ${s.stdout}${s.stderr}`);
    assert.match(s.stdout, /inet 192\.168\.1\.1\//);
  });
});
