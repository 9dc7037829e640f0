/**
 * The systemd unit that runs pop3svc as a system service.
 *
 * One unit for `pop3svc install` and for the deb (build/linux/winpop.service
 * is this text for the packaged paths). The service runs as its own
 * unprivileged user, which owns the mail root; systemd gives it the one
 * capability it needs (binding ports below 1024) and its sandbox: the file
 * system read-only but for the mail root and the config folder, no home
 * folders, a private /tmp, no devices, no kernel knobs.
 *
 * The unit carries a checksum of the text below its header, so
 * `pop3svc install` can tell a unit it wrote (replaced freely) from one an
 * administrator edited (never replaced without --force).
 */

import { createHash } from 'node:crypto';

export const UNIT_NAME = 'winpop.service';
export const DEFAULT_SERVICE_USER = 'winpop';
const CHECKSUM_LINE = /^# pop3svc-checksum: sha256:([0-9a-f]{64})\n/m;

export interface UnitOptions {
  /** The unprivileged user (and group) the service runs as. */
  readonly user: string;
  /** The command: node, then pop3svc.js, each an absolute path. */
  readonly node: string;
  readonly program: string;
  readonly configFile: string;
  readonly mailroot: string;
}

/** One word of an Exec line: quoted when it holds a space, a quote or a backslash (systemd.syntax(7)). */
function execWord(word: string): string {
  if (!/[\s"'\\$%;]/.test(word)) return word;
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`;
}

/** A path in a list setting (ReadWritePaths=): quoted as Exec words are, but `$` is no variable there. */
function pathWord(p: string): string {
  if (!/[\s"'\\%;]/.test(p)) return p;
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

function dirname(p: string): string {
  const cut = p.replace(/\/+$/, '').lastIndexOf('/');
  return cut <= 0 ? '/' : p.slice(0, cut);
}

function body(o: UnitOptions): string {
  const writable = [...new Set([dirname(o.configFile), o.mailroot])].map(pathWord).join(' ');
  return `[Unit]
Description=POP3 Service (winpop): POP3 and SMTP delivery
Documentation=https://github.com/winpop/winpop#readme
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${o.user}
Group=${o.user}
ExecStart=${[o.node, o.program, '--config', o.configFile].map(execWord).join(' ')}
Restart=on-failure
RestartSec=5s
# pop3svc stops its listeners and store on SIGTERM; a wedged one is killed after this.
TimeoutStopSec=30s
UMask=0077
LimitNOFILE=65536

# Ports 110, 25 and 995 without root; nothing else.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes

# Read-only system; writable only: the config folder (winpop set) and the mail root (mail, state, control socket).
ProtectSystem=strict
ReadWritePaths=${writable}
ProtectHome=yes
PrivateTmp=yes
# /run/winpop, owned by the service's user: the control socket when the mail root cannot hold it
# (a network file system, a long path); PrivateTmp hides the temp-folder fallback from root's winpop.
RuntimeDirectory=winpop
RuntimeDirectoryMode=0755
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
# AF_NETLINK: the computer's addresses, for the certificate's names and the listen check.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
# Node's system calls (systemd's list for services); others fail with EPERM rather than killing it.
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RemoveIPC=yes
# Not MemoryDenyWriteExecute: V8's JIT compiler needs writable, executable memory.

[Install]
WantedBy=multi-user.target
`;
}

function checksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The unit the deb installs (build/linux/winpop.service holds this text; a
 * test keeps them equal): the paths of a system install, pop3svc as the
 * package links it, node from the system.
 */
export const PACKAGED_UNIT: UnitOptions = {
  user: DEFAULT_SERVICE_USER,
  node: '/usr/bin/node',
  program: '/usr/bin/pop3svc',
  configFile: '/etc/winpop/config.json',
  mailroot: '/var/lib/winpop/mailroot',
};

/** The unit file the deb ships in /lib/systemd/system: disabled until the administrator enables it. */
export function packagedSystemdUnit(): string {
  return `# ${UNIT_NAME}: the POP3 Service, installed by the winpop package and left
# disabled: systemctl enable --now winpop (after pop3svc's settings, if needed:
# winpop set port …). Keep your changes in a drop-in: systemctl edit winpop
${body(PACKAGED_UNIT)}`;
}

/** The whole unit file: a header (with the checksum of the body) and the body. */
export function systemdUnit(o: UnitOptions): string {
  const text = body(o);
  return `# ${UNIT_NAME}: the POP3 Service, written by pop3svc install.
# pop3svc install replaces this file only while it is as written (the checksum
# below). Keep your changes in a drop-in instead: systemctl edit winpop
# pop3svc-checksum: sha256:${checksum(text)}
${text}`;
}

/** True when the file is a unit pop3svc wrote and nobody changed since (its checksum holds). */
export function unitAsWritten(existing: string): boolean {
  const found = CHECKSUM_LINE.exec(existing);
  return found !== null && checksum(existing.slice(found.index + found[0].length)) === found[1];
}

/** How an existing unit file relates to what pop3svc writes. */
export type UnitFileState = 'same' | 'written-by-pop3svc' | 'edited';

/**
 * 'same' when it is `wanted` byte for byte; 'written-by-pop3svc' when it is
 * a unit pop3svc wrote (another version or other options) that nobody has
 * changed since; 'edited' otherwise: changed by hand, or not ours at all.
 */
export function unitFileState(existing: string, wanted: string): UnitFileState {
  if (existing === wanted) return 'same';
  return unitAsWritten(existing) ? 'written-by-pop3svc' : 'edited';
}
