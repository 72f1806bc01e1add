// genjob dashboard: live updates. The pages are complete without this script; it only follows
// the server's event stream (GET /v1/events) and, after changes, re-renders the page's live part
// from the server. EventSource cannot send an Authorization header, so the stream is read with
// fetch() and parsed here; the token comes from this tab's sessionStorage, where the sign-in form
// put it (the page's own cookie is HttpOnly: scripts never see it).
(function () {
  'use strict';
  var KEY = 'genjob.token';

  var login = document.getElementById('login-form');
  if (login) {
    login.addEventListener('submit', function () {
      try { sessionStorage.setItem(KEY, login.elements.token.value.trim()); } catch (e) { /* storage off: no live updates */ }
    });
    return;
  }
  var logout = document.getElementById('logout-form');
  if (logout) {
    logout.addEventListener('submit', function () {
      try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing kept */ }
    });
  }

  var live = document.getElementById('live');
  if (!live) { return; }
  function say(text, state) {
    var status = document.getElementById('live-status');
    if (status) { status.textContent = text; status.setAttribute('data-live', state); }
  }
  var token = null;
  try { token = sessionStorage.getItem(KEY); } catch (e) { token = null; }
  if (!token || !window.fetch || !window.ReadableStream || !window.TextDecoder) {
    say('Live updates off: sign in again in this tab to turn them on (reload to refresh).', 'off');
    return;
  }

  var after = live.getAttribute('data-after') || '';
  var jobId = live.getAttribute('data-job-id');
  var busy = false, again = false, lastRender = 0;
  // At most one re-render in flight and two a second: a burst of events costs one page read.
  var MIN_GAP_MS = 400;

  function render() {
    if (busy) { again = true; return; }
    busy = true;
    var wait = Math.max(0, lastRender + MIN_GAP_MS - Date.now());
    setTimeout(function () {
      lastRender = Date.now();
      fetch(location.pathname, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { if (!r.ok) { throw new Error('status ' + r.status); } return r.text(); })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, 'text/html').getElementById('live');
          if (fresh) {
            live.replaceWith(fresh);
            live = fresh;
            say('Live', 'on');
          }
        })
        .catch(function () { say('Live updates paused: the page could not be read; retrying.', 'retrying'); })
        .then(function () {
          busy = false;
          if (again) { again = false; render(); }
        });
    }, wait);
  }

  // Parses Server-Sent Events from the body: blocks separated by a blank line, `id:` and `event:` fields.
  function follow(body) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { throw new Error('the stream ended'); }
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
        var end;
        var changed = false;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var event = '';
          block.split('\n').forEach(function (line) {
            if (line.indexOf('id:') === 0) { after = line.slice(3).trim(); }
            else if (line.indexOf('event:') === 0) { event = line.slice(6).trim(); }
          });
          if (event) { changed = true; }
        }
        if (changed) { render(); }
        return pump();
      });
    }
    return pump();
  }

  var delay = 1000;
  function connect() {
    var query = [];
    if (after) { query.push('after=' + encodeURIComponent(after)); }
    if (jobId) { query.push('job_id=' + encodeURIComponent(jobId)); }
    fetch('/v1/events' + (query.length ? '?' + query.join('&') : ''), {
      headers: { 'Authorization': 'Bearer ' + token, 'Accept': 'text/event-stream' },
      cache: 'no-store'
    }).then(function (response) {
      if (response.status === 401) {
        try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing kept */ }
        say('Live updates off: the token was refused; sign in again.', 'off');
        return null;
      }
      if (!response.ok || !response.body) { throw new Error('status ' + response.status); }
      say('Live', 'on');
      delay = 1000;
      return follow(response.body);
    }).catch(function () {
      say('Live updates paused: reconnecting.', 'retrying');
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}());
