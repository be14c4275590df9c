// heed's webhook deliveries, checked by independent reference libraries:
// standardwebhooks (the Standard Webhooks reference implementation, used
// unchanged) for webhook-id/-timestamp/-signature, and jose for FusionAuth's
// X-FusionAuth-Signature-JWT header.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import * as jose from 'jose';
import { startHeed, receiver } from './lib/heed.js';

// The Standard Webhooks spec's test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

test('standardwebhooks library reproduces the spec test vector (independent of heed)', () => {
  const wh = new Webhook(VECTOR.secret);
  const sig = wh.sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body);
  assert.equal(sig, VECTOR.signature);
  // And the same through Buffer input, as the receiver records bodies.
  assert.equal(wh.sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), Buffer.from(VECTOR.body)), VECTOR.signature);
});

// --- against a running heed -------------------------------------------------

const FA_AUTH = { Authorization: 'demo-staff-token' }; // FusionAuth style: bare API key
const WALDUR_AUTH = { Authorization: 'Token demo-staff-token' };
const WEBHOOK_SECRET = VECTOR.secret;
const HMAC_SECRET = randomBytes(32).toString('base64url'); // 43 chars

let heed;
let recv;

async function call(method, path, { headers = {}, json } = {}) {
  const res = await fetch(`${heed.url}${path}`, {
    method,
    headers: { Accept: 'application/json', ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: json !== undefined ? JSON.stringify(json) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body, text };
}

function expectStatus(res, want, what) {
  assert.equal(res.status, want, `${what}: heed answered ${res.status} ${res.text}`);
}

describe('heed webhooks', () => {
  before(async () => {
    if (!process.env.HEED_BIN) return; // the test below fails loudly
    recv = await receiver();
    heed = await startHeed();
  });

  after(async () => {
    await heed?.stop();
    await recv?.close();
  });

  test('a resource.version.created delivery verifies with standardwebhooks and jose', async (t) => {
    assert.ok(process.env.HEED_BIN, 'HEED_BIN is not set: point it at a heed binary (e2e/run.sh builds one)');
    t.diagnostic(`heed at ${heed.url} (database ${heed.db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'})`);

    // 1. an HMAC signing key
    const imp = await call('POST', '/api/key/import', {
      headers: FA_AUTH,
      json: { key: { name: 'e2e hmac', algorithm: 'HS256', secret: HMAC_SECRET } },
    });
    expectStatus(imp, 200, 'POST /api/key/import');
    const key = imp.body?.key;
    assert.ok(key && typeof key === 'object', `POST /api/key/import: no "key" object in ${imp.text}`);
    assert.ok(key.id, `POST /api/key/import: key without id: ${imp.text}`);
    assert.equal(key.algorithm, 'HS256', `POST /api/key/import: ${imp.text}`);
    assert.equal(key.type, 'HMAC', `POST /api/key/import: ${imp.text}`);
    assert.ok(key.kid, `POST /api/key/import: key without kid: ${imp.text}`);

    // 2. a global webhook to the receiver, signed both ways
    const created = await call('POST', '/api/webhook', {
      headers: FA_AUTH,
      json: {
        webhook: {
          url: `${recv.url}/hook`,
          connectTimeout: 1000,
          readTimeout: 2000,
          global: true,
          eventsEnabled: { 'resource.version.created': true },
          secret: WEBHOOK_SECRET,
          headers: { 'X-E2E': 'yes' },
          httpAuthenticationUsername: 'u',
          httpAuthenticationPassword: 'p',
          signatureConfiguration: { enabled: true, signingKeyId: key.id },
        },
      },
    });
    expectStatus(created, 200, 'POST /api/webhook');
    assert.ok(created.body?.webhook?.id, `POST /api/webhook: no webhook.id in ${created.text}`);

    // 3. an event: a new version of a resource (a live one: heed, like Waldur,
    // refuses to update a terminated resource, and the demo's first may be one)
    const list = await call('GET', '/api/marketplace-resources/?state=OK&page_size=1', { headers: WALDUR_AUTH });
    expectStatus(list, 200, 'GET /api/marketplace-resources/');
    assert.ok(Array.isArray(list.body) && list.body.length > 0, `no resources in the demo data: ${list.text}`);
    const uuid = list.body[0].uuid;
    const marker = `e2e ${randomBytes(6).toString('hex')}`;
    const patched = await call('PATCH', `/api/marketplace-resources/${uuid}/`, {
      headers: WALDUR_AUTH,
      json: { description: marker },
    });
    expectStatus(patched, 200, `PATCH /api/marketplace-resources/${uuid}/`);

    // 4. the delivery
    let req;
    try {
      req = await recv.waitFor((r) => {
        if (r.url !== '/hook') return false;
        try {
          return JSON.parse(r.body.toString('utf8'))?.event?.type === 'resource.version.created';
        } catch {
          return false;
        }
      }, 15_000);
    } catch (err) {
      err.message += `\nheed's output:\n${heed.logs()}`;
      throw err;
    }
    const h = req.headers; // node lower-cases header names
    const raw = req.body; // Buffer: the exact bytes heed sent
    t.diagnostic(`delivery: ${raw.length} bytes, webhook-id ${h['webhook-id']}`);

    assert.equal(req.method, 'POST');
    assert.match(h['content-type'] ?? '', /^application\/json(\s*;.*)?$/i, `content-type: ${h['content-type']}`);
    assert.equal(h['x-e2e'], 'yes');
    assert.equal(h['authorization'], `Basic ${Buffer.from('u:p').toString('base64')}`);

    // Standard Webhooks, with the unchanged reference library
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      assert.ok(h[name], `missing header ${name}; headers: ${JSON.stringify(h)}`);
    }
    const swHeaders = {
      'webhook-id': h['webhook-id'],
      'webhook-timestamp': h['webhook-timestamp'],
      'webhook-signature': h['webhook-signature'],
    };
    const wh = new Webhook(WEBHOOK_SECRET);
    const rawString = raw.toString('utf8');
    assert.doesNotThrow(() => wh.verify(rawString, swHeaders), 'standardwebhooks rejected the delivery');

    const flipped = Buffer.from(raw);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    assert.throws(() => wh.verify(flipped.toString('utf8'), swHeaders), /signature/i, 'a flipped byte still verified');

    const body = JSON.parse(rawString);
    assert.deepEqual(Object.keys(body), ['event'], `body is not {"event": {...}}: ${rawString}`);
    assert.equal(typeof body.event, 'object');
    assert.equal(body.event.type, 'resource.version.created');
    assert.equal(body.event.id, h['webhook-id']);

    // FusionAuth's JWT signature header, with jose
    const token = h['x-fusionauth-signature-jwt'];
    assert.ok(token, `missing header X-FusionAuth-Signature-JWT; headers: ${JSON.stringify(h)}`);
    const { payload, protectedHeader } = await jose.jwtVerify(token, new TextEncoder().encode(HMAC_SECRET), {
      algorithms: ['HS256'],
    });
    assert.equal(protectedHeader.kid, key.kid);
    assert.equal(payload.request_body_sha256, createHash('sha256').update(raw).digest('base64'));
    // the same check with a different secret must fail
    await assert.rejects(
      jose.jwtVerify(token, new TextEncoder().encode(HMAC_SECRET + 'x'), { algorithms: ['HS256'] }),
      /signature/i,
    );
  });
});
