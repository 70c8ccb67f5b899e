/**
 * The console page's script: noVNC's RFB client (served from the `@novnc/novnc` package by this
 * server) on a WebSocket to this server. It never sees a Proxmox credential: the server speaks
 * VNC's security handshake with Proxmox and offers this client "None". When the session ends, the
 * page shows why, from the WebSocket's close reason (`CONSOLE_CLOSE_CODES`).
 */
export const CONSOLE_SCRIPT = `import RFB from '../novnc/core/rfb.js';

const body = document.body;
const status = document.getElementById('status');
const show = (state, text) => {
  body.dataset.state = state;
  status.textContent = text;
};
const token = location.pathname.split('/').pop();
const base = new URL('.', location.href);
const answer = await fetch(new URL(\`\${encodeURIComponent(token)}/session\`, base), { method: 'POST', cache: 'no-store', credentials: 'omit' });
const opened = await answer.json().catch(() => ({ message: 'The console did not answer; ask for a new link with /myvm console.' }));
if (!answer.ok) {
  show('refused', opened.message);
} else {
  document.title = \`Console: \${opened.vmName}\`;
  document.getElementById('title').textContent = opened.vmName;
  document.getElementById('hint').textContent = \`This session lasts up to \${opened.sessionMinutes} min. Closing this tab ends it.\`;
  show('connecting', 'Connecting…');
  const url = new URL(\`ws/\${encodeURIComponent(opened.clusterId)}/\${encodeURIComponent(opened.vmid)}/\${encodeURIComponent(opened.sessionId)}\`, base);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // The page opens the WebSocket itself so that it sees the close reason (noVNC does not pass it on):
  // codes 4000 and up carry the server's sentence, e.g. "The VM stopped, …".
  const socket = new WebSocket(url.href, ['binary']);
  let closed;
  socket.addEventListener('close', (e) => (closed = e));
  const rfb = new RFB(document.getElementById('screen'), socket);
  rfb.scaleViewport = false;
  rfb.resizeSession = false;
  const why = (clean) =>
    closed && closed.code >= 4000 && closed.reason
      ? closed.reason
      : clean
        ? 'The console closed. Ask for a new link with /myvm console.'
        : 'The connection was lost. Ask for a new link with /myvm console.';
  rfb.addEventListener('connect', () => show('connected', 'Connected'));
  rfb.addEventListener('disconnect', (e) => show('disconnected', why(e.detail.clean)));
  rfb.addEventListener('securityfailure', () => show('disconnected', 'The console refused the connection. Ask for a new link with /myvm console.'));
}
`;

/** The console page's style sheet. */
export const CONSOLE_STYLE = `html, body { margin: 0; height: 100%; background: #111; color: #eee; font: 14px system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
header { padding: 6px 12px; background: #222; display: flex; gap: 12px; align-items: baseline; }
header .hint { color: #999; margin-left: auto; }
body[data-state="connected"] #status { color: #7d7; }
body[data-state="disconnected"] #status, body[data-state="refused"] #error { color: #f88; }
#error { padding: 12px; }
#screen { flex: 1; overflow: auto; }
`;
