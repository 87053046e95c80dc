// Drives a running ledgerd through every route of docs/openapi.yaml and checks each live
// response against the schema documented for its operation and status (Ajv, JSON Schema
// 2020-12 as used by OpenAPI 3.1). An undocumented status is a failure too.
// Usage: LEDGERD_URL=http://127.0.0.1:PORT LEDGERD_KEY=<backoffice key> node check_live.mjs
import fs from 'node:fs';
import yaml from 'js-yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const base = process.env.LEDGERD_URL;
const key = process.env.LEDGERD_KEY;
const spec = yaml.load(fs.readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'));

// Make '#/components/...' references absolute so inline schemas compile on their own.
const absolute = (node) => {
  if (Array.isArray(node)) return node.forEach(absolute);
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) node[k] = 'openapi.json' + v;
      else absolute(v);
    }
  }
};
absolute(spec);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('int64', true);
ajv.addSchema(spec, 'openapi.json');

const resolve = (node) => {
  while (node && node.$ref) {
    const path = node.$ref.replace('openapi.json#/', '').split('/');
    node = path.reduce((n, p) => n[p], spec);
  }
  return node;
};

let passed = 0;
let failed = 0;
const fail = (what, detail) => {
  failed++;
  console.log(`FAIL ${what}: ${detail}`);
};

async function call(method, template, path, body, { auth = true, expect } = {}) {
  const headers = {};
  if (auth) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const what = `${method} ${path} -> ${response.status}`;
  if (expect !== undefined && response.status !== expect) fail(what, `expected ${expect}: ${text}`);
  const operation = spec.paths[template]?.[method.toLowerCase()];
  if (!operation) return fail(what, `no operation ${method} ${template} in the document`);
  const documented = resolve(operation.responses[String(response.status)]);
  if (!documented) return fail(what, 'status not documented');
  const type = (response.headers.get('content-type') || '').split(';')[0];
  const media = documented.content?.[type];
  if (!media) return fail(what, `content type ${type} not documented`);
  if (type.endsWith('json')) {
    const validate = ajv.compile(media.schema);
    const json = JSON.parse(text);
    if (!validate(json)) return fail(what, JSON.stringify(validate.errors.slice(0, 3)) + ' body=' + text.slice(0, 300));
    passed++;
    return json;
  }
  passed++;
  return text;
}

const id = (group, n) => `${String(group).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const holder = id(9, 1);

await call('GET', '/health', '/health', undefined, { auth: false, expect: 200 });
await call('GET', '/ready', '/ready', undefined, { auth: false, expect: 200 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 1), holder_id: holder, currency: 'EUR', kind: 'settlement' }, { expect: 201 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 2), holder_id: holder, currency: 'EUR', kind: 'customer', overdraft_limit: 100 }, { expect: 201 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 2), holder_id: holder, currency: 'EUR', kind: 'customer', overdraft_limit: 100 }, { expect: 200 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 2), holder_id: holder, currency: 'USD', kind: 'customer' }, { expect: 409 });
await call('POST', '/v1/accounts', '/v1/accounts', { holder_id: holder, currency: 'EURO', kind: 'customer' }, { expect: 400 });
await call('POST', '/v1/accounts', '/v1/accounts', { holder_id: holder, currency: 'EUR', kind: 'customer' }, { auth: false, expect: 401 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 3), holder_id: holder, currency: 'EUR', kind: 'customer' }, { expect: 201 });
await call('GET', '/v1/accounts/{id}', `/v1/accounts/${id(1, 2)}`, undefined, { expect: 200 });
await call('GET', '/v1/accounts/{id}', `/v1/accounts/${id(1, 99)}`, undefined, { expect: 404 });
await call('GET', '/v1/accounts', `/v1/accounts?holder_id=${holder}&limit=2`, undefined, { expect: 200 });
await call('PATCH', '/v1/accounts/{id}', `/v1/accounts/${id(1, 2)}`, { overdraft_limit: 200 }, { expect: 200 });
const t = (n, debit, credit, amount, extra = {}) => ({ id: id(2, n), debit_account_id: id(1, debit), credit_account_id: id(1, credit), amount, currency: 'EUR', ...extra });
await call('POST', '/v1/transfers', '/v1/transfers', t(1, 1, 2, 1000), { expect: 201 });
await call('POST', '/v1/transfers', '/v1/transfers', t(1, 1, 2, 1000), { expect: 200 });
await call('POST', '/v1/transfers', '/v1/transfers', t(1, 1, 2, 999), { expect: 409 });
await call('POST', '/v1/transfers', '/v1/transfers', t(2, 2, 3, 100000), { expect: 422 });
await call('POST', '/v1/transfers', '/v1/transfers', t(3, 2, 3, 1.5), { expect: 400 });
await call('POST', '/v1/transfers', '/v1/transfers', t(4, 2, 3, 300, { pending: true, timeout_seconds: 3600 }), { expect: 201 });
await call('POST', '/v1/transfers/{id}/post', `/v1/transfers/${id(2, 4)}/post`, { amount: 200 }, { expect: 201 });
await call('POST', '/v1/transfers/{id}/void', `/v1/transfers/${id(2, 4)}/void`, {}, { expect: 422 });
await call('POST', '/v1/transfers', '/v1/transfers', t(5, 2, 3, 50, { pending: true }), { expect: 201 });
await call('POST', '/v1/transfers/{id}/void', `/v1/transfers/${id(2, 5)}/void`, undefined, { expect: 201 });
await call('POST', '/v1/transfers/{id}/post', `/v1/transfers/${id(2, 77)}/post`, undefined, { expect: 404 });
await call('GET', '/v1/transfers/{id}', `/v1/transfers/${id(2, 4)}`, undefined, { expect: 200 });
await call('GET', '/v1/transfers/{id}', `/v1/transfers/${id(2, 78)}`, undefined, { expect: 404 });
await call('POST', '/v1/transfers/batch', '/v1/transfers/batch', { atomic: true, transfers: [t(10, 1, 2, 5), t(11, 1, 3, 5)] }, { expect: 201 });
await call('POST', '/v1/transfers/batch', '/v1/transfers/batch', { atomic: true, transfers: [t(12, 1, 2, 5), t(13, 2, 3, 10 ** 9)] }, { expect: 422 });
await call('POST', '/v1/transfers/batch', '/v1/transfers/batch', { transfers: [t(14, 1, 2, 5), t(15, 2, 3, 10 ** 9)] }, { expect: 200 });
await call('GET', '/v1/accounts/{id}/transfers', `/v1/accounts/${id(1, 2)}/transfers?limit=3`, undefined, { expect: 200 });
await call('GET', '/v1/accounts/{id}/statement', `/v1/accounts/${id(1, 2)}/statement`, undefined, { expect: 200 });
await call('GET', '/v1/accounts/{id}/statement', `/v1/accounts/${id(1, 2)}/statement?format=csv`, undefined, { expect: 200 });
await call('POST', '/v1/cards', '/v1/cards', { id: id(3, 1), account_id: id(1, 2), pan: '4111111111111111', expiry: '2812', controls: { daily_limit: 5000 } }, { expect: 201 });
await call('POST', '/v1/cards', '/v1/cards', { id: id(3, 2), account_id: id(1, 2), pan: '4111111111111111', expiry: '2812' }, { expect: 409 });
await call('GET', '/v1/cards/{id}', `/v1/cards/${id(3, 1)}`, undefined, { expect: 200 });
await call('PATCH', '/v1/cards/{id}', `/v1/cards/${id(3, 1)}`, { status: 'frozen', controls: { abroad: false } }, { expect: 200 });
await call('GET', '/v1/cards/{id}', `/v1/cards/${id(3, 9)}`, undefined, { expect: 404 });
await call('POST', '/v1/accounts', '/v1/accounts', { id: id(1, 4), holder_id: holder, currency: 'EUR', kind: 'customer' }, { expect: 201 });
await call('POST', '/v1/accounts/{id}/close', `/v1/accounts/${id(1, 4)}/close`, undefined, { expect: 200 });
await call('POST', '/v1/accounts/{id}/close', `/v1/accounts/${id(1, 2)}/close`, undefined, { expect: 422 });

await call('GET', '/metrics', '/metrics', undefined, { auth: false, expect: 200 });
await call('GET', '/v1/audit', '/v1/audit?limit=5', undefined, { expect: 200 });
await call('GET', '/v1/events', '/v1/events?after=0&limit=1000', undefined, { expect: 200 });
await call('GET', '/v1/events', '/v1/events?types=transfer.posted,card.updated&wait_ms=100', undefined, { expect: 200 });
await call('GET', '/v1/events', '/v1/events?types=transfer.nope', undefined, { expect: 400 });
// Direct debits: a due date two business days ahead (weekends skipped; holidays are rare).
const due = (() => {
  const d = new Date();
  for (let n = 0; n < 2;) {
    d.setUTCDate(d.getUTCDate() + 1);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) n++;
  }
  return d.toISOString().slice(0, 10);
})();
const dd = (e2e, extra = {}) => ({ end_to_end_id: e2e, mandate_reference: 'M-' + e2e, creditor_id: 'DE98ZZZ09999999999', creditor_name: 'Stadtwerke', scheme: 'core', sequence_type: 'RCUR', amount: 1250, currency: 'EUR', due_date: due, account_id: id(1, 2), ...extra });
const collection = await call('POST', '/v1/direct-debits', '/v1/direct-debits', dd('E2E-1'), { expect: 201 });
await call('POST', '/v1/direct-debits', '/v1/direct-debits', dd('E2E-1'), { expect: 200 });  // a retry without id
await call('POST', '/v1/direct-debits', '/v1/direct-debits', dd('E2E-1', { amount: 1251 }), { expect: 201 });  // a duplicate, AM05
await call('POST', '/v1/direct-debits', '/v1/direct-debits', dd('E2E-2', { amount: 1.5 }), { expect: 400 });
await call('GET', '/v1/direct-debits/{id}', `/v1/direct-debits/${collection.id}`, undefined, { expect: 200 });
await call('GET', '/v1/direct-debits/{id}', `/v1/direct-debits/${id(7, 1)}`, undefined, { expect: 404 });
await call('POST', '/v1/direct-debits/{id}/refund', `/v1/direct-debits/${collection.id}/refund`, { reason_code: 'MD06' }, { expect: 422 });
await call('GET', '/v1/accounts/{id}/direct-debits', `/v1/accounts/${id(1, 2)}/direct-debits?status=received`, undefined, { expect: 200 });
await call('PUT', '/v1/accounts/{id}/direct-debit-rules', `/v1/accounts/${id(1, 2)}/direct-debit-rules`, { blocked_creditors: ['DE09ZZZ00000000001'], b2b_mandates: [{ creditor_id: 'DE79ZZZ00000000002', mandate_reference: 'B2B-1' }] }, { expect: 200 });
await call('GET', '/v1/accounts/{id}/holder-name', `/v1/accounts/${id(1, 3)}/holder-name`, undefined, { expect: 404 });
const named = await call('PUT', '/v1/accounts/{id}/holder-name', `/v1/accounts/${id(1, 3)}/holder-name`, { holder_name: 'Corner Bistro SARL' }, { expect: 200 });
await call('PUT', '/v1/accounts/{id}/holder-name', `/v1/accounts/${id(1, 3)}/holder-name`, { holder_name: '' }, { expect: 400 });
await call('GET', '/v1/accounts/{id}/holder-name', `/v1/accounts/${id(1, 3)}/holder-name`, undefined, { expect: 200 });
if (named && named.iban) {
  await call('POST', '/v1/payee-verifications', '/v1/payee-verifications', { iban: named.iban, name: 'Corner Bistro SARL' }, { expect: 200 });
  await call('POST', '/v1/payee-verifications', '/v1/payee-verifications', { iban: named.iban, name: 'corner-bistro' }, { expect: 200 });
  await call('POST', '/v1/payee-verifications', '/v1/payee-verifications', { iban: named.iban, name: 'Someone Else' }, { expect: 200 });
}
await call('POST', '/v1/payee-verifications', '/v1/payee-verifications', { iban: 'DE89370400440532013000', name: 'Max Mustermann' }, { expect: 200 });
await call('POST', '/v1/payee-verifications', '/v1/payee-verifications', { iban: 'DE00370400440532013000', name: 'Max' }, { expect: 400 });
await call('GET', '/v1/accounts/{id}/direct-debit-rules', `/v1/accounts/${id(1, 2)}/direct-debit-rules`, undefined, { expect: 200 });
const account = await call('GET', '/v1/accounts/{id}', `/v1/accounts/${id(1, 2)}`, undefined, { expect: 200 });
await call('GET', '/v1/accounts', `/v1/accounts?iban=${account.iban}`, undefined, { expect: 200 });
await call('GET', '/v1/direct-debits/returns', `/v1/direct-debits/returns?date=${due}`, undefined, { expect: 200 });
await call('GET', '/v1/direct-debits/rejects', `/v1/direct-debits/rejects?date=${new Date().toISOString().slice(0, 10)}`, undefined, { expect: 200 });
await call('GET', '/v1/direct-debits/rejects', '/v1/direct-debits/rejects', undefined, { expect: 400 });
await call('GET', '/v1/test-clock', '/v1/test-clock', undefined, { expect: 404 });  // LEDGER_CLOCK is not manual here
const monitor = await call('POST', '/v1/balance-monitors', '/v1/balance-monitors', { account_id: id(1, 2), field: 'available', operator: '<', threshold: 1000000 }, { expect: 201 });
await call('POST', '/v1/balance-monitors', '/v1/balance-monitors', { account_id: id(1, 2), field: 'available', operator: '==', threshold: 1 }, { expect: 400 });
await call('POST', '/v1/balance-monitors', '/v1/balance-monitors', { account_id: id(1, 77), field: 'posted', operator: '>', threshold: 1 }, { expect: 422 });
await call('GET', '/v1/balance-monitors', `/v1/balance-monitors?account_id=${id(1, 2)}`, undefined, { expect: 200 });
if (monitor) {
  await call('GET', '/v1/balance-monitors/{id}', `/v1/balance-monitors/${monitor.id}`, undefined, { expect: 200 });
  await call('DELETE', '/v1/balance-monitors/{id}', `/v1/balance-monitors/${monitor.id}`, undefined, { expect: 200 });
}
await call('GET', '/v1/balance-monitors/{id}', `/v1/balance-monitors/${id(7, 8)}`, undefined, { expect: 404 });
const spikeRule = await call('POST', '/v1/spike-rules', '/v1/spike-rules', { scope: 'account', window_s: 60, amount_at_least: 1, currency: 'EUR', times_usual: 2.5 }, { expect: 201 });
await call('POST', '/v1/spike-rules', '/v1/spike-rules', { scope: 'account', window_s: 0, amount_at_least: 1, currency: 'EUR' }, { expect: 400 });
await call('GET', '/v1/spike-rules', '/v1/spike-rules', undefined, { expect: 200 });
if (spikeRule) {
  await call('GET', '/v1/spike-rules/{id}', `/v1/spike-rules/${spikeRule.id}`, undefined, { expect: 200 });
  await call('POST', '/v1/transfers', '/v1/transfers', t(90, 2, 3, 7), { expect: 201 });
  await new Promise((r) => setTimeout(r, 2500));  // the watcher loads rules every second
  await call('GET', '/v1/events', '/v1/events?types=spending.spike,balance_monitor.triggered', undefined, { expect: 200 });
  await call('DELETE', '/v1/spike-rules/{id}', `/v1/spike-rules/${spikeRule.id}`, undefined, { expect: 200 });
}
const hook = await call('POST', '/v1/webhook-subscriptions', '/v1/webhook-subscriptions', { kind: 'webhook', url: 'http://127.0.0.1:9/in', event_types: ['transfer.posted'], filter: { amount_at_least: 100, currency: 'EUR', direction: 'out' } }, { expect: 201 });
await call('POST', '/v1/webhook-subscriptions', '/v1/webhook-subscriptions', { kind: 'webhook', url: 'http://hooks.example.com/in' }, { expect: 400 });
await call('GET', '/v1/webhook-subscriptions', '/v1/webhook-subscriptions', undefined, { expect: 200 });
if (hook && hook.id) {
  const path = `/v1/webhook-subscriptions/${hook.id}`;
  await call('GET', '/v1/webhook-subscriptions/{id}', path, undefined, { expect: 200 });
  await call('PATCH', '/v1/webhook-subscriptions/{id}', path, { filter: { outcome: 'declined' } }, { expect: 200 });
  await call('GET', '/v1/webhook-subscriptions/{id}/deliveries', `${path}/deliveries?limit=10`, undefined, { expect: 200 });
  await call('POST', '/v1/webhook-subscriptions/{id}/replay', `${path}/replay`, { from_seq: 1, to_seq: 5 }, { expect: 202 });
  await call('POST', '/v1/webhook-subscriptions/{id}/rotate-secret', `${path}/rotate-secret`, undefined, { expect: 200 });
  await call('DELETE', '/v1/webhook-subscriptions/{id}', path, undefined, { expect: 200 });
}
await call('GET', '/v1/webhook-subscriptions/{id}', `/v1/webhook-subscriptions/${id(7, 7)}`, undefined, { expect: 404 });
await call('GET', '/v1/audit', '/v1/audit?limit=0', undefined, { expect: 400 });
const created = await call('POST', '/v1/keys', '/v1/keys', { name: 'reporting', scope: 'read', expires_in_days: 30 }, { expect: 201 });
await call('POST', '/v1/keys', '/v1/keys', { name: 'x', scope: 'root' }, { expect: 400 });
await call('GET', '/v1/keys', '/v1/keys', undefined, { expect: 200 });
if (created && created.id) await call('POST', '/v1/keys/{id}/revoke', `/v1/keys/${created.id}/revoke`, undefined, { expect: 200 });
await call('POST', '/v1/keys/{id}/revoke', `/v1/keys/${id(7, 7)}/revoke`, undefined, { expect: 404 });
await call('GET', '/v1/accounts/{id}/statement', `/v1/accounts/${id(1, 2)}/statement?from=2024-02-30T00:00:00Z`, undefined, { expect: 400 });

// Card clearing and disputes (docs/card-clearing.md): a file that is not one is refused whole.
await call('POST', '/v1/card-clearing/import', '/v1/card-clearing/import', { not: 'a clearing file' }, { expect: 422 });
await call('GET', '/v1/card-clearing/files', '/v1/card-clearing/files?direction=in', undefined, { expect: 200 });
await call('POST', '/v1/card-clearing/files', '/v1/card-clearing/files', undefined, { expect: 200 });
await call('GET', '/v1/card-clearing/files/{direction}/{file_id}', '/v1/card-clearing/files/in/NO-SUCH-FILE', undefined, { expect: 404 });
await call('GET', '/v1/card-transactions/{id}', `/v1/card-transactions/${id(7, 7)}`, undefined, { expect: 404 });
await call('POST', '/v1/disputes', '/v1/disputes', { transfer_id: id(7, 7), reason: 'bored' }, { expect: 400 });
await call('POST', '/v1/disputes', '/v1/disputes', { transfer_id: id(7, 7), reason: 'fraud' }, { expect: 404 });
await call('GET', '/v1/disputes', '/v1/disputes', undefined, { expect: 200 });
await call('GET', '/v1/disputes/{id}', `/v1/disputes/${id(7, 7)}`, undefined, { expect: 404 });

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
