// The browser tier's accessibility check (tests/browser/helpers.py, "Accessibility") adds this
// to every document of a checked page: `__a11yState()` describes the page's state as the
// fingerprints of its parts, or is null while the page is rendering or sending a form. A state
// is new when one of its parts is: a page that only puts parts seen before together again (a
// form with an error shown next to another form's message) is no new state.
//
// The parts: the page's frame (everything but its components) and each component (a section,
// form, table row, list item, fieldset, …, without the components inside it). A part's
// fingerprint holds the route (ids left out), layout (the style sheets' media queries that match
// the width), language, the classes of the part's ancestors (its colours come from them) and its
// structure: elements with their attributes (ids, texts and numbers left out; whether each ARIA
// or label reference resolves kept), alike siblings counted once, in any order.
(() => {
  const REFS = new Set(['aria-controls', 'aria-labelledby', 'aria-describedby', 'aria-owns',
    'aria-activedescendant', 'aria-details', 'aria-errormessage', 'aria-flowto', 'for', 'list']);
  const TEXTS = new Set(['aria-label', 'aria-description', 'aria-roledescription',
    'aria-valuetext', 'aria-placeholder', 'alt', 'title', 'placeholder', 'href', 'src', 'value',
    'download', 'datetime', 'id', 'name', 'style']);
  const COMPONENTS = 'section, form, fieldset, details, table, tr, li, dl, nav, header, footer, '
    + 'aside, dialog, [role=dialog], [role=alert], [role=status], [role=group]';
  const norm = (v) => v.replace(/[0-9a-z]{16,}/gi, '#').replace(/\d+/g, '0').slice(0, 60);
  const hash = (text) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i += 1) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    return (h >>> 0).toString(36);
  };
  const own = (el) => {
    let text = el.tagName;
    for (const { name, value } of el.attributes) {
      if (REFS.has(name)) {
        const found = value.split(/\s+/).filter(Boolean).every((id) => document.getElementById(id));
        text += ` ${name}:${found ? 1 : 0}`;
      } else if (TEXTS.has(name)) text += ` ${name}`;
      else text += ` ${name}=${norm(value)}`;
    }
    if (el.matches('input, select, textarea')) text += ` ~${el.disabled ? 'd' : ''}${el.checked ? 'c' : ''}`;
    return text;
  };
  // The signature of `el` down to the components inside it, which are added to `parts` with the
  // classes of their ancestors (`context`).
  const sig = (el, context, parts, top) => {
    if (!top && el.matches(COMPONENTS)) {
      parts.push([`${context}|${sig(el, context, parts, true)}`, el]);
      return `C:${el.tagName}`;
    }
    const inner = `${context} ${el.tagName}.${el.className || ''}`;
    const children = new Set();
    let text = false;
    for (const child of el.childNodes) {
      if (child.nodeType === 1) children.add(sig(child, inner, parts, false));
      else if (child.nodeType === 3 && child.data.trim()) text = true;
    }
    return hash(`${own(el)}${text ? ' t' : ''}[${[...children].sort().join(',')}]`);
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
  // The parts are worked out again only after the document (or a control's checked state, which
  // is no attribute) changed.
  let parts = null;
  new MutationObserver(() => { parts = null; }).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  document.addEventListener('change', () => { parts = null; }, true);
  Object.defineProperty(window, '__a11yState', {
    value: () => {
      if (!document.body || !document.getElementById('main')
          || document.querySelector('main[aria-busy="true"], form[aria-busy="true"]')) return null;
      if (parts === null) {
        const found = [];
        found.push([`frame|${sig(document.body, '', found, true)}`, document]);
        parts = found;
      }
      const where = `${route()}|${layout()}|${document.documentElement.lang}`;
      elements = new Map();
      for (const [part, el] of parts) {
        const fingerprint = hash(`${where}|${part}`);
        elements.set(fingerprint, [...(elements.get(fingerprint) || []), el]);
      }
      return { parts: [...elements.keys()] };
    },
  });
  // What to scan of the state described last: the whole document when its frame is new, else
  // the new components (those inside another new one go with it).
  let elements = new Map();
  Object.defineProperty(window, '__a11yContext', {
    value: (fingerprints) => {
      const chosen = fingerprints.flatMap((fingerprint) => elements.get(fingerprint) || []);
      if (!chosen.length || chosen.includes(document) || chosen.some((el) => !el.isConnected)) {
        return document;
      }
      const outer = chosen.filter((el) => !chosen.some((other) => other !== el && other.contains(el)));
      return { include: outer };
    },
  });
})();
