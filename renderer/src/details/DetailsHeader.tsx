/**
 * The details pane's title line: what is shown, how many, and the filter.
 */

import type { ReactElement, ReactNode } from 'react';
import { FilterBox } from './FilterBox.js';

export interface DetailsHeaderProps {
  readonly icon: ReactNode;
  readonly title: string;
  /** "12 mailboxes, 3 shown" */
  readonly summary?: string;
  /** Plural noun for the filter's placeholder; no filter when absent. */
  readonly filterWhat?: string;
}

export function DetailsHeader({ icon, title, summary, filterWhat }: DetailsHeaderProps): ReactElement {
  return (
    <div className="details-header">
      <span className="details-title">
        {icon}
        <h1 data-testid="details-title" title={title}>
          {title}
        </h1>
        {summary ? <span className="details-summary" data-testid="details-summary">{summary}</span> : null}
      </span>
      {filterWhat ? <FilterBox what={filterWhat} /> : null}
    </div>
  );
}
