/**
 * Makes `import … from 'electron'` load electron-stand-in.ts in this Node
 * process, so that a main-process module can be imported (dynamically,
 * after this ran) and driven by a test without an Electron binary.
 */

import { register } from 'node:module';

const STAND_IN = new URL('./electron-stand-in.js', import.meta.url).href;

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: ${JSON.stringify(STAND_IN)}, shortCircuit: true };
  return next(specifier, context);
}
`;

/** Installs the resolve hook; modules imported after this see the stand-in. */
export function standInForElectron(): void {
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
}
