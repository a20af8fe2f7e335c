// A throwaway PKI for the test API server, made with the openssl CLI:
// a CA, a serving certificate for 127.0.0.1/localhost and client certificates
// whose subject carries the Kubernetes identity (CN = user name, O = groups).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pki {
  dir: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Issues a client certificate signed by the CA; the subject is the Kubernetes identity. */
  issueClientCert(user: string, groups?: string[]): { certPem: string; keyPem: string };
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

/** Escapes a value for openssl's "/A=b/C=d" subject syntax. */
function subjectPart(key: string, value: string): string {
  return `/${key}=${value.replace(/[\\/]/g, (c) => `\\${c}`)}`;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export function createPki(dir = mkdtempSync(join(tmpdir(), "oomtrace-apiserver-"))): Pki {
  openssl(["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=oomtrace-test-ca"], dir);
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n");
  openssl(["req", ...EC, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"], dir);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"], dir);
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  let serial = 0;
  return {
    dir,
    caPem: read("ca.crt"),
    serverCertPem: read("server.crt"),
    serverKeyPem: read("server.key"),
    issueClientCert(user, groups = []) {
      const base = `client-${++serial}`;
      const subj = groups.map((g) => subjectPart("O", g)).join("") + subjectPart("CN", user);
      openssl(["req", ...EC, "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", subj], dir);
      openssl(["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${base}.crt`, "-days", "2", "-extfile", "client.ext"], dir);
      return { certPem: read(`${base}.crt`), keyPem: read(`${base}.key`) };
    },
  };
}
