/** Stand-in for @jupyterlab/coreutils' PageConfig and URLExt. */
let token = '';
let baseUrl = '/';
const options = new Map<string, string>();

export const PageConfig = {
  getToken(): string {
    return token;
  },
  setToken(value: string): void {
    token = value;
  },
  getBaseUrl(): string {
    return baseUrl;
  },
  setBaseUrl(value: string): void {
    baseUrl = value;
  },
  getOption(name: string): string {
    return options.get(name) ?? '';
  },
  setOption(name: string, value: string): string {
    const old = options.get(name) ?? '';
    if (value) {
      options.set(name, value);
    } else {
      options.delete(name);
    }
    return old;
  }
};

export const URLExt = {
  join(...parts: string[]): string {
    const joined = parts.filter(p => p).join('/');
    return joined.replace(/\/{2,}/g, '/');
  }
};
