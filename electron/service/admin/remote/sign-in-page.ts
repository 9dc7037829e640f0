/**
 * The sign-in page: a plain form (no script, so the strict policy of
 * security-headers.ts holds) that posts the admin's name and password to
 * the endpoint, and its style sheet.
 */

import { PATHS } from './endpoint-protocol.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function signInPage(computer: string, message: string | null = null): string {
  const note = message === null ? '' : `\n    <p class="message" role="alert">${escapeHtml(message)}</p>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="color-scheme" content="light dark" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${PATHS.signInStyle}" />
    <title>Sign in: POP3 Service on ${escapeHtml(computer)}</title>
  </head>
  <body>
    <main>
    <h1>POP3 Service on ${escapeHtml(computer)}</h1>${note}
    <form method="post" action="${PATHS.login}">
      <label for="name">Admin name</label>
      <input id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" autofocus />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256" />
      <button type="submit">Sign in</button>
    </form>
    <p class="note">Admin accounts are made on the service's computer, by the user that runs the service.</p>
    </main>
  </body>
</html>
`;
}

export const SIGN_IN_STYLE = `body { font: 15px system-ui, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh; }
main { max-width: 22rem; width: 100%; padding: 1.5rem; }
h1 { font-size: 1.2rem; overflow-wrap: anywhere; }
form { display: grid; gap: 0.4rem; }
input, button { font: inherit; padding: 0.4rem; }
button { margin-top: 0.8rem; }
.message { color: #b00020; overflow-wrap: anywhere; }
@media (prefers-color-scheme: dark) { .message { color: #ff8a80; } }
.note { font-size: 0.85rem; }
`;
