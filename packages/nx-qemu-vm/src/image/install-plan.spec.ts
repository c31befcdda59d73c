// Which directory each install packs, checked against the target's outputs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/validate';
import { resolveConfig } from '../config/resolve';
import { fakeHost } from '../../test/helpers/fake-host';
import { type WorkspaceTargets, planInstalls } from './install-plan';

const graph: Record<string, Record<string, string[]>> = {
  api: { build: ['dist/apps/api'], lint: [] },
  web: { build: ['dist/apps/web/browser', 'dist/apps/web/server'] },
  docs: { build: ['dist/docs/**/*.html'] },
};
const workspace: WorkspaceTargets = {
  projects: () => Object.keys(graph),
  targets: (p) => (graph[p] ? Object.keys(graph[p]) : undefined),
  outputs: (p, t) => graph[p]?.[t],
};
const plan = (install: object[]) =>
  planInstalls(
    resolveConfig(validateConfig({ machines: { vm: { install } } }), fakeHost()).vm,
    workspace,
    '1700000000',
  );

describe('planInstalls', () => {
  it("takes the target's one output, or a directory inside an output", () => {
    const { steps, issues } = plan([
      { target: 'api:build', to: '/opt/api' },
      { target: 'web:build', from: 'dist/apps/web/browser/', to: '/srv/web' },
      { target: 'docs:build', to: '/srv/docs' },
    ]);
    assert.deepEqual(issues, []);
    assert.deepEqual(
      steps.map((s) => s.source),
      ['dist/apps/api', 'dist/apps/web/browser', 'dist/docs'],
    );
    assert.deepEqual(steps[0].args('/out/0.erofs', '/ws/dist/apps/api'), [
      '--quiet',
      '-zlz4hc',
      '-T1700000000',
      '-U6e782d71-656d-752d-766d-696e73740000',
      '--all-root',
      '-x-1',
      '/out/0.erofs',
      '/ws/dist/apps/api',
    ]);
  });

  it('names the machine, the path, the value and the fix for every problem', () => {
    const { steps, issues } = plan([
      { target: 'apx:build', to: '/a' },
      { target: 'api:bild', to: '/b' },
      { target: 'api:lint', to: '/c' },
      { target: 'web:build', to: '/d' },
      { target: 'api:build', from: 'apps/api/src', to: '/e' },
    ]);
    assert.equal(steps.length, 0);
    assert.deepEqual(
      issues.map((i) => `${i.machine} ${i.path} ${JSON.stringify(i.value)}`),
      [
        'vm machines.vm.install[0].target "apx:build"',
        'vm machines.vm.install[1].target "api:bild"',
        'vm machines.vm.install[2].from undefined',
        'vm machines.vm.install[3].from undefined',
        'vm machines.vm.install[4].from "apps/api/src"',
      ],
    );
    const messages = issues.map((i) => i.message);
    assert.match(messages[0], /no project named "apx".*did you mean "api"/);
    assert.match(messages[1], /has no target "bild"; its targets: build, lint/);
    assert.match(messages[2], /declares no outputs.*Add the directory it writes to its "outputs"/);
    assert.match(
      messages[3],
      /declares 2 outputs \(dist\/apps\/web\/browser, dist\/apps\/web\/server\); set "from"/,
    );
    assert.match(messages[4], /not inside an output of api:build \(dist\/apps\/api\)/);
  });
});
