// Interop: an independent ISO 8583 implementation (the iso_8583 package) builds the requests
// and parses ledgerd's answers, so our wire format is checked against someone else's codec.
// Usage: LEDGERD_ISO_PORT=... node interop.js <pan>   (the card must exist with funds)
'use strict';
const net = require('net');
const Iso8583 = require('iso_8583');

const port = Number(process.env.LEDGERD_ISO_PORT);
const pan = process.argv[2];
let passed = 0;
let failed = 0;
const check = (what, ok, detail) => {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}: ${detail}`);
  }
};

function exchange(fields) {
  return new Promise((resolve, reject) => {
    const frame = new Iso8583(fields).getBufferMessage();
    if (!Buffer.isBuffer(frame)) return reject(new Error('iso_8583 could not pack: ' + JSON.stringify(frame)));
    const socket = net.connect(port, '127.0.0.1', () => socket.write(frame));
    let data = Buffer.alloc(0);
    socket.setTimeout(5000, () => { socket.destroy(); reject(new Error('timeout')); });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        socket.end();
        resolve(data.subarray(0, 2 + data.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
  });
}

function parse(frame) {
  // ledgerd answers with a binary bitmap; iso_8583 unpacks that layout with these options.
  return new Iso8583().getIsoJSON(frame, { lenHeader: true, lenHeaderEncoding: 'hex', bitmapEncoding: 'hex', mtiEncoding: 'utf8' });
}

(async () => {
  const echo = parse(await exchange({ 0: '0800', 7: '1123120000', 11: '000101', 70: '301' }));
  check('0800 echo', echo['0'] === '0810' && echo['39'] === '00' && echo['11'] === '000101', JSON.stringify(echo));
  const request = {
    0: '0100', 2: pan, 3: '000000', 4: '000000000250', 7: '1123120000', 11: '000102', 14: '4012',
    18: '5411', 22: '051', 32: '12345', 37: 'RRN000000102', 41: 'TERM0001', 49: '978',
  };
  const answer = parse(await exchange(request));
  check('0100 approved', answer['0'] === '0110' && answer['39'] === '00', JSON.stringify(answer));
  check('0100 echoes DE11 and DE37', answer['11'] === '000102' && answer['37'] === 'RRN000000102', JSON.stringify(answer));
  check('0100 approval code', typeof answer['38'] === 'string' && answer['38'].length === 6, JSON.stringify(answer));
  const unknown = parse(await exchange({ ...request, 2: '5555555555554444', 11: '000103' }));
  check('0100 unknown card', unknown['39'] === '14', JSON.stringify(unknown));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((error) => {
  console.log('FAIL ' + error.message);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
