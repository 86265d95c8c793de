// A few hand-drawn 24×24 line icons (no icon font, nothing from elsewhere). Each is decoration
// beside a text label: aria-hidden, never focusable; it takes the colour of its text.
const SVG = 'http://www.w3.org/2000/svg';

const PATHS = {
  dashboard: 'M3 10.5 12 3l9 7.5M5 9v12h5v-6h4v6h5V9',
  subscriptions: 'M3 5h18v12H3zM8 21h8M12 17v4',
  wallet: 'M3 7h16a2 2 0 0 1 2 2v10H5a2 2 0 0 1-2-2zM3 7l12-4v4M16 13h2',
  bills: 'M6 2h9l4 4v16l-3-2-2.5 2-2.5-2-2.5 2L6 20zM14 2v5h5M9 11h7M9 15h5',
  vouchers: 'M3 6h18v4a2 2 0 0 0 0 4v4H3v-4a2 2 0 0 0 0-4zM14 6v2M14 11v2M14 16v2',
  support: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM9.5 9.5a2.5 2.5 0 1 1 3.4 2.3c-.6.3-.9.8-.9 1.4v.3M12 17h.01',
  notifications: 'M6 16v-5a6 6 0 0 1 12 0v5l2 2H4zM10 21h4',
  settings: 'M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1M15 4v4M9 10v4M17 16v4',
  opsSupport: 'M4 15v-3a8 8 0 0 1 16 0v3M4 14h3v6H4zM17 14h3v6h-3z',
  opsVouchers: 'M3 6h18v4a2 2 0 0 0 0 4v4H3v-4a2 2 0 0 0 0-4zM8 10h8M8 14h5',
  opsGovernance: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM9 12l2 2 4-4',
  insights: 'M4 20h16M6 20v-6M10 20V9M14 20v-8M18 20V5',
  opsInsights: 'M4 20h16M4 16l5-5 4 3 7-8M16 6h4v4',
  menu: 'M4 6h16M4 12h16M4 18h16',
  logout: 'M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10',
  info: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 11v6M12 7.5h.01',
  check: 'M5 12.5l4.5 4.5L19 7',
  account: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  cards: 'M3 6h18v12H3zM3 10h18M7 15h4',
  promotions: 'M20 12l-8 8-9-9V3h8zM7.5 7.5h.01',
  maintenance: 'M14.5 6.5a4 4 0 0 0-5.3 5.3L3 18l3 3 6.2-6.2a4 4 0 0 0 5.3-5.3l-2.5 2.5-2.5-.5-.5-2.5z',
};

// A notification's topic (services/notifier topics) → its icon.
const TOPIC_ICONS = {
  account: 'account', billing: 'bills', wallet: 'wallet', service: 'subscriptions', cards: 'cards',
  vouchers: 'vouchers', support: 'support', promotions: 'promotions', maintenance: 'maintenance',
};

export function topicIcon(topic) {
  return icon(TOPIC_ICONS[topic] || 'notifications', { className: 'icon topic-icon' });
}

/** The icon `name` as an <svg> element (an empty one for an unknown name). */
export function icon(name, { size = 24, className = 'icon' } = {}) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', className);
  const d = PATHS[name];
  if (d) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = Object.keys(PATHS);
