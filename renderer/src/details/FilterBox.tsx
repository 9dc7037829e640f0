import type { KeyboardEvent, ReactElement } from 'react';
import { focusGrid } from '../menus/focus-targets.js';
import { setFilter, useSelection } from '../state/selection-store.js';

/** Narrows the rows by name as the administrator types; Down or Enter goes to the grid, Esc clears. */
export function FilterBox({ what }: { readonly what: string }): ReactElement {
  const filter = useSelection((s) => s.filter);
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>): void => {
    if (event.key === 'Escape' && filter) {
      setFilter('');
      event.preventDefault();
      event.stopPropagation();
    } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
      if (focusGrid()) event.preventDefault();
    }
  };
  return (
    <label className="filter">
      <span className="visually-hidden">Filter {what} by name</span>
      <input
        type="search"
        placeholder={`Filter ${what}`}
        value={filter}
        spellCheck={false}
        autoComplete="off"
        data-testid="filter"
        onChange={(e) => setFilter(e.target.value)}
        onKeyDown={onKeyDown}
      />
    </label>
  );
}
