// The API key field: hidden until the server asks for a key (401), or while one is stored for this tab.
import { $, apiKey, setApiKey } from './api.js';

export function initApiKey() {
  const form = $('api-key-form');
  const input = $('api-key');
  const note = $('api-key-note');
  if (apiKey()) form.hidden = false;
  document.addEventListener('api-key-needed', (e) => {
    form.hidden = false;
    note.textContent = apiKey() ? '키가 맞지 않아요. 다시 입력해 주세요.' : '이 서버는 API 키가 필요해요.';
    note.title = e.detail?.message ?? '';
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    // Everything (samples, the chat socket) starts again with the key.
    location.reload();
  });
}
