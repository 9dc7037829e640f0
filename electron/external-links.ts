/**
 * Which links may leave the console for the system browser: an explicit
 * list of documentation pages, nothing else.
 *
 * `shell.openExternal` hands a URL to the operating system, which opens it
 * with whatever program claims its scheme or host; a rule such as "any https
 * URL" would let a page (or text shown in it) send the administrator to any
 * site. So only these exact hosts, over https on the default port, under
 * these paths, pass; the URL handed on is the parsed one, not the text that
 * came in. No Electron import: unit-tested under plain Node.
 */

/** A documentation site: exact host (as URL parsing spells it: lower case, punycode) and path prefix. */
export interface DocumentationSite {
  readonly host: string;
  /** The path must equal this or continue it after a `/`. */
  readonly path: string;
}

/**
 * The project's pages (package.json's homepage) and the RFCs the service
 * implements (POP3, its extensions, SMTP).
 */
export const DOCUMENTATION_SITES: readonly DocumentationSite[] = [
  { host: 'github.com', path: '/winpop/winpop' },
  { host: 'www.rfc-editor.org', path: '/rfc' },
  { host: 'datatracker.ietf.org', path: '/doc' },
];

/** Why a URL may not be opened outside the app, or null (with the URL to open) when it may. */
export function checkExternalUrl(url: string, sites: readonly DocumentationSite[] = DOCUMENTATION_SITES): { ok: true; href: string } | { ok: false; problem: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, problem: 'not a URL' };
  }
  if (parsed.protocol !== 'https:') return { ok: false, problem: `the scheme ${parsed.protocol} is not https:` };
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, problem: 'it carries a user name or password' };
  if (parsed.port !== '') return { ok: false, problem: `it names port ${parsed.port}` };
  // Encoded slashes could name another path to a server that decodes them.
  if (/%2f|%5c/i.test(parsed.pathname)) return { ok: false, problem: 'its path has an encoded slash' };
  const site = sites.find((s) => s.host === parsed.hostname);
  if (!site) return { ok: false, problem: `${parsed.hostname} is not a documentation host of this app` };
  if (parsed.pathname !== site.path && !parsed.pathname.startsWith(`${site.path}/`)) {
    return { ok: false, problem: `${parsed.pathname} is not under ${site.path} on ${site.host}` };
  }
  return { ok: true, href: parsed.href };
}

/** Log lines of a refused link: the URL is cut short, since a page chooses it. */
export function describeRefusedLink(url: string, problem: string): { url: string; problem: string } {
  return { url: url.length > 200 ? `${url.slice(0, 200)}…` : url, problem };
}
