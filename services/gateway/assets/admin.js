// actas administration page: sign in, search customers, log in as a customer.
//
// Plain script, no build step, no dependencies. Everything lives in this
// closure: the access token in particular is only ever held in `session`
// below (never localStorage, sessionStorage or a cookie), so it is gone as
// soon as the tab is closed or reloaded.
(() => {
  'use strict';

  const PAGE_SIZE = 10;
  // One right under two names: the seed's, and the one Shopware ships.
  const LOGIN_AS_CUSTOMER = ['api_proxy_login-as-customer', 'api_proxy_imitate-customer'];

  const { $, t, snippets, ApiError, request, notifier, errorHandler } = window.actasPage;
  const lang = document.documentElement.lang || undefined;

  // Privilege names contain ':', '-' and '_', so they are direct keys of the
  // "privileges" group rather than dotted paths.
  function privilegeLabel(name) {
    const labels = snippets.privileges;
    return labels && Object.hasOwn(labels, name) && typeof labels[name] === 'string' ? labels[name] : name;
  }

  // English and German both distinguish "one" and "other".
  const plural = new Intl.PluralRules(lang);

  // -------------------------------------------------------------- elements

  const el = {
    signin: $('signin'),
    signinForm: $('signin-form'),
    signinUsername: $('signin-username'),
    signinPassword: $('signin-password'),
    signinError: $('signin-error'),
    workspace: $('workspace'),
    meName: $('me-name'),
    signout: $('signout'),
    privileges: $('privileges'),
    searchForm: $('search-form'),
    searchTerm: $('search-term'),
    searchStatus: $('search-status'),
    searchResults: $('search-results'),
    searchEmpty: $('search-empty'),
    pagination: $('search-pagination'),
    prev: $('search-prev'),
    page: $('search-page'),
    next: $('search-next'),
    card: $('customer-card'),
    cardName: $('customer-card-name'),
    cardEmail: $('customer-card-email'),
    cardStatus: $('customer-card-status'),
    cardChannels: $('customer-card-channels'),
    loginAs: $('login-as-customer'),
    loginAsHint: $('login-as-customer-hint'),
    modal: $('channel-modal'),
    modalForm: $('channel-modal-form'),
    modalChannels: $('channel-modal-channels'),
    reason: $('impersonation-reason'),
    reasonLabel: $('impersonation-reason-label'),
    notifications: $('notifications'),
  };

  // ----------------------------------------------------------------- state

  let session = null;        // { token, me } while signed in
  let epoch = 0;             // bumped on sign-out: late responses of an old session are dropped
  let searchSeq = 0;         // only the newest search response is rendered
  let search = { term: '', page: 1, pages: 1 };
  const customers = new Map(); // id -> customer of the current result page
  let current = null;        // customer shown in the card
  let modalChannels = [];    // channels offered in the open modal
  let signingIn = false;
  let generating = false;

  // ------------------------------------------------------------------- api

  // With the admin's bearer unless `auth` is off; a 401 on it means the
  // token expired (or was revoked): back to the sign-in form.
  async function api(method, path, body, { auth = true } = {}) {
    try {
      return await request(method, path, { token: auth && session ? session.token : undefined, body });
    } catch (err) {
      if (err.status === 401 && auth) {
        expireSession();
        throw new ApiError(401, err.code, err.detail, { handled: true });
      }
      throw err;
    }
  }

  // ----------------------------------------------------------- notifications

  // Focus must not fall back to <body> when its notification disappears.
  const notifyError = notifier(el.notifications,
    () => (!el.workspace.hidden ? el.searchTerm : el.signinUsername).focus());

  const handleError = errorHandler(notifyError);

  // --------------------------------------------------------------- sign-in

  function showSigninError(message) {
    el.signinError.textContent = message;
    el.signinError.hidden = false;
  }

  function hideSigninError() {
    el.signinError.textContent = '';
    el.signinError.hidden = true;
  }

  async function onSignin(event) {
    event.preventDefault();
    if (signingIn) return;
    signingIn = true;
    el.signinForm.setAttribute('aria-busy', 'true');

    const username = el.signinUsername.value.trim();
    const password = el.signinPassword.value;
    el.signinPassword.value = ''; // never keep the password around, success or not
    hideSigninError();

    try {
      const grant = await api('POST', '/api/oauth/token', {
        grant_type: 'password',
        client_id: 'administration',
        scopes: 'write',
        username,
        password,
      }, { auth: false });
      if (!grant || typeof grant.access_token !== 'string' || !grant.access_token) {
        throw new ApiError(200, '', '');
      }
      session = { token: grant.access_token, me: null };

      const info = await api('GET', '/api/_info/me');
      const me = info && info.data;
      if (!me || typeof me.id !== 'string') throw new ApiError(200, '', '');
      me.privileges = Array.isArray(me.privileges) ? me.privileges : [];
      session.me = me;
      enterWorkspace();
    } catch (err) {
      session = null;
      if (err instanceof ApiError && err.network) notifyError(t('admin.notifications.networkError'));
      showSigninError(t('admin.signin.failed'));
      el.signinPassword.focus();
    } finally {
      signingIn = false;
      el.signinForm.removeAttribute('aria-busy');
    }
  }

  function enterWorkspace() {
    const me = session.me;
    el.meName.textContent = me.name || me.email || '';
    renderPrivileges(me.privileges);
    el.signin.hidden = true;
    el.workspace.hidden = false;
    el.searchTerm.value = '';
    el.searchTerm.focus();
    runSearch('', 1);
    // The consoles (console.js) call the API through this page: the bearer
    // never leaves this closure, and a 401 signs out here as anywhere.
    const seen = epoch;
    document.dispatchEvent(new CustomEvent('actas:console', {
      detail: {
        api: (method, path, body) => (seen === epoch ? api(method, path, body) : Promise.reject(new ApiError(401, '', '', { handled: true }))),
        t,
        handleError,
        privileges: me.privileges.slice(),
        base: '/api/_action',
      },
    }));
  }

  function renderPrivileges(privileges) {
    const items = privileges.map((name) => {
      const li = document.createElement('li');
      li.dataset.privilege = name;
      li.textContent = privilegeLabel(name);
      return li;
    });
    if (items.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = t('admin.privileges.none');
      items.push(li);
    }
    el.privileges.replaceChildren(...items);
  }

  // Back to the signed-out page state, forgetting the token and all data.
  function resetToSignedOut() {
    session = null;
    epoch += 1;
    document.dispatchEvent(new CustomEvent('actas:console-closed'));
    searchSeq += 1;
    current = null;
    modalChannels = [];
    customers.clear();
    if (el.modal.open) el.modal.close();

    el.meName.textContent = '';
    el.privileges.replaceChildren();
    el.searchTerm.value = '';
    el.searchStatus.textContent = '';
    el.searchResults.replaceChildren();
    el.searchEmpty.hidden = true;
    el.pagination.hidden = true;
    el.card.hidden = true;

    el.workspace.hidden = true;
    el.signin.hidden = false;
    el.signinPassword.value = '';
  }

  function expireSession() {
    if (!session) return;
    resetToSignedOut();
    showSigninError(t('admin.signin.sessionExpired'));
    el.signinUsername.focus();
  }

  function onSignout() {
    resetToSignedOut();
    hideSigninError();
    el.signinUsername.focus();
  }

  // ---------------------------------------------------------------- search

  async function runSearch(term, page, fromButton) {
    const seq = ++searchSeq;
    el.searchResults.setAttribute('aria-busy', 'true');
    try {
      const result = await api('POST', '/api/search/customer', { term, page, limit: PAGE_SIZE });
      if (seq !== searchSeq) return;
      renderResults(result, term, page, fromButton);
    } catch (err) {
      if (seq !== searchSeq) return;
      handleError(err, 'admin.notifications.searchFailed');
    } finally {
      if (seq === searchSeq) el.searchResults.removeAttribute('aria-busy');
    }
  }

  function renderResults(result, term, requestedPage, fromButton) {
    const data = result && Array.isArray(result.data) ? result.data : [];
    const total = Number(result && result.total) || 0;
    const limit = Number(result && result.limit) || PAGE_SIZE;
    const page = Number(result && result.page) || requestedPage;
    const pages = Math.max(1, Math.ceil(total / limit));
    search = { term, page, pages };

    customers.clear();
    const items = data.map((customer) => {
      customers.set(customer.id, customer);
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'customer-result';
      button.dataset.customerId = customer.id;
      if (current && current.id === customer.id) button.setAttribute('aria-current', 'true');
      const name = document.createElement('span');
      name.className = 'customer-result-name';
      name.textContent = customer.name;
      const email = document.createElement('span');
      email.className = 'customer-result-email';
      email.textContent = customer.email;
      button.append(name, email);
      li.append(button);
      return li;
    });
    el.searchResults.replaceChildren(...items);

    el.searchEmpty.hidden = data.length > 0;
    el.searchStatus.textContent = t(`admin.search.total.${plural.select(total) === 'one' ? 'one' : 'other'}`, { total });
    el.pagination.hidden = total === 0;
    el.page.textContent = t('admin.search.page', { page, pages });
    el.prev.disabled = page <= 1;
    el.next.disabled = page >= pages;

    // A pagination button that just became disabled has lost focus; hand it
    // to the other one (or the search field) instead of dropping it on <body>.
    if (fromButton && fromButton.disabled) {
      const other = fromButton === el.prev ? el.next : el.prev;
      if (!other.disabled && !el.pagination.hidden) other.focus();
      else el.searchTerm.focus();
    }
  }

  function onSearchSubmit(event) {
    event.preventDefault();
    runSearch(el.searchTerm.value.trim(), 1);
  }

  function onResultClick(event) {
    const button = event.target.closest('button.customer-result');
    if (!button) return;
    const customer = customers.get(button.dataset.customerId);
    if (!customer) return;
    for (const other of el.searchResults.querySelectorAll('.customer-result[aria-current]')) {
      other.removeAttribute('aria-current');
    }
    button.setAttribute('aria-current', 'true');
    showCustomer(customer);
  }

  // ------------------------------------------------------------- customer

  // Channels the admin can land on: those with a storefront domain, by name.
  function storefrontChannels(customer) {
    const channels = Array.isArray(customer.salesChannels) ? customer.salesChannels : [];
    return channels
      .filter((c) => c && typeof c.domain === 'string' && c.domain !== '')
      .sort((a, b) => String(a.name).localeCompare(String(b.name), lang));
  }

  // The first reason why "log in as customer" is not possible, or null.
  function loginBlocker(customer) {
    if (!session || !LOGIN_AS_CUSTOMER.some((name) => session.me.privileges.includes(name))) return 'admin.customer.disabledReason.missingPrivilege';
    if (!customer.active) return 'admin.customer.disabledReason.inactive';
    if (customer.guest) return 'admin.customer.disabledReason.guest';
    if (storefrontChannels(customer).length === 0) return 'admin.customer.disabledReason.noDomain';
    return null;
  }

  function showCustomer(customer) {
    current = customer;
    el.cardName.textContent = customer.name;
    el.cardEmail.textContent = customer.email;

    const status = [t(customer.active ? 'admin.customer.statusActive' : 'admin.customer.statusInactive')];
    if (customer.guest) status.push(t('admin.customer.statusGuest'));
    el.cardStatus.textContent = status.join(' · ');

    const channels = Array.isArray(customer.salesChannels) ? customer.salesChannels : [];
    el.cardChannels.replaceChildren(...channels.map((channel) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'channel-name';
      name.textContent = channel.name;
      const domain = document.createElement('span');
      if (channel.domain) {
        domain.className = 'channel-domain';
        domain.textContent = channel.domain;
      } else {
        domain.className = 'channel-domain muted';
        domain.textContent = t('admin.customer.noDomain');
      }
      li.append(name, domain);
      return li;
    }));
    if (channels.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = t('admin.customer.noChannels');
      el.cardChannels.append(li);
    }

    const blocker = loginBlocker(customer);
    el.loginAs.disabled = blocker !== null;
    if (blocker) {
      const reason = t(blocker);
      el.loginAs.title = reason;
      el.loginAsHint.textContent = reason;
      el.loginAsHint.hidden = false;
    } else {
      el.loginAs.removeAttribute('title');
      el.loginAsHint.textContent = '';
      el.loginAsHint.hidden = true;
    }

    el.card.hidden = false;
    el.cardName.focus();
  }

  // ------------------------------------------------------ login as customer

  function onLoginAsCustomer() {
    if (!current || el.loginAs.disabled || generating) return;
    const channels = storefrontChannels(current);
    // One storefront goes straight on, unless policy wants a reason asked.
    if (channels.length === 1 && !reasonRequired()) {
      generate(current, channels[0], '');
    } else if (channels.length > 0) {
      openModal(channels);
    }
  }

  // The issuer's policy, as /api/_info/me reports it.
  function reasonRequired() {
    const policy = session && session.me && session.me.impersonationPolicy;
    return Boolean(policy && policy.reasonRequired);
  }

  function openModal(channels) {
    modalChannels = channels;
    el.modalChannels.replaceChildren(...channels.map((channel, index) => {
      const id = `channel-${channel.id}`;
      const row = document.createElement('div');
      row.className = 'channel-option';
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'salesChannelId';
      radio.value = channel.id;
      radio.id = id;
      radio.checked = index === 0;
      const label = document.createElement('label');
      label.htmlFor = id;
      const name = document.createElement('span');
      name.className = 'channel-name';
      name.textContent = channel.name;
      const domain = document.createElement('span');
      domain.className = 'channel-domain';
      domain.textContent = channel.domain;
      label.append(name, domain);
      row.append(radio, label);
      return row;
    }));
    el.reason.value = '';
    // Required by policy: the browser's own validation keeps the dialog open
    // until a reason is typed, and the label says so.
    el.reason.required = reasonRequired();
    el.reasonLabel.textContent = t(reasonRequired() ? 'admin.modal.reasonLabelRequired' : 'admin.modal.reasonLabel');
    const policy = session.me.impersonationPolicy;
    if (policy && policy.reasonMaxLength > 0) el.reason.maxLength = policy.reasonMaxLength;
    el.modal.showModal();
    // Start on the preselected choice rather than whatever the browser picks.
    const checked = el.modalChannels.querySelector('input:checked');
    if (checked) checked.focus();
  }

  function onModalSubmit(event) {
    event.preventDefault();
    const checked = el.modalForm.querySelector('input[name="salesChannelId"]:checked');
    const channel = checked && modalChannels.find((c) => c.id === checked.value);
    const customer = current;
    const reason = el.reason.value.trim();
    // Close first: a modal dialog makes the rest of the page inert, which
    // would hide a failure notification from users and screen readers.
    el.modal.close();
    if (channel && customer) generate(customer, channel, reason);
  }

  function onModalClose() {
    modalChannels = [];
    if (!el.workspace.hidden && !el.card.hidden) el.loginAs.focus();
  }

  // "{domain}/account/login/imitate-customer", only for http(s) domains.
  function imitateAction(domain) {
    try {
      const url = new URL(`${domain.replace(/\/+$/, '')}/account/login/imitate-customer`);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  async function generate(customer, channel, reason) {
    if (generating) return;
    generating = true;
    el.loginAs.setAttribute('aria-busy', 'true');
    const startedIn = epoch;
    try {
      const result = await api('POST', '/api/_proxy/generate-imitate-customer-token', {
        customerId: customer.id,
        salesChannelId: channel.id,
        reason,
      });
      if (startedIn !== epoch) return; // signed out meanwhile
      const action = imitateAction(channel.domain);
      if (!result || typeof result.token !== 'string' || !result.token || !action) {
        throw new ApiError(200, '', '');
      }
      openStorefront(action, { token: result.token, customerId: customer.id, userId: session.me.id });
    } catch (err) {
      if (startedIn === epoch) handleError(err, 'admin.notifications.generateFailed');
    } finally {
      generating = false;
      el.loginAs.removeAttribute('aria-busy');
    }
  }

  // Same hand-over as Shopware's administration: a POST form into a new tab,
  // so the one-time token travels in a request body, not in a URL.
  function openStorefront(action, fields) {
    const form = document.createElement('form');
    form.method = 'post';
    form.target = '_blank';
    form.action = action;
    form.hidden = true;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
    form.remove();
  }

  // ---------------------------------------------------------------- wiring

  el.signinForm.addEventListener('submit', onSignin);
  el.signout.addEventListener('click', onSignout);
  el.searchForm.addEventListener('submit', onSearchSubmit);
  el.searchResults.addEventListener('click', onResultClick);
  el.prev.addEventListener('click', () => {
    if (search.page > 1) runSearch(search.term, search.page - 1, el.prev);
  });
  el.next.addEventListener('click', () => {
    if (search.page < search.pages) runSearch(search.term, search.page + 1, el.next);
  });
  el.loginAs.addEventListener('click', onLoginAsCustomer);
  el.modalForm.addEventListener('submit', onModalSubmit);
  $('channel-modal-cancel').addEventListener('click', () => el.modal.close());
  el.modal.addEventListener('close', onModalClose);
})();
