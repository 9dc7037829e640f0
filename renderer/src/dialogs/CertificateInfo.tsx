import type { ReactElement } from 'react';
import type { TlsStatus } from '../../../shared/contract.js';
import { formatTime } from '../details/format.js';
import { ErrorIcon, WarningIcon } from '../icons/Icons.js';
import { tlsProblemText } from '../words/service-text.js';

/** The certificate that STLS, POP3S and STARTTLS offer, with what a mail client will make of it. */
export function CertificateInfo({ tls }: { readonly tls: TlsStatus | undefined }): ReactElement {
  if (!tls) return <p className="field-note">No listener runs, so no certificate is in use.</p>;
  const cert = tls.certificate;
  return (
    <div className="certificate" data-testid="certificate">
      {tls.error ? (
        <div className="inline-alert error" role="alert">
          <ErrorIcon />
          <span>{tlsProblemText(tls.error)}</span>
        </div>
      ) : null}
      {cert ? (
        <>
          <dl className="facts">
            <dt>Issued to</dt>
            <dd>{cert.subject}</dd>
            <dt>Issued by</dt>
            <dd>{cert.issuer}</dd>
            <dt>Valid</dt>
            <dd>
              {formatTime(cert.validFrom)} to {formatTime(cert.validTo)}
            </dd>
            <dt>Names</dt>
            <dd>{cert.altNames.join(', ') || '(none)'}</dd>
            <dt>SHA-256</dt>
            <dd className="mono fingerprint" data-testid="certificate-fingerprint">
              {cert.fingerprint256}
            </dd>
          </dl>
          {cert.selfSigned ? (
            <div className="inline-alert warning">
              <WarningIcon />
              <span>
                {cert.generated ? 'Made by the service because no certificate is configured. ' : ''}
                It is self-signed: mail clients warn until they are told to trust it. Compare the fingerprint above with the one
                the client shows.
              </span>
            </div>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
