// Type checks (tsc, not run): ctx.req.valid() typed from a route's schemas,
// JSON Schema `as const` or zod, through RouteContext<typeof options>.
import { z } from "zod";
import {
  Module,
  Route,
  routeSchemas,
  type RouteContext,
  type RouteOptions,
  type RouteReturns,
  type Context,
  type HandlerMetadata,
  type RouteJsonSchemas,
} from "nebula-native";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

const create = {
  method: "POST",
  path: "/shops/:shop/items",
  validate: {
    body: {
      type: "object",
      required: ["name", "price"],
      properties: {
        name: { type: "string" },
        price: { type: "number" },
        tags: { type: "array", items: { type: "string" } },
        kind: { enum: ["a", "b"] },
        note: { type: ["string", "null"] },
      },
    },
    query: z.object({ n: z.coerce.number().int(), dry: z.boolean().optional() }),
    params: { type: "object", properties: { shop: { type: "integer" } }, required: ["shop"] },
  },
  returns: z.object({ id: z.number() }),
} as const satisfies RouteOptions;

const withHeaders = {
  path: "/h",
  validate: { headers: { type: "object", required: ["X-Tenant"], properties: { "X-Tenant": { type: "integer" } } } },
} as const satisfies RouteOptions;

@Module("items")
export class Items {
  @Route(create)
  add(ctx: RouteContext<typeof create>): RouteReturns<typeof create> {
    const body = ctx.req.valid("json");
    assertType<Equal<typeof body, { name: string; price: number; tags?: string[]; kind?: "a" | "b"; note?: string | null }>>();
    const query = ctx.req.valid("query");
    assertType<Equal<typeof query, { n: number; dry?: boolean | undefined }>>();
    const shop: number = ctx.req.valid("param").shop;
    // @ts-expect-error: the route has no headers schema
    ctx.req.valid("header");
    return { id: shop + query.n + body.price };
  }

  @Route(withHeaders)
  h(ctx: RouteContext<typeof withHeaders>): number {
    const tenant = ctx.req.valid("header")["x-tenant"];
    assertType<Equal<typeof tenant, number>>();
    // @ts-expect-error: the route has no body schema
    ctx.req.valid("json");
    return tenant;
  }

  @Route({ path: "/free" })
  free(ctx: Context) {
    // Untyped context: any target, any value.
    const anything: number = ctx.req.valid("query");
    return anything;
  }
}

export function docs(handler: HandlerMetadata): RouteJsonSchemas {
  const s = routeSchemas(handler);
  return { body: s.body, returns: s.returns };
}
