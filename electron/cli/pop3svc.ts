/**
 * `pop3svc`: the service in the foreground, for servers and for scripts.
 *
 * Runs the POP3 and SMTP listeners and the control channel until SIGINT or
 * SIGTERM, logging to stdout. A listener that cannot start is a clear message
 * and exit code 1, not a stack trace. POP3S and the admin endpoint are the
 * exceptions: without them (a bad certificate, a port taken) mail is still
 * served and winpop still administers the service, so their errors are
 * printed as warnings and the service runs on. Where the console is built
 * (dist/renderer), the admin endpoint serves it to browsers.
 *
 * POP3, POP3S and SMTP are served by worker processes, as many as the setting
 * `workers` says (one per CPU by default); this process keeps the control
 * channel, the admin endpoint and the admin operations, and replaces a worker
 * that dies. With `workers` 1 everything runs in this one process.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { WORKERS_MAX } from '../../shared/validate.js';
import { listenOverride, startService, type HostOptions } from '../service/host.js';
import { formatLine, logStyle } from '../service/log.js';
import { runServiceCommand, SERVICE_COMMANDS, type ServiceCommand } from './pop3svc-install.js';

const USAGE = `Usage: pop3svc [--config FILE] [--mailroot DIR] [--listen ADDRS] [--pop3-port N] [--smtp-port N] [--pop3s-port N] [--admin-port N] [--workers N] [--no-control]

Runs the POP3 service in the foreground until Ctrl+C (SIGINT) or SIGTERM.
  --config FILE     config file (default: the platform's location; see winpop get mailroot)
  --mailroot DIR    mail store for this run (default: from the config file)
  --listen ADDRS    addresses to listen on for this run, separated by commas: * (every
                    IPv4 address), :: (every IPv6 address) or IP addresses
                    (default: from the config, * and ::; see winpop set listen)
  --pop3-port N     POP3 port for this run (default: from the config, 110)
  --smtp-port N     SMTP delivery port for this run (default: from the config, 25)
  --pop3s-port N    POP3 over TLS port for this run (default: from the config, 995;
                    0 when --pop3-port is 0)
  --admin-port N    admin endpoint (HTTPS and WebSocket for admin accounts) on port N
                    for this run; 0 turns it off (default: from the config, off;
                    see winpop set adminport, winpop set adminlisten, winpop admin)
  --workers N       processes serving POP3, POP3S and SMTP for this run; 0 is one per CPU,
                    1 serves everything in this process (default: from the config, 0;
                    see winpop set workers)
  --no-control      no control channel for winpop: a second service on a mail root
                    whose first service (on this machine) is the one winpop manages
A port of 0 picks a free one (except --admin-port); the ready line shows which.

As a system service (as root): pop3svc {install | uninstall | status}; pop3svc install --help.`;

function port(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) {
    throw new Error(`${option} must be a port number from 0 to 65535; got "${value}".`);
  }
  return Number(value);
}

function parse(argv: string[]): HostOptions | 'help' {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      mailroot: { type: 'string' },
      listen: { type: 'string' },
      'pop3-port': { type: 'string' },
      'smtp-port': { type: 'string' },
      'pop3s-port': { type: 'string' },
      'admin-port': { type: 'string' },
      workers: { type: 'string' },
      'no-control': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const pop3Port = port(values['pop3-port'], '--pop3-port');
  const smtpPort = port(values['smtp-port'], '--smtp-port');
  const pop3sPort = port(values['pop3s-port'], '--pop3s-port');
  const adminPort = port(values['admin-port'], '--admin-port');
  const workers = values.workers;
  if (workers !== undefined && (!/^[0-9]+$/.test(workers) || Number(workers) > WORKERS_MAX)) {
    throw new Error(`--workers must be a whole number from 0 (one per CPU) to ${WORKERS_MAX}; got "${workers}".`);
  }
  return {
    ...(values.config ? { configPath: values.config } : {}),
    ...(values.mailroot ? { mailroot: values.mailroot } : {}),
    ...(values.listen !== undefined ? { listen: listenOverride(values.listen) } : {}),
    ...(pop3Port !== undefined ? { pop3Port } : {}),
    ...(smtpPort !== undefined ? { smtpPort } : {}),
    ...(pop3sPort !== undefined ? { pop3sPort } : {}),
    ...(adminPort !== undefined ? { adminPort } : {}),
    workers: workers === undefined ? 'setting' : Number(workers),
    ...(values['no-control'] ? { control: false } : {}),
  };
}

/** The built console (dist/renderer), which the admin endpoint serves to browsers when it is there. */
function consoleFiles(): string | undefined {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'renderer');
  return existsSync(path.join(dir, 'index.html')) ? dir : undefined;
}

/** The ready line's list of worker processes, so a log shows which pids served. */
function workerList(pids: readonly number[]): string {
  return pids.length === 0 ? ' workers=1' : ` workers=${pids.length} pids=${pids.join(',')}`;
}

export async function runPop3svc(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if ((SERVICE_COMMANDS as readonly string[]).includes(first ?? '')) return runServiceCommand(first as ServiceCommand, rest);
  // Under systemd, stderr is the journal too: its lines carry their priority there.
  const warnPrefix = logStyle(process.env, 2) === 'journal' ? '<4>' : '';
  const errorPrefix = warnPrefix === '' ? '' : '<3>';
  let options: HostOptions | 'help';
  try {
    options = parse(argv);
  } catch (err) {
    process.stderr.write(`pop3svc: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let host;
  try {
    const staticDir = consoleFiles();
    host = await startService({ ...options, ...(staticDir ? { adminEndpoint: { staticDir } } : {}) });
  } catch (err) {
    process.stderr.write(`${errorPrefix}pop3svc: ${(err as Error).message}\n`);
    return 1;
  }
  const down = host.info().listeners.filter((l) => !l.listening);
  const optional = (l: { protocol: string }): boolean => l.protocol === 'pop3s' || l.protocol === 'admin';
  for (const l of down.filter(optional)) process.stderr.write(`${warnPrefix}pop3svc: warning: ${l.error}\n`);
  const failed = down.filter((l) => !optional(l));
  if (failed.length > 0) {
    for (const l of failed) process.stderr.write(`${errorPrefix}pop3svc: ${l.error}\n`);
    await host.stop();
    return 1;
  }
  const info = host.info();
  process.stdout.write(
    formatLine(
      'info',
      // The processes before the listeners: scripts read the listeners' list to its end (admin= last).
      `pop3svc ready mailroot=${JSON.stringify(info.mailroot)}${workerList(host.workerPids())} ${info.listeners
        .map((l) => (l.listening ? `${l.protocol}=${l.addresses?.join(',') ?? l.address}` : `${l.protocol}=off`))
        .join(' ')}`,
    ),
  );
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.stdout.write(formatLine('info', `${signal} received, stopping`));
      host.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
