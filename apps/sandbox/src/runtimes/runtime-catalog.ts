import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { DockerRunner, EngineImage, ImageInventory } from '@brain-net/runner';
import type { ModuleHint } from '@brain-net/store';
import { AppConfig } from '../config/app-config';
import { Runtime } from '../config/runtime-settings';
import { errorMessage } from '../errors/error-message';
import { moduleHintOf } from './module-hint';

/** After a failed read of an image, how long the failure stands before the image is read again. */
export const FAILED_READ_RETRY_MS = 60_000;

/** A configured runtime, and what its image holds when that could be read. */
export interface CatalogEntry {
  readonly runtime: Runtime;
  readonly isDefault: boolean;
  /** The image the runtime's tag names now; null when the engine lacks it or cannot be asked. */
  readonly imageId: string | null;
  readonly inventory: ImageInventory | null;
  /** Its importable modules, as a set; null with the inventory. */
  readonly modules: ReadonlySet<string> | null;
  /** Why the inventory is missing; null when it is there. */
  readonly problem: string | null;
}

interface InventoryRead {
  readonly read: Promise<{ inventory: ImageInventory; modules: ReadonlySet<string> }>;
  failedAt: number | null;
}

/**
 * What each configured runtime's image holds (Python version, packages, importable
 * modules), read once per image id by a probe container (DockerRunner.probeImage) and
 * read again only when the tag names another image (a rebuild). The tag itself is looked
 * up at each ask: a cheap inspect.
 */
@Injectable()
export class RuntimeCatalog {
  private readonly logger = new Logger(RuntimeCatalog.name);
  private readonly reads = new Map<string, InventoryRead>();

  constructor(
    private readonly config: AppConfig,
    private readonly runner: DockerRunner,
  ) {}

  /** Every configured runtime, the default first; never rejects (a problem is an entry's). */
  async entries(): Promise<CatalogEntry[]> {
    const { all, default: first } = this.config.runtimes;
    const entries = await Promise.all(
      all.map((runtime) => this.entryOf(runtime, runtime === first)),
    );
    // An image no runtime names any more (rebuilt under its tag, say) is not kept.
    const current = new Set(entries.map((entry) => entry.imageId));
    for (const imageId of this.reads.keys()) if (!current.has(imageId)) this.reads.delete(imageId);
    return entries;
  }

  /**
   * Which runtimes have the top-level module; null when the images could not be looked
   * at within `withinMs` (a first read takes a probe container per image).
   */
  async moduleHint(module: string, withinMs: number): Promise<ModuleHint | null> {
    const hint = this.entries().then((entries) =>
      moduleHintOf(
        module,
        entries.map(({ runtime, modules }) => ({ name: runtime.name, modules })),
      ),
    );
    const deadline = new AbortController();
    const late = sleep(withinMs, null, { ref: false, signal: deadline.signal }).catch(() => null);
    const answer = await Promise.race([hint, late]).finally(() => deadline.abort());
    if (answer === null) {
      this.logger.warn(`no hint for module ${module}: the images took over ${withinMs} ms to read`);
    }
    return answer;
  }

  private async entryOf(runtime: Runtime, isDefault: boolean): Promise<CatalogEntry> {
    const missing = { runtime, isDefault, imageId: null, inventory: null, modules: null };
    let image: EngineImage | null;
    try {
      image = await this.runner.findImage(runtime.image);
    } catch (error: unknown) {
      return { ...missing, problem: `the Docker engine cannot be asked: ${errorMessage(error)}` };
    }
    if (!image) return { ...missing, problem: `the Docker engine has no image ${runtime.image}` };
    try {
      const { inventory, modules } = await this.inventoryOf(image);
      return { ...missing, imageId: inventory.imageId, inventory, modules, problem: null };
    } catch (error: unknown) {
      return {
        ...missing,
        imageId: image.id,
        problem: `the image could not be read: ${errorMessage(error)}`,
      };
    }
  }

  /** The image's inventory: read once, shared by concurrent asks; a failure stands a while. */
  private inventoryOf(image: EngineImage): InventoryRead['read'] {
    const known = this.reads.get(image.id);
    if (known && (known.failedAt === null || Date.now() - known.failedAt < FAILED_READ_RETRY_MS)) {
      return known.read;
    }
    const entry: InventoryRead = {
      read: this.runner.probeImage(image.tag, this.config.limits).then((inventory) => ({
        inventory,
        modules: new Set(inventory.modules),
      })),
      failedAt: null,
    };
    entry.read.catch((error: unknown) => {
      entry.failedAt = Date.now();
      this.logger.warn(`cannot read what image ${image.tag} holds: ${errorMessage(error)}`);
    });
    this.reads.set(image.id, entry);
    return entry.read;
  }
}
