// The web view's page: plain HTML, CSS and browser JavaScript kept as strings here, so `dist/` carries them with
// no build step and no file to find at run time, and the page loads nothing from the network but this server.
// The script reads /api/state and /api/mdev-types, follows /api/events (Server-Sent Events) and posts the
// control commands to /api/control after a confirmation.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vfio-ts</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header><h1>vfio-ts</h1><span id="conn" class="muted">connecting…</span></header>
<div id="status" role="status" aria-live="polite"></div>
<main>
<section id="buses-section"><h2>Buses</h2><div id="buses"></div></section>
<section id="devices-section"><h2>VFIO devices</h2>
<table id="devices"><thead><tr><th>device</th><th>driver</th><th>on</th><th>state</th><th>open</th><th>registration</th><th>device set</th><th>IOMMU group</th><th>clients</th><th>requests</th><th></th></tr></thead><tbody></tbody></table>
<div id="shots"></div>
</section>
<section id="create-section"><h2>Create an mdev</h2>
<form id="create"><select id="mdev-type" aria-label="mdev type"></select> <button type="submit" id="create-btn">create</button></form>
</section>
<section id="timeline-section"><h2>Timeline</h2>
<div class="muted">alloc, init, register, open, close, request…, unregister, release, free — one lane per device; hover an event for its time and detail.</div>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="900" height="40"></svg>
<div id="tip" hidden></div>
</section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `body { font: 14px system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; }
header { display: flex; gap: 1em; align-items: baseline; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
.muted { color: #777; }
#status { min-height: 1.4em; padding: .3em .5em; }
#status.error { background: #fde8e8; color: #8a1010; }
#status.info { background: #eef5ff; }
ul.tree { list-style: none; padding-left: 1.2em; margin: .2em 0; }
ul.tree li { margin: .15em 0; }
.badge { display: inline-block; padding: 0 .4em; border-radius: .6em; background: #eee; margin-left: .4em; font-size: .9em; }
.badge.vfio { background: #dff3e4; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .6em; text-align: left; }
tr.unregistering td { background: #fff6df; }
button { margin-left: .3em; }
#timeline { border: 1px solid #ddd; background: #fcfcfc; }
#timeline text { font: 12px monospace; }
#tip { position: fixed; background: #222; color: #fff; padding: .3em .5em; border-radius: .3em; font: 12px monospace; pointer-events: none; }
#shots img { border: 1px solid #ccc; margin: .5em .5em 0 0; image-rendering: pixelated; }
`;

export const PAGE_JS = `'use strict';
var COLORS = { alloc: '#888', init: '#888', register: '#2a8f3c', open: '#1f5fbf', close: '#6b8fd6', request: '#d98200', unregister: '#b5282e', release: '#7a4fa0', free: '#333' };
var events = [];
var state = null;
var waits = {};
var refreshTimer = null;

function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs) {
  var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
}
function say(msg, kind) {
  var s = document.getElementById('status');
  s.textContent = msg;
  s.className = kind || 'info';
}
function api(path) {
  return fetch(path, { cache: 'no-store' }).then(function (r) {
    return r.json().then(function (j) { if (!r.ok) throw new Error(j.error.code + ': ' + j.error.message); return j; });
  });
}
function control(body) {
  return fetch('/api/control', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then(function (r) {
    return r.json().then(function (j) { if (!r.ok) throw new Error(j.error.code + ': ' + j.error.message); return j.result; });
  });
}
function act(question, body, started, done) {
  if (!window.confirm(question)) return;
  if (started) say(started, 'info');
  control(body).then(function (r) { say(done(r), 'info'); refresh(); }, function (e) { say(e.message, 'error'); refresh(); });
}

function refresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(function () {
    Promise.all([api('/api/state'), api('/api/mdev-types')]).then(function (r) {
      state = r[0];
      renderBuses(r[0]);
      renderDevices(r[0]);
      renderTypes(r[1]);
    }, function (e) { say('cannot read the server state: ' + e.message, 'error'); });
  }, 50);
}

function renderBuses(s) {
  var root = document.getElementById('buses');
  root.textContent = '';
  s.buses.forEach(function (bus) {
    var d = el('details', { open: '', 'data-bus': bus.name });
    d.appendChild(el('summary', {}, bus.name + ' (' + bus.devices.length + ' device' + (bus.devices.length === 1 ? '' : 's') + ')'));
    var byParent = {};
    bus.devices.forEach(function (dev) { var p = dev.parent || ''; (byParent[p] = byParent[p] || []).push(dev); });
    function list(parent) {
      var ul = el('ul', { class: 'tree' });
      (byParent[parent] || []).forEach(function (dev) {
        var li = el('li', { 'data-device': dev.name });
        li.appendChild(el('span', { class: 'name' }, dev.name));
        li.appendChild(el('span', { class: 'badge' }, dev.driver ? 'driver ' + dev.driver : 'no driver'));
        if (dev.iommuGroup !== null) li.appendChild(el('span', { class: 'badge' }, 'IOMMU group ' + dev.iommuGroup));
        if (dev.vfio) li.appendChild(el('span', { class: 'badge vfio' }, dev.vfio));
        if (bus.name === 'mdev') {
          var rm = el('button', { 'data-action': 'remove', 'data-uuid': dev.name }, 'remove');
          rm.onclick = function () { act('Remove mdev ' + dev.name + '? Attached clients are asked to let go first.', { cmd: 'mdev-remove', uuid: dev.name }, 'removing mdev ' + dev.name + '…', function () { return 'removed mdev ' + dev.name; }); };
          li.appendChild(rm);
        }
        if (bus.name === 'pci' && dev.driver) {
          var ub = el('button', { 'data-action': 'unbind', 'data-bdf': dev.name }, 'unbind');
          ub.onclick = function () { act('Unbind ' + dev.name + ' from ' + dev.driver + '? Attached clients are asked to let go first.', { cmd: 'unbind', device: dev.name }, 'unbinding ' + dev.name + '…', function () { return 'unbound ' + dev.name; }); };
          li.appendChild(ub);
        } else if (bus.name === 'pci') {
          var bb = el('button', { 'data-action': 'bind', 'data-bdf': dev.name }, 'bind…');
          bb.onclick = function () {
            var drv = window.prompt('Bind ' + dev.name + ' to which PCI driver?', 'vfio-pci');
            if (drv) act('Bind ' + dev.name + ' to ' + drv + '?', { cmd: 'bind', device: dev.name, driver: drv }, null, function (r) { return dev.name + ' bound to ' + drv + (r.name ? ' as ' + r.name : ''); });
          };
          li.appendChild(bb);
        }
        if (byParent[dev.name]) li.appendChild(list(dev.name));
        ul.appendChild(li);
      });
      return ul;
    }
    d.appendChild(list(''));
    root.appendChild(d);
  });
}

function renderDevices(s) {
  var tbody = document.querySelector('#devices tbody');
  tbody.textContent = '';
  s.devices.forEach(function (d) {
    var tr = el('tr', { 'data-device': d.name, class: d.state });
    [d.name, d.driver, (d.bus ? d.bus + ' ' : '') + d.parent, d.state, String(d.openCount), String(d.registrationCount), d.deviceSet.join(', '), d.iommuGroup === null ? '-' : String(d.iommuGroup), String(d.clients), String(waits[d.name] !== undefined ? waits[d.name] : d.requests)]
      .forEach(function (v) { tr.appendChild(el('td', {}, v)); });
    var td = el('td');
    if (d.state === 'registered') {
      var ub = el('button', { 'data-action': 'unregister', 'data-device': d.name }, 'unregister');
      ub.onclick = function () { unregister(d); };
      td.appendChild(ub);
    }
    if (d.display) {
      var sb = el('button', { 'data-action': 'screenshot', 'data-device': d.name }, 'screenshot');
      sb.onclick = function () { screenshot(d.name); };
      td.appendChild(sb);
    }
    tr.appendChild(td);
    tbody.appendChild(tr);
  });
}

function unregister(d) {
  if (!window.confirm('Unregister ' + d.name + '? Its ' + d.clients + ' client(s) are asked to let go, and it waits until they do.')) return;
  waits[d.name] = 0;
  say('unregistering ' + d.name + ': waiting for its users to let go', 'info');
  control({ cmd: 'unregister', device: d.name }).then(function (r) {
    delete waits[d.name];
    say('unregistered ' + r.name, 'info');
    refresh();
  }, function (e) { delete waits[d.name]; say(e.message, 'error'); refresh(); });
}

function screenshot(name) {
  var shots = document.getElementById('shots');
  var img = el('img', { alt: 'screen of ' + name, 'data-device': name });
  img.onerror = function () { say('no screenshot of ' + name, 'error'); img.remove(); };
  img.src = '/api/screenshot?device=' + encodeURIComponent(name) + '&t=' + Date.now();
  shots.textContent = '';
  shots.appendChild(img);
}

function renderTypes(types) {
  var sel = document.getElementById('mdev-type');
  var keep = sel.value;
  sel.textContent = '';
  types.forEach(function (t) {
    var o = el('option', { value: t.parent + '/' + t.id }, t.parent + ' / ' + t.id + ' — ' + t.name + ' (' + t.availableInstances + ' available)');
    if (t.availableInstances === 0) o.disabled = true;
    sel.appendChild(o);
  });
  if (keep) sel.value = keep;
}

document.getElementById('create').addEventListener('submit', function (ev) {
  ev.preventDefault();
  var v = document.getElementById('mdev-type').value;
  var i = v.indexOf('/');
  if (i < 0) return;
  var parent = v.slice(0, i), type = v.slice(i + 1);
  act('Create an mdev of type ' + type + ' on ' + parent + '?', { cmd: 'mdev-create', parent: parent, type: type }, null, function (r) { return 'created mdev ' + r.uuid + ' as ' + r.name + (r.socket ? ' on ' + r.socket : ''); });
});

function drawTimeline() {
  var box = document.getElementById('timeline');
  box.textContent = '';
  var lanes = [];
  events.forEach(function (e) { if (lanes.indexOf(e.name) < 0) lanes.push(e.name); });
  var LANE = 28, LEFT = 90, W = 900;
  box.setAttribute('height', String(Math.max(40, lanes.length * LANE + 20)));
  if (events.length === 0) return;
  var t0 = events[0].time, t1 = events[events.length - 1].time;
  var span = Math.max(1, t1 - t0);
  var x = function (t) { return LEFT + 8 + ((t - t0) / span) * (W - LEFT - 24); };
  lanes.forEach(function (name, i) {
    var g = svg('g', { class: 'lane', 'data-device': name });
    var y = 14 + i * LANE;
    var label = svg('text', { x: '4', y: String(y + 4) });
    label.textContent = name;
    g.appendChild(label);
    var evs = events.filter(function (e) { return e.name === name; });
    g.appendChild(svg('line', { x1: String(x(evs[0].time)), x2: String(x(evs[evs.length - 1].time)), y1: String(y), y2: String(y), stroke: '#bbb' }));
    evs.forEach(function (e) {
      var c = svg('circle', { class: 'ev', 'data-event': e.event, cx: String(x(e.time)), cy: String(y), r: '5', fill: COLORS[e.event] || '#000' });
      var detail = e.event + ' ' + e.name + ' (' + e.driver + ')' + (e.value !== undefined ? ' value ' + e.value : '');
      var title = svg('title');
      title.textContent = new Date(e.time).toISOString() + ' ' + detail;
      c.appendChild(title);
      c.addEventListener('mouseenter', function (m) {
        var tip = document.getElementById('tip');
        tip.textContent = new Date(e.time).toISOString() + '  ' + detail;
        tip.style.left = (m.clientX + 12) + 'px';
        tip.style.top = (m.clientY + 12) + 'px';
        tip.hidden = false;
      });
      c.addEventListener('mouseleave', function () { document.getElementById('tip').hidden = true; });
      g.appendChild(c);
    });
    box.appendChild(g);
  });
}

var drawPending = false;
function onEvent(e) {
  events.push(e);
  if (e.event === 'request' && waits[e.name] !== undefined) {
    waits[e.name] = (e.value || 0) + 1;
    say('unregistering ' + e.name + ': waiting for its users to let go; ' + waits[e.name] + ' request(s) sent', 'info');
  }
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(function () { drawPending = false; drawTimeline(); });
  }
  refresh();
}

var source = new EventSource('/api/events');
source.onopen = function () { document.getElementById('conn').textContent = 'live'; };
source.onerror = function () { document.getElementById('conn').textContent = 'disconnected (retrying)'; };
source.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); } catch (err) { say('bad event: ' + err, 'error'); } };
refresh();
`;
