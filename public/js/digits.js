// The digit panel: a 280×280 MNIST-like drawing pad (black, thick white strokes, pointer events for
// mouse, pen and fingers), an upload, and a strip of random MNIST samples, all sent to POST /mnist/predict.

import {
  $,
  asApiError,
  clearAlert,
  getJson,
  imageSrc,
  postFile,
  request,
  showError,
  showNotice,
} from './api.js';

const STROKE = 22; // on the 280 px pad: about 2.2 px at MNIST's 28 px, like the dataset's pen

export function initDigits() {
  const canvas = /** @type {HTMLCanvasElement} */ ($('digit-canvas'));
  const ctx = canvas.getContext('2d');
  const alertBox = $('digit-alert');
  const valueEl = $('digit-value');
  const confEl = $('digit-confidence');
  const bars = $('digit-bars');
  const predictBtn = $('digit-predict');
  const fileInput = /** @type {HTMLInputElement} */ ($('digit-file'));
  const preview = /** @type {HTMLImageElement} */ ($('digit-upload-preview'));
  const samplesList = $('samples-list');
  const result = $('digit-result');

  let drawn = false;
  let drawing = false;
  let last = null;
  let busy = 0;

  // ── The pad ──────────────────────────────────────────────────────────────────────────────
  function clearPad() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  }

  function point(e) {
    // The pad may be displayed smaller than 280 px (phones): map to canvas pixels.
    const r = canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * canvas.width) / r.width,
      y: ((e.clientY - r.top) * canvas.height) / r.height,
    };
  }

  function strokeTo(p) {
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = STROKE;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    if (!last) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, STROKE / 2, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
    }
    last = p;
    drawn = true;
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drawing = true;
    last = null;
    strokeTo(point(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length > 0 ? events : [e]) strokeTo(point(ev));
  });
  const end = () => {
    drawing = false;
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  // ── Results ──────────────────────────────────────────────────────────────────────────────
  function buildBars() {
    bars.replaceChildren();
    for (let d = 0; d < 10; d++) {
      const col = document.createElement('div');
      col.className = 'bar';
      col.dataset.digit = String(d);
      const track = document.createElement('div');
      track.className = 'bar__track';
      const fill = document.createElement('div');
      fill.className = 'bar__fill';
      track.append(fill);
      const label = document.createElement('span');
      label.className = 'bar__label';
      label.textContent = String(d);
      const pct = document.createElement('span');
      pct.className = 'bar__pct';
      col.append(pct, track, label);
      bars.append(col);
    }
  }

  function showResult(r, sourceLabel) {
    const probs = Array.isArray(r.probabilities) ? r.probabilities : [];
    valueEl.textContent = String(r.digit);
    valueEl.dataset.digit = String(r.digit);
    const conf = typeof r.confidence === 'number' ? r.confidence : (probs[r.digit] ?? 0);
    confEl.textContent = `확신도 ${(conf * 100).toFixed(1)}%${typeof r.latencyMs === 'number' ? ` · ${Math.round(r.latencyMs)} ms` : ''}`;
    const summary = [];
    bars.querySelectorAll('.bar').forEach((col, d) => {
      const p = Math.max(0, Math.min(1, Number(probs[d] ?? 0)));
      /** @type {HTMLElement} */ (col.querySelector('.bar__fill')).style.height = `${(p * 100).toFixed(1)}%`;
      col.querySelector('.bar__pct').textContent = p >= 0.015 ? `${Math.round(p * 100)}` : '';
      col.classList.toggle('bar--top', d === r.digit);
      col.title = `${d}: ${(p * 100).toFixed(1)}%`;
      summary.push(`${d} ${(p * 100).toFixed(0)}%`);
    });
    bars.setAttribute('aria-label', `숫자별 확률: ${summary.join(', ')}`);
    result.dataset.source = sourceLabel;
    result.classList.remove('result--pulse');
    void result.offsetWidth; // restart the highlight animation
    result.classList.add('result--pulse');
  }

  function resetResult() {
    valueEl.textContent = '?';
    delete valueEl.dataset.digit;
    confEl.textContent = '';
    buildBars();
  }

  async function predict(blob, filename, sourceLabel) {
    clearAlert(alertBox);
    busy++;
    predictBtn.setAttribute('aria-busy', 'true');
    result.setAttribute('aria-busy', 'true');
    try {
      const r = await postFile('/mnist/predict', blob, filename, 'digits');
      showResult(r, sourceLabel);
      return r;
    } catch (err) {
      resetResult();
      showError(alertBox, asApiError(err, 'digits'));
      return null;
    } finally {
      if (--busy === 0) {
        predictBtn.removeAttribute('aria-busy');
        result.setAttribute('aria-busy', 'false');
      }
    }
  }

  predictBtn.addEventListener('click', () => {
    if (!drawn) {
      showNotice(alertBox, '먼저 숫자를 그려 주세요.', 'Draw a digit on the pad first.');
      return;
    }
    canvas.toBlob((blob) => {
      if (blob) void predict(blob, 'digit.png', 'canvas');
    }, 'image/png');
  });

  $('digit-clear').addEventListener('click', () => {
    clearPad();
    resetResult();
    clearAlert(alertBox);
  });

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    if (preview.src.startsWith('blob:')) URL.revokeObjectURL(preview.src);
    // Shown once the browser could decode it (not for a file that is no image at all).
    preview.hidden = true;
    preview.src = URL.createObjectURL(file);
    void predict(file, file.name, 'upload');
    fileInput.value = '';
  });

  preview.addEventListener('load', () => (preview.hidden = false));
  preview.addEventListener('error', () => (preview.hidden = true));

  // ── MNIST samples ────────────────────────────────────────────────────────────────────────
  async function loadSamples() {
    samplesList.setAttribute('aria-busy', 'true');
    try {
      const samples = await getJson('/mnist/samples/random?count=12', 'digits');
      samplesList.replaceChildren(...samples.map(sampleItem));
    } catch (err) {
      const empty = document.createElement('li');
      empty.className = 'samples__empty';
      empty.textContent = '샘플을 불러오지 못했어요. (samples unavailable)';
      samplesList.replaceChildren(empty);
      showError(alertBox, asApiError(err, 'digits'));
    } finally {
      samplesList.setAttribute('aria-busy', 'false');
    }
  }

  function sampleItem(s) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'sample';
    btn.dataset.label = String(s.label);
    btn.dataset.index = String(s.index);
    const img = document.createElement('img');
    imageSrc(s.imageUrl).then(
      (src) => (img.src = src),
      () => btn.classList.add('sample--broken'),
    );
    img.alt = `MNIST #${s.index}, 정답 ${s.label}`;
    img.width = 56;
    img.height = 56;
    img.decoding = 'async';
    img.addEventListener('error', () => btn.classList.add('sample--broken'));
    const caption = document.createElement('span');
    caption.className = 'sample__label';
    caption.textContent = `정답 ${s.label}`;
    btn.append(img, caption);
    btn.addEventListener('click', async () => {
      clearAlert(alertBox);
      btn.setAttribute('aria-busy', 'true');
      try {
        const res = await request(s.imageUrl, { headers: { Accept: 'image/png' } }, 'digits');
        const r = await predict(await res.blob(), `mnist-${s.index}.png`, `sample-${s.index}`);
        if (r) {
          const ok = r.digit === s.label;
          btn.dataset.predicted = String(r.digit);
          btn.classList.toggle('sample--right', ok);
          btn.classList.toggle('sample--wrong', !ok);
          caption.textContent = `정답 ${s.label} · 예측 ${r.digit} ${ok ? '✓' : '✗'}`;
        }
      } catch (err) {
        showError(alertBox, asApiError(err, 'digits'));
      } finally {
        btn.removeAttribute('aria-busy');
      }
    });
    li.append(btn);
    return li;
  }

  $('samples-refresh').addEventListener('click', () => void loadSamples());

  clearPad();
  buildBars();
  // Samples are not needed to draw: load them once the page has settled.
  window.setTimeout(() => void loadSamples(), 0);
}
