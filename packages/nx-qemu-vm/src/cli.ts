#!/usr/bin/env node
// The package's command: `nx-qemu-vm repl <machine>...` (see test-driver/repl.ts).
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import './require-node';
import { parseArgs } from 'node:util';
import { startRepl } from './test-driver/repl';

const USAGE = `usage: nx-qemu-vm repl [options] <machine>...

Boots the machines of workspace-vm.json (building them through Nx first) and
opens a Node.js REPL with each machine in scope by name:
  await vm.succeed('uname -a')    await vm.screenshot('screen.png')
.exit shuts them down.

options:
  --persistent          boot on the machines' own disks (default: throwaway overlays)
  --no-build            do not run Nx first; the machines must be built
  --workspace-root DIR  the directory of workspace-vm.json (default: found upwards)
  --timeout SECONDS     how long each machine may take to boot (default 600)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      persistent: { type: 'boolean' },
      'no-build': { type: 'boolean' },
      'workspace-root': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...machines] = positionals;
  if (values.help || command !== 'repl' || !machines.length) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) {
    process.stderr.write(`nx-qemu-vm: --timeout wants seconds, not ${values.timeout}\n`);
    return 2;
  }
  await startRepl(machines, {
    persistent: values.persistent,
    build: !values['no-build'],
    workspaceRoot: values['workspace-root'],
    timeout,
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: Error) => {
    process.stderr.write(`nx-qemu-vm: ${err.message}\n`);
    process.exit(1);
  },
);
