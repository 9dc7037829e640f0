import type { AdminApi } from '../../shared/contract.js';

declare global {
  interface Window {
    /** The admin API: the preload provides it in Electron, the test harness in Chromium. */
    readonly winpop: AdminApi;
  }
}
