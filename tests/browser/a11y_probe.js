// The browser tier's accessibility check (tests/browser/helpers.py, "Accessibility") adds this
// to every document of a checked page: `__a11yState()` is a fingerprint of the page's state, or
// null while the page is rendering or sending a form. Alike states have one fingerprint: the
// same route (ids left out), layout (the style sheets' media queries that match the width),
// language and structure (elements with their attributes, ids, texts and numbers left out;
// whether each ARIA or label reference resolves kept; alike siblings counted once, in any order).
(() => {
  const REFS = new Set(['aria-controls', 'aria-labelledby', 'aria-describedby', 'aria-owns',
    'aria-activedescendant', 'aria-details', 'aria-errormessage', 'aria-flowto', 'for', 'list']);
  const TEXTS = new Set(['aria-label', 'aria-description', 'aria-roledescription',
    'aria-valuetext', 'aria-placeholder', 'alt', 'title', 'placeholder', 'href', 'src', 'value',
    'download', 'datetime', 'id', 'name', 'style']);
  const norm = (v) => v.replace(/[0-9a-z]{16,}/gi, '#').replace(/\d+/g, '0').slice(0, 60);
  const hash = (text) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i += 1) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    return (h >>> 0).toString(36);
  };
  const sig = (el) => {
    let own = el.tagName;
    for (const { name, value } of el.attributes) {
      if (REFS.has(name)) {
        const found = value.split(/\s+/).filter(Boolean).every((id) => document.getElementById(id));
        own += ` ${name}:${found ? 1 : 0}`;
      } else if (TEXTS.has(name)) own += ` ${name}`;
      else own += ` ${name}=${norm(value)}`;
    }
    if (el.matches('input, select, textarea')) own += ` ~${el.disabled ? 'd' : ''}${el.checked ? 'c' : ''}`;
    const parts = new Set();
    let text = false;
    for (const child of el.childNodes) {
      if (child.nodeType === 1) parts.add(sig(child));
      else if (child.nodeType === 3 && child.data.trim()) text = true;
    }
    return hash(`${own}${text ? ' t' : ''}[${[...parts].sort().join(',')}]`);
  };
  // The width as the style sheets see it: which of their media queries match.
  const layouts = new Map();
  const layout = () => {
    if (!layouts.has(innerWidth)) {
      const rules = [...document.styleSheets].flatMap((sheet) => {
        try { return [...sheet.cssRules]; } catch { return []; }
      });
      layouts.set(innerWidth, rules.filter((rule) => rule.media)
        .map((rule) => (matchMedia(rule.media.mediaText).matches ? 1 : 0)).join(''));
    }
    return layouts.get(innerWidth);
  };
  const route = () => location.hash.split('/').map((part) => (/\d/.test(part) ? ':id' : part)).join('/');
  // The body's signature is worked out again only after the document (or a control's checked
  // state, which is no attribute) changed.
  let body = null;
  new MutationObserver(() => { body = null; }).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  document.addEventListener('change', () => { body = null; }, true);
  Object.defineProperty(window, '__a11yState', {
    value: () => {
      if (!document.body || !document.getElementById('main')
          || document.querySelector('main[aria-busy="true"], form[aria-busy="true"]')) return null;
      if (body === null) body = sig(document.body);
      return { fingerprint: hash(`${route()}|${layout()}|${document.documentElement.lang}|${body}`) };
    },
  });
})();
