// Interop checks of start-worker's Taskcluster code against the official npm packages
// (hawk@9.0.2, taskcluster-client@87.1.3); see taskcluster-wire.md section 7.
//
//   node interop.mjs <tc-call binary> <tc-standin binary>
//
// 1. A Node server verifying every request with hawk.server.authenticate plus the certificate
//    checks of the auth service; our client (tc-call) must be accepted, a tampered token refused.
// 2. Credentials from taskcluster.createTemporaryCredentials, used by tc-call on that server.
// 3. taskcluster-client's WorkerManager and Secrets clients against our tc-standin.
// Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import hawk from 'hawk';
import taskcluster from 'taskcluster-client';

const [tcCall, tcStandin] = process.argv.slice(2);
if (!tcCall || !tcStandin) {
  console.error('usage: node interop.mjs <tc-call> <tc-standin>');
  process.exit(64);
}

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`PASS ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ---- the auth service's certificate check (signaturevalidator.js), written for this test ----
const WM_ID = 'static/taskcluster/worker-manager';
const WM_TOKEN = crypto.randomBytes(24).toString('base64url');
const TESTER_TOKEN = crypto.randomBytes(24).toString('base64url');
const CLIENTS = {
  [WM_ID]: { accessToken: WM_TOKEN, scopes: ['*'] },
  tester: { accessToken: TESTER_TOKEN, scopes: ['*'] },
};

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest('base64');
const signatureText = (cert, name) =>
  [
    'version:1',
    ...(cert.issuer ? [`clientId:${name}`, `issuer:${cert.issuer}`] : []),
    `seed:${cert.seed}`,
    `start:${cert.start}`,
    `expiry:${cert.expiry}`,
    'scopes:',
    ...cert.scopes,
  ].join('\n');
const tempToken = (key, seed) =>
  hmac(key, seed).replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '');
const satisfies = (have, need) =>
  have.some((h) => h === need || (h.endsWith('*') && need.startsWith(h.slice(0, -1))));

function credentialsFor(id, extB64) {
  let ext = null;
  if (extB64) {
    try {
      ext = JSON.parse(Buffer.from(extB64, 'base64').toString('utf8'));
    } catch {
      throw new Error('Failed to parse ext');
    }
  }
  const cert = ext && ext.certificate;
  if (cert !== undefined && cert !== null && (typeof cert !== 'object' || Array.isArray(cert))) {
    throw new Error('ext.certificate must be a JSON object');
  }
  const issuer = cert && cert.issuer !== undefined ? cert.issuer : id;
  if (cert && cert.issuer !== undefined) {
    if (typeof cert.issuer !== 'string') throw new Error('ext.certificate.issuer must be a string');
    if (cert.issuer === id) throw new Error('ext.certificate.issuer must differ from the supplied clientId');
  }
  const client = CLIENTS[issuer];
  if (!client) throw new Error(`Client with clientId '${issuer}' not found`);
  let key = client.accessToken;
  let scopes = client.scopes;
  if (cert) {
    const now = Date.now();
    if (cert.version !== 1) throw new Error('ext.certificate.version must be 1');
    if (typeof cert.seed !== 'string' || cert.seed.length !== 44) throw new Error('bad ext.certificate.seed');
    if (typeof cert.start !== 'number' || typeof cert.expiry !== 'number') throw new Error('bad start/expiry');
    if (!Array.isArray(cert.scopes) || !cert.scopes.every((s) => typeof s === 'string')) {
      throw new Error('bad ext.certificate.scopes');
    }
    if (cert.start > now + 5 * 60 * 1000) throw new Error('ext.certificate.start > now');
    if (cert.expiry < now - 5 * 60 * 1000) throw new Error('ext.certificate.expiry < now');
    if (cert.expiry - cert.start > 31 * 24 * 3600 * 1000) {
      throw new Error('ext.certificate cannot last longer than 31 days!');
    }
    if (cert.issuer && !satisfies(client.scopes, `auth:create-client:${id}`)) {
      throw new Error('issuer may not create this client');
    }
    if (!cert.issuer && cert.clientId !== undefined) throw new Error('unnamed certificate with clientId');
    if (!cert.scopes.every((s) => satisfies(client.scopes, s))) throw new Error('issuer lacks scopes');
    const want = hmac(key, signatureText(cert, id));
    if (
      typeof cert.signature !== 'string' ||
      cert.signature.length !== want.length ||
      !crypto.timingSafeEqual(Buffer.from(cert.signature), Buffer.from(want))
    ) {
      throw new Error('ext.certificate.signature is not valid' + (cert.issuer ? ', or wrong clientId provided' : ''));
    }
    key = tempToken(key, cert.seed);
    scopes = cert.scopes;
  }
  if (ext && ext.authorizedScopes !== undefined) {
    if (!Array.isArray(ext.authorizedScopes)) throw new Error('ext.authorizedScopes must be an array');
    scopes = ext.authorizedScopes;
  }
  return { key, algorithm: 'sha256', clientId: id, scopes };
}

// ---- part 1: a Node server that authenticates like Taskcluster ----
function startHawkServer() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      const entry = { method: req.method, url: req.url, contentType: req.headers['content-type'] };
      seen.push(entry);
      const reply = (status, obj, headers = {}) => {
        entry.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(obj));
      };
      if (!req.headers.authorization) return reply(403, { code: 'InsufficientScopes', message: 'no credentials' });
      let credentials;
      try {
        const parsed = hawk.utils.parseAuthorizationHeader(req.headers.authorization);
        ({ credentials } = await hawk.server.authenticate(
          req,
          async (id) => credentialsFor(id, parsed.ext),
          { timestampSkewSec: 15 * 60 },
        ));
      } catch (err) {
        // Errors thrown by the credentials callback come back as Boom 500s: keep their message,
        // as the auth service does.
        const message =
          err.isBoom && err.output.statusCode !== 500
            ? `${err.output.payload.error}: ${err.output.payload.message}`
            : err.message;
        entry.authError = message;
        return reply(401, { code: 'AuthenticationFailed', message, requestInfo: {} }, { 'www-authenticate': 'hawk' });
      }
      entry.clientId = credentials.clientId;
      entry.scopes = credentials.scopes;
      let payload = {};
      if (body) {
        if (!/^application\/json/.test(req.headers['content-type'] || '')) {
          return reply(400, { code: 'InputValidationError', message: 'body without application/json' });
        }
        payload = JSON.parse(body);
      }
      entry.payload = payload;
      const p = req.url.split('?')[0].split('/').map(decodeURIComponent);
      entry.params = p;
      const wm = '/api/worker-manager/v1/';
      if (req.method === 'POST' && req.url === `${wm}worker/reregister`) {
        const expires = taskcluster.fromNow('96 hours');
        const creds = taskcluster.createTemporaryCredentials({
          clientId: `worker/node/${payload.workerPoolId}/${payload.workerGroup}/${payload.workerId}`,
          scopes: ['assume:worker-id:wg/wid'],
          start: taskcluster.fromNow('-15 minutes'),
          expiry: expires,
          credentials: { clientId: WM_ID, accessToken: WM_TOKEN },
        });
        return reply(200, { expires: expires.toJSON(), credentials: creds, secret: taskcluster.slugid() + taskcluster.slugid() });
      }
      if (req.method === 'DELETE' && req.url.startsWith(`${wm}workers/`)) return reply(200, {});
      if (req.method === 'GET' && req.url.startsWith(`${wm}workers/`) && req.url.endsWith('/should-terminate')) {
        return reply(200, { terminate: true, reason: 'node says so' });
      }
      if (req.method === 'POST' && req.url.startsWith(`${wm}worker-pool-errors/`)) {
        return reply(200, { workerPoolId: p[5], errorId: taskcluster.slugid(), reported: new Date().toJSON(), ...payload });
      }
      if (req.method === 'GET' && req.url.startsWith('/api/secrets/v1/secret/')) {
        if (p[5] === 'worker-pool:proj/pool') {
          return reply(200, { secret: { config: { fromNode: true } }, expires: taskcluster.fromNow('1 year').toJSON() });
        }
        return reply(404, { code: 'ResourceNotFound', message: 'Secret not found' });
      }
      return reply(404, { code: 'ResourceNotFound', message: 'no such endpoint' });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function runTcCall(rootUrl, creds, args) {
  const argv = ['--root-url', rootUrl, '--client-id', creds.clientId, '--access-token', creds.accessToken];
  if (creds.certificate) argv.push('--certificate', creds.certificate);
  return new Promise((resolve) => {
    execFile(tcCall, [...argv, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      let out = null;
      try {
        out = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        out = { unparsed: stdout, stderr };
      }
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out });
    });
  });
}

async function partOne(node) {
  const tester = { clientId: 'tester', accessToken: TESTER_TOKEN };
  const commands = [
    [['reregister', 'A'.repeat(44)], (o) => o.clientId === 'worker/node/proj/pool/wg/wid' && o.hasCertificate, 'POST'],
    [['remove'], (o) => o.removed === true, 'DELETE'],
    [['report-error'], (o) => o.reported === true, 'POST'],
    [['should-terminate'], (o) => o.terminate === true && o.reason === 'node says so', 'GET'],
    [['secret', 'worker-pool:proj/pool'], (o) => o.found && o.secret.config.fromNode === true, 'GET'],
    [['secret', 'worker-type:proj/pool'], (o) => o.found === false, 'GET'],
  ];
  for (const [args, ok, method] of commands) {
    await check(`hawk server accepts tc-call ${args.join(' ')} (permanent credentials)`, async () => {
      const before = node.seen.length;
      const { code, out } = await runTcCall(node.url, tester, args);
      assert(code === 0, `exit ${code}: ${JSON.stringify(out)}`);
      assert(ok(out), `unexpected result ${JSON.stringify(out)}`);
      const req = node.seen[before];
      assert(req && req.clientId === 'tester', `server saw ${JSON.stringify(req)}`);
      assert(req.method === method, `method ${req.method}`);
      assert(node.seen.length === before + 1, 'more than one request');
      const hasBody = method === 'POST';
      assert(hasBody === (req.contentType === 'application/json'), `content-type ${req.contentType}`);
    });
  }
  await check('escaped path parameters reach the server decoded', async () => {
    const req = node.seen.find((r) => r.method === 'DELETE');
    assert(req.url === '/api/worker-manager/v1/workers/proj%2Fpool/wg/wid', req.url);
    const sec = node.seen.find((r) => r.url.includes('worker-pool%3Aproj%2Fpool'));
    assert(sec && sec.params[5] === 'worker-pool:proj/pool', JSON.stringify(sec));
  });
  await check('hawk server rejects a tampered access token (tc-call exits 77)', async () => {
    const before = node.seen.length;
    const bad = { clientId: 'tester', accessToken: TESTER_TOKEN.slice(0, -1) + (TESTER_TOKEN.endsWith('x') ? 'y' : 'x') };
    const { code, out } = await runTcCall(node.url, bad, ['should-terminate']);
    assert(code === 77, `exit ${code}: ${JSON.stringify(out)}`);
    assert(out.status === 401, JSON.stringify(out));
    assert(node.seen[before].authError === 'Unauthorized: Bad mac', node.seen[before].authError);
    assert(!JSON.stringify(out).includes(bad.accessToken), 'token printed');
  });
}

async function partTwo(node) {
  const scopes = ['worker-manager:should-worker-terminate:proj/pool/wg/wid', 'secrets:get:worker-pool:proj/pool'];
  const named = taskcluster.createTemporaryCredentials({
    clientId: 'worker/interop/proj/pool/wg/wid',
    scopes,
    start: taskcluster.fromNow('-15 minutes'),
    expiry: taskcluster.fromNow('1 hour'),
    credentials: { clientId: WM_ID, accessToken: WM_TOKEN },
  });
  const unnamed = taskcluster.createTemporaryCredentials({
    scopes,
    start: taskcluster.fromNow('-15 minutes'),
    expiry: taskcluster.fromNow('1 hour'),
    credentials: { clientId: 'tester', accessToken: TESTER_TOKEN },
  });
  for (const [label, creds] of [['named', named], ['unnamed', unnamed]]) {
    await check(`tc-call uses ${label} createTemporaryCredentials`, async () => {
      const before = node.seen.length;
      const { code, out } = await runTcCall(node.url, creds, ['secret', 'worker-pool:proj/pool']);
      assert(code === 0, `exit ${code}: ${JSON.stringify(out)}`);
      assert(out.found === true, JSON.stringify(out));
      const req = node.seen[before];
      assert(req.clientId === creds.clientId, `clientId ${req.clientId}`);
      assert(JSON.stringify(req.scopes) === JSON.stringify(scopes), `scopes ${JSON.stringify(req.scopes)}`);
    });
  }
  await check('a certificate with tampered scopes is refused', async () => {
    const cert = JSON.parse(named.certificate);
    cert.scopes.push('*');
    const before = node.seen.length;
    const { code } = await runTcCall(node.url, { ...named, certificate: JSON.stringify(cert) }, ['should-terminate']);
    assert(code === 77, `exit ${code}`);
    assert(/signature is not valid/.test(node.seen[before].authError), node.seen[before].authError);
  });
}

// ---- part 3: taskcluster-client against our tc-standin ----
async function startStandin() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-interop-'));
  const config = {
    issuer: { clientId: WM_ID, accessToken: WM_TOKEN },
    providers: {
      'static-prov': { type: 'static', workers: { 'wg/wid': { staticSecret: 'S'.repeat(44) } } },
      'aws-prov': { type: 'aws' },
    },
    workerPools: { 'proj/pool': { workerConfig: { genericWorker: { config: { fromStandin: true } } } } },
    secrets: { 'worker-pool:proj/pool': { config: { fromStandinSecret: 1 } } },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(tcStandin, ['--port', '0', '--state-dir', path.join(dir, 'state'), '--config', path.join(dir, 'config.json')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tc-standin did not start')), 10000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) resolve(m[1]);
      else reject(new Error(`unexpected first line: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`tc-standin exited ${code}`)));
  });
  return { child, url, dir };
}

async function partThree(node) {
  let standin;
  await check('tc-standin starts and prints its URL', async () => {
    standin = await startStandin();
  });
  if (!standin) return;
  try {
    const anon = new taskcluster.WorkerManager({ rootUrl: standin.url, retries: 0 });
    let reg;
    await check('taskcluster-client registerWorker against tc-standin', async () => {
      reg = await anon.registerWorker({
        workerPoolId: 'proj/pool',
        providerId: 'static-prov',
        workerGroup: 'wg',
        workerId: 'wid',
        workerIdentityProof: { staticSecret: 'S'.repeat(44) },
        systemBootTime: new Date(Date.now() - 3600e3).toJSON(),
      });
      assert(reg.credentials.clientId === 'worker/static-prov/proj/pool/wg/wid', reg.credentials.clientId);
      assert(/^[a-zA-Z0-9_-]{44}$/.test(reg.secret), 'secret shape');
      assert(reg.workerConfig.genericWorker.config.fromStandin === true, 'workerConfig');
      const cert = JSON.parse(reg.credentials.certificate);
      assert(cert.issuer === WM_ID && cert.scopes.length === 10, 'certificate');
      assert(Math.abs(new Date(reg.expires) - Date.now() - 96 * 3600e3) < 60e3, `expires ${reg.expires}`);
    });
    if (!reg) return;
    await check('tc-standin credentials verify in the Node hawk server (our temp creds)', async () => {
      const { code, out } = await runTcCall(node.url, reg.credentials, ['should-terminate']);
      assert(code === 0, `exit ${code}: ${JSON.stringify(out)}`);
    });
    await check('tc-standin refuses a wrong staticSecret (400)', async () => {
      try {
        await anon.registerWorker({
          workerPoolId: 'proj/pool', providerId: 'static-prov', workerGroup: 'wg', workerId: 'wid',
          workerIdentityProof: { staticSecret: 'T'.repeat(44) },
        });
        throw new Error('accepted');
      } catch (err) {
        assert(err.statusCode === 400 && err.code === 'InputError', `${err.statusCode} ${err.code}`);
      }
    });
    const wm = new taskcluster.WorkerManager({ rootUrl: standin.url, credentials: reg.credentials, retries: 0 });
    const secrets = new taskcluster.Secrets({ rootUrl: standin.url, credentials: reg.credentials, retries: 0 });
    let rereg;
    await check('taskcluster-client reregisterWorker rotates the secret', async () => {
      rereg = await wm.reregisterWorker({ workerPoolId: 'proj/pool', workerGroup: 'wg', workerId: 'wid', secret: reg.secret });
      assert(rereg.secret !== reg.secret && rereg.credentials.accessToken !== reg.credentials.accessToken, 'not rotated');
    });
    await check('a stale secret gets 400 InputError', async () => {
      try {
        await wm.reregisterWorker({ workerPoolId: 'proj/pool', workerGroup: 'wg', workerId: 'wid', secret: reg.secret });
        throw new Error('accepted');
      } catch (err) {
        assert(err.statusCode === 400 && /Could not generate credentials/.test(err.message), `${err.statusCode} ${err.message}`);
      }
    });
    await check('taskcluster-client secrets.get: value and 404', async () => {
      const s = await secrets.get('worker-pool:proj/pool');
      assert(s.secret.config.fromStandinSecret === 1, JSON.stringify(s));
      try {
        await secrets.get('worker-type:proj/pool');
        throw new Error('found');
      } catch (err) {
        assert(err.statusCode === 404, `${err.statusCode}`);
      }
      try {
        await secrets.get('worker-pool:other/pool');
        throw new Error('found');
      } catch (err) {
        assert(err.statusCode === 403, `403 expected, got ${err.statusCode}`);
      }
    });
    await check('taskcluster-client reportWorkerError', async () => {
      const r = await wm.reportWorkerError('proj/pool', {
        workerGroup: 'wg', workerId: 'wid', kind: 'worker-error', title: 't', description: 'd', extra: { a: 1 },
      });
      assert(r.workerPoolId === 'proj/pool' && r.extra.workerId === 'wid', JSON.stringify(r));
    });
    await check('taskcluster-client shouldWorkerTerminate', async () => {
      if (typeof wm.shouldWorkerTerminate !== 'function') return; // not in this client version
      const r = await wm.shouldWorkerTerminate('proj/pool', 'wg', 'wid');
      assert(r.terminate === false, JSON.stringify(r));
    });
    await check('taskcluster-client removeWorker', async () => {
      await wm.removeWorker('proj/pool', 'wg', 'wid');
    });
    await check('a tampered token is refused by tc-standin (401)', async () => {
      const bad = new taskcluster.Secrets({
        rootUrl: standin.url, retries: 0,
        credentials: { ...rereg.credentials, accessToken: rereg.credentials.accessToken.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) },
      });
      try {
        await bad.get('worker-pool:proj/pool');
        throw new Error('accepted');
      } catch (err) {
        assert(err.statusCode === 401 && err.code === 'AuthenticationFailed', `${err.statusCode} ${err.code}`);
      }
    });
    await check('tc-standin logged every request without secrets', async () => {
      const log = fs.readFileSync(path.join(standin.dir, 'state', 'requests.jsonl'), 'utf8');
      const lines = log.trim().split('\n').map((l) => JSON.parse(l));
      assert(lines.length >= 10, `${lines.length} lines`);
      assert(!log.includes('S'.repeat(44)) && !log.includes(reg.secret), 'secret in the log');
      assert(lines.some((l) => l.clientId === 'worker/static-prov/proj/pool/wg/wid'), 'clientId');
    });
  } finally {
    standin.child.kill('SIGTERM');
    fs.rmSync(standin.dir, { recursive: true, force: true });
  }
}

const node = await startHawkServer();
try {
  await partOne(node);
  await partTwo(node);
  await partThree(node);
} finally {
  node.server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
