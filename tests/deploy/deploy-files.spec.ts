import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/app';
import { freePort } from '../support/ports';

/**
 * Docker cannot run here, so these are the deployment files' invariants that can be checked without it:
 * what the Dockerfile and docker-compose.yml refer to exists, the image's commands are the project's own,
 * its runtime packages provide every library the native addons load, and nginx accepts the compose nginx.conf.
 */

// js-yaml comes with @nestjs/swagger (a dependency); compose files are YAML.
const yaml = require('js-yaml') as { load(text: string): unknown };

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const DOCKERFILE = read('Dockerfile');
const DOCKERIGNORE = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const NGINX_CONF = read('deploy/nginx/nginx.conf');
const PACKAGE = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}
const STEPS = instructions(DOCKERFILE);
/** The stage each instruction belongs to. */
const STAGES = (() => {
  let stage = '';
  return STEPS.map((s) => {
    if (s.op === 'FROM') stage = s.args.split(/\s+as\s+/i)[1] ?? '';
    return { ...s, stage };
  });
})();

interface ComposeService {
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  stop_grace_period?: string;
}

/** docker-compose.yml with YAML merge keys (`<<: *app`) applied, as Compose does. */
function compose(): { services: Record<string, ComposeService>; volumes: Record<string, unknown> } {
  const merge = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(merge);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const { '<<': base, ...rest } = o;
    const merged: Record<string, unknown> = { ...((merge(base) as object) ?? {}) };
    for (const [k, x] of Object.entries(rest)) merged[k] = merge(x);
    return merged;
  };
  return merge(yaml.load(read('docker-compose.yml'))) as ReturnType<typeof compose>;
}

describe('Dockerfile', () => {
  it('copies only sources that exist and that .dockerignore lets into the build context', () => {
    const copies = STEPS.filter((s) => s.op === 'COPY' && !s.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        const rel = src.replace(/\/$/, '');
        expect([rel, existsSync(path.join(REPO_ROOT, rel))]).toEqual([rel, true]);
        const ignored = DOCKERIGNORE.find((p) => rel === p || rel.startsWith(`${p}/`));
        expect([rel, ignored]).toEqual([rel, undefined]);
      }
    }
  });

  it('copies from the build stage only what that stage makes or copies', () => {
    const made = ['/app/node_modules', '/app/dist', '/app/build/native', '/app/package.json'];
    for (const c of STEPS.filter((s) => s.op === 'COPY' && s.args.includes('--from=build'))) {
      const src = c.args
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))[0]
        .replace(/\/$/, '');
      expect(made).toContain(src);
    }
    // build/native must exist even when the native face detector is not built.
    expect(DOCKERFILE).toMatch(/mkdir -p build\/native/);
  });

  it("runs the project's own install and build commands, and starts as `npm start` does", () => {
    const build = STAGES.filter((s) => s.stage === 'build' && s.op === 'RUN')
      .map((s) => s.args)
      .join('\n');
    const npmInstall = read('scripts/npm-install.sh');
    // npm-install.sh: `npm ci`, then scripts/install-native.js; the image does the same (scripts skipped, as
    // allowScripts does with npm 11), then checks that faiss-node loads, as scripts/test.sh does.
    expect(npmInstall).toMatch(/npm ci\b/);
    expect(build).toMatch(/npm ci --ignore-scripts/);
    expect(npmInstall).toMatch(/node scripts\/install-native\.js/);
    expect(PACKAGE.scripts.postinstall).toBe('node scripts/install-native.js');
    expect(build).toMatch(/node scripts\/install-native\.js\b/);
    expect(build).toMatch(/node scripts\/install-native\.js --check/);
    expect(PACKAGE.scripts.build).toBe('nest build');
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    const cmd = STEPS.filter((s) => s.op === 'CMD').pop()?.args;
    expect(JSON.parse(cmd ?? '[]').join(' ')).toBe(PACKAGE.scripts.start);
    // The files the build reads exist.
    for (const f of ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'])
      expect(existsSync(path.join(REPO_ROOT, f))).toBe(true);
    // npm 11 warns on every command about unknown .npmrc keys; allowScripts does that job.
    expect(existsSync(path.join(REPO_ROOT, '.npmrc'))).toBe(false);
    expect(PACKAGE.allowScripts['onnxruntime-node']).toBe(false);
  });

  it('is on Debian bookworm and Node 20, runs as a non-root user, exposes the port, checks /health/live', () => {
    expect(DOCKERFILE).toMatch(/^ARG NODE_IMAGE=node:20-bookworm/m);
    expect(STEPS.filter((s) => s.op === 'USER').pop()?.args).toBe('node');
    expect(STEPS.find((s) => s.op === 'EXPOSE')?.args).toBe('3000');
    expect(STEPS.find((s) => s.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(STEPS.find((s) => s.op === 'HEALTHCHECK')?.args).toMatch(/\/health\/live/);
    expect(read('src/modules/health/health.controller.ts')).toMatch(/@Get\('live'\)/);
    expect(read('src/config/app.config.ts')).toMatch(/PORT: number = 3000/);
    // The system cascade the runtime stage installs (opencv-data) is where the service looks for it.
    expect(read('src/modules/faces/cascade-file.ts')).toContain('/usr/share/opencv4/haarcascades');
  });

  /** Debian packages the runtime stage installs (NATIVE_FACES=true). */
  function runtimePackages(): string[] {
    const runs = STAGES.filter(
      (s) => s.stage === 'runtime' && s.op === 'RUN' && /apt-get install/.test(s.args),
    );
    return runs
      .flatMap((r) => r.args.split(/\s+/))
      .map((w) => w.replace(/[()]/g, ''))
      .filter((w) => /^lib[\w.+-]+$|^opencv-data$/.test(w));
  }

  /** The Debian packages owning each file (dpkg knows /lib or /usr/lib, whichever the package shipped). */
  function packagesOwning(files: string[]): Map<string, string[]> {
    // Through symlinks too: BLAS and LAPACK are reached through /etc/alternatives.
    const variants = (file: string) =>
      [file, realpathSync(file)].flatMap((f) => [
        f,
        f.replace(/^\/lib\//, '/usr/lib/'),
        f.replace(/^\/usr\/lib\//, '/lib/'),
      ]);
    const all = [...new Set(files.flatMap(variants))];
    const owners = new Map<string, string[]>();
    const out = spawnSync('dpkg', ['-S', ...all], { encoding: 'utf8' }).stdout;
    for (const line of out.split('\n')) {
      const at = line.lastIndexOf(': ');
      if (at < 0) continue;
      const pkgs = line
        .slice(0, at)
        .split(', ')
        .map((p) => p.split(':')[0].trim());
      owners.set(line.slice(at + 2).trim(), pkgs);
    }
    return new Map(files.map((f) => [f, variants(f).flatMap((v) => owners.get(v) ?? [])]));
  }

  /** Every installed package's dependencies (first alternative of each, as apt chooses). */
  function installedDepends(): Map<string, string[]> {
    const out = spawnSync('dpkg-query', ['-W', '-f=${Package}\t${Pre-Depends}, ${Depends}\n'], {
      encoding: 'utf8',
    }).stdout;
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [pkg, deps] = l.split('\t');
          const names = deps
            .split(',')
            .map((d) => d.trim().split(/[\s|:]/)[0])
            .filter(Boolean);
          return [pkg, names] as [string, string[]];
        }),
    );
  }

  const dpkg = spawnSync('dpkg-query', ['--version']).status === 0;
  (dpkg ? it : it.skip)(
    "installs in the runtime stage every library the native addons load (checked on this machine's Debian)",
    () => {
      // The closure of the listed packages' dependencies, plus what the node image itself has.
      const closure = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
      const queue = runtimePackages();
      expect(queue).toEqual(expect.arrayContaining(['libblas3', 'liblapack3', 'libgomp1', 'opencv-data']));
      const depends = installedDepends();
      while (queue.length > 0) {
        const p = queue.pop() as string;
        if (closure.has(p)) continue;
        closure.add(p);
        queue.push(...(depends.get(p) ?? [])); // not installed here: its dependencies cannot be followed
      }
      const addons = [
        'node_modules/faiss-node/build/Release/faiss-node.node',
        'build/native/cascade_detector.node',
      ].filter((f) => existsSync(path.join(REPO_ROOT, f)));
      expect(addons[0]).toMatch(/faiss-node/);
      for (const addon of addons) {
        const ldd = spawnSync('ldd', [path.join(REPO_ROOT, addon)], { encoding: 'utf8' }).stdout;
        const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
        expect(libs.length).toBeGreaterThan(0);
        for (const [lib, owners] of packagesOwning(libs))
          expect([addon, lib, owners.some((p) => closure.has(p))]).toEqual([addon, lib, true]);
      }
    },
  );
});

describe('docker-compose.yml', () => {
  const c = compose();

  it('has redis with append-only persistence, two app replicas on REDIS_URL, nginx in front', () => {
    expect(Object.keys(c.services).sort()).toEqual(['app1', 'app2', 'nginx', 'redis']);
    expect(JSON.stringify(c.services.redis)).toMatch(/--appendonly.*yes/);
    expect(c.services.redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    for (const name of ['app1', 'app2']) {
      const app = c.services[name];
      const url = new URL(String(app.environment?.REDIS_URL));
      expect(c.services[url.hostname]).toBeDefined();
      expect(app.depends_on?.redis?.condition).toBe('service_healthy');
      expect(JSON.stringify(app.healthcheck?.test)).toMatch(/\/health\/(ready|live)/);
      // Shared volumes for uploads and outputs, mounted where the app writes them.
      for (const dir of ['UPLOAD_DIR', 'OUTPUT_DIR']) {
        const target = app.environment?.[dir];
        const mount = app.volumes?.find((v) => v.split(':')[1] === target);
        expect([dir, mount && c.volumes[mount.split(':')[0]] !== undefined]).toEqual([dir, true]);
      }
      // The grace period covers the service's own shutdown bound.
      const grace = Number(/^(\d+)s$/.exec(app.stop_grace_period ?? '')?.[1]) * 1000;
      expect(grace).toBeGreaterThan(Number(app.environment?.SHUTDOWN_TIMEOUT_MS ?? 10_000));
    }
  });

  it('refers only to files that exist, and every service it waits for has a healthcheck', () => {
    for (const [name, s] of Object.entries(c.services)) {
      if (s.build) {
        const ctx = typeof s.build === 'string' ? s.build : s.build.context;
        const file = typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile');
        expect([name, existsSync(path.join(REPO_ROOT, ctx, file))]).toEqual([name, true]);
      }
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0];
        if (host.startsWith('.') || host.startsWith('/'))
          expect([name, host, existsSync(path.join(REPO_ROOT, host))]).toEqual([name, host, true]);
        else expect([name, host, c.volumes[host] !== undefined]).toEqual([name, host, true]);
      }
      for (const [dep, how] of Object.entries(s.depends_on ?? {})) {
        expect(c.services[dep]).toBeDefined();
        if (how.condition === 'service_healthy') expect(c.services[dep].healthcheck).toBeDefined();
      }
    }
  });

  it('mounts into nginx every file nginx.conf includes, and nginx.conf proxies to the compose app services', () => {
    const mounts = new Map(
      (c.services.nginx.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]] as [string, string]),
    );
    expect(mounts.get('/etc/nginx/nginx.conf')).toBe('./deploy/nginx/nginx.conf');
    for (const m of NGINX_CONF.matchAll(/^\s*include\s+([^;]+);/gm)) expect(mounts.has(m[1])).toBe(true);
    const upstreamHosts = new Set(
      [...NGINX_CONF.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => m[1]),
    );
    expect([...upstreamHosts].sort()).toEqual(['app1', 'app2']);
    for (const m of NGINX_CONF.matchAll(/^\s*server\s+[\w.-]+:(\d+)/gm)) expect(m[1]).toBe('3000');
  });
});

describe('deploy/nginx/nginx.conf', () => {
  const nginx =
    process.env.NGINX_BIN ??
    spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx'], { encoding: 'utf8' }).stdout.trim();
  const present = spawnSync(nginx, ['-v']).status === 0;

  (present ? it : it.skip)(
    "is accepted by nginx -t, with the compose host names and paths replaced by this machine's",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-nginx-t-'));
      try {
        const [p1, p2, listen] = [await freePort(), await freePort(), await freePort()];
        const deploy = path.join(REPO_ROOT, 'deploy', 'nginx');
        const conf = NGINX_CONF.replace(/\/etc\/nginx\/(ai-server\.[\w.]+\.conf)/g, (_m, f: string) =>
          path.join(deploy, f),
        )
          .replace(/\bapp1:3000\b/g, `127.0.0.1:${p1}`)
          .replace(/\bapp2:3000\b/g, `127.0.0.1:${p2}`)
          .replace(/^(\s*)listen\s+80;/m, `$1listen 127.0.0.1:${listen};`)
          // Only the process's own files move into the temporary folder.
          .replace(
            /^http\s*\{/m,
            `pid ${dir}/nginx.pid;\nhttp {\n    client_body_temp_path ${dir}/body;\n    proxy_temp_path ${dir}/proxy;\n` +
              `    fastcgi_temp_path ${dir}/fastcgi;\n    uwsgi_temp_path ${dir}/uwsgi;\n    scgi_temp_path ${dir}/scgi;`,
          );
        expect(conf).not.toMatch(/app[12]:|\/etc\/nginx/);
        const file = path.join(dir, 'nginx.conf');
        writeFileSync(file, conf);
        // nginx opens /dev/stdout and /dev/stderr (the compose logs): give it files, not sockets.
        const test = () => {
          const out = openSync(path.join(dir, 'stdout'), 'w');
          const err = openSync(path.join(dir, 'stderr'), 'w');
          try {
            const r = spawnSync(nginx, ['-t', '-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], {
              stdio: ['ignore', out, err],
            });
            return { status: r.status, stderr: readFileSync(path.join(dir, 'stderr'), 'utf8') };
          } finally {
            closeSync(out);
            closeSync(err);
          }
        };
        const r = test();
        expect([r.status, r.stderr]).toEqual([0, expect.stringContaining('test is successful')]);
        // And the check is real: an upstream nginx cannot resolve fails it.
        writeFileSync(file, conf.replace(`127.0.0.1:${p1}`, 'no-such-host.invalid:3000'));
        expect(test().status).not.toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
