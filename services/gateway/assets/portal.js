// actas member portal: sign in, pick a profile, and, for a team
// administrator, sign in as a member of the team and back.
//
// Plain script, no build step, no dependencies. The bearers live in `own`
// and `acting` below only (never localStorage, sessionStorage, a cookie or
// the URL): closing or reloading the tab forgets them.
(() => {
  'use strict';

  const { $, t, ApiError, request, notifier, endSession, headerText } = window.actasPage;

  const REASON_HEADER = 'X-Impersonation-Reason';

  const lang = document.documentElement.lang || undefined;
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

  // -------------------------------------------------------------- elements

  const el = {
    banner: $('portal-banner'),
    bannerText: $('portal-banner-text'),
    stop: $('portal-stop'),
    notifications: $('notifications'),
    signin: $('portal-signin'),
    signinForm: $('portal-signin-form'),
    email: $('portal-email'),
    password: $('portal-password'),
    signinError: $('portal-signin-error'),
    select: $('portal-select'),
    selectHeading: $('portal-select-heading'),
    profiles: $('portal-profiles'),
    selectMembersBlock: $('portal-select-members-block'),
    selectMembersHeading: $('portal-select-members-heading'),
    selectMembers: $('portal-select-members'),
    selectSignout: $('portal-select-signout'),
    home: $('portal-home'),
    homeHeading: $('portal-home-heading'),
    homeTeam: $('portal-home-team'),
    changeProfile: $('portal-change-profile'),
    signout: $('portal-signout'),
    team: $('portal-team'),
    teamHeading: $('portal-team-heading'),
    teamMembers: $('portal-team-members'),
    profile: $('portal-profile'),
    profileName: $('portal-profile-name'),
    profileTeam: $('portal-profile-team'),
    modal: $('portal-impersonate-modal'),
    modalForm: $('portal-impersonate-form'),
    modalIntro: $('portal-impersonate-intro'),
    modalCancel: $('portal-impersonate-cancel'),
    reason: $('portal-reason'),
    reasonLabel: $('portal-reason-label'),
    reasonHint: $('portal-reason-hint'),
  };

  // ----------------------------------------------------------------- state

  let own = null;      // { token, session, team }: the person's own session
  let acting = null;   // { token, session }: while signed in as a member
  let epoch = 0;       // bumped on sign-out: late answers of an old session are dropped
  let chosen = null;   // the member the open dialog is about
  let busy = false;

  // ------------------------------------------------------------------- api

  // Each call names the bearer it is made with (the own session's or the
  // member's), so a 401 is the failed call's to read (see `failed`).
  const api = request;

  // The page's current session: the member's while impersonating.
  const current = () => acting || own;

  // ---------------------------------------------------------- notifications

  const notify = notifier(el.notifications, () => $('main').focus());

  // One place that turns a failure into what the person reads. A 401 of
  // the member's session means the impersonation ended elsewhere (revoked,
  // expired): back to the administrator's own. A 401 of their own: signed out.
  function failed(err, key) {
    if (err instanceof ApiError && err.status === 401) {
      if (acting) {
        acting = null;
        notify(t('portal.notifications.impersonationEnded'));
        showHome();
      } else if (own) {
        signedOut();
        showSigninError(t('portal.signin.sessionExpired'));
      }
      return;
    }
    if (err instanceof ApiError && err.network) {
      notify(t('portal.notifications.networkError'));
      return;
    }
    notify(t(key), err instanceof ApiError ? err.detail : '');
  }

  // ---------------------------------------------------------------- views

  function show(view) {
    for (const section of [el.signin, el.select, el.home]) section.hidden = section !== view;
    renderBanner();
  }

  // Every page says who acts as whom while an impersonation is the page's.
  function renderBanner() {
    if (!acting) {
      el.banner.hidden = true;
      el.bannerText.textContent = '';
      return;
    }
    const session = acting.session;
    const since = session.started_at ? dateTime.format(new Date(session.started_at)) : '';
    el.bannerText.textContent = t('portal.banner.text', {
      actor: session.acting ? session.acting.name : '',
      target: session.profile ? session.profile.FullName : '',
      team: session.profile ? session.profile.TeamName : '',
      since,
    });
    el.banner.hidden = false;
  }

  function showSigninError(message) {
    el.signinError.textContent = message;
    el.signinError.hidden = false;
  }

  function signedOut() {
    own = null;
    acting = null;
    chosen = null;
    epoch += 1;
    if (el.modal.open) el.modal.close();
    el.profiles.replaceChildren();
    el.selectMembers.replaceChildren();
    el.teamMembers.replaceChildren();
    document.dispatchEvent(new CustomEvent('actas:history-closed'));
    el.password.value = '';
    show(el.signin);
    el.email.focus();
  }

  // The team of the own session's profile, or null when it administers none.
  async function loadTeam() {
    try {
      return await api('GET', '/api/public/coworkers/team', { token: own.token });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ACTAS__IMPERSONATION_NOT_ALLOWED') return null;
      throw err;
    }
  }

  // ---------------------------------------------------------------- sign-in

  async function onSignin(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    el.signinForm.setAttribute('aria-busy', 'true');
    const email = el.email.value.trim();
    const password = el.password.value;
    el.password.value = ''; // never kept, success or not
    el.signinError.hidden = true;
    try {
      const session = await api('POST', '/api/public/auth/login', { body: { email, password } });
      own = { token: session.access_token, session, team: null };
      await showSelect(true);
    } catch (err) {
      own = null;
      if (err instanceof ApiError && err.network) notify(t('portal.notifications.networkError'));
      showSigninError(t('portal.signin.failed'));
      el.password.focus();
    } finally {
      busy = false;
      el.signinForm.removeAttribute('aria-busy');
    }
  }

  // ------------------------------------------------------ profile selection

  // The person's profiles, and for a team administrator the members of the
  // current profile's team they may sign in as. Right after sign-in, one
  // profile and no one to sign in as goes straight on.
  async function showSelect(afterSignin) {
    const mine = epoch;
    const [list, team] = await Promise.all([
      api('GET', '/api/public/coworkers/profiles', { token: own.token }),
      loadTeam(),
    ]);
    if (mine !== epoch) return;
    own.team = team;
    const profiles = list && Array.isArray(list.Profiles) ? list.Profiles : [];
    const open = team ? team.Members.filter((member) => member.CanImpersonate) : [];
    if (afterSignin && profiles.length <= 1 && open.length === 0) {
      showHome();
      return;
    }
    el.profiles.replaceChildren(...profiles.map((profile) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'customer-result';
      button.dataset.profileId = String(profile.Id);
      if (profile.IsCurrent) button.setAttribute('aria-current', 'true');
      button.textContent = t('portal.select.profile', { name: profile.FullName, team: profile.TeamName });
      button.addEventListener('click', () => chooseProfile(profile));
      li.append(button);
      return li;
    }));
    el.selectMembersBlock.hidden = open.length === 0;
    if (team) el.selectMembersHeading.textContent = t('portal.select.membersHeading', { team: team.TeamName });
    el.selectMembers.replaceChildren(...open.map((member) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'customer-result';
      button.dataset.memberId = String(member.Id);
      button.textContent = t('portal.select.member', { name: member.FullName });
      button.addEventListener('click', () => askImpersonate(member));
      li.append(button);
      return li;
    }));
    show(el.select);
    el.selectHeading.focus();
  }

  async function chooseProfile(profile) {
    try {
      if (!profile.IsCurrent) {
        await api('PUT', '/api/public/coworkers/profiles/current', { token: own.token, body: { id: profile.Id } });
        own.session.profile = { Id: profile.Id, FullName: profile.FullName, TeamName: profile.TeamName };
      }
      // Read afresh: rules may have changed since the selection opened.
      own.team = await loadTeam();
      showHome();
    } catch (err) {
      failed(err, 'portal.notifications.switchFailed');
    }
  }

  // ------------------------------------------------------------------ home

  function showHome() {
    const session = current().session;
    const profile = session.profile;
    el.homeHeading.textContent = t('portal.home.heading', { name: profile ? profile.FullName : '' });
    el.homeTeam.textContent = profile ? t('portal.home.team', { team: profile.TeamName }) : '';
    el.profileName.textContent = profile ? profile.FullName : '';
    el.profileTeam.textContent = profile ? profile.TeamName : '';
    // While impersonating, only Stop leaves: the member's session has no
    // profile choice of its own and signing out belongs to the administrator.
    el.changeProfile.hidden = Boolean(acting);
    el.signout.hidden = Boolean(acting);
    el.profile.hidden = false;
    el.team.hidden = Boolean(acting) || !own.team;
    if (!el.team.hidden) renderTeam(own.team);
    showHistory();
    show(el.home);
    el.homeHeading.focus();
  }

  // "My account" (history.js) is the person's own: handed their bearer's
  // calls on their own session only, taken back otherwise.
  function showHistory() {
    if (acting || !own) {
      document.dispatchEvent(new CustomEvent('actas:history-closed'));
      return;
    }
    const token = own.token;
    document.dispatchEvent(new CustomEvent('actas:history', {
      detail: { api: (method, path, body) => api(method, path, { token, body }), t, failed },
    }));
  }

  function roleLabel(role) {
    return t(`portal.team.roles.${role}`);
  }

  // Why a member cannot be impersonated, in the page's language: the code
  // says what kind of refusal, the role and IsYou which case of it.
  function denialText(member) {
    const code = member.Denial ? member.Denial.Code : '';
    if (member.IsYou) return t('portal.team.denied.you');
    if (code === 'ACTAS__IMPERSONATION_OPTED_OUT') return t('portal.team.denied.optedOut');
    if (code === 'ACTAS__IMPERSONATION_DISABLED') return t('portal.team.denied.policyOff');
    if (code === 'ACTAS__IMPERSONATION_NOT_ALLOWED' && member.Role === 'owner') return t('portal.team.denied.owner');
    if (code === 'ACTAS__IMPERSONATION_NOT_ALLOWED' && member.Role === 'admin') return t('portal.team.denied.admin');
    return member.Denial && member.Denial.Detail ? member.Denial.Detail : t('portal.team.denied.other');
  }

  function renderTeam(team) {
    el.teamHeading.textContent = t('portal.team.heading', { team: team.TeamName });
    el.teamMembers.replaceChildren(...team.Members.map((member) => {
      const row = document.createElement('tr');
      row.dataset.memberId = String(member.Id);
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = member.IsYou ? t('portal.team.you', { name: member.FullName }) : member.FullName;
      const role = document.createElement('td');
      role.textContent = roleLabel(member.Role);
      const action = document.createElement('td');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'impersonate-account';
      button.textContent = t('portal.team.impersonate');
      button.setAttribute('aria-label', t('portal.team.impersonateWho', { name: member.FullName }));
      if (member.CanImpersonate) {
        button.addEventListener('click', () => askImpersonate(member));
        action.append(button);
      } else {
        // Disabled, with the reason beside it and read with the button.
        button.disabled = true;
        const why = document.createElement('p');
        why.className = 'hint denial';
        why.id = `portal-denial-${member.Id}`;
        why.textContent = denialText(member);
        button.setAttribute('aria-describedby', why.id);
        action.append(button, why);
      }
      row.append(name, role, action);
      return row;
    }));
  }

  // -------------------------------------------------------- impersonation

  function askImpersonate(member) {
    const team = own.team;
    chosen = member;
    el.modalIntro.textContent = t('portal.modal.intro', { name: member.FullName, team: team.TeamName });
    el.reason.value = '';
    el.reason.required = team.ReasonRequired;
    el.reason.maxLength = team.ReasonMaxLength || 500;
    el.reasonLabel.textContent = t(team.ReasonRequired ? 'portal.modal.reasonRequired' : 'portal.modal.reasonOptional');
    el.reasonHint.textContent = t('portal.modal.reasonHint', { max: el.reason.maxLength });
    el.modal.showModal();
    el.reason.focus();
  }

  async function onImpersonate(event) {
    event.preventDefault();
    if (busy || !chosen) return;
    const reason = el.reason.value.trim();
    if (el.reason.required && !reason) {
      el.reason.setCustomValidity(t('portal.modal.reasonMissing'));
      el.reason.reportValidity();
      return;
    }
    el.reason.setCustomValidity('');
    busy = true;
    const member = chosen;
    const mine = epoch;
    try {
      const headers = reason ? { [REASON_HEADER]: headerText(reason) } : {};
      const issued = await api('GET', `/api/public/coworkers/${encodeURIComponent(member.Id)}/impersonate`,
        { token: own.token, headers });
      // The one-time token goes straight to the exchange and is dropped.
      // Its 401 is a refused token, not the end of the administrator's session.
      const session = await api('POST', `/api/public/auth/login/${encodeURIComponent(issued.token)}`)
        .catch((err) => {
          throw err instanceof ApiError && err.status === 401 ? new ApiError(403, err.code, err.detail) : err;
        });
      if (mine !== epoch) return;
      el.modal.close();
      chosen = null;
      acting = { token: session.access_token, session };
      showHome();
    } catch (err) {
      el.modal.close();
      failed(err, 'portal.notifications.impersonateFailed');
    } finally {
      busy = false;
    }
  }

  // Ends the member's session only; the administrator's own goes on.
  async function onStop() {
    if (!acting || busy) return;
    busy = true;
    try {
      await endSession(acting.token);
    } catch (err) {
      busy = false;
      failed(err, 'portal.notifications.stopFailed');
      return;
    }
    acting = null;
    busy = false;
    try {
      own.team = await loadTeam();
      showHome();
    } catch (err) {
      failed(err, 'portal.notifications.loadFailed');
    }
  }

  async function onSignout() {
    const token = own ? own.token : null;
    signedOut();
    el.signinError.hidden = true;
    if (token) {
      try {
        await api('POST', '/api/public/auth/logout', { token });
      } catch (_) {
        // The page has forgotten the bearer either way.
      }
    }
  }

  // ---------------------------------------------------------------- wiring

  el.signinForm.addEventListener('submit', onSignin);
  el.selectSignout.addEventListener('click', onSignout);
  el.signout.addEventListener('click', onSignout);
  el.changeProfile.addEventListener('click', () => showSelect(false).catch((err) => failed(err, 'portal.notifications.loadFailed')));
  el.modalForm.addEventListener('submit', onImpersonate);
  el.modalCancel.addEventListener('click', () => {
    chosen = null;
    el.modal.close();
  });
  el.reason.addEventListener('input', () => el.reason.setCustomValidity(''));
  el.stop.addEventListener('click', onStop);
  show(el.signin);
})();
