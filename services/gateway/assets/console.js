// actas consoles: the audit trail, the live impersonations, the policies.
//
// Plain script, no build step. It holds no credential of its own: the page
// that signed in (admin.js) hands it, in an `actas:console` event, a
// function that calls the API with that page's bearer, and takes it back
// with `actas:console-closed`. What it shows is dropped on sign-out.
(() => {
  'use strict';

  const AUDIT_PAGE = 20;
  const ACTIONS_SHOWN = 100; // per impersonation; the rest at /action-records
  const AUDIT = 'impersonation:audit';
  const REVOKE = 'impersonation:revoke';
  const POLICY = 'impersonation:policy';
  const KINDS = [
    'token_issued', 'token_issue_failed', 'token_redeem_failed',
    'impersonation_started', 'impersonation_ended', 'impersonation_revoked',
    'impersonation_expired', 'principal_deactivated', 'principal_reactivated',
  ];

  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || undefined;
  const root = $('console');
  if (!root) return;

  // The signed-in page's tools; null while signed out.
  let ctx = null;
  let epoch = 0; // bumped on close: late answers of an old session are dropped
  let auditPage = 1;
  let auditLoads = 0; // only the newest load of the trail is shown
  let ending = null; // { body, label } of the open "end" dialog

  const t = (key, params) => (ctx ? ctx.t(key, params) : key);

  function when(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    return td;
  }

  // A person by name, with the id for whoever must look further.
  function person(name, id) {
    const td = document.createElement('td');
    const strong = document.createElement('span');
    strong.className = 'person-name';
    strong.textContent = name || t('console.unknownPerson');
    const small = document.createElement('span');
    small.className = 'person-id';
    small.textContent = id || '';
    td.append(strong, small);
    return td;
  }

  function button(label, onClick, attrs = {}) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    for (const [name, value] of Object.entries(attrs)) b.setAttribute(name, value);
    b.addEventListener('click', onClick);
    return b;
  }

  // datetime-local gives local wall time without a zone; the API wants RFC 3339.
  function rfc3339(local) {
    if (!local) return '';
    const date = new Date(local);
    return Number.isNaN(date.getTime()) ? '' : date.toISOString();
  }

  // ------------------------------------------------------------ audit trail

  async function loadAudit(page) {
    const seen = epoch;
    const load = ++auditLoads;
    const query = new URLSearchParams({ page: String(page), limit: String(AUDIT_PAGE) });
    const fields = { actorId: $('audit-actor').value.trim(), targetId: $('audit-target').value.trim(), kind: $('audit-kind').value };
    for (const [name, value] of Object.entries(fields)) if (value) query.set(name, value);
    const since = rfc3339($('audit-since').value);
    const until = rfc3339($('audit-until').value);
    if (since) query.set('since', since);
    if (until) query.set('until', until);
    $('audit-table').setAttribute('aria-busy', 'true');
    try {
      const answer = await ctx.api('GET', `${ctx.base}/audit-records?${query}`);
      if (seen !== epoch) return;
      auditPage = page;
      const records = Array.isArray(answer && answer.records) ? answer.records : [];
      if (load !== auditLoads) return; // a newer load is on its way
      renderAudit(records);
      loadActions(records, seen, load);
    } catch (err) {
      if (seen === epoch) ctx.handleError(err, 'console.audit.failed');
    } finally {
      $('audit-table').removeAttribute('aria-busy');
    }
  }

  function renderAudit(records) {
    const rows = records.map((record) => {
      const tr = document.createElement('tr');
      tr.dataset.kind = record.kind;
      if (record.sessionId) tr.dataset.sessionId = record.sessionId;
      tr.append(
        cell(when(record.occurredAt), 'nowrap'),
        cell(t(`console.kinds.${record.kind}`)),
        person(record.actorName, record.actorId),
        person(record.targetName, record.targetId),
        cell(record.reason, 'reason'),
        cell(record.clientIp),
        cell(record.userAgent, 'wrap'),
        cell(record.traceId || '', 'mono'),
      );
      return tr;
    });
    $('audit-rows').replaceChildren(...rows);
    $('audit-empty').hidden = records.length > 0;
    $('audit-page').textContent = t('console.page', { page: auditPage });
    $('audit-prev').disabled = auditPage <= 1;
    // A short page is the last one.
    $('audit-next').disabled = records.length < AUDIT_PAGE;
  }

  // What was done under each impersonation the page shows: its action
  // records (reported by services and by the gateway), in a row under the
  // record of its start, oldest first as it happened.
  async function loadActions(records, seen, load) {
    const sessions = [...new Set(records
      .filter((record) => record.kind === 'impersonation_started' && record.sessionId)
      .map((record) => record.sessionId))];
    const answers = await Promise.all(sessions.map((session) => {
      const query = new URLSearchParams({ sessionId: session, limit: String(ACTIONS_SHOWN) });
      return ctx.api('GET', `${ctx.base}/action-records?${query}`)
        .then((answer) => [session, Array.isArray(answer && answer.records) ? answer.records : []])
        .catch((err) => [session, err]);
    }));
    if (seen !== epoch || load !== auditLoads) return;
    for (const [session, actions] of answers) {
      const start = $('audit-rows').querySelector(`tr[data-kind="impersonation_started"][data-session-id="${CSS.escape(session)}"]`);
      if (start) start.after(actionsRow(session, actions));
    }
  }

  function actionsRow(session, actions) {
    const tr = document.createElement('tr');
    tr.className = 'audit-actions';
    tr.dataset.actionsOf = session;
    const td = document.createElement('td');
    td.colSpan = 8;
    const label = document.createElement('span');
    label.className = 'eyebrow';
    label.textContent = t('console.audit.done');
    td.append(label, ' ');
    if (!Array.isArray(actions)) {
      td.append(t('console.audit.actionsFailed'));
    } else if (actions.length === 0) {
      td.append(t('console.audit.nothingDone'));
    } else {
      const list = document.createElement('ul');
      list.className = 'plain-list';
      for (const action of [...actions].reverse()) {
        const li = document.createElement('li');
        li.className = 'mono';
        li.textContent = [when(action.occurredAt), action.action, action.detail, action.outcome]
          .filter(Boolean).join(' · ');
        list.append(li);
      }
      td.append(list);
    }
    tr.append(td);
    return tr;
  }

  // --------------------------------------------------- live impersonations

  async function loadLive() {
    const seen = epoch;
    $('live-table').setAttribute('aria-busy', 'true');
    try {
      const answer = await ctx.api('GET', `${ctx.base}/impersonations?limit=500`);
      if (seen !== epoch) return;
      renderLive(Array.isArray(answer && answer.impersonations) ? answer.impersonations : []);
    } catch (err) {
      if (seen === epoch) ctx.handleError(err, 'console.live.failed');
    } finally {
      $('live-table').removeAttribute('aria-busy');
    }
  }

  function renderLive(rows) {
    const items = rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.sessionId = row.sessionId;
      // A team, a sales channel, or neither: an operator's access.
      const where = row.teamName ? t('console.live.team', { team: row.teamName })
        : row.salesChannelId ? t('console.live.channel', { channel: row.salesChannelId })
          : t('console.live.operator');
      const actor = row.actorName || row.actorId;
      const target = row.targetName || row.targetId;
      const actions = document.createElement('td');
      actions.className = 'row-actions';
      actions.append(
        button(t('console.live.end'), () => askEnd({ sessionId: row.sessionId }, t('console.live.endOne', { actor, target })),
          { 'data-action': 'end', 'aria-label': t('console.live.endOne', { actor, target }) }),
        button(t('console.live.endActor'), () => askEnd({ actorId: row.actorId }, t('console.live.endAllOfActor', { actor })),
          { 'data-action': 'end-actor', 'aria-label': t('console.live.endAllOfActor', { actor }) }),
        button(t('console.live.endTarget'), () => askEnd({ targetId: row.targetId }, t('console.live.endAllOfTarget', { target })),
          { 'data-action': 'end-target', 'aria-label': t('console.live.endAllOfTarget', { target }) }),
      );
      tr.append(
        person(row.actorName, row.actorId),
        person(row.targetName, row.targetId),
        cell(where, 'where'),
        cell(when(row.startedAt), 'nowrap'),
        cell(when(row.lastSeenAt), 'nowrap'),
        cell(row.readOnly ? t('console.live.readOnly') : t('console.live.readWrite'), 'nowrap'),
        actions,
      );
      return tr;
    });
    $('live-rows').replaceChildren(...items);
    $('live-empty').hidden = rows.length > 0;
    $('live-status').textContent = t(`console.live.count.${rows.length === 1 ? 'one' : 'other'}`, { count: rows.length });
  }

  function askEnd(body, label) {
    ending = { body, label };
    $('end-modal-text').textContent = label;
    $('end-reason').value = '';
    $('end-modal').showModal();
    $('end-reason').focus();
  }

  async function onEndSubmit(event) {
    event.preventDefault();
    if (!ending || !ctx) return;
    const seen = epoch;
    const body = { ...ending.body, reason: $('end-reason').value.trim() };
    $('end-modal').close();
    try {
      const answer = await ctx.api('POST', `${ctx.base}/impersonations/revoke`, body);
      if (seen !== epoch) return;
      const revoked = Number(answer && answer.revoked) || 0;
      $('live-result').textContent = t(`console.live.ended.${revoked === 1 ? 'one' : 'other'}`, { count: revoked });
      await loadLive();
      $('live-refresh').focus();
    } catch (err) {
      if (seen === epoch) ctx.handleError(err, 'console.live.endFailed');
    }
  }

  // ---------------------------------------------------------------- policy

  function policyScope() {
    const kind = $('policy-kind').value;
    const id = $('policy-id').value.trim();
    return id ? `${kind}:${id}` : '';
  }

  async function loadPolicy(event) {
    event.preventDefault();
    const scope = policyScope();
    if (!scope) return;
    const seen = epoch;
    try {
      const policy = await ctx.api('GET', `${ctx.base}/impersonation-policies/${encodeURIComponent(scope)}`);
      if (seen !== epoch) return;
      showPolicy(policy);
    } catch (err) {
      if (seen === epoch) ctx.handleError(err, 'console.policy.failed');
    }
  }

  function showPolicy(policy) {
    const mode = !policy.enabled ? 'off' : policy.readOnly ? 'read-only' : 'on';
    for (const radio of document.querySelectorAll('input[name="policy-mode"]')) radio.checked = radio.value === mode;
    $('policy-scope').textContent = policy.scope;
    $('policy-editor').hidden = false;
  }

  async function savePolicy(event) {
    event.preventDefault();
    const chosen = document.querySelector('input[name="policy-mode"]:checked');
    const scope = $('policy-scope').textContent;
    if (!chosen || !scope) return;
    const seen = epoch;
    try {
      const policy = await ctx.api('PUT', `${ctx.base}/impersonation-policies/${encodeURIComponent(scope)}`,
        { enabled: chosen.value !== 'off', readOnly: chosen.value === 'read-only' });
      if (seen !== epoch) return;
      showPolicy(policy);
      $('policy-result').textContent = t('console.policy.saved', { scope: policy.scope });
    } catch (err) {
      if (seen === epoch) ctx.handleError(err, 'console.policy.failed');
    }
  }

  // ---------------------------------------------------------------- wiring

  function open(detail) {
    ctx = detail;
    const has = (privilege) => ctx.privileges.includes(privilege);
    $('audit-panel').hidden = !has(AUDIT);
    $('live-panel').hidden = !has(REVOKE);
    $('policy-panel').hidden = !has(POLICY);
    root.hidden = ![AUDIT, REVOKE, POLICY].some(has);
    const kinds = [new Option(t('console.audit.anyKind'), '')]
      .concat(KINDS.map((kind) => new Option(t(`console.kinds.${kind}`), kind)));
    $('audit-kind').replaceChildren(...kinds);
    if (has(AUDIT)) loadAudit(1);
    if (has(REVOKE)) loadLive();
  }

  function close() {
    ctx = null;
    epoch += 1;
    ending = null;
    if ($('end-modal').open) $('end-modal').close();
    for (const id of ['audit-rows', 'live-rows']) $(id).replaceChildren();
    for (const id of ['live-status', 'live-result', 'policy-result', 'policy-scope']) $(id).textContent = '';
    $('audit-filter').reset();
    $('policy-editor').hidden = true;
    root.hidden = true;
  }

  document.addEventListener('actas:console', (event) => open(event.detail));
  document.addEventListener('actas:console-closed', close);
  $('audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    loadAudit(1);
  });
  $('audit-prev').addEventListener('click', () => auditPage > 1 && loadAudit(auditPage - 1));
  $('audit-next').addEventListener('click', () => loadAudit(auditPage + 1));
  $('live-refresh').addEventListener('click', () => {
    $('live-result').textContent = '';
    loadLive();
  });
  $('end-modal-form').addEventListener('submit', onEndSubmit);
  $('end-modal-cancel').addEventListener('click', () => $('end-modal').close());
  $('policy-form').addEventListener('submit', loadPolicy);
  $('policy-editor').addEventListener('submit', savePolicy);
})();
