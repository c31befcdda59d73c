// `files`: every bad value is refused at once with the machine, the JSON
// path, the value and what is allowed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { issuesOf, oneMachine } from '../../test/helpers/config-issues';

const files = (f: object, m: object = {}) => oneMachine({ ...m, files: f });
const one = (path: string, entry: object = { text: 'x' }, m: object = {}) =>
  issuesOf(files({ [path]: entry }, m));

describe('files', () => {
  it('accepts text and a workspace source, with the defaults filled in', () => {
    const valid = validateConfig(
      files({
        '/etc/nginx/conf.d/site.conf': { text: 'server {}\n' },
        '/etc/app.json': {
          source: 'apps/api/config.json',
          mode: '0640',
          user: 'nobody',
          group: '0',
        },
      }),
    ).machines.vm.files;
    assert.deepEqual(valid, {
      '/etc/nginx/conf.d/site.conf': { text: 'server {}\n', mode: '0644', user: 'root' },
      '/etc/app.json': { source: 'apps/api/config.json', mode: '0640', user: 'nobody', group: '0' },
    });
  });

  for (const [path, why] of [
    ['etc/app.json', /must be an absolute guest path, e\.g\. "\/etc\/app\.json"/],
    ['/etc//app.json', /plain absolute path/],
    ['/etc/app/', /plain absolute path/],
    ['/', /is the root directory/],
    ['/usr/share/app.conf', /inside \/usr, the mount point of store\.target/],
    ['/nix/store/abc', /inside \/nix/],
    ['/proc/x', /inside \/proc/],
    ['/sys/x', /inside \/sys/],
    ['/dev/x', /inside \/dev/],
    ['/run/app.pid', /inside \/run/],
    ['/tmp/x', /inside \/tmp/],
    ['/bin/tool', /inside \/bin, a link into the read-only store/],
  ] as const)
    it(`refuses the path ${path}`, () => {
      const [issue, ...rest] = one(path);
      assert.deepEqual(rest, []);
      assert.equal(issue.machine, 'vm');
      assert.equal(issue.path, `machines.vm.files[${JSON.stringify(path)}]`);
      assert.equal(issue.value, path);
      assert.match(issue.message, why);
    });

  it('refuses a path inside an install, a share, a late file system, or another file', () => {
    const issues = issuesOf(
      files(
        {
          '/opt/api/config.json': { text: '{}' },
          '/opt': { text: 'a file where a directory must be' },
          '/mnt/app/x': { text: 'x' },
          '/late/x': { text: 'x' },
          '/etc/a': { text: 'x' },
          '/etc/a/b': { text: 'x' },
        },
        {
          install: [{ target: 'api:build', to: '/opt/api' }],
          sharedDirectories: { app: { source: '/srv', target: '/mnt/app' } },
          fileSystems: {
            '/late': { device: '/dev/vdb', fsType: 'ext4', neededForBoot: false },
          },
        },
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.message.split(';')[0]]),
      [
        [
          'machines.vm.files["/opt/api/config.json"]',
          'is inside install[0].to (/opt/api), a read-only image',
        ],
        ['machines.vm.files["/opt/api/config.json"]', 'is inside files["/opt"], which is a file'],
        [
          'machines.vm.files["/opt"]',
          'would be a directory holding install[0].to (/opt/api), a read-only image',
        ],
        [
          'machines.vm.files["/mnt/app/x"]',
          "is inside /mnt/app, the mount point of sharedDirectories.app (the store and the shares are not the root's to write)",
        ],
        [
          'machines.vm.files["/late/x"]',
          'is inside fileSystems["/late"], which is mounted after the files are written (neededForBoot false) and would hide it',
        ],
        ['machines.vm.files["/etc/a/b"]', 'is inside files["/etc/a"], which is a file'],
      ],
    );
  });

  it('accepts a path on a file system mounted before the files are written', () => {
    const valid = validateConfig(
      files(
        { '/data/seed.txt': { text: 'x' } },
        { fileSystems: { '/data': { device: '/dev/vdb', fsType: 'ext4' } } },
      ),
    );
    assert.ok(valid.machines.vm.files['/data/seed.txt']);
  });

  it('refuses files on a machine that boots its own initrd, which would not write them', () => {
    const [issue, ...rest] = issuesOf(
      files({ '/etc/x': { text: 'x' } }, { initrd: '/boot/initrd.img', kernel: '/boot/vmlinuz' }),
    ).filter((i) => i.path.includes('files'));
    assert.deepEqual(rest, []);
    assert.equal(issue.path, 'machines.vm.files');
    assert.deepEqual(issue.value, ['/etc/x']);
    assert.match(
      issue.message,
      /boots its own \(initrd \/boot\/initrd\.img\); set "initrd" to null/,
    );
  });

  it('wants exactly one of text and source', () => {
    for (const entry of [{}, { text: 'a', source: 'b' }]) {
      const [issue, ...rest] = one('/etc/x', entry);
      assert.deepEqual(rest, []);
      assert.equal(issue.path, 'machines.vm.files["/etc/x"]');
      assert.match(issue.message, /exactly one of "text".*or "source"/);
    }
  });

  for (const [source, why] of [
    ['../secrets.json', /inside the workspace, relative to its root/],
    ['/etc/shadow', /inside the workspace, relative to its root/],
    ['apps/../../x', /inside the workspace/],
    ['apps/*.json', /must not contain \*/],
  ] as const)
    it(`refuses the source ${source}`, () => {
      const [issue, ...rest] = one('/etc/x', { source });
      assert.deepEqual(rest, []);
      assert.equal(issue.path, 'machines.vm.files["/etc/x"].source');
      assert.equal(issue.value, source);
      assert.match(issue.message, why);
    });

  it('refuses a mode that is not octal, and owners the host /usr has not', () => {
    const issues = issuesOf(
      files({
        '/etc/a': { text: 'x', mode: '644x' },
        '/etc/b': { text: 'x', user: 'www-data', group: 'www-data' },
        '/etc/c': { text: 'x', user: "root'; reboot" },
      }),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.value]),
      [
        ['machines.vm.files["/etc/a"].mode', '644x'],
        ['machines.vm.files["/etc/c"].user', "root'; reboot"],
        ['machines.vm.files["/etc/b"].user', 'www-data'],
        ['machines.vm.files["/etc/b"].group', 'www-data'],
      ],
    );
    assert.match(
      issues[2].message,
      /only the accounts root and nobody; use one of them, a numeric id, or a Debian image/,
    );
    assert.match(issues[3].message, /only the groups root and nogroup/);
  });

  it('accepts any account name on a Debian image (checked against its /etc/passwd when the initrd is built)', () => {
    const valid = validateConfig(
      files(
        { '/etc/nginx/site.conf': { text: 'x', user: 'www-data', group: 'www-data' } },
        { system: { from: 'debian' } },
      ),
    );
    assert.equal(valid.machines.vm.files['/etc/nginx/site.conf'].user, 'www-data');
  });

  it("takes a file's text as it is, newlines and quotes included, but refuses a control character in its path", () => {
    const text = "line 1\n'$(reboot)'\ttab\n";
    assert.equal(
      validateConfig(files({ '/etc/x': { text } })).machines.vm.files['/etc/x'].text,
      text,
    );
    const [issue] = one('/etc/x\ny', { text });
    assert.match(issue.message, /control character/);
  });
});
