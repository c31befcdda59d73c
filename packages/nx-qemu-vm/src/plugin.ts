// createNodes: workspace-vm.json -> one Nx project per machine.
import { dirname, join, relative } from 'node:path';
import type { CreateNodes, CreateNodesResult, TargetConfiguration } from '@nx/devkit';
import { CONFIG_FILE, loadConfig } from './config/load';
import { distDir, stateDir } from './config/defaults';
import type { ValidMachine } from './config/machine';

export interface NxQemuVmPluginOptions {
  /** Prefix for the inferred target names, e.g. `vm-` gives `vm-build`. */
  targetPrefix?: string;
}

const PLUGIN_ROOT = join(__dirname, '..');

/** Our own code changes what the targets produce, and Nx does not hash executor code. */
function pluginSourceInputs(workspaceRoot: string): TargetConfiguration['inputs'] {
  const rel = relative(workspaceRoot, PLUGIN_ROOT);
  if (!rel.startsWith('..') && !rel.includes('node_modules'))
    return [{ fileset: `{workspaceRoot}/${rel}/src/**/*` }, { fileset: `{workspaceRoot}/${rel}/package.json` }];
  return [{ externalDependencies: ['nx-qemu-vm'] }];
}

// The run script names the kernel and firmware files it boots, so installing a
// newer kernel or firmware must invalidate it.
const HOST_BOOT_FILES = 'ls -1d /boot/vmlinuz-* /usr/share/qemu/firmware/*.json /etc/qemu/firmware/*.json 2>/dev/null || true';
// The initrd copies these packages' files: a new version must rebuild it.
const HOST_SYSTEM_PACKAGES =
  "dpkg-query -W -f='${Package}=${Version}\\n' busybox-static e2fsprogs util-linux libc6 'linux-image-*' 2>/dev/null || true";

// The initrd carries the host's /etc/alternatives links.
const HOST_ALTERNATIVES = 'ls -l --time-style=+ /etc/alternatives 2>/dev/null || true';

// The boot disk is made by these packages' tools and holds GRUB's files.
const HOST_BOOT_DISK_PACKAGES =
  "dpkg-query -W -f='${Package}=${Version}\\n' gdisk dosfstools mtools grub-common grub-pc-bin grub-efi-amd64-bin ovmf qemu-utils efibootmgr 2>/dev/null || true";

function machineTargets(name: string, machine: ValidMachine, workspaceRoot: string, prefix: string): Record<string, TargetConfiguration> {
  const machineInput = { json: `{workspaceRoot}/${CONFIG_FILE}`, fields: [`machines.${name}`] };
  const source = pluginSourceInputs(workspaceRoot) ?? [];
  const dist = distDir(name);
  const options = { machine: name };
  const t = (target: string) => `${prefix}${target}`;
  const bootDisk = machine.useBootLoader ? [t('boot-disk')] : [];
  const bootTargets: Record<string, TargetConfiguration> = machine.useBootLoader
    ? {
        [t('boot-disk')]: {
          executor: 'nx-qemu-vm:boot-disk',
          cache: true,
          dependsOn: [t('system')],
          inputs: [machineInput, ...source, { runtime: HOST_BOOT_FILES }, { runtime: HOST_BOOT_DISK_PACKAGES }, { env: 'SOURCE_DATE_EPOCH' }, { dependentTasksOutputFiles: '**/initrd.img' }],
          outputs: [`{workspaceRoot}/${dist}/boot-disk`],
          options,
          metadata: { description: `Build ${dist}/boot-disk/disk.img: a 60 MiB GPT disk with GRUB, the kernel and the initrd${machine.useEFIBoot ? ', and its EFI vars' : ''}.`, technologies: ['qemu'] },
        },
      }
    : {};
  const efiVars: Record<string, TargetConfiguration> = machine.useEFIBoot
    ? {
        [t('efi-vars')]: {
          executor: 'nx-qemu-vm:efi-vars',
          cache: false,
          inputs: [],
          dependsOn: bootDisk,
          options,
          metadata: { description: `Create ${name}'s writable EFI variables when missing. Never overwrites them; never cached.`, technologies: ['qemu'] },
        },
      }
    : {};
  return {
    ...bootTargets,
    ...efiVars,
    [t('system')]: {
      executor: 'nx-qemu-vm:system',
      cache: true,
      inputs: [machineInput, ...source, { runtime: HOST_BOOT_FILES }, { runtime: HOST_SYSTEM_PACKAGES }, { runtime: HOST_ALTERNATIVES }],
      outputs: [`{workspaceRoot}/${dist}/system`],
      options,
      metadata: { description: `Build ${dist}/system/initrd.img, the stage-1 initrd that formats, mounts and starts the guest.`, technologies: ['qemu'] },
    },
    [t('build')]: {
      executor: 'nx-qemu-vm:build',
      cache: true,
      inputs: [machineInput, ...source, { runtime: HOST_BOOT_FILES }],
      outputs: [`{workspaceRoot}/${dist}/bin`],
      options,
      metadata: { description: `Write ${dist}/bin/run-${name}-vm and exec-${name}-vm, the standalone scripts that boot this machine.`, technologies: ['qemu'] },
    },
    [t('exec')]: {
      executor: 'nx-qemu-vm:exec',
      cache: false,
      // Never cached; without explicit inputs Nx would hash the (file-less) project root.
      inputs: [],
      dependsOn: [t('build'), t('system'), ...bootDisk],
      options,
      metadata: { description: `Boot a fresh ${name}, run --command='...' as root, print its output and power off.`, technologies: ['qemu'] },
    },
    [t('start')]: {
      executor: 'nx-qemu-vm:start',
      cache: false,
      inputs: [],
      dependsOn: [t('build'), t('system'), ...bootDisk],
      options,
      metadata: { description: `Start ${name} with its console in this terminal ('poweroff' or Ctrl-A X ends it).`, technologies: ['qemu'] },
    },
  };
}

export const createNodes: CreateNodes<NxQemuVmPluginOptions> = [
  CONFIG_FILE,
  (configFiles, options, context) =>
    configFiles.map((file) => {
      const config = loadConfig(join(context.workspaceRoot, file));
      const base = dirname(file) === '.' ? '' : `${dirname(file)}/`;
      const projects: CreateNodesResult['projects'] = {};
      for (const name of Object.keys(config.machines)) {
        projects[`${base}${stateDir(name)}`] = {
          name,
          projectType: 'application',
          tags: ['qemu-vm'],
          targets: machineTargets(name, config.machines[name], context.workspaceRoot, options?.targetPrefix ?? ''),
          metadata: { description: `QEMU virtual machine "${name}" from ${file}` },
        };
      }
      return [file, { projects }] as const;
    }),
];
