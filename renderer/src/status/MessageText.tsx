/**
 * A message on one line: cut with an ellipsis where the window is too
 * narrow, so that no message, however long or unbreakable (a 300-character
 * address), widens the layout. The whole text stays available: as the
 * tooltip, and, while the text is cut, behind a Details button that the
 * keyboard reaches with Tab, which shows it in a dialog.
 */

import { useId, useLayoutEffect, useRef, useState, type ReactElement, type RefObject } from 'react';
import { openDialog } from '../state/ui-store.js';

export interface MessageTextProps {
  readonly text: string;
  /** The title of the dialog that shows the whole text ("Error Message"). */
  readonly detailsTitle: string;
  readonly testId?: string;
  /** Announces changes (the status bar's message). */
  readonly live?: boolean;
}

/** True while the element's text is wider than the element (cut by its ellipsis). */
function useIsCut(ref: RefObject<HTMLElement | null>, text: string): boolean {
  const [cut, setCut] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const check = (): void => setCut(el.scrollWidth > el.clientWidth);
    check();
    const observer = new ResizeObserver(check);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref, text]);
  return cut;
}

export function MessageText({ text, detailsTitle, testId, live }: MessageTextProps): ReactElement {
  const ref = useRef<HTMLSpanElement>(null);
  const id = useId();
  const cut = useIsCut(ref, text);
  return (
    <span className="message-line">
      <span
        ref={ref}
        id={id}
        className="message-text"
        title={text}
        data-testid={testId}
        {...(live ? { role: 'status', 'aria-live': 'polite' as const } : {})}
      >
        {text}
      </span>
      {cut ? (
        <button
          type="button"
          className="message-details"
          aria-describedby={id}
          data-testid={testId ? `${testId}-details` : undefined}
          onClick={() => openDialog({ kind: 'message', title: detailsTitle, text })}
        >
          Details…
        </button>
      ) : null}
    </span>
  );
}
