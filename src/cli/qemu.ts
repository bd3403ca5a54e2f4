// The QEMU command line that attaches exported devices (QEMU docs/system/devices/vfio-user.rst): one
// `vfio-user-pci` device per socket, and guest RAM in a shared memfd so QEMU can hand it to the server with
// DMA_MAP (without a shareable fd, DMA falls back to DMA_READ/DMA_WRITE messages).

/** POSIX shell single-quoting: safe for any path. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `-device` JSON for one vfio-user socket. */
export function vfioUserDeviceArg(socketPath: string, id?: string): string {
  const dev: Record<string, unknown> = { driver: 'vfio-user-pci', socket: { type: 'unix', path: socketPath } };
  if (id !== undefined) dev['id'] = id;
  return JSON.stringify(dev);
}

/** The whole command, one option per line, ready to paste into a shell. */
export function qemuCommandLine(sockets: readonly { readonly path: string; readonly id?: string }[], memoryMiB: number): string {
  const size = `${memoryMiB}M`;
  const args = [
    'qemu-system-x86_64',
    '-machine q35,accel=kvm,memory-backend=mem',
    `-m ${size}`,
    `-object memory-backend-memfd,id=mem,size=${size},share=on`,
    '-nographic',
    '-drive file=YOUR-DISK.qcow2,if=virtio',
    ...sockets.map((s) => `-device ${shellQuote(vfioUserDeviceArg(s.path, s.id))}`),
  ];
  return args.join(' \\\n    ');
}
