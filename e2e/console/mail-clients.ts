/**
 * Real mail clients for the tests: Python's poplib and smtplib, run as child
 * processes against the service's POP3 and SMTP ports.
 */

import { execFile } from 'node:child_process';

const POP3_SCRIPT = `
import json, poplib, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def text(e):
    a = e.args[0] if e.args else e
    return a.decode('utf-8', 'replace') if isinstance(a, bytes) else str(a)
try:
    c = poplib.POP3(host, port, timeout=15)
    c.user(user)
    c.pass_(password)
    count, size = c.stat()
    messages = []
    for i in range(1, count + 1):
        resp, lines, octets = c.retr(i)
        messages.append(b'\\n'.join(lines).decode('utf-8', 'replace'))
    c.quit()
    print(json.dumps({'ok': True, 'count': count, 'size': size, 'messages': messages}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': text(e)}))
`;

const SMTP_SCRIPT = `
import json, smtplib, sys
from email.message import EmailMessage
host, port, sender, rcpt, subject, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
m = EmailMessage()
m['From'] = sender
m['To'] = rcpt
m['Subject'] = subject
m.set_content(body)
try:
    with smtplib.SMTP(host, port, timeout=15) as s:
        s.send_message(m)
    print(json.dumps({'ok': True}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': str(e)}))
`;

function python<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

export type Pop3Outcome =
  | { readonly ok: true; readonly count: number; readonly size: number; readonly messages: readonly string[] }
  | { readonly ok: false; readonly error: string };

/** Logs in with USER/PASS, downloads every message (RETR) and quits; or says why it could not. */
export function pop3FetchAll(port: number, user: string, password: string): Promise<Pop3Outcome> {
  return python<Pop3Outcome>(POP3_SCRIPT, ['127.0.0.1', String(port), user, password]);
}

/** Sends one message with smtplib; rejects when the server refuses it. */
export async function smtpSend(port: number, to: string, subject: string, body = `Body of ${subject}\n`): Promise<void> {
  const outcome = await python<{ ok: boolean; error?: string }>(SMTP_SCRIPT, [
    '127.0.0.1',
    String(port),
    'sender@elsewhere.test',
    to,
    subject,
    body,
  ]);
  if (!outcome.ok) throw new Error(`SMTP delivery to ${to} failed: ${outcome.error}`);
}
