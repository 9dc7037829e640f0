/**
 * The console's icons, drawn as inline SVG so the strict CSP needs no image
 * source and they follow the light or dark theme through CSS variables.
 */

import type { ReactElement, ReactNode } from 'react';

interface IconProps {
  /** Spoken name; icons without one are decoration and hidden from screen readers. */
  readonly label?: string;
  readonly className?: string;
}

function Svg({ label, className, children }: IconProps & { readonly children: ReactNode }): ReactElement {
  return (
    <svg
      className={`icon ${className ?? ''}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      {...(label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': true })}
      focusable="false"
    >
      {label ? <title>{label}</title> : null}
      {children}
    </svg>
  );
}

/**
 * An icon component drawing `drawing` in the shared frame. The drawing is made
 * once; React reuses the same elements on every render.
 */
function icon(drawing: ReactElement): (props: IconProps) => ReactElement {
  return (props) => <Svg {...props}>{drawing}</Svg>;
}

/** The snap-in: a server with an envelope. */
export const ServiceIcon = icon(
  <>
    <rect className="i-metal" x="2" y="1.5" width="8" height="12" rx="1" />
    <line className="i-line" x1="3.5" y1="4" x2="8.5" y2="4" />
    <line className="i-line" x1="3.5" y1="6" x2="8.5" y2="6" />
    <rect className="i-paper" x="6.5" y="8.5" width="8" height="6" rx="0.5" />
    <path className="i-line" d="M6.5 8.8l4 3 4-3" fill="none" />
  </>,
);

export const ComputerIcon = icon(
  <>
    <rect className="i-metal" x="1.5" y="2" width="13" height="9" rx="1" />
    <rect className="i-screen" x="3" y="3.5" width="10" height="6" />
    <rect className="i-metal" x="5" y="12" width="6" height="1.5" />
    <rect className="i-metal" x="3.5" y="13.5" width="9" height="1" />
  </>,
);

export const DomainIcon = icon(
  <>
    <circle className="i-globe" cx="8" cy="8" r="6.5" />
    <path className="i-globe-line" d="M1.5 8h13M8 1.5c-2.5 2-2.5 11 0 13M8 1.5c2.5 2 2.5 11 0 13M2.6 4.8h10.8M2.6 11.2h10.8" fill="none" />
  </>,
);

export const MailboxIcon = icon(
  <>
    <rect className="i-paper" x="1.5" y="3.5" width="13" height="9" rx="0.8" />
    <path className="i-line" d="M1.8 4l6.2 4.8L14.2 4" fill="none" />
  </>,
);

/** The padlock shown on locked domains and mailboxes. */
export const LockIcon = icon(
  <>
    <path className="i-shackle" d="M5 7V5a3 3 0 016 0v2" fill="none" />
    <rect className="i-lock" x="3.5" y="7" width="9" height="7" rx="1" />
    <rect className="i-keyhole" x="7.3" y="9.3" width="1.4" height="2.6" rx="0.7" />
  </>,
);

export const UnlockIcon = icon(
  <>
    <path className="i-shackle" d="M5 7V5a3 3 0 015.8-1" fill="none" />
    <rect className="i-unlock" x="3.5" y="7" width="9" height="7" rx="1" />
    <rect className="i-keyhole" x="7.3" y="9.3" width="1.4" height="2.6" rx="0.7" />
  </>,
);

export const RefreshIcon = icon(
  <>
    <path className="i-arrow" d="M13 8a5 5 0 11-1.5-3.6" fill="none" />
    <path className="i-arrow-head" d="M13.5 1.5v4h-4z" />
  </>,
);

export const UpIcon = icon(
  <>
    <path className="i-folder" d="M1.5 4h5l1 1.5h7v8h-13z" />
    <path className="i-arrow" d="M8 12V7.5M5.8 9.6L8 7.4l2.2 2.2" fill="none" />
  </>,
);

export const TreeToggleIcon = icon(
  <>
    <rect className="i-paper" x="1.5" y="2.5" width="13" height="11" />
    <rect className="i-pane" x="1.5" y="2.5" width="4.5" height="11" />
    <path className="i-line" d="M2.7 5h2.2M3.5 7h1.6M3.5 9h1.6" />
  </>,
);

export const PropertiesIcon = icon(
  <>
    <rect className="i-paper" x="2.5" y="1.5" width="11" height="13" />
    <path className="i-line" d="M4.5 4.5h7M4.5 7h7M4.5 9.5h5M4.5 12h6" />
  </>,
);

export const NewIcon = icon(
  <>
    <rect className="i-paper" x="2.5" y="1.5" width="9" height="12" />
    <path className="i-star" d="M12 8.5l1 2 2 .4-1.5 1.4.4 2.2-1.9-1-1.9 1 .4-2.2-1.5-1.4 2-.4z" />
  </>,
);

export const DeleteIcon = icon(<path className="i-delete" d="M3.5 3.5l9 9M12.5 3.5l-9 9" fill="none" />);

export const HelpIcon = icon(
  <>
    <circle className="i-help" cx="8" cy="8" r="6.5" />
    <path className="i-help-mark" d="M6 6.2a2 2 0 113 1.7c-.7.4-1 .8-1 1.6" fill="none" />
    <circle className="i-help-dot" cx="8" cy="11.6" r="0.9" />
  </>,
);

export const WarningIcon = icon(
  <>
    <path className="i-warn" d="M8 1.5l6.8 12.5H1.2z" />
    <path className="i-warn-mark" d="M8 6v4" />
    <circle className="i-warn-dot" cx="8" cy="12" r="0.8" />
  </>,
);

export const ErrorIcon = icon(
  <>
    <circle className="i-error" cx="8" cy="8" r="6.5" />
    <path className="i-error-mark" d="M5.5 5.5l5 5M10.5 5.5l-5 5" fill="none" />
  </>,
);

export const ChevronIcon = icon(<path className="i-chevron" d="M6 4l4 4-4 4" fill="none" />);

export const CheckIcon = icon(<path className="i-check" d="M3.5 8.5l3 3 6-7" fill="none" />);

export const KeyIcon = icon(
  <>
    <circle className="i-key" cx="5" cy="8" r="3" />
    <path className="i-key-line" d="M8 8h6.5M12 8v2.5M14 8v2" fill="none" />
  </>,
);

/** The Sessions node and its rows: a screen linked to a mail envelope. */
export const SessionsIcon = icon(
  <>
    <rect className="i-metal" x="1" y="2.5" width="7" height="5.5" rx="0.8" />
    <rect className="i-screen" x="2.2" y="3.6" width="4.6" height="3.3" />
    <path className="i-line" d="M4.5 8v2.5h4" fill="none" />
    <rect className="i-paper" x="8.5" y="8" width="6.5" height="5" rx="0.5" />
    <path className="i-line" d="M8.7 8.3l3.05 2.3 3.05-2.3" fill="none" />
  </>,
);

/** End Session: a session's screen struck through. */
export const EndSessionIcon = icon(
  <>
    <rect className="i-metal" x="1.5" y="2.5" width="10" height="7.5" rx="0.8" />
    <rect className="i-screen" x="2.8" y="3.8" width="7.4" height="4.9" />
    <path className="i-delete" d="M9.5 9.5l5 5M14.5 9.5l-5 5" fill="none" />
  </>,
);
