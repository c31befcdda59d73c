import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { machineEntry, parseExtraOptions, parseForwardPorts, withMachine } from './machine-entry';

describe('parseForwardPorts', () => {
  it('reads host:guest pairs, with an optional address and protocol', () => {
    assert.deepEqual(parseForwardPorts('8080:80, 2222:22'), [
      { host: { port: 8080 }, guest: { port: 80 } },
      { host: { port: 2222 }, guest: { port: 22 } },
    ]);
    assert.deepEqual(parseForwardPorts('0.0.0.0:5353:53/udp,'), [
      { proto: 'udp', host: { address: '0.0.0.0', port: 5353 }, guest: { port: 53 } },
    ]);
  });

  it('leaves ranges to validation but rejects what it cannot read', () => {
    assert.deepEqual(parseForwardPorts('70000:80'), [
      { host: { port: 70000 }, guest: { port: 80 } },
    ]);
    for (const bad of ['8080', 'http:80', '8080:80/sctp', 'localhost:8080:80'])
      assert.throws(
        () => parseForwardPorts(bad),
        new RegExp(
          `--forwardPorts: "${bad.replace(/[./]/g, '\\$&')}" is not \\[hostAddress:\\]hostPort:guestPort`,
        ),
      );
  });
});

describe('parseExtraOptions', () => {
  it('takes a JSON object and nothing else', () => {
    assert.deepEqual(parseExtraOptions('{"accel":"tcg"}'), { accel: 'tcg' });
    assert.deepEqual(parseExtraOptions(undefined), {});
    assert.throws(() => parseExtraOptions('{accel:tcg}'), /--options is not valid JSON/);
    assert.throws(
      () => parseExtraOptions('[1]'),
      /--options must be a JSON object of machine options/,
    );
  });
});

describe('machineEntry', () => {
  it('holds only the options given; named ones win over --options', () => {
    assert.deepEqual(machineEntry({ name: 'web' }), {});
    assert.deepEqual(
      machineEntry({
        name: 'web',
        memorySize: 2048,
        graphics: false,
        options: '{"memorySize":1,"cores":4}',
        forwardPorts: '8080:80',
      }),
      {
        memorySize: 2048,
        cores: 4,
        graphics: false,
        forwardPorts: [{ host: { port: 8080 }, guest: { port: 80 } }],
      },
    );
  });
});

describe('withMachine', () => {
  it('appends the machine and keeps the rest of the file', () => {
    const config = { $schema: 'x', machines: { vm: { graphics: false } } };
    assert.deepEqual(withMachine(config, 'web', { cores: 2 }), {
      $schema: 'x',
      machines: { vm: { graphics: false }, web: { cores: 2 } },
    });
    assert.deepEqual(config.machines, { vm: { graphics: false } }, 'the input is not modified');
  });

  it('refuses a taken name, or a file it would have to replace', () => {
    assert.throws(
      () => withMachine({ machines: { web: {} } }, 'web', {}),
      /machine "web" already exists in workspace-vm\.json\. To change it, edit machines\.web there/,
    );
    assert.throws(
      () => withMachine({ machines: [] }, 'web', {}),
      /does not hold an object with a "machines" object/,
    );
    assert.throws(() => withMachine(null, 'web', {}), /does not hold an object/);
  });
});
