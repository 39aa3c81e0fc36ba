// The login-as-customer flow and what surrounds it, driven by Shopware's
// own client (@shopware/api-client) the way a Shopware frontend and admin
// tool use it: nothing here sets a context token or a bearer by hand; the
// client picks them up from actas's answers. Exits non-zero, with the
// failed check on stderr, when actas answers anything a Shopware client
// would not cope with. Run by the e2e test `shopware_client`.
import assert from "node:assert/strict";
import { ApiClientError, createAPIClient, createAdminAPIClient } from "@shopware/api-client";

const base = process.env.ACTAS_BASE_URL;
const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is set`);
  return value;
};
const accessKey = env("ACTAS_ACCESS_KEY");
const customerId = env("ACTAS_CUSTOMER_ID");
const salesChannelId = env("ACTAS_SALES_CHANNEL_ID");
const adminId = env("ACTAS_ADMIN_ID");
const languageId = env("ACTAS_LANGUAGE_ID");

const store = createAPIClient({ baseURL: `${base}/store-api`, accessToken: accessKey });
const admin = createAdminAPIClient({
  baseURL: `${base}/api`,
  credentials: {
    grant_type: "password",
    client_id: "administration",
    scopes: "write",
    username: env("ACTAS_ADMIN_EMAIL"),
    password: env("ACTAS_ADMIN_PASSWORD"),
  },
});
const contextToken = () => store.defaultHeaders["sw-context-token"];
const steps = [];
const step = async (name, run) => {
  await run();
  steps.push(name);
};

// A frontend starts with no token: it gets a guest context and keeps its token.
await step("guest context", async () => {
  const { data, status } = await store.invoke("readContext get /context");
  assert.equal(status, 200);
  assert.equal(data.customer, null);
  assert.equal(data.imitated, false);
  assert.ok(contextToken(), "the client holds the guest's token");
  assert.equal(data.token, contextToken());
});

// The visitor picks a language: the answer is a ContextTokenResponse.
await step("context update", async () => {
  const before = contextToken();
  const { data, status } = await store.invoke("updateContext patch /context", { body: { languageId } });
  assert.equal(status, 200);
  assert.equal(data.contextToken, before);
  assert.equal(contextToken(), before);
  const { data: context } = await store.invoke("readContext get /context");
  assert.equal(context.payload.languageId, languageId);
});

// The admin client signs in by itself and asks for the one-time token.
let token;
await step("admin token", async () => {
  const { data, status } = await admin.invoke(
    "generateImitateCustomerToken post /_proxy/generate-imitate-customer-token",
    { body: { customerId, salesChannelId } },
  );
  assert.equal(status, 200);
  token = data.token;
  assert.ok(admin.getSessionData().refreshToken, "the password grant answered a refresh token");
});

// The storefront exchanges it; the client switches to the new context.
let imitated;
await step("login as customer", async () => {
  const guest = contextToken();
  const { data, status } = await store.invoke("imitateCustomerLogin post /account/login/imitate-customer", {
    body: { token, customerId, userId: adminId },
  });
  assert.equal(status, 200);
  imitated = contextToken();
  assert.notEqual(imitated, guest);
  assert.equal(data.contextToken, imitated);
  const { data: context } = await store.invoke("readContext get /context");
  assert.equal(context.imitated, true);
  assert.equal(context.imitatingUserId, adminId);
  assert.equal(context.customerId, customerId);
});

// The spent token is refused in Shopware's error envelope.
await step("error envelope", async () => {
  const refused = await store
    .invoke("imitateCustomerLogin post /account/login/imitate-customer", {
      body: { token, customerId, userId: adminId },
    })
    .then(() => null, (error) => error);
  assert.ok(refused instanceof ApiClientError, `an ApiClientError, not ${refused}`);
  assert.equal(refused.status, 400);
  assert.equal(refused.details.errors[0].code, "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN");
  assert.equal(refused.details.errors[0].status, "400");
  assert.ok(!JSON.stringify(refused.details).includes(token), "the token is not echoed");
});

// Logout ends the impersonation and hands out a guest context: the next
// call works without anybody deleting the header by hand.
await step("logout", async () => {
  const { data, status } = await store.invoke("logoutCustomer post /account/logout");
  assert.equal(status, 200);
  assert.notEqual(contextToken(), imitated);
  assert.equal(data.contextToken, contextToken());
  const { data: context, status: after } = await store.invoke("readContext get /context");
  assert.equal(after, 200);
  assert.equal(context.customer, null);
  assert.equal(context.imitated, false);
});

// The admin's bearer runs out: the client refreshes it by itself, with
// the refresh token, not the password.
await step("admin token refresh", async () => {
  const before = admin.getSessionData();
  admin.setSessionData({ ...before, expirationTime: Date.now() - 1000 });
  const refreshes = [];
  const unhook = admin.hook("onAuthChange", (session) => refreshes.push(session));
  const { data, status } = await admin.invoke("infoMe get /_info/me");
  unhook();
  assert.equal(status, 200);
  assert.equal(data.data.id, adminId);
  assert.equal(refreshes.length, 1, "one refresh");
  const after = admin.getSessionData();
  assert.notEqual(after.accessToken, before.accessToken);
  assert.notEqual(after.refreshToken, before.refreshToken);
  assert.ok(after.expirationTime > Date.now());
});

console.log(JSON.stringify({ steps }));
