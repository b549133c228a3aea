// The page: a client of the same API as NATS clients (POST /api/start|cancel|prompt|list), watching a stream through
// the host's WebSocket relay of its JetStream record. No build step, no external scripts.
'use strict';

const $ = id => document.getElementById(id);
const ENDED = ['completed', 'cancelled', 'failed'];

// What the tests (and a curious person in the console) can read.
const page = window.sfPage = { stream: null, state: 'idle', seed: null, framesReceived: 0, chunks: [], errors: [], firstFrameMs: null, viewer: null, total: 0, owned: false };

function showError(message, field) {
  page.errors.push(message);
  const box = $('error');
  box.textContent = field ? `${message} (field: ${field})` : message;
  box.hidden = false;
  document.querySelectorAll('.invalid').forEach(e => e.classList.remove('invalid'));
  const input = field && { prompt: 'prompt', seed: 'seed', fps: 'fps', decoder: 'decoder', chunks: 'chunks' }[field];
  if (input) $(input).classList.add('invalid');
}

function clearError() {
  $('error').hidden = true;
  document.querySelectorAll('.invalid').forEach(e => e.classList.remove('invalid'));
}

// Seeds are 64-bit integers; a JS number keeps only 53 bits. They travel as digit strings inside the JSON text.
function seedOf(json) { const m = /"seed":\s*(-?\d+)/.exec(json); return m ? m[1] : null; }

async function api(verb, body) {
  let response, text;
  try {
    let json = JSON.stringify(body);
    if (typeof body.seed === 'string' && /^-?\d+$/.test(body.seed)) json = json.replace(`"seed":${JSON.stringify(body.seed)}`, `"seed":${body.seed}`);
    response = await fetch(`/api/${verb}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: json });
    text = await response.text();
  } catch (e) {
    return { error: `cannot reach the server: ${e.message}` };
  }
  try { const reply = JSON.parse(text); if ('seed' in reply) reply.seed = seedOf(text); return reply; }
  catch { return { error: `the server answered ${response.status} without a JSON body` }; }
}

function setProgress(percent, text) {
  const bar = $('progress');
  if (percent === null) bar.removeAttribute('value'); else bar.value = percent;
  $('progress-text').textContent = percent === null ? text : `${percent} % · ${text}`;
}

function setState(state, detail) {
  page.state = state;
  $('stat-state').textContent = detail ? `${state}: ${detail}` : state;
  const live = state === 'running' || state === 'starting';
  $('stop').disabled = !live;
  $('steer').disabled = state !== 'running';
}

// ---- playback: fMP4 through Media Source Extensions, JPEG frames on a canvas when MSE cannot play H.264 ----

function codecOf(init) {
  // avc1.PPCCLL from the avcC box of the init segment: what MediaSource.isTypeSupported needs to hear.
  for (let i = 4; i + 8 < init.length; i++) {
    if (init[i] === 0x61 && init[i + 1] === 0x76 && init[i + 2] === 0x63 && init[i + 3] === 0x43) {
      const hex = b => b.toString(16).padStart(2, '0');
      return `avc1.${hex(init[i + 5])}${hex(init[i + 6])}${hex(init[i + 7])}`;
    }
  }
  return 'avc1.64001f';
}

function fpsOf(init) {
  // The track timescale is fps × 1000 (one frame = 1000 ticks): the rate the stream was encoded at.
  for (let i = 4; i + 28 < init.length; i++) {
    if (init[i] === 0x6d && init[i + 1] === 0x64 && init[i + 2] === 0x68 && init[i + 3] === 0x64) {
      const at = init[i + 4] === 1 ? i + 24 : i + 16;
      return new DataView(init.buffer, init.byteOffset + at, 4).getUint32(0) / 1000;
    }
  }
  return null;
}

class MsePlayer {
  constructor(video) {
    this.video = video;
    this.queue = [];
    this.ended = false;
    this.source = new MediaSource();
    this.opened = new Promise(resolve => this.source.addEventListener('sourceopen', resolve, { once: true }));
    video.src = URL.createObjectURL(this.source);
  }
  static supported() { return 'MediaSource' in window && MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"'); }
  async init(bytes) {
    await this.opened;
    this.buffer = this.source.addSourceBuffer(`video/mp4; codecs="${codecOf(bytes)}"`);
    this.buffer.addEventListener('updateend', () => this.pump());
    this.queue.unshift(bytes);
    this.pump();
  }
  segment(bytes) { this.queue.push(bytes); this.pump(); }
  end() { this.ended = true; this.pump(); }
  pump() {
    if (!this.buffer || this.buffer.updating) return;
    const v = this.video;
    // A late viewer's first fragment starts after 0: move the playhead to where the data is.
    if (v.buffered.length && v.currentTime < v.buffered.start(0)) v.currentTime = v.buffered.start(0);
    // An endless stream would fill the SourceBuffer's quota: drop what was played more than 10 s ago.
    if (v.buffered.length && v.currentTime - v.buffered.start(0) > 30) { this.buffer.remove(0, v.currentTime - 10); return; }
    if (this.queue.length) {
      try { this.buffer.appendBuffer(this.queue[0]); this.queue.shift(); }
      catch (e) { showError(`the browser refused a video segment: ${e.message}`); }
      return;
    }
    if (this.ended && this.source.readyState === 'open') this.source.endOfStream();
    if (v.paused && v.buffered.length) v.play().catch(() => {});
  }
  ahead() {
    const v = this.video;
    return v.buffered.length ? Math.max(0, v.buffered.end(v.buffered.length - 1) - v.currentTime) : 0;
  }
  close() { try { URL.revokeObjectURL(this.video.src); } catch { } this.video.removeAttribute('src'); this.video.load(); }
}

class JpegPlayer {
  constructor(canvas) { this.canvas = canvas; this.frames = []; this.timer = null; this.shown = 0; this.ended = false; }
  init() { }
  segment(bytes) { this.frames.push(bytes); if (!this.timer) this.tick(); }
  end() { this.ended = true; }
  tick() {
    const next = this.frames.shift();
    if (!next) { this.timer = null; return; }
    createImageBitmap(new Blob([next], { type: 'image/jpeg' })).then(img => {
      this.canvas.width = img.width; this.canvas.height = img.height;
      this.canvas.getContext('2d').drawImage(img, 0, 0);
      this.shown++;
    });
    this.timer = setTimeout(() => this.tick(), 1000 / targetFps());
  }
  ahead() { return this.frames.length / targetFps(); }
  close() { clearTimeout(this.timer); this.frames = []; }
}

function targetFps() { const f = parseFloat($('fps').value); return f > 0 ? f : 6; }

// ---- one viewer of one stream: the relay's WebSocket, reconnected from the last delivered sequence ----

class Viewer {
  constructor(id, from, openedAt) {
    this.id = id; this.from = from || 'start'; this.openedAt = openedAt; this.lastSeq = 0; this.done = false;
    this.player = null; this.firstVideoAt = null; this.received = [];
    page.stream = id; page.framesReceived = 0; page.chunks = []; page.firstFrameMs = null; page.seed = null;
    $('stat-stream').textContent = id; $('stat-seed').textContent = '—'; $('stat-frames').textContent = '0';
    $('stat-fps').textContent = '—'; $('stat-latency').textContent = '—'; $('stat-chunk').textContent = '—';
    $('placeholder').hidden = false;
    drawChart();
    this.connect();
  }
  connect() {
    if (this.done) return;
    const from = this.lastSeq ? String(this.lastSeq + 1) : this.from;
    const ws = this.ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/streams/${encodeURIComponent(this.id)}/live?from=${from}`);
    ws.binaryType = 'arraybuffer';
    ws.onmessage = m => this.message(m.data);
    ws.onclose = () => {
      // The server restarted its NATS connection, the relay was cut, the network blinked: resume where we were.
      if (!this.done) setTimeout(() => this.connect(), 500);
    };
  }
  message(data) {
    if (typeof data === 'string') {
      const e = JSON.parse(data);
      if (e.type === 'error') { this.done = true; setState('error'); showError(e.error, e.field); }
      return;
    }
    const view = new DataView(data);
    const headerLength = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, headerLength)));
    const body = new Uint8Array(data, 4 + headerLength);
    if (header.seq <= this.lastSeq) return; // a resend after reconnecting
    this.lastSeq = header.seq;
    if (header.subject === 'video') this.video(header, body);
    else {
      const text = new TextDecoder().decode(body), e = JSON.parse(text);
      if ('seed' in e) e.seed = seedOf(text);
      this.event(e);
    }
  }
  video(header, body) {
    if (!this.player) {
      const mse = header.kind !== 'jpeg' && MsePlayer.supported();
      if (header.kind !== 'jpeg' && !mse) { showError('this browser cannot play H.264 through Media Source Extensions; start the stream with JPEG frames instead'); return; }
      this.player = mse ? new MsePlayer($('video')) : new JpegPlayer($('jpeg'));
      $('video').hidden = !mse; $('jpeg').hidden = mse; $('placeholder').hidden = true;
      page.viewer = this;
    }
    if (header.kind === 'init') { this.encodedFps = fpsOf(body) || this.encodedFps; this.player.init(body.slice()); return; }
    this.player.segment(body.slice());
    const now = performance.now();
    if (this.firstVideoAt === null) {
      this.firstVideoAt = now;
      page.firstFrameMs = Math.round(now - this.openedAt);
      $('stat-latency').textContent = `${(page.firstFrameMs / 1000).toFixed(2)} s`;
    }
    page.framesReceived += header.frames || 0;
    this.received.push([now, header.frames || 0]);
    $('stat-frames').textContent = String(page.framesReceived);
  }
  event(e) {
    if (e.type === 'started') {
      page.seed = e.seed; $('stat-seed').textContent = e.seed;
      page.total = e.chunks || 0;
      setState('running', e.chunks ? `${e.chunks} chunks` : 'until stopped');
      setProgress(0, 'Generating frames...');
    } else if (e.type === 'chunk') {
      page.chunks.push(e);
      // As the reference page: a bar driven by the chunks done; an endless stream counts chunks instead.
      const done = e.chunk + 1;
      if (page.total) setProgress(Math.round(100 * done / page.total), `Processing chunk ${done}/${page.total}...`);
      else setProgress(null, `Processing chunk ${done} (until stopped)...`);
      $('stat-chunk').textContent = `#${e.chunk}: ${e.denoise_seconds.toFixed(3)} / ${e.decode_seconds.toFixed(3)} / ${e.encode_seconds.toFixed(3)} s`;
      drawChart();
    } else if (e.type === 'prompt') {
      $('switch-note').textContent = `prompt switched from chunk ${e.chunk}`;
    } else if (ENDED.includes(e.type)) {
      this.done = true;
      setProgress(e.type === 'completed' ? 100 : null, e.type === 'completed' ? 'Done' : `Stream ${e.type}`);
      if (this.player) this.player.end();
      setState(e.type, e.reason);
      if (e.type === 'failed') showError(`the stream failed: ${e.reason}`);
      this.ws.close();
    }
  }
  close() { this.done = true; if (this.ws) this.ws.close(); if (this.player) this.player.close(); }
}

// ---- stats ----

function drawChart() {
  const c = $('chart'), g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const chunks = page.chunks.slice(-40);
  if (!chunks.length) return;
  const total = e => e.denoise_seconds + e.decode_seconds + e.encode_seconds;
  const max = Math.max(...chunks.map(total), 1e-3);
  const w = c.width / 40, scale = (c.height - 14) / max;
  chunks.forEach((e, i) => {
    let y = c.height;
    for (const [v, color] of [[e.denoise_seconds, '#3b6fd8'], [e.decode_seconds, '#e08a1e'], [e.encode_seconds, '#2f9e5a']]) {
      g.fillStyle = color; g.fillRect(i * w + 1, y - v * scale, w - 2, v * scale); y -= v * scale;
    }
  });
  g.fillStyle = '#333'; g.font = '11px sans-serif'; g.fillText(`max ${max.toFixed(3)} s/chunk`, 4, 11);
}

setInterval(() => {
  const v = page.viewer;
  if (!v || !v.player) return;
  const now = performance.now();
  v.received = v.received.filter(([t]) => now - t < 5000);
  const span = Math.max(1000, now - Math.max(v.firstVideoAt, now - 5000));
  const frames = v.received.reduce((n, [, f]) => n + f, 0);
  $('stat-fps').textContent = `${(frames * 1000 / span).toFixed(1)}`;
  const ahead = v.player.ahead();
  $('buffer-bar').style.width = `${Math.min(100, ahead / 5 * 100)}%`;
  $('buffer-text').textContent = `buffer: ${ahead.toFixed(1)} s (${Math.round(ahead * targetFps())} frames) ahead`;
  const video = $('video');
  if (!video.hidden && video.buffered.length) {
    // Target FPS is a playback rate relative to the rate the stream was encoded at.
    const encoded = v.encodedFps || targetFps();
    video.playbackRate = Math.min(16, Math.max(0.0625, targetFps() / encoded));
  }
}, 250);

// ---- controls ----

function openStream(id, from, openedAt) {
  if (page.viewerObj) page.viewerObj.close();
  page.owned = false; // start() marks the streams it started
  page.viewer = null;
  page.viewerObj = new Viewer(id, from, openedAt ?? performance.now());
  const url = new URL(location.href);
  url.searchParams.set('stream', id);
  if (from === 'live') url.searchParams.set('from', 'live'); else url.searchParams.delete('from');
  history.replaceState(null, '', url);
  const share = new URL(location.origin + location.pathname); share.searchParams.set('stream', id);
  $('share-start').href = share.toString();
  share.searchParams.set('from', 'live');
  $('share-live').href = share.toString();
  $('share').hidden = false;
}

async function start() {
  clearError();
  const seed = $('seed').value.trim();
  const body = { prompt: $('prompt').value, seed: seed === '' ? -1 : /^-?\d+$/.test(seed) ? seed : Number(seed), fps: Number($('fps').value), decoder: $('decoder').value };
  body.chunks = $('endless').checked ? 0 : Number($('chunks').value);
  if (!MsePlayer.supported()) body.format = 'jpeg';
  if (!body.decoder) delete body.decoder;
  const startedAt = performance.now();
  $('start').disabled = true;
  // One stream per page: a new Start replaces the stream this page started (a shared stream, someone else's, is left alone).
  if (page.owned && page.stream && (page.state === 'running' || page.state === 'starting')) await api('cancel', { stream: page.stream });
  setState('starting');
  const reply = await api('start', body);
  $('start').disabled = false;
  if (reply.error) { setState('idle'); showError(reply.error, reply.field); return; }
  openStream(reply.stream, 'start', startedAt);
  page.owned = true;
  page.seed = reply.seed; $('stat-seed').textContent = reply.seed;
}

async function stop() {
  const id = page.stream;
  if (!id) return;
  $('stop').disabled = true;
  const reply = await api('cancel', { stream: id });
  if (reply.error && page.state === 'running') showError(reply.error, reply.field);
  // Start is usable again at once: the engine frees the stream's cache as soon as the cancel lands.
}

async function switchPrompt() {
  clearError();
  const reply = await api('prompt', { stream: page.stream, prompt: $('live-prompt').value });
  if (reply.error) showError(reply.error, reply.field);
  // The stream's own "prompt" event may have arrived first (it says the same): do not overwrite it.
  else if (!$('switch-note').textContent.startsWith(`prompt switched from chunk ${reply.from_chunk}`)) $('switch-note').textContent = `switches at chunk ${reply.from_chunk}`;
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
$('switch').addEventListener('click', switchPrompt);
$('endless').addEventListener('change', () => { $('chunks').disabled = $('endless').checked; });
document.querySelectorAll('.quick').forEach(b => b.addEventListener('click', () => { $('prompt').value = b.dataset.prompt; }));

(async () => {
  try {
    const info = await (await fetch('/api/info')).json();
    for (const d of info.decoders) {
      const o = document.createElement('option');
      o.value = d; o.textContent = { vae: 'Wan VAE', taehv: 'TAEHV', preview: 'preview (latents)' }[d] || d;
      o.selected = d === info.default_decoder;
      $('decoder').appendChild(o);
    }
    $('fps').max = info.max_fps;
    $('server').textContent = `subjects ${info.subject_prefix}.*`;
  } catch (e) {
    showError(`cannot reach the server: ${e.message}`);
  }
  const params = new URLSearchParams(location.search);
  if (params.get('stream')) {
    const id = params.get('stream');
    openStream(id, params.get('from') === 'live' ? 'live' : 'start');
    // Rejoining (a reload, a shared link): show the stream's current prompt, ready to start another like it or steer it.
    const list = await api('list', {});
    const entry = (list.streams || []).find(s => s.stream === id);
    if (entry) { $('prompt').value = entry.prompt; $('live-prompt').value = entry.prompt; }
  }
})();
