import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  TOKEN_CHECK_PATH,
  tokenVerdict,
  warnIfRemoteCacheRefusesToken,
} from './remote-cache-check';

describe('remote cache token check', () => {
  it('reads the status codes of the check', () => {
    assert.equal(tokenVerdict(204), 'accepted');
    assert.equal(tokenVerdict(403), 'read-only');
    assert.equal(tokenVerdict(401), 'refused');
    assert.equal(tokenVerdict(404), 'unknown');
  });

  it('warns only when a configured server refuses the token, and sends it as a bearer token', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      res.statusCode = req.headers.authorization === 'Bearer good' ? 204 : 401;
      res.end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const warnings: string[] = [];
      await warnIfRemoteCacheRefusesToken(
        {
          NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
          NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'good',
        },
        (w) => warnings.push(w),
      );
      assert.equal(warnings.length, 0);
      await warnIfRemoteCacheRefusesToken(
        {
          NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
          NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'bad',
        },
        (w) => warnings.push(w),
      );
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0],
        /refused NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN; .* kept in the local cache only/,
      );
      assert.deepEqual(seen, [`${TOKEN_CHECK_PATH} Bearer good`, `${TOKEN_CHECK_PATH} Bearer bad`]);
      await warnIfRemoteCacheRefusesToken({}, (w) => warnings.push(w));
      assert.equal(seen.length, 2, 'no server configured: no request');
    } finally {
      server.close();
    }
  });
});
