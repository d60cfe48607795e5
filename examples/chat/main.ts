// The chat example: `npm run chat` (PORT defaults to 3000), then open
// http://localhost:3000/ in two browser tabs.
//
// The page is served by the engine's static files; it asks GET /api/login for
// a token (HS256, signed here with node:crypto), opens ws://…/ws?token=…,
// joins the lobby and exchanges room messages. "typing" is a custom message
// type handled by the ChatModule in TypeScript; everything else is the Rust hub.
//
// As a cluster (README, "Running a cluster"): start several with the same bus,
//   NEBULA_BUS=redis://127.0.0.1:6379 NEBULA_NODE_ID=n1 PORT=3001 npm run chat
//   NEBULA_BUS=redis://127.0.0.1:6379 NEBULA_NODE_ID=n2 PORT=3002 npm run chat
// and tabs on either port share the lobby (NATS: NEBULA_BUS=nats://127.0.0.1:4222).
import { join } from "node:path";
import { HubPlugin, Microservice, RoutePlugin } from "nebula-native";
import "./chat-module.js";

const SECRET = process.env.JWT_SECRET ?? "change-me-change-me-change-me-change-me";

const engine = new Microservice({
  name: "chat",
  version: "1.0.0",
  static: { prefix: "/", path: join(__dirname, "public") },
})
  .plugin(new RoutePlugin())
  .plugin(new HubPlugin({ path: "/ws", auth: { secret: SECRET, issuer: "nebula" }, allowAnonymous: false }));

const hub = engine.hub!;
hub.createRoom("lobby", { name: "Lobby", maxClients: 100 });
hub.onConnect((c) => console.log(`connected: ${c.id}`));
hub.onDisconnect((c, close) => console.log(`disconnected: ${c.id} (${close.code})`));
hub.onJoin((c, room) => hub.toRoom(room, "presence", { user: c.id, joined: true }, { except: c.id }));

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => console.log(`chat listening on http://localhost:${port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await engine.stop();
    process.exit(0);
  });
}
