// The mosaic panel: choose or drop a photo, POST /mosaic?response=json&blocks=N, show the original with
// the detected face boxes (positioned in percent, so they follow the displayed size) beside the mosaic.

import { $, asApiError, clearAlert, imageSrc, postFile, showError, showNotice } from './api.js';

export function initMosaic() {
  const fileInput = /** @type {HTMLInputElement} */ ($('mosaic-file'));
  const drop = $('mosaic-drop');
  const slider = /** @type {HTMLInputElement} */ ($('mosaic-blocks'));
  const sliderValue = $('mosaic-blocks-value');
  const alertBox = $('mosaic-alert');
  const original = /** @type {HTMLImageElement} */ ($('mosaic-original'));
  const originalEmpty = $('mosaic-original-empty');
  const boxes = $('mosaic-boxes');
  const result = /** @type {HTMLImageElement} */ ($('mosaic-result'));
  const resultEmpty = $('mosaic-result-empty');
  const spinner = $('mosaic-spinner');
  const count = $('mosaic-count');
  const download = /** @type {HTMLAnchorElement} */ ($('mosaic-download'));
  const latency = $('mosaic-latency');
  const compare = $('mosaic-compare');

  /** @type {File | null} */
  let file = null;
  let seq = 0;
  let debounce = 0;

  original.addEventListener('load', () => {
    original.hidden = false;
    originalEmpty.hidden = true;
  });
  original.addEventListener('error', () => {
    // Not something the browser can show (a TIFF, or not an image at all): the server will say.
    original.hidden = true;
    originalEmpty.hidden = false;
  });
  result.addEventListener('load', () => {
    result.hidden = false;
    resultEmpty.hidden = true;
  });

  function resetOutput() {
    boxes.replaceChildren();
    result.hidden = true;
    result.removeAttribute('src');
    resultEmpty.hidden = false;
    count.textContent = '';
    delete count.dataset.count;
    download.hidden = true;
    download.removeAttribute('href');
    latency.textContent = '';
  }

  function choose(f) {
    if (!f) return;
    file = f;
    clearAlert(alertBox);
    resetOutput();
    if (original.src.startsWith('blob:')) URL.revokeObjectURL(original.src);
    original.hidden = true;
    originalEmpty.hidden = false;
    original.src = URL.createObjectURL(f);
    void run();
  }

  function drawBoxes(faces, width, height) {
    boxes.replaceChildren(
      ...faces.map((f, i) => {
        const b = document.createElement('div');
        b.className = 'face-box';
        b.style.left = `${(f.x / width) * 100}%`;
        b.style.top = `${(f.y / height) * 100}%`;
        b.style.width = `${(f.w / width) * 100}%`;
        b.style.height = `${(f.h / height) * 100}%`;
        const tag = document.createElement('span');
        tag.className = 'face-box__tag';
        tag.textContent = String(i + 1);
        b.append(tag);
        return b;
      }),
    );
  }

  async function run() {
    if (!file) return;
    const mine = ++seq;
    const blocks = Number(slider.value);
    spinner.hidden = false;
    compare.setAttribute('aria-busy', 'true');
    try {
      const r = await postFile(`/mosaic?response=json&blocks=${blocks}`, file, file.name || 'photo', 'faces');
      if (mine !== seq) return; // a newer request (another photo, another block size) is on its way
      clearAlert(alertBox);
      const faces = Array.isArray(r.faces) ? r.faces : [];
      drawBoxes(faces, r.width, r.height);
      const src = await imageSrc(r.imageUrl);
      if (mine !== seq) return;
      if (result.src.startsWith('blob:')) URL.revokeObjectURL(result.src);
      result.src = src;
      download.href = src;
      const ext = (/\.([a-z0-9]+)$/i.exec(r.imageUrl)?.[1] ?? 'png').toLowerCase();
      const base = (file.name || 'photo').replace(/\.[^.]+$/, '');
      download.download = `${base}-mosaic.${ext}`;
      download.hidden = false;
      download.removeAttribute('aria-disabled');
      count.dataset.count = String(faces.length);
      count.textContent = `얼굴 ${faces.length}개`;
      latency.textContent = `${r.width}×${r.height} · ${blocks}칸 · ${Math.round(r.latencyMs ?? 0)} ms`;
      if (faces.length === 0)
        showNotice(alertBox, '얼굴을 찾지 못했어요.', 'No face was found; the photo is unchanged.');
    } catch (err) {
      if (mine !== seq) return;
      resetOutput();
      showError(alertBox, asApiError(err, 'faces'));
    } finally {
      if (mine === seq) {
        spinner.hidden = true;
        compare.setAttribute('aria-busy', 'false');
      }
    }
  }

  fileInput.addEventListener('change', () => {
    choose(fileInput.files?.[0] ?? null);
    fileInput.value = '';
  });

  // Drag and drop: anywhere on the drop zone.
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('dropzone--over');
    });
  }
  for (const type of ['dragleave', 'dragend']) {
    drop.addEventListener(type, () => drop.classList.remove('dropzone--over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dropzone--over');
    const f = e.dataTransfer?.files?.[0];
    if (f) choose(f);
  });

  slider.addEventListener('input', () => {
    sliderValue.textContent = slider.value;
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => void run(), 300);
  });
}
