/** The portal's one stylesheet, served at `/assets/portal.css` (no inline style, no CDN). */
export const PORTAL_CSS = `
:root { color-scheme: light dark; --accent: #1f5fbf; --muted: #666; --bad: #b00020; --ok: #1b7f3b; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 0 1rem 2rem; max-width: 60rem; margin-inline: auto; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 0; border-bottom: 1px solid #8884; }
header nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.5rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: Canvas; padding: .5rem; }
.vms { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); padding: 0; list-style: none; }
.vm { border: 1px solid #8886; border-radius: .5rem; padding: 1rem; }
.vm h2 { margin: 0 0 .5rem; font-size: 1.15rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dt { color: var(--muted); }
dd { margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.actions form { margin: 0; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: .35rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
.notice { padding: .75rem 1rem; border-radius: .35rem; border: 1px solid #8886; }
.notice.error { border-color: var(--bad); }
.notice.ok { border-color: var(--ok); }
code, pre { font-family: ui-monospace, monospace; overflow-wrap: anywhere; white-space: pre-wrap; }
textarea { width: 100%; font: inherit; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8884; }
.table-wrap { overflow-x: auto; }
.stack label, .stack select, .stack input[type=text], form > label { display: block; margin-top: .5rem; }
input[type=text], input[type=number], select { font: inherit; padding: .3rem; max-width: 100%; }
fieldset { border: 1px solid #8886; border-radius: .35rem; margin-top: 1rem; }
.code { font-family: ui-monospace, monospace; font-size: 1.5rem; letter-spacing: .1em; }
td.actions { white-space: nowrap; }
`;
