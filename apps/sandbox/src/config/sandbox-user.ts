import { Transform } from 'class-transformer';
import { ValidateBy, ValidationArguments } from 'class-validator';

/** Linux ids are 32-bit; (uid_t)-1 means "unchanged" to the kernel, so it is no id. */
const MAX_ID = 2 ** 32 - 2;

export type SandboxUser =
  | { readonly ok: true; readonly uid: number; readonly gid: number }
  | { readonly ok: false; readonly problem: string };

/**
 * Parses SANDBOX_USER (`uid` or `uid:gid`) into numeric ids, refusing any that is 0.
 * Only numbers and the name `root` are understood: the service cannot resolve other
 * names (the runtime image's passwd is read by the engine, at container start, where
 * a name could stand for uid 0), so any other name is refused. A uid alone gets the
 * same number as its gid: the engine would otherwise fall back to gid 0 (root's group)
 * for a uid that has no passwd entry in the image.
 */
export function parseSandboxUser(spec: string): SandboxUser {
  const parts = spec.split(':');
  if (parts.length > 2) return refused(`"${spec}" is not uid or uid:gid`);
  const [uidText, gidText = uidText] = parts;
  const uid = parseId(uidText, 'uid');
  if (typeof uid === 'string') return refused(uid);
  const gid = parseId(gidText, 'gid');
  if (typeof gid === 'string') return refused(gid);
  if (uid === 0 || gid === 0) {
    return refused(`must not be root: "${spec}" gives ${uid === 0 ? 'uid' : 'gid'} 0`);
  }
  return { ok: true, uid, gid };
}

/** The id, or why the text is not one. */
function parseId(text: string, what: 'uid' | 'gid'): number | string {
  if (text === 'root') return 0;
  if (text === '') return `has an empty ${what}`;
  if (![...text].every((char) => char >= '0' && char <= '9')) {
    return (
      `must be numeric (uid or uid:gid): the service cannot resolve the ${what} ` +
      `"${text}", as it reads no passwd entries from the runtime image, and a name ` +
      'may stand for root'
    );
  }
  const id = Number(text);
  return id <= MAX_ID ? id : `has a ${what} above ${MAX_ID}`;
}

function refused(problem: string): SandboxUser {
  return { ok: false, problem };
}

/**
 * Validates SANDBOX_USER with parseSandboxUser() and hands it on as `uid:gid`, so a
 * uid alone (`10001`) reaches the engine as `10001:10001`.
 */
export function IsSandboxUser(): PropertyDecorator {
  const normalise = Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const user = parseSandboxUser(value);
    return user.ok ? `${user.uid}:${user.gid}` : value;
  });
  const validate = ValidateBy({
    name: 'isSandboxUser',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseSandboxUser(value).ok,
      defaultMessage: ({ property, value }: ValidationArguments) => {
        const user = parseSandboxUser(String(value));
        return `${property} ${user.ok ? 'is valid' : user.problem}`;
      },
    },
  });
  return (target, key) => {
    normalise(target, key);
    validate(target, key);
  };
}
