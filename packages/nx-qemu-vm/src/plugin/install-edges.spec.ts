import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { installEdges } from './install-edges';

describe('installEdges', () => {
  it('links each machine to the projects it installs, once, and only to projects that exist', () => {
    assert.deepEqual(
      installEdges(
        {
          server: {
            install: [{ target: 'api:build' }, { target: 'api:assets' }, { target: 'gone:build' }],
          },
          client: {},
          ghost: { install: [{ target: 'api:build' }] },
          broken: { install: [null, { target: 7 }, 'api:build'], memorySize: 0 },
        },
        new Set(['server', 'client', 'api', 'broken']),
      ),
      [{ source: 'server', target: 'api', type: 'implicit' }],
    );
  });
});
