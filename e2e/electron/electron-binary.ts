/** The launcher's finder of the Electron binary, which the Electron tests use to skip where there is none. */
export { findElectronBinary, type ElectronBinary } from '../../electron/launch/electron-binary.js';
