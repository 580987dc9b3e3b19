/** The classroom icon (a board with a pointer), themed like JupyterLab's own icons. */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1h-7.2l3.1 4.4-1.6 1.2-3.3-4.6-3.3 4.6-1.6-1.2 3.1-4.4H3a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm1 2v9h16V5H4z"/>
    <path d="M6 12l4-4 2.5 2.5L17 6l1 1-5.5 5.5L10 10l-3 3z"/>
  </g>
</svg>`;

export const classroomIcon = new LabIcon({ name: 'jupyter-live-classroom:classroom', svgstr });

/** Material Design icon paths (Apache 2.0), drawn inline: emoji need a font that pages on
 * minimal systems (and headless browsers) lack. */
const PATHS = {
  lock: 'M18 8h-1V6c0-2.76-2.24-5-5-5S7 3.24 7 6v2H6c-1.1 0-2 .9-2 2v10c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V10c0-1.1-.9-2-2-2zm-6 9c-1.1 0-2-.9-2-2s.9-2 2-2 2 .9 2 2-.9 2-2 2zm3.1-9H8.9V6c0-1.71 1.39-3.1 3.1-3.1 1.71 0 3.1 1.39 3.1 3.1v2z',
  hand: 'M23 5.5V20c0 2.2-1.8 4-4 4h-7.3c-1.08 0-2.1-.43-2.85-1.19L1 14.83s1.26-1.23 1.3-1.25c.22-.19.49-.29.79-.29.22 0 .42.06.6.16.04.01 4.31 2.46 4.31 2.46V4c0-.83.67-1.5 1.5-1.5S11 3.17 11 4v7h1V1.5c0-.83.67-1.5 1.5-1.5S15 .67 15 1.5V11h1V2.5c0-.83.67-1.5 1.5-1.5s1.5.67 1.5 1.5V11h1V5.5c0-.83.67-1.5 1.5-1.5s1.5.67 1.5 1.5z'
};

/** A 1em inline icon in the text colour; `label` is what a screen reader says. */
export function inlineIcon(name: keyof typeof PATHS, className: string, label: string): HTMLElement {
  const span = document.createElement('span');
  span.className = `jc-icon ${className}`;
  span.setAttribute('role', 'img');
  span.setAttribute('aria-label', label);
  span.title = label;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '1em');
  svg.setAttribute('height', '1em');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', PATHS[name]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  span.append(svg);
  return span;
}
