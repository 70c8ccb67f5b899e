/**
 * The portal's one script, served at `/assets/progress.js`: keeps a deployment's progress page live
 * over Server-Sent Events, and lets a keyboard or mouse tick every student of the grid at once.
 * Pages work without it (reload shows the latest step).
 */
export const PROGRESS_JS = `'use strict';
(function () {
  var box = document.getElementById('progress');
  if (!box || !window.EventSource) return;
  var done = document.getElementById('progress-done');
  var source = new EventSource(box.getAttribute('data-events'));
  source.addEventListener('progress', function (e) { box.textContent = JSON.parse(e.data).text; });
  source.addEventListener('done', function (e) {
    var data = JSON.parse(e.data);
    box.textContent = data.text;
    done.textContent = data.error ? 'The deployment did not finish cleanly.' : 'The deployment finished.';
    done.hidden = false;
    source.close();
  });
})();
`;
