/**
 * The directory connection test (`testDirectory`, Server Properties' "Test
 * connection"): each URL tried step by step (TCP, TLS, the service
 * account's bind, the search) so that the administrator reads exactly
 * which step failed and why.
 */

import { InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import type { DirectorySettings, DirectoryTestResult, DirectoryTestStep } from '../../../shared/contract.js';
import type { Address } from '../../../shared/names.js';
import { readCaFile } from './directory-authority.js';
import { loginFilter } from './ldap-filter.js';
import { DirectoryConnectError, openDirectoryConnection, parseDirectoryUrl } from './ldap-connection.js';

function words(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** Tries one URL; the steps it reached, the last one failed unless all passed. */
async function probeUrl(url: string, settings: DirectorySettings, ca: string | undefined, bindPassword: string | null, address: Address | undefined): Promise<DirectoryTestStep[]> {
  const steps: DirectoryTestStep[] = [];
  const step = (name: DirectoryTestStep['step'], ok: boolean, detail: string): DirectoryTestStep[] => {
    steps.push({ step: name, url, ok, detail });
    return steps;
  };
  const target = parseDirectoryUrl(url);
  let conn;
  try {
    conn = await openDirectoryConnection(target, { ca, timeoutMs: settings.timeoutSeconds * 1000 });
  } catch (err) {
    if (!(err instanceof DirectoryConnectError)) throw err;
    if (err.step === 'tls') step('tcp', true, `connected to ${target.host}:${target.port}.`);
    return step(err.step, false, err.message);
  }
  try {
    step('tcp', true, `connected to ${target.host}:${target.port}.`);
    step('tls', true, target.secure ? 'TLS (ldaps) with a trusted certificate.' : 'StartTLS with a trusted certificate.');
    if (settings.bindDn === null) {
      step('bind', true, 'no service account: searching anonymously.');
    } else if (bindPassword === null) {
      return step('bind', false, `the service account ${settings.bindDn} has no password saved; enter it and save.`);
    } else {
      try {
        await conn.client.bind(settings.bindDn, bindPassword);
        step('bind', true, `bound as ${settings.bindDn}.`);
      } catch (err) {
        const why = err instanceof InvalidCredentialsError ? 'wrong DN or password' : words(err);
        return step('bind', false, `the directory refused the service account ${settings.bindDn} (${why}).`);
      }
    }
    try {
      await conn.client.search(settings.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    } catch (err) {
      const why = err instanceof NoSuchObjectError ? 'no such entry, or the account may not read it' : words(err);
      return step('search', false, `the base DN ${settings.baseDn} cannot be read (${why}).`);
    }
    if (address === undefined) return step('search', true, `the base DN ${settings.baseDn} is there.`);
    const filter = loginFilter(settings.filter, address);
    try {
      const { searchEntries } = await conn.client.search(settings.baseDn, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 2 });
      if (searchEntries.length === 1) return step('search', true, `${address.address} is ${(searchEntries[0] as { dn: string }).dn}.`);
      if (searchEntries.length === 0) return step('search', false, `no entry under ${settings.baseDn} matches ${filter}; check the filter and the base DN.`);
      return step('search', false, `several entries match ${filter}; the filter must find exactly one.`);
    } catch (err) {
      return step('search', false, `the search ${filter} failed (${words(err)}).`);
    }
  } finally {
    conn.kill();
  }
}

export async function probeDirectory(settings: DirectorySettings, bindPassword: string | null, address?: Address): Promise<DirectoryTestResult> {
  if (settings.urls.length === 0) return { ok: false, steps: [], message: 'No directory URL is set: enter at least one, e.g. ldaps://dc1.example.com.' };
  if (settings.baseDn === '') return { ok: false, steps: [], message: 'No base DN is set: enter one, e.g. dc=example,dc=com.' };
  let ca: string | undefined;
  try {
    ca = readCaFile(settings.caFile);
  } catch (err) {
    return { ok: false, steps: [], message: words(err) };
  }
  const steps: DirectoryTestStep[] = [];
  const passed: string[] = [];
  for (const url of settings.urls) {
    const reached = await probeUrl(url, settings, ca, bindPassword, address);
    steps.push(...reached);
    if (reached.every((s) => s.ok)) passed.push(url);
  }
  if (passed.length > 0) {
    const failedUrls = settings.urls.filter((u) => !passed.includes(u));
    const last = steps.filter((s) => s.url === passed[0]).at(-1);
    return {
      ok: true,
      steps,
      message: `The directory answers at ${passed.join(', ')}: ${last?.detail ?? ''}${failedUrls.length > 0 ? ` Not at ${failedUrls.join(', ')} (see the steps).` : ''}`,
    };
  }
  const failed = steps.find((s) => !s.ok);
  const stepName = { tcp: 'TCP connection', tls: 'TLS', bind: 'bind', search: 'search' } as const;
  return { ok: false, steps, message: failed ? `${stepName[failed.step]} failed at ${failed.url}: ${failed.detail}` : 'The directory could not be tested.' };
}
