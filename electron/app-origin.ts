/**
 * The console's own origin, `app://console`, and its Content Security Policy.
 *
 * The renderer is served through a privileged custom scheme rather than
 * `file://`: every `file://` page shares one opaque origin with the whole
 * disk, so "same origin" would mean "any local file". With `app://console`
 * the origin covers exactly the built renderer, which the navigation guard,
 * the IPC sender check and the CSP can all name. This module has no Electron
 * import, so the rules are unit-tested under plain Node.
 */

export const APP_SCHEME = 'app';
export const APP_HOST = 'console';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window opens. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * The policy sent with every renderer file.
 *
 * Only the bundle's own scripts and styles run; no network, no frames, no
 * plugins, no forms. Style attributes set by script (React's `style` prop,
 * the virtualized table's row offsets) go through the CSSOM, which CSP does
 * not restrict, so `'unsafe-inline'` is not needed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "worker-src 'none'",
].join('; ');

/**
 * True when the URL belongs to the console's origin.
 *
 * Compared by scheme and host (no port, no credentials): WHATWG URL gives non-special schemes such as
 * `app:` an opaque origin (`"null"`), so `url.origin` cannot be used.
 */
export function isAppUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // Chromium lower-cases the host of a standard scheme; Node's URL keeps it as written.
  return parsed.protocol === `${APP_SCHEME}:` && parsed.host.toLowerCase() === APP_HOST && parsed.username === '' && parsed.password === '' && parsed.port === '';
}
