/**
 * What the console knows about the service: its info, its domains, and the
 * mailboxes of the domain on screen.
 *
 * Only the selected domain's mailboxes are kept: a domain can hold 100,000
 * of them, and the others are fetched again when opened.
 */

import { create } from 'zustand';
import type { DomainSummary, ServerInfo } from '../../../shared/contract.js';
import type { DomainRows } from './patch-rows.js';

export interface MailboxList extends DomainRows {
  readonly loading: boolean;
  readonly error: string | null;
}

export interface DataState {
  readonly info: ServerInfo | null;
  readonly infoError: string | null;
  readonly domains: readonly DomainSummary[];
  readonly domainsLoaded: boolean;
  readonly domainsError: string | null;
  readonly mailboxes: MailboxList | null;
}

export const initialData: DataState = {
  info: null,
  infoError: null,
  domains: [],
  domainsLoaded: false,
  domainsError: null,
  mailboxes: null,
};

export const useData = create<DataState>()(() => initialData);

/** The domain's summary, when the domain list has it. */
export function domainByName(name: string): DomainSummary | undefined {
  return useData.getState().domains.find((d) => d.name === name);
}
