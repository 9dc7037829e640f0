/**
 * The admin contract: every operation and event of the POP3 service.
 *
 * The preload, the main-process IPC handlers, the control channel that
 * `winpop` uses, and the tests all speak this one contract. Each operation
 * takes one plain object and resolves to one plain object, so that the same
 * call can cross IPC, a socket, or stay in-process unchanged.
 */

/** Who locked something, when, and why. */
export interface LockInfo {
  /** The administrator (OS user name) who locked it. */
  readonly by: string;
  /** ISO 8601 time of the lock. */
  readonly at: string;
  /** Optional free text shown to administrators, never to mail clients. */
  readonly reason?: string;
}

export interface DomainSummary {
  readonly name: string;
  readonly mailboxes: number;
  readonly messages: number;
  readonly bytes: number;
  readonly lock: LockInfo | null;
  /**
   * Present when the domain's state file is missing or damaged: the message
   * naming the file and the repair. No mailbox of the domain can log in
   * until it is repaired (log-in fails closed); shown as state "Error".
   */
  readonly problem?: string;
}

export interface MailboxSummary {
  /** The mailbox name, without the domain. */
  readonly name: string;
  readonly domain: string;
  /** `name@domain`. */
  readonly address: string;
  readonly messages: number;
  /** Size on disk of all its messages. */
  readonly bytes: number;
  /** The mailbox's own lock, kept while its domain is locked or not. */
  readonly lock: LockInfo | null;
  /** True when its domain is locked. */
  readonly domainLocked: boolean;
  /** True when locked itself or through its domain: log-in is refused. */
  readonly locked: boolean;
  /**
   * Present when its own state file (password hash and lock) is missing or
   * damaged: the message naming the file and the repair. It cannot log in
   * until repaired; shown as state "Error".
   */
  readonly problem?: string;
  /** Present when its domain's state file is missing or damaged (the domain's `problem`): it cannot log in either. */
  readonly domainProblem?: string;
}

/**
 * A domain's mailboxes in columns: what `listMailboxes` says, in its order,
 * at a fraction of its size (a few values per mailbox instead of an object
 * with eight fields), so that 100,000 of them cross IPC quickly.
 *
 * Row `i` is the mailbox `names[i]` with `messages[i]` and `bytes[i]`; its
 * own lock is `locks[i]` when it has one. Its address, domain, `domainLocked`
 * and `locked` follow from these (`mailboxTableRows` in shared/mailbox-table.ts
 * expands a table into the `MailboxSummary` rows of `listMailboxes`).
 */
export interface MailboxTable {
  /** The domain's name as the service keeps it (lower case). */
  readonly domain: string;
  /** True when the domain was locked at the listing (every mailbox is then locked through it). */
  readonly domainLocked: boolean;
  /** Mailbox names without the domain, sorted as `listMailboxes` sorts them. */
  readonly names: readonly string[];
  readonly messages: readonly number[];
  /** Size on disk of each mailbox's messages. */
  readonly bytes: readonly number[];
  /** The own locks, keyed by row position (a decimal string in JSON); rows without one are absent. */
  readonly locks: { readonly [row: number]: LockInfo };
  /** The `problem` of each mailbox whose own state file is damaged, keyed like `locks`; absent when there is none. */
  readonly problems?: { readonly [row: number]: string };
  /** The domain's `problem` when its state file is damaged (every row then has it as `domainProblem`). */
  readonly domainProblem?: string;
}

/** The result of lock or unlock: the state after the call. */
export interface LockResult {
  readonly target: string;
  readonly kind: 'domain' | 'mailbox';
  /** True when the target is locked after the call. */
  readonly locked: boolean;
  /** False when the target already was in the requested state. */
  readonly changed: boolean;
  readonly lock: LockInfo | null;
  /** POP3 sessions closed because of this lock. */
  readonly sessionsClosed: number;
  /**
   * Counts the changes of this target's lock (from 0 when it was created):
   * results with the same serial saw the same state, a higher serial a later
   * one. Orders the replies of calls made at the same time, over several
   * connections, as their changes took effect.
   */
  readonly serial: number;
}

/** One item of a bulk lock or unlock: each target succeeds or fails alone. */
export type BulkItemResult =
  | { readonly target: string; readonly ok: true; readonly result: LockResult }
  | { readonly target: string; readonly ok: false; readonly error: ErrorShape };

export const AUTH_METHODS = {
  1: 'System accounts',
  2: 'Directory (LDAP, Active Directory)',
  3: 'Encrypted Password File',
} as const;
export type AuthMethod = keyof typeof AUTH_METHODS;
/** The one method that exists on every platform. */
export const PASSWORD_FILE_AUTH: AuthMethod = 3;
/** Passwords checked by an LDAP directory (OpenLDAP, Active Directory); the mailboxes still live in the store. */
export const DIRECTORY_AUTH: AuthMethod = 2;

/** Where the Directory method (auth 2) asks for passwords. */
export interface DirectorySettings {
  /**
   * `ldaps://host[:port]`, or `ldap://host[:port]` which always upgrades with
   * StartTLS before any password is sent; tried in order (fail-over).
   */
  readonly urls: readonly string[];
  /** Where the search for a log-in's entry starts, e.g. `dc=example,dc=com`. */
  readonly baseDn: string;
  /**
   * RFC 4515 filter that finds the log-in's entry: `{address}` is the whole
   * log-in address, `{user}` its part before the @, `{domain}` the rest,
   * each escaped. Exactly one entry must match.
   */
  readonly filter: string;
  /**
   * The service account that searches (e.g. `cn=pop3,ou=services,dc=example,dc=com`
   * or, on AD, `pop3svc@example.com`); null searches anonymously. Its
   * password is kept apart, in the mail root's private state, and never shown.
   */
  readonly bindDn: string | null;
  /** PEM file of the CA(s) that signed the directory's certificate; null trusts the system's CAs. */
  readonly caFile: string | null;
  /** Longest wait for the directory per log-in (connect, TLS, search and bind together), seconds. */
  readonly timeoutSeconds: number;
  /**
   * How long a verified directory password is remembered, seconds (0: never):
   * a password changed or an account removed in the directory takes effect
   * no later than this.
   */
  readonly cacheTtlSeconds: number;
}

export interface SocketSettings {
  /** Connections waiting when all sessions are busy; more are refused. */
  readonly backlog: number;
  /** Most sessions served at once. */
  readonly max: number;
  /** Sessions the service keeps ready. */
  readonly min: number;
  /** Free sessions below which more are made ready. */
  readonly threshold: number;
}

export interface Settings {
  readonly auth: AuthMethod;
  /** Used when `auth` is 2 (Directory). */
  readonly directory: DirectorySettings;
  /** 0 none, 1 minimum, 2 medium, 3 maximum. */
  readonly logging: 0 | 1 | 2 | 3;
  readonly mailroot: string;
  readonly port: number;
  readonly smtpPort: number;
  /** Require secure password authentication (encrypted connections only). */
  readonly sparequired: boolean;
  readonly socket: SocketSettings;
  /** RFC 1939 autologout timer of a logged-in session, seconds (at least 600, as RFC 1939 requires). */
  readonly idleTimeoutSeconds: number;
  /** How long a POP3 connection may stay without logging in, seconds. */
  readonly loginTimeoutSeconds: number;
  /** POP3 connections one client address may hold at once (an IPv6 client counts by its /64 network). */
  readonly connectionsPerAddress: number;
  /**
   * Addresses the POP3, POP3S and SMTP listeners bind: `*` is every IPv4
   * address, `::` every IPv6 address, or literal addresses. Applies at the next start.
   */
  readonly listen: readonly string[];
  /**
   * Allow passwords on unencrypted connections from other machines. Off by
   * default: only loopback may log in without TLS (unless `sparequired`).
   */
  readonly plaintextRemote: boolean;
  /** Most SMTP connections at once. */
  readonly smtpMaxConnections: number;
  /** SMTP connections one client address may hold at once. */
  readonly smtpConnectionsPerAddress: number;
  /** Largest message SMTP accepts, bytes. */
  readonly maxMessageBytes: number;
  /** POP3 over TLS from the first byte (implicit TLS, RFC 8314); 995 by default. */
  readonly pop3sPort: number;
  /**
   * PEM certificate (with its chain) used by STLS, POP3S and SMTP STARTTLS.
   * With this and `tlsKeyFile` both null the service makes a self-signed one.
   */
  readonly tlsCertFile: string | null;
  /** PEM private key of `tlsCertFile`, unencrypted; keep it readable by the service only. */
  readonly tlsKeyFile: string | null;
  /**
   * Port of the admin endpoint (HTTPS and WebSocket, for admin accounts
   * signed in with a password); 0, the default, turns it off. Applies at once.
   */
  readonly adminPort: number;
  /**
   * Addresses the admin endpoint binds, as `listen` takes them; only this
   * computer (`127.0.0.1`) by default, so remote use is an explicit choice. Applies at once.
   */
  readonly adminListen: readonly string[];
  /**
   * Processes that serve POP3, POP3S and SMTP under `pop3svc` (node:cluster
   * workers beside one primary that keeps the control channel and the admin
   * endpoint); 0, the default, is one per CPU; 1 serves everything in one
   * process. Applies at the next start.
   */
  readonly workers: number;
}

export type SettingsPatch = {
  readonly [K in keyof Settings]?: K extends 'socket' ? Partial<SocketSettings> : K extends 'directory' ? DirectoryPatch : K extends 'listen' | 'adminListen' ? string[] : Settings[K];
} & {
  /** The service account's password (`directory.bindDn`): kept in the mail root's private state, never in the settings; null forgets it. */
  readonly directoryBindPassword?: string | null;
};

export type DirectoryPatch = { -readonly [K in keyof DirectorySettings]?: K extends 'urls' ? string[] : DirectorySettings[K] };

/** One step of a directory connection test: what was tried, and what it answered. */
export interface DirectoryTestStep {
  /** `tcp`: the connection; `tls`: ldaps or StartTLS with the CA; `bind`: the service account (or anonymous); `search`: the base DN and the filter. */
  readonly step: 'tcp' | 'tls' | 'bind' | 'search';
  readonly url: string;
  readonly ok: boolean;
  /** What happened, in words an administrator can act on. */
  readonly detail: string;
}

export interface DirectoryTestResult {
  /** True when every step of at least one URL passed. */
  readonly ok: boolean;
  readonly steps: readonly DirectoryTestStep[];
  /** One sentence: what works, or what failed first and what to do. */
  readonly message: string;
}

export interface ListenerStatus {
  /** `pop3s`: POP3 over TLS from the first byte; `admin`: the admin endpoint (HTTPS and WebSocket). */
  readonly protocol: 'pop3' | 'pop3s' | 'smtp' | 'control' | 'admin';
  /** `host:port` (several joined by ", ", IPv6 in brackets), or the socket path of the control channel. */
  readonly address: string;
  /** Every bound `host:port` of the listener; absent for the control channel. */
  readonly addresses?: readonly string[];
  readonly listening: boolean;
  /** Why it is not listening, with the fix. */
  readonly error?: string;
}

export interface ServerInfo {
  readonly computer: string;
  readonly version: string;
  readonly mailroot: string;
  /** `in-process`: this process serves the store; `remote`: a running service does, through the control channel; `store-only`: no listener, the store is changed directly. */
  readonly mode: 'in-process' | 'remote' | 'store-only';
  readonly listeners: readonly ListenerStatus[];
  readonly sessions: number;
  /** The certificate of STLS, POP3S and STARTTLS; absent where no listener runs (store-only). */
  readonly tls?: TlsStatus;
  /** The worker processes serving POP3 and SMTP, with the sessions each holds; absent when one process serves everything. */
  readonly workers?: readonly WorkerStatus[];
}

/** One worker process of a service running on several (the setting `workers`). */
export interface WorkerStatus {
  readonly pid: number;
  /** Connections it serves now (as `ServerInfo.sessions` counts them). */
  readonly sessions: number;
  /** ISO 8601 time it was started. */
  readonly started: string;
}

/** The certificate the service offers, as Server Properties shows it. */
export interface CertificateInfo {
  /** The certificate's subject, e.g. `CN=mail.example.com`. */
  readonly subject: string;
  readonly issuer: string;
  /** SHA-256 fingerprint as mail clients show it: colon-separated upper-case hex. */
  readonly fingerprint256: string;
  /** ISO 8601 times of its validity. */
  readonly validFrom: string;
  readonly validTo: string;
  /** Subject alternative names, e.g. `DNS:localhost`, `IP Address:127.0.0.1`. */
  readonly altNames: readonly string[];
  /** Signed by its own key: mail clients warn unless told to trust it. */
  readonly selfSigned: boolean;
  /** Made by the service because no certificate was configured. */
  readonly generated: boolean;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsStatus {
  /** The certificate in use; null when TLS is off. */
  readonly certificate: CertificateInfo | null;
  /** Why TLS is off (a bad certificate or key file), with the fix. */
  readonly error?: string;
}

export interface StatResult {
  readonly domains: readonly DomainSummary[];
  readonly totals: { readonly domains: number; readonly mailboxes: number; readonly messages: number; readonly bytes: number };
}

/**
 * One POP3 connection, as `listSessions` shows it: from the greeting (before
 * log-in too) until it closes.
 */
export interface SessionInfo {
  /**
   * Stable while the session lives, never reused, unique across the
   * service's processes: `<pid>-<n>`, the pid of the process serving it
   * (`sessionOwnerPid` in shared/session-id.ts reads it back).
   */
  readonly id: string;
  /** The mailbox (`user@domain`) once logged in; null before. */
  readonly address: string | null;
  /** The client's `host:port`, as the log and the session events name it. */
  readonly client: string;
  /** ISO 8601 time the service began serving it (a connection waiting for a free slot is not listed yet). */
  readonly since: string;
  /** True over TLS: POP3S, or after STLS. */
  readonly encrypted: boolean;
  /** RFC 1939's states: before log-in, logged in, or applying its deletions after QUIT. */
  readonly state: 'authorization' | 'transaction' | 'update';
  /** The port it came in on: plain POP3 (with STLS) or POP3S. */
  readonly listener: 'pop3' | 'pop3s';
}

// --- Counters (issue 15): what the service counted, for `winpop stat`, the console's chart and /metrics. ---

/**
 * What the service counts. `sessions`: POP3 connections served (greeted);
 * `loginsFailed`: log-ins whose name or password was wrong;
 * `loginsLocked`: right password, refused because the mailbox or its domain
 * is locked; `messagesDeleted`: removed at QUIT; `octetsSent`: bytes POP3 sessions
 * wrote to their clients (before TLS); `smtpRefused`: a recipient refused at
 * RCPT TO or a message refused at DATA; `connectionsRefused`: POP3 and SMTP
 * connections refused by the connection limits.
 */
export const COUNTER_NAMES = [
  'sessions',
  'loginsAccepted',
  'loginsFailed',
  'loginsLocked',
  'messagesRetrieved',
  'messagesDeleted',
  'octetsSent',
  'smtpAccepted',
  'smtpRefused',
  'connectionsRefused',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
/** One number per counter. */
export type CounterValues = { readonly [K in CounterName]: number };

/** The `counters` operation's result and the `counters` event's figures. */
export interface CountersReport {
  /** ISO 8601 time counting began (the service's start; the earliest process's where several serve). */
  readonly since: string;
  /** ISO 8601 time of these figures. */
  readonly at: string;
  /** POP3 sessions open now. */
  readonly sessionsCurrent: number;
  /** Since `since`. */
  readonly totals: CounterValues;
  /** In the last whole second. */
  readonly perSecond: CounterValues;
  /** In the last 60 whole seconds. */
  readonly perMinute: CounterValues;
  /**
   * Per minute, for a chart: `counts[name][i]` is the minute starting at
   * `start` plus `i` minutes; oldest first, the last is the current minute so far.
   */
  readonly minutes: { readonly start: string; readonly counts: { readonly [K in CounterName]: readonly number[] } };
}

/** Every admin operation: its argument object and its result. */
export interface Operations {
  serverInfo: { args: Record<string, never>; result: ServerInfo };
  listDomains: { args: Record<string, never>; result: DomainSummary[] };
  listMailboxes: { args: { domain: string }; result: MailboxSummary[] };
  /** The same list as `listMailboxes`, in columns: for the console, where a domain can hold 100,000 mailboxes. */
  listMailboxTable: { args: { domain: string }; result: MailboxTable };
  addDomain: { args: { domain: string }; result: DomainSummary };
  deleteDomain: { args: { domain: string }; result: { domain: string } };
  /** `password` is required with the password file (auth 3) and refused with the other methods, whose passwords live in the directory or the system. */
  addMailbox: { args: { address: string; password?: string }; result: MailboxSummary };
  deleteMailbox: { args: { address: string }; result: { address: string } };
  changePassword: { args: { address: string; password: string }; result: { address: string } };
  /** `target` is a domain or `user@domain`. */
  lock: { args: { target: string; reason?: string }; result: LockResult };
  unlock: { args: { target: string }; result: LockResult };
  lockMany: { args: { targets: string[]; reason?: string }; result: BulkItemResult[] };
  unlockMany: { args: { targets: string[] }; result: BulkItemResult[] };
  stat: { args: { domain?: string }; result: StatResult };
  getSettings: { args: Record<string, never>; result: Settings };
  setSettings: { args: { patch: SettingsPatch }; result: Settings };
  /**
   * Tries the Directory settings (the saved ones, with `directory` and
   * `bindPassword` laid over them when given: a form not saved yet) step by
   * step; with `address`, also searches that log-in's entry. Changes nothing.
   */
  testDirectory: { args: { directory?: DirectoryPatch; bindPassword?: string; address?: string }; result: DirectoryTestResult };
  /** The open POP3 sessions, oldest first; with `domain`, only those logged in to one of its mailboxes. */
  listSessions: { args: { domain?: string }; result: SessionInfo[] };
  /**
   * Closes one session as a lock does: its deletions are discarded. NOT_FOUND
   * when it has already ended. Resolves with the session as it was.
   */
  endSession: { args: { id: string }; result: SessionInfo };
  /** What the service counted (sessions, log-ins, messages, octets, SMTP, refusals); UNAVAILABLE where no service runs. */
  counters: { args: Record<string, never>; result: CountersReport };
}

export type OperationName = keyof Operations;
export type Args<K extends OperationName> = Operations[K]['args'];
export type Result<K extends OperationName> = Operations[K]['result'];

/** Every operation name, checked complete against `Operations` by the compiler. */
export const OPERATION_NAMES = Object.keys({
  serverInfo: 1,
  listDomains: 1,
  listMailboxes: 1,
  listMailboxTable: 1,
  addDomain: 1,
  deleteDomain: 1,
  addMailbox: 1,
  deleteMailbox: 1,
  changePassword: 1,
  lock: 1,
  unlock: 1,
  lockMany: 1,
  unlockMany: 1,
  stat: 1,
  getSettings: 1,
  setSettings: 1,
  testDirectory: 1,
  listSessions: 1,
  endSession: 1,
  counters: 1,
} satisfies Record<OperationName, 1>) as OperationName[];

/** An account of the admin endpoint: a name and a password hash, kept by the service. */
export interface AdminAccount {
  /** Lower case: names are compared without regard to case. */
  readonly name: string;
  /** ISO 8601 times of its creation and of its last password change. */
  readonly created: string;
  readonly changed: string;
  /** Sessions it has signed in on the admin endpoint now; 0 where no service runs. */
  readonly sessions: number;
}

/**
 * The accounts of the admin endpoint. Not part of `Operations` (nor of
 * `AdminApi`): they are managed only over the local control channel, by the
 * OS user that runs the service (`winpop admin`), or on the store directly
 * when no service runs. The admin endpoint refuses them, and the console's
 * IPC has no channel for them.
 */
export interface AccountOperations {
  listAdmins: { args: Record<string, never>; result: AdminAccount[] };
  addAdmin: { args: { name: string; password: string }; result: AdminAccount };
  /** Ends the admin's sessions and open WebSockets at once. */
  deleteAdmin: { args: { name: string }; result: { name: string; sessionsEnded: number } };
  /** Ends the admin's sessions and open WebSockets at once: each must sign in with the new password. */
  changeAdminPassword: { args: { name: string; password: string }; result: { name: string; sessionsEnded: number } };
  /**
   * A one-time sign-in link to the running service's admin endpoint, for the
   * OS user that asks (`npm start`, `winpop admin link`): it opens one session,
   * once, within minutes. UNAVAILABLE when the endpoint is not listening.
   */
  signInLink: { args: Record<string, never>; result: { url: string; expires: string } };
}

export type AccountOperationName = keyof AccountOperations;

/** Every account operation name, checked complete by the compiler. */
export const ACCOUNT_OPERATION_NAMES = Object.keys({
  listAdmins: 1,
  addAdmin: 1,
  deleteAdmin: 1,
  changeAdminPassword: 1,
  signInLink: 1,
} satisfies Record<AccountOperationName, 1>) as AccountOperationName[];

/** The account operations as a client sees them. */
export type AccountApi = {
  readonly [K in AccountOperationName]: (args: AccountOperations[K]['args']) => Promise<AccountOperations[K]['result']>;
};

/** Events the service emits after a change, wherever it came from. */
export type AdminEvent =
  | { readonly type: 'domainAdded'; readonly domain: string }
  | { readonly type: 'domainRemoved'; readonly domain: string }
  | { readonly type: 'mailboxAdded'; readonly address: string }
  | { readonly type: 'mailboxRemoved'; readonly address: string }
  | { readonly type: 'locked'; readonly target: string; readonly kind: 'domain' | 'mailbox'; readonly lock: LockInfo }
  | { readonly type: 'unlocked'; readonly target: string; readonly kind: 'domain' | 'mailbox' }
  | { readonly type: 'passwordChanged'; readonly address: string }
  | { readonly type: 'mailArrived'; readonly address: string; readonly messages: number; readonly bytes: number }
  | { readonly type: 'mailboxChanged'; readonly address: string; readonly messages: number; readonly bytes: number }
  /** A state file was found missing or damaged (`problem`, as in the summaries), or whole again (null). */
  | { readonly type: 'stateProblem'; readonly target: string; readonly kind: 'domain' | 'mailbox'; readonly problem: string | null }
  | { readonly type: 'sessionOpened'; readonly address: string; readonly remote: string }
  | { readonly type: 'sessionClosed'; readonly address: string; readonly remote: string; readonly reason: string }
  | { readonly type: 'settingsChanged'; readonly settings: Settings }
  /**
   * A POP3 connection was greeted, started TLS, logged in or entered UPDATE
   * (`session`), or closed (`session` null), logged in or not: what a live
   * list of sessions follows. `sessionOpened`/`sessionClosed` stay the
   * log-ins and their ends.
   */
  | { readonly type: 'sessionChanged'; readonly id: string; readonly session: SessionInfo | null }
  /** The counters, at most once a second, while they change or sessions are open. */
  | { readonly type: 'counters'; readonly counters: CountersReport };

export type AdminEventType = AdminEvent['type'];

/** Machine-readable error codes, each with a fixed meaning. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'DOMAIN_LOCKED'
  | 'NOT_ALLOWED'
  | 'STORE_ERROR'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface ErrorShape {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * The admin API as a client sees it: one async method per operation, and a
 * subscription to events that returns its own unsubscribe.
 */
export type AdminApi = {
  readonly [K in OperationName]: (args: Args<K>) => Promise<Result<K>>;
} & {
  readonly onEvent: (listener: (event: AdminEvent) => void) => () => void;
};

/** The IPC channel that carries one operation between renderer and main. */
export const ipcChannel = (op: OperationName): string => `admin:${op}`;
/** The IPC channel on which the main process pushes events to the renderer. */
export const IPC_EVENT_CHANNEL = 'admin:event';

/** What crosses IPC and the control channel for one call: errors keep their code. */
export type Reply<T> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly error: ErrorShape };

/**
 * Another computer's service, as the console's main process holds it: it
 * signs in to that computer's admin endpoint and keeps one WebSocket to it.
 * The renderer names it by `id`, which only the main process gives out.
 */
export interface ComputerInfo {
  /** Given out by the main process (`c-` and 16 hexadecimal digits); the local computer has none. */
  readonly id: string;
  readonly host: string;
  /** The admin endpoint's port. */
  readonly port: number;
  /** The admin account it signs in as. */
  readonly admin: string;
  readonly state: ComputerState;
  /** Why it is not connected (unreachable, log-in failed, certificate changed), with what to do. */
  readonly reason?: string;
  /** The remembered SHA-256 fingerprint of its certificate (colon-separated upper-case hex); null before the admin confirmed one. */
  readonly fingerprint: string | null;
  /** The fingerprint the computer offers now, when it differs from the remembered one or none is remembered yet: for the admin to compare. */
  readonly offeredFingerprint?: string;
  /** The computer's host name, as its service tells it once connected. */
  readonly computerName?: string;
  /** ISO 8601 time of the next automatic attempt, while unreachable. */
  readonly retryAt?: string;
  /** A credential is saved (encrypted by the operating system's key store): it reconnects at the next start by itself. */
  readonly saved: boolean;
}

/**
 * `unconfirmed`: first contact, its fingerprint waits for the admin's confirmation;
 * `fingerprintChanged`: it offers another certificate than the remembered one, refused until the admin accepts the new one;
 * `signedOut`: remembered, but no password to sign in with (connect asks for it).
 */
export type ComputerState = 'connecting' | 'connected' | 'unreachable' | 'loginFailed' | 'unconfirmed' | 'fingerprintChanged' | 'signedOut';

/** The operations on the console's list of other computers (Electron IPC only: the main process holds the connections). */
export interface ComputerOperations {
  listComputers: { args: Record<string, never>; result: ComputerInfo[] };
  /**
   * Adds a computer (without `computer`) or signs in again to a known one.
   * Resolves once the attempt has ended: connected, or the state that says
   * why not (`unconfirmed` on first contact: call `confirmFingerprint`).
   * `remember` saves the password encrypted by the operating system, where it can.
   */
  connectComputer: { args: { host: string; port: number; admin: string; password: string; remember?: boolean; computer?: string }; result: ComputerInfo };
  /** Trusts `fingerprint` (the one the computer offers now, as the admin saw it) and connects. */
  confirmFingerprint: { args: { computer: string; fingerprint: string }; result: ComputerInfo };
  /** Closes the connection and stops reconnecting; the computer stays remembered. */
  disconnectComputer: { args: { computer: string }; result: ComputerInfo };
  /** Disconnects and forgets the computer, its fingerprint and its saved credential. */
  removeComputer: { args: { computer: string }; result: { computer: string } };
  /** Runs one admin operation on the computer: the same names, arguments and results as on the local one. */
  callComputer: { args: { computer: string; op: OperationName; args: unknown }; result: unknown };
}

export type ComputerOperationName = keyof ComputerOperations;

/** Every computer operation name, checked complete by the compiler. */
export const COMPUTER_OPERATION_NAMES = Object.keys({
  listComputers: 1,
  connectComputer: 1,
  confirmFingerprint: 1,
  disconnectComputer: 1,
  removeComputer: 1,
  callComputer: 1,
} satisfies Record<ComputerOperationName, 1>) as ComputerOperationName[];

/** What the main process pushes about other computers: a state change, a removal, or one of a computer's admin events. */
export type ComputerEvent =
  | { readonly type: 'computerState'; readonly computer: ComputerInfo }
  | { readonly type: 'computerRemoved'; readonly computer: string }
  | { readonly type: 'computerEvent'; readonly computer: string; readonly event: AdminEvent };

/** The other computers as the renderer sees them (`window.winpop.computers`). */
export type ComputersApi = {
  readonly [K in ComputerOperationName]: (args: ComputerOperations[K]['args']) => Promise<ComputerOperations[K]['result']>;
} & {
  readonly onEvent: (listener: (event: ComputerEvent) => void) => () => void;
};

/** The IPC channel of one computer operation. */
export const computerChannel = (op: ComputerOperationName): string => `computer:${op}`;
/** The IPC channel of ComputerEvent. */
export const IPC_COMPUTER_EVENT_CHANNEL = 'computer:event';
