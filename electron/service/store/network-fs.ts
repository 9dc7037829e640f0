/**
 * Whether a folder is on a network file system: changes made on other
 * machines reach no watch there, and a socket file there may be another
 * machine's (this one's kernel cannot connect to it).
 */

import fs from 'node:fs';

/** File systems (Linux statfs types) shared between machines. */
const NETWORK_FILE_SYSTEMS = new Set([0x6969 /* NFS */, 0x517b /* SMB */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */, 0x65735546 /* FUSE */, 0x00c36400 /* Ceph */, 0x5346414f /* AFS */, 0x01021997 /* 9P */]);

export function onNetworkFileSystem(folder: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return NETWORK_FILE_SYSTEMS.has(fs.statfsSync(folder).type);
  } catch {
    return false;
  }
}
