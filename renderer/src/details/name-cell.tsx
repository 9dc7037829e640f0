import type { ReactElement } from 'react';
import { LockIcon } from '../icons/Icons.js';

// One element for every row: React sees the same element and skips it when a row element shows another item.
const LOCK_BADGE = <LockIcon className="lock-badge" />;

/**
 * The first cell of a grid row: the item's icon, a padlock badge (shown by
 * the row's `is-locked` class, so a row turning locked changes a class, not
 * its elements) and the name.
 */
export function nameCell(icon: ReactElement, name: string, title?: string): ReactElement {
  return (
    <span className="name-cell" title={title}>
      <span className="row-icon">
        {icon}
        {LOCK_BADGE}
      </span>
      <span className="name-text">{name}</span>
    </span>
  );
}
