/**
 * Domain errors. Each maps to one HTTP status in `app.onError`, the only place that knows HTTP.
 *
 * @module
 */

/** A domain error that carries its HTTP status and optional JSON details. */
export class HttpError extends Error {
  override name = "HttpError";
  /** HTTP status sent to the client. */
  readonly status: number;
  /** Extra JSON fields merged into the error body. */
  readonly details: Record<string, unknown>;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed; `details.problems` lists each field at fault. */
export class ValidationError extends HttpError {
  override name = "ValidationError";
  constructor(message: string, problems?: ValidationProblem[]) {
    super(400, message, { details: problems ? { problems } : {} });
  }
}

/** One problem with one field of a request body. */
export interface ValidationProblem {
  /** Record index in a bulk request (0-based), when relevant. */
  index?: number;
  field: string;
  message: string;
}

/** 401: no usable token. The message is ours, never the JWT library's. */
export class AuthenticationError extends HttpError {
  override name = "AuthenticationError";
  constructor(message: string, tokenGiven: boolean) {
    super(401, message, {
      headers: {
        "WWW-Authenticate": tokenGiven
          ? `Bearer error="invalid_token", error_description="${message}"`
          : "Bearer",
      },
    });
  }
}

/** 403: authenticated, but this role or scope may not do this. */
export class ForbiddenError extends HttpError {
  override name = "ForbiddenError";
  constructor(message: string) {
    super(403, message);
  }
}

/** 404: no such resource. */
export class NotFoundError extends HttpError {
  override name = "NotFoundError";
  constructor(message: string) {
    super(404, message);
  }
}

/** 429: too many attempts; `retryAfterS` goes out as `Retry-After`. */
export class RateLimitedError extends HttpError {
  override name = "RateLimitedError";
  constructor(message: string, retryAfterS: number) {
    super(429, message, {
      details: { retryAfterS },
      headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterS))) },
    });
  }
}

/** 503: this instance cannot serve now (capacity, shutdown, bus down). */
export class UnavailableError extends HttpError {
  override name = "UnavailableError";
  constructor(message: string, retryAfterS = 5) {
    super(503, message, {
      details: { retryAfterS },
      headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterS))) },
    });
  }
}
