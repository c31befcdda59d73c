import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UnshareFacts } from '../host/unshare-facts';
import { hasRange, unshareProblems } from './unshare-checks';

const ready: UnshareFacts = {
  user: 'dev',
  uid: 1000,
  subuid: 'other:100000:65536\ndev:165536:65536\n',
  subgid: '1000:165536:65536\n',
  newuidmap: true,
  newgidmap: true,
  unprivilegedUsernsClone: '1',
  apparmorRestrictUserns: undefined,
  maxUserNamespaces: '63000',
};

describe("mmdebstrap's unshare mode, checked before it runs", () => {
  it('asks nothing of root, or of an account that has it all', () => {
    assert.deepEqual(unshareProblems(ready), []);
    assert.deepEqual(
      unshareProblems({ ...ready, uid: 0, newuidmap: false, subuid: undefined }),
      [],
    );
  });

  it('names each missing piece with its fix, one line each', () => {
    const problems = unshareProblems({
      ...ready,
      subuid: undefined,
      subgid: 'dev:165536:1000\n',
      newgidmap: false,
      unprivilegedUsernsClone: '0',
      apparmorRestrictUserns: '1',
      maxUserNamespaces: '0',
    });
    assert.equal(problems.length, 5);
    assert.match(problems[0], /apt-get install uidmap/);
    assert.match(
      problems[1],
      /^\/etc\/subuid and \/etc\/subgid give dev no range.*usermod --add-subuids/,
    );
    assert.match(problems[2], /unprivileged_userns_clone = 0/);
    assert.match(problems[3], /apparmor_restrict_unprivileged_userns = 1/);
    assert.match(problems[4], /max_user_namespaces = 0/);
    assert.match(unshareProblems({ ...ready, subgid: '' })[0], /^\/etc\/subgid gives dev no range/);
  });

  it('reads a subordinate range by name or by uid, of 65536 ids at least', () => {
    assert.ok(hasRange('dev:100000:65536', 'dev', 1000));
    assert.ok(hasRange('1000:100000:70000', 'dev', 1000));
    assert.ok(!hasRange('dev:100000:65535', 'dev', 1000));
    assert.ok(!hasRange('devx:100000:65536', 'dev', 1000));
  });
});
