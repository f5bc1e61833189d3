const STORAGE_KEY = 'brain-net-sandbox.api-key';

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
