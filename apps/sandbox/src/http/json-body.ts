import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import { JsonKind, JsonMember, JsonSyntaxError, JsonTooDeepError, scanJson } from './json-scan';
import { releaseUploadSlot } from './upload-slots';

/** The media types read as JSON bodies. */
export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

/**
 * An object or array field other than a raw one is parsed into objects on the event
 * loop, so it must hold few values: bulk structured data belongs in a raw field such as
 * `input_data`. Counted in values, not bytes: a long string (a file's content) is one
 * value, cheap to parse; 20,000 small values are ~256 KiB of dense JSON, a few ms.
 */
export const MAX_PARSED_MEMBER_VALUES = 20_000;

/** A JSON value kept as the exact text it arrived as: checked, never expanded here. */
export class RawJson {
  constructor(
    readonly text: string,
    readonly kind: JsonKind,
  ) {}
}

export interface JsonBodyOptions {
  /** Nesting allowed inside a top-level field (the field's own object is level 1). */
  readonly maxFieldDepth: number;
  /** Top-level fields kept as RawJson instead of being parsed. */
  readonly rawFields: readonly string[];
  /**
   * Top-level fields that hold an array of objects (a batch's `items`): each object is
   * read as a body of its own, with these fields of it kept raw, each bounded by
   * `maxFieldDepth` inside its object.
   */
  readonly arrayFields?: Readonly<Record<string, readonly string[]>>;
}

/** Bytes of an array field's items read between two returns to the event loop. */
const ITEMS_BYTES_PER_TURN = 64 * 1024;

/** How much deeper a raw field sits inside an array field's object than in the body. */
const ARRAY_FIELD_LEVELS = 2;

/**
 * Turns a raw JSON body (a Buffer from the raw body parser) into `req.body` at a cost
 * bounded by its size alone: one walk that checks syntax and depth without building
 * objects, then only small fields are parsed; raw fields stay text.
 */
export function parseJsonBody(options: JsonBodyOptions): RequestHandler {
  // One body at a time: the walk yields between slices, and with many bodies walked
  // side by side one turn of the event loop would run a slice of each.
  let previous: Promise<unknown> = Promise.resolve();
  return (request: Request, _response: Response, next: NextFunction) => {
    const body: unknown = request.body;
    if (!Buffer.isBuffer(body)) {
      next();
      return;
    }
    const parsing = previous.then(() => toJsonBody(body, options));
    previous = parsing.catch(() => undefined);
    parsing.then(
      (parsed) => {
        request.body = parsed;
        releaseUploadSlot(request);
        next();
      },
      (error: unknown) => {
        releaseUploadSlot(request);
        next(error);
      },
    );
  };
}

async function toJsonBody(bytes: Buffer, options: JsonBodyOptions): Promise<unknown> {
  const arrayFields = options.arrayFields ?? {};
  // The document's own object is one level above its fields; an array field's objects
  // hold their raw fields two levels further down (checked again per object below).
  const extra = Object.keys(arrayFields).length > 0 ? ARRAY_FIELD_LEVELS : 0;
  const maxDepth = options.maxFieldDepth + 1 + extra;
  let scanned;
  try {
    scanned = await scanJson(bytes, maxDepth);
  } catch (error: unknown) {
    throw toDomainError(error, options.maxFieldDepth);
  }
  // Every body route takes an object. Anything else is refused unparsed: a 4 MiB array of
  // small objects took the event loop ~1 s to parse and validate, and 300 MiB of heap.
  if (scanned.kind !== 'object') {
    throw new DomainError('VALIDATION_FAILED', 'The request body must be a JSON object.', {
      fieldProblems: [{ field: 'body', messages: ['must be a JSON object'] }],
    });
  }
  // Decoding the fields is a few ms for a large body: not in the same turn as a slice.
  await nextTurn();
  const body: Record<string, unknown> = {};
  for (const member of scanned.members) {
    const rawFieldsOfItems = arrayFields[member.key];
    if (rawFieldsOfItems && member.kind === 'array') {
      body[member.key] = await arrayOf(bytes.subarray(member.start, member.end), member.key, {
        maxFieldDepth: options.maxFieldDepth,
        rawFields: rawFieldsOfItems,
      });
    } else {
      body[member.key] = memberValue(bytes, member, options.rawFields, member.key);
    }
  }
  return body;
}

/** Each object of an array field read as a body of its own (see arrayFields). */
async function arrayOf(bytes: Buffer, field: string, options: JsonBodyOptions): Promise<unknown[]> {
  // Checked already; walked again to find each element, then each element's members.
  const { members: elements } = await scanJson(
    bytes,
    options.maxFieldDepth + 1 + ARRAY_FIELD_LEVELS,
  );
  const items: unknown[] = [];
  let sinceTurn = 0;
  for (const element of elements) {
    // Many small items would each be walked within one turn: hand the loop back now and then.
    sinceTurn += element.end - element.start;
    if (sinceTurn > ITEMS_BYTES_PER_TURN) {
      sinceTurn = 0;
      await nextTurn();
    }
    const path = `${field}[${element.key}]`;
    const text = bytes.subarray(element.start, element.end);
    if (element.kind !== 'object') {
      items.push(memberValue(bytes, element, [], path));
      continue;
    }
    let scanned;
    try {
      scanned = await scanJson(text, options.maxFieldDepth + 1);
    } catch (error: unknown) {
      if (error instanceof JsonTooDeepError && error.member !== null) {
        throw toDomainError(
          new JsonTooDeepError(error.maxDepth, error.offset, `${path}.${error.member}`),
          options.maxFieldDepth,
        );
      }
      throw toDomainError(error, options.maxFieldDepth);
    }
    const item: Record<string, unknown> = {};
    for (const member of scanned.members) {
      item[member.key] = memberValue(text, member, options.rawFields, `${path}.${member.key}`);
    }
    items.push(item);
  }
  return items;
}

/** One member's value: raw text for a raw field, else parsed (small ones only). */
function memberValue(
  bytes: Buffer,
  member: JsonMember,
  rawFields: readonly string[],
  path: string,
): unknown {
  // No body has a field named like a member of Object.prototype: assigned, `__proto__`
  // would set the prototype, and validation's copy drops `constructor`. Unknown, then.
  if (member.key in Object.prototype) {
    throw new DomainError('VALIDATION_FAILED', `property ${path} should not exist`, {
      fieldProblems: [{ field: path, messages: [`property ${path} should not exist`] }],
    });
  }
  const text = bytes.toString('utf8', member.start, member.end);
  if (rawFields.includes(member.key)) return new RawJson(text, member.kind);
  if (member.values > MAX_PARSED_MEMBER_VALUES) {
    throw new DomainError(
      'PAYLOAD_TOO_LARGE',
      `${path} holds ${member.values} JSON values; the limit for this field is ${MAX_PARSED_MEMBER_VALUES}.`,
    );
  }
  return JSON.parse(text) as unknown;
}

function toDomainError(error: unknown, maxFieldDepth: number): unknown {
  if (error instanceof JsonSyntaxError) {
    return new DomainError(
      'MALFORMED_JSON',
      `The request body is not valid JSON (at byte ${error.offset}).`,
    );
  }
  if (error instanceof JsonTooDeepError) {
    const field = error.member ?? 'the request body';
    return new DomainError(
      'JSON_TOO_DEEP',
      `${field} is nested deeper than ${maxFieldDepth} levels (MAX_INPUT_DEPTH).`,
      { fieldProblems: [{ field, messages: [`nested deeper than ${maxFieldDepth} levels`] }] },
    );
  }
  return error;
}
