// The chat's TypeScript side: a login route and the custom "typing" type.
import { HubError, Module, Route, WsHandler, type Context, type HubClient, type HubMessage } from "nebula-native";
import { signToken } from "./token.js";

const SECRET = process.env.JWT_SECRET ?? "change-me-change-me-change-me-change-me";
const NAME = /^[a-zA-Z0-9_-]{1,32}$/;

@Module("chat")
export class ChatModule {
  /** GET /api/login?name=alice → { token } (a demo: no password). */
  @Route({ path: "/api/login" })
  login(ctx: Context) {
    const name = ctx.req.query("name") ?? "";
    if (!NAME.test(name)) return ctx.json({ error: "Bad Request", message: "name: 1-32 letters, digits, _ or -" }, 400);
    return { token: signToken(name, SECRET) };
  }

  /** {"message_type":"typing","data":{"room_id":"lobby"}}: tells the room, acknowledges the sender. */
  @WsHandler("typing")
  typing(client: HubClient, data: { room_id?: string }, message: HubMessage) {
    if (typeof data?.room_id !== "string") throw new HubError(1001, "typing needs data.room_id");
    // Only members may tell a room they are typing.
    if (!message.hub.room(data.room_id)?.members?.includes(client.id)) throw new HubError(3003, "not in that room");
    message.hub.toRoom(data.room_id, "typing", { user: client.id }, { except: client.id });
    return { ok: true };
  }
}
