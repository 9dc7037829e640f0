import type { ReactElement } from 'react';
import { ServiceIcon } from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { closeDialog } from '../state/ui-store.js';
import { describeMode } from '../status/mode.js';
import { Dialog } from './Dialog.js';

export function AboutDialog(): ReactElement {
  const info = useData((s) => s.info);
  return (
    <Dialog title="About POP3 Service" testId="dialog-about" onCancel={closeDialog}>
      <div className="about">
        <ServiceIcon className="big" />
        <div>
          <p>
            <strong>POP3 Service</strong> {info ? `version ${info.version}` : ''}
          </p>
          <p>A POP3 mail server with its own mail store, SMTP delivery, this console and the winpop command line.</p>
          {info ? <p>{describeMode(info.mode)} on {info.computer}.</p> : null}
        </div>
      </div>
    </Dialog>
  );
}
