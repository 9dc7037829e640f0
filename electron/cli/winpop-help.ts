/**
 * `winpop help`: the syntax of every command, as the original documented it,
 * with this product's additions marked.
 */

import { LOGGING_LEVELS } from '../service/log.js';
import { SERVICE_VERSION } from '../service/version.js';

const USAGE = `winpop ${SERVICE_VERSION} — administer the POP3 service

Usage:
  winpop add Domain
  winpop add User@Domain /createuser            asks for the password twice, without showing it
  winpop add User@Domain /createuser -          reads the password from standard input
  winpop add User@Domain /createuser Password   works, but shows the password to every local user
  winpop delete {Domain | User@Domain [/deleteuser]}
  winpop list [Domain]
  winpop lock {Domain | User@Domain} [more …] [--reason TEXT]
  winpop unlock {Domain | User@Domain} [more …]
  winpop stat [Domain]                          totals; with a running service, its counters too
  winpop sessions [Domain]                      open POP3 sessions: id, mailbox, client, since, TLS, state
  winpop kick User@Domain                       ends the mailbox's POP3 sessions, deleting nothing; no lock
  winpop testldap [User@Domain]                 tries the directory settings (auth 2): says whether
                                                TCP, TLS, the bind or the search fails
  winpop changepwd User@Domain                  asks for the new password twice, without showing it
  winpop changepwd User@Domain -                reads it from standard input
  winpop changepwd User@Domain NewPassword      works, but shows the password to every local user
  winpop admin list                             the admin endpoint's accounts
  winpop admin add Name                         adds one; asks for its password twice, without showing it
  winpop admin add Name -                       reads the password from standard input
  winpop admin passwd Name [-]                  a new password; the admin's open sessions end at once
  winpop admin delete Name                      the admin's open sessions end at once
  winpop admin link                             a one-time sign-in link to the admin endpoint, for you
  winpop get {auth | logging | mailroot | port | smtpport | socket | socketbacklog |
              socketmax | socketmin | socketthreshold | sparequired | threadcount |
              timeout | logintimeout | peraddress | maxmessagesize | pop3sport | certfile |
              keyfile | listen | plaintextremote | smtpmax | smtpperaddress |
              adminport | adminlisten | ldapurls | ldapbase | ldapfilter | ldapbinddn |
              ldapcafile | ldaptimeout | ldapcachettl |
              workers}
  winpop set auth {1|2|3}              authentication method: 1 = System accounts (PAM), 2 = Directory
                                       (LDAP, Active Directory), 3 = Encrypted Password File; only while
                                       no domain exists
  winpop set logging {0|1|2|3}         0 none, 1 minimum, 2 medium, 3 maximum
  winpop set mailroot Path             applies when the service next starts
  winpop set port PortNumber           POP3 port (default 110); applies at next start
  winpop set smtpport PortNumber       SMTP delivery port (default 25); applies at next start
  winpop set sparequired {0|1}         require secure password authentication (passwords only over TLS)
  winpop set socket Backlog Max Min Threshold
  winpop set {socketbacklog | socketmax | socketmin | socketthreshold} Value   (1–32000, min < max)
  winpop set timeout Seconds           autologout timer of logged-in sessions (600–86400, default 600)
  winpop set logintimeout Seconds      time a connection gets to log in (10–600, default 60)
  winpop set peraddress Count          POP3 connections per client address (default 10)
  winpop set listen Address [more …]   where POP3, POP3S and SMTP listen: * (all IPv4), :: (all IPv6)
                                       or addresses (default * ::); applies at next start
  winpop set plaintextremote {0|1}     allow passwords without TLS from other machines (default 0)
  winpop set smtpmax Count             SMTP connections at once (default 1000)
  winpop set smtpperaddress Count      SMTP connections per client address (default 20)
  winpop set maxmessagesize Bytes      largest message accepted over SMTP
  winpop set pop3sport PortNumber      POP3 over TLS port (default 995); applies at next start
  winpop set certfile {Path | none}    PEM certificate for STLS, POP3S and STARTTLS; applies at next start
  winpop set keyfile {Path | none}     its PEM private key; with both none a self-signed one is made
  winpop set adminport PortNumber      the admin endpoint (HTTPS and WebSocket) on this port;
                                       0 turns it off (the default); applies at once
  winpop set adminlisten Address [more …]  where the admin endpoint listens, as listen takes them
                                       (default 127.0.0.1: this computer only); applies at once
  winpop set workers Count             processes serving POP3, POP3S and SMTP under pop3svc
                                       (0 = one per CPU, the default; 1 = one process);
                                       applies at next start
  winpop set ldapurls URL [more …]     the directory for auth 2: ldaps://host[:port], or ldap://host[:port]
                                       (always upgraded with StartTLS); tried in order (fail-over)
  winpop set ldapbase DN               where the search starts, e.g. dc=example,dc=com
  winpop set ldapfilter Filter         finds the log-in's entry; {address} {user} {domain} are
                                       replaced, escaped (default
                                       (|(mail={address})(userPrincipalName={address})))
  winpop set ldapbinddn {DN | none}    the service account that searches (none: anonymously);
                                       on Active Directory a DN or user@domain
  winpop set ldapbindpassword [- | none]  its password: asked for, or - from standard input;
                                       kept in the mail root's private state, never shown
  winpop set ldapcafile {Path | none}  PEM file of the directory's CA (none: the system's CAs)
  winpop set ldaptimeout Seconds       longest wait for the directory per log-in (1–60, default 5);
                                       a directory down or slow answers log-ins [SYS/TEMP]
  winpop set ldapcachettl Seconds      how long a verified directory password is remembered
                                       (0–3600, default 60): a password changed or a user removed
                                       in the directory takes effect no later than this
  winpop help [command]

Options (anywhere on the line):
  --config FILE     the service's config file (default: the platform's location)
  --mailroot DIR    the mail store to administer (default: from the config file)
  --json            print the result as JSON
  --reason TEXT     with lock: why, kept in the lock and the audit log

Give a password at the prompt (on a terminal) or as - on standard input: a
password on the command line can be read by every user of the computer in
the process list, so winpop accepts it with a warning. When the service is running, winpop acts through it, so a
lock closes open sessions at once; otherwise it changes the store directly.
Locked mailboxes still receive mail; only their users' log-ins are refused.
winpop kick closes a mailbox's open sessions as a lock does (messages marked
for deletion stay), but its user may log in again at once; it says so when
no session of the mailbox is open. Both need the running service.

The admin endpoint serves the same operations over HTTPS and WebSocket to a
console on another computer or a browser, for admin accounts that sign in
with their password (winpop admin add Name). It is off until winpop set
adminport N, and listens on this computer only until winpop set adminlisten
says otherwise. Admin accounts are managed only here, by the user that runs
the service (or root): never over the endpoint or from the console.

Authentication method 1, System accounts (Linux and macOS): the mailbox
user@domain logs on with the password of this computer's account "user"
(the lower-case local part), checked by PAM with the service "winpop":
install the shipped file as /etc/pam.d/winpop (without it PAM uses its
"other" service). Only people's accounts log on (uid from UID_MIN to UID_MAX
of /etc/login.defs, 1000-60000 by default; from 500 on macOS): never root or
daemon accounts; locked and expired accounts are refused by PAM. To check
other users' passwords pam_unix must read /etc/shadow: run the service as
root or add its user to the "shadow" group, otherwise every log-on but the
service user's own is refused (the log says why). Not on Windows yet.

Exit status: 0 success, 1 the operation failed, 2 the command line is wrong,
130 cancelled (Ctrl+C) at a password prompt.`;

export function helpText(topic?: string): string {
  if (!topic) return USAGE;
  // The levels' events are told only where asked for: the full usage stays one screen of syntax.
  const details = /^set logging\b/.test(topic) ? `\n\n${LOGGING_LEVELS}` : '';
  const lines = USAGE.split('\n').filter((line) => line.trimStart().startsWith(`winpop ${topic}`));
  return lines.length > 0 ? `Usage:\n${lines.join('\n')}${details}` : USAGE;
}
