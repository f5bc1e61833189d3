import { z } from 'zod';

/**
 * What a runtime image holds, as a one-off container of it reports (DockerRunner.probeImage):
 * its Python, the distributions installed, and the top-level modules an `import` finds.
 */
export interface ImageInventory {
  /** The image the probe container ran. */
  readonly imageId: string;
  /** `sys.version`'s first word: `3.11.2`. */
  readonly pythonVersion: string;
  /** Installed distributions (importlib.metadata), by name. */
  readonly packages: readonly ImagePackage[];
  /** Importable top-level module names: pkgutil.iter_modules() and the built-in modules, sorted. */
  readonly modules: readonly string[];
}

export interface ImagePackage {
  readonly name: string;
  readonly version: string;
}

/** The job label of a container that reads an image's inventory. */
export const IMAGE_PROBE_JOB = 'image-probe';

/** How long reading an image's inventory may take before the runner gives up on it. */
export const IMAGE_PROBE_TIMEOUT_MS = 30_000;

/** Most stdout a probe may write: a stdlib and a few hundred packages take some 30 KB. */
export const MAX_INVENTORY_BYTES = 1024 * 1024;

const MAX_NAME_CHARS = 200;
const MAX_PACKAGES = 10_000;
const MAX_MODULES = 50_000;

/**
 * Stdlib only, importing nothing of the image's packages: it lists them. Where one
 * distribution is installed twice, the first on sys.path is the one `import` finds.
 */
const PROBE = [
  'import importlib.metadata, json, pkgutil, sys',
  'packages = {}',
  'for dist in importlib.metadata.distributions():',
  "    name = dist.metadata['Name']",
  '    if name:',
  "        packages.setdefault(name.lower(), {'name': name, 'version': dist.version or ''})",
  'modules = {module.name for module in pkgutil.iter_modules()} | set(sys.builtin_module_names)',
  'sys.stdout.write(json.dumps({',
  "    'python': sys.version.split()[0],",
  "    'packages': sorted(packages.values(), key=lambda package: package['name'].lower()),",
  "    'modules': sorted(modules),",
  '}))',
].join('\n');

/** The command of the one-off container that reads an image's inventory. */
export const IMAGE_PROBE_COMMAND: readonly string[] = ['python3', '-I', '-c', PROBE];

const name = z.string().min(1).max(MAX_NAME_CHARS);

const probeOutputSchema = z.object({
  python: name,
  packages: z.array(z.object({ name, version: z.string().max(MAX_NAME_CHARS) })).max(MAX_PACKAGES),
  modules: z.array(name).max(MAX_MODULES),
});

/** The probe container's stdout, checked; throws saying what is wrong with it. */
export function parseImageInventory(output: Buffer, imageId: string): ImageInventory {
  if (output.length > MAX_INVENTORY_BYTES) {
    throw new Error(`the image probe wrote over ${MAX_INVENTORY_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(output.toString('utf8'));
  } catch {
    throw new Error('the image probe wrote no JSON');
  }
  const parsed = probeOutputSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `the image probe wrote an unexpected inventory: ${parsed.error.issues[0]?.message}`,
    );
  }
  const { python, packages, modules } = parsed.data;
  return { imageId, pythonVersion: python, packages, modules };
}
