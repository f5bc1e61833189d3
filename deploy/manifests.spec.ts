// Offline checks of the deployment files: every Kubernetes document against its API
// schema (kubernetes-models, @kubernetes-models/keda), each kustomization's entries (no
// build: the files they name, read as they are), and the rules the service depends on
// (shutdown timing, probes, Redis persistence, the KEDA overlay, the compose topology).
// Nothing here needs a cluster or an engine; kubectl, when installed, builds both
// kustomizations as a cross-check.
import { spawnSync } from 'child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { basename, dirname, join, relative, resolve, sep } from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer as Container } from 'kubernetes-models/v1/Container';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';

const root = resolve(__dirname, '..');
const k8sDir = join(__dirname, 'kubernetes');
const kedaDir = join(k8sDir, 'overlays', 'keda');
const composeFile = join(root, 'docker-compose.yml');
const settingsFile = join(root, 'apps/sandbox/src/config/environment-variables.ts');

/** The BullMQ wait list of queue "sandbox-executions" under the default prefix "bull". */
const WAIT_LIST = 'bull:sandbox-executions:wait';
/** Worst case after SHUTDOWN_GRACE_MS: last container kills (5 s) and answers (2 s). */
const SHUTDOWN_TAIL_S = 7;
const SCOPES = ['execute', 'read', 'adjust', 'admin'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
const rel = (file: string): string => relative(root, file);
const clone = <T>(v: T): T => structuredClone(v);

function need<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`missing: ${what}`);
  return value;
}

// ---------------------------------------------------------------- YAML loading

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    })
    .sort();
}

/** Every document of a multi-document YAML text; throws on a syntax error. */
function parseDocs(source: string, where: string): Obj[] {
  return parseAllDocuments(source).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${where} #${i}: ${doc.errors[0].message}`);
    const body: unknown = doc.toJS();
    if (!isObj(body)) throw new Error(`${where} #${i}: not a mapping`);
    return body;
  });
}

const loadDocs = (file: string): Obj[] => parseDocs(readFileSync(file, 'utf8'), rel(file));

// ---------------------------------------------------------------- schema validation

type Validatable = { validate(): void };
const schemas: Record<string, new (data: never) => Validatable> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};
const typeOf = (body: Obj): string => `${text(body.apiVersion)}/${text(body.kind)}`;
const KUSTOMIZATION = 'kustomize.config.k8s.io/v1beta1/Kustomization';

/** Schema violations of one document (kustomization files are checked by hand). */
function schemaProblems(body: Obj): string[] {
  const type = typeOf(body);
  if (type === KUSTOMIZATION) return [];
  const Model = schemas[type];
  if (!Model) return [`no schema known for ${type}: add its model to the spec`];
  if (!text(obj(body.metadata).name)) return [`${type} has no metadata.name`];
  try {
    new Model(body as never).validate();
    return [];
  } catch (error) {
    return [`${type} ${text(obj(body.metadata).name)}: ${(error as Error).message}`];
  }
}

// ---------------------------------------------------------------- kustomizations

const isKustomization = (file: string): boolean => basename(file) === 'kustomization.yaml';
const key = (body: Obj): string => `${text(body.kind)}/${text(obj(body.metadata).name)}`;

/** The entries of a kustomization's `resources`, resolved against its directory. */
const resourcePaths = (kfile: string): string[] =>
  list(loadDocs(kfile)[0].resources).map((entry) => resolve(dirname(kfile), text(entry)));

/** The documents of one entry of a kustomization's `patches`: inline or in a file. */
const patchDocs = (kfile: string, patch: Obj): Obj[] =>
  patch.path
    ? loadDocs(resolve(dirname(kfile), text(patch.path)))
    : parseDocs(text(patch.patch), `${rel(kfile)} patch`);

/** The documents of all of a kustomization's `patches`. */
const patchDocuments = (kfile: string): Obj[] =>
  list(loadDocs(kfile)[0].patches)
    .map(obj)
    .flatMap((patch) => patchDocs(kfile, patch));

/**
 * What kustomize would refuse in one kustomization, entry by entry (nothing is built):
 * a resource or patch file that is missing or outside the kustomization's root, a
 * directory without a kustomization or one that contains this one (a cycle), a patch
 * deleting a document that no file holds.
 */
function kustomizationProblems(kfile: string, documentKeys: ReadonlySet<string>): string[] {
  const dir = dirname(kfile);
  const kustomization = loadDocs(kfile)[0];
  const problems: string[] = [];
  const where = rel(kfile);
  if (typeOf(kustomization) !== KUSTOMIZATION) {
    problems.push(`${where}: not a ${KUSTOMIZATION}`);
  }
  const insideRoot = (path: string): boolean => path.startsWith(dir + sep);
  for (const entry of list(kustomization.resources).map(text)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) {
      problems.push(`${where}: resource ${entry} does not exist`);
    } else if (statSync(path).isDirectory()) {
      if ((dir + sep).startsWith(path + sep)) {
        problems.push(`${where}: ${entry} contains this kustomization (kustomize: cycle)`);
      } else if (!existsSync(join(path, 'kustomization.yaml'))) {
        problems.push(`${where}: directory ${entry} has no kustomization.yaml`);
      }
    } else if (!insideRoot(path)) {
      problems.push(`${where}: file ${entry} is outside the kustomization's root`);
    }
  }
  for (const patch of list(kustomization.patches).map(obj)) {
    const path = patch.path ? resolve(dir, text(patch.path)) : '';
    if (path && !existsSync(path)) {
      problems.push(`${where}: patch ${text(patch.path)} does not exist`);
    } else if (path && !insideRoot(path)) {
      problems.push(`${where}: patch ${text(patch.path)} is outside the kustomization's root`);
    } else {
      for (const doc of patchDocs(kfile, patch).filter((d) => d.$patch === 'delete')) {
        if (!documentKeys.has(key(doc))) {
          problems.push(`${where}: deletes ${key(doc)}, not present`);
        }
      }
    }
  }
  return problems;
}

/**
 * kustomize gives everything a kustomization lists as a file its `namespace`: that must
 * be the Namespace's, and no listed document may name another.
 */
function namespaceProblems(kfile: string, namespace: string): string[] {
  const files = resourcePaths(kfile).filter((path) => existsSync(path) && statSync(path).isFile());
  if (files.length === 0) return [];
  const problems: string[] = [];
  const set = text(loadDocs(kfile)[0].namespace);
  if (set !== namespace) {
    problems.push(`${rel(kfile)}: namespace ${set || 'unset'}, not ${namespace}`);
  }
  for (const doc of files.flatMap(loadDocs)) {
    const own = text(obj(doc.metadata).namespace);
    if (own && own !== namespace) problems.push(`${key(doc)} names namespace ${own}`);
  }
  return problems;
}

// ---------------------------------------------------------------- the service's rules

const SERVICE_CONTAINER = 'sandbox';
const ENGINE_CONTAINER = 'engine';

const mainContainer = (dep: Deployment): Container =>
  need(
    dep.spec?.template.spec?.containers.find((c) => c.name === SERVICE_CONTAINER),
    `container ${SERVICE_CONTAINER}`,
  );
const engineContainer = (dep: Deployment): Container | undefined =>
  [
    ...(dep.spec?.template.spec?.initContainers ?? []),
    ...(dep.spec?.template.spec?.containers ?? []),
  ].find((c) => c.name === ENGINE_CONTAINER);

function preStopSeconds(c: Container): number {
  const hook = c.lifecycle?.preStop;
  if (hook?.sleep) return hook.sleep.seconds;
  const [cmd, seconds] = hook?.exec?.command ?? [];
  return cmd === 'sleep' ? Number(seconds) : 0;
}

/** terminationGracePeriodSeconds covers preStop, SHUTDOWN_GRACE_MS and the last 7 s. */
function graceProblems(dep: Deployment, config: ConfigMap): string[] {
  const graceMs = config.data?.SHUTDOWN_GRACE_MS;
  if (graceMs === undefined) return ['the ConfigMap does not set SHUTDOWN_GRACE_MS'];
  const total = dep.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
  const preStop = preStopSeconds(mainContainer(dep));
  const needed = preStop + Number(graceMs) / 1000 + SHUTDOWN_TAIL_S;
  if (!Number.isFinite(needed)) return [`SHUTDOWN_GRACE_MS ${graceMs} is not a number`];
  return total > needed
    ? []
    : [
        `terminationGracePeriodSeconds ${total} must exceed preStop ${preStop} s + ` +
          `SHUTDOWN_GRACE_MS ${Number(graceMs) / 1000} s + ${SHUTDOWN_TAIL_S} s = ${needed} s`,
      ];
}

function probeProblems(dep: Deployment): string[] {
  const c = mainContainer(dep);
  const problems: string[] = [];
  const ports = (c.ports ?? []).map((p) => [p.name, p.containerPort] as const);
  if (!ports.some(([, n]) => n === 8001)) problems.push('the service must expose port 8001');
  const expect = {
    livenessProbe: '/health/live',
    startupProbe: '/health/live',
    readinessProbe: '/health/ready',
  } as const;
  for (const [probe, path] of Object.entries(expect)) {
    const get = c[probe as keyof typeof expect]?.httpGet;
    if (!get) {
      problems.push(`${probe}: missing or not httpGet`);
      continue;
    }
    if (get.path !== path) problems.push(`${probe} must GET ${path}, not ${get.path}`);
    const port = ports.find(([name, n]) => name === get.port || n === get.port);
    if (port?.[1] !== 8001) problems.push(`${probe} must target port 8001`);
  }
  return problems;
}

function redisArgs(sts: StatefulSet): string[] {
  const c = need(sts.spec?.template.spec?.containers[0], 'redis container');
  return [...(c.command ?? []), ...(c.args ?? [])].flatMap((a) => a.split(/\s+/));
}

function redisProblems(sts: StatefulSet): string[] {
  const args = redisArgs(sts);
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  const problems: string[] = [];
  if (!args.includes('--appendonly') || value('--appendonly') !== 'yes') {
    problems.push('redis must run with --appendonly yes');
  }
  if (value('--maxmemory-policy') !== 'noeviction') {
    problems.push('BullMQ needs --maxmemory-policy noeviction');
  }
  const c = need(sts.spec?.template.spec?.containers[0], 'redis container');
  for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
    if (!(c[probe]?.exec?.command ?? []).join(' ').includes('redis-cli ping')) {
      problems.push(`redis ${probe} must run redis-cli ping`);
    }
  }
  const claims = (sts.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name);
  const dataMount = c.volumeMounts?.find((m) => m.mountPath === '/data');
  if (!dataMount || !claims.includes(dataMount.name)) {
    problems.push('redis /data must be on a volumeClaimTemplate');
  }
  return problems;
}

/** Kubernetes quantities as bytes or cores (enough for what these files use). */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  const m = /^([\d.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return NaN;
  const scale: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? scale[m[2]] : 1);
}

// ---------------------------------------------------------------- compose

interface ComposeService {
  name: string;
  body: Obj;
  profiles: string[];
}

const composeServices = (compose: Obj): ComposeService[] =>
  Object.entries(obj(compose.services)).map(([name, body]) => ({
    name,
    body: obj(body),
    profiles: list(obj(body).profiles).map(text),
  }));
const env = (s: ComposeService): Obj => obj(s.body.environment);
const isInstance = (s: ComposeService): boolean =>
  text(obj(s.body.build).dockerfile) === 'docker/service/Dockerfile';
const commandArgs = (v: unknown): string[] =>
  typeof v === 'string' ? v.split(/\s+/) : list(v).map(text);

function seconds(duration: unknown): number {
  const d = text(duration);
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== d) return NaN;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]], 0);
}

/** What `docker compose [--profile scale] up` would run. */
const active = (services: ComposeService[], profile?: string): ComposeService[] =>
  services.filter((s) => s.profiles.length === 0 || (!!profile && s.profiles.includes(profile)));

function composeProblems(compose: Obj, readFile: (path: string) => string): string[] {
  const problems: string[] = [];
  const services = composeServices(compose);
  const byName = new Map(services.map((s) => [s.name, s]));
  const dependsOn = (s: ComposeService): Obj => obj(s.body.depends_on);

  const redis = byName.get('redis');
  const redisArgv = commandArgs(redis?.body.command);
  if (redisArgv[redisArgv.indexOf('--appendonly') + 1] !== 'yes' || !redisArgv.length) {
    problems.push('redis must run with --appendonly yes');
  }

  for (const s of services) {
    // One-shot jobs (restart: "no") run to completion; everything else needs a check.
    const oneShot = s.body.restart === 'no';
    if (!oneShot && !isObj(s.body.healthcheck)) problems.push(`${s.name} has no healthcheck`);
    for (const [dep, how] of Object.entries(dependsOn(s))) {
      const target = byName.get(dep);
      if (!target) problems.push(`${s.name} depends on unknown ${dep}`);
      else if (!target.profiles.every((p) => s.profiles.includes(p))) {
        problems.push(`${s.name} depends on ${dep}, which its profiles do not start`);
      }
      if (obj(how).condition === 'service_healthy' && target?.body.restart === 'no') {
        problems.push(`${s.name} waits for ${dep} to be healthy, but it is a one-shot job`);
      }
    }
  }

  const profiles: [string, string | undefined, number][] = [
    ['default', undefined, 1],
    ['scale', 'scale', 2],
  ];
  for (const [label, profile, count] of profiles) {
    const up = active(services, profile);
    const instances = up.filter(isInstance);
    if (instances.length !== count) {
      problems.push(`${label}: ${instances.length} sandbox instances, expected ${count}`);
    }
    const engines = new Set<string>();
    const ids = new Set<string>();
    for (const s of instances) {
      const e = env(s);
      const engine = /^tcp:\/\/([\w-]+):2375$/.exec(text(e.DOCKER_HOST))?.[1] ?? '';
      const engineService = up.find((x) => x.name === engine);
      if (!engineService) problems.push(`${s.name}: DOCKER_HOST names no running engine`);
      else if (engineService.body.privileged !== true) problems.push(`${engine} not privileged`);
      if (engines.has(engine)) problems.push(`${s.name} shares ${engine}`);
      engines.add(engine);
      const builder = up.find(
        (x) => x.body.restart === 'no' && text(env(x).DOCKER_HOST) === text(e.DOCKER_HOST),
      );
      if (!builder) problems.push(`${label}: no runtime image job for ${engine}`);
      const id = text(e.SANDBOX_INSTANCE_ID);
      if (!id || ids.has(id)) problems.push(`${s.name}: SANDBOX_INSTANCE_ID missing or shared`);
      ids.add(id);
      if (!/^redis:\/\/redis:6379$/.test(text(e.REDIS_URL))) {
        problems.push(`${s.name}: REDIS_URL must be redis://redis:6379`);
      }
      const graceS = Number(text(e.SHUTDOWN_GRACE_MS) || '25000') / 1000;
      const stop = seconds(s.body.stop_grace_period);
      if (!(stop > graceS + SHUTDOWN_TAIL_S)) {
        problems.push(`${s.name}: stop_grace_period must exceed ${graceS + SHUTDOWN_TAIL_S} s`);
      }
      for (const dep of [engine, 'redis']) {
        if (obj(dependsOn(s)[dep]).condition !== 'service_healthy') {
          problems.push(`${s.name} must wait for ${dep} to be healthy`);
        }
      }
      if (!commandArgs(obj(s.body.healthcheck).test).join(' ').includes('/health/ready')) {
        problems.push(`${s.name}: healthcheck must use /health/ready`);
      }
    }
    if (profile === 'scale') {
      const lb = up.find((s) => text(s.body.image).startsWith('nginx:'));
      const mount = list(lb?.body.volumes)
        .map(text)
        .find((v) => v.includes('nginx.conf'));
      if (!lb || !mount) {
        problems.push('scale: no nginx load balancer with deploy/compose/nginx.conf');
      } else {
        const conf = readFile(mount.split(':')[0]);
        for (const s of instances) {
          if (!conf.includes(`server ${s.name}:8001`)) problems.push(`nginx misses ${s.name}`);
        }
        if (!/proxy_buffering\s+off;/.test(conf)) problems.push('nginx must not buffer (SSE)');
      }
    }
  }
  return problems;
}

// ================================================================== specs

const files = yamlFiles(k8sDir);
const documents = files.flatMap((file) =>
  loadDocs(file).map((body, index) => ({ file: rel(file), index, body })),
);
const kustomizations = files.filter(isKustomization);
const manifests = documents.filter((d) => typeOf(d.body) !== KUSTOMIZATION);
const compose = obj(parse(readFileSync(composeFile, 'utf8'), { merge: true }));

/** The one manifest of this kind (and name) under deploy/kubernetes. */
function the(kind: string, name?: string): Obj {
  const hits = manifests.filter(
    (d) => d.body.kind === kind && (name === undefined || obj(d.body.metadata).name === name),
  );
  if (hits.length > 1) throw new Error(`${kind} ${name ?? ''}: ${hits.length} manifests`);
  return need(hits[0], `${kind}${name ? ` ${name}` : ''}`).body;
}

const deploymentBody = the('Deployment', 'sandbox');
const configBody = the('ConfigMap', 'sandbox-config');
const redisBody = the('StatefulSet', 'redis');
const deployment = new Deployment(deploymentBody);
const config = new ConfigMap(configBody);
const redis = new StatefulSet(redisBody);
const namespace = text(obj(the('Namespace').metadata).name);
const podSpec = need(deployment.spec?.template.spec, 'pod spec');
const podLabels = deployment.spec?.template.metadata?.labels ?? {};
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('finds the files', () => {
    expect(files.map(rel)).toEqual(
      expect.arrayContaining([
        'deploy/kubernetes/kustomization.yaml',
        'deploy/kubernetes/base/deployment.yaml',
        'deploy/kubernetes/overlays/keda/kustomization.yaml',
        'deploy/kubernetes/overlays/keda/keda-scaledobject.yaml',
        'deploy/kubernetes/secret.example.yaml',
      ]),
    );
  });

  it.each(documents.map((d) => [`${d.file} #${d.index} ${typeOf(d.body)}`, d.body] as const))(
    '%s matches its API schema',
    (_name, body) => {
      expect(schemaProblems(body)).toEqual([]);
    },
  );

  it('rejects a Deployment that breaks the schema (the validator is real)', () => {
    const broken = clone(deploymentBody);
    const containers = list(obj(obj(obj(broken.spec).template).spec).containers);
    list(obj(containers[0]).ports)[0] = { name: 'http', containerPort: 'x' };
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
    expect(schemaProblems(broken)).toEqual([expect.stringMatching(/must be integer/)]);
    const noTarget = clone(the('ScaledObject'));
    delete obj(noTarget.spec).scaleTargetRef;
    expect(schemaProblems(noTarget)).toEqual([expect.stringMatching(/scaleTargetRef/)]);
    expect(schemaProblems({ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } })).toEqual([
      expect.stringMatching(/no schema/),
    ]);
  });

  it('kustomizations list existing files; each manifest is listed once, no two share a name', () => {
    const keys = new Set(manifests.map((d) => key(d.body)));
    expect(kustomizations.flatMap((kfile) => kustomizationProblems(kfile, keys))).toEqual([]);
    // Overlays reuse a base as a directory: a file listed twice would come out twice.
    const listed = kustomizations.flatMap(resourcePaths).filter((path) => statSync(path).isFile());
    const unlisted = files.filter(
      (f) => !isKustomization(f) && !f.endsWith('.example.yaml') && !listed.includes(f),
    );
    expect(unlisted.map(rel)).toEqual([]);
    expect(listed.filter((path, i) => listed.indexOf(path) !== i).map(rel)).toEqual([]);
    // kustomize refuses two resources of one kind and name.
    expect(manifests.length).toBe(keys.size);
  });

  it('reports what kustomize refuses: a missing file, a file outside the root, a cycle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
    try {
      const write = (path: string, body: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), body);
      };
      write('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
      const head = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
      const deleteB = '$patch: delete\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}';
      write(
        'kustomization.yaml',
        `${head}namespace: elsewhere\nresources: [cm.yaml, gone.yaml, empty]\n` +
          `patches: [{path: patch.yaml}, {patch: ${JSON.stringify(deleteB)}}]\n`,
      );
      mkdirSync(join(dir, 'empty'));
      write('overlays/x/kustomization.yaml', `${head}resources: [../.., ../../cm.yaml]\n`);
      const keys = new Set(['ConfigMap/a']);
      expect(kustomizationProblems(join(dir, 'overlays/x/kustomization.yaml'), keys)).toEqual([
        expect.stringMatching(/\.\.\/\.\. contains this kustomization/),
        expect.stringMatching(/cm\.yaml is outside the kustomization's root/),
      ]);
      expect(kustomizationProblems(join(dir, 'kustomization.yaml'), keys)).toEqual([
        expect.stringMatching(/gone\.yaml does not exist/),
        expect.stringMatching(/directory empty has no kustomization\.yaml/),
        expect.stringMatching(/patch patch\.yaml does not exist/),
        expect.stringMatching(/deletes ConfigMap\/b, not present/),
      ]);
      expect(namespaceProblems(join(dir, 'kustomization.yaml'), namespace)).toEqual([
        expect.stringMatching(/namespace elsewhere, not brain-net-sandbox/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('puts every listed manifest in the Namespace of base/namespace.yaml', () => {
    expect(namespace).toBe('brain-net-sandbox');
    expect(kustomizations.flatMap((kfile) => namespaceProblems(kfile, namespace))).toEqual([]);
  });

  it('by default scales with the CPU HPA; the keda overlay swaps it for the ScaledObject', () => {
    const baseDir = join(k8sDir, 'base');
    const hpaFile = join(baseDir, 'hpa.yaml');
    const scaledObjectFile = join(kedaDir, 'keda-scaledobject.yaml');
    const kinds = (paths: string[]) => paths.flatMap(loadDocs).map((d) => d.kind);
    // deploy/kubernetes is the base, which holds the HPA and no ScaledObject.
    expect(resourcePaths(join(k8sDir, 'kustomization.yaml'))).toEqual([baseDir]);
    const baseFiles = resourcePaths(join(baseDir, 'kustomization.yaml'));
    expect(baseFiles).toContain(hpaFile);
    expect(kinds(baseFiles)).toContain('HorizontalPodAutoscaler');
    expect(kinds(baseFiles)).not.toContain('ScaledObject');
    // The overlay: the base and the ScaledObject, less the HPA of base/hpa.yaml.
    const overlay = join(kedaDir, 'kustomization.yaml');
    expect(resourcePaths(overlay)).toEqual([baseDir, scaledObjectFile]);
    expect(kinds([scaledObjectFile])).toEqual(['ScaledObject']);
    const hpa = loadDocs(hpaFile)[0];
    const deleted = patchDocuments(overlay).filter((d) => d.$patch === 'delete');
    expect(deleted.map((d) => [text(d.apiVersion), key(d)])).toEqual([
      [text(hpa.apiVersion), key(hpa)],
    ]);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const withKubectl = kubectl.status === 0 ? it : it.skip;
  withKubectl('kubectl kustomize builds what the files list (when kubectl is installed)', () => {
    const build = (dir: string): Obj[] => {
      const out = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: out.status, stderr: out.status === 0 ? '' : out.stderr }).toEqual({
        status: 0,
        stderr: '',
      });
      return parseDocs(out.stdout, `kubectl kustomize ${rel(dir)}`);
    };
    const baseKeys = resourcePaths(join(k8sDir, 'base', 'kustomization.yaml'))
      .flatMap(loadDocs)
      .map(key);
    const withHpa = build(k8sDir);
    const withKeda = build(kedaDir);
    expect(withHpa.map(key).sort()).toEqual([...baseKeys].sort());
    expect(withKeda.map(key).sort()).toEqual(
      [
        ...baseKeys.filter((k) => k !== 'HorizontalPodAutoscaler/sandbox'),
        'ScaledObject/sandbox',
      ].sort(),
    );
    for (const doc of [...withHpa, ...withKeda].filter((d) => d.kind !== 'Namespace')) {
      expect([key(doc), obj(doc.metadata).namespace]).toEqual([key(doc), namespace]);
    }
  });

  it('gives the shutdown its time: terminationGracePeriodSeconds > preStop + grace + 7 s', () => {
    expect(graceProblems(deployment, config)).toEqual([]);
    const short = new Deployment(clone(deploymentBody));
    need(short.spec?.template.spec, 'pod').terminationGracePeriodSeconds = 35;
    expect(graceProblems(short, config)).toEqual([expect.stringMatching(/must exceed .* 37 s/)]);
    const longer = new ConfigMap({ ...configBody, data: { SHUTDOWN_GRACE_MS: '60000' } });
    expect(graceProblems(deployment, longer)).toHaveLength(1);
  });

  it('probes /health/live and /health/ready on port 8001', () => {
    expect(probeProblems(deployment)).toEqual([]);
    const wrong = new Deployment(clone(deploymentBody));
    need(mainContainer(wrong).readinessProbe?.httpGet, 'readiness').path = '/health/live';
    expect(probeProblems(wrong)).toEqual([expect.stringMatching(/readinessProbe must GET/)]);
  });

  it('pairs the service with a privileged engine sidecar on loopback', () => {
    const c = mainContainer(deployment);
    const envOf = (name: string) => c.env?.find((e) => e.name === name);
    expect(envOf('DOCKER_HOST')?.value).toBe('tcp://127.0.0.1:2375');
    expect(envOf('SANDBOX_INSTANCE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    const engine = need(engineContainer(deployment), 'engine sidecar');
    expect(engine.image).toMatch(/^docker:.*dind/);
    expect(engine.securityContext?.privileged).toBe(true);
    // Native sidecar: it outlives the service container during the shutdown grace.
    expect(engine.restartPolicy).toBe('Always');
    expect(engine.args).toEqual(
      expect.arrayContaining(['--host=tcp://127.0.0.1:2375', '--tls=false', '--bridge=none']),
    );
    const storage = engine.volumeMounts?.find((m) => m.mountPath === '/var/lib/docker');
    const volume = podSpec.volumes?.find((v) => v.name === storage?.name);
    expect(volume?.emptyDir).toBeDefined();
  });

  it('locks the service container down', () => {
    const c = mainContainer(deployment);
    expect(podSpec.automountServiceAccountToken).toBe(false);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // A numeric non-root user: the image's "node" cannot be verified by the kubelet.
    expect(c.securityContext?.runAsUser).toBeGreaterThan(0);
    for (const path of ['/data', '/tmp']) {
      const mount = c.volumeMounts?.find((m) => m.mountPath === path);
      expect([path, podSpec.volumes?.find((v) => v.name === mount?.name)?.emptyDir]).toEqual([
        path,
        expect.any(Object),
      ]);
    }
    expect(config.data?.DATABASE_PATH).toMatch(/^\/data\//);
  });

  it('gives every container requests and limits; the engine fits its executions', () => {
    const all = [...(podSpec.initContainers ?? []), ...podSpec.containers];
    for (const c of [...all, ...(redis.spec?.template.spec?.containers ?? [])]) {
      for (const kind of ['requests', 'limits'] as const) {
        for (const res of ['cpu', 'memory']) {
          expect([c.name, kind, res, quantity(c.resources?.[kind]?.[res])]).toEqual([
            c.name,
            kind,
            res,
            expect.any(Number),
          ]);
          expect(quantity(c.resources?.[kind]?.[res])).toBeGreaterThan(0);
        }
      }
    }
    const engine = need(engineContainer(deployment), 'engine');
    const perPod = Number(config.data?.MAX_CONCURRENT_EXECUTIONS);
    const each = Number(config.data?.SANDBOX_MEMORY_MB) * 2 ** 20;
    expect(quantity(engine.resources?.limits?.memory)).toBeGreaterThanOrEqual(perPod * each);
  });

  it('wires the ConfigMap, the api-keys Secret and the Service to the pods', () => {
    const c = mainContainer(deployment);
    expect(c.envFrom?.map((e) => e.configMapRef?.name)).toContain('sandbox-config');
    for (const ref of [...podSpec.containers, ...(podSpec.initContainers ?? [])].flatMap(
      (x) => x.env ?? [],
    )) {
      const cm = ref.valueFrom?.configMapKeyRef;
      if (cm)
        expect([cm.name, config.data?.[cm.key] !== undefined]).toEqual([
          config.metadata?.name,
          true,
        ]);
    }
    // API_KEYS_FILE lies in the directory the Secret of secret.example.yaml is mounted on.
    const example = loadDocs(join(k8sDir, 'secret.example.yaml'))[0];
    const secret = new Secret(example);
    const keysFile = need(config.data?.API_KEYS_FILE, 'API_KEYS_FILE');
    const mount = need(
      c.volumeMounts?.find((m) => m.mountPath === dirname(keysFile)),
      'api keys mount',
    );
    expect(mount.readOnly).toBe(true);
    const volume = podSpec.volumes?.find((v) => v.name === mount.name);
    expect(volume?.secret?.secretName).toBe(secret.metadata?.name);
    expect(secret.metadata?.namespace).toBe(namespace);
    expect(Object.keys(secret.stringData ?? {})).toContain(keysFile.split('/').pop());

    const service = new Service(the('Service', 'sandbox'));
    expect(selects(service.spec?.selector, podLabels)).toBe(true);
    const port = need(service.spec?.ports?.[0], 'service port');
    expect(port.port).toBe(8001);
    expect(
      c.ports?.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort),
    ).toBe(true);
  });

  it('secret.example.yaml holds a key file in the service format (hashes only)', () => {
    const secret = new Secret(loadDocs(join(k8sDir, 'secret.example.yaml'))[0]);
    const keysFile = need(config.data?.API_KEYS_FILE, 'API_KEYS_FILE').split('/').pop() ?? '';
    const entries = list(JSON.parse(need(secret.stringData?.[keysFile], keysFile)));
    expect(entries.length).toBeGreaterThan(0);
    const names = entries.map((e) => text(obj(e).name));
    expect(new Set(names).size).toBe(names.length);
    for (const entry of entries.map(obj)) {
      expect(Object.keys(entry).sort()).toEqual(['key_sha256', 'name', 'scopes', 'tenant']);
      expect(text(entry.key_sha256)).toMatch(/^[0-9a-f]{64}$/);
      expect(list(entry.scopes).every((s) => SCOPES.includes(text(s)))).toBe(true);
    }
  });

  it('keeps at least one pod through disruptions and scales from two', () => {
    const pdb = new PodDisruptionBudget(the('PodDisruptionBudget'));
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(selects(pdb.spec?.selector?.matchLabels, podLabels)).toBe(true);
    const hpa = new HorizontalPodAutoscaler(the('HorizontalPodAutoscaler'));
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'sandbox' });
    expect([hpa.spec?.minReplicas, hpa.spec?.maxReplicas]).toEqual([2, 10]);
    expect(hpa.spec?.metrics?.[0].resource).toMatchObject({
      name: 'cpu',
      target: { type: 'Utilization', averageUtilization: 70 },
    });
    expect(deployment.spec?.replicas).toBeUndefined();
  });

  it('KEDA watches the BullMQ wait list in the Redis this kustomization runs', () => {
    // Validated against @kubernetes-models/keda above; here, the values that matter.
    const so = new ScaledObject(the('ScaledObject') as never);
    expect(so.spec.scaleTargetRef.name).toBe(deployment.metadata?.name);
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(2);
    const trigger = need(
      so.spec.triggers.find((t) => t.type === 'redis'),
      'redis trigger',
    );
    const redisService = new Service(the('Service', 'redis'));
    expect(trigger.metadata).toMatchObject({
      address: `${redisService.metadata?.name}.${namespace}.svc:6379`,
      listName: WAIT_LIST,
    });
    expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
  });

  it('runs Redis persistent (append-only) behind a headless Service that REDIS_URL names', () => {
    expect(redisProblems(redis)).toEqual([]);
    const service = new Service(the('Service', 'redis'));
    expect(service.spec?.clusterIP).toBe('None');
    expect(redis.spec?.serviceName).toBe(service.metadata?.name);
    expect(selects(service.spec?.selector, redis.spec?.template.metadata?.labels ?? {})).toBe(true);
    const port = need(service.spec?.ports?.[0]?.port, 'redis port');
    expect(config.data?.REDIS_URL).toBe(`redis://${service.metadata?.name}:${port}`);

    const volatile = new StatefulSet(clone(redisBody));
    need(volatile.spec?.template.spec?.containers[0], 'redis').args = ['redis-server'];
    expect(redisProblems(volatile)).toEqual(
      expect.arrayContaining([expect.stringMatching(/appendonly/)]),
    );
  });
});

describe('settings', () => {
  it('sets only variables the service reads (its environment-variables.ts)', () => {
    const known = new Set(
      [...readFileSync(settingsFile, 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]*)[?!]?\s*[:=]/gm)].map(
        (m) => m[1],
      ),
    );
    const used = [
      ...Object.keys(config.data ?? {}).map((k) => `ConfigMap ${k}`),
      ...(mainContainer(deployment).env ?? []).map((e) => `Deployment ${e.name}`),
      ...composeServices(compose)
        .filter(isInstance)
        .flatMap((s) => Object.keys(env(s)).map((k) => `${s.name} ${k}`)),
    ];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((u) => !known.has(u.split(' ')[1]))).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const readFile = (path: string) => readFileSync(resolve(root, path), 'utf8');

  it('has Redis append-only, a healthcheck per service, one instance and two with "scale"', () => {
    expect(composeProblems(compose, readFile)).toEqual([]);
    const names = (profile?: string) =>
      active(composeServices(compose), profile).map((s) => s.name);
    expect(names()).toEqual(expect.arrayContaining(['sandbox', 'engine', 'redis']));
    expect(names()).not.toContain('nginx');
    expect(names('scale')).toEqual(expect.arrayContaining(['sandbox-2', 'engine-2', 'nginx']));
  });

  it('reports a broken compose file (the checks are real)', () => {
    const broken = clone(compose);
    const services = obj(broken.services);
    obj(services.redis).command = ['redis-server'];
    delete obj(services.engine).healthcheck;
    obj(services['sandbox-2']).profiles = [];
    obj(obj(services.sandbox).environment).SANDBOX_INSTANCE_ID = 'sandbox-2';
    expect(composeProblems(broken, readFile)).toEqual(
      expect.arrayContaining([
        'redis must run with --appendonly yes',
        'engine has no healthcheck',
        'default: 2 sandbox instances, expected 1',
        expect.stringMatching(/SANDBOX_INSTANCE_ID missing or shared/),
      ]),
    );
  });
});
