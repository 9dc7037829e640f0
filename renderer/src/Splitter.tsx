import { useRef, type KeyboardEvent, type PointerEvent, type ReactElement } from 'react';

const MIN = 140;
const MAX = 600;

/** The bar between tree and details: drag it, or focus it and use Left/Right. */
export function Splitter({ width, onWidth }: { readonly width: number; readonly onWidth: (w: number) => void }): ReactElement {
  const drag = useRef<{ x: number; width: number } | null>(null);
  const clamp = (w: number): number => Math.max(MIN, Math.min(MAX, Math.round(w)));
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const delta = e.key === 'ArrowLeft' ? -16 : e.key === 'ArrowRight' ? 16 : 0;
    if (delta === 0) return;
    e.preventDefault();
    onWidth(clamp(width + delta));
  };
  return (
    <div
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the console tree"
      aria-valuenow={width}
      aria-valuemin={MIN}
      aria-valuemax={MAX}
      tabIndex={-1}
      className="splitter"
      onKeyDown={onKeyDown}
      onPointerDown={(e: PointerEvent<HTMLDivElement>) => {
        drag.current = { x: e.clientX, width };
        e.currentTarget.setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        if (drag.current) onWidth(clamp(drag.current.width + e.clientX - drag.current.x));
      }}
      onPointerUp={() => {
        drag.current = null;
      }}
    />
  );
}
