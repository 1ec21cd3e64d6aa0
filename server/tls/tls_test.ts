// TLS end to end: a self-signed certificate made at test time, a real server
// with a TLS board port on loopback, real framed requests through it.
import assert from "node:assert/strict";
import { Status } from "../../shared/errors.ts";
import { InferenceClient } from "../../client/client.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { selfSignedCertificate } from "../testing/tls_cert.ts";
import { listenTls, readTlsFiles, TlsError } from "./tls.ts";
import { ignorableTests, requireTool } from "../testing/tools.ts";

/** Tests with a certificate made by openssl at test time. */
const openssl = ignorableTests(requireTool("openssl", "openssl"));

const digitU8 = Uint8Array.from({ length: 784 }, (_, i) => (i % 28 > 10 && i % 28 < 16 ? 255 : 0));

openssl.test("readTlsFiles names a missing file and a file that is not PEM", async () => {
  const { dir } = await selfSignedCertificate();
  try {
    await assert.rejects(
      readTlsFiles(`${dir}/absent.pem`, `${dir}/key.pem`),
      (e) => e instanceof TlsError && e.message.startsWith(`--tls-cert ${dir}/absent.pem: `),
    );
    await assert.rejects(
      readTlsFiles(`${dir}/key.pem`, `${dir}/key.pem`),
      (e) =>
        e instanceof TlsError &&
        e.message === `--tls-cert ${dir}/key.pem: no PEM certificate in the file`,
    );
    await assert.rejects(
      readTlsFiles(`${dir}/cert.pem`, `${dir}/cert.pem`),
      (e) =>
        e instanceof TlsError &&
        e.message === `--tls-key ${dir}/cert.pem: no PEM private key in the file`,
    );
    const files = await readTlsFiles(`${dir}/cert.pem`, `${dir}/key.pem`);
    assert.match(files.cert, /BEGIN CERTIFICATE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a certificate the TLS library refuses is a TlsError", () => {
  const bad = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
  assert.throws(
    () => listenTls("127.0.0.1", 0, { cert: bad, key: bad }),
    (e) =>
      e instanceof TlsError && e.message.startsWith("the TLS certificate or key cannot be used"),
  );
});

openssl.test("framed requests over TLS get the same answers as over plain TCP; a plain client on the TLS port disturbs nobody", async () => {
  const certificate = await selfSignedCertificate();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    tls: { port: 0, cert: certificate.cert, key: certificate.key },
  });
  try {
    assert.ok(server.tlsAddr);
    assert.match(server.describe(), new RegExp(` tls=127\\.0\\.0\\.1:${server.tlsAddr.port}`));
    const tlsAddress = { hostname: "127.0.0.1", port: server.tlsAddr.port };
    const plainAddress = { hostname: "127.0.0.1", port: server.addr.port };

    // Someone speaking plain bytes to the TLS port: the handshake fails, that connection ends.
    const stray = await Deno.connect(tlsAddress);
    await stray.write(encodeGarbage());
    const strayRead = await stray.read(new Uint8Array(64)).catch(() => null);
    assert.ok(strayRead === null || strayRead > 0);
    stray.close();

    const secure = await InferenceClient.connect(tlsAddress, {
      tls: { caCerts: [certificate.cert] },
    });
    const plain = await InferenceClient.connect(plainAddress);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => secure.infer({ digitU8 })),
    );
    const reference = await plain.infer({ digitU8 });
    for (const [i, reply] of replies.entries()) {
      assert.equal(reply.status, Status.OK);
      assert.equal(reply.requestId, i + 1);
      assert.equal(reply.predicted, reference.predicted);
      for (let k = 0; k < 10; k++) {
        assert.ok(Math.abs(reply.scores![k] - reference.scores![k]) < 1e-5);
      }
    }
    const stats = await secure.stats();
    assert.equal(stats.status, Status.OK);
    assert.ok(stats.stats!.served >= 21);
    secure.close();
    plain.close();

    // A client that does not trust the certificate does not get through.
    await assert.rejects(async () => {
      const untrusting = await InferenceClient.connect(tlsAddress, { tls: {} });
      try {
        await untrusting.infer({ digitU8 });
      } finally {
        untrusting.close();
      }
    });
  } finally {
    await server.shutdown();
    await Deno.remove(certificate.dir, { recursive: true });
  }
});

function encodeGarbage(): Uint8Array {
  return new TextEncoder().encode("GET / HTTP/1.0\r\n\r\nthis is not a TLS client hello");
}
