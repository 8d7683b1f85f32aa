/**
 * Where the widget's token comes from: a token given by the page, or a portal URL (`token-url`)
 * fetched with the portal's cookies that answers `{"token": "..."}`. The token is read, never
 * verified, here: the service verifies it; the widget only needs `sub` (to share one stream per
 * student across tabs) and `exp` (to fetch a fresh one before it runs out).
 *
 * @module
 */

/** The claims the widget reads from a token. */
export interface TokenClaims {
  sub?: string;
  role?: string;
  /** Expiry, seconds since epoch. */
  exp?: number;
}

/** The token was refused, or there is no way to get one: the feed waits for a new token. */
export class TokenUnavailableError extends Error {
  override name = "TokenUnavailableError";
}

/** Fetching a token failed for a reason that may pass (network, 5xx): retry with backoff. */
export class TokenFetchError extends Error {
  override name = "TokenFetchError";
}

/**
 * Reads a JWT's payload without verifying it; null when it is not a JWT.
 *
 * @example
 * ```ts
 * decodeClaims(token)?.sub; // "s-1"
 * ```
 */
export function decodeClaims(token: string): TokenClaims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Options of {@link TokenSource}. */
export interface TokenSourceOptions {
  token?: string;
  tokenUrl?: string;
  fetch?: typeof fetch;
  /** Clock in ms; injected by tests. */
  now?: () => number;
  /** A token this close to `exp` counts as expired and is fetched again. Default 30 s. */
  refreshMarginMs?: number;
}

/**
 * Hands out the current token, fetching one from `tokenUrl` when there is none, it is about to
 * expire, or the service refused it. Concurrent callers share one fetch.
 *
 * @example
 * ```ts
 * const tokens = new TokenSource({ tokenUrl: "/portal/feed-token" });
 * const token = await tokens.get();
 * ```
 */
export class TokenSource {
  #token?: string;
  #tokenUrl?: string;
  #fetch: typeof fetch;
  #now: () => number;
  #marginMs: number;
  #pending?: Promise<string>;

  constructor(options: TokenSourceOptions) {
    this.#token = options.token || undefined;
    this.#tokenUrl = options.tokenUrl || undefined;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#now = options.now ?? Date.now;
    this.#marginMs = options.refreshMarginMs ?? 30_000;
  }

  /** The token currently held, if any (not refreshed). */
  get current(): string | undefined {
    return this.#token;
  }

  /** Whether a refused token can be replaced without the page's help. */
  get canRefresh(): boolean {
    return this.#tokenUrl !== undefined;
  }

  /** Replaces the token (the page set a new one). */
  set(token: string | undefined): void {
    this.#token = token || undefined;
  }

  /** A token that is not known to be expiring; fetches one from `tokenUrl` when needed. */
  get(): Promise<string> {
    const token = this.#token;
    if (token && !this.#expiring(token)) return Promise.resolve(token);
    if (!this.#tokenUrl) {
      // An expiring page-given token is still tried: the service has the final word.
      return token
        ? Promise.resolve(token)
        : Promise.reject(new TokenUnavailableError("No token: set 'token' or 'token-url'"));
    }
    return this.refresh();
  }

  /** Fetches a fresh token from `tokenUrl` (the service refused the current one). */
  refresh(): Promise<string> {
    const url = this.#tokenUrl;
    if (!url) {
      return Promise.reject(
        new TokenUnavailableError("Token refused and no 'token-url' to renew it"),
      );
    }
    return this.#pending ??= this.#fetchToken(url).finally(() => this.#pending = undefined);
  }

  /**
   * Runs `use` with the token; when the service refuses it (an error with `status` 401) and
   * `tokenUrl` can renew it, runs `use` once more with a fresh one.
   */
  async withToken<T>(use: (token: string) => Promise<T>): Promise<T> {
    try {
      return await use(await this.get());
    } catch (error) {
      if ((error as { status?: unknown })?.status !== 401 || !this.canRefresh) throw error;
      return await use(await this.refresh());
    }
  }

  #expiring(token: string): boolean {
    const exp = decodeClaims(token)?.exp;
    return typeof exp === "number" && exp * 1000 - this.#now() < this.#marginMs;
  }

  async #fetchToken(url: string): Promise<string> {
    let response: Response;
    try {
      response = await this.#fetch(url, {
        credentials: "include",
        headers: { accept: "application/json" },
      });
    } catch (error) {
      throw new TokenFetchError(`Cannot fetch token from token-url: ${String(error)}`);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new TokenUnavailableError(`Cannot fetch token: token-url answered ${response.status}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new TokenFetchError(`Cannot fetch token: token-url answered ${response.status}`);
    }
    const body = await response.json().catch(() => null);
    if (!body || typeof body.token !== "string" || body.token === "") {
      throw new TokenUnavailableError('Cannot fetch token: token-url must answer {"token": "..."}');
    }
    this.#token = body.token;
    return body.token;
  }
}
