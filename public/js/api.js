// Talking to the service: every error it reports is JSON `{ statusCode, error, message, requestId }`;
// here it becomes an ApiError with a friendly Korean title, the server's sentence kept for small print.

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} message the server's one-sentence message
   * @param {{ requestId?: string, code?: string, context?: string }} [extra]
   */
  constructor(status, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.requestId = extra.requestId;
    this.code = extra.code;
    this.context = extra.context;
  }
}

/** Reads an error response: the service's JSON shape when it is there, the status line otherwise. */
async function errorFrom(res, context) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's page): keep the status line
  }
  const message =
    body && typeof body.message === 'string' ? body.message : `${res.status} ${res.statusText}`.trim();
  return new ApiError(res.status, message, { requestId: body?.requestId, context });
}

const KEY_STORAGE = 'ko-ai-api-key';

/** The API key typed into the page (kept for this tab only, in sessionStorage), or '' when none. */
export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** Tells the page the server wants a key (401), so that it can show the key field. */
export function keyNeeded(message) {
  document.dispatchEvent(new CustomEvent('api-key-needed', { detail: { message } }));
}

/** fetch() that throws ApiError for network failures and non-2xx answers. */
export async function request(url, init = {}, context = '') {
  let res;
  const key = apiKey();
  const headers = {
    Accept: 'application/json',
    ...(key && { Authorization: `Bearer ${key}` }),
    ...(init.headers ?? {}),
  };
  try {
    res = await fetch(url, { ...init, headers });
  } catch {
    throw new ApiError(0, 'The server could not be reached.', { context });
  }
  if (!res.ok) {
    const err = await errorFrom(res, context);
    if (res.status === 401) keyNeeded(err.message);
    throw err;
  }
  return res;
}

/**
 * A URL an <img> or a download link can use: the URL itself, or with a key (an <img> cannot send headers)
 * the image fetched with it, as a blob: URL.
 */
export async function imageSrc(url) {
  if (!apiKey()) return url;
  const blob = await (await request(url, { headers: { Accept: 'image/*' } })).blob();
  return URL.createObjectURL(blob);
}

export async function getJson(url, context) {
  return (await request(url, {}, context)).json();
}

/** POSTs one file as multipart field `file` and returns the JSON answer. */
export async function postFile(url, blob, filename, context) {
  const form = new FormData();
  form.append('file', blob, filename);
  return (await request(url, { method: 'POST', body: form }, context)).json();
}

export async function postJson(url, body, context) {
  const init = {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  };
  return (await request(url, init, context)).json();
}

/** A friendly Korean title for an error, by status and, for 422, by what the panel was doing. */
export function friendlyTitle(err) {
  const status = err?.status ?? -1;
  const msg = String(err?.message ?? '');
  if (status === 0) return '서버에 연결할 수 없어요. 잠시 후 다시 시도해 주세요.';
  if (status === 413) return '이미지가 너무 커요.';
  if (status === 415) return '이미지 파일이 아니에요.';
  if (status === 422) {
    if (/truncated|corrupt|no pixels|unsupported variant/i.test(msg))
      return '이미지가 손상되었거나 읽을 수 없어요.';
    if (err.context === 'faces' || /face/i.test(msg)) return '얼굴을 찾지 못했어요.';
    if (err.context === 'digits' || /digit/i.test(msg))
      return '숫자를 찾지 못했어요. 더 크고 진하게 그려 보세요.';
    return '이미지를 처리할 수 없어요.';
  }
  if (status === 503) {
    // The registry names what is missing: 'Model "mnist-train" (dataset) is not installed: …'.
    if (/\(dataset\)/i.test(msg)) return '데이터셋이 아직 준비되지 않았어요.';
    return '모델이 아직 준비되지 않았어요.';
  }
  if (status === 401) return 'API 키가 필요해요. 위의 API 키 칸에 입력해 주세요.';
  if (status === 403) return '이 작업은 관리자 키가 필요해요.';
  if (status === 429) return '요청이 너무 많아요. 잠시 후 다시 시도해 주세요.';
  if (status === 408 || status === 504) return '시간이 너무 오래 걸렸어요. 다시 시도해 주세요.';
  if (status === 400) return '요청이 올바르지 않아요.';
  if (status === 404) return '찾을 수 없어요.';
  if (status >= 500) return '서버에 문제가 생겼어요.';
  return '문제가 생겼어요.';
}

/** Shows an error in a panel's alert box: a Korean title, the server's own sentence in small print. */
export function showError(box, err) {
  box.replaceChildren();
  const title = document.createElement('strong');
  title.className = 'alert__title';
  title.textContent = friendlyTitle(err);
  box.append(title);
  const detail = document.createElement('small');
  detail.className = 'alert__detail';
  const status = err?.status ? `${err.status} · ` : '';
  detail.textContent = `${status}${err?.message ?? String(err)}`;
  box.append(detail);
  box.dataset.status = String(err?.status ?? '');
  box.dataset.kind = 'error';
  box.hidden = false;
}

/** An informational notice (not an error) in the same box. */
export function showNotice(box, title, detail = '') {
  box.replaceChildren();
  const t = document.createElement('strong');
  t.className = 'alert__title';
  t.textContent = title;
  box.append(t);
  if (detail) {
    const d = document.createElement('small');
    d.className = 'alert__detail';
    d.textContent = detail;
    box.append(d);
  }
  box.dataset.status = '';
  box.dataset.kind = 'notice';
  box.hidden = false;
}

export function clearAlert(box) {
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.status;
  delete box.dataset.kind;
}

/** Coerces anything thrown into an ApiError (for unexpected failures in the page itself). */
export function asApiError(err, context) {
  if (err instanceof ApiError) return err;
  return new ApiError(-1, err instanceof Error ? err.message : String(err), { context });
}

export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}
