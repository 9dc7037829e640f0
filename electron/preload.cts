/**
 * The console page's only door to the service: `window.winpop`.
 *
 * Sandboxed preloads are CommonJS and may require nothing but `electron`, so
 * this file imports only types from shared/ and spells the channel names out;
 * the compiler proves the map complete and each name equal to
 * `ipcChannel(op)` (`admin:<op>`). One method per operation and one event
 * subscription are exposed; no raw send or invoke.
 *
 * Failures reject with a plain `{ name: 'AdminError', code, message }`, not
 * an Error: contextBridge rebuilds a rejected Error from its message alone and
 * drops `code` (electron/electron#25596), while a plain object crosses whole.
 * The renderer reads either form with `toErrorShape` from shared/errors.ts.
 */

import type {
  AdminApi,
  AdminEvent,
  Args,
  ComputerEvent,
  ComputerOperationName,
  ComputerOperations,
  ComputersApi,
  ErrorShape,
  IPC_COMPUTER_EVENT_CHANNEL,
  IPC_EVENT_CHANNEL,
  OperationName,
  Reply,
  Result,
} from '../shared/contract.js';
import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

const CHANNELS = {
  serverInfo: 'admin:serverInfo',
  listDomains: 'admin:listDomains',
  listMailboxes: 'admin:listMailboxes',
  listMailboxTable: 'admin:listMailboxTable',
  addDomain: 'admin:addDomain',
  deleteDomain: 'admin:deleteDomain',
  addMailbox: 'admin:addMailbox',
  deleteMailbox: 'admin:deleteMailbox',
  changePassword: 'admin:changePassword',
  lock: 'admin:lock',
  unlock: 'admin:unlock',
  lockMany: 'admin:lockMany',
  unlockMany: 'admin:unlockMany',
  stat: 'admin:stat',
  getSettings: 'admin:getSettings',
  setSettings: 'admin:setSettings',
  testDirectory: 'admin:testDirectory',
  listSessions: 'admin:listSessions',
  endSession: 'admin:endSession',
  counters: 'admin:counters',
} as const satisfies { readonly [K in OperationName]: `admin:${K}` };

const EVENT_CHANNEL = 'admin:event' satisfies typeof IPC_EVENT_CHANNEL;

const COMPUTER_CHANNELS = {
  listComputers: 'computer:listComputers',
  connectComputer: 'computer:connectComputer',
  confirmFingerprint: 'computer:confirmFingerprint',
  disconnectComputer: 'computer:disconnectComputer',
  removeComputer: 'computer:removeComputer',
  callComputer: 'computer:callComputer',
} as const satisfies { readonly [K in ComputerOperationName]: `computer:${K}` };

const COMPUTER_EVENT_CHANNEL = 'computer:event' satisfies typeof IPC_COMPUTER_EVENT_CHANNEL;

/** A failure as the renderer receives it: a plain record, so its code survives the bridge. */
interface AdminFailure extends ErrorShape {
  readonly name: 'AdminError';
}

function unwrap<T>(reply: Reply<T>): T {
  if (reply.ok) return reply.result;
  const failure: AdminFailure = { name: 'AdminError', code: reply.error.code, message: reply.error.message };
  throw failure;
}

function call<K extends OperationName>(op: K): (args: Args<K>) => Promise<Result<K>> {
  const channel = CHANNELS[op];
  return async (args) => unwrap((await ipcRenderer.invoke(channel, args)) as Reply<Result<K>>);
}

function computerCall<K extends ComputerOperationName>(op: K): (args: ComputerOperations[K]['args']) => Promise<ComputerOperations[K]['result']> {
  const channel = COMPUTER_CHANNELS[op];
  return async (args) => unwrap((await ipcRenderer.invoke(channel, args)) as Reply<ComputerOperations[K]['result']>);
}

/** The other computers: the main process holds their connections; the page names each by the id it was given. */
const computers = {
  listComputers: computerCall('listComputers'),
  connectComputer: computerCall('connectComputer'),
  confirmFingerprint: computerCall('confirmFingerprint'),
  disconnectComputer: computerCall('disconnectComputer'),
  removeComputer: computerCall('removeComputer'),
  callComputer: computerCall('callComputer'),
  onEvent(listener: (event: ComputerEvent) => void): () => void {
    const relay = (_event: unknown, payload: ComputerEvent): void => listener(payload);
    ipcRenderer.on(COMPUTER_EVENT_CHANNEL, relay);
    return () => {
      ipcRenderer.removeListener(COMPUTER_EVENT_CHANNEL, relay);
    };
  },
} satisfies ComputersApi;

const winpop = {
  computers,
  serverInfo: call('serverInfo'),
  listDomains: call('listDomains'),
  listMailboxes: call('listMailboxes'),
  listMailboxTable: call('listMailboxTable'),
  addDomain: call('addDomain'),
  deleteDomain: call('deleteDomain'),
  addMailbox: call('addMailbox'),
  deleteMailbox: call('deleteMailbox'),
  changePassword: call('changePassword'),
  lock: call('lock'),
  unlock: call('unlock'),
  lockMany: call('lockMany'),
  unlockMany: call('unlockMany'),
  stat: call('stat'),
  getSettings: call('getSettings'),
  setSettings: call('setSettings'),
  testDirectory: call('testDirectory'),
  listSessions: call('listSessions'),
  endSession: call('endSession'),
  counters: call('counters'),
  onEvent(listener: (event: AdminEvent) => void): () => void {
    // The IpcRendererEvent stays here: it carries the sender, which the page must not get.
    const relay = (_event: unknown, payload: AdminEvent): void => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, relay);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, relay);
    };
  },
} satisfies AdminApi & { readonly computers: ComputersApi };

contextBridge.exposeInMainWorld('winpop', winpop);
