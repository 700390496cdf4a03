// The chat panel: socket.io namespace /chat (the client script is served by the service at
// /socket.io/socket.io.min.js), with POST /chat as a fallback while the socket is down.

import {
  $,
  ApiError,
  apiKey,
  asApiError,
  clearAlert,
  getJson,
  keyNeeded,
  postJson,
  request,
  showError,
} from './api.js';

const SESSION_KEY = 'ko-ai.chat.sessionId';
const ACK_TIMEOUT_MS = 60_000;

const SOURCES = {
  retrieval: { ko: '검색', en: 'retrieval' },
  generation: { ko: '생성', en: 'generation' },
  fallback: { ko: '기본', en: 'fallback' },
};

function loadSession() {
  try {
    return localStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

function saveSession(id) {
  try {
    if (id) localStorage.setItem(SESSION_KEY, id);
    else localStorage.removeItem(SESSION_KEY);
  } catch {
    // private mode: the session simply lasts as long as the page
  }
}

export function initChat() {
  const list = $('chat-messages');
  const typing = $('chat-typing');
  const alertBox = $('chat-alert');
  const form = $('chat-form');
  const input = $('chat-input');
  const status = $('chat-status');
  const sessionLabel = $('chat-session');

  let sessionId = loadSession();
  const resumedFrom = sessionId;
  /** Messages not answered yet, oldest first; the first is in flight: { done, sent, viaSocket, bubble, text } */
  const pending = [];
  let socket = null;
  /** Whether the server has answered in this session (so it holds a history for it). */
  let answered = false;

  function setSession(id) {
    if (!id || typeof id !== 'string') return;
    sessionId = id;
    saveSession(id);
    sessionLabel.textContent = `세션 ${id.slice(0, 8)}`;
    sessionLabel.dataset.sessionId = id;
  }
  if (sessionId) setSession(sessionId);

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  function addMessage(role, text) {
    const li = document.createElement('li');
    li.className = `msg msg--${role}`;
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = role === 'user' ? '나: ' : role === 'bot' ? '챗봇: ' : '알림: ';
    const body = document.createElement('p');
    body.className = 'msg__text';
    body.textContent = text;
    li.append(who, body);
    list.append(li);
    scrollToEnd();
    return li;
  }

  function setMeta(li, payload) {
    const source = SOURCES[payload.source] ?? { ko: payload.source ?? '?', en: '' };
    const meta = document.createElement('span');
    meta.className = 'msg__meta';
    const parts = [`${source.ko} ${source.en}`.trim()];
    if (typeof payload.score === 'number') parts.push(`점수 ${payload.score.toFixed(2)}`);
    if (typeof payload.latencyMs === 'number') parts.push(`${Math.round(payload.latencyMs)} ms`);
    meta.textContent = parts.join(' · ');
    if (payload.intent)
      meta.title = `intent: ${payload.intent}${payload.matched ? ` · matched: ${payload.matched}` : ''}`;
    li.dataset.source = String(payload.source ?? '');
    li.querySelector('.msg__meta')?.remove();
    li.append(meta);
  }

  function updateTyping() {
    // The dots show while an answer is being made and nothing of it is on screen yet.
    const head = pending[0];
    typing.hidden = !head || Boolean(head.bubble);
  }

  function settle(entry) {
    entry.done = true;
    const i = pending.indexOf(entry);
    if (i >= 0) pending.splice(i, 1);
    pump();
  }

  function finish(entry, payload) {
    if (entry.done) return;
    settle(entry);
    answered = true;
    setSession(payload.sessionId);
    const li = entry.bubble ?? addMessage('bot', '');
    li.classList.remove('msg--streaming');
    li.querySelector('.msg__text').textContent = String(payload.reply ?? '');
    setMeta(li, payload);
    scrollToEnd();
  }

  function fail(entry, err) {
    if (entry.done) return;
    settle(entry);
    entry.bubble?.remove();
    showError(alertBox, err);
  }

  function wsError(payload) {
    return new ApiError(payload?.statusCode ?? 400, String(payload?.message ?? 'Error.'), {
      code: payload?.code,
      context: 'chat',
    });
  }

  function onToken({ text }) {
    const head = pending[0];
    if (!head || head.done || typeof text !== 'string') return;
    if (!head.bubble) {
      head.bubble = addMessage('bot', '');
      head.bubble.classList.add('msg--streaming');
      updateTyping();
    }
    head.bubble.querySelector('.msg__text').textContent += text;
    scrollToEnd();
  }

  function connect() {
    if (typeof window.io !== 'function') {
      setStatus('offline', 'HTTP 모드');
      status.title = 'socket.io를 쓸 수 없어 POST /chat 으로 대화해요.';
      return;
    }
    // `auth` as a function: every (re)connection sends the session id we hold at that moment, so a
    // reconnect after a server restart continues the same conversation.
    socket = window.io('/chat', {
      auth: (cb) => cb({ ...(sessionId && { sessionId }), ...(apiKey() && { token: apiKey() }) }),
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
    });
    let lost = false;
    socket.on('connect', () => {
      setStatus('online', '연결됨');
      if (lost) addMessage('system', '다시 연결됐어요. 대화를 이어가요. (reconnected)');
      lost = false;
    });
    socket.on('disconnect', (reason) => {
      // A disconnect we asked for (new conversation) reconnects at once: nothing to tell.
      lost = reason !== 'io client disconnect';
      // The server drops the work of a socket that went away: that answer will not come.
      const head = pending[0];
      if (lost && head?.viaSocket && !head.done)
        fail(head, new ApiError(0, 'The connection was lost before the answer came.', { context: 'chat' }));
      setStatus('reconnecting', '다시 연결 중…');
      // A disconnect decided by the server is not retried by socket.io itself.
      if (reason === 'io server disconnect') window.setTimeout(() => socket.connect(), 2000);
    });
    socket.on('connect_error', (err) => {
      // Refused at the handshake (no or bad key): socket.io does not retry; the page asks for a key.
      if (err?.data?.statusCode === 401) {
        setStatus('offline', 'API 키 필요');
        keyNeeded(err.data.message);
        return;
      }
      setStatus('reconnecting', '다시 연결 중…');
    });
    socket.on('session', (p) => setSession(p?.sessionId));
    socket.on('token', onToken);
    // `reply` repeats what the acknowledgement brings; the acknowledgement is tied to its message.
    socket.on('error', (p) => {
      const head = pending[0];
      if (head) fail(head, wsError(p));
      else showError(alertBox, wsError(p));
    });
  }

  /**
   * Messages go one at a time: the next is sent once the previous one is answered, so every `token` event
   * belongs to the message in flight (pending[0]) and answers never cross.
   */
  function send(text) {
    clearAlert(alertBox);
    addMessage('user', text);
    pending.push({ done: false, sent: false, bubble: null, text });
    pump();
  }

  function pump() {
    const entry = pending[0];
    updateTyping();
    if (!entry || entry.sent) return;
    entry.sent = true;
    const text = entry.text;
    if (socket?.connected) {
      entry.viaSocket = true;
      const body = sessionId ? { text, sessionId } : { text };
      socket.timeout(ACK_TIMEOUT_MS).emit('chat.message', body, (err, res) => {
        if (err) fail(entry, new ApiError(504, 'No answer came back in time.', { context: 'chat' }));
        else if (res?.error) fail(entry, wsError(res.error));
        else finish(entry, res);
      });
      return;
    }
    const rest = sessionId ? { message: text, sessionId } : { message: text };
    postJson('/chat', rest, 'chat').then(
      (res) => finish(entry, res),
      (err) => fail(entry, asApiError(err, 'chat')),
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    send(text);
  });

  $('chat-new').addEventListener('click', () => {
    for (const entry of pending) entry.done = true;
    pending.length = 0;
    updateTyping();
    list.replaceChildren();
    clearAlert(alertBox);
    // The server keeps a session once it has answered in it: forget it there too (best effort).
    if (sessionId && answered)
      void request(`/chat/sessions/${encodeURIComponent(sessionId)}`, { method: 'DELETE' }).catch(() => {});
    answered = false;
    sessionId = null;
    saveSession(null);
    sessionLabel.textContent = '';
    delete sessionLabel.dataset.sessionId;
    if (socket) {
      // A fresh connection without a session id: the server starts a new conversation.
      socket.disconnect();
      socket.connect();
    }
    void greet();
    input.focus();
  });

  async function greet() {
    try {
      const g = await getJson('/chat/greeting', 'chat');
      const text = typeof g === 'string' ? g : (g?.greeting ?? g?.reply ?? g?.text ?? g?.message);
      if (typeof text === 'string' && text && list.childElementCount === 0) {
        const li = addMessage('bot', text);
        li.classList.add('msg--greeting');
      }
    } catch {
      // The greeting is a nicety; a failure here is not worth an alert.
    }
  }

  /** A returning visitor sees the conversation the server still holds for the stored session. */
  async function restore(id) {
    let history = null;
    try {
      history = await getJson(`/chat/sessions/${encodeURIComponent(id)}`, 'chat');
    } catch {
      // Unknown or expired (the server forgets idle sessions): start with a greeting instead.
    }
    const turns = Array.isArray(history?.turns) ? history.turns : [];
    if (turns.length === 0 || list.childElementCount > 0) {
      if (list.childElementCount === 0) void greet();
      return;
    }
    addMessage('system', '이전 대화를 이어가요. (conversation resumed)');
    for (const turn of turns) {
      addMessage('user', String(turn.user ?? ''));
      setMeta(addMessage('bot', String(turn.bot ?? '')), { source: turn.source, intent: turn.intent });
    }
    answered = true;
  }

  connect();
  if (resumedFrom) void restore(resumedFrom);
  else void greet();
}
