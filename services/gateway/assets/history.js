// actas member portal, "My account": who accessed my account, and whether
// my team administrators may sign in as me.
//
// Plain script, no build step. It holds no credential: portal.js hands it,
// in an `actas:history` event, a function that calls the API with the
// person's own bearer, and only while the page is on their own session
// (never while impersonating: the routes refuse that too). It takes it back
// with `actas:history-closed`, and drops what it showed.
(() => {
  'use strict';

  const ENDINGS = ['impersonation_ended', 'impersonation_revoked', 'impersonation_expired'];
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || undefined;
  const root = $('portal-account');
  if (!root) return;
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

  let ctx = null; // { api, t, failed } while the person's own session is the page's
  let epoch = 0;  // bumped on close: late answers are dropped

  const t = (key, params) => (ctx ? ctx.t(key, params) : key);

  function formatWhen(iso) {
    const date = iso ? new Date(iso) : null;
    return date && !Number.isNaN(date.getTime()) ? dateTime.format(date) : '';
  }

  function duration(fromIso, toIso) {
    const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
    if (!Number.isFinite(ms)) return '';
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return t('history.lessThanMinute');
    if (minutes < 60) return t('history.minutes', { minutes });
    return t('history.hoursMinutes', { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }

  // The trail has one record per event; a person reads one line per
  // impersonation: its start (who, when, why) and its end (how, how long).
  function accesses(records, actions) {
    const bySession = new Map();
    for (const record of records) {
      if (!record.sessionId) continue;
      const access = bySession.get(record.sessionId) || { sessionId: record.sessionId, actions: [] };
      if (record.kind === 'impersonation_started') access.start = record;
      if (ENDINGS.includes(record.kind)) access.end = record;
      bySession.set(record.sessionId, access);
    }
    for (const action of actions) {
      const access = bySession.get(action.sessionId);
      if (access) access.actions.push(action);
    }
    return [...bySession.values()]
      .filter((access) => access.start)
      .sort((a, b) => String(b.start.occurredAt).localeCompare(String(a.start.occurredAt)));
  }

  function cell(text) {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  }

  function row(access) {
    const tr = document.createElement('tr');
    tr.dataset.sessionId = access.sessionId;
    tr.dataset.ending = access.end ? access.end.kind : 'ongoing';
    const start = access.start;
    const who = document.createElement('th');
    who.scope = 'row';
    who.textContent = start.actorName || t('history.unknownPerson');
    const done = document.createElement('td');
    if (access.actions.length === 0) {
      done.textContent = t('history.nothingDone');
    } else {
      const list = document.createElement('ul');
      list.className = 'plain-list';
      // Oldest first: what was done reads as it happened.
      for (const action of [...access.actions].reverse()) {
        const li = document.createElement('li');
        li.className = 'mono';
        li.textContent = [action.action, action.detail, action.outcome].filter(Boolean).join(' · ');
        list.append(li);
      }
      done.append(list);
    }
    tr.append(
      who,
      cell(formatWhen(start.occurredAt)),
      cell(start.reason || t('history.noReason')),
      cell(access.end ? duration(start.occurredAt, access.end.occurredAt) : ''),
      cell(t(`history.endings.${access.end ? access.end.kind : 'ongoing'}`)),
      done,
    );
    return tr;
  }

  async function load() {
    const seen = epoch;
    try {
      const [trail, actions, consent] = await Promise.all([
        ctx.api('GET', '/api/public/account/impersonations'),
        ctx.api('GET', '/api/public/account/impersonations/actions?limit=500'),
        ctx.api('GET', '/api/public/account/impersonation-consent'),
      ]);
      if (seen !== epoch) return;
      const list = accesses(
        Array.isArray(trail && trail.records) ? trail.records : [],
        Array.isArray(actions && actions.records) ? actions.records : [],
      );
      $('portal-history-rows').replaceChildren(...list.map(row));
      $('portal-history-empty').hidden = list.length > 0;
      $('portal-consent').checked = Boolean(consent && consent.teamAdmins);
      $('portal-consent').disabled = false;
    } catch (err) {
      if (seen === epoch) ctx.failed(err, 'history.failed');
    }
  }

  async function onConsent() {
    if (!ctx) return;
    const seen = epoch;
    const box = $('portal-consent');
    const wanted = box.checked;
    box.disabled = true;
    $('portal-consent-result').textContent = '';
    try {
      const consent = await ctx.api('PUT', '/api/public/account/impersonation-consent', { teamAdmins: wanted });
      if (seen !== epoch) return;
      box.checked = Boolean(consent.teamAdmins);
      $('portal-consent-result').textContent = t(consent.teamAdmins ? 'consent.savedOn' : 'consent.savedOff');
    } catch (err) {
      if (seen !== epoch) return;
      box.checked = !wanted; // the choice in force did not change
      ctx.failed(err, 'consent.failed');
    } finally {
      if (seen === epoch) box.disabled = false;
    }
  }

  function open(detail) {
    close();
    ctx = detail;
    root.hidden = false;
    load();
  }

  function close() {
    ctx = null;
    epoch += 1;
    root.hidden = true;
    $('portal-history-rows').replaceChildren();
    $('portal-history-empty').hidden = true;
    $('portal-consent-result').textContent = '';
    $('portal-consent').disabled = true;
  }

  document.addEventListener('actas:history', (event) => open(event.detail));
  document.addEventListener('actas:history-closed', close);
  $('portal-consent').addEventListener('change', onConsent);
})();
