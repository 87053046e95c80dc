// Interop: pain.001 files made by an independent SEPA library (the sepa package, sepa.js) are
// sent to ledgerd's /v1/credit-transfers/payment-orders; the pain.002 answers and the balance
// are checked. Usage: LEDGERD_HTTP_PORT=... LEDGERD_KEY=... node sepa_pain001.js <debtor IBAN>
// <account id> (the account must hold at least 100.00 EUR).
'use strict';
const http = require('http');
const SEPA = require('sepa');

const port = Number(process.env.LEDGERD_HTTP_PORT);
const key = process.env.LEDGERD_KEY;
const [debtorIban, accountId] = process.argv.slice(2);
let passed = 0;
let failed = 0;
const check = (what, ok, detail) => {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}: ${detail}`);
  }
};

function request(method, path, body, type) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, timeout: 10000,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': type || 'application/json' } },
    (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function painFile(version, id, date, payments) {
  const doc = new SEPA.Document(version);
  doc.grpHdr.id = id;
  doc.grpHdr.created = new Date();
  doc.grpHdr.initiatorName = 'Muster Handel GmbH';
  const info = doc.createPaymentInfo();
  info.requestedExecutionDate = date;
  info.debtorIBAN = debtorIban;
  info.debtorBIC = 'LEDGDEFFXXX';
  info.debtorName = 'Muster Handel GmbH';
  doc.addPaymentInfo(info);
  for (const p of payments) {
    const tx = info.createTransaction();
    tx.creditorName = p.name;
    tx.creditorIBAN = p.iban;
    tx.creditorBIC = p.bic;
    tx.amount = p.amount;
    tx.remittanceInfo = p.remittance;
    tx.end2endId = p.e2e;
    info.addTransaction(tx);
  }
  return doc.toString();
}

// The next TARGET2 business day (weekends; the fixed holidays are far enough from any run).
function nextBusinessDay() {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 1);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6 ||
         (d.getUTCMonth() === 11 && (d.getUTCDate() === 25 || d.getUTCDate() === 26)) ||
         (d.getUTCMonth() === 0 && d.getUTCDate() === 1) || (d.getUTCMonth() === 4 && d.getUTCDate() === 1)) {
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12));
}

const count = (text, what) => text.split(what).length - 1;

(async () => {
  const date = nextBusinessDay();
  const before = JSON.parse((await request('GET', `/v1/accounts/${accountId}`)).body).balances.available;
  let total = 0;
  for (const [i, version] of ['pain.001.001.03', 'pain.001.001.09'].entries()) {
    const payments = [
      { name: 'Lieferant AG', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', amount: 12.5 + i, remittance: 'Rechnung 4711', e2e: `SEPAJS-${i}-1` },
      { name: 'Acme SARL', iban: 'FR1420041010050500013M02606', bic: 'BNPAFRPPXXX', amount: 7.25, remittance: 'Facture 12', e2e: `SEPAJS-${i}-2` },
    ];
    total += Math.round((12.5 + i + 7.25) * 100);
    const xml = painFile(version, `SEPAJS-${i}`, date, payments);
    const answer = await request('POST', '/v1/credit-transfers/payment-orders', xml, 'application/xml');
    check(`${version} answered 200`, answer.status === 200, `${answer.status} ${answer.body}`);
    check(`${version} answered with a pain.002`, answer.body.includes('urn:iso:std:iso:20022:tech:xsd:pain.002.001.03'), answer.body);
    check(`${version} group accepted`, answer.body.includes('<GrpSts>ACCP</GrpSts>'), answer.body);
    check(`${version} both payments accepted`, count(answer.body, '<TxSts>ACCP</TxSts>') === 2, answer.body);
    check(`${version} names its original message`, answer.body.includes(`<OrgnlMsgId>SEPAJS-${i}</OrgnlMsgId>`), answer.body);
    // The same file again: the same answer, nothing held twice.
    const again = await request('POST', '/v1/credit-transfers/payment-orders', xml, 'application/xml');
    check(`${version} repeat accepted`, count(again.body, '<TxSts>ACCP</TxSts>') === 2, again.body);
  }
  const after = JSON.parse((await request('GET', `/v1/accounts/${accountId}`)).body).balances.available;
  check('held once per payment', before - after === total, `before ${before} after ${after} expected ${total}`);
  const list = JSON.parse((await request('GET', `/v1/credit-transfers?account_id=${accountId}`)).body);
  check('four transfers listed', list.credit_transfers.length === 4, JSON.stringify(list));
  check('remittance kept', list.credit_transfers.some((t) => t.remittance_information === 'Rechnung 4711'), JSON.stringify(list));
  console.log(`sepa.js pain.001 interop: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => {
  console.log(`FAIL ${e.stack}`);
  process.exit(1);
});
