/**
 * A private OpenLDAP server for the Directory method's tests: Debian's
 * `slapd` run by the test on loopback with its own cn=config (built with
 * `slapadd -n 0`), an mdb database of a few users, and TLS from a test CA
 * made with openssl, on an ldap:// port (StartTLS) and an ldaps:// port.
 *
 * It can be stopped and started again on the same ports and data, paused
 * (SIGSTOP: it accepts connections and never answers) and resumed, and its
 * entries changed as a directory administrator would.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { freePort } from './free-port.js';
import { run } from './processes.js';
import { tempDir, type TempDir } from './temp.js';

export const BASE_DN = 'dc=example,dc=com';
export const ROOT_DN = `cn=admin,${BASE_DN}`;
const ROOT_PASSWORD = 'root-secret';
export const SERVICE_DN = `cn=pop3,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-secret';
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

/** A user of the directory: its log-in address is its `mail`. */
export interface DirectoryUser {
  readonly uid: string;
  readonly mail: string;
  readonly password: string;
}

export const USERS: readonly DirectoryUser[] = [
  { uid: 'alice', mail: 'alice@example.com', password: 'alice-pw-1' },
  { uid: 'bob', mail: 'bob@example.com', password: 'bob-pw-2' },
  { uid: 'carol', mail: 'carol@example.com', password: 'carol-pw-3' },
  { uid: 'dave', mail: 'dave@example.com', password: 'dave-pw-4' },
];

export const userDn = (uid: string): string => `uid=${uid},ou=people,${BASE_DN}`;

export interface Slapd {
  readonly dir: string;
  /** `ldap://127.0.0.1:P` (StartTLS) and `ldaps://127.0.0.1:Q`. */
  readonly ldapUrl: string;
  readonly ldapsUrl: string;
  /** The test CA's PEM file, as `directory.caFile` takes it. */
  readonly caFile: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections are accepted by the kernel and never answered. */
  pause(): void;
  resume(): void;
  addUser(user: DirectoryUser): Promise<void>;
  removeUser(uid: string): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

async function must(command: string, args: readonly string[], input?: string): Promise<void> {
  const r = await run(command, args, { ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** A CA and a server certificate for 127.0.0.1 and localhost signed by it. */
async function makeCertificates(dir: string): Promise<void> {
  const f = (name: string): string => path.join(dir, name);
  await must('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=winpop test directory CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await must('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await must('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
}

function configLdif(dir: string): string {
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
olcTLSCACertificateFile: ${dir}/ca.pem
olcTLSCertificateFile: ${dir}/server.pem
olcTLSCertificateKeyFile: ${dir}/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${BASE_DN}
olcRootDN: ${ROOT_DN}
olcRootPW: ${ROOT_PASSWORD}
olcDbDirectory: ${dir}/db
olcDbMaxSize: 16777216
olcAccess: {0}to attrs=userPassword by self read by anonymous auth by * none
olcAccess: {1}to * by * read
`;
}

function userLdif(user: DirectoryUser): string {
  return `dn: ${userDn(user.uid)}
objectClass: inetOrgPerson
uid: ${user.uid}
cn: ${user.uid}
sn: ${user.uid}
mail: ${user.mail}
userPassword: ${user.password}
`;
}

function dataLdif(): string {
  return [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services\n`,
    `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: pop3\nuserPassword: ${SERVICE_PASSWORD}\n`,
    ...USERS.map(userLdif),
  ].join('\n');
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Builds and starts the server; the test calls close() at its end. */
export async function startSlapd(): Promise<Slapd> {
  const temp: TempDir = await tempDir('winpop-slapd-');
  const dir = temp.path;
  const configDir = path.join(dir, 'slapd.d');
  await mkdir(configDir);
  await mkdir(path.join(dir, 'db'));
  await makeCertificates(dir);
  await writeFile(path.join(dir, 'config.ldif'), configLdif(dir));
  await writeFile(path.join(dir, 'data.ldif'), dataLdif());
  await must(SLAPADD, ['-n', '0', '-F', configDir, '-l', path.join(dir, 'config.ldif')]);
  await must(SLAPADD, ['-n', '1', '-F', configDir, '-l', path.join(dir, 'data.ldif')]);
  const ldapPort = await freePort();
  const ldapsPort = await freePort();
  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  let child: ChildProcess | null = null;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const proc = spawn(SLAPD, ['-d', '0', '-F', configDir, '-h', `${ldapUrl}/ ${ldapsUrl}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child = proc;
    for (let i = 0; ; i += 1) {
      if (proc.exitCode !== null) throw new Error(`slapd exited (${proc.exitCode}):\n${output}`);
      if ((await portOpen(ldapPort)) && (await portOpen(ldapsPort))) return;
      if (i > 400) throw new Error(`slapd did not listen within 20 s:\n${output}`);
      await sleep(50);
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    await exited;
  };
  /** Changes entries as the directory's administrator, over plain LDAP on loopback. */
  const asRoot = async (change: (client: Client) => Promise<void>): Promise<void> => {
    const client = new Client({ url: ldapUrl, timeout: 10_000 });
    try {
      await client.bind(ROOT_DN, ROOT_PASSWORD);
      await change(client);
    } finally {
      await client.unbind();
    }
  };

  await start();
  return {
    dir,
    ldapUrl,
    ldapsUrl,
    caFile: path.join(dir, 'ca.pem'),
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    addUser: (user) =>
      asRoot((c) => c.add(userDn(user.uid), { objectClass: 'inetOrgPerson', uid: user.uid, cn: user.uid, sn: user.uid, mail: user.mail, userPassword: user.password })),
    removeUser: (uid) => asRoot((c) => c.del(userDn(uid))),
    async close() {
      await stop();
      await temp.remove();
    },
  };
}
