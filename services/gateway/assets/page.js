// What the pages' scripts share: their texts, calls to the API and error
// notifications. Plain script, no build step; it defines one frozen global,
// `actasPage`, and keeps no state of its own (no bearer ever passes
// through anything but the arguments of `request`).
(() => {
  'use strict';

  const MAX_NOTIFICATIONS = 5;
  const $ = (id) => document.getElementById(id);

  // The page's snippets, embedded as data by the server.
  const snippets = (() => {
    try {
      return JSON.parse($('snippets').textContent) || {};
    } catch (_) {
      return {};
    }
  })();

  // The server's rule: the dotted key's text with {name} replaced; a
  // missing key yields the key itself (easy to spot, and tests look).
  function t(key, params) {
    let node = snippets;
    for (const part of key.split('.')) {
      node = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? node[part] : undefined;
    }
    if (typeof node !== 'string') return key;
    return node.replace(/\{(\w+)\}/g, (match, name) =>
      params && Object.hasOwn(params, name) ? String(params[name]) : match);
  }

  // A failed call: the HTTP status (0 when the server was not reached),
  // the error code and detail of the answer's envelope, and whether the
  // page has dealt with it already (an expired session).
  class ApiError extends Error {
    constructor(status, code, detail, { network = false, handled = false } = {}) {
      super(detail || String(status));
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.network = network;
      this.handled = handled;
    }
  }

  // One call: JSON in and out, the bearer only when given, no cookies, no
  // cache. Errors come as {"errors":[{status, code, title, detail}]}.
  async function request(method, path, { token, body, headers = {} } = {}) {
    const sent = { accept: 'application/json', ...headers };
    if (body !== undefined) sent['content-type'] = 'application/json';
    if (token) sent.authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (_) {
      throw new ApiError(0, '', '', { network: true });
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const first = data && Array.isArray(data.errors) ? data.errors[0] : null;
      const detail = first ? String(first.detail || first.title || first.code || '') : '';
      throw new ApiError(response.status, first ? String(first.code || '') : '',
        detail || t('admin.notifications.httpStatus', { status: response.status }));
    }
    return data;
  }

  // Error notifications in `container`: at most a few, each dismissable;
  // `refocus` says where focus goes when a focused one is dismissed.
  function notifier(container, refocus) {
    return function notify(message, detail) {
      const box = document.createElement('div');
      box.className = 'notification notification-error';
      box.setAttribute('role', 'alert');
      const text = document.createElement('p');
      text.className = 'notification-text';
      text.textContent = message;
      if (detail) {
        const extra = document.createElement('span');
        extra.className = 'notification-detail';
        extra.textContent = detail;
        text.append(' ', extra);
      }
      const dismiss = document.createElement('button');
      dismiss.type = 'button';
      dismiss.className = 'notification-dismiss';
      dismiss.textContent = t('common.dismiss');
      dismiss.addEventListener('click', () => {
        const hadFocus = box.contains(document.activeElement);
        box.remove();
        if (!hadFocus) return;
        const next = container.querySelector('.notification-dismiss');
        if (next) next.focus();
        else refocus();
      });
      box.append(text, dismiss);
      container.append(box);
      // Keep the stack short; the oldest message goes first.
      while (container.children.length > MAX_NOTIFICATIONS) container.firstElementChild.remove();
    };
  }

  // One place that turns any failure into a notification, nothing rethrown:
  // a failure the page dealt with already (an expired session) says
  // nothing, an unreachable server says so, anything else says `key`.
  function errorHandler(notify) {
    return function handleError(err, key) {
      if (err instanceof ApiError && err.handled) return;
      if (err instanceof ApiError && err.network) notify(t('admin.notifications.networkError'));
      else notify(t(key), err instanceof ApiError ? err.detail : '');
    };
  }

  // Ends the session behind `token`, and only that one. A session that
  // ended already (revoked, expired: 401) leaves nothing to end.
  async function endSession(token) {
    try {
      await request('POST', '/api/public/auth/logout', { token });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
  }

  // Non-Latin-1 text cannot travel in a header as is: RFC 8187's form. So
  // does plain text that reads as that form, which the server would decode.
  function headerText(text) {
    const plain = /^[\x20-\x7e]*$/.test(text) && !/^utf-8''/i.test(text);
    return plain ? text : `UTF-8''${encodeURIComponent(text)}`;
  }

  window.actasPage = Object.freeze({
    $, t, snippets, ApiError, request, notifier, errorHandler, endSession, headerText,
  });
})();
