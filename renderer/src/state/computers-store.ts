/**
 * The other computers the console administers: their states as the main
 * process reports them, and each connected one's domains for the tree.
 */

import { create } from 'zustand';
import type { ComputerInfo, DomainSummary } from '../../../shared/contract.js';
import { computersApi, errorMessage, remoteApi } from '../api.js';

export interface ComputersState {
  readonly computers: readonly ComputerInfo[];
  /** Each connected computer's domains, sorted; absent until listed. */
  readonly domains: Readonly<Record<string, readonly DomainSummary[]>>;
  /** Tree nodes of other computers that are open. */
  readonly expanded: Readonly<Record<string, boolean>>;
}

export const useComputers = create<ComputersState>()(() => ({ computers: [], domains: {}, expanded: {} }));

export function computerById(id: string): ComputerInfo | undefined {
  return useComputers.getState().computers.find((c) => c.id === id);
}

/** What the tree calls another computer: its host name once known, with the address it was reached at. */
export function computerLabel(info: ComputerInfo): string {
  return info.computerName ? `${info.computerName} (${info.host}:${info.port})` : `${info.host}:${info.port}`;
}

/** Keeps one computer's new state; its domains are listed when it (re)connects. */
export function putComputer(info: ComputerInfo): void {
  const before = computerById(info.id);
  useComputers.setState((s) => {
    const known = s.computers.some((c) => c.id === info.id);
    return {
      computers: known ? s.computers.map((c) => (c.id === info.id ? info : c)) : [...s.computers, info],
      expanded: known ? s.expanded : { ...s.expanded, [info.id]: true },
    };
  });
  if (info.state === 'connected' && before?.state !== 'connected') void loadRemoteDomains(info.id);
}

export function dropComputer(id: string): void {
  useComputers.setState((s) => {
    const { [id]: _domains, ...domains } = s.domains;
    return { computers: s.computers.filter((c) => c.id !== id), domains };
  });
}

export function setComputerExpanded(id: string, expanded: boolean): void {
  useComputers.setState((s) => ({ expanded: { ...s.expanded, [id]: expanded } }));
}

/** Lists another computer's domains for the tree; a failure leaves the last list (the state says why). */
export async function loadRemoteDomains(id: string): Promise<void> {
  if (computerById(id)?.state !== 'connected') return;
  try {
    const domains = [...(await remoteApi(id).listDomains({}))].sort((a, b) => a.name.localeCompare(b.name));
    useComputers.setState((s) => ({ domains: { ...s.domains, [id]: domains } }));
  } catch (err) {
    console.warn(`listing the domains of another computer failed: ${errorMessage(err)}`);
  }
}

/** Loads the remembered computers' states. */
export async function loadComputers(): Promise<void> {
  const computers = computersApi();
  if (!computers) return;
  for (const info of await computers.listComputers({})) putComputer(info);
}
