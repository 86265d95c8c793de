// A QR code as SVG (the otpauth:// link of the authenticator app's set-up), drawn with
// qrcode-generator (vendor/). strong-sign-in.js loads this module with import() when the set-up
// is shown, so the build makes it a chunk of its own that only that step downloads. One <path>
// of dark modules, no inline style (the Content-Security-Policy allows none); the caller gives
// the text alternative.
import qrcode from './vendor/qrcode-generator.js';

const SVG = 'http://www.w3.org/2000/svg';
const QUIET = 4; // the quiet zone the standard asks for, in modules

/** An <svg role="img"> of `text`'s QR code (error correction M), labelled `label`. */
export function qrSvg(text, label) {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const count = code.getModuleCount();
  const size = count + 2 * QUIET;
  let d = '';
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) d += `M${col + QUIET} ${row + QUIET}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('class', 'qr-code');
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.dataset.testid = 'totp-qr';
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#ffffff');
  const modules = document.createElementNS(SVG, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('fill', '#000000');
  svg.append(background, modules);
  return svg;
}
