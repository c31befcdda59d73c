// "init": "systemd": the image's systemd boots as PID 1, the services the
// packages enabled start as in production (nginx here), and stage 2 runs as
// its service: exec, postBootCommands and serve's ready line work as with the
// default init; a declared service is a real unit that serves files the
// workspace built and installed; the network is up, and network.target and
// network-online.target reached, before a unit ordered after them starts;
// the test API's systemd calls behave as NixOS's driver's (real TCG boots).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { freePort } from '../helpers/free-port';
import { addProbeProject } from '../helpers/probe-project';
import { startCommand, waitForNoProcesses } from '../helpers/processes';
import { MachineWentDownError, UnitError, startMachines } from '../../src/test-driver';

/** The error a promise rejects with. */
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('it resolved'),
    (err: unknown) => err as Error,
  );

describe('init "systemd" on a Debian image', () => {
  let ws: VmWorkspace;
  let port: number;

  before(async () => {
    port = await freePort();
    ws = createVmWorkspace({
      web: {
        graphics: false,
        init: 'systemd',
        // openssh-server: its service needs host keys, which the image leaves
        // out and stage 1 makes on the first boot, before systemd starts.
        system: { from: 'debian', packages: ['nginx', 'openssh-server'] },
        forwardPorts: [{ host: { port }, guest: { port: 80 } }],
        vlans: [1],
        // nginx made to wait for network-online.target, recording the
        // addresses it finds when it starts (a drop-in: a plain file).
        files: {
          '/etc/systemd/system/nginx.service.d/online.conf': {
            text: '[Unit]\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nExecStartPre=/bin/sh -c "busybox ip -4 addr show > /run/nginx-saw-network"\n',
          },
        },
        postBootCommands: 'echo post-boot-$((40+2)) > /run/post-boot',
        install: [{ target: 'site:build', to: '/opt/site' }],
        services: {
          site: {
            command: 'exec busybox httpd -f -p 8081 -h /opt/site',
            user: 'www-data',
            ready: { port: 8081 },
          },
        },
      },
    });
    mkdirSync(join(ws.root, 'apps/site'), { recursive: true });
    writeFileSync(
      join(ws.root, 'apps/site/project.json'),
      JSON.stringify({
        name: 'site',
        targets: {
          build: {
            command: 'mkdir -p dist/site && echo "built by the workspace" > dist/site/index.html',
            outputs: ['{workspaceRoot}/dist/site'],
          },
        },
      }),
    );
    const fetchPage = `fetch('http://127.0.0.1:${port}/').then((r) => r.text()).then((t) => console.log(t))`;
    addProbeProject(ws.root, 'web', `node -e "${fetchPage}"`);
  });
  after(() => ws?.remove());

  it('boots systemd as PID 1, with the enabled services running, and runs the exec command', () => {
    const built = ws.nx(['run', 'web:prepare']);
    assert.equal(built.status, 0, built.output);
    const run = ws.exec(
      'web',
      'cat /proc/1/comm; systemctl is-active nginx; cat /run/post-boot; systemctl is-system-running || true; ' +
        'systemctl is-active site.service; stat -c %U /proc/$(systemctl show -p MainPID --value site.service); busybox wget -qO- http://127.0.0.1:8081/; ' +
        'systemctl is-active ssh; cat /etc/machine-id; ' +
        'systemctl is-active network.target network-online.target nx-qemu-vm-network.service | paste -sd " "; ' +
        "grep -o 'inet [0-9.]*' /run/nginx-saw-network | paste -sd ' '",
    );
    assert.equal(run.status, 0, run.stderr + ws.consoleLog('web').slice(-4000));
    const [pid1, nginx, postBoot, state, site, user, page, ssh, machineId, targets, seen] =
      run.stdout.replace(/\r/g, '').trim().split('\n');
    assert.equal(pid1, 'systemd');
    assert.equal(nginx, 'active');
    assert.equal(postBoot, 'post-boot-42');
    assert.match(state, /^(running|degraded)$/, 'systemd finished booting');
    // The declared service: a unit of its own, as its account, serving the installed files.
    assert.equal(site, 'active');
    assert.equal(user, 'www-data');
    assert.equal(page, 'built by the workspace');
    // The machine's own identity, made on its first boot.
    assert.equal(ssh, 'active');
    assert.match(machineId, /^[0-9a-f]{32}$/);
    // The network's order: both targets reached, and a unit after
    // network-online.target found the user-mode and vlan addresses in place.
    assert.equal(targets, 'active active active');
    assert.equal(seen, 'inet 127.0.0.1 inet 10.0.2.15 inet 192.168.1.1');
    // The exec command's status comes back, and the guest powers off through systemd.
    const failing = ws.exec('web', 'exit 7');
    assert.equal(failing.status, 7, failing.stderr);
    assert.match(ws.consoleLog('web'), /reboot: Power down/);
  });

  it("waits for units, reads and requires their state, starts and stops them, as NixOS's driver", async () => {
    await using vms = await startMachines(['web'], { workspaceRoot: ws.root });
    const { web } = vms.machines;
    await web.waitForUnit('nginx');
    await web.waitForUnit('site.service');
    const site = await web.getUnitInfo('site');
    assert.equal(site.Id, 'site.service');
    assert.equal(site.ActiveState, 'active');
    assert.equal(site.User, 'www-data');
    assert.deepEqual(await web.systemctl('is-active ssh'), { status: 0, stdout: 'active\n' });

    // The rest of the boot done: no job of the manager's is pending any more.
    await web.waitUntilSucceeds('[ -z "$(systemctl list-jobs --no-legend)" ]');
    assert.equal((await web.stopJob('nginx')).status, 0);
    await web.requireUnitState('nginx', 'inactive');
    const required = await rejection(web.requireUnitState('nginx'));
    assert.ok(required instanceof UnitError, String(required));
    assert.match(
      required.message,
      /requireUnitState\("nginx", "active"\): the unit is inactive, not active/,
    );
    // Inactive with no job pending: nothing will start it, so the wait ends at once.
    const inactive = await rejection(web.waitForUnit('nginx', { timeout: 600 }));
    assert.ok(inactive instanceof UnitError, String(inactive));
    assert.match(
      inactive.message,
      /the unit is inactive and no job is pending\n--- systemctl status and journal ---\n[^]*nginx/,
    );
    assert.equal((await web.startJob('nginx')).status, 0);
    await web.waitForUnit('nginx');

    // A unit that fails: its result, status and journal.
    await web.execute(
      "systemd-run --unit=boom -p Type=oneshot /bin/sh -c 'echo boom-said-this; exit 3'",
    );
    const failed = await rejection(web.waitForUnit('boom', { timeout: 600 }));
    assert.ok(failed instanceof UnitError && failed.unit === 'boom', String(failed));
    assert.match(failed.message, /waitForUnit\("boom"\): the unit failed \(exit-code\)/);
    assert.match(failed.message, /boom-said-this/);
    const unknown = await rejection(web.waitForUnit('no-such-unit', { timeout: 600 }));
    assert.match(unknown.message, /systemd has no such unit; check its name/);

    // A user's own systemd instance: one the guest does not have fails at once.
    await assert.rejects(
      web.waitForUnit('default.target', { user: 'bob', timeout: 600 }),
      (err: Error) => err instanceof UnitError && /the guest has no user "bob"/.test(err.message),
    );

    // Ctrl-Alt-Delete: systemd reboots. A command running then cannot finish,
    // and the next call waits for the new boot.
    const bootId = 'cat /proc/sys/kernel/random/boot_id';
    const before = await web.succeed(bootId);
    const running = rejection(web.succeed('sleep 600'));
    await web.sendKeys('ctrl-alt-delete');
    const down = await running;
    assert.ok(down instanceof MachineWentDownError, String(down));
    assert.match(down.message, /^machine "web": the guest went down .* while "sleep 600" ran/);
    assert.notEqual(await web.succeed(bootId, { timeout: 600 }), before);
    await web.waitForUnit('nginx');
  });

  it('serves a page from nginx through a forwarded port once serve reports ready', () => {
    const res = ws.nx(['run', 'client:probe', '--output-style=static'], { VM_ACCEL: 'tcg' });
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /"web" is up; forwards: hostfwd=tcp:127\.0\.0\.1:\d+-:80/);
    assert.match(res.output, /Welcome to nginx!/);
  });

  it('powers off cleanly through systemd when the run script is stopped, root shell and all', async () => {
    const cmd = startCommand(
      join(ws.root, 'dist/vm/web/bin/run-web-vm'),
      ['-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
      { cwd: ws.root, env: { ...process.env, VM_ACCEL: 'tcg', VM_STOP_TIMEOUT: '60' } },
    );
    await cmd.waitFor(/Root shell on web/, 300);
    const stoppedAt = Date.now();
    cmd.signal('SIGTERM');
    await cmd.exited;
    const seconds = (Date.now() - stoppedAt) / 1000;
    await waitForNoProcesses(ws.root, 20);
    assert.match(cmd.output(), /reboot: Power down/, cmd.output().slice(-3000));
    assert.ok(seconds < 30, `powered off within 30 s (took ${seconds.toFixed(1)} s)`);
  });
});
