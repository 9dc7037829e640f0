/**
 * Property-sheet tabs (the ARIA tabs pattern): Left/Right/Home/End move
 * between tabs, and every panel stays mounted so nothing typed is lost.
 * A tab whose panel has a problem is marked, so a hidden error is found.
 */

import { useId, useRef, type KeyboardEvent, type ReactElement, type ReactNode } from 'react';

export interface TabSpec {
  readonly id: string;
  readonly label: string;
  readonly content: ReactNode;
  readonly hasProblem?: boolean;
}

export function Tabs({
  tabs,
  selected,
  onSelect,
  label,
}: {
  readonly tabs: readonly TabSpec[];
  readonly selected: string;
  readonly onSelect: (id: string) => void;
  readonly label: string;
}): ReactElement {
  const base = useId();
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const index = Math.max(0, tabs.findIndex((t) => t.id === selected));
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const n = tabs.length;
    const next =
      event.key === 'ArrowRight' ? (index + 1) % n : event.key === 'ArrowLeft' ? (index - 1 + n) % n : event.key === 'Home' ? 0 : event.key === 'End' ? n - 1 : -1;
    const tab = tabs[next];
    if (!tab) return;
    event.preventDefault();
    onSelect(tab.id);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label={label} className="tablist" onKeyDown={onKeyDown}>
        {tabs.map((tab, i) => (
          <button
            key={tab.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`${base}-tab-${tab.id}`}
            aria-selected={tab.id === selected}
            aria-controls={`${base}-panel-${tab.id}`}
            tabIndex={tab.id === selected ? 0 : -1}
            className={`tab${tab.id === selected ? ' selected' : ''}${tab.hasProblem ? ' problem' : ''}`}
            data-testid={`tab-${tab.id}`}
            onClick={() => onSelect(tab.id)}
          >
            {tab.label}
            {tab.hasProblem ? <span className="tab-problem" aria-label="has a problem">!</span> : null}
          </button>
        ))}
      </div>
      {tabs.map((tab) => (
        <div
          key={tab.id}
          role="tabpanel"
          id={`${base}-panel-${tab.id}`}
          aria-labelledby={`${base}-tab-${tab.id}`}
          className="tabpanel"
          hidden={tab.id !== selected}
        >
          {tab.content}
        </div>
      ))}
    </div>
  );
}
