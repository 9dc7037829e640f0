/** Stylesheets are imported for their effect; vite emits them as external files (the CSP forbids inline styles). */
declare module '*.css';
