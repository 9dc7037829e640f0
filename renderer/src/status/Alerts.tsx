/**
 * Bars across the top of the details pane for what needs the
 * administrator's attention: a listener that could not start (with the
 * fix), errors from the service that no dialog showed, and a locked domain.
 */

import type { ReactElement } from 'react';
import { describeLock } from '../details/format.js';
import { ErrorIcon, LockIcon, WarningIcon } from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { unlockTargets } from '../state/operations.js';
import { dismissError, useUi } from '../state/ui-store.js';
import { useView } from '../state/view-store.js';
import { listenerProblemText } from '../words/service-text.js';
import { MessageText } from './MessageText.js';
import { protocolName } from './mode.js';

export function ListenerAlerts(): ReactElement | null {
  const info = useData((s) => s.info);
  const failed = (info?.listeners ?? []).filter((l) => !l.listening);
  if (failed.length === 0) return null;
  return (
    <>
      {failed.map((l) => (
        <div key={l.protocol} className="alert warning" role="alert" data-testid={`listener-alert-${l.protocol}`}>
          <WarningIcon />
          <span>
            <strong>The {protocolName(l)} listener is not running.</strong> {listenerProblemText(l, protocolName(l))} The console can
            still administer the mail store.
          </span>
        </div>
      ))}
    </>
  );
}

export function ErrorBar(): ReactElement | null {
  const errors = useUi((s) => s.errors);
  if (errors.length === 0) return null;
  return (
    <>
      {errors.map((e) => (
        <div key={e.id} className="alert error" role="alert" data-testid="error-bar">
          <ErrorIcon />
          <MessageText text={e.text} detailsTitle="Error Message" testId="error-text" />
          {e.action ? (
            <button
              type="button"
              className="alert-action"
              onClick={() => {
                dismissError(e.id);
                e.action?.run();
              }}
            >
              {e.action.label}
            </button>
          ) : null}
          <button type="button" className="alert-close" aria-label="Dismiss this message" onClick={() => dismissError(e.id)}>
            ×
          </button>
        </div>
      ))}
    </>
  );
}

export function DomainLockBanner(): ReactElement | null {
  const node = useView((s) => s.node);
  const domain = useData((s) => (node.kind === 'domain' ? s.domains.find((d) => d.name === node.domain) : undefined));
  if (!domain?.lock) return null;
  return (
    <div className="alert locked" data-testid="domain-lock-banner">
      <LockIcon />
      <MessageText
        text={`The domain ${domain.name} is locked. None of its mailboxes can log on; mail is still delivered. ${describeLock(domain.lock)}.`}
        detailsTitle="Domain Lock"
      />
      <button type="button" className="alert-action" onClick={() => void unlockTargets([domain.name])}>
        Unlock domain
      </button>
    </div>
  );
}
