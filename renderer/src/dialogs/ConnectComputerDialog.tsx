import { useState, type ReactElement } from 'react';
import type { ComputerInfo } from '../../../shared/contract.js';
import { adminNameProblem, hostProblem } from '../../../shared/validate.js';
import { computersApi, errorMessage } from '../api.js';
import { computerById, computerLabel, putComputer } from '../state/computers-store.js';
import { closeDialog, showStatus } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { Field, FieldInput } from './Field.js';

type Step = { readonly kind: 'form' } | { readonly kind: 'confirm'; readonly info: ComputerInfo } | { readonly kind: 'changed'; readonly info: ComputerInfo };

function portProblem(text: string): string | null {
  const port = Number(text);
  return /^\d+$/.test(text) && port >= 1 && port <= 65535 ? null : 'Enter the admin endpoint\'s port, from 1 to 65535 (winpop get adminport on that computer).';
}

function stepFor(info: ComputerInfo | undefined): Step {
  if (info?.state === 'unconfirmed' && info.offeredFingerprint) return { kind: 'confirm', info };
  if (info?.state === 'fingerprintChanged' && info.offeredFingerprint) return { kind: 'changed', info };
  return { kind: 'form' };
}

/**
 * Connect to Another Computer: its admin endpoint's address, an admin
 * account and its password; then, on first contact, the certificate's
 * fingerprint to confirm (as ssh asks), or the warning when it changed.
 */
export function ConnectComputerDialog({ computer }: { readonly computer?: string }): ReactElement {
  const known = computer === undefined ? undefined : computerById(computer);
  const [host, setHost] = useState(known?.host ?? '');
  const [port, setPort] = useState(known ? String(known.port) : '');
  const [admin, setAdmin] = useState(known?.admin ?? '');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const [step, setStep] = useState<Step>(stepFor(known));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = hostProblem(host.trim()) ?? portProblem(port.trim()) ?? adminNameProblem(admin.trim()) ?? (password === '' ? 'Enter the admin\'s password.' : null);

  /** What an attempt ended in: done, a certificate to confirm, or why not (the dialog stays open). */
  const settle = (info: ComputerInfo): void => {
    putComputer(info);
    if (info.state === 'connected') {
      closeDialog();
      showStatus(`Connected to ${computerLabel(info)}.`);
      return;
    }
    const next = stepFor(info);
    setStep(next);
    setError(next.kind === 'form' ? (info.reason ?? `The computer is ${info.state}.`) : null);
  };

  const run = (work: () => Promise<ComputerInfo>): void => {
    setBusy(true);
    setError(null);
    work().then(
      (info) => {
        setBusy(false);
        settle(info);
      },
      (err: unknown) => {
        setBusy(false);
        setError(errorMessage(err));
      },
    );
  };

  const api = computersApi();
  const connect = (): void => {
    if (!api) return;
    run(() =>
      api.connectComputer({
        host: host.trim(),
        port: Number(port.trim()),
        admin: admin.trim(),
        password,
        ...(remember ? { remember: true } : {}),
        ...(known ? { computer: known.id } : {}),
      }),
    );
  };
  const trust = (info: ComputerInfo): void => {
    if (api) run(() => api.confirmFingerprint({ computer: info.id, fingerprint: info.offeredFingerprint as string }));
  };

  if (step.kind === 'confirm' || step.kind === 'changed') {
    const { info } = step;
    const changed = step.kind === 'changed';
    return (
      <Dialog
        title={changed ? 'Certificate Changed' : 'Confirm the Computer\'s Certificate'}
        testId="dialog-fingerprint"
        onCancel={closeDialog}
        onSubmit={() => trust(info)}
        submitLabel={changed ? 'Accept New Certificate' : 'Trust and Connect'}
        busy={busy}
        error={error}
        danger={changed}
        wide
      >
        {changed ? (
          <p className="dialog-intro" role="alert" data-testid="fingerprint-warning">
            {info.reason}
          </p>
        ) : (
          <p className="dialog-intro">
            This is the first connection to {info.host}:{info.port}. Check on that computer (Server Properties, or <code>winpop get</code>) that its certificate has this SHA-256
            fingerprint before you trust it:
          </p>
        )}
        <p className="fingerprint" data-testid="fingerprint">
          {info.offeredFingerprint}
        </p>
        {changed && info.fingerprint ? (
          <p className="field-note" data-testid="fingerprint-remembered">
            Remembered until now: {info.fingerprint}
          </p>
        ) : null}
      </Dialog>
    );
  }

  return (
    <Dialog
      title="Connect to Another Computer"
      testId="dialog-connect-computer"
      onCancel={closeDialog}
      onSubmit={connect}
      submitLabel="Connect"
      canSubmit={problem === null && api !== null}
      busy={busy}
      error={error}
    >
      <p className="dialog-intro">The computer's POP3 service must have its admin endpoint on (winpop set adminport N) and an admin account (winpop admin add NAME).</p>
      <Field label="Computer (name or address):" problem={null} testId="field-host">
        {(ids) => <FieldInput {...ids} type="text" value={host} testId="input-host" spellCheck={false} autoComplete="off" onValue={(v) => (setHost(v), setError(null))} />}
      </Field>
      <Field label="Admin port:" problem={null} testId="field-port">
        {(ids) => <FieldInput {...ids} type="text" inputMode="numeric" value={port} testId="input-port" autoComplete="off" onValue={(v) => (setPort(v), setError(null))} />}
      </Field>
      <Field label="Admin name:" problem={null} testId="field-admin">
        {(ids) => <FieldInput {...ids} type="text" value={admin} testId="input-admin" spellCheck={false} autoComplete="off" onValue={(v) => (setAdmin(v), setError(null))} />}
      </Field>
      <Field label="Password:" problem={null} testId="field-password">
        {(ids) => <FieldInput {...ids} type="password" value={password} testId="input-password" autoComplete="off" onValue={(v) => (setPassword(v), setError(null))} />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={remember} data-testid="input-remember" onChange={(e) => setRemember(e.target.checked)} />
        Remember the password (encrypted by this computer's key store)
      </label>
    </Dialog>
  );
}
