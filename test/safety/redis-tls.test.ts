/**
 * `rediss://` URLs: a real TLS redis-server (Debian's build has TLS) with a self-signed
 * certificate made by openssl. The CLI connects when the certificate is trusted
 * (NODE_EXTRA_CA_CERTS) and refuses, with exit code 4, when it is not: TLS is verified.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../orchestrator/queue/connection.js';
import { ipa, STACK_FRAME } from './cli-process.js';

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

describe('Redis over TLS (rediss://)', () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipa-tls-'));
    const cert = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    expect(cert.status, cert.stderr).toBe(0);
    port = await freePort();
    server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        join(dir, 'cert.pem'),
        '--tls-key-file',
        join(dir, 'key.pem'),
        '--tls-ca-cert-file',
        join(dir, 'cert.pem'),
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    // Ready once the TLS port accepts a verified connection.
    for (let i = 0; i < 100; i++) {
      const r = await ipa(['workers', '--redis-url', `rediss://127.0.0.1:${port}`], {
        NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      });
      if (r.code === 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('TLS redis-server did not come up');
  });
  afterAll(async () => {
    if (server && server.exitCode === null)
      await new Promise((res) => (server.once('exit', res), server.kill('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps rediss:// to a TLS connection that verifies the server', () => {
    const r = connect(`rediss://127.0.0.1:${port}`, { lazyConnect: true });
    expect(r.options.tls).toBeTruthy();
    expect((r.options.tls as { rejectUnauthorized?: boolean }).rejectUnauthorized).not.toBe(false);
    r.disconnect();
    const plain = connect(`redis://127.0.0.1:${port}`, { lazyConnect: true });
    expect(plain.options.tls).toBeFalsy();
    plain.disconnect();
  });

  it('`ipa workers` works over TLS with a trusted certificate', async () => {
    const r = await ipa(['workers', '--redis-url', `rediss://127.0.0.1:${port}`], {
      NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no workers connected');
  });

  it('an untrusted certificate is refused: exit code 4, a readable reason, no stack trace', async () => {
    const r = await ipa(['workers', '--redis-url', `rediss://127.0.0.1:${port}`]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^ipa workers: cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+\/?: .*certificate/);
    expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
  });
});
