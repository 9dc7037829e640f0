/**
 * Where things live under the mail root. Every function takes names that
 * were already checked by shared/names.ts, never raw input.
 */

import path from 'node:path';
import type { Address } from '../../../shared/names.js';

export const STATE_DIR = '.winpop';
export const TRASH_DIR = 'trash';
export const AUDIT_FILE = 'audit.log';
export const DOMAIN_META = '.winpop-domain.json';
export const MAILBOX_META = '.winpop-mailbox.json';
/** The POP3 maildrop lock with its lease, held by the process serving a session on the mailbox (maildrop-lock.ts). */
export const MAILDROP_LOCK = '.winpop-pop3.lock';
/** Each mailbox's remembered message sizes, for mail whose names do not carry them (size-cache.ts). */
export const SIZE_CACHE = '.winpop-sizes.json';
/** Folders being built for a new domain or mailbox; the dot keeps them apart from valid names. */
export const STAGING_PREFIX = '.staging-';
/** Expunge intent records: `.winpop-expunge.json` or `.winpop-expunge.<hex>.json`. */
export const EXPUNGE_RECORD = /^\.winpop-expunge(?:\.[0-9a-f]{1,32})?\.json$/;
export const MAILDIR_SUBDIRS = ['tmp', 'new', 'cur'] as const;
/** Listing snapshots, one folder per domain (listing-snapshot.ts), outside the domain folders so writing them changes no domain's mtime. */
export const INDEX_DIR = 'index';
/** Where SMTP spools a message for several recipients before the store takes it (smtp/store-message.ts); recovery clears it. */
export const SPOOL_DIR = 'spool';
/** Lock files of read-decide-write steps that other processes must see (lock-files.ts). */
export const LOCKS_DIR = 'locks';
/** Each process's holder file, the inode its maildrop locks are hard links to (maildrop-holder.ts). */
export const HOLDERS_DIR = 'holders';
/** The self-signed certificate and key made at first start (tls/self-signed.ts). */
export const TLS_DIR = 'tls';
/** The control channel's socket when its path fits (admin/control-path.ts). */
export const CONTROL_SOCKET = 'control.sock';

export const stateDir = (root: string): string => path.join(root, STATE_DIR);
export const trashDir = (root: string): string => path.join(root, STATE_DIR, TRASH_DIR);
export const spoolDir = (root: string): string => path.join(root, STATE_DIR, SPOOL_DIR);
export const locksDir = (root: string): string => path.join(root, STATE_DIR, LOCKS_DIR);
export const holdersDir = (root: string): string => path.join(root, STATE_DIR, HOLDERS_DIR);
export const tlsDir = (root: string): string => path.join(root, STATE_DIR, TLS_DIR);
export const controlSocketFile = (root: string): string => path.join(root, STATE_DIR, CONTROL_SOCKET);
export const indexDir = (root: string): string => path.join(root, STATE_DIR, INDEX_DIR);
export const domainIndexDir = (root: string, domain: string): string => path.join(root, STATE_DIR, INDEX_DIR, domain);
export const domainDir = (root: string, domain: string): string => path.join(root, domain);
export const domainMetaFile = (root: string, domain: string): string => path.join(root, domain, DOMAIN_META);
export const mailboxDir = (root: string, a: Pick<Address, 'domain' | 'mailbox'>): string => path.join(root, a.domain, a.mailbox);
export const mailboxMetaFile = (root: string, a: Pick<Address, 'domain' | 'mailbox'>): string => path.join(root, a.domain, a.mailbox, MAILBOX_META);
/** Takes the mailbox folder, as sizeCacheFile does. */
export const maildropLockFile = (mailboxFolder: string): string => path.join(mailboxFolder, MAILDROP_LOCK);
/** Takes the mailbox folder: the maildir code knows a mailbox by its folder. */
export const sizeCacheFile = (mailboxFolder: string): string => path.join(mailboxFolder, SIZE_CACHE);
