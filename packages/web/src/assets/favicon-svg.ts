/**
 * The portal's icon, served at `/assets/favicon.svg` (every page links it) and at `/favicon.ico`
 * (where browsers look when a page names none): a tiny SVG, so no page logs a 404 for it.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#e57000"/><path d="M4 4h8v2H4zm0 3h8v2H4zm0 3h8v2H4z" fill="#fff"/></svg>`;
