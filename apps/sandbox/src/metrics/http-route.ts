import { METHODS } from 'node:http';
import type { Request } from 'express';

/** The one route label of every request that no route answers: unknown paths, stray methods. */
export const UNMATCHED_ROUTE = '#unmatched';

/** What this module reads of Express's routing: a route's template and methods. */
interface RouteShape {
  readonly path?: unknown;
  readonly methods?: Readonly<Record<string, boolean | undefined>>;
}

/** A layer of the app's router; only those with a route count here. */
interface LayerShape {
  readonly route?: RouteShape;
  match?(path: string): unknown;
}

/**
 * The route template that answered, or would have answered, a request: `/execution/:id`,
 * never the path it was sent to, so the label set is bounded by the routes the app has.
 *
 * A request a route handled carries it (`req.route`). One answered before routing (a
 * 401 from authentication, a 413 from the body parser, a 503 from the upload limit) is
 * matched against the app's routes by method and path, so a refused `POST /execute`
 * still counts under `/execute`. Anything else, whatever its path, is UNMATCHED_ROUTE.
 *
 * A route that answers every method is not an endpoint but middleware on a path: Nest
 * mounts its MiddlewareConsumer's that way (nestjs-pino's logger, as `/{*path}` for each
 * method), and it is the last route a request saw when none of the app's own matched.
 */
export function routeLabel(req: Request): string {
  return templateOf(req.route as RouteShape | undefined) ?? routeFor(req) ?? UNMATCHED_ROUTE;
}

/** The template of an endpoint's route; undefined for middleware mounted as a route. */
function templateOf(route: RouteShape | undefined): string | undefined {
  if (typeof route?.path !== 'string' || answersEveryMethod(route)) return undefined;
  return route.path;
}

function answersEveryMethod({ methods }: RouteShape): boolean {
  return Boolean(methods?._all) || METHODS.every((method) => methods?.[method.toLowerCase()]);
}

function routeFor(req: Request): string | undefined {
  const stack: unknown = (req.app as { router?: { stack?: unknown } } | undefined)?.router?.stack;
  if (!Array.isArray(stack)) return undefined;
  const path = (req.originalUrl || req.url).split('?', 1)[0];
  const method = req.method.toLowerCase();
  for (const layer of stack as LayerShape[]) {
    const template = templateOf(layer.route);
    if (template === undefined || !handles(layer.route, method)) continue;
    if (typeof layer.match !== 'function') return undefined;
    try {
      if (layer.match(path)) return template;
    } catch {
      // A malformed %-escape in a parameter: the router would refuse it too.
    }
  }
  return undefined;
}

/** Route.prototype._handlesMethod's rule, `all` aside: the method itself, or GET for HEAD. */
function handles(route: RouteShape | undefined, method: string): boolean {
  const methods = route?.methods;
  if (!methods) return false;
  return Boolean(methods[method] || (method === 'head' && methods.get));
}
