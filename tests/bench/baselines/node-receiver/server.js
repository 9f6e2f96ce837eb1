// Baseline webhook receiver for tests/bench/ingest.sh: Node's http module, the same HMAC-SHA256
// check as Debrief's generic adapter (constant time), and one durable SQLite insert per
// delivery (WAL, synchronous=FULL) before the 2xx -- what a team writes by hand.
// Usage: node server.js PORT DBFILE SECRET
'use strict';
const http = require('http');
const crypto = require('crypto');
const Database = require('better-sqlite3');

const [port, dbfile, secret] = process.argv.slice(2);
const db = new Database(dbfile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS deliveries(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_key TEXT UNIQUE, received_at INTEGER, body BLOB)`);
const insert = db.prepare(
  'INSERT INTO deliveries(delivery_key, received_at, body) VALUES(?, ?, ?) ON CONFLICT DO NOTHING');

function reply(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)});
  res.end(body);
}

http.createServer((req, res) => {
  if (req.method !== 'POST') return reply(res, 405, {error: 'POST only'});
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > 1 << 20) { reply(res, 413, {error: 'too large'}); req.destroy(); } else chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const given = Buffer.from(String(req.headers['x-debrief-signature'] || ''), 'hex');
    const want = crypto.createHmac('sha256', secret).update(body).digest();
    if (given.length !== want.length || !crypto.timingSafeEqual(given, want))
      return reply(res, 401, {error: 'signature does not match'});
    try { JSON.parse(body); } catch (e) { return reply(res, 400, {error: 'malformed'}); }
    const key = String(req.headers['x-debrief-delivery'] || crypto.createHash('sha256').update(body).digest('hex'));
    const r = insert.run(key, Date.now(), body);
    reply(res, r.changes ? 202 : 200, {status: r.changes ? 'accepted' : 'duplicate'});
  });
}).listen(Number(port), '127.0.0.1', () => console.log(`node receiver on 127.0.0.1:${port}`));
