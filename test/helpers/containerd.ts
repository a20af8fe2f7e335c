// A private, real containerd (Debian's 1.6, CRI plugin on) for one test file: own config, root,
// state and socket, cgroupfs driver, and an image made here from Debian's busybox-static, since
// no registry is reachable. The same image is the pod sandbox ("pause") image.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CriClient } from "../../src/cri/client.ts";

export const IMAGE = "oomtrace.test/busybox:1";
const BUSYBOX = "/bin/busybox";

/** What the tests need on the machine; scripts/test.sh installs these Debian packages. */
export function containerdMissing(): string | null {
  for (const [bin, pkg] of [
    ["containerd", "containerd"],
    ["ctr", "containerd"],
    ["runc", "runc"],
  ] as const) {
    if (!Bun.which(bin)) return `${bin} is missing (Debian package ${pkg})`;
  }
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (Debian package busybox-static)`;
  return null;
}

function config(dir: string): string {
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[${cri}]
  sandbox_image = "${IMAGE}"
  # Without CAP_SYS_RESOURCE (as here) runc cannot lower oom_score_adj to the sandbox's -998; this keeps it at ours.
  restrict_oom_score_adj = true
  [${cri}.containerd]
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/runc"
`;
}

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

async function run(cmd: string[]): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err || out}`);
}

/** An OCI image layout tarball: busybox and the applets the tests run; its default command sleeps (the sandbox). */
async function buildImage(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
  for (const applet of ["sh", "sleep", "tail", "cat"]) symlinkSync("busybox", join(rootfs, "bin", applet));
  const layout = join(dir, "oci");
  const blobs = join(layout, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const layerTar = join(dir, "layer.tar");
  await run(["tar", "--owner=0", "--group=0", "-C", rootfs, "-cf", layerTar, "bin"]);
  const blob = (data: Uint8Array) => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = blob(new Uint8Array(await Bun.file(layerTar).arrayBuffer()));
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const cfg = blob(
    json({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/sleep", "2147483647"] },
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    }),
  );
  const manifest = blob(
    json({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...cfg },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
    }),
  );
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          platform: { architecture: "amd64", os: "linux" },
          annotations: { "io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "1" },
        },
      ],
    }),
  );
  const tarball = join(dir, "image.tar");
  await run(["tar", "-C", layout, "-cf", tarball, "oci-layout", "index.json", "blobs"]);
  return tarball;
}

/** containerd 1.6 puts shim sockets and fifos here whatever its config says; removed again if we made them. */
const FIXED_DIRS = ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd"];

export class Containerd {
  readonly dir = mkdtempSync("/tmp/oomtrace-containerd-");
  private readonly madeFixed = FIXED_DIRS.filter((d) => !existsSync(d));
  readonly socket = join(this.dir, "containerd.sock");
  private proc: Subprocess | null = null;
  private log = "";

  /** Starts containerd (unless it runs) and waits until its CRI service answers. */
  async start(): Promise<void> {
    if (this.proc) return;
    writeFileSync(join(this.dir, "config.toml"), config(this.dir));
    const p = Bun.spawn(["containerd", "--config", join(this.dir, "config.toml")], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    this.proc = p;
    void (async () => {
      for await (const chunk of p.stderr as ReadableStream<Uint8Array>) this.log = (this.log + new TextDecoder().decode(chunk)).slice(-20_000);
    })();
    const client = new CriClient(this.socket);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await client.version(Date.now() + 2000);
          return;
        } catch (e) {
          if (Date.now() > deadline || p.exitCode !== null) throw new Error(`containerd did not come up: ${(e as Error).message}\n${this.log}`);
          await Bun.sleep(100);
        }
      }
    } finally {
      client.close();
    }
  }

  /** Imports the busybox image into the namespace the CRI plugin uses. */
  async importImage(): Promise<void> {
    const tarball = await buildImage(mkdtempSync(join(this.dir, "image-")));
    await run(["ctr", "--address", this.socket, "--namespace", "k8s.io", "images", "import", "--platform", "linux/amd64", tarball]);
  }

  /** SIGSTOP / SIGCONT: a runtime that accepts connections and never answers. */
  freeze(): void {
    this.proc?.kill("SIGSTOP");
  }

  thaw(): void {
    this.proc?.kill("SIGCONT");
  }

  /** Stops containerd; running containers stay up under their shims, as in production. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGCONT");
    this.proc.kill("SIGTERM");
    await this.proc.exited;
    this.proc = null;
  }

  /** Pids of the container shims this containerd started (they name its socket on their command line). */
  private shims(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        if (argv[0]?.endsWith("containerd-shim-runc-v2") && argv.includes(this.socket)) pids.push(Number(entry));
      } catch {}
    }
    return pids;
  }

  /** Stops containerd and removes its directories (the shims of leftover containers are killed first). */
  async remove(): Promise<void> {
    await this.stop();
    for (const pid of this.shims()) process.kill(pid, "SIGKILL");
    await Bun.$`umount -R ${join(this.dir, "state")}`.nothrow().quiet();
    await Bun.$`sh -c ${`grep -o " ${this.dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`}`.nothrow().quiet();
    rmSync(this.dir, { recursive: true, force: true });
    for (const d of this.madeFixed) {
      try {
        rmdirSync(d);
      } catch {}
    }
  }
}
