import { useEffect, useRef } from 'react';

/**
 * Closes an open menu when the administrator clicks outside it, switches to
 * another window, or resizes this one.
 *
 * `inside` names what counts as the menu (its popups and, for the menu bar,
 * the bar itself): presses there are the menu's own business.
 */
export function useDismiss(open: boolean, close: () => void, inside: string): void {
  const closeRef = useRef(close);
  closeRef.current = close;
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: MouseEvent): void => {
      const target = event.target as Element | null;
      if (target?.closest(inside)) return;
      closeRef.current();
    };
    const onLeave = (): void => closeRef.current();
    document.addEventListener('mousedown', onPointer, true);
    window.addEventListener('blur', onLeave);
    window.addEventListener('resize', onLeave);
    return () => {
      document.removeEventListener('mousedown', onPointer, true);
      window.removeEventListener('blur', onLeave);
      window.removeEventListener('resize', onLeave);
    };
  }, [open, inside]);
}
