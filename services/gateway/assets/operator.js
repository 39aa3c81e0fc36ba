// actas operator console: sign in, find an admin or a customer, act as
// them with a stated reason, Stop, and the consoles (console.js) over the
// operator API.
//
// Plain script, no build step, no dependencies. The operator's bearer and
// the one of the impersonation live in `own` and `acting` below only (never
// localStorage, sessionStorage, a cookie or the URL): closing or reloading
// the tab forgets them. The one-time token goes straight to the exchange.
(() => {
  'use strict';

  const { $, t, ApiError, request, notifier, errorHandler, endSession, headerText } = window.actasPage;

  const PAGE_SIZE = 10;
  const REASON_HEADER = 'X-Impersonation-Reason';
  // What the consoles show; a console the operator may not use answers
  // MISSING_PRIVILEGE and says so (operators have no "who am I" route).
  const CONSOLES = ['impersonation:audit', 'impersonation:revoke', 'impersonation:policy'];

  const lang = document.documentElement.lang || undefined;
  const plural = new Intl.PluralRules(lang);
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

  // -------------------------------------------------------------- elements

  const el = {
    banner: $('operator-banner'),
    bannerText: $('operator-banner-text'),
    stop: $('operator-stop'),
    notifications: $('notifications'),
    signin: $('operator-signin'),
    signinForm: $('operator-signin-form'),
    email: $('operator-email'),
    password: $('operator-password'),
    signinError: $('operator-signin-error'),
    workspace: $('workspace'),
    me: $('operator-me'),
    signout: $('operator-signout'),
    searchForm: $('operator-search-form'),
    term: $('operator-search-term'),
    status: $('operator-search-status'),
    results: $('operator-results'),
    empty: $('operator-search-empty'),
    pagination: $('operator-pagination'),
    prev: $('operator-prev'),
    page: $('operator-page'),
    next: $('operator-next'),
    card: $('operator-card'),
    cardKind: $('operator-card-kind'),
    cardName: $('operator-card-name'),
    cardEmail: $('operator-card-email'),
    cardStatus: $('operator-card-status'),
    impersonate: $('operator-impersonate'),
    hint: $('operator-impersonate-hint'),
    modal: $('operator-modal'),
    modalForm: $('operator-modal-form'),
    modalIntro: $('operator-modal-intro'),
    reason: $('operator-reason'),
  };

  // ----------------------------------------------------------------- state

  let own = null;     // { token, email }: the operator's own session
  let acting = null;  // { token, session, user }: while acting as someone
  let epoch = 0;      // bumped on sign-out: late answers of an old session are dropped
  let searchSeq = 0;  // only the newest search answer is rendered
  let search = { term: '', page: 1, pages: 1 };
  const users = new Map(); // id -> user of the current result page
  let current = null; // the user shown in the card
  let busy = false;

  // ------------------------------------------------------------------- api

  // With the operator's own bearer unless told otherwise. A 401 on it ends
  // the page's session; on another bearer, it is the caller's to read.
  async function api(method, path, { token = own && own.token, body, headers } = {}) {
    try {
      return await request(method, path, { token, body, headers });
    } catch (err) {
      if (err.status === 401 && own && token === own.token) {
        expire();
        throw new ApiError(401, err.code, err.detail, { handled: true });
      }
      throw err;
    }
  }

  const notify = notifier(el.notifications, () => (el.workspace.hidden ? el.email : el.term).focus());

  const handleError = errorHandler(notify);

  // ---------------------------------------------------------------- banner

  function renderBanner() {
    if (!acting) {
      el.banner.hidden = true;
      el.bannerText.textContent = '';
      return;
    }
    const since = acting.session.started_at ? dateTime.format(new Date(acting.session.started_at)) : '';
    el.bannerText.textContent = t('operator.banner.text', {
      target: acting.user.name,
      kind: t(`operator.kind.${acting.user.kind}`),
      since,
    });
    el.banner.hidden = false;
  }

  // --------------------------------------------------------------- sign-in

  async function onSignin(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const email = el.email.value.trim();
    const password = el.password.value;
    el.password.value = ''; // never keep the password around, success or not
    el.signinError.hidden = true;
    try {
      const session = await api('POST', '/api/sys/auth/login', { token: null, body: { email, password } });
      if (!session || typeof session.access_token !== 'string' || !session.access_token) throw new ApiError(200, '', '');
      own = { token: session.access_token, email };
      enterWorkspace();
    } catch (err) {
      own = null;
      if (err instanceof ApiError && err.network) notify(t('admin.notifications.networkError'));
      el.signinError.textContent = t('operator.signin.failed');
      el.signinError.hidden = false;
      el.password.focus();
    } finally {
      busy = false;
    }
  }

  function enterWorkspace() {
    el.me.textContent = own.email;
    el.signin.hidden = true;
    el.workspace.hidden = false;
    el.term.value = '';
    el.term.focus();
    runSearch('', 1);
    const seen = epoch;
    document.dispatchEvent(new CustomEvent('actas:console', {
      detail: {
        api: (method, path, body) => (seen === epoch
          ? api(method, path, { body })
          : Promise.reject(new ApiError(401, '', '', { handled: true }))),
        t,
        handleError,
        privileges: CONSOLES.slice(),
        base: '/api/sys',
      },
    }));
  }

  // Back to the signed-out page, forgetting both bearers and all data.
  function signedOut() {
    own = null;
    acting = null;
    epoch += 1;
    searchSeq += 1;
    document.dispatchEvent(new CustomEvent('actas:console-closed'));
    users.clear();
    current = null;
    if (el.modal.open) el.modal.close();
    el.me.textContent = '';
    el.term.value = '';
    el.status.textContent = '';
    el.results.replaceChildren();
    el.empty.hidden = true;
    el.pagination.hidden = true;
    el.card.hidden = true;
    el.workspace.hidden = true;
    el.signin.hidden = false;
    el.password.value = '';
    renderBanner();
  }

  // Ends a session by its bearer; the page has forgotten it either way.
  function endQuietly(token) {
    if (token) endSession(token).catch(() => {});
  }

  // The operator's session ended: an impersonation it started ends too.
  function expire() {
    if (!own) return;
    endQuietly(acting && acting.token);
    signedOut();
    el.signinError.textContent = t('admin.signin.sessionExpired');
    el.signinError.hidden = false;
    el.email.focus();
  }

  // Ends the operator's own session, and an impersonation still running.
  function onSignout() {
    const tokens = [acting && acting.token, own && own.token].filter(Boolean);
    signedOut();
    el.signinError.hidden = true;
    el.email.focus();
    for (const token of tokens) endQuietly(token);
  }

  // ---------------------------------------------------------------- search

  async function runSearch(term, page, fromButton) {
    const seq = ++searchSeq;
    el.results.setAttribute('aria-busy', 'true');
    try {
      const result = await api('POST', '/api/sys/search/user', { body: { term, page, limit: PAGE_SIZE } });
      if (seq !== searchSeq) return;
      renderResults(result, term, page, fromButton);
    } catch (err) {
      if (seq === searchSeq) handleError(err, 'operator.notifications.searchFailed');
    } finally {
      if (seq === searchSeq) el.results.removeAttribute('aria-busy');
    }
  }

  function renderResults(result, term, requested, fromButton) {
    const data = result && Array.isArray(result.data) ? result.data : [];
    const total = Number(result && result.total) || 0;
    const page = Number(result && result.page) || requested;
    const pages = Math.max(1, Math.ceil(total / (Number(result && result.limit) || PAGE_SIZE)));
    search = { term, page, pages };
    users.clear();
    el.results.replaceChildren(...data.map((user) => {
      users.set(user.id, user);
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'customer-result';
      button.dataset.userId = user.id;
      const name = document.createElement('span');
      name.className = 'customer-result-name';
      name.textContent = `${user.name} · ${t(`operator.kind.${user.kind}`)}`;
      const email = document.createElement('span');
      email.className = 'customer-result-email';
      email.textContent = user.email;
      button.append(name, email);
      li.append(button);
      return li;
    }));
    el.empty.hidden = data.length > 0;
    el.status.textContent = t(`operator.search.total.${plural.select(total) === 'one' ? 'one' : 'other'}`, { total });
    el.pagination.hidden = total === 0;
    el.page.textContent = t('admin.search.page', { page, pages });
    el.prev.disabled = page <= 1;
    el.next.disabled = page >= pages;
    if (fromButton && fromButton.disabled) {
      const other = fromButton === el.prev ? el.next : el.prev;
      (!other.disabled ? other : el.term).focus();
    }
  }

  function onResultClick(event) {
    const button = event.target.closest('button.customer-result');
    const user = button && users.get(button.dataset.userId);
    if (!user) return;
    for (const other of el.results.querySelectorAll('[aria-current]')) other.removeAttribute('aria-current');
    button.setAttribute('aria-current', 'true');
    showUser(user);
  }

  // The first reason why acting as the user is not possible, or null.
  function blocker(user) {
    if (acting) return 'operator.card.disabled.acting';
    if (!user.active) return 'operator.card.disabled.inactive';
    if (user.guest) return 'admin.customer.disabledReason.guest';
    return null;
  }

  function renderCard() {
    const user = current;
    if (!user) return;
    const why = blocker(user);
    el.impersonate.disabled = why !== null;
    el.hint.textContent = why ? t(why) : '';
    el.hint.hidden = !why;
  }

  function showUser(user) {
    current = user;
    el.cardKind.textContent = t(`operator.kind.${user.kind}`);
    el.cardName.textContent = user.name;
    el.cardEmail.textContent = user.email;
    const status = [t(user.active ? 'admin.customer.statusActive' : 'admin.customer.statusInactive')];
    if (user.guest) status.push(t('admin.customer.statusGuest'));
    el.cardStatus.textContent = status.join(' · ');
    renderCard();
    el.card.hidden = false;
    el.cardName.focus();
  }

  // -------------------------------------------------------- impersonation

  function onImpersonateClick() {
    if (!current || el.impersonate.disabled) return;
    el.modalIntro.textContent = t('operator.modal.intro', { name: current.name, email: current.email });
    el.reason.value = '';
    el.modal.showModal();
    el.reason.focus();
  }

  async function onModalSubmit(event) {
    event.preventDefault();
    const reason = el.reason.value.trim();
    if (!reason) {
      el.reason.setCustomValidity(t('operator.modal.reasonMissing'));
      el.reason.reportValidity();
      return;
    }
    el.reason.setCustomValidity('');
    if (busy || !current) return;
    busy = true;
    const user = current;
    const mine = epoch;
    el.modal.close();
    try {
      const issued = await api('GET', `/api/sys/users/impersonate?userId=${encodeURIComponent(user.id)}`,
        { headers: { [REASON_HEADER]: headerText(reason) } });
      // Signed out meanwhile: the unused token expires on its own.
      if (mine !== epoch) return;
      // The exchange answers the impersonation's own bearer; the one-time
      // token is not kept.
      const session = await api('POST', `/api/public/auth/login/${encodeURIComponent(issued.token)}`, { token: null });
      if (mine !== epoch) {
        // Signed out during the exchange: end what it started.
        endQuietly(session && session.access_token);
        return;
      }
      acting = { token: session.access_token, session, user };
      renderBanner();
      renderCard();
      el.stop.focus();
    } catch (err) {
      if (mine === epoch) handleError(err, 'operator.notifications.impersonateFailed');
    } finally {
      busy = false;
    }
  }

  // Ends the impersonation only; the operator's own session goes on.
  async function onStop() {
    if (!acting || busy) return;
    busy = true;
    try {
      await endSession(acting.token);
    } catch (err) {
      busy = false;
      handleError(err, 'operator.notifications.stopFailed');
      return;
    }
    acting = null;
    busy = false;
    renderBanner();
    renderCard();
    (el.card.hidden ? el.term : el.impersonate).focus();
  }

  // ---------------------------------------------------------------- wiring

  el.signinForm.addEventListener('submit', onSignin);
  el.signout.addEventListener('click', onSignout);
  el.searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch(el.term.value.trim(), 1);
  });
  el.results.addEventListener('click', onResultClick);
  el.prev.addEventListener('click', () => {
    if (search.page > 1) runSearch(search.term, search.page - 1, el.prev);
  });
  el.next.addEventListener('click', () => {
    if (search.page < search.pages) runSearch(search.term, search.page + 1, el.next);
  });
  el.impersonate.addEventListener('click', onImpersonateClick);
  el.modalForm.addEventListener('submit', onModalSubmit);
  el.reason.addEventListener('input', () => el.reason.setCustomValidity(''));
  $('operator-modal-cancel').addEventListener('click', () => el.modal.close());
  el.modal.addEventListener('close', () => {
    if (!el.card.hidden && !acting) el.impersonate.focus();
  });
  el.stop.addEventListener('click', onStop);
})();
