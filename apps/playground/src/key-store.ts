const STORAGE_KEY = 'brain-net-sandbox.api-key';
const DRAFT_KEY = 'brain-net-sandbox.draft';

/** The API key, kept in this tab's session storage only: gone when the tab closes. */
export const keyStore = {
  get(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  forget(): void {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

/** What the person was writing: the code and the run's settings. */
export interface Draft {
  readonly code: string;
  readonly inputData: string;
  readonly stdin: string;
  readonly timeout: string;
  readonly profile: boolean;
}

/** The draft, in the tab's session storage as the key is: a reload keeps it, closing the tab does not. */
export const draftStore = {
  get(): Draft | null {
    try {
      const saved = JSON.parse(
        sessionStorage.getItem(DRAFT_KEY) ?? 'null',
      ) as Partial<Draft> | null;
      if (saved === null || typeof saved.code !== 'string') return null;
      return {
        code: saved.code,
        inputData: String(saved.inputData ?? ''),
        stdin: String(saved.stdin ?? ''),
        timeout: String(saved.timeout ?? ''),
        profile: saved.profile === true,
      };
    } catch {
      return null; // not ours, or from an older page: start afresh
    }
  },
  set(draft: Draft): void {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
  },
};
