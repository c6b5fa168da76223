// The webhook receiver of the benchmark, run as a child process (so that its work does not share an
// event loop with the load clients). It checks each delivery's signature, remembers the X-Webhook-Id
// of every delivery it acknowledged, and can be told over IPC to fail (503) or to accept again.
//
// Parent side: startWebhookReceiver() returns { url, secret, setFailing(bool), snapshot(), stop() }.
import { fork } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const MAX_BODY_BYTES = 2 * 1024 * 1024;

function runReceiver(secret) {
  const received = new Set();
  let deliveries = 0;
  let refused = 0;
  let badSignatures = 0;
  let failing = false;

  const server = http.createServer((request, response) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (failing) {
        refused += 1;
        response.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const signature = Buffer.from(String(request.headers['x-webhook-signature'] ?? ''));
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) badSignatures += 1;
      const id = request.headers['x-webhook-id'];
      if (typeof id === 'string') received.add(id);
      deliveries += 1;
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;

  process.on('message', (message) => {
    if (message.type === 'failing') {
      failing = message.value;
      process.send({ type: 'ack', id: message.id });
    } else if (message.type === 'snapshot') {
      process.send({ type: 'snapshot', id: message.id, value: { ids: [...received], deliveries, refused, badSignatures } });
    } else if (message.type === 'stop') {
      server.close();
      process.disconnect();
    }
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
}

export async function startWebhookReceiver() {
  const secret = randomBytes(24).toString('hex');
  const child = fork(fileURLToPath(import.meta.url), ['--receiver'], {
    env: { ...process.env, BENCH_WEBHOOK_SECRET: secret },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`webhook receiver exited with ${code}`)));
    child.on('message', (message) => {
      if (message.type === 'listening') resolve(message.port);
      else pending.get(message.id)?.(message.value);
    });
  });
  const ask = (message) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (value) => {
        pending.delete(id);
        resolve(value);
      });
      child.send({ ...message, id });
    });
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    secret,
    setFailing: (value) => ask({ type: 'failing', value }),
    snapshot: () => ask({ type: 'snapshot' }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || !child.connected) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

if (process.argv.includes('--receiver')) runReceiver(process.env.BENCH_WEBHOOK_SECRET);
