/* Generated from packages/nx-qemu-vm/src/generators/machine/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Adds a machine to workspace-vm.json (setting the workspace up first when needed). The whole file is validated before anything is written. Options left out keep the defaults documented in workspace-vm.schema.json.
 */
export interface MachineGeneratorSchema {
  /**
   * Machine name: lowercase letters, digits, `-` and `_`, starting with a letter or digit. It becomes the Nx project name and names the run script (`run-<name>-vm`).
   */
  name: string;
  /**
   * Guest memory in MiB (default 384).
   */
  memorySize?: number;
  /**
   * Number of virtual CPUs (default 1).
   */
  cores?: number;
  /**
   * Size in MiB of the root disk created on first start (default 512).
   */
  diskSize?: number;
  /**
   * Open a QEMU display window (default true). Pass --graphics=false for a machine whose console is the terminal.
   */
  graphics?: boolean;
  /**
   * Boot through firmware and GRUB from a cached boot disk instead of loading the kernel directly (default false).
   */
  useBootLoader?: boolean;
  /**
   * Boot with UEFI firmware (OVMF) and writable EFI variables (default false).
   */
  useEFIBoot?: boolean;
  /**
   * Host-to-guest port forwards, comma-separated, each `[hostAddress:]hostPort:guestPort[/tcp|/udp]`, e.g. `8080:80,2222:22`. Without an address the host side listens on 127.0.0.1 only.
   */
  forwardPorts?: string;
  /**
   * Any further machine options as a JSON object, e.g. '{"accel":"tcg","vlans":[1,2]}'. The named options above win over the same keys here.
   */
  options?: string;
}
