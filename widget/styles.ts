/**
 * The element's styles. Every colour is a `--attendance-feed-*` custom property with a light and a
 * dark default (both AA contrast); the host page overrides them or styles the `::part()`s.
 *
 * @module
 */

import { css } from "lit";

/** Styles of `<attendance-feed>`. */
export const feedStyles = css`
  :host {
    --_bg: var(--attendance-feed-background, #ffffff);
    --_fg: var(--attendance-feed-color, #1f2328);
    --_muted: var(--attendance-feed-muted-color, #59636e);
    --_border: var(--attendance-feed-border-color, #d1d9e0);
    --_accent: var(--attendance-feed-accent-color, #0550ae);
    --_on-accent: var(--attendance-feed-on-accent-color, #ffffff);
    --_present: var(--attendance-feed-present-color, #116329);
    --_present-bg: var(--attendance-feed-present-background, #dafbe1);
    --_absent: var(--attendance-feed-absent-color, #a40e26);
    --_absent-bg: var(--attendance-feed-absent-background, #ffebe9);
    --_sick: var(--attendance-feed-sick-color, #7d4e00);
    --_sick-bg: var(--attendance-feed-sick-background, #fff8c5);
    --_leave: var(--attendance-feed-leave-color, #0550ae);
    --_leave-bg: var(--attendance-feed-leave-background, #ddf4ff);
    display: block;
    box-sizing: border-box;
    max-width: var(--attendance-feed-max-width, 28rem);
    padding: 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--attendance-feed-radius, 0.75rem);
    background: var(--_bg);
    color: var(--_fg);
    font: var(--attendance-feed-font, 0.95rem/1.45 system-ui, sans-serif);
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_bg: var(--attendance-feed-background, #0d1117);
      --_fg: var(--attendance-feed-color, #e6edf3);
      --_muted: var(--attendance-feed-muted-color, #9198a1);
      --_border: var(--attendance-feed-border-color, #3d444d);
      --_accent: var(--attendance-feed-accent-color, #4493f8);
      --_on-accent: var(--attendance-feed-on-accent-color, #0d1117);
      --_present: var(--attendance-feed-present-color, #7ee787);
      --_present-bg: var(--attendance-feed-present-background, #0f2d1a);
      --_absent: var(--attendance-feed-absent-color, #ffa198);
      --_absent-bg: var(--attendance-feed-absent-background, #3c1618);
      --_sick: var(--attendance-feed-sick-color, #e3b341);
      --_sick-bg: var(--attendance-feed-sick-background, #2e2410);
      --_leave: var(--attendance-feed-leave-color, #79c0ff);
      --_leave-bg: var(--attendance-feed-leave-background, #0c2d4a);
    }
  }
  h2,
  h3 {
    margin: 0;
    font-size: 1rem;
  }
  h3 {
    margin-top: 1rem;
    font-size: 0.9rem;
    color: var(--_muted);
    text-transform: uppercase;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0.25rem 0.75rem;
  }
  [part~="status"] {
    display: inline-flex;
    align-items: center;
    gap: 0.4rem;
    margin: 0;
  }
  .dot {
    width: 0.6rem;
    height: 0.6rem;
    border-radius: 50%;
    background: var(--_muted);
  }
  .live .dot {
    background: var(--_present);
    animation: pulse 2s ease-in-out infinite;
  }
  .reconnecting .dot,
  .connecting .dot {
    background: var(--_sick);
  }
  .offline .dot,
  .unauthorized .dot {
    background: var(--_absent);
  }
  @keyframes pulse {
    50% {
      opacity: 0.4;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .dot {
      animation: none !important;
    }
  }
  [part~="updated"],
  .muted {
    color: var(--_muted);
    font-size: 0.85rem;
  }
  ul {
    list-style: none;
    margin: 0.4rem 0 0;
    padding: 0;
  }
  li {
    padding: 0.4rem 0;
    border-top: 1px solid var(--_border);
  }
  li:first-child {
    border-top: none;
  }
  [part~="record"] {
    display: flex;
    gap: 0.5rem;
    align-items: center;
    flex-wrap: wrap;
  }
  [part~="chip"] {
    padding: 0.05rem 0.5rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
  }
  .PRESENT {
    color: var(--_present);
    background: var(--_present-bg);
  }
  .ABSENT {
    color: var(--_absent);
    background: var(--_absent-bg);
  }
  .SICK {
    color: var(--_sick);
    background: var(--_sick-bg);
  }
  .LEAVE {
    color: var(--_leave);
    background: var(--_leave-bg);
  }
  [part~="correction"] {
    font-size: 0.8rem;
    color: var(--_muted);
    font-style: italic;
  }
  dl {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(6rem, 1fr));
    gap: 0.5rem;
  }
  dl div {
    margin: 0;
  }
  dt {
    color: var(--_muted);
    font-size: 0.8rem;
  }
  dd {
    margin: 0;
    font-size: 1.15rem;
    font-weight: 600;
  }
  [part~="notification"] {
    padding-left: 0.6rem;
    border-left: 4px solid var(--_muted);
  }
  [part~="notification"].info {
    border-left-color: var(--_leave);
  }
  [part~="notification"].success {
    border-left-color: var(--_present);
  }
  [part~="notification"].warning {
    border-left-color: var(--_sick);
  }
  [part~="notification"].error {
    border-left-color: var(--_absent);
  }
  [part~="notification"].read {
    opacity: 0.85;
  }
  .title {
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  .message {
    margin: 0.15rem 0;
    overflow-wrap: anywhere;
    white-space: pre-line;
  }
  [part~="badge"] {
    margin-left: 0.4rem;
    padding: 0 0.45rem;
    border-radius: 999px;
    background: var(--_accent);
    color: var(--_on-accent);
    font-size: 0.8rem;
  }
  a {
    color: var(--_accent);
  }
  button {
    font: inherit;
    font-size: 0.8rem;
    padding: 0.15rem 0.6rem;
    cursor: pointer;
    border: 1px solid var(--_accent);
    border-radius: 0.4rem;
    background: transparent;
    color: var(--_accent);
  }
  button:hover {
    background: var(--_accent);
    color: var(--_on-accent);
  }
  a:focus-visible,
  button:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  .actions {
    display: flex;
    gap: 0.75rem;
    align-items: center;
    margin-top: 0.2rem;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
