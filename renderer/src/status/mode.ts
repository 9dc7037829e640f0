import type { ListenerStatus, ServerInfo } from '../../../shared/contract.js';
import { browserSessionInfo, isBrowserSession } from '../transport/websocket-api.js';

/**
 * How this console reaches the mail store, in words. In a browser the
 * service says `in-process` (it runs itself); what the admin needs to know is
 * that this page administers that computer through its admin endpoint.
 */
export function describeMode(mode: ServerInfo['mode']): string {
  if (isBrowserSession()) {
    const session = browserSessionInfo();
    return session ? `Browser session on ${session.computer} (admin endpoint), signed in as ${session.admin}` : 'Browser session (admin endpoint)';
  }
  switch (mode) {
    case 'in-process':
      return 'Service running in this console';
    case 'remote':
      return 'Administering the running service (control channel)';
    case 'store-only':
      return 'Store only: no service is running, changes go to the mail store';
  }
}

export function protocolName(listener: ListenerStatus): string {
  switch (listener.protocol) {
    case 'pop3':
      return 'POP3';
    case 'pop3s':
      return 'POP3S';
    case 'smtp':
      return 'SMTP';
    case 'control':
      return 'Control channel';
    case 'admin':
      return 'Admin endpoint';
  }
}
