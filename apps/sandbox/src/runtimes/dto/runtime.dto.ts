import { ApiProperty } from '@nestjs/swagger';
import type { CatalogEntry } from '../runtime-catalog';

export class RuntimePackageDto {
  /** @example "numpy" */
  name!: string;
  /** @example "1.24.2" */
  version!: string;
}

/** A runtime a request may name in `runtime`, and what its image holds. */
export class RuntimeDto {
  /** What a request's `runtime` names. @example "python-3.11" */
  name!: string;
  /** The image tag its containers start from. @example "brain-net-sandbox-runtime:3.11" */
  image!: string;
  /**
   * The image under that tag now; null when the engine lacks it or cannot be asked.
   * @example "sha256:acc1732c8bdb0e1f4b5d2f3a2c7e9d0b1a4c6e8f0a2b4c6d8e0f1a2b3c4d5e6f7"
   */
  @ApiProperty({ type: String, nullable: true })
  image_id!: string | null;
  /** The runtime of a request without `runtime`. @example true */
  default!: boolean;
  /** The image's Python. @example "3.11.2" */
  @ApiProperty({ type: String, nullable: true })
  python_version!: string | null;
  /** Installed distributions, by name; null when the image could not be read (see `error`). */
  @ApiProperty({ type: [RuntimePackageDto], nullable: true })
  packages!: RuntimePackageDto[] | null;
  /**
   * Every top-level module an `import` finds: the standard library's, the built-in ones and
   * the packages'; null when the image could not be read.
   */
  @ApiProperty({ type: [String], nullable: true, example: ['json', 'numpy', 'pandas', 'sklearn'] })
  modules!: string[] | null;
  /** Why the image could not be read; null when it was. @example null */
  @ApiProperty({ type: String, nullable: true })
  error!: string | null;
}

/** Answer of GET /runtimes. */
export class RuntimeListDto {
  /** The runtime of a request without `runtime`. @example "python-3.11" */
  default!: string;
  /** In configuration order (SANDBOX_RUNTIMES), the default first. */
  items!: RuntimeDto[];
}

export function toRuntime(entry: CatalogEntry): RuntimeDto {
  const { runtime, inventory } = entry;
  return {
    name: runtime.name,
    image: runtime.image,
    image_id: entry.imageId,
    default: entry.isDefault,
    python_version: inventory?.pythonVersion ?? null,
    packages: inventory ? inventory.packages.map(({ name, version }) => ({ name, version })) : null,
    modules: inventory ? [...inventory.modules] : null,
    error: entry.problem,
  };
}
