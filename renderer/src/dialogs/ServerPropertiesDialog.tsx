import { useEffect, useState, type ReactElement, type ReactNode } from 'react';
import { DIRECTORY_AUTH, type DirectoryTestResult, type Settings } from '../../../shared/contract.js';
import { errorMessage } from '../api.js';
import { useData } from '../state/data-store.js';
import { fetchSettings, saveSettings, testDirectory } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { CertificateInfo } from './CertificateInfo.js';
import { Dialog } from './Dialog.js';
import { Field, FieldInput } from './Field.js';
import { AUTH_CHOICES, directoryFrom, FIELD_TABS, formFromSettings, formProblems, LOGGING_LEVELS, patchFrom, type SettingsForm } from './settings-form.js';
import { Tabs } from './Tabs.js';
import { useSubmit } from './use-submit.js';

type TextKey = Exclude<keyof SettingsForm, 'auth' | 'logging' | 'sparequired' | 'plaintextRemote'>;

/**
 * The computer's Properties: the server settings of `winpop get/set`, on
 * General, Connections, Security and Directory tabs. The authentication
 * method can change only while no domain exists; the dialog disables it and
 * says so. The Directory tab's "Test connection" tries the settings as typed
 * and lists each step (TCP, TLS, bind, search) with what it answered.
 */
export function ServerPropertiesDialog(): ReactElement {
  const [before, setBefore] = useState<Settings | null>(null);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [tab, setTab] = useState('general');
  const [testAddress, setTestAddress] = useState('');
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<DirectoryTestResult | null>(null);
  const [testError, setTestError] = useState<string | null>(null);
  const domainCount = useData((s) => s.domains.length);
  const tls = useData((s) => s.info?.tls);
  const adminEndpoint = useData((s) => s.info?.listeners.find((l) => l.protocol === 'admin'));

  useEffect(() => {
    fetchSettings().then(
      (s) => {
        setBefore(s);
        setForm(formFromSettings(s));
      },
      (err: unknown) => setLoadError(`Could not read the server settings: ${errorMessage(err)}`),
    );
  }, []);

  const original = before ? formFromSettings(before) : null;
  const problems = form && original ? formProblems(form, original) : {};
  const valid = form !== null && Object.keys(problems).length === 0;
  const { busy, error, submit, clearError } = useSubmit(async () => {
    if (!before || !form) return;
    const patch = patchFrom(before, form);
    if (Object.keys(patch).length > 0) await saveSettings(patch);
  });

  const update = <K extends keyof SettingsForm>(key: K, value: SettingsForm[K]): void => {
    setForm((f) => (f ? { ...f, [key]: value } : f));
    clearError();
  };
  const tabHasProblem = (id: string): boolean => Object.keys(problems).some((key) => FIELD_TABS[key as keyof SettingsForm] === id);

  const runTest = (): void => {
    if (!form) return;
    setTesting(true);
    setTestResult(null);
    setTestError(null);
    testDirectory(directoryFrom(form), form.directoryBindPassword, testAddress).then(
      (result) => {
        setTestResult(result);
        setTesting(false);
      },
      (err: unknown) => {
        setTestError(errorMessage(err));
        setTesting(false);
      },
    );
  };

  const text = (key: TextKey, label: string, opts: { numeric?: boolean; hint?: ReactNode; placeholder?: string; password?: boolean } = {}): ReactElement => (
    <Field label={label} problem={problems[key] ?? null} hint={opts.hint} testId={`field-${key}`}>
      {(ids) => (
        <FieldInput
          {...ids}
          type={opts.password ? 'password' : 'text'}
          autoComplete={opts.password ? 'new-password' : undefined}
          inputMode={opts.numeric ? 'numeric' : undefined}
          className={opts.numeric ? 'narrow' : undefined}
          value={form?.[key] ?? ''}
          placeholder={opts.placeholder}
          spellCheck={false}
          testId={`input-${key}`}
          onValue={(value) => update(key, value)}
        />
      )}
    </Field>
  );

  const authLocked = domainCount > 0;
  const general = form ? (
    <>
      <Field
        label="Authentication method:"
        problem={null}
        hint={authLocked ? `Fixed while domains exist (this server has ${domainCount}). Delete every domain to change it.` : undefined}
        testId="field-auth"
      >
        {({ id, describedBy }) => (
          <select
            id={id}
            value={form.auth}
            disabled={authLocked}
            aria-describedby={describedBy}
            data-testid="input-auth"
            onChange={(e) => update('auth', Number(e.target.value) as SettingsForm['auth'])}
          >
            {AUTH_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {text('port', 'Server port:', { numeric: true, hint: 'POP3; the standard port is 110.' })}
      {text('smtpPort', 'SMTP port:', { numeric: true, hint: 'Mail delivery; the standard port is 25.' })}
      <Field label="Logging level:" problem={null} testId="field-logging">
        {({ id }) => (
          <select id={id} value={form.logging} data-testid="input-logging" onChange={(e) => update('logging', Number(e.target.value) as SettingsForm['logging'])}>
            {LOGGING_LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {text('mailroot', 'Root mail directory:', { hint: 'Moving it does not move the mail already stored.' })}
      {text('listen', 'Listen on:', { hint: '* is every IPv4 address, :: every IPv6 address; or list addresses, such as 127.0.0.1 for this computer only.' })}
      <p className="field-note">Changes to the ports, the listen addresses and the mail root apply when the service next starts.</p>
    </>
  ) : null;

  const connections = form ? (
    <>
      <div className="field-grid">
        {text('max', 'Maximum sessions:', { numeric: true })}
        {text('min', 'Minimum sessions:', { numeric: true })}
        {text('threshold', 'Threshold:', { numeric: true })}
        {text('backlog', 'Backlog:', { numeric: true })}
      </div>
      <p className="field-note">1 to 32,000 each; the minimum must be less than the maximum. Connections over the maximum wait in the backlog.</p>
      {text('idleTimeoutSeconds', 'Autologout after (seconds):', { numeric: true, hint: 'For logged-in sessions; RFC 1939 requires at least 600 (ten minutes).' })}
      {text('loginTimeoutSeconds', 'Time to log in (seconds):', { numeric: true, hint: 'A connection that has not logged in by then is closed (10 to 600).' })}
      <div className="field-grid">
        {text('connectionsPerAddress', 'POP3 connections per address:', { numeric: true })}
        {text('smtpMaxConnections', 'SMTP connections:', { numeric: true })}
        {text('smtpConnectionsPerAddress', 'SMTP connections per address:', { numeric: true })}
      </div>
      {text('maxMessageKb', 'Largest message (KB):', { numeric: true })}
    </>
  ) : null;

  const security = form ? (
    <>
      <label className="checkbox">
        <input type="checkbox" checked={form.sparequired} data-testid="input-sparequired" onChange={(e) => update('sparequired', e.target.checked)} />
        Require Secure Password Authentication (SPA) for all client connections
      </label>
      <p className="field-note">Clients must encrypt the connection (STLS, or POP3S) before they send a password.</p>
      <label className="checkbox">
        <input type="checkbox" checked={form.plaintextRemote} data-testid="input-plaintextRemote" onChange={(e) => update('plaintextRemote', e.target.checked)} />
        Allow passwords without encryption from other computers
      </label>
      <p className="field-note">Off by default: without encryption only this computer (loopback) may send a password.</p>
      {text('pop3sPort', 'POP3S port:', { numeric: true, hint: 'POP3 over TLS from the first byte; the standard port is 995.' })}
      {text('tlsCertFile', 'Certificate file:', { placeholder: 'Self-signed, made by the service' })}
      {text('tlsKeyFile', 'Private key file:', { placeholder: 'Self-signed, made by the service', hint: 'PEM files. Leave both empty to use a self-signed certificate.' })}
      <fieldset>
        <legend>Certificate in use</legend>
        <CertificateInfo tls={tls} />
      </fieldset>
      <fieldset>
        <legend>Admin endpoint</legend>
        <p className="field-note" data-testid="admin-endpoint-status">
          {before?.adminPort === 0
            ? 'Off. When on, other computers and browsers administer this service over HTTPS with admin accounts; it is turned on, and its accounts are managed, on the service\'s computer.'
            : adminEndpoint?.listening
              ? `${(adminEndpoint.addresses ?? [adminEndpoint.address]).map((a) => `https://${a}`).join(', ')}, for admin accounts signed in with their password.`
              : `Port ${before?.adminPort ?? ''} on ${before?.adminListen.join(' ') ?? ''}: ${adminEndpoint?.error ?? 'not listening.'}`}
        </p>
      </fieldset>
    </>
  ) : null;

  const directoryFields = ['directoryUrls', 'directoryBaseDn', 'directoryFilter', 'directoryTimeout'] as const;
  const testable = form !== null && directoryFields.every((key) => !problems[key]) && form.directoryUrls.trim() !== '' && form.directoryBaseDn.trim() !== '';
  const directory = form ? (
    <>
      <p className="field-note">
        {form.auth === DIRECTORY_AUTH
          ? 'Log-in passwords are checked by this directory (OpenLDAP, Active Directory): the entry found by the filter is bound with the password the user typed. Mailboxes are still added here, without a password.'
          : 'Used when the authentication method is Directory (LDAP, Active Directory).'}
      </p>
      {text('directoryUrls', 'Directory URLs:', {
        placeholder: 'ldaps://dc1.example.com',
        hint: 'ldaps://host[:port], or ldap://host[:port] upgraded with StartTLS; several, separated by spaces, are tried in order.',
      })}
      {text('directoryBaseDn', 'Base DN:', { placeholder: 'dc=example,dc=com' })}
      {text('directoryFilter', 'Search filter:', { hint: '{address} is the log-in address, {user} the part before @, {domain} the rest; each is escaped. Exactly one entry must match.' })}
      {text('directoryBindDn', 'Service account:', { placeholder: 'Anonymous search', hint: 'A DN, or user@domain on Active Directory. Leave empty to search anonymously.' })}
      {text('directoryBindPassword', 'Service account password:', { password: true, placeholder: 'Unchanged (never shown)', hint: 'Kept in the mail root\'s private state; leave empty to keep the saved one.' })}
      {text('directoryCaFile', 'Directory CA file:', { placeholder: "The system's CAs", hint: "PEM file of the CA that signed the directory's certificate." })}
      <div className="field-grid">
        {text('directoryTimeout', 'Timeout (seconds):', { numeric: true })}
        {text('directoryCacheTtl', 'Remember passwords for (seconds):', { numeric: true })}
      </div>
      <p className="field-note" data-testid="directory-cache-note">
        A directory that does not answer within the timeout makes log-ins fail with a temporary error, never another method. A password changed or a user removed in the directory takes effect within{' '}
        {form.directoryCacheTtl.trim() || '0'} seconds, the time a verified password is remembered.
      </p>
      <fieldset>
        <legend>Test connection</legend>
        <Field label="Log-in address to look up (optional):" problem={null} testId="field-directoryTestAddress">
          {(ids) => (
            <FieldInput {...ids} type="text" value={testAddress} spellCheck={false} placeholder="user@example.com" testId="input-directoryTestAddress" onValue={setTestAddress} />
          )}
        </Field>
        <button type="button" data-testid="directory-test" disabled={!testable || testing} onClick={runTest}>
          {testing ? 'Testing…' : 'Test connection'}
        </button>
        {testError ? (
          <p className="field-problem" role="alert" data-testid="directory-test-error">
            {testError}
          </p>
        ) : null}
        {testResult ? (
          <div role="status" data-testid="directory-test-result" data-ok={testResult.ok ? 'true' : 'false'}>
            <p data-testid="directory-test-message">{testResult.message}</p>
            <ul className="test-steps">
              {testResult.steps.map((st, i) => (
                <li key={i} data-testid="directory-test-step" data-step={st.step} data-ok={st.ok ? 'true' : 'false'}>
                  {st.ok ? '✓' : '✗'} {st.step.toUpperCase()} {st.url}: {st.detail}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </fieldset>
    </>
  ) : null;

  return (
    <Dialog
      title="Server Properties"
      testId="dialog-properties"
      onCancel={closeDialog}
      onSubmit={submit}
      canSubmit={valid}
      busy={busy}
      error={error ?? loadError}
      wide
    >
      {!form ? (
        <p>{loadError ? 'The settings could not be read.' : 'Reading the server settings…'}</p>
      ) : (
        <Tabs
          label="Server properties"
          selected={tab}
          onSelect={setTab}
          tabs={[
            { id: 'general', label: 'General', content: general, hasProblem: tabHasProblem('general') },
            { id: 'connections', label: 'Connections', content: connections, hasProblem: tabHasProblem('connections') },
            { id: 'security', label: 'Security', content: security, hasProblem: tabHasProblem('security') },
            { id: 'directory', label: 'Directory', content: directory, hasProblem: tabHasProblem('directory') },
          ]}
        />
      )}
    </Dialog>
  );
}
