const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The console page of a link. Loading it changes nothing (so a chat app's link preview cannot
 * use the link up): its script, `assets/console.js`, opens the link with a same-origin POST,
 * which redeems it once, and connects noVNC to the session it gets. No inline script or style;
 * every URL is relative, so the page works under any path the reverse proxy maps to the bot.
 */
export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>VM console</title>
<link rel="stylesheet" href="assets/console.css">
<script type="module" src="assets/console.js"></script>
</head>
<body data-state="opening">
<header><strong id="title">VM console</strong> <span id="status">Opening…</span> <span id="hint" class="hint"></span></header>
<main id="screen"></main>
</body>
</html>
`;
}

/** A page that says why the console does not open (the link was used, expired, …) and what to do. */
export function consoleErrorPage(message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>Console unavailable</title>
<link rel="stylesheet" href="assets/console.css">
</head>
<body data-state="refused">
<header><strong>Console unavailable</strong></header>
<p id="error">${escapeHtml(message)}</p>
</body>
</html>
`;
}
