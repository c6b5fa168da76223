// A small JSON client over keep-alive node:http agents that spreads requests over the replicas in
// round robin, like a load balancer: a replica that refuses or drops a connection is taken out of
// the rotation until its /health/ready answers 200 again.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const REQUEST_TIMEOUT_MS = 30_000;
const PROBE_INTERVAL_MS = 200;

/**
 * Keep-alive sockets are reused in FIFO order and dropped after 4 s idle, below the service's 5 s
 * keepAliveTimeout (Node's default): otherwise a request can be written on a socket the server is
 * closing at that instant, and fail with ECONNRESET through no fault of the service.
 */
function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, scheduling: 'fifo', timeout: 4_000 });
}

export class ServiceClient {
  /** @param {string[]} baseUrls http://127.0.0.1:PORT of each replica */
  constructor(baseUrls, { maxSockets = 256 } = {}) {
    this.targets = baseUrls.map((baseUrl) => {
      const url = new URL(baseUrl);
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`Refusing a non-loopback target: ${baseUrl}`);
      return { baseUrl, host: url.hostname, port: Number(url.port), agent: keepAliveAgent(maxSockets), up: true, probing: false };
    });
    this.next = 0;
    this.closed = false;
  }

  /** Replaces one replica's address (after a restart on another port). */
  retarget(index, baseUrl) {
    const url = new URL(baseUrl);
    const target = this.targets[index];
    target.agent.destroy();
    Object.assign(target, { baseUrl, host: url.hostname, port: Number(url.port), agent: keepAliveAgent(target.agent.maxSockets) });
  }

  pick() {
    for (let step = 0; step < this.targets.length; step += 1) {
      const index = this.next++ % this.targets.length;
      if (this.targets[index].up) return index;
    }
    return this.next++ % this.targets.length;
  }

  /**
   * Sends one request; never throws. Resolves to { status, body, ms, replica, error }, where status 0
   * means no HTTP answer (connection refused, reset, or timed out) and error names the cause.
   */
  request(method, path, { token, body, replica } = {}) {
    const index = replica ?? this.pick();
    const target = this.targets[index];
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result) => {
        if (settled) return;
        settled = true;
        resolve({ ...result, ms: performance.now() - started, replica: index });
      };
      const request = http.request({ host: target.host, port: target.port, method, path, headers, agent: target.agent }, (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', (error) => finish({ status: 0, error: error.code ?? error.message }));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          finish({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      request.on('error', (error) => {
        this.markDown(index);
        finish({ status: 0, error: error.code ?? error.message });
      });
      request.end(payload);
    });
  }

  markDown(index) {
    const target = this.targets[index];
    target.up = false;
    if (target.probing || this.closed) return;
    target.probing = true;
    const probe = async () => {
      while (!this.closed && !target.up) {
        const { status } = await this.request('GET', '/health/ready', { replica: index });
        if (status === 200) target.up = true;
        else await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
      }
      target.probing = false;
    };
    void probe();
  }

  close() {
    this.closed = true;
    for (const target of this.targets) target.agent.destroy();
  }
}

/** GETs base/path until it answers 200 or the deadline passes; resolves to the ms it took, or null. */
export async function waitForOk(baseUrl, path, timeoutMs) {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await new Promise((resolve) => {
      const request = http.get(`${baseUrl}${path}`, { agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.setTimeout(2_000, () => request.destroy());
      request.on('error', () => resolve(0));
    });
    if (status === 200) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}
