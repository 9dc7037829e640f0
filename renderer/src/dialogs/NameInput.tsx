import type { ReactElement } from 'react';
import { FieldInput, type FieldIds } from './Field.js';

/**
 * The text box for a domain or mailbox name, linked to its Field. Names are
 * not words, and a browser's autofill has nothing useful to offer, so both
 * are off.
 */
export function NameInput(
  props: FieldIds & {
    readonly value: string;
    readonly testId: string;
    readonly onValue: (value: string) => void;
  },
): ReactElement {
  return <FieldInput {...props} type="text" spellCheck={false} autoComplete="off" />;
}
