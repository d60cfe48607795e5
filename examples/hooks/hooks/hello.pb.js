/// <reference path="./types.d.ts" />
// Routes and hooks, PocketBase style. File-level variables are visible to the
// handlers (each runtime of the pool holds its own copy).
const greetings = ["hello", "hi", "hey"];

routerAdd("GET", "/api/hello/:name", (e) => {
  const word = greetings[e.request.param("name").length % greetings.length];
  return e.json(200, { [word]: e.request.param("name"), at: utils.now() });
});

// Runs around every hook route, by priority.
onRequest((e) => {
  log.info("request", e.request.method, e.request.path);
  return e.next();
}, 10);

app.on("greeting", (e) => {
  log.info("greeting from", e.data.from);
  return e.next();
});

cronAdd("heartbeat", "*/5 * * * *", () => log.info("tick"));
