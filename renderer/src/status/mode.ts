import type { ListenerStatus, ServerInfo } from '../../../shared/contract.js';

/** How this console reaches the mail store, in words. */
export function describeMode(mode: ServerInfo['mode']): string {
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
