/** Stand-in for @jupyterlab/coreutils' PageConfig. */
let token = '';

export const PageConfig = {
  getToken(): string {
    return token;
  },
  setToken(value: string): void {
    token = value;
  }
};
