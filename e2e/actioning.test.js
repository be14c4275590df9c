// heed's FusionAuth actioning API, driven only through the official
// @fusionauth/typescript-client (unchanged) and checked field by field against
// /work/shared/reference/fusionauth-compat.md (cited below as §n): user action
// definitions (§3), reasons (§4), actioning users (§5), login prevention, the
// user.action event (§6) and the tenant's event configuration (§2, §9 #839).
//
// Raw fetch is used only where FusionAuth has no client method: the Waldur-side
// uuid lookup (GET /api/users/?username=), the login/token checks, and the
// webhook receiver. Every definition and reason gets a random suffix, so the
// tests do not depend on (or collide with) heed's demo actioning data.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { FusionAuthClient } from '@fusionauth/typescript-client';
import { startHeed, receiver } from './lib/heed.js';

const API_KEY = 'demo-staff-token'; // FusionAuth style: the bare key (§1)
const WALDUR_AUTH = { Authorization: 'Token demo-staff-token' };
const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const suffix = () => randomBytes(4).toString('hex');
const json = (v) => JSON.stringify(v);

let heed;
let recv;
let client;
const users = {}; // username -> FusionAuth (dashed) id

// --- helpers ----------------------------------------------------------------

/** 32 hex chars → 8-4-4-4-12. */
function dash(hex) {
  assert.match(hex, /^[0-9a-f]{32}$/, `not a hex uuid: ${hex}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function raw(method, path, { headers = {}, body } = {}) {
  const res = await fetch(`${heed.url}${path}`, {
    method,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, text };
}

async function userID(username) {
  const res = await raw('GET', `/api/users/?username=${encodeURIComponent(username)}`, { headers: WALDUR_AUTH });
  assert.equal(res.status, 200, `GET /api/users/?username=${username}: ${res.status} ${res.text}`);
  assert.ok(Array.isArray(res.body) && res.body.length === 1, `GET /api/users/?username=${username}: ${res.text}`);
  return dash(res.body[0].uuid);
}

/** Awaits a client call that must succeed with 200; returns the ClientResponse. */
async function ok(promise, what) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    assert.fail(`${what}: rejected with ${err?.statusCode} ${json(err?.exception ?? err?.message ?? err)}`);
  }
  assert.equal(res.statusCode, 200, `${what}: statusCode`);
  return res;
}

/** Awaits a client call that must reject with `status`; returns the ClientResponse. */
async function fails(promise, status, what) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    assert.ok(err && typeof err === 'object' && 'statusCode' in err, `${what}: rejected with a non-ClientResponse: ${err}`);
    assert.equal(err.statusCode, status, `${what}: expected ${status}, got ${err.statusCode} ${json(err.exception)}`);
    return err;
  }
  assert.fail(`${what}: expected ${status}, got ${res.statusCode} ${json(res.response)}`);
}

/** 404 with an empty body (§1: the client then has no exception object). */
async function notFound(promise, what) {
  const err = await fails(promise, 404, what);
  assert.equal(err.exception, undefined, `${what}: 404 must have an empty body (§1), got ${json(err.exception)}`);
  return err;
}

/** 400 whose Errors object has fieldErrors[path][0].code === code (§1). */
async function fieldError(promise, path, code, what = `${path} ${code}`) {
  const err = await fails(promise, 400, what);
  const errors = err.exception;
  assert.ok(errors && typeof errors === 'object', `${what}: 400 without a JSON Errors body`);
  const list = errors.fieldErrors?.[path];
  assert.ok(Array.isArray(list) && list.length > 0, `${what}: no fieldErrors["${path}"] in ${json(errors)}`);
  assert.equal(list[0].code, code, `${what}: fieldErrors["${path}"][0].code in ${json(errors)}`);
  assert.equal(typeof list[0].message, 'string', `${what}: fieldErrors["${path}"][0].message`);
  return errors;
}

/** Exactly these keys: every `required` one present and non-null, nothing outside required ∪ optional. */
function assertKeys(obj, required, optional = [], what = 'object') {
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${what}: not an object: ${json(obj)}`);
  const keys = Object.keys(obj);
  const missing = required.filter((k) => !(k in obj) || obj[k] === null || obj[k] === undefined);
  const allowed = new Set([...required, ...optional]);
  const extra = keys.filter((k) => !allowed.has(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${what}: keys ${json(keys.sort())}; body ${json(obj)}`);
  for (const [k, v] of Object.entries(obj)) assert.notEqual(v, null, `${what}.${k} is null: nulls are omitted (§1)`);
}

function assertInstant(v, what) {
  assert.equal(typeof v, 'number', `${what}: instants are epoch-ms numbers (§1), got ${json(v)}`);
  assert.ok(Number.isInteger(v) && v > 1_500_000_000_000, `${what}: not an epoch-ms instant: ${v}`);
}

function assertID(v, what) {
  assert.equal(typeof v, 'string', `${what}: ids are strings, got ${json(v)}`);
  assert.match(v, DASHED, `${what}: ids are dashed lower-case UUIDs (§1)`);
}

function assertNear(actual, expected, slackMs, what) {
  assert.ok(Math.abs(actual - expected) <= slackMs, `${what}: ${actual} is not within ${slackMs} ms of ${expected} (off by ${actual - expected})`);
}

// §2 (User row) and §9 (#3550: the event's `user`): the fields heed keeps/sends.
// FusionAuth users carry a username too (its User model has one); heed
// sends it, so consumers that look users up by username can.
const USER_FIELDS = ['username', 'email', 'firstName', 'lastName', 'fullName', 'preferredLanguages', 'timezone', 'data'];
const EVENT_USER_FIELDS = ['id', 'tenantId', 'username', 'email', 'firstName', 'lastName', 'fullName', 'preferredLanguages', 'active', 'data', 'insertInstant', 'lastUpdateInstant'];

const DEFINITION_BOOLS = [
  'active', 'temporal', 'preventLogin', 'sendEndEvent', 'userEmailingEnabled', 'userNotificationsEnabled', 'includeEmailInEventJSON',
];
const DEFINITION_OPTIONAL = [
  'localizedNames', 'options', 'transactionType',
  'startEmailTemplateId', 'modifyEmailTemplateId', 'cancelEmailTemplateId', 'endEmailTemplateId',
];

/** A userAction object (§3): booleans always present, ids dashed, instants numbers. */
function checkDefinition(d, what, { required = [] } = {}) {
  assertKeys(d, ['id', 'name', ...DEFINITION_BOOLS, 'insertInstant', 'lastUpdateInstant', ...required], DEFINITION_OPTIONAL, what);
  assertID(d.id, `${what}.id`);
  for (const b of DEFINITION_BOOLS) assert.equal(typeof d[b], 'boolean', `${what}.${b} must be a boolean (§1)`);
  assertInstant(d.insertInstant, `${what}.insertInstant`);
  assertInstant(d.lastUpdateInstant, `${what}.lastUpdateInstant`);
  assert.ok(d.lastUpdateInstant >= d.insertInstant, `${what}: lastUpdateInstant < insertInstant`);
}

/** A userActionReason object (§4). */
function checkReason(r, what) {
  assertKeys(r, ['id', 'text', 'code', 'insertInstant', 'lastUpdateInstant'], ['localizedTexts'], what);
  assertID(r.id, `${what}.id`);
  assertInstant(r.insertInstant, `${what}.insertInstant`);
  assertInstant(r.lastUpdateInstant, `${what}.lastUpdateInstant`);
}

/**
 * A UserActionLog (§5.3, §5.4). `kind` is 'temporal' or 'instant'; `history`
 * says whether history must be present (GET/PUT/DELETE) or absent (POST).
 */
function checkInstance(a, { kind, history, reason = false, option = false, comment = true, endEventSent = kind === 'temporal' }, what) {
  const required = [
    'id', 'userActionId', 'actioneeUserId', 'actionerUserId', 'applicationIds', 'insertInstant', 'name', 'localizedName',
    'emailUserOnEnd', 'notifyUserOnEnd',
  ];
  if (comment) required.push('comment');
  if (kind === 'temporal') required.push('expiry');
  if (endEventSent) required.push('endEventSent');
  if (reason) required.push('reason', 'localizedReason', 'reasonCode');
  if (option) required.push('option', 'localizedOption');
  if (history) required.push('history');
  assertKeys(a, required, [], what);
  for (const k of ['id', 'userActionId', 'actioneeUserId', 'actionerUserId']) assertID(a[k], `${what}.${k}`);
  assert.ok(Array.isArray(a.applicationIds), `${what}.applicationIds must always be an array (§5.3)`);
  a.applicationIds.forEach((id, i) => assertID(id, `${what}.applicationIds[${i}]`));
  assertInstant(a.insertInstant, `${what}.insertInstant`);
  if (kind === 'temporal') assertInstant(a.expiry, `${what}.expiry`);
  for (const b of ['emailUserOnEnd', 'notifyUserOnEnd']) assert.equal(typeof a[b], 'boolean', `${what}.${b} must be a boolean`);
  if (endEventSent) assert.equal(typeof a.endEventSent, 'boolean', `${what}.endEventSent must be a boolean`);
  if (history) {
    assertKeys(a.history, ['historyItems'], [], `${what}.history`);
    assert.ok(Array.isArray(a.history.historyItems), `${what}.history.historyItems must be an array`);
    a.history.historyItems.forEach((h, i) => {
      assertKeys(h, ['actionerUserId', 'createInstant', 'expiry'], ['comment'], `${what}.history.historyItems[${i}]`);
      assertID(h.actionerUserId, `${what}.history.historyItems[${i}].actionerUserId`);
      assertInstant(h.createInstant, `${what}.history.historyItems[${i}].createInstant`);
      assertInstant(h.expiry, `${what}.history.historyItems[${i}].expiry`);
    });
  }
}

/** The {actions: [...]} list for a user, restricted to the given instance ids (demo data may hold others). */
async function actionIDs(promise, what) {
  const res = await ok(promise, what);
  assertKeys(res.response, ['actions'], [], what);
  assert.ok(Array.isArray(res.response.actions), `${what}: actions is not an array`);
  return res.response.actions.map((a) => a.id);
}

function sortedBy(list, key) {
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1];
    const b = list[i];
    if (a[key] > b[key] || (a[key] === b[key] && a.id > b.id)) return false;
  }
  return true;
}

// --- suite --------------------------------------------------------------------

describe('heed FusionAuth actioning API (typescript-client)', () => {
  before(async () => {
    if (!process.env.HEED_BIN) return; // the first test fails loudly
    recv = await receiver();
    heed = await startHeed();
    client = new FusionAuthClient(API_KEY, heed.url);
    for (const name of ['admin', 'alice', 'bob', 'carol']) users[name] = await userID(name);
  });

  after(async () => {
    await heed?.stop();
    await recv?.close();
  });

  test('0. setup: heed runs, the client authenticates, GET /api/user/{id} serves demo users', async (t) => {
    assert.ok(process.env.HEED_BIN, 'HEED_BIN is not set: point it at a heed binary (e2e/run.sh builds one)');
    t.diagnostic(`heed at ${heed.url} (database ${heed.db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'})`);

    // §1: a bad key gives 401 with an empty body.
    const bad = new FusionAuthClient('not-a-key', heed.url);
    const unauth = await fails(bad.retrieveUserActions(), 401, 'retrieveUserActions with a bad key');
    assert.equal(unauth.exception, undefined, '401 must have an empty body (§1)');

    const res = await ok(client.retrieveUser(users.alice), 'retrieveUser(alice)');
    const u = res.response.user;
    assert.ok(u, `retrieveUser: no user in ${json(res.response)}`);
    assert.equal(u.id, users.alice);
    assertID(u.tenantId, 'user.tenantId');
    assert.equal(u.email, 'alice@example.com');
    assert.equal(typeof u.active, 'boolean', 'user.active must be a boolean (§1)');
    assert.equal(u.password, undefined, 'a user never carries its password (§2)');
    await t.test('GET /api/user/{id} returns only the §2 user fields and username', () => {
      // §2 "Fields heed keeps" for User: id, tenantId, email, firstName, lastName, fullName, preferredLanguages, timezone, active, data, instants
      assertKeys(u, ['id', 'tenantId', 'active', 'insertInstant', 'lastUpdateInstant'], USER_FIELDS, 'retrieveUser → user');
    });
    await notFound(client.retrieveUser(randomUUID()), 'retrieveUser(unknown)');
  });

  test('1. user action definitions (§3): CRUD, soft/hard delete, reactivate, validation', async () => {
    const s = suffix();

    // create without an id
    const a = await ok(client.createUserAction(null, { userAction: { name: `e2e-def-b-${s}`, userNotificationsEnabled: true } }), 'createUserAction');
    const A = a.response.userAction;
    checkDefinition(A, 'createUserAction → userAction');
    assert.equal(A.name, `e2e-def-b-${s}`);
    assert.equal(A.active, true, 'create sets active');
    assert.equal(A.temporal, false, 'temporal defaults to false');
    assert.equal(A.preventLogin, false, 'preventLogin defaults to false');
    assert.equal(A.sendEndEvent, true, 'sendEndEvent defaults to true (§3)');
    assert.equal(A.userEmailingEnabled, false);
    assert.equal(A.userNotificationsEnabled, true);
    assert.equal(A.includeEmailInEventJSON, false);

    // create with an id; `active: false` in the body is ignored (heed decides)
    const bID = randomUUID();
    const b = await ok(
      client.createUserAction(bID, { userAction: { name: `e2e-def-a-${s}`, active: false, localizedNames: { de: `E2E-de-${s}` } } }),
      'createUserAction(id)',
    );
    const B = b.response.userAction;
    checkDefinition(B, 'createUserAction(id) → userAction', { required: ['localizedNames'] });
    assert.equal(B.id, bID, 'the id comes from the URL');
    assert.equal(B.active, true, '`active` in a request body is ignored (§3)');
    assert.deepEqual(B.localizedNames, { de: `E2E-de-${s}` });
    await fieldError(client.createUserAction(bID, { userAction: { name: `e2e-def-c-${s}` } }), 'userActionId', '[duplicate]userActionId');

    // retrieve one
    const got = await ok(client.retrieveUserAction(A.id), 'retrieveUserAction');
    assertKeys(got.response, ['userAction'], [], 'retrieveUserAction response');
    checkDefinition(got.response.userAction, 'retrieveUserAction → userAction');
    assert.deepEqual(got.response.userAction, A);

    // the active list, sorted by name then id (heed decides)
    const list = await ok(client.retrieveUserActions(), 'retrieveUserActions');
    assertKeys(list.response, ['userActions'], [], 'retrieveUserActions response');
    const all = list.response.userActions;
    all.forEach((d, i) => checkDefinition(d, `userActions[${i}]`));
    assert.ok(all.every((d) => d.active === true), 'retrieveUserActions lists active definitions only');
    assert.ok(sortedBy(all, 'name'), `retrieveUserActions not sorted by name, id: ${json(all.map((d) => d.name))}`);
    const mine = all.filter((d) => d.id === A.id || d.id === B.id).map((d) => d.id);
    assert.deepEqual(mine, [B.id, A.id], 'both new definitions listed, "e2e-def-a" before "e2e-def-b"');

    // PUT replaces: fields not sent fall back to their defaults
    const put = await ok(
      client.updateUserAction(A.id, {
        userAction: { name: `e2e-def-b-${s}-put`, temporal: true, preventLogin: true, sendEndEvent: false, localizedNames: { de: `Sperre-${s}` } },
      }),
      'updateUserAction',
    );
    const P = put.response.userAction;
    checkDefinition(P, 'updateUserAction → userAction', { required: ['localizedNames'] });
    assert.equal(P.id, A.id);
    assert.equal(P.name, `e2e-def-b-${s}-put`);
    assert.equal(P.temporal, true);
    assert.equal(P.preventLogin, true);
    assert.equal(P.sendEndEvent, false);
    assert.equal(P.userNotificationsEnabled, false, 'PUT replaces the whole object (§1): an omitted flag is reset');
    assert.equal(P.active, true, 'PUT never changes active');
    assert.equal(P.insertInstant, A.insertInstant, 'insertInstant is kept');
    assert.ok(P.lastUpdateInstant >= A.lastUpdateInstant, 'lastUpdateInstant moves forward');
    assert.deepEqual(P.localizedNames, { de: `Sperre-${s}` });

    // PATCH merges: unsent fields stay, maps merge (§1)
    const patch = await ok(
      client.patchUserAction(A.id, { userAction: { userNotificationsEnabled: true, localizedNames: { fr: `Verrou-${s}` } } }),
      'patchUserAction',
    );
    const M = patch.response.userAction;
    checkDefinition(M, 'patchUserAction → userAction', { required: ['localizedNames'] });
    assert.equal(M.name, P.name, 'PATCH keeps name');
    assert.equal(M.temporal, true, 'PATCH keeps temporal');
    assert.equal(M.preventLogin, true, 'PATCH keeps preventLogin');
    assert.equal(M.sendEndEvent, false, 'PATCH keeps sendEndEvent');
    assert.equal(M.userNotificationsEnabled, true, 'PATCH sets the sent field');
    assert.deepEqual(M.localizedNames, { de: `Sperre-${s}`, fr: `Verrou-${s}` }, 'PATCH merges localizedNames');
    assert.deepEqual((await ok(client.retrieveUserAction(A.id), 'retrieve after patch')).response.userAction, M, 'PATCH persisted');

    // soft delete → inactive list; GET /{id} still answers; reactivate
    const del = await ok(client.deactivateUserAction(A.id), 'deactivateUserAction');
    assert.equal(del.response, undefined, 'a delete sends no body (§1)');
    const activeIDs = (await ok(client.retrieveUserActions(), 'retrieveUserActions after deactivate')).response.userActions.map((d) => d.id);
    assert.ok(!activeIDs.includes(A.id), 'a deactivated definition leaves the active list');
    const inactive = (await ok(client.retrieveInactiveUserActions(), 'retrieveInactiveUserActions')).response.userActions;
    inactive.forEach((d, i) => checkDefinition(d, `inactive userActions[${i}]`));
    assert.ok(inactive.every((d) => d.active === false), 'the inactive list holds inactive definitions only');
    assert.ok(sortedBy(inactive, 'name'), 'the inactive list is sorted by name, id');
    const soft = inactive.find((d) => d.id === A.id);
    assert.ok(soft, 'the deactivated definition is in retrieveInactiveUserActions');
    assert.equal(soft.active, false);
    assert.equal((await ok(client.retrieveUserAction(A.id), 'retrieve inactive')).response.userAction.active, false);
    // an inactive action cannot be applied (§3, §5.4)
    await fieldError(
      client.actionUser({ action: { userActionId: A.id, actioneeUserId: users.alice, actionerUserId: users.admin, expiry: Date.now() + HOUR } }),
      'action.userActionId',
      '[invalid]action.userActionId',
      'actionUser with an inactive definition',
    );
    const re = await ok(client.reactivateUserAction(A.id), 'reactivateUserAction');
    checkDefinition(re.response.userAction, 'reactivateUserAction → userAction', { required: ['localizedNames'] });
    assert.equal(re.response.userAction.active, true);
    assert.ok((await ok(client.retrieveUserActions(), 'list after reactivate')).response.userActions.some((d) => d.id === A.id));
    assert.equal((await ok(client.reactivateUserAction(A.id), 'reactivate an active one')).response.userAction.active, true, 'reactivating an active action is a no-op');

    // hard delete → 404
    const hard = await ok(client.deleteUserAction(A.id), 'deleteUserAction');
    assert.equal(hard.response, undefined, 'a delete sends no body (§1)');
    await notFound(client.retrieveUserAction(A.id), 'retrieveUserAction after hard delete');
    await notFound(client.updateUserAction(A.id, { userAction: { name: `e2e-gone-${s}` } }), 'updateUserAction after hard delete');

    // validation (§3): 400, nothing written
    const countBefore = (await ok(client.retrieveUserActions(), "list before validation")).response.userActions.length;
    await fieldError(client.createUserAction(null, { userAction: { temporal: true } }), 'userAction.name', '[blank]userAction.name', 'missing name');
    await fieldError(client.createUserAction(null, { userAction: { name: '  ' } }), 'userAction.name', '[blank]userAction.name', 'blank name');
    await fieldError(client.createUserAction(null, {}), 'userAction', '[missing]userAction', 'no userAction object');
    await fieldError(client.createUserAction(null, { userAction: { name: B.name } }), 'userAction.name', '[duplicate]userAction.name', 'duplicate name');
    await fieldError(
      client.createUserAction(null, { userAction: { name: B.name.toUpperCase() } }),
      'userAction.name',
      '[duplicate]userAction.name',
      'duplicate name, other case (unique ignoring case)',
    );
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-pl-${s}`, preventLogin: true } }),
      'userAction.preventLogin',
      '[invalid]userAction.preventLogin',
      'preventLogin without temporal',
    );
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-opt-${s}`, temporal: true, options: [{ name: 'soft' }] } }),
      'userAction.options',
      '[invalid]userAction.options',
      'options on a temporal action',
    );
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-optdup-${s}`, options: [{ name: 'soft' }, { name: 'soft' }] } }),
      'userAction.options[1].name',
      '[duplicate]userAction.options[1].name',
      'duplicate option name',
    );
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-mail-${s}`, userEmailingEnabled: true } }),
      'userAction.startEmailTemplateId',
      '[missing]userAction.startEmailTemplateId',
      'emailing without a start template',
    );
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-mail-${s}`, userEmailingEnabled: true, startEmailTemplateId: randomUUID() } }),
      'userAction.startEmailTemplateId',
      '[invalid]userAction.startEmailTemplateId',
      'an unknown start template',
    );
    await fieldError(
      client.updateUserAction(B.id, { userAction: { name: B.name, preventLogin: true } }),
      'userAction.preventLogin',
      '[invalid]userAction.preventLogin',
      'PUT: preventLogin without temporal',
    );
    const countAfter = (await ok(client.retrieveUserActions(), "list after validation")).response.userActions.length;
    assert.equal(countAfter, countBefore, "a rejected request writes nothing");

    // emailing with a real template (the §2 email template API)
    const tpl = await ok(
      client.createEmailTemplate(null, {
        emailTemplate: { name: `e2e-tpl-${s}`, defaultSubject: 'Action', defaultTextTemplate: 'text', defaultHtmlTemplate: '<p>html</p>' },
      }),
      'createEmailTemplate',
    );
    const tplID = tpl.response.emailTemplate?.id;
    assertID(tplID, 'emailTemplate.id');
    const mailer = await ok(
      client.createUserAction(null, { userAction: { name: `e2e-mail-${s}`, userEmailingEnabled: true, startEmailTemplateId: tplID } }),
      'createUserAction with a start template',
    );
    checkDefinition(mailer.response.userAction, 'emailing definition', { required: ['startEmailTemplateId'] });
    assert.equal(mailer.response.userAction.startEmailTemplateId, tplID);
    await fieldError(
      client.createUserAction(null, { userAction: { name: `e2e-mailt-${s}`, temporal: true, userEmailingEnabled: true, startEmailTemplateId: tplID } }),
      'userAction.modifyEmailTemplateId',
      '[missing]userAction.modifyEmailTemplateId',
      'temporal emailing without a modify template',
    );
  });

  test('2. user action reasons (§4): CRUD and validation', async () => {
    const s = suffix();
    const r1 = await ok(client.createUserActionReason(null, { userActionReason: { text: `Because ${s}`, code: `e2eb${s}` } }), 'createUserActionReason');
    assertKeys(r1.response, ['userActionReason'], [], 'createUserActionReason response');
    const R1 = r1.response.userActionReason;
    checkReason(R1, 'createUserActionReason → userActionReason');
    assert.equal(R1.text, `Because ${s}`);
    assert.equal(R1.code, `e2eb${s}`);

    const id2 = randomUUID();
    const r2 = await ok(
      client.createUserActionReason(id2, { userActionReason: { text: `Because ${s}`, code: `e2ea${s}`, localizedTexts: { de: `Weil ${s}` } } }),
      'createUserActionReason(id)',
    );
    const R2 = r2.response.userActionReason;
    checkReason(R2, 'createUserActionReason(id) → userActionReason');
    assert.equal(R2.id, id2, 'the id comes from the URL');
    assert.deepEqual(R2.localizedTexts, { de: `Weil ${s}` });
    await fieldError(
      client.createUserActionReason(id2, { userActionReason: { text: 'x', code: `e2ec${s}` } }),
      'userActionReasonId',
      '[duplicate]userActionReasonId',
    );

    const got = await ok(client.retrieveUserActionReason(R1.id), 'retrieveUserActionReason');
    assert.deepEqual(got.response, { userActionReason: R1 });

    const list = await ok(client.retrieveUserActionReasons(), 'retrieveUserActionReasons');
    assertKeys(list.response, ['userActionReasons'], [], 'retrieveUserActionReasons response');
    list.response.userActionReasons.forEach((r, i) => checkReason(r, `userActionReasons[${i}]`));
    const mine = list.response.userActionReasons.filter((r) => r.id === R1.id || r.id === R2.id).map((r) => r.code);
    assert.deepEqual(mine, [`e2ea${s}`, `e2eb${s}`], 'reasons are listed sorted by code (§4)');

    // PUT replaces (localizedTexts dropped), PATCH merges
    const put = await ok(client.updateUserActionReason(R2.id, { userActionReason: { text: `Put ${s}`, code: `e2ea${s}` } }), 'updateUserActionReason');
    const P = put.response.userActionReason;
    checkReason(P, 'updateUserActionReason → userActionReason');
    assert.equal(P.text, `Put ${s}`);
    assert.equal(P.localizedTexts, undefined, 'PUT replaces: localizedTexts not sent → gone (nulls omitted)');
    assert.equal(P.insertInstant, R2.insertInstant);
    const patch = await ok(client.patchUserActionReason(R2.id, { userActionReason: { localizedTexts: { fr: `Parce que ${s}` } } }), 'patchUserActionReason');
    const M = patch.response.userActionReason;
    checkReason(M, 'patchUserActionReason → userActionReason');
    assert.equal(M.text, `Put ${s}`, 'PATCH keeps text');
    assert.equal(M.code, `e2ea${s}`, 'PATCH keeps code');
    assert.deepEqual(M.localizedTexts, { fr: `Parce que ${s}` });

    // validation
    await fieldError(
      client.createUserActionReason(null, { userActionReason: { text: 'dup', code: R1.code } }),
      'userActionReason.code',
      '[duplicate]userActionReason.code',
      'duplicate code',
    );
    await fieldError(
      client.patchUserActionReason(R2.id, { userActionReason: { code: R1.code } }),
      'userActionReason.code',
      '[duplicate]userActionReason.code',
      'PATCH to a duplicate code',
    );
    await fieldError(client.createUserActionReason(null, { userActionReason: { code: `e2ed${s}` } }), 'userActionReason.text', '[blank]userActionReason.text', 'missing text');
    await fieldError(
      client.createUserActionReason(null, { userActionReason: { text: ' ', code: `e2ed${s}` } }),
      'userActionReason.text',
      '[blank]userActionReason.text',
      'blank text',
    );
    await fieldError(client.createUserActionReason(null, { userActionReason: { text: 'x', code: '' } }), 'userActionReason.code', '[blank]userActionReason.code', 'blank code');
    await fieldError(client.createUserActionReason(null, {}), 'userActionReason', '[missing]userActionReason', 'no userActionReason object');
    await fieldError(
      client.createUserActionReason(null, { userActionReason: { text: 'x'.repeat(256), code: `e2ee${s}` } }),
      'userActionReason.text',
      '[tooLong]userActionReason.text',
      'text over 255 characters',
    );
    // texts need not be unique
    const r3 = await ok(client.createUserActionReason(null, { userActionReason: { text: R1.text, code: `e2ef${s}` } }), 'same text, new code');

    // delete (no soft delete) → 404
    for (const id of [R1.id, R2.id, r3.response.userActionReason.id]) {
      const del = await ok(client.deleteUserActionReason(id), 'deleteUserActionReason');
      assert.equal(del.response, undefined, 'a delete sends no body (§1)');
      await notFound(client.retrieveUserActionReason(id), 'retrieveUserActionReason after delete');
    }
  });

  test('3. actioning users (§5): take, retrieve, lists, modify, cancel, instantaneous, validation', async () => {
    const s = suffix();
    const actionee = users.alice;
    const actioner = users.admin;
    const T = (
      await ok(client.createUserAction(null, { userAction: { name: `e2e-lock-${s}`, temporal: true, preventLogin: true } }), 'create temporal')
    ).response.userAction;
    const N = (
      await ok(
        client.createUserAction(null, {
          userAction: { name: `e2e-note-${s}`, options: [{ name: 'soft', localizedNames: { en: 'Soft one' } }, { name: 'hard' }] },
        }),
        'create instantaneous with options',
      )
    ).response.userAction;
    checkDefinition(N, 'definition with options', { required: ['options'] });
    assert.deepEqual(N.options.map((o) => o.name), ['soft', 'hard']);
    const R = (await ok(client.createUserActionReason(null, { userActionReason: { text: `Misbehaved ${s}`, code: `e2er${s}` } }), 'create reason'))
      .response.userActionReason;
    const app = (await ok(client.createApplication(null, { application: { name: `e2e-app-${s}` } }), 'createApplication')).response.application;
    assertID(app.id, 'application.id');

    // take: temporal, with reason and comment, ~3 s ahead
    const expiry1 = Date.now() + 3 * SECOND;
    const taken = await ok(
      client.actionUser({
        broadcast: false,
        action: { userActionId: T.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'first', expiry: expiry1, reasonId: R.id },
      }),
      'actionUser (temporal)',
    );
    assertKeys(taken.response, ['action'], [], 'actionUser response');
    const A = taken.response.action;
    // exactly the real take-action response's keys (§5.3), no history (§5.4)
    checkInstance(A, { kind: 'temporal', history: false, reason: true }, 'actionUser → action');
    assert.equal(A.history, undefined, 'POST responses omit history (§5.4)');
    assert.equal(A.userActionId, T.id);
    assert.equal(A.actioneeUserId, actionee);
    assert.equal(A.actionerUserId, actioner);
    assert.deepEqual(A.applicationIds, []);
    assert.equal(A.comment, 'first');
    assert.equal(A.expiry, expiry1);
    assert.equal(A.name, T.name);
    assert.equal(A.localizedName, T.name, 'no localizedNames → the plain name');
    assert.equal(A.reason, R.text);
    assert.equal(A.localizedReason, R.text);
    assert.equal(A.reasonCode, R.code);
    assert.equal(A.emailUserOnEnd, false);
    assert.equal(A.notifyUserOnEnd, false);
    assert.equal(A.endEventSent, false, 'a fresh temporal instance shows endEventSent false (§5.3)');
    assert.equal(A.reasonId, undefined, 'the instance stores the reason by value, no reasonId (§4)');
    assertNear(A.insertInstant, Date.now(), 5 * SECOND, 'insertInstant ≈ now');

    // retrieve one: with history
    const one = await ok(client.retrieveAction(A.id), 'retrieveAction');
    checkInstance(one.response.action, { kind: 'temporal', history: true, reason: true }, 'retrieveAction → action');
    assert.deepEqual(one.response.action.history, { historyItems: [] });
    const { history: _h, ...oneNoHistory } = one.response.action;
    assert.deepEqual(oneNoHistory, A, 'retrieveAction = the take response + history');

    // the actionee's lists (restricted to this test's instances)
    const own = (ids) => ids.filter((id) => id === A.id);
    assert.deepEqual(own(await actionIDs(client.retrieveActions(actionee), 'retrieveActions')), [A.id]);
    assert.deepEqual(own(await actionIDs(client.retrieveActiveActions(actionee), 'retrieveActiveActions')), [A.id]);
    assert.deepEqual(own(await actionIDs(client.retrieveInactiveActions(actionee), 'retrieveInactiveActions')), []);
    assert.deepEqual(own(await actionIDs(client.retrieveActionsPreventingLogin(actionee), 'retrieveActionsPreventingLogin')), [A.id]);
    const full = (await ok(client.retrieveActions(actionee), 'retrieveActions')).response.actions;
    full.forEach((a) => assert.equal(a.actioneeUserId, actionee, 'retrieveActions lists only the actionee’s instances'));
    assert.ok(sortedBy(full, 'insertInstant'), 'instances are listed by insertInstant, id (§5.4)');

    // modify: new expiry and comment → one history item with the OLD values
    const expiry2 = Date.now() + 2 * HOUR;
    const mod = await ok(
      client.modifyAction(A.id, { broadcast: false, action: { actionerUserId: actioner, comment: 'second', expiry: expiry2 } }),
      'modifyAction',
    );
    const Mo = mod.response.action;
    checkInstance(Mo, { kind: 'temporal', history: true, reason: true }, 'modifyAction → action');
    assert.equal(Mo.id, A.id);
    assert.equal(Mo.expiry, expiry2);
    assert.equal(Mo.comment, 'second', 'comment is the latest one');
    assert.equal(Mo.insertInstant, A.insertInstant, 'insertInstant never changes');
    assert.equal(Mo.history.historyItems.length, 1, 'a modify records one history item');
    const h1 = Mo.history.historyItems[0];
    assert.equal(h1.expiry, expiry1, 'the history item holds the expiry before the change (§5.3)');
    assert.equal(h1.comment, 'first', 'the history item holds the comment before the change');
    assert.equal(h1.actionerUserId, actioner);
    assert.equal(h1.createInstant, A.insertInstant, 'the item’s createInstant is when the replaced state was set');
    assert.deepEqual((await ok(client.retrieveAction(A.id), 'retrieve after modify')).response.action, Mo, 'modify persisted');

    // cancel: DELETE with a body; expiry ≈ now; inactive afterwards
    const cancelAt = Date.now();
    const can = await ok(client.cancelAction(A.id, { broadcast: false, action: { actionerUserId: actioner, comment: 'third' } }), 'cancelAction');
    assertKeys(can.response, ['action'], [], 'cancelAction response');
    const C = can.response.action;
    checkInstance(C, { kind: 'temporal', history: true, reason: true }, 'cancelAction → action');
    assertNear(C.expiry, cancelAt, 3 * SECOND, 'cancel sets expiry to the cancel instant (§5.4)');
    assert.equal(C.comment, 'third');
    assert.equal(C.endEventSent, false, 'cancel never sends end; endEventSent only means "an end event was sent"');
    assert.equal(C.history.historyItems.length, 2, 'cancel records one more history item');
    assert.equal(C.history.historyItems[1].expiry, expiry2);
    assert.equal(C.history.historyItems[1].comment, 'second');
    assert.deepEqual(own(await actionIDs(client.retrieveActiveActions(actionee), 'active after cancel')), []);
    assert.deepEqual(own(await actionIDs(client.retrieveInactiveActions(actionee), 'inactive after cancel')), [A.id]);
    assert.deepEqual(own(await actionIDs(client.retrieveActionsPreventingLogin(actionee), 'preventing login after cancel')), []);
    assert.deepEqual(own(await actionIDs(client.retrieveActions(actionee), 'all after cancel')), [A.id]);
    await notFound(
      client.modifyAction(A.id, { action: { actionerUserId: actioner, comment: 'late', expiry: Date.now() + HOUR } }),
      'modifyAction after cancel',
    );
    await notFound(client.cancelAction(A.id, { action: { actionerUserId: actioner } }), 'cancelAction after cancel');
    await notFound(client.retrieveAction(randomUUID()), 'retrieveAction(unknown)');
    await notFound(client.modifyAction(randomUUID(), { action: { actionerUserId: actioner, expiry: Date.now() + HOUR } }), 'modifyAction(unknown)');

    // instantaneous with an option (and applicationIds de-duplicated): no expiry, no endEventSent
    const inst = await ok(
      client.actionUser({
        action: { userActionId: N.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'note', option: 'soft', applicationIds: [app.id, app.id] },
      }),
      'actionUser (instantaneous)',
    );
    const I = inst.response.action;
    checkInstance(I, { kind: 'instant', history: false, option: true, endEventSent: false }, 'actionUser (instantaneous) → action');
    assert.equal(I.expiry, undefined, 'an instantaneous instance has no expiry');
    assert.equal(I.endEventSent, undefined, 'endEventSent is absent on a non-temporal instance (§5.4)');
    assert.equal(I.option, 'soft');
    assert.equal(I.localizedOption, 'Soft one', 'the option is localized for the actionee (en)');
    assert.deepEqual(I.applicationIds, [app.id], 'applicationIds are de-duplicated');
    assert.deepEqual(
      (await actionIDs(client.retrieveInactiveActions(actionee), 'inactive incl. instantaneous')).filter((id) => id === I.id),
      [I.id],
      'a non-temporal instance counts as inactive (§5.2)',
    );
    assert.deepEqual((await actionIDs(client.retrieveActiveActions(actionee), 'active')).filter((id) => id === I.id), []);
    await notFound(
      client.modifyAction(I.id, { action: { actionerUserId: actioner, expiry: Date.now() + HOUR } }),
      'modifyAction on a non-temporal instance',
    );
    await notFound(client.cancelAction(I.id, { action: { actionerUserId: actioner } }), 'cancelAction on a non-temporal instance');
    // instantaneous without an option is fine
    const bare = await ok(client.actionUser({ action: { userActionId: N.id, actioneeUserId: actionee, actionerUserId: actioner } }), 'instantaneous, no option');
    checkInstance(bare.response.action, { kind: 'instant', history: false, comment: false, endEventSent: false }, 'instantaneous without option');

    // validation (§5.4)
    const take = (action) => client.actionUser({ action: { actioneeUserId: actionee, actionerUserId: actioner, ...action } });
    await fieldError(take({ userActionId: N.id, option: 'medium' }), 'action.option', '[invalid]action.option', 'option not in the definition');
    await fieldError(take({ userActionId: T.id, option: 'soft', expiry: Date.now() + HOUR }), 'action.option', '[invalid]action.option', 'option on a temporal action');
    await fieldError(take({ userActionId: N.id, expiry: Date.now() + HOUR }), 'action.expiry', '[invalid]action.expiry', 'expiry on an instantaneous action');
    await fieldError(take({ userActionId: T.id }), 'action.expiry', '[missing]action.expiry', 'temporal without expiry');
    await fieldError(take({ userActionId: T.id, expiry: Date.now() - MINUTE }), 'action.expiry', '[invalid]action.expiry', 'past expiry');
    await fieldError(take({ userActionId: T.id, expiry: Date.now() + HOUR, actioneeUserId: randomUUID() }), 'action.actioneeUserId', '[invalid]action.actioneeUserId', 'unknown actionee');
    await fieldError(take({ userActionId: T.id, expiry: Date.now() + HOUR, actionerUserId: randomUUID() }), 'action.actionerUserId', '[invalid]action.actionerUserId', 'unknown actioner');
    await fieldError(take({ userActionId: T.id, expiry: Date.now() + HOUR, reasonId: randomUUID() }), 'action.reasonId', '[invalid]action.reasonId', 'unknown reason');
    await fieldError(take({ userActionId: randomUUID(), expiry: Date.now() + HOUR }), 'action.userActionId', '[invalid]action.userActionId', 'unknown definition');
    await fieldError(take({ userActionId: N.id, applicationIds: [randomUUID()] }), 'action.applicationIds', '[invalid]action.applicationIds', 'unknown application');
    await fieldError(take({ userActionId: N.id, notifyUser: true }), 'action.notifyUser', '[invalid]action.notifyUser', 'notifyUser without userNotificationsEnabled');
    await fieldError(take({ userActionId: N.id, emailUser: true }), 'action.emailUser', '[invalid]action.emailUser', 'emailUser without emailing');
    await fieldError(
      client.actionUser({ action: { userActionId: N.id, actionerUserId: actioner } }),
      'action.actioneeUserId',
      '[missing]action.actioneeUserId',
      'no actionee',
    );
    await fieldError(client.actionUser({}), 'action', '[missing]action', 'no action object');
    await notFound(client.retrieveActions(randomUUID()), 'retrieveActions(unknown user)');
    // the client sends an undefined id as the literal "undefined", which counts as absent (§1)
    await fieldError(client.retrieveActions(undefined), 'userId', '[missing]userId', 'retrieveActions(undefined)');
    // nothing was written by the rejected requests
    const count = (await ok(client.retrieveActions(actionee), 'retrieveActions')).response.actions.filter(
      (a) => a.userActionId === T.id || a.userActionId === N.id,
    ).length;
    assert.equal(count, 3, 'only the three accepted instances exist');

    // "forever": JSON.stringify sends 2^63-1 as 9223372036854776000; heed stores
    // and echoes 9223372036854775807 (§1), which JSON.parse reads back as 2^63
    const forever = (
      await ok(
        client.actionUser({ action: { userActionId: T.id, actioneeUserId: actionee, actionerUserId: actioner, expiry: 9223372036854775807 } }),
        'actionUser (forever)',
      )
    ).response.action;
    assert.equal(forever.expiry, 2 ** 63, 'a forever expiry is echoed as 9223372036854775807 (§1)');
    assert.equal((await ok(client.retrieveAction(forever.id), 'retrieve forever')).response.action.expiry, 2 ** 63);
    await ok(client.cancelAction(forever.id, { action: { actionerUserId: actioner } }), 'cancel forever');

    // endEventSent is absent when the action does not send end events (§5.4)
    const quiet = (
      await ok(client.createUserAction(null, { userAction: { name: `e2e-quiet-${s}`, temporal: true, sendEndEvent: false } }), 'create sendEndEvent=false')
    ).response.userAction;
    const q = (
      await ok(
        client.actionUser({ action: { userActionId: quiet.id, actioneeUserId: actionee, actionerUserId: actioner, expiry: Date.now() + HOUR } }),
        'actionUser (sendEndEvent=false)',
      )
    ).response.action;
    checkInstance(q, { kind: 'temporal', history: false, comment: false, endEventSent: false }, 'instance of a sendEndEvent=false action');
    await ok(client.cancelAction(q.id, { action: { actionerUserId: actioner } }), 'cancel quiet');

    // hard-deleting a definition removes its instances (§3)
    await ok(client.deleteUserAction(N.id), 'deleteUserAction(with instances)');
    await notFound(client.retrieveAction(I.id), 'retrieveAction of a hard-deleted definition’s instance');
  });

  test('4. login prevention: an active preventLogin instance blocks token and password login until cancel or expiry', async () => {
    const s = suffix();
    const name = 'carol';
    const actionee = users[name];
    const me = () => raw('GET', '/api/users/me/', { headers: { Authorization: `Token demo-${name}-token` } });
    const login = () => raw('POST', '/api-auth/password/', { body: { username: name, password: `demo-${name}-password` } });
    const expectLogin = async (status, when) => {
      const m = await me();
      assert.equal(m.status, status, `GET /api/users/me/ as ${name} ${when}: ${m.status} ${m.text}`);
      const l = await login();
      assert.equal(l.status, status, `POST /api-auth/password/ as ${name} ${when}: ${l.status} ${l.text}`);
      return { me: m, login: l };
    };

    await expectLogin(200, 'before any action');
    const L = (
      await ok(client.createUserAction(null, { userAction: { name: `e2e-ban-${s}`, temporal: true, preventLogin: true } }), 'create preventLogin')
    ).response.userAction;
    const taken = (
      await ok(
        client.actionUser({ action: { userActionId: L.id, actioneeUserId: actionee, actionerUserId: users.admin, comment: 'locked', expiry: Date.now() + HOUR } }),
        'actionUser (preventLogin)',
      )
    ).response.action;
    try {
      const blocked = await expectLogin(403, 'while locked');
      assert.ok(blocked.me.text.includes(L.name), `the 403 names the action: ${blocked.me.text}`);
      assert.deepEqual(
        (await actionIDs(client.retrieveActionsPreventingLogin(actionee), 'retrieveActionsPreventingLogin')).filter((id) => id === taken.id),
        [taken.id],
      );
    } finally {
      await ok(client.cancelAction(taken.id, { action: { actionerUserId: users.admin, comment: 'unlocked' } }), 'cancelAction');
    }
    await expectLogin(200, 'after cancel');

    // and by expiry
    const expiry = Date.now() + 1500;
    const short = (
      await ok(
        client.actionUser({ action: { userActionId: L.id, actioneeUserId: actionee, actionerUserId: users.admin, expiry } }),
        'actionUser (short preventLogin)',
      )
    ).response.action;
    try {
      await expectLogin(403, 'while the short lock runs');
      await sleep(Math.max(0, expiry - Date.now()) + 100);
      await expectLogin(200, 'after the short lock expired');
      assert.deepEqual(
        (await actionIDs(client.retrieveActionsPreventingLogin(actionee), 'preventing login after expiry')).filter((id) => id === short.id),
        [],
      );
    } finally {
      // restore state even when the lock did not lapse
      await client.cancelAction(short.id, { action: { actionerUserId: users.admin } }).catch(() => {});
    }
  });

  test('5. the user.action event (§6): start, modify, cancel, end and no-phase deliveries', async (t) => {
    const s = suffix();
    const actionee = users.bob;
    const actioner = users.admin;
    const hookPath = `/actioning-${s}`;

    const wh = await ok(
      client.createWebhook(null, {
        webhook: { url: `${recv.url}${hookPath}`, connectTimeout: 1000, readTimeout: 2000, global: true, eventsEnabled: { 'user.action': true } },
      }),
      'createWebhook',
    );
    assertID(wh.response.webhook?.id, 'webhook.id');

    const T = (await ok(client.createUserAction(null, { userAction: { name: `e2e-mute-${s}`, temporal: true } }), 'create temporal')).response.userAction;
    const N = (
      await ok(
        client.createUserAction(null, { userAction: { name: `e2e-survey-${s}`, options: [{ name: 'Bad', localizedNames: { en: 'Malbona' } }] } }),
        'create instantaneous',
      )
    ).response.userAction;
    const R = (await ok(client.createUserActionReason(null, { userActionReason: { text: `Spammed ${s}`, code: `e2es${s}` } }), 'create reason'))
      .response.userActionReason;

    // A: start, modify, cancel (broadcast)
    const startExpiry = Date.now() + 2 * DAY + 30 * MINUTE;
    const A = (
      await ok(
        client.actionUser({
          broadcast: true,
          action: { userActionId: T.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'start', expiry: startExpiry, reasonId: R.id },
        }),
        'actionUser A (broadcast)',
      )
    ).response.action;
    const modExpiry = Date.now() + 3 * HOUR + 30 * MINUTE;
    await ok(client.modifyAction(A.id, { broadcast: true, action: { actionerUserId: actioner, comment: 'modify', expiry: modExpiry } }), 'modifyAction A');
    const cancelAt = Date.now();
    const cancelled = (await ok(client.cancelAction(A.id, { broadcast: true, action: { actionerUserId: actioner, comment: 'cancel' } }), 'cancelAction A'))
      .response.action;

    // D: forever → the start event has no localizedDuration (§6.4)
    const D = (
      await ok(
        client.actionUser({ broadcast: true, action: { userActionId: T.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'forever', expiry: 9223372036854775807 } }),
        'actionUser D (forever, broadcast)',
      )
    ).response.action;
    await ok(client.cancelAction(D.id, { action: { actionerUserId: actioner } }), 'cancelAction D (no broadcast)');

    // B: left to expire; not broadcast (end depends only on sendEndEvent, §6.3)
    const endExpiry = Date.now() + 2 * SECOND;
    const B = (
      await ok(
        client.actionUser({ broadcast: false, action: { userActionId: T.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'expire', expiry: endExpiry } }),
        'actionUser B',
      )
    ).response.action;

    // C: instantaneous with an option → no phase
    const C = (
      await ok(
        client.actionUser({ broadcast: true, action: { userActionId: N.id, actioneeUserId: actionee, actionerUserId: actioner, comment: 'survey', option: 'Bad' } }),
        'actionUser C (instantaneous)',
      )
    ).response.action;

    const eventOf = (r) => {
      if (r.url !== hookPath) return undefined;
      try {
        return JSON.parse(r.body.toString('utf8'))?.event;
      } catch {
        return undefined;
      }
    };
    const waitEvent = async (actionId, phase, timeoutMs = 10_000) => {
      try {
        const r = await recv.waitFor((r) => {
          const e = eventOf(r);
          return e?.type === 'user.action' && e.actionId === actionId && e.phase === phase;
        }, timeoutMs);
        return { req: r, event: eventOf(r) };
      } catch (err) {
        err.message += ` (waiting for ${phase ?? 'no-phase'} of ${actionId})\nheed's output:\n${heed.logs()}`;
        throw err;
      }
    };
    const start = await waitEvent(A.id, 'start');
    const modify = await waitEvent(A.id, 'modify');
    const cancel = await waitEvent(A.id, 'cancel');
    const instant = await waitEvent(C.id, undefined);
    const foreverStart = await waitEvent(D.id, 'start');
    const end = await waitEvent(B.id, 'end', Math.max(0, endExpiry - Date.now()) + 10_000);

    // The seed's event field set (the event docs' example), with heed's decided
    // additions: both id pairs (§6.2), linkedObjectId (§6.1, §6.4), info on
    // request phases (§6.4) and the actionee `user` (§9 #3550).
    const expectKeys = ({ phase, expiry, duration, reason, option, info }) => {
      const k = [
        'type', 'id', 'createInstant', 'tenantId', 'action', 'localizedAction', 'actionId', 'actioneeUserId', 'actioneeId',
        'actionerUserId', 'actionerId', 'applicationIds', 'comment', 'emailedUser', 'notifyUser', 'linkedObjectId', 'user',
      ];
      if (phase) k.push('phase');
      if (expiry) k.push('expiry');
      if (duration) k.push('localizedDuration');
      if (reason) k.push('reason', 'localizedReason', 'reasonCode');
      if (option) k.push('option', 'localizedOption');
      if (info) k.push('info');
      return k;
    };
    const checkEvent = ({ req, event: e }, what, shape) => {
      assertKeys(e, expectKeys(shape), [], what);
      assert.equal(req.method, 'POST');
      assert.match(req.headers['content-type'] ?? '', /^application\/json/i, `${what}: content-type`);
      assert.deepEqual(Object.keys(JSON.parse(req.body.toString('utf8'))), ['event'], `${what}: the body is {"event": …}`);
      assert.equal(req.headers['webhook-id'], e.id, `${what}: webhook-id header = event.id`);
      assert.equal(e.type, 'user.action');
      for (const k of ['id', 'tenantId', 'actionId', 'actioneeUserId', 'actionerUserId', 'linkedObjectId']) assertID(e[k], `${what}.${k}`);
      assertInstant(e.createInstant, `${what}.createInstant`);
      assert.equal(e.actioneeUserId, actionee);
      assert.equal(e.actioneeId, e.actioneeUserId, `${what}: actioneeId = actioneeUserId (§6.2)`);
      assert.equal(e.actionerUserId, actioner);
      assert.equal(e.actionerId, e.actionerUserId, `${what}: actionerId = actionerUserId (§6.2)`);
      assert.equal(e.linkedObjectId, actionee, `${what}: linkedObjectId = actioneeUserId (§6.1)`);
      assert.deepEqual(e.applicationIds, []);
      assert.equal(typeof e.emailedUser, 'boolean');
      assert.equal(e.emailedUser, false, `${what}: nobody asked for email`);
      assert.equal(typeof e.notifyUser, 'boolean');
      assert.equal(e.notifyUser, false);
      assert.equal(e.user?.id, actionee, `${what}: user is the actionee (§9)`);
      for (const secret of ['password', 'token', 'passwordHash']) assert.equal(e.user[secret], undefined, `${what}: user.${secret} must not be sent`);
      if (shape.expiry) assertInstant(e.expiry, `${what}.expiry`);
      if (shape.info) assert.equal(typeof e.info.ipAddress, 'string', `${what}: info.ipAddress defaults to the caller's address (§6.4)`);
      if (shape.reason) {
        assert.equal(e.reason, R.text);
        assert.equal(e.localizedReason, R.text);
        assert.equal(e.reasonCode, R.code);
      }
      return e;
    };

    await t.test('the event `user` carries only the §9 fields and username', () => {
      for (const [what, e] of [['start', start.event], ['end', end.event]]) {
        assertKeys(e.user, ['id', 'tenantId', 'active', 'insertInstant', 'lastUpdateInstant'], EVENT_USER_FIELDS, `${what} event user`);
      }
    });

    const eStart = checkEvent(start, 'start event', { phase: true, expiry: true, duration: true, reason: true, info: true });
    assert.equal(eStart.phase, 'start');
    assert.equal(eStart.actionId, A.id, 'actionId is the instance id (§10.5)');
    assert.equal(eStart.action, T.name);
    assert.equal(eStart.localizedAction, T.name);
    assert.equal(eStart.comment, 'start');
    assert.equal(eStart.expiry, startExpiry);
    assert.equal(eStart.localizedDuration, '2 days', 'localizedDuration floors to the largest whole unit (§6.5)');

    const eMod = checkEvent(modify, 'modify event', { phase: true, expiry: true, duration: true, reason: true, info: true });
    assert.equal(eMod.phase, 'modify');
    assert.equal(eMod.comment, 'modify');
    assert.equal(eMod.expiry, modExpiry, 'modify carries the new expiry');
    assert.equal(eMod.localizedDuration, '3 hours', 'modify recomputes localizedDuration');

    const eCan = checkEvent(cancel, 'cancel event', { phase: true, expiry: true, reason: true, info: true });
    assert.equal(eCan.phase, 'cancel');
    assert.equal(eCan.comment, 'cancel');
    assertNear(eCan.expiry, cancelAt, 3 * SECOND, 'cancel carries the cancel instant as expiry (§6.4)');
    assert.equal(eCan.expiry, cancelled.expiry, 'cancel event expiry = the instance expiry after cancel');

    const eForever = checkEvent(foreverStart, 'forever start event', { phase: true, expiry: true, info: true });
    assert.equal(eForever.expiry, 2 ** 63, 'forever is sent as 9223372036854775807');
    assert.equal(eForever.localizedDuration, undefined, 'localizedDuration is omitted for a forever expiry (§6.4)');

    const eInst = checkEvent(instant, 'no-phase event', { option: true, info: true });
    assert.equal(eInst.phase, undefined, 'instantaneous events have no phase (§6.2, §10.8)');
    assert.equal(eInst.action, N.name);
    assert.equal(eInst.option, 'Bad');
    assert.equal(eInst.localizedOption, 'Malbona');
    assert.equal(eInst.comment, 'survey');

    const eEnd = checkEvent(end, 'end event', { phase: true, expiry: true });
    assert.equal(eEnd.phase, 'end');
    assert.equal(eEnd.expiry, endExpiry, 'end carries the instance expiry');
    assert.equal(eEnd.comment, 'expire', 'end carries the latest comment on the instance');
    t.diagnostic(`end event: createInstant − expiry = ${eEnd.createInstant - endExpiry} ms, received ${end.req.at - endExpiry} ms after expiry`);
    assert.ok(eEnd.createInstant >= endExpiry, `end created before the expiry (${eEnd.createInstant - endExpiry} ms)`);
    assert.ok(eEnd.createInstant - endExpiry <= 2000, `end created ${eEnd.createInstant - endExpiry} ms after the expiry (want ≤ 2000)`);
    assert.ok(end.req.at - endExpiry <= 2000, `end received ${end.req.at - endExpiry} ms after the expiry (want ≤ 2000)`);

    // ids distinct per event; B's start was not broadcast; A (cancelled) never ends
    const all = recv.requests.map(eventOf).filter((e) => e?.type === 'user.action');
    const ids = all.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `event ids are distinct: ${json(ids)}`);
    assert.deepEqual(all.filter((e) => e.actionId === B.id).map((e) => e.phase), ['end'], 'B: no start without broadcast, one end');
    // Delivery order is not promised (each event is its own outbox delivery);
    // the events' createInstant and the Webhook Event Log's sequence are (§7.5).
    const aEvents = all.filter((e) => e.actionId === A.id).sort((x, y) => x.createInstant - y.createInstant);
    assert.deepEqual(aEvents.map((e) => e.phase), ['start', 'modify', 'cancel'], 'A: start, modify, cancel by createInstant');
    assert.deepEqual(all.filter((e) => e.actionId === C.id).length, 1);
    assert.deepEqual(all.filter((e) => e.actionId === D.id).map((e) => e.phase), ['start'], 'D: cancelled without broadcast → no cancel event');

    // the instance now shows endEventSent; the Webhook Event Log has the event (§7.5)
    const Bnow = (await ok(client.retrieveAction(B.id), 'retrieveAction B')).response.action;
    assert.equal(Bnow.endEventSent, true, 'the end job sets endEventSent');
    assert.deepEqual((await actionIDs(client.retrieveInactiveActions(actionee), 'inactive')).filter((id) => id === B.id), [B.id], 'expired → inactive');
    let log;
    for (let i = 0; i < 50; i++) {
      log = (await ok(client.retrieveWebhookEventLog(eStart.id), 'retrieveWebhookEventLog')).response.webhookEventLog;
      if (log?.eventResult === 'Succeeded') break;
      await sleep(100);
    }
    assert.equal(log.id, eStart.id, 'the Webhook Event Log id = the event id');
    assert.equal(log.eventType, 'user.action');
    assert.equal(log.linkedObjectId, actionee);
    assert.equal(log.eventResult, 'Succeeded');
    const seq = [];
    for (const e of aEvents) {
      const l = (await ok(client.retrieveWebhookEventLog(e.id), `retrieveWebhookEventLog(${e.phase})`)).response.webhookEventLog;
      assert.equal(typeof l.sequence, 'number', `webhookEventLog.sequence (${e.phase})`);
      seq.push(l.sequence);
    }
    assert.ok(seq[0] < seq[1] && seq[1] < seq[2], `Webhook Event Log sequence keeps start < modify < cancel: ${json(seq)}`);

    await ok(client.deleteWebhook(wh.response.webhook.id), 'deleteWebhook');
  });

  test('6. tenants: the default tenant lists, and its user.action transactionType round-trips through PATCH', async () => {
    const list = await ok(client.retrieveTenants(), 'retrieveTenants');
    assertKeys(list.response, ['tenants'], [], 'retrieveTenants response');
    const tenants = list.response.tenants;
    assert.ok(Array.isArray(tenants) && tenants.length >= 1, `no tenants: ${json(list.response)}`);
    const def = tenants.find((x) => x.name === 'Default') ?? tenants[0];
    assertID(def.id, 'tenant.id');
    assertInstant(def.insertInstant, 'tenant.insertInstant');
    assertInstant(def.lastUpdateInstant, 'tenant.lastUpdateInstant');
    const evs = def.eventConfiguration?.events;
    assert.ok(evs && evs['user.action'], `the default tenant configures user.action: ${json(def)}`);
    const original = evs['user.action'];
    assert.equal(typeof original.enabled, 'boolean');
    const otherTypes = Object.keys(evs).sort();

    for (const level of ['SimpleMajority', 'None']) {
      const p = await ok(
        client.patchTenant(def.id, { tenant: { eventConfiguration: { events: { 'user.action': { enabled: true, transactionType: level } } } } }),
        `patchTenant(user.action → ${level})`,
      );
      const got = p.response.tenant;
      assert.equal(got.id, def.id);
      assert.deepEqual(got.eventConfiguration.events['user.action'], { enabled: true, transactionType: level }, `PATCH → ${level}`);
      assert.deepEqual(Object.keys(got.eventConfiguration.events).sort(), otherTypes, 'PATCH merges: the other event types stay');
      const again = (await ok(client.retrieveTenant(def.id), 'retrieveTenant')).response.tenant;
      assert.deepEqual(again.eventConfiguration.events['user.action'], { enabled: true, transactionType: level }, `retrieveTenant after PATCH → ${level}`);
    }
  });
});
